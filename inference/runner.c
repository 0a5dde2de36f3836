/* runner.c: runs a model at one resolution.
 *
 * All buffers are sized once when the runner is created; an inference
 * allocates nothing. The whole network runs in one OpenMP parallel region:
 * every layer splits its work by thread index and a barrier separates the
 * layers (no fork/join per layer).
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

struct mn_runner {
  const mn_model *model;
  int size, threads;
  mn_layer_shape *shapes;
  uint8_t *rgb;      /* preprocessed input, size x size x 3 */
  void *act[2];      /* ping-pong activations */
  float *in_f32;     /* uint8 first layer run in float: its input minus the zero point */
  /* Depthwise + pointwise pairs run band by band (see run_dw_pw_bands):
   * band_rows[i] > 0 for a depthwise layer i fused with layer i + 1; each
   * thread has band_bytes of its own for the depthwise output of a band. */
  int *band_rows;
  size_t band_bytes;
  void *bands;
  int band_threads; /* threads bands was sized for */
  float *scores;     /* probabilities of the last run */
  double *layer_ms;  /* per-layer time of the last run */
};

static void *aligned_buffer(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
  memset(p, 0, bytes ? bytes : 64);
  return p;
}

void mn_runner_free(mn_runner *r) {
  if (!r) return;
  free(r->shapes);
  free(r->rgb);
  free(r->act[0]);
  free(r->act[1]);
  free(r->in_f32);
  free(r->band_rows);
  free(r->bands);
  free(r->scores);
  free(r->layer_ms);
  free(r);
}

static int default_threads(void) {
  int n = omp_get_num_procs();
  return n > 0 ? n : 1;
}

/* ---- depthwise + pointwise in bands -----------------------------------------
 * A depthwise layer's output is read once, by the pointwise layer after it.
 * Run together over bands of rows, that output lives only in a band buffer
 * of ~BAND_BYTES that stays in the core's cache, instead of going out to L2 /
 * L3 and back (3.2 MB per layer at 1.0/224 f32), and the pair needs one
 * barrier instead of two. */
enum {
  BAND_BYTES = 48 * 1024,
  /* Every band streams all of the pointwise weights, so only pairs whose
   * weights are small take bands. Measured on this machine (Zen 5, 1 MB L2):
   * one thread runs as fast with or without bands (1.0/224 f32 and u8), the
   * layers being compute-bound, but with two threads the pairs save a barrier
   * each: 0.25/128 f32 0.093 -> 0.091 ms, u8 0.082 -> 0.079 ms (0.148 ->
   * 0.129 and 0.117 -> 0.105 when this VM's two cores exchange data slowly);
   * with all pairs banded, 1.0/224 f32 lost 9 % (1 MB of weights streamed per
   * band). BENCHMARKS.md has the table. */
  BAND_WEIGHTS_MAX = 64 * 1024
};

static int plan_bands(mn_runner *r) {
  const mn_model *m = r->model;
  const size_t elem = m->dtype == MN_DTYPE_F32 ? sizeof(float) : 1;
  r->band_rows = calloc((size_t)m->n_layers, sizeof *r->band_rows);
  if (!r->band_rows) return -1;
  r->band_bytes = 0;
  if (getenv("MOBILENET_NO_BANDS")) return 0; /* for comparisons: layer by layer */
  for (int i = 0; i + 1 < m->n_layers; i++) {
    const mn_layer *D = &m->layers[i], *P = &m->layers[i + 1];
    if (D->kind != MN_LAYER_DWCONV || P->kind != MN_LAYER_CONV1X1 || P->fully_connected) continue;
    if ((size_t)P->in_c * P->out_c * elem > BAND_WEIGHTS_MAX) continue;
    const mn_layer_shape *s = &r->shapes[i];
    const size_t row = (size_t)s->out_w * s->out_c * elem;
    int rows = (int)(BAND_BYTES / row);
    const int min_rows = (32 + s->out_w - 1) / s->out_w; /* >= 32 pixels for the GEMM tiles */
    rows = rows < min_rows ? min_rows : rows;
    rows = rows < 1 ? 1 : rows > s->out_h ? s->out_h : rows;
    r->band_rows[i] = rows;
    if ((size_t)rows * row > r->band_bytes) r->band_bytes = (size_t)rows * row;
  }
  r->band_bytes = (r->band_bytes + 63) / 64 * 64;
  return 0;
}

/* Band buffers for the current thread count: 0 when the bands can run, -1
 * when none were planned (MOBILENET_NO_BANDS, or no pair qualifies) or
 * memory ran out; the pairs then run layer by layer. */
static int ensure_bands(mn_runner *r) {
  if (!r->band_bytes || r->band_threads >= r->threads) return r->band_bytes ? 0 : -1;
  free(r->bands);
  r->bands = aligned_buffer(r->band_bytes * (size_t)r->threads);
  r->band_threads = r->bands ? r->threads : 0;
  return r->bands ? 0 : -1;
}

mn_status mn_runner_create(const mn_model *m, int size, int threads, mn_runner **out,
                           char err[MN_ERROR_MAX]) {
  *out = NULL;
  if (size < MN_MIN_RESOLUTION || size > MN_MAX_RESOLUTION) {
    snprintf(err, MN_ERROR_MAX, "resolution %d out of range (%d..%d)", size, MN_MIN_RESOLUTION,
             MN_MAX_RESOLUTION);
    return MN_ERR_ARGUMENT;
  }
  if (threads > 256) {
    snprintf(err, MN_ERROR_MAX, "threads %d out of range (1..256)", threads);
    return MN_ERR_ARGUMENT;
  }
  mn_runner *r = calloc(1, sizeof *r);
  if (!r) goto oom;
  r->model = m;
  r->size = size;
  r->threads = threads > 0 ? threads : default_threads();
  r->shapes = calloc((size_t)m->n_layers, sizeof *r->shapes);
  r->layer_ms = calloc((size_t)m->n_layers, sizeof *r->layer_ms);
  if (!r->shapes || !r->layer_ms) goto oom;
  if (mn_plan_shapes(m, size, r->shapes, err, MN_ERROR_MAX) != 0) {
    mn_runner_free(r);
    return MN_ERR_ARGUMENT;
  }
  size_t most = (size_t)size * size * 3;
  for (int i = 0; i < m->n_layers; i++) {
    size_t n = (size_t)r->shapes[i].out_h * r->shapes[i].out_w * r->shapes[i].out_c;
    if (n > most) most = n;
  }
  const size_t elem = m->dtype == MN_DTYPE_F32 ? sizeof(float) : 1;
  r->rgb = aligned_buffer((size_t)size * size * 3);
  r->act[0] = aligned_buffer(most * elem + 64);
  r->act[1] = aligned_buffer(most * elem + 64);
  r->scores = calloc((size_t)m->classes, sizeof *r->scores);
  if (!r->rgb || !r->act[0] || !r->act[1] || !r->scores) goto oom;
  size_t f32_in = 0; /* uint8 layers on the float direct convolution */
  for (int i = 0; i < m->n_layers; i++)
    if (m->dtype == MN_DTYPE_U8 && m->layers[i].kind == MN_LAYER_CONV && m->layers[i].conv1p) {
      size_t n = (size_t)r->shapes[i].in_h * r->shapes[i].in_w * r->shapes[i].in_c;
      f32_in = n > f32_in ? n : f32_in;
    }
  if (f32_in && !(r->in_f32 = aligned_buffer(f32_in * sizeof(float) + 64))) goto oom;
  if (plan_bands(r) != 0) goto oom;
  *out = r;
  return MN_OK;
oom:
  mn_runner_free(r);
  snprintf(err, MN_ERROR_MAX, "out of memory for a runner at %dx%d", size, size);
  return MN_ERR_MEMORY;
}

int mn_runner_resolution(const mn_runner *r) { return r->size; }
int mn_runner_threads(const mn_runner *r) { return r->threads; }
const mn_model *mn_runner_model(const mn_runner *r) { return r->model; }

mn_status mn_runner_set_threads(mn_runner *r, int threads, char err[MN_ERROR_MAX]) {
  if (threads > 256) {
    snprintf(err, MN_ERROR_MAX, "threads %d out of range (1..256)", threads);
    return MN_ERR_ARGUMENT;
  }
  r->threads = threads > 0 ? threads : default_threads();
  return MN_OK;
}

static void split(int n, int ith, int nth, int *a, int *b) {
  *a = (int)((long long)n * ith / nth);
  *b = (int)((long long)n * (ith + 1) / nth);
}

static mn_conv_geom geometry(const mn_layer *L, const mn_layer_shape *s) {
  mn_conv_geom g = {s->in_h, s->in_w, s->in_c, s->out_h, s->out_w, s->out_c,
                    L->kh,   L->kw,   L->stride, s->pad_top, s->pad_left};
  return g;
}

/* Depthwise layer i and pointwise layer i + 1 over thread ith's output rows,
 * a band at a time: the depthwise rows go to the thread's band buffer (the
 * same convolution with the padding moved by the band's first row), and the
 * GEMM turns them into the pointwise rows. Adds thread 0's time of each to
 * ms[0] and ms[1]. */
static void run_dw_pw_bands(const mn_runner *r, int i, const void *in, void *out, int ith,
                            int nth, double ms[2]) {
  const mn_model *m = r->model;
  const mn_kernels *k = m->kernels;
  const mn_layer *D = &m->layers[i], *P = &m->layers[i + 1];
  const mn_layer_shape *s = &r->shapes[i];
  const mn_conv_geom g = geometry(D, s);
  const int W = s->out_w, C = s->out_c, N = P->out_c, rows = r->band_rows[i];
  void *band = (char *)r->bands + r->band_bytes * (size_t)ith;
  int a, b;
  split(s->out_h, ith, nth, &a, &b);
  for (int y0 = a; y0 < b; y0 += rows) {
    const int n = b - y0 < rows ? b - y0 : rows;
    mn_conv_geom part = g;
    part.out_h = n;
    part.pad_top = g.pad_top - y0 * g.stride;
    const double t0 = ith == 0 ? omp_get_wtime() : 0.0;
    if (m->dtype == MN_DTYPE_F32)
      k->f32_dwconv(&part, in, D->w, band, D->act_min, D->act_max, 0, n);
    else
      k->u8_dwconv(&part, in, D->wq, band, &D->rq, 0, n);
    const double t1 = ith == 0 ? omp_get_wtime() : 0.0;
    if (m->dtype == MN_DTYPE_F32)
      mn_f32_gemm_run(P->gemm, n * W, N, C, band, (size_t)C, P->w,
                      (float *)out + (size_t)y0 * W * N, (size_t)N, P->act_min, P->act_max, 0, 1);
    else
      mn_u8_gemm_run(&k->u8_gemm, n * W, N, C, band, (size_t)C, P->wq,
                     (uint8_t *)out + (size_t)y0 * W * N, (size_t)N, &P->rq, 0, 1);
    if (ith == 0) {
      const double t2 = omp_get_wtime();
      ms[0] += (t1 - t0) * 1e3, ms[1] += (t2 - t1) * 1e3;
    }
  }
}

/* One layer's share of work for thread ith of nth. */
static void run_layer_f32(const mn_model *m, const mn_layer *L, const mn_layer_shape *s,
                          const float *in, float *out, int ith, int nth) {
  const mn_kernels *k = m->kernels;
  mn_conv_geom g = geometry(L, s);
  int a, b;
  switch (L->kind) {
    case MN_LAYER_CONV:
      split(s->out_h, ith, nth, &a, &b);
      if (L->conv1p) /* few input channels, one panel: no im2col */
        L->conv1p(&g, in, L->w, out, L->act_min, L->act_max, a, b);
      else
        mn_f32_conv_gemm(L->gemm, &g, in, L->w, out, L->act_min, L->act_max, a, b);
      break;
    case MN_LAYER_DWCONV:
      split(s->out_h, ith, nth, &a, &b);
      k->f32_dwconv(&g, in, L->w, out, L->act_min, L->act_max, a, b);
      break;
    case MN_LAYER_CONV1X1:
      mn_f32_gemm_run(L->gemm, s->out_h * s->out_w, L->out_c, L->in_c, in,
                      (size_t)L->in_c, L->w, out, (size_t)L->out_c, L->act_min, L->act_max,
                      ith, nth);
      break;
    case MN_LAYER_AVGPOOL:
      split(s->in_c, ith, nth, &a, &b);
      mn_f32_avgpool(in, s->in_h * s->in_w, s->in_c, out, L->act_min, L->act_max, a, b);
      break;
    case MN_LAYER_SOFTMAX:
      if (ith == 0) k->f32_softmax(in, L->in_c, L->beta, out);
      break;
    case MN_LAYER_RESHAPE:
      break;
  }
}

static void run_layer_u8(const mn_model *m, const mn_layer *L, const mn_layer_shape *s,
                         const uint8_t *in, uint8_t *out, float *in_f32, int ith, int nth) {
  const mn_kernels *k = m->kernels;
  mn_conv_geom g = geometry(L, s);
  int a, b;
  switch (L->kind) {
    case MN_LAYER_CONV:
      if (L->conv1p) {
        split(s->in_h * s->in_w * s->in_c, ith, nth, &a, &b);
        k->f32_from_u8_minus(in + a, (size_t)(b - a), L->rq.in_zp, in_f32 + a);
#pragma omp barrier
        split(s->out_h, ith, nth, &a, &b);
        mn_u8_conv_direct_f32(k, L->conv1p, L->w, &g, in_f32, &L->rq, out, a, b);
      } else {
        split(s->out_h, ith, nth, &a, &b);
        mn_u8_conv_gemm(&k->u8_gemm, &g, in, L->wq, out, &L->rq, a, b);
      }
      break;
    case MN_LAYER_DWCONV:
      split(s->out_h, ith, nth, &a, &b);
      k->u8_dwconv(&g, in, L->wq, out, &L->rq, a, b);
      break;
    case MN_LAYER_CONV1X1:
      mn_u8_gemm_run(&k->u8_gemm, s->out_h * s->out_w, L->out_c, L->in_c, in, (size_t)L->in_c, L->wq, out,
                     (size_t)L->out_c, &L->rq, ith, nth);
      break;
    case MN_LAYER_AVGPOOL:
      split(s->in_c, ith, nth, &a, &b);
      mn_u8_avgpool(in, s->in_h * s->in_w, s->in_c, out, L->rq.qmin, L->rq.qmax, a, b);
      break;
    case MN_LAYER_SOFTMAX:
      if (ith == 0)
        mn_u8_softmax(in, L->in_c, L->beta, L->in_scale, L->out_scale, L->out_zp, out);
      break;
    case MN_LAYER_RESHAPE:
      break;
  }
}

/* Runs the network on r->rgb and fills r->scores. */
static void run_network(mn_runner *r) {
  const mn_model *m = r->model;
  const int pixels = r->size * r->size * 3;
  if (m->dtype != MN_DTYPE_F32)
    memcpy(r->act[0], r->rgb, (size_t)pixels); /* uint8 models take the raw bytes */
  int final_buf = 0;
  const int bands = ensure_bands(r) == 0;
#pragma omp parallel num_threads(r->threads)
  {
    const int ith = omp_get_thread_num(), nth = omp_get_num_threads();
    int cur = 0;
    if (m->dtype == MN_DTYPE_F32) { /* float models take [-1, 1] */
      int a, b;
      split(pixels, ith, nth, &a, &b);
      m->kernels->f32_from_u8(r->rgb + a, (size_t)(b - a), (float *)r->act[0] + a);
#pragma omp barrier
    }
    double t0 = omp_get_wtime();
    for (int i = 0; i < m->n_layers; i++) {
      const mn_layer *L = &m->layers[i];
      if (L->kind == MN_LAYER_RESHAPE) {
        if (ith == 0) r->layer_ms[i] = 0.0;
        continue; /* same data, same buffer */
      }
      if (bands && r->band_rows[i]) { /* this depthwise layer and the pointwise one after it */
        double ms[2] = {0.0, 0.0};
        run_dw_pw_bands(r, i, r->act[cur], r->act[cur ^ 1], ith, nth, ms);
        cur ^= 1;
#pragma omp barrier
        if (ith == 0) {
          const double t1 = omp_get_wtime();
          /* the barrier's wait goes to the pointwise layer */
          r->layer_ms[i] = ms[0];
          r->layer_ms[i + 1] = (t1 - t0) * 1e3 - ms[0];
          t0 = t1;
        }
        i++;
        continue;
      }
      if (m->dtype == MN_DTYPE_F32)
        run_layer_f32(m, L, &r->shapes[i], r->act[cur], r->act[cur ^ 1], ith, nth);
      else
        run_layer_u8(m, L, &r->shapes[i], r->act[cur], r->act[cur ^ 1], r->in_f32, ith, nth);
      cur ^= 1;
#pragma omp barrier
      if (ith == 0) {
        double t1 = omp_get_wtime();
        r->layer_ms[i] = (t1 - t0) * 1e3;
        t0 = t1;
      }
    }
    if (ith == 0) final_buf = cur;
  }
  if (m->dtype == MN_DTYPE_F32) {
    memcpy(r->scores, r->act[final_buf], (size_t)m->classes * sizeof(float));
  } else {
    const uint8_t *q = r->act[final_buf];
    for (int i = 0; i < m->classes; i++)
      r->scores[i] = m->out_scale * (float)((int32_t)q[i] - m->out_zp);
  }
}

/* Short label: the first name of the class description. */
static void short_label(const mn_model *m, int class_index, char *out) {
  const char *full = mn_model_class_label(m, class_index);
  if (!full) {
    snprintf(out, MN_LABEL_MAX, "class %d", class_index);
    return;
  }
  size_t n = strcspn(full, ",");
  if (n >= MN_LABEL_MAX) n = MN_LABEL_MAX - 1;
  memcpy(out, full, n);
  out[n] = '\0';
}

static int finish(mn_runner *r, int k, mn_result *top) {
  int classes[64];
  float scores[64];
  if (k > 64) k = 64;
  int n = mn_topk(r->scores, r->model->classes, k, classes, scores);
  for (int i = 0; i < n; i++) {
    top[i].class_index = classes[i];
    top[i].score = scores[i];
    short_label(r->model, classes[i], top[i].label);
  }
  return n;
}

int mn_runner_classify_preprocessed(mn_runner *r, const uint8_t *rgb, int k, mn_result *top,
                                    char err[MN_ERROR_MAX]) {
  if (!rgb || k < 0 || (k > 0 && !top)) {
    snprintf(err, MN_ERROR_MAX, "mn_runner_classify: bad arguments");
    return -MN_ERR_ARGUMENT;
  }
  if (rgb != r->rgb) memcpy(r->rgb, rgb, (size_t)r->size * r->size * 3);
  run_network(r);
  return finish(r, k, top);
}

int mn_runner_classify(mn_runner *r, const mn_image *image, int k, mn_result *top,
                       char err[MN_ERROR_MAX]) {
  if (k < 0 || (k > 0 && !top)) {
    snprintf(err, MN_ERROR_MAX, "mn_runner_classify: bad arguments");
    return -MN_ERR_ARGUMENT;
  }
  mn_status st = mn_preprocess(image, r->size, r->rgb, err);
  if (st != MN_OK) return -(int)st;
  run_network(r);
  return finish(r, k, top);
}

const float *mn_runner_scores(const mn_runner *r, int *count) {
  if (count) *count = r->model->classes;
  return r->scores;
}

int mn_runner_layer_times(const mn_runner *r, double *ms, int max) {
  for (int i = 0; i < r->model->n_layers && i < max; i++) ms[i] = r->layer_ms[i];
  return r->model->n_layers;
}
