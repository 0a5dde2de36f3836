/* test_graph.c: the graph engine on tiny graphs written by tests/tflite_writer.c,
 * with no downloaded model.
 *
 * Every operator family, dtype (float32; uint8 in both arithmetics; int8 with
 * per-channel weights) and fusion (depthwise + pointwise bands, chains of
 * 8-bit tables, residual ADD, squeeze-excite MUL) runs on odd channel
 * counts, maps of width 1 to 3 and larger, strides 1 and 2, at every
 * instruction-set level and with 1 and 3 threads, and is compared with a
 * plain reference computed here (the kernels' _ref functions for the
 * convolutions: 8-bit results identical; float within 2e-5 relative;
 * elementwise 8-bit operators within one output step of the real-valued
 * result, and identical at every level). Crafted bad graphs are refused with
 * a message naming the operator, its type and the tensor.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "kernels/kernels.h"
#include "ops/ops.h"
#include "tflite.h"
#include "tflite_writer.h"

/* ---- random numbers ----------------------------------------------------------- */

static uint64_t rng_state = 12345;
static uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static float rnd(float lo, float hi) { return lo + (hi - lo) * (float)((rng_next() >> 11) * 0x1p-53); }
static int rnd_int(int lo, int hi) { return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1)); }

/* ---- the test graph: TFLite tensors and their reference values together ------- */

typedef enum { KIND_F32, KIND_U8, KIND_I8 } graph_kind;

#define MAX_VALUES 32
#define MAX_SIZES 4

/* A value at each of the run's input sizes. */
typedef struct {
  int tensor;
  int h[MAX_SIZES], w[MAX_SIZES], c;
  float *f[MAX_SIZES];   /* float32 graphs */
  uint8_t *q[MAX_SIZES]; /* 8-bit graphs, uint8 domain */
  float scale;
  int32_t zp;            /* uint8 domain */
  int lsb;               /* 8-bit: steps the engine may differ by (0: exact) */
} tval;

typedef struct {
  graph_kind kind;
  mn_arithmetic arith;
  tw_graph *g;
  int n_sizes, sizes[MAX_SIZES];
  uint8_t *rgb[MAX_SIZES];
  tval v[MAX_VALUES];
  int n_v;
} tgraph;

static int q8(const tgraph *t) { return t->kind != KIND_F32; }
static int file_type(const tgraph *t) {
  return t->kind == KIND_F32 ? TFL_FLOAT32 : t->kind == KIND_U8 ? TFL_UINT8 : TFL_INT8;
}

static tval *new_val(tgraph *t, int c) {
  tval *v = &t->v[t->n_v++];
  memset(v, 0, sizeof *v);
  v->c = c;
  return v;
}

static void alloc_val(const tgraph *t, tval *v, int s, int h, int w) {
  v->h[s] = h, v->w[s] = w;
  const size_t n = (size_t)h * w * v->c;
  if (q8(t)) v->q[s] = calloc(n ? n : 1, 1);
  else v->f[s] = calloc(n ? n : 1, sizeof(float));
}

/* An activation tensor of the graph's type, declared at the first size. */
static int act_tensor(tgraph *t, const tval *v, int rank) {
  int shape4[4] = {1, v->h[0], v->w[0], v->c}, shape2[2] = {1, v->c};
  tw_quant q = {1, &v->scale, NULL, 0};
  int64_t zp = t->kind == KIND_I8 ? v->zp - 128 : v->zp;
  q.zero_points = &zp;
  return tw_tensor(t->g, file_type(t), rank, rank == 2 ? shape2 : shape4, NULL, 0,
                   q8(t) ? &q : NULL);
}

static void tgraph_init(tgraph *t, graph_kind kind, mn_arithmetic arith, int n_sizes,
                        const int *sizes) {
  memset(t, 0, sizeof *t);
  t->kind = kind, t->arith = arith, t->g = tw_new();
  t->n_sizes = n_sizes;
  for (int s = 0; s < n_sizes; s++) {
    t->sizes[s] = sizes[s];
    const size_t n = (size_t)sizes[s] * sizes[s] * 3;
    t->rgb[s] = malloc(n);
    for (size_t i = 0; i < n; i++) t->rgb[s][i] = (uint8_t)rng_next();
  }
}

static void tgraph_free(tgraph *t) {
  for (int i = 0; i < t->n_v; i++)
    for (int s = 0; s < MAX_SIZES; s++) free(t->v[i].f[s]), free(t->v[i].q[s]);
  for (int s = 0; s < t->n_sizes; s++) free(t->rgb[s]);
  tw_free(t->g);
}

/* The image input: float (v - 127.5) / 127.5, or the bytes (scale 1/128, zp 128). */
static tval *tg_input(tgraph *t) {
  tval *v = new_val(t, 3);
  v->scale = 1.0f / 128.0f, v->zp = 128;
  for (int s = 0; s < t->n_sizes; s++) {
    alloc_val(t, v, s, t->sizes[s], t->sizes[s]);
    const size_t n = (size_t)t->sizes[s] * t->sizes[s] * 3;
    for (size_t i = 0; i < n; i++) {
      if (q8(t)) v->q[s][i] = t->rgb[s][i];
      else v->f[s][i] = (float)((t->rgb[s][i] - 127.5) / 127.5);
    }
  }
  v->tensor = act_tensor(t, v, 4);
  return v;
}

/* Quantization of an output from the real values it takes: a range that
 * holds them (from 0 when relu), zero point inside. */
static void choose_quant(tval *v, double lo, double hi, int relu) {
  if (relu) lo = 0;
  if (hi - lo < 1e-3) hi = lo + 1e-3;
  v->scale = (float)((hi - lo) / 255.0);
  v->zp = relu ? 0 : (int32_t)lrint(-lo / v->scale);
  v->zp = v->zp < 0 ? 0 : v->zp > 255 ? 255 : v->zp;
}

static double deq(const tval *v, uint8_t q) { return v->scale * ((int)q - v->zp); }

static uint8_t quant_real(const tval *v, double r, int32_t qmin, int32_t qmax) {
  long q = lrint(r / v->scale) + v->zp;
  return (uint8_t)(q < qmin ? qmin : q > qmax ? qmax : q);
}

/* TFLite's quantized activation range (mn_build_activation). */
static void act_range(const tval *out, int act, int32_t *qmin, int32_t *qmax) {
  *qmin = 0, *qmax = 255;
  if (act == TFL_ACT_RELU || act == TFL_ACT_RELU6) {
    const int32_t q = out->zp + (int32_t)lroundf(0.0f / out->scale);
    *qmin = q > 0 ? q : 0;
  }
  if (act == TFL_ACT_RELU6) {
    const int32_t q = out->zp + (int32_t)lroundf(6.0f / out->scale);
    *qmax = q < 255 ? q : 255;
  }
}

/* ---- convolutions: weights made here, reference from kernels/reference.c ---- */

typedef struct {
  int kh, kw, stride, same, act, depthwise, fc;
} conv_spec;

static tval *tg_conv(tgraph *t, const tval *in, int oc, conv_spec cs) {
  const int ic = in->c, K = cs.depthwise ? 1 : cs.kh * cs.kw * ic;
  const int C = cs.depthwise ? ic : oc;
  tval *v = new_val(t, C);
  const size_t nw = cs.depthwise ? (size_t)cs.kh * cs.kw * C : (size_t)C * K;
  float *wf = malloc(nw * sizeof(float)), *bf = malloc((size_t)C * sizeof(float));
  uint8_t *wq = malloc(nw);
  int8_t *wi = malloc(nw);
  int32_t *bq = malloc((size_t)C * sizeof(int32_t));
  float *wscale = malloc((size_t)C * sizeof(float));
  const float wmag = 1.5f / sqrtf((float)(cs.depthwise ? cs.kh * cs.kw : K));
  for (size_t i = 0; i < nw; i++) wf[i] = rnd(-wmag, wmag);
  for (int c = 0; c < C; c++) bf[c] = rnd(-0.3f, 0.3f);
  int32_t wzp = 0;
  if (t->kind == KIND_U8) {
    const float ws = 2 * wmag / 255.0f;
    wzp = rnd_int(100, 150);
    for (int c = 0; c < C; c++) wscale[c] = ws;
    for (size_t i = 0; i < nw; i++) {
      long q = lrintf(wf[i] / ws) + wzp;
      wq[i] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
    }
  } else if (t->kind == KIND_I8) { /* per channel, symmetric */
    for (int c = 0; c < C; c++) wscale[c] = wmag / 127.0f * rnd(0.5f, 1.5f);
    for (size_t i = 0; i < nw; i++) {
      const int c = cs.depthwise ? (int)(i % (size_t)C) : (int)(i / (size_t)K);
      long q = lrintf(wf[i] / wscale[c]);
      wi[i] = (int8_t)(q < -127 ? -127 : q > 127 ? 127 : q);
      wq[i] = (uint8_t)(wi[i] + 128); /* the engine's uint8 domain */
    }
    wzp = 128;
  }
  if (q8(t))
    for (int c = 0; c < C; c++) bq[c] = (int32_t)lrint(bf[c] / ((double)in->scale * wscale[c]));

  /* output sizes; the real range for the 8-bit output quantization */
  int pad_t[MAX_SIZES], pad_l[MAX_SIZES];
  double lo = 0, hi = 0;
  for (int s = 0; s < t->n_sizes; s++) {
    int oh = 1, ow = 1;
    if (!cs.fc) {
      oh = mn_conv_out_size(in->h[s], cs.kh, cs.stride, cs.same, &pad_t[s]);
      ow = mn_conv_out_size(in->w[s], cs.kw, cs.stride, cs.same, &pad_l[s]);
    }
    alloc_val(t, v, s, oh, ow);
    if (q8(t) && s == 0) { /* the real accumulators at the first size */
      for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
          for (int o = 0; o < C; o++) {
            double acc = (double)bq[o] * in->scale * wscale[o];
            for (int ky = 0; ky < cs.kh; ky++)
              for (int kx = 0; kx < cs.kw; kx++) {
                const int iy = cs.fc ? 0 : y * cs.stride - pad_t[s] + ky;
                const int ix = cs.fc ? 0 : x * cs.stride - pad_l[s] + kx;
                if (iy < 0 || iy >= in->h[s] || ix < 0 || ix >= in->w[s]) continue;
                for (int i = 0; i < (cs.depthwise ? 1 : ic); i++) {
                  const int ci = cs.depthwise ? o : i;
                  const size_t widx = cs.depthwise ? ((size_t)ky * cs.kw + kx) * C + o
                                                   : (((size_t)o * cs.kh + ky) * cs.kw + kx) * ic + i;
                  acc += deq(in, in->q[s][((size_t)iy * in->w[s] + ix) * ic + ci]) *
                         wscale[o] * ((int)wq[widx] - wzp);
                }
              }
            lo = acc < lo ? acc : lo, hi = acc > hi ? acc : hi;
          }
    }
  }
  if (q8(t)) choose_quant(v, lo, hi, cs.act != TFL_ACT_NONE);
  int32_t qmin, qmax;
  act_range(v, cs.act, &qmin, &qmax);
  const float flo = cs.act == TFL_ACT_NONE ? -INFINITY : 0.0f;
  const float fhi = cs.act == TFL_ACT_RELU6 ? 6.0f : INFINITY;

  /* tensors and the operator */
  int wshape[4], bshape[1] = {C};
  if (cs.fc) wshape[0] = C, wshape[1] = ic;
  else if (cs.depthwise) wshape[0] = 1, wshape[1] = cs.kh, wshape[2] = cs.kw, wshape[3] = C;
  else wshape[0] = C, wshape[1] = cs.kh, wshape[2] = cs.kw, wshape[3] = ic;
  int wt, bt;
  if (!q8(t)) {
    wt = tw_tensor(t->g, TFL_FLOAT32, cs.fc ? 2 : 4, wshape, wf, nw * 4, NULL);
    bt = tw_tensor(t->g, TFL_FLOAT32, 1, bshape, bf, (size_t)C * 4, NULL);
  } else {
    float *bscale = malloc((size_t)C * sizeof *bscale);
    int64_t *wzps = calloc((size_t)C, sizeof *wzps), wz = t->kind == KIND_U8 ? wzp : 0;
    for (int c = 0; c < C; c++) bscale[c] = in->scale * wscale[c];
    tw_quant wqq = {t->kind == KIND_I8 ? C : 1, wscale, t->kind == KIND_I8 ? wzps : &wz,
                    cs.depthwise ? 3 : 0};
    tw_quant bqq = {t->kind == KIND_I8 ? C : 1, bscale, wzps, 0};
    wt = tw_tensor(t->g, t->kind == KIND_I8 ? TFL_INT8 : TFL_UINT8, cs.fc ? 2 : 4, wshape,
                   t->kind == KIND_I8 ? (const void *)wi : (const void *)wq, nw, &wqq);
    bt = tw_tensor(t->g, TFL_INT32, 1, bshape, bq, (size_t)C * 4, &bqq);
    free(bscale), free(wzps);
  }
  v->tensor = act_tensor(t, v, cs.fc ? 2 : 4);
  tw_options o = {.padding = cs.same ? TFL_PAD_SAME : TFL_PAD_VALID, .stride = cs.stride,
                  .activation = cs.act};
  tw_op(t->g, cs.fc ? TFL_OP_FULLY_CONNECTED : cs.depthwise ? TFL_OP_DEPTHWISE_CONV_2D
                                                            : TFL_OP_CONV_2D,
        3, (int[]){in->tensor, wt, bt}, v->tensor, &o);

  /* the reference at every size */
  float *scales = malloc(((size_t)C + 64) * sizeof(float));
  for (int c = 0; c < C + 64; c++) {
    const float p = in->scale * wscale[c % C];
    scales[c] = p / v->scale;
  }
  mn_requant rq = {(double)in->scale * (double)wscale[0] / (double)v->scale, NULL, INT32_MAX,
                   in->zp, wzp, v->zp, qmin, qmax};
  if (t->kind == KIND_I8 || t->arith == MN_ARITH_LITERT) rq.scales = scales;
  for (int s = 0; s < t->n_sizes; s++) {
    mn_conv_geom g = {in->h[s], in->w[s], ic, v->h[s], v->w[s], C, cs.kh, cs.kw, cs.stride,
                      cs.fc ? 0 : pad_t[s], cs.fc ? 0 : pad_l[s]};
    if (cs.fc) {
      if (q8(t)) mn_u8_gemm_ref(1, C, ic, in->q[s], wq, wzp, bq, v->q[s], &rq);
      else mn_f32_gemm_ref(1, C, ic, in->f[s], wf, bf, v->f[s], flo, fhi);
    } else if (cs.depthwise) {
      if (q8(t)) mn_u8_dwconv_ref(&g, in->q[s], wq, wzp, bq, v->q[s], &rq);
      else mn_f32_dwconv_ref(&g, in->f[s], wf, bf, v->f[s], flo, fhi);
    } else {
      if (q8(t)) mn_u8_conv_ref(&g, in->q[s], wq, wzp, bq, v->q[s], &rq);
      else mn_f32_conv_ref(&g, in->f[s], wf, bf, v->f[s], flo, fhi);
    }
  }
  v->lsb = in->lsb ? 255 : 0; /* an inexact input: no exact reference after it */
  free(scales);
  free(wf), free(bf), free(wq), free(wi), free(bq), free(wscale);
  return v;
}

/* ---- elementwise: real-valued references ---------------------------------------- */

typedef enum { EW_ADD, EW_SUB, EW_MUL } ew_kind;

/* a (full) op b (same shape, per channel, or scalar; constant when b_const) */
static tval *tg_binary(tgraph *t, ew_kind k, const tval *a, const tval *b, int b_channels,
                       int b_const, int act) {
  tval *v = new_val(t, a->c);
  const int bc = b ? b->c : b_channels;
  /* a constant operand: per channel (bc == C) or scalar (bc == 1) */
  float cf[4096];
  uint8_t cq[4096];
  float cscale = 0.02f;
  int32_t czp = 100;
  if (b_const) {
    for (int c = 0; c < bc; c++) {
      cf[c] = rnd(-1.0f, 1.0f);
      long q = lrintf(cf[c] / cscale) + czp;
      cq[c] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
      if (q8(t)) cf[c] = cscale * (cq[c] - czp);
    }
  }
  double lo = 0, hi = 0;
  for (int s = 0; s < t->n_sizes; s++) {
    alloc_val(t, v, s, a->h[s], a->w[s]);
    const size_t n = (size_t)a->h[s] * a->w[s] * a->c;
    const size_t nb = b_const ? (size_t)bc : (size_t)b->h[s] * b->w[s] * bc;
    for (size_t i = 0; i < n; i++) {
      const size_t j = nb == n ? i : nb == 1 ? 0 : i % (size_t)a->c;
      double x = q8(t) ? deq(a, a->q[s][i]) : a->f[s][i];
      double y = b_const ? cf[j] : q8(t) ? deq(b, b->q[s][j]) : b->f[s][j];
      double r = k == EW_ADD ? x + y : k == EW_SUB ? x - y : x * y;
      if (act == TFL_ACT_RELU6) r = r < 0 ? 0 : r > 6 ? 6 : r;
      if (q8(t)) {
        if (s == 0) lo = r < lo ? r : lo, hi = r > hi ? r : hi;
        v->f[s] = v->f[s] ? v->f[s] : calloc(n, sizeof(float));
        v->f[s][i] = (float)r; /* the real value, quantized below */
      } else {
        v->f[s][i] = (float)r;
      }
    }
  }
  if (q8(t)) {
    choose_quant(v, lo, hi, act != TFL_ACT_NONE);
    int32_t qmin, qmax;
    act_range(v, act, &qmin, &qmax);
    for (int s = 0; s < t->n_sizes; s++) {
      const size_t n = (size_t)a->h[s] * a->w[s] * a->c;
      for (size_t i = 0; i < n; i++) v->q[s][i] = quant_real(v, v->f[s][i], qmin, qmax);
      free(v->f[s]);
      v->f[s] = NULL;
    }
    v->lsb = 1 + (a->lsb || (b && b->lsb) ? 255 : 0);
  }
  int bt;
  if (b_const) {
    int shape_c[4] = {1, 1, 1, bc};
    tw_quant q = {1, &cscale, NULL, 0};
    int64_t z = t->kind == KIND_I8 ? czp - 128 : czp;
    q.zero_points = &z;
    int8_t ci[4096];
    for (int c = 0; c < bc; c++) ci[c] = (int8_t)(cq[c] - 128);
    bt = tw_tensor(t->g, file_type(t), bc == 1 ? 0 : 4, shape_c,
                   !q8(t) ? (const void *)cf : t->kind == KIND_I8 ? (const void *)ci : (const void *)cq,
                   (size_t)bc * (q8(t) ? 1 : 4), q8(t) ? &q : NULL);
  } else {
    bt = b->tensor;
  }
  v->tensor = act_tensor(t, v, 4);
  tw_options o = {.activation = act};
  tw_op(t->g, k == EW_ADD ? TFL_OP_ADD : k == EW_SUB ? TFL_OP_SUB : TFL_OP_MUL, 2,
        (int[]){a->tensor, bt}, v->tensor, &o);
  return v;
}

typedef enum { UN_HSWISH, UN_RELU, UN_RELU6, UN_LOGISTIC } un_kind;

static double un_ref(un_kind k, double x) {
  switch (k) {
    case UN_HSWISH: return x * fmin(fmax(x + 3, 0), 6) / 6;
    case UN_RELU: return x < 0 ? 0 : x;
    case UN_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
    default: return 1 / (1 + exp(-x));
  }
}

static tval *tg_unary(tgraph *t, un_kind k, const tval *a) {
  tval *v = new_val(t, a->c);
  double lo = 0, hi = 0;
  for (int s = 0; s < t->n_sizes; s++) {
    alloc_val(t, v, s, a->h[s], a->w[s]);
    const size_t n = (size_t)a->h[s] * a->w[s] * a->c;
    if (!v->f[s]) v->f[s] = calloc(n, sizeof(float));
    for (size_t i = 0; i < n; i++) {
      const double r = un_ref(k, q8(t) ? deq(a, a->q[s][i]) : a->f[s][i]);
      v->f[s][i] = (float)r;
      if (s == 0) lo = r < lo ? r : lo, hi = r > hi ? r : hi;
    }
  }
  if (q8(t)) {
    choose_quant(v, lo, hi, 0);
    for (int s = 0; s < t->n_sizes; s++) {
      const size_t n = (size_t)a->h[s] * a->w[s] * a->c;
      for (size_t i = 0; i < n; i++) v->q[s][i] = quant_real(v, v->f[s][i], 0, 255);
      free(v->f[s]);
      v->f[s] = NULL;
    }
    /* TFLite's fixed-point hard-swish is a step or so from the real one */
    v->lsb = (k == UN_HSWISH ? 2 : 1) + (a->lsb ? 255 : 0);
  }
  v->tensor = act_tensor(t, v, 4);
  tw_op(t->g, k == UN_HSWISH ? TFL_OP_HARD_SWISH : k == UN_RELU ? TFL_OP_RELU
              : k == UN_RELU6 ? TFL_OP_RELU6 : TFL_OP_LOGISTIC,
        1, (int[]){a->tensor}, v->tensor, NULL);
  return v;
}

/* Global average: AVERAGE_POOL_2D over the declared map, or MEAN over H, W.
 * 8-bit: same quantization as the input for the pool (TFLite's integer
 * rounding, exact), another for MEAN (within a step). */
static tval *tg_global_pool(tgraph *t, const tval *a, int mean) {
  tval *v = new_val(t, a->c);
  v->scale = a->scale, v->zp = a->zp;
  if (mean && q8(t)) v->scale = a->scale * 0.8f, v->zp = a->zp / 2;
  for (int s = 0; s < t->n_sizes; s++) {
    alloc_val(t, v, s, 1, 1);
    const int px = a->h[s] * a->w[s];
    for (int c = 0; c < a->c; c++) {
      double sum = 0;
      long isum = 0;
      for (int p = 0; p < px; p++) {
        if (q8(t)) isum += a->q[s][(size_t)p * a->c + c];
        else sum += a->f[s][(size_t)p * a->c + c];
      }
      if (!q8(t)) v->f[s][c] = (float)(sum / px);
      else if (!mean) v->q[s][c] = (uint8_t)((isum + px / 2) / px);
      else v->q[s][c] = quant_real(v, a->scale * ((double)isum / px - a->zp), 0, 255);
    }
  }
  v->lsb = (mean && q8(t) ? 1 : 0) + (a->lsb ? 255 : 0);
  v->tensor = act_tensor(t, v, 4);
  if (mean) {
    const int32_t axes[2] = {1, 2};
    const int at = tw_tensor(t->g, TFL_INT32, 1, (int[]){2}, axes, 8, NULL);
    tw_op(t->g, TFL_OP_MEAN, 2, (int[]){a->tensor, at}, v->tensor,
          &(tw_options){.keep_dims = 1});
  } else {
    tw_op(t->g, TFL_OP_AVERAGE_POOL_2D, 1, (int[]){a->tensor}, v->tensor,
          &(tw_options){.padding = TFL_PAD_VALID, .stride = 1, .filter_w = a->w[0],
                        .filter_h = a->h[0]});
  }
  return v;
}

/* RESHAPE to [1, C] (a 1x1 map), then SOFTMAX. */
static tval *tg_softmax(tgraph *t, const tval *a) {
  tval *r = new_val(t, a->c);
  *r = *a;
  memset(r->f, 0, sizeof r->f), memset(r->q, 0, sizeof r->q);
  for (int s = 0; s < t->n_sizes; s++) {
    alloc_val(t, r, s, 1, 1);
    if (q8(t)) memcpy(r->q[s], a->q[s], (size_t)a->c);
    else memcpy(r->f[s], a->f[s], (size_t)a->c * 4);
  }
  r->tensor = act_tensor(t, r, 2);
  const int32_t shape[2] = {1, a->c};
  const int st = tw_tensor(t->g, TFL_INT32, 1, (int[]){2}, shape, 8, NULL);
  tw_op(t->g, TFL_OP_RESHAPE, 2, (int[]){a->tensor, st}, r->tensor, NULL);
  tval *v = new_val(t, a->c);
  v->scale = 1.0f / 256.0f, v->zp = 0;
  for (int s = 0; s < t->n_sizes; s++) {
    alloc_val(t, v, s, 1, 1);
    double mx = -1e30, sum = 0, e[4096];
    for (int c = 0; c < a->c; c++) {
      const double x = q8(t) ? deq(a, a->q[s][c]) : a->f[s][c];
      e[c] = x, mx = x > mx ? x : mx;
    }
    for (int c = 0; c < a->c; c++) sum += (e[c] = exp(e[c] - mx));
    for (int c = 0; c < a->c; c++) {
      if (q8(t)) v->q[s][c] = quant_real(v, e[c] / sum, 0, 255);
      else v->f[s][c] = (float)(e[c] / sum);
    }
  }
  v->lsb = 1 + (a->lsb ? 255 : 0);
  v->tensor = act_tensor(t, v, 2);
  tw_op(t->g, TFL_OP_SOFTMAX, 1, (int[]){r->tensor}, v->tensor, NULL);
  return v;
}

/* ---- running the engine --------------------------------------------------------- */

static const char *const isas[] = {"generic", "avx2", "avx512", "avx512vnni"};
static char temp_dir[4096] = "/tmp/mn-test-graph-XXXXXX";
/* $MOBILENET_GRAPH_CORPUS=DIR keeps every graph written here in DIR: the
 * seed corpus of scripts/fuzz (every operator, dtype and fusion). */
static int keep_files;

static char *write_graph(tgraph *t, const tval *out, const char *name) {
  tw_io(t->g, t->v[0].tensor, out->tensor);
  size_t size;
  uint8_t *file = tw_finish(t->g, &size);
  ck_assert_ptr_nonnull(file);
  char *path = malloc(4200);
  snprintf(path, 4200, "%s/%s.tflite", temp_dir, name);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(file, 1, size, f), size);
  fclose(f);
  free(file);
  return path;
}

/* Runs the graph at every level, size and thread count; compares with the
 * reference (and 8-bit levels with each other). */
static void check_graph(tgraph *t, const tval *out, const char *name) {
  char *path = write_graph(t, out, name);
  char err[MN_ERROR_MAX];
  uint8_t *first_q[MAX_SIZES] = {0};
  for (size_t l = 0; l < sizeof isas / sizeof isas[0]; l++) {
    setenv("MOBILENET_ISA", isas[l], 1);
    mn_model *m = NULL;
    mn_status st = mn_model_load_with(path, t->arith, &m, err);
    ck_assert_msg(st == MN_OK, "%s: %s", name, err);
    for (int s = 0; s < t->n_sizes; s++)
      for (int threads = 1; threads <= 3; threads += 2) {
        mn_runner *r = NULL;
        st = mn_runner_create(m, t->sizes[s], threads, &r, err);
        ck_assert_msg(st == MN_OK, "%s at %d: %s", name, t->sizes[s], err);
        mn_result top[1];
        ck_assert_int_ge(mn_runner_classify_preprocessed(r, t->rgb[s], 1, top, err), 0);
        mn_val_type type;
        int count;
        float scale;
        int32_t zp;
        const void *got = mn_runner_output(r, &type, &count, &scale, &zp);
        const size_t n = (size_t)out->h[s] * out->w[s] * out->c;
        ck_assert_int_eq((size_t)count, n);
        for (size_t i = 0; i < n; i++) {
          if (!q8(t)) {
            const float want = out->f[s][i], have = ((const float *)got)[i];
            ck_assert_msg(fabsf(want - have) <= 2e-5f * fmaxf(1.0f, fabsf(want)),
                          "%s (%s, %d threads) at %d: value %zu is %.7g, reference %.7g", name,
                          isas[l], threads, t->sizes[s], i, have, want);
          } else {
            const int want = out->q[s][i], have = ((const uint8_t *)got)[i];
            ck_assert_msg(abs(want - have) <= out->lsb,
                          "%s (%s, %d threads) at %d: byte %zu is %d, reference %d (%d allowed)",
                          name, isas[l], threads, t->sizes[s], i, have, want, out->lsb);
          }
        }
        if (q8(t) && threads == 1) { /* the same bytes at every level and thread count */
          if (!first_q[s]) {
            first_q[s] = malloc(n);
            memcpy(first_q[s], got, n);
          } else {
            ck_assert_msg(memcmp(first_q[s], got, n) == 0, "%s (%s) at %d differs from generic",
                          name, isas[l], t->sizes[s]);
          }
        }
        mn_runner_free(r);
      }
    mn_model_free(m);
  }
  unsetenv("MOBILENET_ISA");
  for (int s = 0; s < MAX_SIZES; s++) free(first_q[s]);
  if (!keep_files) unlink(path);
  free(path);
}

/* ---- the cases ------------------------------------------------------------------- */

static const graph_kind kinds[] = {KIND_F32, KIND_U8, KIND_U8, KIND_I8};
static const mn_arithmetic ariths[] = {MN_ARITH_LITERT, MN_ARITH_LITERT, MN_ARITH_REFERENCE,
                                       MN_ARITH_LITERT};
static const char *const kind_names[] = {"f32", "u8", "u8-reference", "i8"};

/* sizes giving maps of 8/9/10 after a stride-4 stem, 2/3 after two */
static const int sizes[] = {32, 36, 40};

#define STEM (conv_spec){3, 3, 4, 1, TFL_ACT_RELU6, 0, 0}

START_TEST(test_conv_shapes) {
  const int k = _i;
  static const conv_spec specs[] = {
      {3, 3, 1, 1, TFL_ACT_NONE, 0, 0}, {3, 3, 2, 1, TFL_ACT_RELU6, 0, 0},
      {1, 1, 1, 1, TFL_ACT_RELU, 0, 0}, {1, 1, 2, 0, TFL_ACT_NONE, 0, 0},
      {5, 5, 2, 1, TFL_ACT_RELU6, 0, 0}, {2, 3, 1, 0, TFL_ACT_NONE, 0, 0}};
  static const int chans[] = {5, 13, 1, 24, 3, 17};
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
    for (int deep = 0; deep < 2; deep++) { /* maps of 8-10, or of 2-3 */
      if (deep && !specs[i].same && (specs[i].kh > 2 || specs[i].kw > 2)) continue;
      tgraph t;
      tgraph_init(&t, kinds[k], ariths[k], 3, sizes);
      tval *x = tg_conv(&t, tg_input(&t), 7, STEM);
      if (deep) x = tg_conv(&t, x, 6, STEM);
      tval *y = tg_conv(&t, x, chans[i], specs[i]);
      char name[64];
      snprintf(name, sizeof name, "conv%zu-%s%s", i, kind_names[k], deep ? "-small" : "");
      check_graph(&t, y, name);
      tgraph_free(&t);
    }
}
END_TEST

START_TEST(test_dwconv_shapes) {
  const int k = _i;
  static const conv_spec specs[] = {
      {3, 3, 1, 1, TFL_ACT_RELU6, 1, 0}, {3, 3, 2, 1, TFL_ACT_NONE, 1, 0},
      {5, 5, 1, 1, TFL_ACT_RELU, 1, 0},  {5, 5, 2, 1, TFL_ACT_RELU6, 1, 0},
      {3, 3, 1, 0, TFL_ACT_NONE, 1, 0},  {5, 5, 1, 1, TFL_ACT_NONE, 1, 0}};
  static const int chans[] = {5, 16, 13, 24, 1, 32};
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
    for (int deep = 0; deep < 2; deep++) {
      if (deep && !specs[i].same && specs[i].kh > 2) continue; /* VALID 3x3 on 2x2: nothing */
      tgraph t;
      tgraph_init(&t, kinds[k], ariths[k], 3, sizes);
      tval *x = tg_conv(&t, tg_input(&t), chans[i], STEM);
      if (deep) x = tg_conv(&t, x, chans[i], STEM);
      tval *y = tg_conv(&t, x, 0, specs[i]);
      char name[64];
      snprintf(name, sizeof name, "dwconv%zu-%s%s", i, kind_names[k], deep ? "-small" : "");
      check_graph(&t, y, name);
      tgraph_free(&t);
    }
}
END_TEST

/* Wider than the 8-bit depthwise kernel's old 4096-value buffer: more
 * channels than one pixel of it held (the kernel used to loop forever). */
START_TEST(test_wide_depthwise) {
  const int k = _i;
  tgraph t;
  tgraph_init(&t, kinds[k], ariths[k], 1, sizes);
  tval *x = tg_conv(&t, tg_input(&t), 4100, STEM);
  tval *y = tg_conv(&t, x, 0, (conv_spec){3, 3, 1, 1, TFL_ACT_RELU6, 1, 0});
  char name[64];
  snprintf(name, sizeof name, "wide-dwconv-%s", kind_names[k]);
  check_graph(&t, y, name);
  tgraph_free(&t);
}
END_TEST

/* A depthwise layer whose only reader is a pointwise one with small weights:
 * the runner's bands; and an inverted residual (expand, depthwise, project,
 * ADD of the block input). */
START_TEST(test_fusions) {
  const int k = _i;
  tgraph t;
  tgraph_init(&t, kinds[k], ariths[k], 3, sizes);
  tval *x = tg_conv(&t, tg_input(&t), 8, STEM);
  tval *d = tg_conv(&t, x, 0, (conv_spec){3, 3, 1, 1, TFL_ACT_RELU6, 1, 0});
  tval *p = tg_conv(&t, d, 12, (conv_spec){1, 1, 1, 1, TFL_ACT_RELU6, 0, 0});
  char name[64];
  snprintf(name, sizeof name, "bands-%s", kind_names[k]);
  check_graph(&t, p, name);
  tgraph_free(&t);

  tgraph_init(&t, kinds[k], ariths[k], 3, sizes);
  x = tg_conv(&t, tg_input(&t), 8, STEM);
  tval *e = tg_conv(&t, x, 24, (conv_spec){1, 1, 1, 1, TFL_ACT_RELU6, 0, 0});
  d = tg_conv(&t, e, 0, (conv_spec){3, 3, 1, 1, TFL_ACT_RELU6, 1, 0});
  p = tg_conv(&t, d, 8, (conv_spec){1, 1, 1, 1, TFL_ACT_NONE, 0, 0});
  tval *sum = tg_binary(&t, EW_ADD, p, x, 0, 0, TFL_ACT_NONE);
  snprintf(name, sizeof name, "residual-%s", kind_names[k]);
  check_graph(&t, sum, name);
  tgraph_free(&t);

  /* v3's hard-swish after a pointwise and a depthwise layer without
   * activation: fused into them (float), at resolutions above and below the
   * declared one (a fused node's tensor must follow the resolution) */
  static const int down[] = {40, 36, 32};
  for (int order = 0; order < 2; order++) {
    tgraph_init(&t, kinds[k], ariths[k], 3, order ? down : sizes);
    x = tg_conv(&t, tg_input(&t), 8, STEM);
    e = tg_unary(&t, UN_HSWISH, tg_conv(&t, x, 16, (conv_spec){1, 1, 1, 1, TFL_ACT_NONE, 0, 0}));
    d = tg_unary(&t, UN_HSWISH, tg_conv(&t, e, 0, (conv_spec){5, 5, 1, 1, TFL_ACT_NONE, 1, 0}));
    p = tg_conv(&t, d, 8, (conv_spec){1, 1, 1, 1, TFL_ACT_NONE, 0, 0});
    snprintf(name, sizeof name, "hswish-fused-%s%s", kind_names[k], order ? "-down" : "");
    check_graph(&t, p, name);
    tgraph_free(&t);
  }
}
END_TEST

START_TEST(test_elementwise) {
  const int k = _i;
  for (int i = 0; i < 9; i++) {
    tgraph t;
    tgraph_init(&t, kinds[k], ariths[k], 3, sizes);
    tval *x = tg_conv(&t, tg_input(&t), 5, STEM), *y;
    switch (i) {
      case 0: y = tg_unary(&t, UN_HSWISH, x); break;
      case 1: y = tg_unary(&t, UN_RELU, x); break;
      case 2: y = tg_unary(&t, UN_RELU6, x); break;
      case 3: y = tg_unary(&t, UN_LOGISTIC, x); break;
      case 4: y = tg_binary(&t, EW_MUL, x, NULL, 1, 1, TFL_ACT_NONE); break;   /* scalar */
      case 5: y = tg_binary(&t, EW_ADD, x, NULL, 5, 1, TFL_ACT_RELU6); break;  /* per channel */
      case 6: y = tg_binary(&t, EW_SUB, x, NULL, 1, 1, TFL_ACT_NONE); break;
      case 7: { /* squeeze-excite: a map times its own pooled channels */
        tval *s = tg_global_pool(&t, x, 0);
        y = tg_binary(&t, EW_MUL, x, s, 0, 0, TFL_ACT_NONE);
        break;
      }
      default: { /* two maps of the same shape */
        tval *x2 = tg_conv(&t, &t.v[0], 5, STEM); /* another map from the input */
        y = tg_binary(&t, EW_SUB, x, x2, 0, 0, TFL_ACT_NONE);
        break;
      }
    }
    char name[64];
    snprintf(name, sizeof name, "elementwise%d-%s", i, kind_names[k]);
    check_graph(&t, y, name);
    tgraph_free(&t);
  }
}
END_TEST

/* 8-bit ADD then MUL by constants (v3's hard sigmoid) is one table; the
 * result is within a step of each of the two. */
START_TEST(test_q8_table_chain) {
  const int k = _i;
  tgraph t;
  tgraph_init(&t, kinds[k], ariths[k], 3, sizes);
  tval *x = tg_conv(&t, tg_input(&t), 6, STEM);
  tval *a = tg_binary(&t, EW_ADD, x, NULL, 1, 1, TFL_ACT_NONE);
  tval *m = tg_binary(&t, EW_MUL, a, NULL, 1, 1, TFL_ACT_NONE);
  if (q8(&t)) m->lsb = 3;
  char name[64];
  snprintf(name, sizeof name, "chain-%s", kind_names[k]);
  check_graph(&t, m, name);
  tgraph_free(&t);
}
END_TEST

START_TEST(test_pool_fc_softmax) {
  const int k = _i;
  for (int mean = 0; mean < 2; mean++) {
    tgraph t;
    tgraph_init(&t, kinds[k], ariths[k], 3, sizes);
    tval *x = tg_conv(&t, tg_input(&t), 9, STEM);
    tval *p = tg_global_pool(&t, x, mean);
    tval *f = tg_conv(&t, p, 11, (conv_spec){1, 1, 1, 1, TFL_ACT_NONE, 0, 0});
    tval *s = tg_softmax(&t, f);
    char name[64];
    snprintf(name, sizeof name, "pool%d-softmax-%s", mean, kind_names[k]);
    check_graph(&t, s, name);
    tgraph_free(&t);
  }
}
END_TEST

/* The label file beside a model: 1000 lines, or 1001 with "background"
 * first (dropped); any other count is refused, and a file far longer than
 * any label file is refused without reading it all (scripts/fuzz found the
 * reader writing past its table on line 1002). */
static mn_status load_labels_lines(mn_model *m, int n, char err[MN_ERROR_MAX]) {
  char path[4200];
  snprintf(path, sizeof path, "%s/labels-%d.txt", temp_dir, n);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  for (int i = 0; i < n; i++) fprintf(f, "%s%d\n", i == 0 && n == 1001 ? "background" : "class ", i);
  fclose(f);
  const mn_status st = mn_model_load_labels(m, path, err);
  if (!keep_files) unlink(path);
  return st;
}

START_TEST(test_label_files) {
  tgraph t;
  tgraph_init(&t, KIND_F32, MN_ARITH_LITERT, 1, sizes);
  tval *x = tg_conv(&t, tg_input(&t), 8, STEM);
  tval *classes = tg_conv(&t, tg_global_pool(&t, x, 1), 1000,
                          (conv_spec){1, 1, 1, 1, TFL_ACT_NONE, 0, 0});
  char *path = write_graph(&t, classes, "labels");
  mn_model *m = NULL;
  char err[MN_ERROR_MAX];
  ck_assert_int_eq(mn_model_load(path, &m, err), MN_OK);
  ck_assert_int_eq(load_labels_lines(m, 1000, err), MN_OK);
  ck_assert_str_eq(mn_model_class_label(m, 3), "class 3");
  ck_assert_int_eq(load_labels_lines(m, 1001, err), MN_OK);
  ck_assert_str_eq(mn_model_class_label(m, 3), "class 4"); /* background dropped */
  ck_assert_int_eq(load_labels_lines(m, 999, err), MN_ERR_FORMAT);
  ck_assert_msg(strstr(err, "999 lines, expected 1000 or 1001") != NULL, "%s", err);
  ck_assert_int_eq(load_labels_lines(m, 5000, err), MN_ERR_FORMAT);
  ck_assert_msg(strstr(err, "more than 1001 lines") != NULL, "%s", err);
  ck_assert_str_eq(mn_model_class_label(m, 3), "class 4"); /* the good labels kept */
  mn_model_free(m);
  if (!keep_files) unlink(path);
  free(path);
  tgraph_free(&t);
}
END_TEST

/* ---- crafted bad graphs ---------------------------------------------------------- */

/* Loads a graph that must be refused; the message names what it says. */
static void check_refused(tw_graph *g, int in, int out, const char *name, const char *must1,
                          const char *must2) {
  tw_io(g, in, out);
  size_t size;
  uint8_t *file = tw_finish(g, &size);
  char path[4200], err[MN_ERROR_MAX] = "";
  snprintf(path, sizeof path, "%s/%s.tflite", temp_dir, name);
  FILE *f = fopen(path, "wb");
  fwrite(file, 1, size, f);
  fclose(f);
  free(file);
  mn_model *m = NULL;
  mn_status st = mn_model_load(path, &m, err);
  if (!keep_files) unlink(path);
  ck_assert_msg(st != MN_OK && m == NULL, "%s: loaded", name);
  ck_assert_msg(strstr(err, path) != NULL, "%s: message does not name the file: %s", name, err);
  ck_assert_msg(strstr(err, must1) != NULL, "%s: message lacks \"%s\": %s", name, must1, err);
  if (must2)
    ck_assert_msg(strstr(err, must2) != NULL, "%s: message lacks \"%s\": %s", name, must2, err);
  tw_free(g);
}

static int f32_map(tw_graph *g, int h, int w, int c) {
  return tw_tensor(g, TFL_FLOAT32, 4, (int[]){1, h, w, c}, NULL, 0, NULL);
}
static int f32_const(tw_graph *g, int rank, const int *shape, size_t n) {
  float *z = calloc(n, sizeof(float));
  int t = tw_tensor(g, TFL_FLOAT32, rank, shape, z, n * 4, NULL);
  free(z);
  return t;
}

START_TEST(test_refused_graphs) {
  const tw_options s1 = {.stride = 1, .padding = TFL_PAD_SAME};
  /* an operator the engine does not run */
  tw_graph *g = tw_new();
  int in = f32_map(g, 8, 8, 3), out = f32_map(g, 4, 4, 3);
  tw_op(g, 17 /* MAX_POOL_2D */, 1, (int[]){in}, out, &(tw_options){.stride = 2});
  check_refused(g, in, out, "maxpool", "operator 0 (MAX_POOL_2D)", "tensor 1");
  /* a cycle: operator 0 reads what operator 1 writes */
  g = tw_new();
  in = f32_map(g, 8, 8, 3);
  int a = f32_map(g, 8, 8, 3), b = f32_map(g, 8, 8, 3);
  tw_op(g, TFL_OP_ADD, 2, (int[]){in, b}, a, NULL);
  tw_op(g, TFL_OP_RELU, 1, (int[]){a}, b, NULL);
  check_refused(g, in, b, "cycle", "operator 0 (ADD)", "before any operator writes it");
  /* a tensor written twice */
  g = tw_new();
  in = f32_map(g, 8, 8, 3), a = f32_map(g, 8, 8, 3);
  tw_op(g, TFL_OP_RELU, 1, (int[]){in}, a, NULL);
  tw_op(g, TFL_OP_RELU6, 1, (int[]){in}, a, NULL);
  check_refused(g, in, a, "twice", "operator 1 (RELU6)", "another operator wrote already");
  /* shapes that do not chain: weights for 4 channels on a 3-channel input */
  g = tw_new();
  in = f32_map(g, 8, 8, 3), out = f32_map(g, 8, 8, 6);
  int w = f32_const(g, 4, (int[]){6, 1, 1, 4}, 24), bias = f32_const(g, 1, (int[]){6}, 6);
  tw_op(g, TFL_OP_CONV_2D, 3, (int[]){in, w, bias}, out, &s1);
  check_refused(g, in, out, "chain", "operator 0 (CONV_2D)", "4 input channels, input has 3");
  /* dilation, depth multiplier */
  g = tw_new();
  in = f32_map(g, 8, 8, 3), out = f32_map(g, 8, 8, 6);
  w = f32_const(g, 4, (int[]){6, 3, 3, 3}, 162), bias = f32_const(g, 1, (int[]){6}, 6);
  tw_op(g, TFL_OP_CONV_2D, 3, (int[]){in, w, bias}, out,
        &(tw_options){.stride = 1, .dilation = 2});
  check_refused(g, in, out, "dilation", "operator 0 (CONV_2D)", "dilation 2x2");
  g = tw_new();
  in = f32_map(g, 8, 8, 3), out = f32_map(g, 8, 8, 6);
  w = f32_const(g, 4, (int[]){1, 3, 3, 6}, 54), bias = f32_const(g, 1, (int[]){6}, 6);
  tw_op(g, TFL_OP_DEPTHWISE_CONV_2D, 3, (int[]){in, w, bias}, out,
        &(tw_options){.stride = 1, .depth_multiplier = 2});
  check_refused(g, in, out, "multiplier", "operator 0 (DEPTHWISE_CONV_2D)", "depth multiplier 2");
  /* per-channel scales whose count is not the channel count */
  g = tw_new();
  in = tw_tensor(g, TFL_INT8, 4, (int[]){1, 8, 8, 3}, NULL, 0,
                 &(tw_quant){1, (float[]){0.01f}, (int64_t[]){0}, 0});
  out = tw_tensor(g, TFL_INT8, 4, (int[]){1, 8, 8, 5}, NULL, 0,
                  &(tw_quant){1, (float[]){0.05f}, (int64_t[]){0}, 0});
  int8_t wi[15] = {0};
  w = tw_tensor(g, TFL_INT8, 4, (int[]){5, 1, 1, 3}, wi, 15,
                &(tw_quant){3, (float[]){0.1f, 0.1f, 0.1f}, (int64_t[]){0, 0, 0}, 0});
  tw_op(g, TFL_OP_CONV_2D, 2, (int[]){in, w}, out, &s1);
  check_refused(g, in, out, "scales", "3 per-channel scales along dimension 0",
                "which has 5 channels");
  /* a zero point outside uint8 */
  g = tw_new();
  in = tw_tensor(g, TFL_UINT8, 4, (int[]){1, 8, 8, 3}, NULL, 0,
                 &(tw_quant){1, (float[]){0.01f}, (int64_t[]){300}, 0});
  out = tw_tensor(g, TFL_UINT8, 4, (int[]){1, 8, 8, 3}, NULL, 0,
                  &(tw_quant){1, (float[]){0.01f}, (int64_t[]){0}, 0});
  tw_op(g, TFL_OP_RELU, 1, (int[]){in}, out, NULL);
  check_refused(g, in, out, "zp", "zero point 300", "0..255");
  /* a scale that is not a positive number */
  g = tw_new();
  in = tw_tensor(g, TFL_UINT8, 4, (int[]){1, 8, 8, 3}, NULL, 0,
                 &(tw_quant){1, (float[]){-0.5f}, (int64_t[]){0}, 0});
  out = tw_tensor(g, TFL_UINT8, 4, (int[]){1, 8, 8, 3}, NULL, 0,
                  &(tw_quant){1, (float[]){0.01f}, (int64_t[]){0}, 0});
  tw_op(g, TFL_OP_RELU, 1, (int[]){in}, out, NULL);
  check_refused(g, in, out, "scale", "invalid quantization scale", NULL);
  /* operands that do not broadcast */
  g = tw_new();
  in = f32_map(g, 8, 8, 3);
  a = f32_const(g, 4, (int[]){1, 1, 1, 4}, 4), out = f32_map(g, 8, 8, 3);
  tw_op(g, TFL_OP_MUL, 2, (int[]){in, a}, out, NULL);
  check_refused(g, in, out, "broadcast", "operator 0 (MUL)", "do not broadcast");
  /* an operator reading a constant where a computed tensor belongs (it would
   * get no storage) */
  g = tw_new();
  in = f32_map(g, 8, 8, 3), out = f32_map(g, 8, 8, 6);
  a = f32_const(g, 4, (int[]){1, 8, 8, 3}, 192);
  w = f32_const(g, 4, (int[]){6, 1, 1, 3}, 18), bias = f32_const(g, 1, (int[]){6}, 6);
  tw_op(g, TFL_OP_CONV_2D, 3, (int[]){a, w, bias}, out, &s1);
  check_refused(g, in, out, "constant-input", "operator 0 (CONV_2D)", "is a constant");
  /* a RESHAPE whose dimensions multiply to 2^65 + 192: the count wraps around
   * to the 192 values of the input, the dimensions do not fit */
  g = tw_new();
  in = f32_map(g, 8, 8, 3);
  const int huge[4] = {1, 1459810496, 652757, 38717};
  int shape = tw_tensor(g, TFL_INT32, 1, (int[]){4}, huge, sizeof huge, NULL);
  a = f32_map(g, 8, 8, 3); /* the declared shape is harmless: the operand rules */
  int flat_shape = tw_tensor(g, TFL_INT32, 1, (int[]){2}, (int[]){1, 192}, 8, NULL);
  out = tw_tensor(g, TFL_FLOAT32, 2, (int[]){1, 192}, NULL, 0, NULL);
  tw_op(g, TFL_OP_RESHAPE, 2, (int[]){in, shape}, a, NULL);
  tw_op(g, TFL_OP_RESHAPE, 2, (int[]){a, flat_shape}, out, NULL);
  check_refused(g, in, out, "wrap", "operator 0 (RESHAPE)", "at most 2^28 values");
  /* a batch of two made by RESHAPE */
  g = tw_new();
  in = f32_map(g, 8, 8, 3);
  shape = tw_tensor(g, TFL_INT32, 1, (int[]){4}, (int[]){2, 4, 8, 3}, 16, NULL);
  a = tw_tensor(g, TFL_FLOAT32, 4, (int[]){2, 4, 8, 3}, NULL, 0, NULL);
  flat_shape = tw_tensor(g, TFL_INT32, 1, (int[]){2}, (int[]){1, 192}, 8, NULL);
  out = tw_tensor(g, TFL_FLOAT32, 2, (int[]){1, 192}, NULL, 0, NULL);
  tw_op(g, TFL_OP_RESHAPE, 2, (int[]){in, shape}, a, NULL);
  tw_op(g, TFL_OP_RESHAPE, 2, (int[]){a, flat_shape}, out, NULL);
  check_refused(g, in, out, "batch", "operator 0 (RESHAPE)", "batch 1");
  /* 8-bit depthwise weights that are not 8-bit */
  g = tw_new();
  in = tw_tensor(g, TFL_UINT8, 4, (int[]){1, 8, 8, 3}, NULL, 0,
                 &(tw_quant){1, (float[]){0.01f}, (int64_t[]){0}, 0});
  out = tw_tensor(g, TFL_UINT8, 4, (int[]){1, 8, 8, 3}, NULL, 0,
                  &(tw_quant){1, (float[]){0.01f}, (int64_t[]){0}, 0});
  int32_t w32[27] = {0};
  w = tw_tensor(g, TFL_INT32, 4, (int[]){1, 3, 3, 3}, w32, sizeof w32,
                &(tw_quant){1, (float[]){0.01f}, (int64_t[]){0}, 0});
  tw_op(g, TFL_OP_DEPTHWISE_CONV_2D, 2, (int[]){in, w}, out, &s1);
  check_refused(g, in, out, "dw-int32", "operator 0 (DEPTHWISE_CONV_2D)", "are int32");
  /* scales that are each in range but multiply to a requantization
   * multiplier far past float's range */
  g = tw_new();
  in = tw_tensor(g, TFL_UINT8, 4, (int[]){1, 8, 8, 3}, NULL, 0,
                 &(tw_quant){1, (float[]){1e6f}, (int64_t[]){0}, 0});
  out = tw_tensor(g, TFL_UINT8, 4, (int[]){1, 8, 8, 5}, NULL, 0,
                  &(tw_quant){1, (float[]){1e-20f}, (int64_t[]){0}, 0});
  uint8_t wu[15] = {0};
  w = tw_tensor(g, TFL_UINT8, 4, (int[]){5, 1, 1, 3}, wu, 15,
                &(tw_quant){1, (float[]){1e6f}, (int64_t[]){0}, 0});
  tw_op(g, TFL_OP_CONV_2D, 2, (int[]){in, w}, out, &s1);
  check_refused(g, in, out, "multiplier-range", "operator 0 (CONV_2D)",
                "requantization multiplier");
  /* a bias whose scale is not input x weight scale: the kernels would add it
   * at the wrong scale (TFLite refuses such a file too) */
  g = tw_new();
  in = tw_tensor(g, TFL_UINT8, 4, (int[]){1, 8, 8, 3}, NULL, 0,
                 &(tw_quant){1, (float[]){0.02f}, (int64_t[]){128}, 0});
  out = tw_tensor(g, TFL_UINT8, 4, (int[]){1, 8, 8, 5}, NULL, 0,
                  &(tw_quant){1, (float[]){0.05f}, (int64_t[]){0}, 0});
  w = tw_tensor(g, TFL_UINT8, 4, (int[]){5, 1, 1, 3}, wu, 15,
                &(tw_quant){1, (float[]){0.5f}, (int64_t[]){128}, 0});
  int32_t b5[5] = {0};
  bias = tw_tensor(g, TFL_INT32, 1, (int[]){5}, b5, sizeof b5,
                   &(tw_quant){1, (float[]){0.02f}, (int64_t[]){0}, 0});
  tw_op(g, TFL_OP_CONV_2D, 3, (int[]){in, w, bias}, out, &s1);
  check_refused(g, in, out, "bias-scale", "operator 0 (CONV_2D)",
                "has scale 0.02 for channel 0, not input x weight scale 0.01");
  /* the same per channel, on the second channel of an int8 depthwise layer */
  g = tw_new();
  in = tw_tensor(g, TFL_INT8, 4, (int[]){1, 8, 8, 3}, NULL, 0,
                 &(tw_quant){1, (float[]){0.5f}, (int64_t[]){0}, 0});
  out = tw_tensor(g, TFL_INT8, 4, (int[]){1, 8, 8, 3}, NULL, 0,
                  &(tw_quant){1, (float[]){0.5f}, (int64_t[]){0}, 0});
  int8_t w27[27] = {0};
  w = tw_tensor(g, TFL_INT8, 4, (int[]){1, 3, 3, 3}, w27, sizeof w27,
                &(tw_quant){3, (float[]){0.25f, 0.5f, 1.0f}, (int64_t[]){0, 0, 0}, 3});
  int32_t b3[3] = {0};
  bias = tw_tensor(g, TFL_INT32, 1, (int[]){3}, b3, sizeof b3,
                   &(tw_quant){3, (float[]){0.125f, 0.125f, 0.5f}, (int64_t[]){0, 0, 0}, 0});
  tw_op(g, TFL_OP_DEPTHWISE_CONV_2D, 3, (int[]){in, w, bias}, out, &s1);
  check_refused(g, in, out, "bias-scale-channel", "operator 0 (DEPTHWISE_CONV_2D)",
                "has scale 0.125 for channel 1, not input x weight scale 0.25");
  /* the input is not an image */
  g = tw_new();
  in = tw_tensor(g, TFL_FLOAT32, 2, (int[]){1, 10}, NULL, 0, NULL), out = f32_map(g, 1, 1, 10);
  tw_op(g, TFL_OP_RELU, 1, (int[]){in}, out, NULL);
  check_refused(g, in, out, "input", "is not an image", NULL);
}
END_TEST

/* Operator codes written only in the deprecated byte (TOCO's files) are read. */
START_TEST(test_deprecated_codes) {
  tgraph t;
  tgraph_init(&t, KIND_F32, MN_ARITH_LITERT, 1, sizes);
  tval *x = tg_conv(&t, tg_input(&t), 4, STEM);
  tval *y = new_val(&t, 4);
  for (int s = 0; s < t.n_sizes; s++) {
    alloc_val(&t, y, s, x->h[s], x->w[s]);
    for (int i = 0; i < x->h[s] * x->w[s] * 4; i++) y->f[s][i] = x->f[s][i] > 0 ? x->f[s][i] : 0;
  }
  y->tensor = act_tensor(&t, y, 4);
  tw_op_deprecated_code(t.g, TFL_OP_RELU, 1, (int[]){x->tensor}, y->tensor, NULL);
  check_graph(&t, y, "deprecated");
  tgraph_free(&t);
}
END_TEST

static Suite *graph_suite(void) {
  Suite *s = suite_create("graph");
  TCase *tc = tcase_create("ops");
  tcase_set_timeout(tc, 300);
  const int n = (int)(sizeof kinds / sizeof kinds[0]);
  tcase_add_loop_test(tc, test_conv_shapes, 0, n);
  tcase_add_loop_test(tc, test_dwconv_shapes, 0, n);
  tcase_add_loop_test(tc, test_wide_depthwise, 0, n);
  tcase_add_loop_test(tc, test_fusions, 0, n);
  tcase_add_loop_test(tc, test_elementwise, 0, n);
  tcase_add_loop_test(tc, test_q8_table_chain, 0, n);
  tcase_add_loop_test(tc, test_pool_fc_softmax, 0, n);
  tcase_add_test(tc, test_deprecated_codes);
  suite_add_tcase(s, tc);
  TCase *tl = tcase_create("labels");
  tcase_add_test(tl, test_label_files);
  suite_add_tcase(s, tl);
  TCase *tb = tcase_create("refused");
  tcase_add_test(tb, test_refused_graphs);
  suite_add_tcase(s, tb);
  return s;
}

int main(void) {
  const char *corpus = getenv("MOBILENET_GRAPH_CORPUS");
  if (corpus && *corpus) {
    keep_files = 1;
    snprintf(temp_dir, sizeof temp_dir, "%s", corpus);
  } else if (!mkdtemp(temp_dir)) {
    perror(temp_dir);
    return 1;
  }
  SRunner *sr = srunner_create(graph_suite());
  srunner_run_all(sr, CK_NORMAL);
  const int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  if (!keep_files) rmdir(temp_dir);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
