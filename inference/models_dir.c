/* models_dir.c: where models live, and picking a file by architecture,
 * alpha, dtype and resolution. Files are identified by their contents (the
 * graph), not their names. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"

/* How a user gets models, installed or in a source tree. */
#define MN_FETCH_MODELS "mobilenet-fetch-models (scripts/fetch-models in a source tree)"

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

/* What each file is, remembered by path, size and modification time: a
 * program that switches models while it runs probes each file once. */
typedef struct {
  char path[4200];
  off_t size;
  struct timespec mtime;
  int ok;
  mn_model_facts facts;
  char why[160];
} probe_entry;

#define PROBE_CACHE 128
static probe_entry probe_cache[PROBE_CACHE];
static int probe_next;
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;

static int probe(const char *path, mn_model_facts *facts, char *why, size_t why_size) {
  struct stat sb;
  if (stat(path, &sb) != 0) {
    snprintf(why, why_size, "%s", strerror(errno));
    return -1;
  }
  pthread_mutex_lock(&probe_lock);
  for (int i = 0; i < PROBE_CACHE; i++) {
    const probe_entry *e = &probe_cache[i];
    if (e->size == sb.st_size && e->mtime.tv_sec == sb.st_mtim.tv_sec &&
        e->mtime.tv_nsec == sb.st_mtim.tv_nsec && strcmp(e->path, path) == 0) {
      *facts = e->facts;
      snprintf(why, why_size, "%s", e->why);
      const int ok = e->ok;
      pthread_mutex_unlock(&probe_lock);
      return ok ? 0 : -1;
    }
  }
  pthread_mutex_unlock(&probe_lock);
  char err[MN_ERROR_MAX] = ""; /* written only on failure */
  const int ok = mn_model_probe(path, facts, err) == MN_OK;
  /* the message without the path, which the caller names */
  const char *cause = strncmp(err, path, strlen(path)) == 0 ? err + strlen(path) : err;
  if (cause[0] == ':' && cause[1] == ' ') cause += 2;
  snprintf(why, why_size, "%.159s", ok ? "" : cause);
  pthread_mutex_lock(&probe_lock);
  probe_entry *e = &probe_cache[probe_next];
  probe_next = (probe_next + 1) % PROBE_CACHE;
  snprintf(e->path, sizeof e->path, "%s", path);
  e->size = sb.st_size;
  e->mtime = sb.st_mtim;
  e->ok = ok;
  e->facts = *facts;
  snprintf(e->why, sizeof e->why, "%s", why);
  pthread_mutex_unlock(&probe_lock);
  return ok ? 0 : -1;
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .tflite names of a folder, sorted; NULL when it cannot be read. */
static char **tflite_names(const char *dir, int *count) {
  DIR *d = opendir(dir);
  if (!d) return NULL;
  char **names = calloc(512, sizeof *names);
  int n = 0;
  struct dirent *e;
  while (names && (e = readdir(d)) && n < 512) {
    size_t len = strlen(e->d_name);
    if (len > 7 && len < 256 && !strcmp(e->d_name + len - 7, ".tflite")) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  if (names) qsort(names, (size_t)n, sizeof *names, name_cmp);
  *count = n;
  return names;
}

static void free_names(char **names, int n) {
  for (int i = 0; names && i < n; i++) free(names[i]);
  free(names);
}

int mn_models_list(const char *dir, mn_model_entry *entries, int max) {
  int n, count = 0;
  char **names = tflite_names(dir, &n);
  if (!names) return -1;
  for (int i = 0; i < n; i++) {
    char full[4200], why[160];
    mn_model_facts f;
    if (!names[i]) continue;
    snprintf(full, sizeof full, "%s/%s", dir, names[i]);
    if (probe(full, &f, why, sizeof why) != 0) continue;
    if (count < max) {
      mn_model_entry *e = &entries[count];
      snprintf(e->name, sizeof e->name, "%s", names[i]);
      e->arch = f.arch, e->alpha = f.alpha, e->resolution = f.resolution;
      e->dtype = f.dtype, e->classes = f.classes;
    }
    count++;
  }
  free_names(names, n);
  return count;
}

/* How well a file's architecture answers the request: 2 exact, 1 the
 * v3-large stand-in (minimalistic), 0 not at all. */
static int arch_match(mn_arch want, mn_arch have) {
  if (want == have) return 2;
  return want == MN_ARCH_V3_LARGE && have == MN_ARCH_V3_LARGE_MINIMALISTIC;
}

/* The files of a folder the engine refused, named with their causes, for the
 * "no model" message: a corrupt copy of the very file asked for looks like an
 * absent one otherwise. */
typedef struct {
  char text[MN_ERROR_MAX];
  int count, shown;
} skipped_files;

static void skipped_add(skipped_files *s, const char *name, const char *why) {
  const size_t used = strlen(s->text);
  s->count++;
  /* keep room for the folder, the request and "and N more" around the list */
  if (used + strlen(name) + strlen(why) + 6 > sizeof s->text - 200) return;
  snprintf(s->text + used, sizeof s->text - used, "%s%s: %s", used ? "; " : "", name, why);
  s->shown++;
}

mn_status mn_models_find(const char *dir, mn_arch arch, float alpha, mn_dtype dtype,
                         int resolution, char *path, size_t size, char err[MN_ERROR_MAX]) {
  int n;
  char **names = tflite_names(dir, &n);
  if (!names) {
    snprintf(err, MN_ERROR_MAX,
             "%s: models folder not found (run " MN_FETCH_MODELS ", or give --models DIR)", dir);
    return MN_ERR_NOT_FOUND;
  }

  int best = -1, best_res = 0, best_match = 0;
  char have[200] = "";
  skipped_files bad = {.text = ""};
  for (int i = 0; i < n; i++) {
    char full[4200], why[160];
    mn_model_facts info;
    if (!names[i]) continue;
    snprintf(full, sizeof full, "%s/%s", dir, names[i]);
    if (probe(full, &info, why, sizeof why) != 0) {
      skipped_add(&bad, names[i], why);
      continue;
    }
    const int match = arch_match(arch, info.arch);
    if (info.dtype != dtype || !match) continue;
    if (strlen(have) < sizeof have - 8)
      snprintf(have + strlen(have), sizeof have - strlen(have), "%s%g", *have ? ", " : "",
               info.alpha);
    if (fabsf(info.alpha - alpha) > 1e-3f) continue;
    int better;
    if (best < 0 || match != best_match)
      better = best < 0 || match > best_match;
    else if (resolution <= 0)
      better = info.resolution > best_res;
    else {
      int dn = abs(info.resolution - resolution), db = abs(best_res - resolution);
      better = dn < db || (dn == db && info.resolution > best_res);
    }
    if (better) best = i, best_res = info.resolution, best_match = match;
  }
  mn_status st = MN_OK;
  if (best < 0) {
    char found[240], more[40] = "";
    if (*have)
      snprintf(found, sizeof found, "alphas found: %s", have);
    else
      snprintf(found, sizeof found, "no usable models%s",
               bad.count ? "" : ": run " MN_FETCH_MODELS);
    if (bad.count > bad.shown) snprintf(more, sizeof more, "; and %d more", bad.count - bad.shown);
    snprintf(err, MN_ERROR_MAX, "%s: no %s %s model with alpha %g (%s)%s%s%s%s", dir,
             mn_arch_name(arch), mn_dtype_name(dtype), alpha, found,
             bad.count ? "; unusable files skipped: " : "", bad.text, more,
             bad.count ? " (" MN_FETCH_MODELS " replaces them)" : "");
    st = MN_ERR_NOT_FOUND;
  } else {
    snprintf(path, size, "%s/%s", dir, names[best]);
  }
  free_names(names, n);
  return st;
}
