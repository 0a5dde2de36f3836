/* model.c: loading a model file, its labels, and what it reports about itself. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "ops/ops.h"
#include "tflite.h"

#define MAX_MODEL_BYTES ((size_t)1 << 30)

const char *mn_dtype_name(mn_dtype dtype) {
  return dtype == MN_DTYPE_U8 ? "u8" : dtype == MN_DTYPE_I8 ? "i8" : "f32";
}

int mn_dtype_parse(const char *text, mn_dtype *out) {
  if (!strcmp(text, "f32") || !strcmp(text, "float32") || !strcmp(text, "float")) {
    *out = MN_DTYPE_F32;
    return 1;
  }
  if (!strcmp(text, "u8") || !strcmp(text, "uint8") || !strcmp(text, "quant")) {
    *out = MN_DTYPE_U8;
    return 1;
  }
  if (!strcmp(text, "i8") || !strcmp(text, "int8")) {
    *out = MN_DTYPE_I8;
    return 1;
  }
  return 0;
}

/* Looks for imagenet_labels.txt beside the model; a model without labels
 * still runs and names classes by number. */
static void load_default_labels(mn_model *m) {
  char dir[4096], path[4200], err[MN_ERROR_MAX];
  snprintf(dir, sizeof dir, "%s", m->path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  else
    snprintf(dir, sizeof dir, ".");
  snprintf(path, sizeof path, "%s/imagenet_labels.txt", dir);
  if (access(path, R_OK) == 0) mn_model_load_labels(m, path, err);
}

/* Loads a file; with pack 0 the graph is checked and described but no
 * weights are packed (mn_model_probe). */
static mn_status load(const char *path, int pack, mn_arithmetic arith, mn_model **out,
                      char err[MN_ERROR_MAX]) {
  *out = NULL;
  mn_status st = MN_ERR_IO;
  tfl_model tfl = {0};
  int fd = -1;
  void *map = MAP_FAILED;
  struct stat sb;
  char why[MN_ERROR_MAX - 64];
  mn_model *m = calloc(1, sizeof *m);
  if (!m) {
    snprintf(err, MN_ERROR_MAX, "%s: out of memory", path);
    return MN_ERR_MEMORY;
  }
  snprintf(m->path, sizeof m->path, "%s", path);
  m->arith = arith;
  const char *slash = strrchr(m->path, '/');
  m->name = slash ? slash + 1 : m->path;

  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &sb) != 0) {
    snprintf(err, MN_ERROR_MAX, "%s: cannot open model: %s", path, strerror(errno));
    goto fail;
  }
  if (!S_ISREG(sb.st_mode)) {
    snprintf(err, MN_ERROR_MAX, "%s: not a regular file", path);
    goto fail;
  }
  if (sb.st_size == 0 || (size_t)sb.st_size > MAX_MODEL_BYTES) {
    snprintf(err, MN_ERROR_MAX, "%s: model file is %s", path, sb.st_size ? "too large" : "empty");
    st = MN_ERR_FORMAT;
    goto fail;
  }
  map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) {
    snprintf(err, MN_ERROR_MAX, "%s: cannot map model: %s", path, strerror(errno));
    goto fail;
  }
  if (tfl_parse(map, (size_t)sb.st_size, &tfl, why, sizeof why) != 0) {
    snprintf(err, MN_ERROR_MAX, "%s: %s", path, why);
    st = strstr(why, "unsupported") || strstr(why, "not supported") ? MN_ERR_UNSUPPORTED
                                                                      : MN_ERR_FORMAT;
    goto fail;
  }
  m->kernels = pack ? mn_kernels_for(mn_isa_detect()) : NULL;
  if (mn_graph_build(m, &tfl, why, sizeof why) != 0) {
    snprintf(err, MN_ERROR_MAX, "%s: %s", path, why);
    st = strstr(why, "out of memory") ? MN_ERR_MEMORY : MN_ERR_UNSUPPORTED;
    goto fail;
  }
  /* shapes that do not chain are refused here, at the trained size, rather
   * than by the first runner (and mn_models_list leaves such files out) */
  mn_dims *dims = calloc((size_t)m->n_values, sizeof *dims);
  if (!dims) {
    snprintf(err, MN_ERROR_MAX, "%s: out of memory", path);
    st = MN_ERR_MEMORY;
    goto fail;
  }
  const int chained = mn_graph_infer(m, m->resolution, dims, why, sizeof why) == 0;
  free(dims);
  if (!chained) {
    snprintf(err, MN_ERROR_MAX, "%s: %s", path, why);
    st = MN_ERR_UNSUPPORTED;
    goto fail;
  }
  mn_elementwise_fuse(m);
  mn_hswish_fuse(m);
  mn_graph_identify(m);
  /* The weights are copied into the kernels' layouts: the file is not needed any more. */
  tfl_free(&tfl);
  munmap(map, (size_t)sb.st_size);
  close(fd);
  if (pack) load_default_labels(m);
  *out = m;
  return MN_OK;

fail:
  tfl_free(&tfl);
  if (map != MAP_FAILED) munmap(map, (size_t)sb.st_size);
  if (fd >= 0) close(fd);
  mn_model_free(m);
  return st;
}

const char *mn_arithmetic_name(mn_arithmetic arith) {
  return arith == MN_ARITH_REFERENCE ? "reference" : "litert";
}

int mn_arithmetic_parse(const char *text, mn_arithmetic *out) {
  if (!strcmp(text, "litert") || !strcmp(text, "xnnpack")) {
    *out = MN_ARITH_LITERT;
    return 1;
  }
  if (!strcmp(text, "reference") || !strcmp(text, "tflite-reference")) {
    *out = MN_ARITH_REFERENCE;
    return 1;
  }
  return 0;
}

mn_status mn_model_load_with(const char *path, mn_arithmetic arith, mn_model **out,
                             char err[MN_ERROR_MAX]) {
  *out = NULL;
  if (arith != MN_ARITH_LITERT && arith != MN_ARITH_REFERENCE) {
    snprintf(err, MN_ERROR_MAX, "%s: arithmetic %d is neither litert nor reference", path, arith);
    return MN_ERR_ARGUMENT;
  }
  return load(path, 1, arith, out, err);
}

mn_status mn_model_load(const char *path, mn_model **out, char err[MN_ERROR_MAX]) {
  const char *env = getenv("MOBILENET_ARITHMETIC");
  mn_arithmetic arith = MN_ARITH_LITERT;
  if (env && *env && !mn_arithmetic_parse(env, &arith)) {
    *out = NULL;
    snprintf(err, MN_ERROR_MAX, "MOBILENET_ARITHMETIC=%s: expected litert or reference", env);
    return MN_ERR_ARGUMENT;
  }
  return load(path, 1, arith, out, err);
}

mn_arithmetic mn_model_arithmetic(const mn_model *m) { return m->arith; }

mn_status mn_model_probe(const char *path, mn_model_facts *facts, char err[MN_ERROR_MAX]) {
  mn_model *m;
  const mn_status st = load(path, 0, MN_ARITH_LITERT, &m, err);
  if (st != MN_OK) return st;
  *facts = (mn_model_facts){m->arch, m->alpha, m->resolution, m->dtype, m->classes};
  mn_model_free(m);
  return MN_OK;
}

static void free_labels(mn_model *m) {
  if (!m->labels) return;
  for (int i = 0; i < 1000; i++) free(m->labels[i]);
  free(m->labels);
  m->labels = NULL;
}

void mn_model_free(mn_model *m) {
  if (!m) return;
  mn_graph_free(m);
  free_labels(m);
  free(m);
}

mn_status mn_model_load_labels(mn_model *m, const char *path, char err[MN_ERROR_MAX]) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, MN_ERROR_MAX, "%s: cannot open labels: %s", path, strerror(errno));
    return MN_ERR_IO;
  }
  char **lines = calloc(1001, sizeof *lines);
  int n = 0, oom = !lines, too_many = 0;
  char buf[1024];
  mn_status st = MN_OK;
  while (!oom && fgets(buf, sizeof buf, f)) {
    buf[strcspn(buf, "\r\n")] = '\0';
    if (n == 1001) { /* one more than any label file: stop reading */
      too_many = 1;
      break;
    }
    if (!(lines[n] = strdup(buf))) oom = 1;
    else n++;
  }
  fclose(f);
  if (oom) {
    snprintf(err, MN_ERROR_MAX, "%s: out of memory", path);
    st = MN_ERR_MEMORY;
  } else if (too_many || (n != 1000 && n != 1001)) {
    snprintf(err, MN_ERROR_MAX, "%s: %s%d lines, expected 1000 or 1001 (background first)", path,
             too_many ? "more than " : "", n);
    st = MN_ERR_FORMAT;
  }
  if (st != MN_OK) {
    for (int i = 0; lines && i < 1001; i++) free(lines[i]);
    free(lines);
    return st;
  }
  free_labels(m);
  if (n == 1001) { /* drop "background" */
    free(lines[0]);
    memmove(lines, lines + 1, 1000 * sizeof *lines);
    lines[1000] = NULL;
  }
  m->labels = lines;
  return MN_OK;
}

float mn_model_alpha(const mn_model *m) { return m->alpha; }
mn_arch mn_model_arch(const mn_model *m) { return m->arch; }
int mn_model_outputs_logits(const mn_model *m) { return m->logits; }
int mn_model_resolution(const mn_model *m) { return m->resolution; }
mn_dtype mn_model_dtype(const mn_model *m) { return m->dtype; }
int mn_model_num_classes(const mn_model *m) { return m->classes; }
const char *mn_model_path(const mn_model *m) { return m->path; }
const char *mn_model_name(const mn_model *m) { return m->name; }

const char *mn_model_class_label(const mn_model *m, int class_index) {
  /* the ImageNet labels name the classes of ImageNet classifiers only */
  if (!m->labels || (m->classes != 1000 && m->classes != 1001) || class_index < 0 ||
      class_index >= 1000)
    return NULL;
  return m->labels[class_index];
}

/* One entry per operator of the file, in its order. */
int mn_model_layers(const mn_model *m, int resolution, mn_layer_info *layers, int max) {
  mn_dims *dims = calloc((size_t)m->n_values, sizeof *dims);
  char err[MN_ERROR_MAX];
  if (!dims || mn_graph_infer(m, resolution, dims, err, sizeof err) != 0) {
    free(dims);
    return -1;
  }
  for (int i = 0; i < m->n_nodes && i < max; i++) {
    const mn_node *n = &m->nodes[i];
    mn_layer_info *info = &layers[i];
    memset(info, 0, sizeof *info);
    const mn_dims *o = &dims[n->out];
    info->out_h = o->h, info->out_w = o->w, info->out_c = o->c;
    info->params = n->params;
    n->cls->describe(m, n, dims, info);
  }
  free(dims);
  return m->n_nodes;
}

const char *mn_version(void) { return MN_VERSION; }
