/* dwconv.c: DEPTHWISE_CONV_2D with depth multiplier 1, any kernel size (the
 * 3x3 kernels have the fast interior paths), any stride, float32 and 8-bit.
 * Weights are packed with the period of mn_dw_period (kernels/conv_gemm.c)
 * so that a row is one flat loop in whole vectors whatever the channel count. */
#include <stdlib.h>
#include <string.h>

#include "ops.h"


typedef struct {
  int kh, kw, stride, same, c;
  float lo, hi;
  float *w;       /* float32: taps then bias, period L */
  int32_t *wq;    /* 8-bit: (q - w_zp) taps then bias, period L */
  mn_requant rq;
  float *scales;  /* per-channel multipliers, period L (owned) */
} dw_state;

static void dw_free(void *p) {
  dw_state *s = p;
  if (!s) return;
  free(s->w);
  free(s->wq);
  free(s->scales);
  free(s);
}

static int dw_infer(const mn_model *m, const mn_node *n, mn_dims *dims, char *err, size_t size) {
  (void)m;
  const dw_state *s = n->state;
  const mn_dims *in = &dims[n->in[0]];
  return mn_window_infer(in, s->c, s->kh, s->kw, s->stride, s->same, s->c, &dims[n->out], err,
                         size);
}

static mn_conv_geom geometry(const dw_state *s, const mn_dims *in, const mn_dims *out) {
  return mn_window_geometry(in, out, s->kh, s->kw, s->stride, s->same);
}

static void dw_rows(const mn_exec *x, const mn_node *n, const mn_conv_geom *g, void *out, int y0,
                    int y1) {
  const dw_state *s = n->state;
  const void *in = x->ptr[n->in[0]];
  if (x->model->values[n->out].type == MN_VAL_F32)
    x->kernels->f32_dwconv(g, in, s->w, out, s->lo, s->hi, y0, y1);
  else
    x->kernels->u8_dwconv(g, in, s->wq, out, &s->rq, y0, y1);
}

/* Windows other than 3x3 run on a padded copy of the input (the 3x3
 * kernels have their own fast border handling): 5x5 border pixels are a
 * third of a 14x14 map and most of a 7x7 one. */
static int padded(const mn_model *m, const mn_node *n, const mn_conv_geom *g) {
  const dw_state *s = n->state;
  if ((s->kh == 3 && s->kw == 3) || !mn_dw_padded_ok(g)) return 0;
  return m->values[n->out].type == MN_VAL_F32 || g->in_c % m->kernels->lanes == 0;
}

static void dw_run(const mn_exec *x, const mn_node *n, int ith, int nth) {
  const dw_state *s = n->state;
  const mn_dims *outd = &x->dims[n->out], *ind = &x->dims[n->in[0]];
  const mn_conv_geom g = geometry(s, ind, outd);
  int a, b;
  if (padded(x->model, n, &g)) {
    void *pad = x->scratch[n - x->model->nodes];
    const int f32 = x->model->values[n->out].type == MN_VAL_F32;
    mn_split(ind->h, ith, nth, &a, &b);
    if (f32) mn_f32_dw_pad_rows(&g, x->ptr[n->in[0]], pad, a, b);
    else mn_u8_dw_pad_rows(&g, x->ptr[n->in[0]], (uint8_t)s->rq.in_zp, pad, a, b);
#pragma omp barrier
    mn_split(outd->h, ith, nth, &a, &b);
    if (f32) x->kernels->f32_dwconv_padded(&g, pad, s->w, x->ptr[n->out], s->lo, s->hi, a, b);
    else x->kernels->u8_dwconv_padded(&g, pad, s->wq, x->ptr[n->out], &s->rq, a, b);
    return;
  }
  mn_split(outd->h, ith, nth, &a, &b);
  dw_rows(x, n, &g, x->ptr[n->out], a, b);
}

static size_t dw_scratch(const mn_model *m, const mn_node *n, const mn_dims *dims) {
  const dw_state *s = n->state;
  const mn_conv_geom g = geometry(s, &dims[n->in[0]], &dims[n->out]);
  if (!m->kernels || !padded(m, n, &g)) return 0;
  const size_t elem = m->values[n->out].type == MN_VAL_F32 ? sizeof(float) : 1;
  return mn_dw_padded_row(&g) * (size_t)g.in_h * elem + 64;
}

void mn_dwconv_run_rows(const mn_exec *x, const mn_node *n, int y0, int rows, void *band) {
  const dw_state *s = n->state;
  mn_conv_geom g = geometry(s, &x->dims[n->in[0]], &x->dims[n->out]);
  /* the same convolution on a band: output rows from 0, the padding moved */
  g.out_h = rows;
  g.pad_top -= y0 * g.stride;
  dw_rows(x, n, &g, band, 0, rows);
}

int mn_dwconv_take_hswish(const mn_model *m, mn_node *n) {
  if (n->cls != &mn_op_dwconv || m->values[n->out].type != MN_VAL_F32) return 0;
  dw_state *s = n->state;
  if (s->lo != -INFINITY || s->hi != INFINITY) return 0;
  s->lo = MN_F32_HSWISH_LO, s->hi = MN_F32_HSWISH_HI;
  return 1;
}

int mn_dwconv_info(const mn_node *n, mn_dw_info *info) {
  if (n->cls != &mn_op_dwconv) return 0;
  const dw_state *s = n->state;
  *info = (mn_dw_info){s->kh, s->kw, s->stride, s->same};
  return 1;
}

static void dw_describe(const mn_model *m, const mn_node *n, const mn_dims *dims,
                        mn_layer_info *info) {
  (void)m;
  const dw_state *s = n->state;
  snprintf(info->type, sizeof info->type, "dwconv%dx%d/s%d", s->kh, s->kw, s->stride);
  info->macs = (int64_t)mn_dims_count(&dims[n->out]) * s->kh * s->kw;
}

static int dw_pixel_share(const mn_exec *x, const mn_node *n, int ith, int nth, size_t *pixel0,
                          size_t *pixels) {
  const mn_dims *o = &x->dims[n->out];
  int a, b;
  mn_split(o->h, ith, nth, &a, &b);
  *pixel0 = (size_t)a * o->w, *pixels = (size_t)(b - a) * o->w;
  return 1;
}

const mn_op_class mn_op_dwconv = {"dwconv", dw_infer, dw_run, dw_describe, dw_scratch, dw_free,
                                  NULL, dw_pixel_share};

int mn_build_dwconv(mn_builder *b) {
  const tfl_op *op = &b->tfl->ops[b->op];
  const tfl_tensor *in = mn_build_input(b, 0), *w = mn_build_input(b, 1),
                   *bias = mn_build_input(b, 2), *out = mn_build_output(b);
  char name[96];
  if (mn_build_check_activation(b, in, "input") || mn_build_check_activation(b, out, "output"))
    return -1;
  if (!w || !w->data || w->rank != 4 || w->shape[0] != 1)
    return mn_build_fail(b, "weights %s are not constant [1, kh, kw, C]",
                         w ? mn_build_tensor_name(b, w, name, sizeof name) : "(absent)");
  const int q8 = in->type != TFL_FLOAT32;
  if ((out->type != TFL_FLOAT32) != q8 || (w->type != TFL_FLOAT32) != q8)
    return mn_build_fail(b, "mixes float32 and quantized tensors (input %s, weights %s, output %s)",
                         tfl_type_name(in->type), tfl_type_name(w->type), tfl_type_name(out->type));
  const int kh = w->shape[1], kw = w->shape[2], C = w->shape[3];
  if (op->dilation_w != 1 || op->dilation_h != 1)
    return mn_build_fail(b, "dilation %dx%d is not supported", op->dilation_h, op->dilation_w);
  if (op->stride_w != op->stride_h || op->stride_w < 1 || op->stride_w > 4)
    return mn_build_fail(b, "stride %dx%d is not supported", op->stride_h, op->stride_w);
  if (op->padding != TFL_PAD_SAME && op->padding != TFL_PAD_VALID)
    return mn_build_fail(b, "padding %d is neither SAME nor VALID", op->padding);
  if (kh < 1 || kw < 1 || kh > 11 || kw > 11)
    return mn_build_fail(b, "kernel %dx%d is not supported", kh, kw);
  if (C < 1 || C > MN_MAX_CHANNELS)
    return mn_build_fail(b, "%d channels (at most %d)", C, MN_MAX_CHANNELS);
  if (in->rank == 4 && (op->depth_multiplier != 1 || in->shape[3] != C))
    return mn_build_fail(b, "depth multiplier %d (%d input, %d output channels) is not supported",
                         op->depth_multiplier, in->shape[3], C);
  if (mn_build_check_conv_params(b, in, w, bias, out, C, 3)) return -1;
  dw_state *s = calloc(1, sizeof *s);
  if (!s) return mn_build_fail(b, "out of memory");
  s->kh = kh, s->kw = kw, s->c = C, s->stride = op->stride_w, s->same = op->padding == TFL_PAD_SAME;
  int32_t qmin, qmax;
  if (mn_build_activation(b, op->activation, out, &s->lo, &s->hi, &qmin, &qmax)) {
    dw_free(s);
    return -1;
  }
  s->rq.qmin = qmin, s->rq.qmax = qmax;
  mn_node *n = mn_build_node(b, &mn_op_dwconv, 1);
  n->state = s;
  n->params = w->elements + (bias ? bias->elements : 0);
  const int L = mn_dw_period(C), taps = kh * kw;
  if (!b->m->kernels) return 0; /* probing: no weights packed */
  if (!q8) {
    float *wf = malloc((size_t)w->elements * sizeof *wf + 1);
    float *bf = calloc((size_t)C, sizeof *bf);
    s->w = calloc((size_t)(taps + 1) * L, sizeof(float));
    if (wf && bf && s->w) {
      memcpy(wf, w->data, (size_t)w->elements * sizeof *wf);
      if (bias) memcpy(bf, bias->data, (size_t)C * sizeof *bf);
      mn_f32_dw_pack(kh, kw, C, wf, bf, s->w);
    }
    const int ok = wf && bf && s->w;
    free(wf);
    free(bf);
    return ok ? 0 : mn_build_fail(b, "out of memory");
  }
  s->rq.in_zp = mn_q8_zero_point(in);
  s->rq.w_zp = mn_q8_zero_point(w);
  s->rq.out_zp = mn_q8_zero_point(out);
  s->rq.mult = (double)in->scale * (double)w->scale / (double)out->scale;
  uint8_t *wb = malloc((size_t)w->elements + 1);
  int32_t *bq = calloc((size_t)C, sizeof *bq);
  s->wq = calloc((size_t)(taps + 1) * L, sizeof(int32_t));
  /* per-channel weights, and LiteRT's arithmetic: float multipliers as
   * XNNPACK computes them, with the weights' period */
  const int fp32 = w->n_scales > 1 || b->m->arith == MN_ARITH_LITERT;
  if (fp32) {
    s->scales = calloc((size_t)L, sizeof *s->scales);
    for (int j = 0; s->scales && j < L; j++) {
      const float p = in->scale * (w->n_scales > 1 ? w->scales[j % C] : w->scale);
      s->scales[j] = p / out->scale;
    }
    s->rq.scales = s->scales;
    s->rq.period = L;
  }
  const int ok = wb && bq && s->wq && (!fp32 || s->scales);
  if (ok) {
    for (size_t i = 0; i < (size_t)w->elements; i++) wb[i] = mn_q8_byte(w, i);
    if (bias) memcpy(bq, bias->data, (size_t)C * sizeof *bq);
    mn_u8_dw_pack(kh, kw, C, wb, s->rq.w_zp, bq, s->wq);
  }
  free(wb);
  free(bq);
  return ok ? 0 : mn_build_fail(b, "out of memory");
}
