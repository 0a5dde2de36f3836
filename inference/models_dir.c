/* models_dir.c: where models live, and picking a file by alpha, dtype and
 * resolution. Files are identified by their contents, not their names. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mobilenet/mobilenet.h"
#include "tflite.h"

#ifndef MN_DATADIR
#define MN_DATADIR "/usr/local/share/mobilenet-live"
#endif

const char *mn_models_dir(const char *explicit_dir, char *buf, size_t size) {
  const char *env = getenv("MOBILENET_MODELS");
  const char *xdg = getenv("XDG_DATA_HOME");
  const char *home = getenv("HOME");
  struct stat sb;
  if (explicit_dir && *explicit_dir)
    snprintf(buf, size, "%s", explicit_dir);
  else if (env && *env)
    snprintf(buf, size, "%s", env);
  else {
    if (xdg && *xdg)
      snprintf(buf, size, "%s/mobilenet-live/models", xdg);
    else
      snprintf(buf, size, "%s/.local/share/mobilenet-live/models", home ? home : ".");
    if (stat(buf, &sb) != 0 && stat(MN_DATADIR "/models", &sb) == 0)
      snprintf(buf, size, "%s", MN_DATADIR "/models");
  }
  return buf;
}

typedef struct {
  float alpha;
  int resolution;
  mn_dtype dtype;
} probe_info;

/* Reads alpha, input size and dtype without copying any weights. */
static int probe(const char *path, probe_info *info) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat sb;
  int rc = -1;
  if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 8 && sb.st_size < (1 << 30)) {
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
      tfl_model t;
      char err[256];
      if (tfl_parse(map, (size_t)sb.st_size, &t, err, sizeof err) == 0) {
        const tfl_tensor *in = &t.tensors[t.input];
        const tfl_tensor *first = &t.tensors[t.ops[0].output];
        if (in->rank == 4 && first->rank == 4 &&
            (in->type == TFL_FLOAT32 || in->type == TFL_UINT8)) {
          info->resolution = in->shape[1];
          info->dtype = in->type == TFL_UINT8 ? MN_DTYPE_U8 : MN_DTYPE_F32;
          info->alpha = (float)first->shape[3] / 32.0f;
          rc = 0;
        }
        tfl_free(&t);
      }
      munmap(map, (size_t)sb.st_size);
    }
  }
  close(fd);
  return rc;
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

mn_status mn_models_find(const char *dir, float alpha, mn_dtype dtype, int resolution, char *path,
                         size_t size, char err[MN_ERROR_MAX]) {
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(err, MN_ERROR_MAX,
             "%s: models folder not found (run scripts/fetch-models, or give --models DIR)", dir);
    return MN_ERR_NOT_FOUND;
  }
  char *names[512];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 512) {
    size_t len = strlen(e->d_name);
    if (len > 7 && !strcmp(e->d_name + len - 7, ".tflite")) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, name_cmp);

  int best = -1, best_res = 0;
  char have[256] = "";
  for (int i = 0; i < n; i++) {
    char full[4200];
    probe_info info;
    if (!names[i]) continue;
    snprintf(full, sizeof full, "%s/%s", dir, names[i]);
    if (probe(full, &info) != 0) continue;
    if (info.dtype != dtype) continue;
    if (strlen(have) < sizeof have - 8)
      snprintf(have + strlen(have), sizeof have - strlen(have), "%s%g", *have ? ", " : "",
               info.alpha);
    if (fabsf(info.alpha - alpha) > 1e-3f) continue;
    int better;
    if (best < 0)
      better = 1;
    else if (resolution <= 0)
      better = info.resolution > best_res;
    else {
      int dn = abs(info.resolution - resolution), db = abs(best_res - resolution);
      better = dn < db || (dn == db && info.resolution > best_res);
    }
    if (better) best = i, best_res = info.resolution;
  }
  mn_status st = MN_OK;
  if (best < 0) {
    snprintf(err, MN_ERROR_MAX, "%s: no %s model with alpha %g (%s: %s)", dir,
             mn_dtype_name(dtype), alpha, *have ? "alphas found" : "no usable models",
             *have ? have : "run scripts/fetch-models");
    st = MN_ERR_NOT_FOUND;
  } else {
    snprintf(path, size, "%s/%s", dir, names[best]);
  }
  for (int i = 0; i < n; i++) free(names[i]);
  return st;
}
