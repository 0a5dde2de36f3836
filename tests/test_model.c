/* test_model.c: Check tests of the TFLite reader, model loading and runners
 * (inference/flatbuf.c, tflite.c, model_build.c, model.c, runner.c).
 *
 * - every MobileNet v1 file of $MOBILENET_SHARED/models loads with the
 *   alpha, resolution, data type and class count of its name; v2 / v3
 *   files are refused as unsupported, naming the operator;
 * - mn_model_layers gives the parameter and multiply-add counts of the
 *   MobileNet v1 architecture (computed here from the paper's table);
 * - robustness: truncated files, flipped bytes, random garbage and huge
 *   vector lengths give an error whose message names the file, never a
 *   crash (run it under -Db_sanitize=address,undefined to see the memory
 *   errors a plain build would miss);
 * - runners: resolution limits, reuse, two runners in two threads.
 *
 * The models folder is $MOBILENET_SHARED/models, by default
 * MN_DEFAULT_SHARED/models (set by tests/meson.build). Without it the tests
 * that need no model still run, then the program exits 77 (meson: SKIP).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flatbuf.h"
#include "mobilenet/mobilenet.h"
#include "tflite.h"

#ifndef MN_DEFAULT_SHARED
#define MN_DEFAULT_SHARED "../shared"
#endif

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define PATH_SIZE (4096 + 512) /* models folder + file name */

/* ---- helpers -------------------------------------------------------------- */

static char models_dir[4096];

/* per thread: test_runner_concurrent makes images in two threads at once */
static _Thread_local uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s; }
static uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static size_t rng_below(size_t n) { return n ? (size_t)(rng_next() % n) : 0; }
static void fill_random(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rng_next();
}

static void *xmalloc(size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  ck_assert_msg(p != NULL, "out of memory (%zu bytes)", bytes);
  return p;
}

static void model_path(const char *name, char *out, size_t size) {
  snprintf(out, size, "%s/%s", models_dir, name);
}

/* Reads a whole file (a model of the shared folder). */
static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  uint8_t *d = xmalloc((size_t)n);
  ck_assert_msg(fread(d, 1, (size_t)n, f) == (size_t)n, "%s: short read", path);
  fclose(f);
  *size = (size_t)n;
  return d;
}

static void write_file(const char *path, const uint8_t *data, size_t size) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
  size_t done = 0;
  while (done < size) {
    ssize_t w = write(fd, data + done, size - done);
    ck_assert_msg(w > 0, "%s: write failed: %s", path, strerror(errno));
    done += (size_t)w;
  }
  close(fd);
}

/* The damaged files go into one folder in /tmp made by main and removed at
 * the end, so nothing is left behind when a test crashes before unlinking. */
static char temp_dir[64];
#define TEMP_PATH_SIZE (64 + 32)

/* A fresh temporary file (mkstemp); the caller unlinks it. */
static void temp_path(char *out, size_t size) {
  snprintf(out, size, "%s/damaged-XXXXXX", temp_dir);
  int fd = mkstemp(out);
  ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
  close(fd);
}

/* The status is an error with a one-line message naming the file. */
static void check_error(mn_status st, const mn_model *m, const char *err, const char *path,
                        const char *what) {
  ck_assert_msg(st > MN_OK && st <= MN_ERR_NOT_FOUND, "%s: status %d out of range", what, st);
  ck_assert_msg(m == NULL, "%s: failed load left a model", what);
  ck_assert_msg(err[0] != '\0', "%s: status %d without a message", what, st);
  ck_assert_msg(memchr(err, '\0', MN_ERROR_MAX) != NULL, "%s: message not terminated", what);
  ck_assert_msg(strchr(err, '\n') == NULL, "%s: message \"%s\" is not one line", what, err);
  ck_assert_msg(strstr(err, path) != NULL, "%s: message \"%s\" does not name %s", what, err, path);
}

/* A random preprocessed image (size x size RGB), same for the same seed. */
static uint8_t *random_image(int size, uint64_t seed) {
  uint8_t *img = xmalloc((size_t)size * size * 3);
  uint64_t saved = rng_state;
  rng_seed(seed);
  fill_random(img, (size_t)size * size * 3);
  rng_state = saved;
  return img;
}

/* Runs one inference at size on model m with a fixed image; copies the scores
 * (count values) into scores when not NULL. Returns 0, or the failing status
 * (with a message) of mn_runner_create / classify. */
static int run_once(const mn_model *m, int size, int threads, float *scores, char *err) {
  mn_runner *r = NULL;
  mn_status st = mn_runner_create(m, size, threads, &r, err);
  if (st != MN_OK) {
    ck_assert_msg(r == NULL && err[0] != '\0', "mn_runner_create failed (%d) without a message",
                  st);
    return st;
  }
  uint8_t *img = random_image(size, 1234);
  mn_result top[5];
  int n = mn_runner_classify_preprocessed(r, img, 5, top, err);
  free(img);
  if (n < 0) {
    ck_assert_msg(err[0] != '\0', "classify failed (%d) without a message", n);
    mn_runner_free(r);
    return -n;
  }
  ck_assert_int_le(n, 5);
  for (int i = 0; i < n; i++) {
    ck_assert_int_ge(top[i].class_index, 0);
    ck_assert_int_lt(top[i].class_index, 1000);
  }
  int count = 0;
  const float *s = mn_runner_scores(r, &count);
  ck_assert_int_eq(count, mn_model_num_classes(m));
  if (scores) memcpy(scores, s, sizeof(float) * (size_t)count);
  mn_runner_free(r);
  return 0;
}

/* Loads a damaged file. It must fail with a message naming the file; if it
 * loads (allowed when ok_allowed: a change in weight data or in bytes the
 * engine never reads), one inference must run. With baseline, a file that
 * loads must also give exactly the baseline scores at 64x64. Returns 1 when
 * it loaded. */
static int load_damaged(const char *path, const char *what, int ok_allowed, const float *baseline) {
  mn_model *m = NULL;
  char err[MN_ERROR_MAX];
  err[0] = '\0';
  mn_status st = mn_model_load(path, &m, err);
  if (st != MN_OK) {
    check_error(st, m, err, path, what);
    return 0;
  }
  ck_assert_msg(ok_allowed, "%s: loaded, expected an error", what);
  ck_assert_ptr_nonnull(m);
  const int classes = mn_model_num_classes(m);
  ck_assert_msg(classes == 1000 || classes == 1001, "%s: %d classes", what, classes);
  float scores[1001];
  err[0] = '\0';
  int rc = run_once(m, 64, 1, scores, err);
  if (baseline) {
    ck_assert_msg(rc == 0, "%s: loaded, but does not run: %s", what, err);
    ck_assert_msg(memcmp(scores, baseline, sizeof(float) * (size_t)classes) == 0,
                  "%s: loaded, but the scores differ from the intact file's", what);
  }
  mn_model_free(m);
  return 1;
}

/* ---- file locations inside a TFLite flatbuffer (with the engine's checked reader) */

typedef struct {
  uint32_t *pos;
  size_t n, cap;
} poslist;

static void add_pos(poslist *pl, uint64_t p, size_t file_size) {
  if (p >= file_size) return;
  if (pl->n == pl->cap) {
    pl->cap = pl->cap ? pl->cap * 2 : 1024;
    pl->pos = realloc(pl->pos, pl->cap * sizeof *pl->pos);
    ck_assert_ptr_nonnull(pl->pos);
  }
  pl->pos[pl->n++] = (uint32_t)p;
}

static void add_range(poslist *pl, uint64_t start, uint64_t len, size_t file_size) {
  for (uint64_t p = start; p < start + len; p++) add_pos(pl, p, file_size);
}

/* A table: its offset to the vtable and the vtable itself. */
static void add_table(poslist *pl, const fb_buffer *fb, fb_table t) {
  if (!t || (uint64_t)t + 4 > fb->size) return;
  add_range(pl, t, 4, fb->size);
  int32_t soff;
  memcpy(&soff, fb->data + t, 4);
  int64_t vt = (int64_t)t - soff;
  if (vt < 0 || (uint64_t)vt + 4 > fb->size) return;
  uint16_t vt_size;
  memcpy(&vt_size, fb->data + vt, 2);
  add_range(pl, (uint64_t)vt, vt_size < 64 ? vt_size : 64, fb->size);
}

/* A vector: its length and its first elements (offsets or values). */
static void add_vector(poslist *pl, const fb_buffer *fb, fb_vector v, uint32_t elem) {
  if (!v.pos) return;
  uint64_t bytes = (uint64_t)v.count * elem;
  add_range(pl, v.pos - 4u, 4 + (bytes < 64 ? bytes : 64), fb->size);
}

enum { ROOT_OPCODES = 1, ROOT_SUBGRAPHS = 2, ROOT_BUFFERS = 4 };
enum { SG_TENSORS = 0, SG_INPUTS = 1, SG_OUTPUTS = 2, SG_OPERATORS = 3 };

/* The byte positions of the model's structure: tables, vtables, vector
 * lengths and offsets (what a flipped byte most likely turns into a bad
 * offset), found by walking the file with the engine's reader. */
static poslist structure_positions(const uint8_t *data, size_t size) {
  poslist pl = {NULL, 0, 0};
  fb_buffer fb;
  fb_init(&fb, data, size);
  fb_table root = fb_root(&fb, "TFL3");
  ck_assert_msg(root != 0, "cannot walk the model: %s", fb.what);
  add_range(&pl, 0, 8, size);
  add_table(&pl, &fb, root);
  fb_vector opcodes = fb_vector_field(&fb, root, ROOT_OPCODES, 4);
  add_vector(&pl, &fb, opcodes, 4);
  for (uint32_t i = 0; i < opcodes.count; i++)
    add_table(&pl, &fb, fb_vector_table(&fb, opcodes, i));
  fb_vector buffers = fb_vector_field(&fb, root, ROOT_BUFFERS, 4);
  add_vector(&pl, &fb, buffers, 4);
  for (uint32_t i = 0; i < buffers.count; i++) {
    fb_table b = fb_vector_table(&fb, buffers, i);
    add_table(&pl, &fb, b);
    fb_vector d = fb_vector_field(&fb, b, 0, 1);
    if (d.pos) add_range(&pl, d.pos - 4u, 4, size); /* data length only */
  }
  fb_vector subgraphs = fb_vector_field(&fb, root, ROOT_SUBGRAPHS, 4);
  add_vector(&pl, &fb, subgraphs, 4);
  fb_table sg = fb_vector_table(&fb, subgraphs, 0);
  add_table(&pl, &fb, sg);
  fb_vector tensors = fb_vector_field(&fb, sg, SG_TENSORS, 4);
  add_vector(&pl, &fb, tensors, 4);
  for (uint32_t i = 0; i < tensors.count; i++) {
    fb_table t = fb_vector_table(&fb, tensors, i);
    add_table(&pl, &fb, t);
    add_vector(&pl, &fb, fb_vector_field(&fb, t, 0, 4), 4); /* shape */
    fb_table q = fb_table_field(&fb, t, 4);
    add_table(&pl, &fb, q);
    add_vector(&pl, &fb, fb_vector_field(&fb, q, 2, 4), 4); /* scale */
    add_vector(&pl, &fb, fb_vector_field(&fb, q, 3, 8), 8); /* zero point */
  }
  add_vector(&pl, &fb, fb_vector_field(&fb, sg, SG_INPUTS, 4), 4);
  add_vector(&pl, &fb, fb_vector_field(&fb, sg, SG_OUTPUTS, 4), 4);
  fb_vector ops = fb_vector_field(&fb, sg, SG_OPERATORS, 4);
  add_vector(&pl, &fb, ops, 4);
  for (uint32_t i = 0; i < ops.count; i++) {
    fb_table o = fb_vector_table(&fb, ops, i);
    add_table(&pl, &fb, o);
    add_vector(&pl, &fb, fb_vector_field(&fb, o, 1, 4), 4);
    add_vector(&pl, &fb, fb_vector_field(&fb, o, 2, 4), 4);
    add_table(&pl, &fb, fb_table_field(&fb, o, 4));
  }
  ck_assert_msg(!fb.failed, "walking the intact model failed: %s", fb.what);
  return pl;
}

/* Position of the length field of tensor i's shape vector (0 if absent). */
static uint32_t tensor_shape_pos(const uint8_t *data, size_t size, int i) {
  fb_buffer fb;
  fb_init(&fb, data, size);
  fb_table root = fb_root(&fb, "TFL3");
  fb_table sg = fb_vector_table(&fb, fb_vector_field(&fb, root, ROOT_SUBGRAPHS, 4), 0);
  fb_table t = fb_vector_table(&fb, fb_vector_field(&fb, sg, SG_TENSORS, 4), (uint32_t)i);
  fb_vector shape = fb_vector_field(&fb, t, 0, 4);
  ck_assert_msg(!fb.failed && shape.pos, "tensor %d has no shape", i);
  return shape.pos - 4u;
}

static void put_u32(uint8_t *data, uint32_t pos, uint32_t v) { memcpy(data + pos, &v, 4); }
static uint32_t get_u32(const uint8_t *data, uint32_t pos) {
  uint32_t v;
  memcpy(&v, data + pos, 4);
  return v;
}

/* ---- tests that need no model ------------------------------------------------------ */

/* A missing file: MN_ERR_IO naming the path. */
/* The published width multipliers: one list in the engine, ascending, and
 * MN_ALPHAS_TEXT (help texts, messages) names exactly those values. */
START_TEST(test_alpha_list) {
  const float *a = mn_alphas();
  for (int i = 1; i < MN_ALPHA_COUNT; i++) ck_assert_float_lt(a[i - 1], a[i]);
  const char *t = MN_ALPHAS_TEXT;
  int n = 0;
  while (*t) {
    char *end;
    const double v = strtod(t, &end);
    if (end == t) {
      t++;
      continue;
    }
    ck_assert_int_lt(n, MN_ALPHA_COUNT);
    ck_assert_msg(fabs(v - a[n]) < 1e-6, "MN_ALPHAS_TEXT value %d is %g, mn_alphas() has %g", n,
                  v, (double)a[n]);
    n++, t = end;
  }
  ck_assert_int_eq(n, MN_ALPHA_COUNT);
  for (int i = 0; i < MN_ALPHA_COUNT; i++) ck_assert(mn_alpha_known(a[i]));
  ck_assert(!mn_alpha_known(0.6));
  ck_assert(!mn_alpha_known(0.0));
  ck_assert(!mn_alpha_known(-1.0));
  ck_assert(!mn_alpha_known(NAN));
}
END_TEST

START_TEST(test_missing_file) {
  const char *path = "/tmp/mn-test-no-such-folder-8b1f/mobilenet_v1_1.0_224.tflite";
  mn_model *m = (mn_model *)&m; /* must be reset to NULL */
  char err[MN_ERROR_MAX] = "";
  mn_status st = mn_model_load(path, &m, err);
  ck_assert_int_eq(st, MN_ERR_IO);
  check_error(st, m, err, path, "missing file");
}
END_TEST

/* A directory is not a model. */
START_TEST(test_directory) {
  char dir[] = "/tmp/mn-test-dir-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  mn_model *m = NULL;
  char err[MN_ERROR_MAX] = "";
  mn_status st = mn_model_load(dir, &m, err);
  rmdir(dir);
  check_error(st, m, err, dir, "directory");
}
END_TEST

/* Random garbage of several sizes, also behind a valid header ("TFL3" and a
 * plausible root offset), so the reader follows random offsets. */
START_TEST(test_garbage) {
  char path[TEMP_PATH_SIZE];
  temp_path(path, sizeof path);
  rng_seed(0x6a7ba6e);
  const size_t sizes[] = {1, 2, 3, 4, 7, 8, 9, 12, 16, 64, 100, 1000, 4096, 65536, 525598};
  char what[128];
  for (int si = 0; si < COUNT(sizes); si++)
    for (int rep = 0; rep < 20; rep++) {
      const size_t n = sizes[si];
      uint8_t *d = xmalloc(n);
      fill_random(d, n);
      if (rep % 2 && n >= 8) { /* valid header */
        memcpy(d + 4, "TFL3", 4);
        uint32_t root = n > 12 ? 8 + (uint32_t)rng_below(n > 64 ? 56 : n - 12) : 8;
        put_u32(d, 0, root);
      }
      write_file(path, d, n);
      snprintf(what, sizeof what, "%zu random bytes (%s header, round %d)", n,
               rep % 2 ? "valid" : "random", rep);
      load_damaged(path, what, 0, NULL);
      free(d);
    }
  /* An empty file. */
  write_file(path, (const uint8_t *)"", 0);
  load_damaged(path, "empty file", 0, NULL);
  unlink(path);
}
END_TEST

/* ---- MobileNet v1 files of the shared folder ------------------------------------- */

/* Parses mobilenet_v1_<alpha>_<res>[_quant|_dequant].tflite. */
static int parse_v1_name(const char *name, float *alpha, int *res, mn_dtype *dtype, int *classes) {
  if (strncmp(name, "mobilenet_v1_", 13) != 0) return 0;
  char *end;
  *alpha = strtof(name + 13, &end);
  if (*end != '_') return 0;
  *res = (int)strtol(end + 1, &end, 10);
  if (strcmp(end, "_quant.tflite") == 0) {
    *dtype = MN_DTYPE_U8, *classes = 1001;
  } else if (strcmp(end, "_dequant.tflite") == 0) {
    *dtype = MN_DTYPE_F32, *classes = 1001;
  } else if (strcmp(end, ".tflite") == 0) {
    *dtype = MN_DTYPE_F32, *classes = 1000; /* Keras-derived float files */
  } else {
    return 0;
  }
  return 1;
}

/* Every v1 file loads and reports what its name says. */
START_TEST(test_load_all_v1) {
  DIR *d = opendir(models_dir);
  ck_assert_msg(d != NULL, "%s: %s", models_dir, strerror(errno));
  struct dirent *e;
  int loaded = 0;
  char path[PATH_SIZE], err[MN_ERROR_MAX];
  while ((e = readdir(d)) != NULL) {
    float alpha;
    int res, classes;
    mn_dtype dtype;
    if (!parse_v1_name(e->d_name, &alpha, &res, &dtype, &classes)) continue;
    model_path(e->d_name, path, sizeof path);
    mn_model *m = NULL;
    err[0] = '\0';
    mn_status st = mn_model_load(path, &m, err);
    ck_assert_msg(st == MN_OK, "%s: status %d: %s", e->d_name, st, err);
    ck_assert_msg(fabsf(mn_model_alpha(m) - alpha) < 1e-6f, "%s: alpha %g", e->d_name,
                  mn_model_alpha(m));
    ck_assert_msg(mn_model_resolution(m) == res, "%s: resolution %d", e->d_name,
                  mn_model_resolution(m));
    ck_assert_msg(mn_model_dtype(m) == dtype, "%s: dtype %s", e->d_name,
                  mn_dtype_name(mn_model_dtype(m)));
    ck_assert_msg(mn_model_num_classes(m) == classes, "%s: %d classes, expected %d", e->d_name,
                  mn_model_num_classes(m), classes);
    ck_assert_str_eq(mn_model_path(m), path);
    ck_assert_str_eq(mn_model_name(m), e->d_name);
    /* imagenet_labels.txt sits beside the models: class 0 is the tench. */
    const char *l0 = mn_model_class_label(m, 0);
    ck_assert_msg(l0 && strncmp(l0, "tench", 5) == 0, "%s: label 0 is %s", e->d_name,
                  l0 ? l0 : "(none)");
    ck_assert_ptr_nonnull(mn_model_class_label(m, 999));
    ck_assert_ptr_null(mn_model_class_label(m, 1000));
    ck_assert_ptr_null(mn_model_class_label(m, -1));
    mn_model_free(m);
    loaded++;
  }
  closedir(d);
  ck_assert_msg(loaded >= 1, "no mobilenet_v1_*.tflite in %s", models_dir);
  printf("loaded %d MobileNet v1 files\n", loaded);
}
END_TEST

/* Parses mobilenet_<arch>_<alpha>_<res>_<kind>.tflite of the v2 / v3 files:
 * _quant (uint8), _quant_hub (uint8, logits), _uint8, _int8_ptq (int8),
 * _dequant (float32). */
static int parse_v2_v3_name(const char *name, mn_arch *arch, float *alpha, int *res,
                            mn_dtype *dtype, int *logits) {
  static const struct {
    const char *prefix;
    mn_arch arch;
  } archs[] = {{"mobilenet_v2_", MN_ARCH_V2},
               {"mobilenet_v3_small_", MN_ARCH_V3_SMALL},
               {"mobilenet_v3_large_minimalistic_", MN_ARCH_V3_LARGE_MINIMALISTIC},
               {"mobilenet_v3_large_", MN_ARCH_V3_LARGE}};
  const char *rest = NULL;
  for (size_t i = 0; i < sizeof archs / sizeof archs[0] && !rest; i++)
    if (strncmp(name, archs[i].prefix, strlen(archs[i].prefix)) == 0)
      rest = name + strlen(archs[i].prefix), *arch = archs[i].arch;
  if (!rest) return 0;
  char *end;
  *alpha = strtof(rest, &end);
  if (*end != '_') return 0;
  *res = (int)strtol(end + 1, &end, 10);
  *logits = 0;
  if (!strcmp(end, "_quant.tflite") || !strcmp(end, "_uint8.tflite")) *dtype = MN_DTYPE_U8;
  else if (!strcmp(end, "_quant_hub.tflite")) *dtype = MN_DTYPE_U8, *logits = 1;
  else if (!strcmp(end, "_int8_ptq.tflite")) *dtype = MN_DTYPE_I8;
  else if (!strcmp(end, "_dequant.tflite")) *dtype = MN_DTYPE_F32;
  else return 0;
  return 1;
}

/* Every v2 and v3 file (uint8, int8 per-channel, float32, logits) loads and
 * reports the architecture, alpha, resolution and dtype its name says, and
 * runs at its own resolution and at a smaller one. */
START_TEST(test_load_all_v2_v3) {
  DIR *d = opendir(models_dir);
  ck_assert_msg(d != NULL, "%s: %s", models_dir, strerror(errno));
  struct dirent *e;
  int loaded = 0;
  char path[PATH_SIZE], err[MN_ERROR_MAX];
  while ((e = readdir(d)) != NULL) {
    mn_arch arch;
    float alpha;
    int res, logits;
    mn_dtype dtype;
    if (!parse_v2_v3_name(e->d_name, &arch, &alpha, &res, &dtype, &logits)) continue;
    model_path(e->d_name, path, sizeof path);
    mn_model *m = NULL;
    err[0] = '\0';
    mn_status st = mn_model_load(path, &m, err);
    ck_assert_msg(st == MN_OK, "%s: status %d: %s", e->d_name, st, err);
    ck_assert_msg(mn_model_arch(m) == arch, "%s: arch %s, expected %s", e->d_name,
                  mn_arch_name(mn_model_arch(m)), mn_arch_name(arch));
    ck_assert_msg(fabsf(mn_model_alpha(m) - alpha) < 1e-6f, "%s: alpha %g", e->d_name,
                  mn_model_alpha(m));
    ck_assert_msg(mn_model_resolution(m) == res, "%s: resolution %d", e->d_name,
                  mn_model_resolution(m));
    ck_assert_msg(mn_model_dtype(m) == dtype, "%s: dtype %s", e->d_name,
                  mn_dtype_name(mn_model_dtype(m)));
    ck_assert_int_eq(mn_model_num_classes(m), 1001);
    ck_assert_msg(mn_model_outputs_logits(m) == logits, "%s: logits %d", e->d_name,
                  mn_model_outputs_logits(m));
    float scores[1001];
    for (int r = 0; r < 2; r++) {
      const int size = r ? 96 : res;
      ck_assert_msg(run_once(m, size, 2, scores, err) == 0, "%s at %d: %s", e->d_name, size, err);
      double sum = 0.0;
      for (int i = 0; i < 1001; i++) sum += scores[i];
      /* probabilities, also where the graph ends in logits; 8-bit softmax
       * outputs come in steps of 1/256, the small ones rounded to 0 */
      const int exact = dtype == MN_DTYPE_F32 || logits;
      ck_assert_msg(exact ? fabs(sum - 1.0) < 1e-3 : sum > 0.2 && sum < 1.5,
                    "%s at %d: scores sum to %g", e->d_name, size, sum);
    }
    mn_model_free(m);
    loaded++;
  }
  closedir(d);
  ck_assert_msg(loaded >= 1, "no mobilenet_v2/v3 file in %s", models_dir);
  printf("loaded %d MobileNet v2 / v3 files\n", loaded);
}
END_TEST

/* ---- architecture summary --------------------------------------------------------- */

/* MobileNet v1 (Howard et al. 2017, table 1): a 3x3/s2 convolution with 32
 * filters, then 13 depthwise 3x3 + pointwise pairs, global pool and a 1x1
 * logits convolution. Counts weights + biases (batch norm folded) and the
 * multiply-adds of the convolutions, at resolution res. */
static void v1_counts(float alpha, int res, int classes, int64_t *params, int64_t *macs) {
  static const int dw_stride[13] = {1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1};
  static const int pw_out[13] = {64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024};
  int c = (int)(32 * alpha), s = (res + 1) / 2;
  *params = 3 * 3 * 3 * c + c;
  *macs = (int64_t)s * s * 27 * c;
  for (int i = 0; i < 13; i++) {
    s = (s + dw_stride[i] - 1) / dw_stride[i];
    *params += 9 * c + c;
    *macs += (int64_t)s * s * 9 * c;
    int o = (int)(pw_out[i] * alpha);
    *params += (int64_t)c * o + o;
    *macs += (int64_t)s * s * c * o;
    c = o;
  }
  *params += (int64_t)c * classes + classes;
  *macs += (int64_t)c * classes;
}

static void check_layers(const char *name, int res, double want_params, double want_macs,
                         double tolerance) {
  char path[PATH_SIZE], err[MN_ERROR_MAX];
  model_path(name, path, sizeof path);
  mn_model *m = NULL;
  mn_status st = mn_model_load(path, &m, err);
  ck_assert_msg(st == MN_OK, "%s: %s", name, err);
  mn_layer_info layers[64];
  const int n = mn_model_layers(m, res, layers, 64);
  ck_assert_msg(n == 31, "%s: %d layers, expected 31 (1 + 26 + pool + logits + reshape + softmax)",
                name, n);
  int64_t params = 0, macs = 0;
  for (int i = 0; i < n; i++) params += layers[i].params, macs += layers[i].macs;
  /* Layer kinds and shapes along the way. */
  ck_assert_str_eq(layers[0].type, "conv3x3/s2");
  ck_assert_int_eq(layers[0].out_h, (res + 1) / 2);
  ck_assert_int_eq(layers[0].out_c, (int)(32 * mn_model_alpha(m)));
  ck_assert_str_eq(layers[1].type, "dwconv3x3/s1");
  ck_assert_str_eq(layers[2].type, "conv1x1");
  ck_assert_str_eq(layers[3].type, "dwconv3x3/s2");
  ck_assert_str_eq(layers[27].type, "avgpool");
  ck_assert_int_eq(layers[27].out_h, 1);
  ck_assert_int_eq(layers[26].out_h, (res + 31) / 32);
  ck_assert_int_eq(layers[26].out_c, (int)(1024 * mn_model_alpha(m)));
  ck_assert_str_eq(layers[30].type, "softmax");
  ck_assert_int_eq(layers[30].out_c, mn_model_num_classes(m));
  /* Exactly the architecture's counts ... */
  int64_t ap, am;
  v1_counts(mn_model_alpha(m), res, mn_model_num_classes(m), &ap, &am);
  ck_assert_msg(params == ap, "%s: %lld parameters, the architecture has %lld", name,
                (long long)params, (long long)ap);
  ck_assert_msg(macs == am, "%s at %d: %lld multiply-adds, the architecture has %lld", name, res,
                (long long)macs, (long long)am);
  /* ... and the published figures within tolerance. */
  ck_assert_msg(fabs(params / want_params - 1.0) < tolerance,
                "%s: %.3f M parameters, expected %.3f M", name, params / 1e6, want_params / 1e6);
  ck_assert_msg(fabs(macs / want_macs - 1.0) < tolerance, "%s at %d: %.1f M MACs, expected %.1f M",
                name, res, macs / 1e6, want_macs / 1e6);
  /* max smaller than the count: fills max layers, returns the count. */
  mn_layer_info few[3];
  memset(few, 0x5a, sizeof few);
  ck_assert_int_eq(mn_model_layers(m, res, few, 2), n);
  ck_assert_str_eq(few[0].type, layers[0].type);
  const unsigned char *tail = (const unsigned char *)&few[2];
  for (size_t i = 0; i < sizeof few[2]; i++) ck_assert_int_eq(tail[i], 0x5a);
  /* Another resolution: the stride-32 map shrinks. */
  ck_assert_int_eq(mn_model_layers(m, 96, layers, 64), n);
  ck_assert_int_eq(layers[26].out_h, 3);
  mn_model_free(m);
}

/* MobileNet 1.0 at 224: 4.2 M parameters (4.22 M with the 1001-class head),
 * 569 M MACs (paper, table 8), within 1 %. */
START_TEST(test_layers_1_0_224) {
  check_layers("mobilenet_v1_1.0_224_quant.tflite", 224, 4.23e6, 569e6, 0.01);
  check_layers("mobilenet_v1_1.0_224_dequant.tflite", 224, 4.23e6, 569e6, 0.01);
}
END_TEST

/* MobileNet 0.25 at 128: 0.47 M parameters, 14 M MACs (paper, table 7;
 * exactly 0.468 M and 13.6 M), within 5 %. */
START_TEST(test_layers_0_25_128) {
  check_layers("mobilenet_v1_0.25_128_quant.tflite", 128, 0.47e6, 14e6, 0.05);
}
END_TEST

/* Published sizes (with the 1001-class head): MobileNet v2 1.0/224 3.47 M
 * parameters, 300 M multiply-adds (Sandler et al. 2018, table 4); v3-small
 * 2.5 M / 56 M and v3-large-minimalistic 3.9 M / 209 M (Howard et al. 2019,
 * tables 3 and 6); within 3 %. */
static void check_totals(const char *name, int res, double want_params, double want_macs) {
  char path[PATH_SIZE], err[MN_ERROR_MAX];
  model_path(name, path, sizeof path);
  mn_model *m = NULL;
  ck_assert_msg(mn_model_load(path, &m, err) == MN_OK, "%s: %s", name, err);
  mn_layer_info layers[256];
  const int n = mn_model_layers(m, res, layers, 256);
  ck_assert_int_gt(n, 0);
  ck_assert_int_le(n, 256);
  int64_t params = 0, macs = 0;
  for (int i = 0; i < n; i++) params += layers[i].params, macs += layers[i].macs;
  ck_assert_msg(fabs(params / want_params - 1.0) < 0.03, "%s: %.3f M parameters, expected %.3f M",
                name, params / 1e6, want_params / 1e6);
  ck_assert_msg(fabs(macs / want_macs - 1.0) < 0.03, "%s: %.1f M MACs, expected %.1f M", name,
                macs / 1e6, want_macs / 1e6);
  mn_model_free(m);
}

START_TEST(test_layers_v2_v3) {
  check_totals("mobilenet_v2_1.0_224_quant.tflite", 224, 3.47e6, 300e6);
  check_totals("mobilenet_v2_1.0_224_int8_ptq.tflite", 224, 3.47e6, 300e6);
  check_totals("mobilenet_v3_small_1.0_224_uint8.tflite", 224, 2.5e6, 56e6);
  check_totals("mobilenet_v3_large_minimalistic_1.0_224_quant.tflite", 224, 3.9e6, 209e6);
}
END_TEST

/* ---- robustness against damaged files ---------------------------------------------- */

static const char *fuzz_model = "mobilenet_v1_0.25_128_quant.tflite";

/* Truncated copies must fail with a message naming the file. Only the tail of
 * a file may hold bytes the engine never reads (this file ends with a zip of
 * its label file after the flatbuffer; others end with unreferenced bytes),
 * so a truncated file that still loads must give exactly the intact file's
 * scores. The short lengths below always cut the model itself. */
START_TEST(test_truncated) {
  char src[PATH_SIZE], path[TEMP_PATH_SIZE], what[128];
  model_path(fuzz_model, src, sizeof src);
  size_t size;
  uint8_t *data = read_file(src, &size);
  mn_model *m = NULL;
  char err[MN_ERROR_MAX];
  ck_assert_msg(mn_model_load(src, &m, err) == MN_OK, "%s", err);
  float baseline[1001];
  ck_assert_int_eq(run_once(m, 64, 1, baseline, err), 0);
  mn_model_free(m);
  temp_path(path, sizeof path);
  const size_t must_fail[] = {0, 1, 4, 7, 8, 100, 1000, size / 2};
  for (int i = 0; i < COUNT(must_fail); i++) {
    write_file(path, data, must_fail[i]);
    snprintf(what, sizeof what, "%s truncated to %zu bytes", fuzz_model, must_fail[i]);
    load_damaged(path, what, 0, NULL);
  }
  rng_seed(0x7e0ca7e);
  int loaded = 0;
  for (int i = 0; i < 201; i++) {
    size_t len = i == 0 ? size - 1 : rng_below(size);
    write_file(path, data, len);
    snprintf(what, sizeof what, "%s truncated to %zu of %zu bytes", fuzz_model, len, size);
    loaded += load_damaged(path, what, 1, baseline);
  }
  printf("truncated: %d of 201 random lengths cut only unused tail bytes and loaded\n", loaded);
  unlink(path);
  free(data);
}
END_TEST

/* ~500 single-byte changes (fixed seed): all of the first 64 bytes, 240 in
 * the structure (tables, vtables, vector lengths and offsets) and 196
 * anywhere. Each must fail with a message, or load and run one inference. */
START_TEST(test_byte_flips) {
  char src[PATH_SIZE], path[TEMP_PATH_SIZE], what[160];
  model_path(fuzz_model, src, sizeof src);
  size_t size;
  uint8_t *data = read_file(src, &size);
  uint8_t *copy = xmalloc(size);
  poslist structure = structure_positions(data, size);
  ck_assert_uint_gt(structure.n, 1000);
  temp_path(path, sizeof path);
  rng_seed(0xf11b5);
  int loaded = 0, total = 0;
  for (int i = 0; i < 500; i++, total++) {
    size_t pos = i < 64    ? (size_t)i
                 : i < 304 ? structure.pos[rng_below(structure.n)]
                           : rng_below(size);
    /* alternately a single bit flip and a random different value */
    uint8_t v = i % 2 ? (uint8_t)(data[pos] ^ (1u << (rng_next() % 8)))
                      : (uint8_t)(data[pos] ^ (1 + rng_below(255)));
    memcpy(copy, data, size);
    copy[pos] = v;
    write_file(path, copy, size);
    snprintf(what, sizeof what, "%s with byte %zu changed 0x%02x -> 0x%02x", fuzz_model, pos,
             data[pos], v);
    loaded += load_damaged(path, what, 1, NULL);
  }
  printf("byte flips: %d of %d changed files still loaded (and ran)\n", loaded, total);
  unlink(path);
  free(structure.pos);
  free(copy);
  free(data);
}
END_TEST

/* Valid header, but one vector claims a huge length: the root's vectors
 * (operator codes, subgraphs, buffers), the subgraph's (tensors, inputs,
 * outputs, operators), a tensor shape, an operator's inputs, a weight
 * buffer. Also a root offset past the end. */
START_TEST(test_huge_vector_lengths) {
  char src[PATH_SIZE], path[TEMP_PATH_SIZE], what[160];
  model_path(fuzz_model, src, sizeof src);
  size_t size;
  uint8_t *data = read_file(src, &size);
  uint8_t *copy = xmalloc(size);
  fb_buffer fb;
  fb_init(&fb, data, size);
  fb_table root = fb_root(&fb, "TFL3");
  fb_vector opcodes = fb_vector_field(&fb, root, ROOT_OPCODES, 4);
  fb_vector subgraphs = fb_vector_field(&fb, root, ROOT_SUBGRAPHS, 4);
  fb_vector buffers = fb_vector_field(&fb, root, ROOT_BUFFERS, 4);
  fb_table sg = fb_vector_table(&fb, subgraphs, 0);
  fb_vector tensors = fb_vector_field(&fb, sg, SG_TENSORS, 4);
  fb_vector inputs = fb_vector_field(&fb, sg, SG_INPUTS, 4);
  fb_vector outputs = fb_vector_field(&fb, sg, SG_OUTPUTS, 4);
  fb_vector ops = fb_vector_field(&fb, sg, SG_OPERATORS, 4);
  fb_table t0 = fb_vector_table(&fb, tensors, 0);
  fb_vector shape0 = fb_vector_field(&fb, t0, 0, 4);
  fb_table op0 = fb_vector_table(&fb, ops, 0);
  fb_vector op0_in = fb_vector_field(&fb, op0, 1, 4);
  /* the largest constant buffer (the logits weights) */
  fb_vector biggest = {0, 0};
  for (uint32_t i = 0; i < buffers.count; i++) {
    fb_vector dv = fb_vector_field(&fb, fb_vector_table(&fb, buffers, i), 0, 1);
    if (dv.count > biggest.count) biggest = dv;
  }
  ck_assert_msg(!fb.failed, "walking the intact model failed: %s", fb.what);
  const struct {
    const char *name;
    fb_vector v;
  } vecs[] = {
      {"operator codes", opcodes}, {"subgraphs", subgraphs},   {"buffers", buffers},
      {"tensors", tensors},        {"graph inputs", inputs},   {"graph outputs", outputs},
      {"operators", ops},          {"tensor 0 shape", shape0}, {"operator 0 inputs", op0_in},
      {"largest buffer", biggest}};
  const uint32_t lengths[] = {0xFFFFFFFFu, 0x80000000u,    0x7FFFFFFFu,
                              0x40000001u, (uint32_t)size, (uint32_t)(size / 4)};
  temp_path(path, sizeof path);
  for (int vi = 0; vi < COUNT(vecs); vi++) {
    ck_assert_msg(vecs[vi].v.pos != 0, "no %s vector", vecs[vi].name);
    for (int li = 0; li < COUNT(lengths); li++) {
      memcpy(copy, data, size);
      put_u32(copy, vecs[vi].v.pos - 4u, lengths[li]);
      write_file(path, copy, size);
      snprintf(what, sizeof what, "%s vector of length %u (was %u)", vecs[vi].name, lengths[li],
               vecs[vi].v.count);
      load_damaged(path, what, 0, NULL);
    }
  }
  const uint32_t roots[] = {0, 4, (uint32_t)size - 3, (uint32_t)size, 0xFFFFFFF0u};
  for (int ri = 0; ri < COUNT(roots); ri++) {
    memcpy(copy, data, size);
    put_u32(copy, 0, roots[ri]);
    write_file(path, copy, size);
    snprintf(what, sizeof what, "root offset %u", roots[ri]);
    load_damaged(path, what, 0, NULL);
  }
  unlink(path);
  free(copy);
  free(data);
}
END_TEST

/* Facts about the fuzzed model's graph, read with the engine's parser. */
typedef struct {
  int input, logits, flat, classes;
} graph_facts;

static graph_facts read_graph(const uint8_t *data, size_t size) {
  tfl_model tfl;
  char err[MN_ERROR_MAX];
  ck_assert_msg(tfl_parse(data, size, &tfl, err, sizeof err) == 0, "%s", err);
  const int n_ops = tfl.n_ops;
  ck_assert_int_ge(n_ops, 3);
  ck_assert_int_eq(tfl.ops[n_ops - 1].code, TFL_OP_SOFTMAX);
  ck_assert_int_eq(tfl.ops[n_ops - 2].code, TFL_OP_RESHAPE);
  graph_facts f;
  f.input = tfl.input;
  f.logits = tfl.ops[n_ops - 2].inputs[0]; /* output of the logits conv */
  f.flat = tfl.ops[n_ops - 1].inputs[0];   /* reshape output = softmax input */
  ck_assert_int_eq(tfl.tensors[f.logits].rank, 4);
  ck_assert_int_eq(tfl.tensors[f.flat].rank, 2);
  f.classes = tfl.tensors[f.flat].shape[1];
  tfl_free(&tfl);
  return f;
}

/* The input tensor's four dimensions at the reader's per-dimension limit of
 * 2^24: their product overflows int64, so the file must be refused without
 * undefined behaviour (shows under -Db_sanitize=undefined). */
START_TEST(test_crafted_dims_overflow) {
  char src[PATH_SIZE], path[TEMP_PATH_SIZE];
  model_path(fuzz_model, src, sizeof src);
  size_t size;
  uint8_t *data = read_file(src, &size);
  graph_facts f = read_graph(data, size);
  temp_path(path, sizeof path);
  uint32_t sp = tensor_shape_pos(data, size, f.input);
  ck_assert_uint_eq(get_u32(data, sp), 4);
  for (int d = 0; d < 4; d++) put_u32(data, sp + 4 + 4u * d, 1u << 24);
  write_file(path, data, size);
  load_damaged(path, "input tensor of shape [2^24, 2^24, 2^24, 2^24]", 0, NULL);
  unlink(path);
  free(data);
}
END_TEST

/* The logits conv output declared [1,4,4,1001], the reshape output
 * [1,16016], the softmax output [1,1001]: every operator is consistent with
 * its own tensors, but the softmax input no longer matches what the network
 * computes (1x1x1001 values at any resolution). The engine must refuse the
 * file (at load, or when creating a runner), or run it exactly as the intact
 * file (declared shapes of activation tensors are not data); a softmax over
 * 16016 values would read and write past the activation buffers at small
 * resolutions. */
START_TEST(test_crafted_softmax_shape) {
  char src[PATH_SIZE], path[TEMP_PATH_SIZE], err[MN_ERROR_MAX];
  model_path(fuzz_model, src, sizeof src);
  size_t size;
  uint8_t *data = read_file(src, &size);
  graph_facts f = read_graph(data, size);
  mn_model *m = NULL;
  ck_assert_msg(mn_model_load(src, &m, err) == MN_OK, "%s", err);
  float baseline32[1001], baseline64[1001];
  ck_assert_int_eq(run_once(m, 32, 1, baseline32, err), 0);
  ck_assert_int_eq(run_once(m, 64, 1, baseline64, err), 0);
  mn_model_free(m);
  uint32_t lp = tensor_shape_pos(data, size, f.logits), fp = tensor_shape_pos(data, size, f.flat);
  put_u32(data, lp + 4 + 4, 4); /* [1, 4, 4, classes] */
  put_u32(data, lp + 4 + 8, 4);
  put_u32(data, fp + 4 + 4, (uint32_t)(16 * f.classes)); /* [1, 16 * classes] */
  temp_path(path, sizeof path);
  write_file(path, data, size);
  m = NULL;
  err[0] = '\0';
  mn_status st = mn_model_load(path, &m, err);
  unlink(path); /* before running: the run may crash */
  if (st != MN_OK) {
    check_error(st, m, err, path, "softmax input of 16 x classes values");
  } else {
    /* run_once checks that a refusal comes with a message */
    float scores[1001];
    if (run_once(m, 32, 1, scores, err) == 0)
      ck_assert_msg(memcmp(scores, baseline32, sizeof(float) * (size_t)f.classes) == 0,
                    "softmax input declared [1,%d] was loaded, and scores at 32 differ",
                    16 * f.classes);
    if (run_once(m, 64, 1, scores, err) == 0)
      ck_assert_msg(memcmp(scores, baseline64, sizeof(float) * (size_t)f.classes) == 0,
                    "softmax input declared [1,%d] was loaded, and scores at 64 differ",
                    16 * f.classes);
    mn_model_free(m);
  }
  free(data);
}
END_TEST

/* ---- runners ------------------------------------------------------------------------ */

static const char *runner_models[] = {"mobilenet_v1_0.25_128_quant.tflite",
                                      "mobilenet_v1_0.25_224.tflite"};

/* Resolutions 31 and 513 are refused with MN_ERR_ARGUMENT; 32 and 512 run,
 * for a uint8 and a float model. */
START_TEST(test_runner_resolution_limits) {
  char path[PATH_SIZE], err[MN_ERROR_MAX];
  model_path(runner_models[_i], path, sizeof path);
  mn_model *m = NULL;
  ck_assert_msg(mn_model_load(path, &m, err) == MN_OK, "%s", err);
  const int bad[] = {31, 513, 0, -224};
  for (int i = 0; i < COUNT(bad); i++) {
    mn_runner *r = (mn_runner *)&r;
    err[0] = '\0';
    ck_assert_int_eq(mn_runner_create(m, bad[i], 1, &r, err), MN_ERR_ARGUMENT);
    ck_assert_ptr_null(r);
    ck_assert_msg(err[0] != '\0', "resolution %d refused without a message", bad[i]);
  }
  mn_runner *r = NULL;
  ck_assert_int_eq(mn_runner_create(m, 224, 257, &r, err), MN_ERR_ARGUMENT);
  const int good[] = {MN_MIN_RESOLUTION, MN_MAX_RESOLUTION};
  for (int i = 0; i < COUNT(good); i++) {
    err[0] = '\0';
    ck_assert_msg(mn_runner_create(m, good[i], 2, &r, err) == MN_OK, "%s at %d: %s",
                  runner_models[_i], good[i], err);
    ck_assert_int_eq(mn_runner_resolution(r), good[i]);
    ck_assert_ptr_eq(mn_runner_model(r), m);
    uint8_t *img = random_image(good[i], 99);
    mn_result top[5];
    int n = mn_runner_classify_preprocessed(r, img, 5, top, err);
    ck_assert_msg(n == 5, "%s at %d: classify returned %d (%s)", runner_models[_i], good[i], n,
                  err);
    for (int k = 0; k < n; k++) {
      ck_assert_int_ge(top[k].class_index, 0);
      ck_assert_int_lt(top[k].class_index, 1000);
      ck_assert(top[k].score >= 0.0f && top[k].score <= 1.0f);
      if (k) ck_assert(top[k].score <= top[k - 1].score);
    }
    int count;
    const float *s = mn_runner_scores(r, &count);
    double sum = 0.0;
    for (int k = 0; k < count; k++) sum += s[k];
    /* float: sums to 1; uint8: each probability is rounded to 1/256, so the
     * sum may be off by up to count / 512 (a flat output rounds to ~0). */
    const double slack = mn_model_dtype(m) == MN_DTYPE_F32 ? 1e-3 : count / 512.0;
    ck_assert_msg(sum > 0.0 && fabs(sum - 1.0) <= slack, "%s at %d: probabilities sum to %g",
                  runner_models[_i], good[i], sum);
    /* The image path too: a 50x70 BGRX picture. */
    uint8_t *pic = xmalloc(70 * 50 * 4);
    memset(pic, 90, 70 * 50 * 4);
    mn_image im = {pic, 50, 70, 50 * 4, MN_PIXEL_BGRX};
    ck_assert_int_eq(mn_runner_classify(r, &im, 3, top, err), 3);
    im.width = 0;
    ck_assert_int_lt(mn_runner_classify(r, &im, 3, top, err), 0);
    free(pic);
    free(img);
    mn_runner_free(r);
  }
  mn_model_free(m);
}
END_TEST

/* Classifying the same image twice gives identical scores; another image in
 * between leaves no trace. */
START_TEST(test_runner_reuse) {
  char path[PATH_SIZE], err[MN_ERROR_MAX];
  model_path(runner_models[_i], path, sizeof path);
  mn_model *m = NULL;
  ck_assert_msg(mn_model_load(path, &m, err) == MN_OK, "%s", err);
  mn_runner *r = NULL;
  ck_assert_int_eq(mn_runner_create(m, 96, 2, &r, err), MN_OK);
  const int classes = mn_model_num_classes(m);
  float *first = xmalloc(sizeof(float) * classes);
  uint8_t *a = random_image(96, 1), *b = random_image(96, 2);
  mn_result top1[5], top2[5];
  ck_assert_int_eq(mn_runner_classify_preprocessed(r, a, 5, top1, err), 5);
  memcpy(first, mn_runner_scores(r, NULL), sizeof(float) * classes);
  ck_assert_int_eq(mn_runner_classify_preprocessed(r, a, 5, top2, err), 5);
  ck_assert_msg(memcmp(first, mn_runner_scores(r, NULL), sizeof(float) * classes) == 0,
                "%s: the same image twice gives different scores", runner_models[_i]);
  ck_assert_int_eq(mn_runner_classify_preprocessed(r, b, 5, top2, err), 5);
  ck_assert_int_eq(mn_runner_classify_preprocessed(r, a, 5, top2, err), 5);
  ck_assert_msg(memcmp(first, mn_runner_scores(r, NULL), sizeof(float) * classes) == 0,
                "%s: scores change after another image", runner_models[_i]);
  for (int k = 0; k < 5; k++) ck_assert_int_eq(top1[k].class_index, top2[k].class_index);
  /* Thread count changes the split, not the result. */
  ck_assert_int_eq(mn_runner_set_threads(r, 1, err), MN_OK);
  ck_assert_int_eq(mn_runner_threads(r), 1);
  ck_assert_int_eq(mn_runner_classify_preprocessed(r, a, 5, top2, err), 5);
  ck_assert_msg(memcmp(first, mn_runner_scores(r, NULL), sizeof(float) * classes) == 0,
                "%s: 1 thread and 2 threads give different scores", runner_models[_i]);
  ck_assert_int_eq(mn_runner_set_threads(r, 3, err), MN_OK); /* uneven splits, more bands */
  ck_assert_int_eq(mn_runner_classify_preprocessed(r, a, 5, top2, err), 5);
  ck_assert_msg(memcmp(first, mn_runner_scores(r, NULL), sizeof(float) * classes) == 0,
                "%s: 3 threads and 2 threads give different scores", runner_models[_i]);
  /* Depthwise + pointwise pairs in bands or layer by layer: the same floats. */
  mn_runner *plain = NULL;
  setenv("MOBILENET_NO_BANDS", "1", 1);
  ck_assert_int_eq(mn_runner_create(m, 96, 2, &plain, err), MN_OK);
  unsetenv("MOBILENET_NO_BANDS");
  ck_assert_int_eq(mn_runner_classify_preprocessed(plain, a, 5, top2, err), 5);
  ck_assert_msg(memcmp(first, mn_runner_scores(plain, NULL), sizeof(float) * classes) == 0,
                "%s: bands change the scores", runner_models[_i]);
  mn_runner_free(plain);
  free(a), free(b), free(first);
  mn_runner_free(r);
  mn_model_free(m);
}
END_TEST

/* Two runners on one model, in two threads at once. */
enum { CONC_RUNS = 6 };
typedef struct {
  const mn_model *model;
  uint64_t seed;
  int classes;
  float *scores; /* CONC_RUNS x classes */
  int rc;
  char err[MN_ERROR_MAX];
} conc_job;

static void *conc_thread(void *arg) {
  conc_job *j = arg;
  mn_runner *r = NULL;
  j->rc = mn_runner_create(j->model, 80, 2, &r, j->err);
  if (j->rc != MN_OK) return NULL;
  mn_result top[5];
  for (int i = 0; i < CONC_RUNS && j->rc == 0; i++) {
    uint8_t *img = random_image(80, j->seed + (uint64_t)i);
    if (mn_runner_classify_preprocessed(r, img, 5, top, j->err) != 5) j->rc = -1;
    memcpy(j->scores + (size_t)i * j->classes, mn_runner_scores(r, NULL),
           sizeof(float) * j->classes);
    free(img);
  }
  mn_runner_free(r);
  return NULL;
}

START_TEST(test_runner_concurrent) {
  char path[PATH_SIZE], err[MN_ERROR_MAX];
  model_path(runner_models[_i], path, sizeof path);
  mn_model *m = NULL;
  ck_assert_msg(mn_model_load(path, &m, err) == MN_OK, "%s", err);
  const int classes = mn_model_num_classes(m);
  conc_job seq[2], par[2];
  for (int t = 0; t < 2; t++) {
    seq[t] = (conc_job){m, 100 + 10 * (uint64_t)t, classes, NULL, 0, ""};
    seq[t].scores = xmalloc(sizeof(float) * CONC_RUNS * classes);
    par[t] = seq[t];
    par[t].scores = xmalloc(sizeof(float) * CONC_RUNS * classes);
    conc_thread(&seq[t]); /* sequential, in this thread */
    ck_assert_msg(seq[t].rc == 0, "sequential run %d: %s", t, seq[t].err);
  }
  pthread_t th[2];
  for (int t = 0; t < 2; t++)
    ck_assert_int_eq(pthread_create(&th[t], NULL, conc_thread, &par[t]), 0);
  for (int t = 0; t < 2; t++) ck_assert_int_eq(pthread_join(th[t], NULL), 0);
  for (int t = 0; t < 2; t++) {
    ck_assert_msg(par[t].rc == 0, "concurrent run %d: %s", t, par[t].err);
    ck_assert_msg(memcmp(seq[t].scores, par[t].scores, sizeof(float) * CONC_RUNS * classes) == 0,
                  "%s: runner %d gives other scores when another runs at the same time",
                  runner_models[_i], t);
    free(seq[t].scores), free(par[t].scores);
  }
  mn_model_free(m);
}
END_TEST

/* ---- main ------------------------------------------------------------------------------ */

static int run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed;
}

static void remove_temp_dir(void) {
  DIR *d = opendir(temp_dir);
  if (d) {
    struct dirent *e;
    char p[PATH_SIZE];
    while ((e = readdir(d)) != NULL)
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
        snprintf(p, sizeof p, "%s/%s", temp_dir, e->d_name);
        unlink(p);
      }
    closedir(d);
  }
  rmdir(temp_dir);
}

int main(void) {
  snprintf(temp_dir, sizeof temp_dir, "/tmp/mn-test-model-XXXXXX"); /* see temp_path */
  if (!mkdtemp(temp_dir)) {
    perror("mkdtemp /tmp/mn-test-model-XXXXXX");
    return EXIT_FAILURE;
  }
  const char *shared = getenv("MOBILENET_SHARED");
  const int from_env = shared && *shared;
  if (!from_env) shared = MN_DEFAULT_SHARED;
  snprintf(models_dir, sizeof models_dir, "%s/models", shared);

  Suite *basic = suite_create("model (no model files)");
  TCase *tb = tcase_create("errors");
  /* Per test: a hang fails the test (well within meson's 300 s for the program). */
  tcase_set_timeout(tb, 120);
  tcase_add_test(tb, test_alpha_list);
  tcase_add_test(tb, test_missing_file);
  tcase_add_test(tb, test_directory);
  tcase_add_test(tb, test_garbage);
  suite_add_tcase(basic, tb);
  int failed = run_suite(basic);

  struct stat st;
  char probe[PATH_SIZE];
  model_path(fuzz_model, probe, sizeof probe);
  if (stat(models_dir, &st) != 0 || !S_ISDIR(st.st_mode) || stat(probe, &st) != 0) {
    printf(
        "SKIP: the model tests need $MOBILENET_SHARED/models; looked in %s (%s) and found "
        "no %s there. Set MOBILENET_SHARED to the folder that holds models/.\n",
        models_dir, from_env ? "from MOBILENET_SHARED" : "MOBILENET_SHARED unset, built-in default",
        fuzz_model);
    remove_temp_dir();
    return failed ? EXIT_FAILURE : 77;
  }
  printf("models: %s\n", models_dir);

  Suite *s = suite_create("model");
  TCase *tl = tcase_create("load");
  tcase_set_timeout(tl, 120);
  tcase_add_test(tl, test_load_all_v1);
  tcase_add_test(tl, test_load_all_v2_v3);
  tcase_add_test(tl, test_layers_1_0_224);
  tcase_add_test(tl, test_layers_0_25_128);
  tcase_add_test(tl, test_layers_v2_v3);
  suite_add_tcase(s, tl);
  TCase *tr = tcase_create("robustness");
  tcase_set_timeout(tr, 120);
  tcase_add_test(tr, test_truncated);
  tcase_add_test(tr, test_byte_flips);
  tcase_add_test(tr, test_huge_vector_lengths);
  tcase_add_test(tr, test_crafted_dims_overflow);
  tcase_add_test(tr, test_crafted_softmax_shape);
  suite_add_tcase(s, tr);
  TCase *tn = tcase_create("runner");
  tcase_set_timeout(tn, 120);
  tcase_add_loop_test(tn, test_runner_resolution_limits, 0, COUNT(runner_models));
  tcase_add_loop_test(tn, test_runner_reuse, 0, COUNT(runner_models));
  tcase_add_loop_test(tn, test_runner_concurrent, 0, COUNT(runner_models));
  suite_add_tcase(s, tn);
  failed += run_suite(s);
  remove_temp_dir();
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
