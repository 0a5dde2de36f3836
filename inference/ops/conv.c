/* conv.c: CONV_2D (any kernel size, any stride, dilation 1) and
 * FULLY_CONNECTED, float32 and 8-bit.
 *
 * Weights are packed once for the level's GEMM: a 1x1 stride-1 convolution
 * or a fully connected layer is one GEMM over the pixels; a KxK convolution
 * with few input channels (the first layer) runs a direct kernel on the
 * packed panels; other KxK convolutions unfold patches (im2col) into the
 * GEMM. An 8-bit first layer runs on the float direct kernel when that is
 * exact (mn_u8_conv_f32_exact). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

#define MAX_PATCH 8192 /* kh * kw * in_c: the im2col chunk holds at least one patch */

typedef struct {
  int kh, kw, stride, same, ic, oc, fc;
  float lo, hi;               /* float activation range */
  /* float32, and 8-bit layers run in float: GEMM panels (bias first) */
  const mn_f32_gemm *gemm;
  mn_f32_conv1p_fn conv1p;    /* direct KxK kernel on those panels, or NULL */
  float *w;
  /* 8-bit: panels of the level's integer GEMM */
  void *wq;
  mn_requant rq;
  float *scales;              /* per-channel requantization multipliers (owned) */
} conv_state;

static void conv_free(void *p) {
  conv_state *s = p;
  if (!s) return;
  free(s->w);
  free(s->wq);
  free(s->scales);
  free(s);
}

/* Multipliers as XNNPACK computes them (float: in * w[c] / out, one per
 * output channel, or the same for all with per-tensor weights): the first n
 * values, then repeated from channel 0 up to n + 64 so that whole GEMM
 * panels, and rows with the period of mn_dw_period(n), can read them. */
static float *channel_scales(float in_scale, const tfl_tensor *w, int n, float out_scale) {
  const int len = n + 64 > mn_dw_period(n) ? n + 64 : mn_dw_period(n);
  float *s = calloc((size_t)len, sizeof *s);
  if (!s) return NULL;
  for (int c = 0; c < len; c++) {
    const float ws = w->n_scales > 1 ? w->scales[c % n] : w->scale;
    const float p = in_scale * ws;
    s[c] = p / out_scale;
  }
  return s;
}

static int conv_infer(const mn_model *m, const mn_node *n, mn_dims *dims, char *err,
                      size_t size) {
  (void)m;
  const conv_state *s = n->state;
  const mn_dims *in = &dims[n->in[0]];
  if (s->fc) {
    if (mn_dims_count(in) != (size_t)s->ic) {
      snprintf(err, size, "%zu input values for %d weights per output", mn_dims_count(in), s->ic);
      return -1;
    }
    dims[n->out] = (mn_dims){1, 1, 1, s->oc};
    return 0;
  }
  return mn_window_infer(in, s->ic, s->kh, s->kw, s->stride, s->same, s->oc, &dims[n->out], err,
                         size);
}

static mn_conv_geom geometry(const conv_state *s, const mn_dims *in, const mn_dims *out) {
  return mn_window_geometry(in, out, s->kh, s->kw, s->stride, s->same);
}

static int pointwise(const conv_state *s) { return s->fc || (s->kh == 1 && s->kw == 1 && s->stride == 1); }

static void conv_run(const mn_exec *x, const mn_node *n, int ith, int nth) {
  const conv_state *s = n->state;
  const mn_kernels *k = x->kernels;
  const mn_dims *ind = &x->dims[n->in[0]], *outd = &x->dims[n->out];
  const void *in = x->ptr[n->in[0]];
  void *out = x->ptr[n->out];
  const int f32 = x->model->values[n->out].type == MN_VAL_F32;
  const mn_conv_geom g = geometry(s, ind, outd);
  int a, b;
  if (pointwise(s)) {
    const int pixels = outd->h * outd->w;
    if (f32 && pixels == 1) { /* one pixel: panels split between the threads */
      const int nr = s->gemm->nr, panels = (s->oc + nr - 1) / nr;
      mn_split(panels, ith, nth, &a, &b);
      for (int p = a; p < b; p++)
        k->f32_gemv(s->oc - p * nr < nr ? s->oc - p * nr : nr, s->ic, in,
                    s->w + (size_t)p * nr * (s->ic + 1), nr, (float *)out + (size_t)p * nr, s->lo,
                    s->hi);
      return;
    }
    if (f32)
      mn_f32_gemm_run(s->gemm, pixels, s->oc, s->ic, in, (size_t)s->ic, s->w, out, (size_t)s->oc,
                      s->lo, s->hi, ith, nth);
    else
      mn_u8_gemm_run(&k->u8_gemm, pixels, s->oc, s->ic, in, (size_t)s->ic, s->wq, out,
                     (size_t)s->oc, &s->rq, ith, nth);
    return;
  }
  if (f32) {
    mn_split(outd->h, ith, nth, &a, &b);
    if (s->conv1p)
      s->conv1p(&g, in, s->w, out, s->lo, s->hi, a, b);
    else
      mn_f32_conv_gemm(s->gemm, &g, in, s->w, out, s->lo, s->hi, a, b);
    return;
  }
  if (s->conv1p) { /* 8-bit on the float kernel: the input minus its zero point, then rows */
    float *in_f32 = x->scratch[n - x->model->nodes];
    const int count = ind->h * ind->w * ind->c;
    mn_split(count, ith, nth, &a, &b);
    k->f32_from_u8_minus((const uint8_t *)in + a, (size_t)(b - a), s->rq.in_zp, in_f32 + a);
#pragma omp barrier
    mn_split(outd->h, ith, nth, &a, &b);
    mn_u8_conv_direct_f32(k, s->conv1p, s->w, &g, in_f32, &s->rq, out, a, b);
    return;
  }
  mn_split(outd->h, ith, nth, &a, &b);
  mn_u8_conv_gemm(&k->u8_gemm, &g, in, s->wq, out, &s->rq, a, b);
}

static size_t conv_scratch(const mn_model *m, const mn_node *n, const mn_dims *dims) {
  const conv_state *s = n->state;
  if (m->values[n->out].type == MN_VAL_F32 || !s->conv1p) return 0;
  return mn_dims_count(&dims[n->in[0]]) * sizeof(float) + 64;
}

static void conv_describe(const mn_model *m, const mn_node *n, const mn_dims *dims,
                          mn_layer_info *info) {
  (void)m;
  const conv_state *s = n->state;
  if (s->fc)
    snprintf(info->type, sizeof info->type, "fc");
  else if (pointwise(s))
    snprintf(info->type, sizeof info->type, "conv1x1");
  else
    snprintf(info->type, sizeof info->type, "conv%dx%d/s%d", s->kh, s->kw, s->stride);
  info->macs = (int64_t)mn_dims_count(&dims[n->out]) * s->kh * s->kw * s->ic;
}

static int conv_pixel_share(const mn_exec *x, const mn_node *n, int ith, int nth,
                            size_t *pixel0, size_t *pixels) {
  const conv_state *s = n->state;
  const mn_dims *o = &x->dims[n->out];
  int a, b;
  if (pointwise(s)) {
    const int mr = x->model->values[n->out].type == MN_VAL_F32 ? s->gemm->mr
                                                                : x->kernels->u8_gemm.mr;
    if (!mn_gemm_rows(o->h * o->w, mr, ith, nth, &a, &b)) return 0;
    *pixel0 = (size_t)a, *pixels = (size_t)(b - a);
    return 1;
  }
  mn_split(o->h, ith, nth, &a, &b);
  *pixel0 = (size_t)a * o->w, *pixels = (size_t)(b - a) * o->w;
  return 1;
}

const mn_op_class mn_op_conv = {"conv", conv_infer, conv_run, conv_describe, conv_scratch,
                                conv_free, NULL, conv_pixel_share};

/* ---- import ------------------------------------------------------------------ */

/* A quantized KxK convolution with few input channels on the float direct
 * kernel, when exact: packs the float panels and returns 1, else 0. */
static int q8_conv_in_float(const mn_kernels *kern, conv_state *s, const tfl_tensor *w,
                            const int32_t *bq) {
  const int oc = s->oc, k = s->kh * s->kw * s->ic;
  /* float multipliers: rows of the output are requantized with their period */
  if (s->rq.scales && mn_dw_period(oc) > 256) return 0;
  if (!mn_u8_conv_f32_exact(oc, k, bq)) return 0;
  const mn_f32_gemm *gemm = mn_f32_gemm_for(kern, oc);
  mn_f32_conv1p_fn direct = kern->f32_conv1p_for(oc, gemm->nr);
  if (!direct) return 0;
  float *wf = calloc((size_t)oc * (k + 1) + 1, sizeof *wf);
  float *packed = calloc(mn_f32_gemm_packed_size(oc, k, gemm->nr) + 1, sizeof(float));
  uint8_t *wb = malloc((size_t)oc * k + 1);
  if (!wf || !packed || !wb) {
    free(wf), free(packed), free(wb);
    return 0; /* the integer path reports the memory failure */
  }
  for (size_t i = 0; i < (size_t)oc * k; i++) wb[i] = mn_q8_byte(w, i);
  mn_u8_conv_f32_pack(oc, k, gemm->nr, wb, s->rq.w_zp, bq, wf, packed);
  free(wf);
  free(wb);
  s->gemm = gemm;
  s->conv1p = direct;
  s->w = packed;
  if (s->rq.scales) s->rq.period = mn_dw_period(oc);
  return 1;
}

static int build_f32(mn_builder *b, conv_state *s, const tfl_tensor *w, const tfl_tensor *bias) {
  const mn_kernels *kern = b->m->kernels;
  const int K = s->kh * s->kw * s->ic;
  float *bf = calloc((size_t)s->oc, sizeof *bf);
  if (!bf) return mn_build_fail(b, "out of memory");
  if (bias) memcpy(bf, bias->data, (size_t)s->oc * sizeof *bf);
  /* [o][kh][kw][i] is the GEMM's [n][k]; the file's bytes may be unaligned */
  float *wf = malloc((size_t)w->elements * sizeof *wf + 1);
  if (wf) memcpy(wf, w->data, (size_t)w->elements * sizeof *wf);
  s->gemm = pointwise(s) ? mn_f32_gemm_for_pointwise(kern, s->oc) : mn_f32_gemm_for(kern, s->oc);
  s->w = calloc(mn_f32_gemm_packed_size(s->oc, K, s->gemm->nr) + 1, sizeof(float));
  if (wf && s->w) mn_f32_gemm_pack(s->oc, K, s->gemm->nr, wf, bf, s->w);
  if (!pointwise(s) && s->kw * s->ic <= 32) s->conv1p = kern->f32_conv1p_for(s->oc, s->gemm->nr);
  free(wf);
  free(bf);
  return s->w && wf ? 0 : mn_build_fail(b, "out of memory");
}

static int build_q8(mn_builder *b, conv_state *s, const tfl_tensor *in, const tfl_tensor *w,
                    const tfl_tensor *bias, const tfl_tensor *out) {
  const mn_kernels *kern = b->m->kernels;
  const int K = s->kh * s->kw * s->ic;
  int32_t *bq = calloc((size_t)s->oc, sizeof *bq);
  uint8_t *wb = malloc((size_t)w->elements + 1);
  if (!bq || !wb) {
    free(bq), free(wb);
    return mn_build_fail(b, "out of memory");
  }
  if (bias) memcpy(bq, bias->data, (size_t)s->oc * sizeof *bq);
  for (size_t i = 0; i < (size_t)w->elements; i++) wb[i] = mn_q8_byte(w, i);
  s->rq.in_zp = mn_q8_zero_point(in);
  s->rq.w_zp = mn_q8_zero_point(w);
  s->rq.out_zp = mn_q8_zero_point(out);
  s->rq.mult = (double)in->scale * (double)w->scale / (double)out->scale;
  /* per-channel weights, and LiteRT's arithmetic: float multipliers */
  const int fp32 = w->n_scales > 1 || b->m->arith == MN_ARITH_LITERT;
  if (fp32) {
    s->scales = channel_scales(in->scale, w, s->oc, out->scale);
    s->rq.scales = s->scales;
    s->rq.period = INT32_MAX; /* GEMM panels: the column is the channel */
  }
  int rc = 0;
  if (fp32 && !s->scales) {
    rc = mn_build_fail(b, "out of memory");
  } else if (!pointwise(s) && s->kw * s->ic <= 32 && q8_conv_in_float(kern, s, w, bq)) {
    /* the first layer: the float direct convolution, exactly */
  } else {
    const mn_u8_gemm *g = &kern->u8_gemm;
    s->wq = calloc(mn_u8_gemm_packed_size(g, s->oc, K) + 1, 1);
    if (s->wq)
      mn_u8_gemm_pack(g, s->oc, K, wb, s->rq.w_zp, s->rq.in_zp, bq, s->wq);
    else
      rc = mn_build_fail(b, "out of memory");
  }
  free(bq);
  free(wb);
  return rc;
}

int mn_build_conv(mn_builder *b) {
  const tfl_op *op = &b->tfl->ops[b->op];
  const tfl_tensor *in = mn_build_input(b, 0), *w = mn_build_input(b, 1),
                   *bias = mn_build_input(b, 2), *out = mn_build_output(b);
  char name[96];
  if (mn_build_check_activation(b, in, "input") || mn_build_check_activation(b, out, "output"))
    return -1;
  if (!w || !w->data)
    return mn_build_fail(b, "weights %s are not constant",
                         w ? mn_build_tensor_name(b, w, name, sizeof name) : "(absent)");
  const int q8 = in->type != TFL_FLOAT32;
  if ((out->type != TFL_FLOAT32) != q8 || (w->type != TFL_FLOAT32) != q8)
    return mn_build_fail(b, "mixes float32 and quantized tensors (input %s, weights %s, output %s)",
                         tfl_type_name(in->type), tfl_type_name(w->type), tfl_type_name(out->type));
  conv_state *s = calloc(1, sizeof *s);
  if (!s) return mn_build_fail(b, "out of memory");
  int rc = -1;
  s->fc = op->code == TFL_OP_FULLY_CONNECTED;
  if (s->fc) {
    if (op->weights_format != 0) {
      mn_build_fail(b, "uses the shuffled weights format");
      goto done;
    }
    if (w->rank != 2) {
      mn_build_fail(b, "weights %s of rank %d, expected 2",
                    mn_build_tensor_name(b, w, name, sizeof name), w->rank);
      goto done;
    }
    s->oc = w->shape[0], s->ic = w->shape[1], s->kh = s->kw = s->stride = 1;
  } else {
    if (w->rank != 4) {
      mn_build_fail(b, "weights %s of rank %d, expected 4",
                    mn_build_tensor_name(b, w, name, sizeof name), w->rank);
      goto done;
    }
    if (op->dilation_w != 1 || op->dilation_h != 1) {
      mn_build_fail(b, "dilation %dx%d is not supported", op->dilation_h, op->dilation_w);
      goto done;
    }
    if (op->stride_w != op->stride_h || op->stride_w < 1 || op->stride_w > 4) {
      mn_build_fail(b, "stride %dx%d is not supported", op->stride_h, op->stride_w);
      goto done;
    }
    if (op->padding != TFL_PAD_SAME && op->padding != TFL_PAD_VALID) {
      mn_build_fail(b, "padding %d is neither SAME nor VALID", op->padding);
      goto done;
    }
    s->oc = w->shape[0], s->kh = w->shape[1], s->kw = w->shape[2], s->ic = w->shape[3];
    s->stride = op->stride_w;
    s->same = op->padding == TFL_PAD_SAME;
    if (s->kh < 1 || s->kw < 1 || s->kh > 11 || s->kw > 11) {
      mn_build_fail(b, "kernel %dx%d is not supported", s->kh, s->kw);
      goto done;
    }
    if (in->rank == 4 && in->shape[3] != s->ic) {
      mn_build_fail(b, "weights %s for %d input channels, input has %d",
                    mn_build_tensor_name(b, w, name, sizeof name), s->ic, in->shape[3]);
      goto done;
    }
  }
  if (s->oc < 1 || s->ic < 1 || s->oc > MN_MAX_CHANNELS || s->ic > MN_MAX_CHANNELS) {
    mn_build_fail(b, "%d input / %d output channels (at most %d)", s->ic, s->oc, MN_MAX_CHANNELS);
    goto done;
  }
  if (s->kh * s->kw * s->ic > MAX_PATCH) {
    mn_build_fail(b, "%dx%d kernel over %d channels is too large", s->kh, s->kw, s->ic);
    goto done;
  }
  if (mn_build_check_conv_params(b, in, w, bias, out, s->oc, 0)) goto done;
  int32_t qmin, qmax;
  if (mn_build_activation(b, op->activation, out, &s->lo, &s->hi, &qmin, &qmax)) goto done;
  s->rq.qmin = qmin, s->rq.qmax = qmax;
  mn_node *n = mn_build_node(b, &mn_op_conv, 1);
  n->state = s;
  n->params = w->elements + (bias ? bias->elements : 0);
  if (!b->m->kernels) return 0; /* probing: no weights packed */
  rc = q8 ? build_q8(b, s, in, w, bias, out) : build_f32(b, s, w, bias);
  return rc; /* the node owns s now */
done:
  conv_free(s);
  return rc;
}

/* ---- for the depthwise + pointwise bands --------------------------------------- */

int mn_conv_take_hswish(const mn_model *m, mn_node *n) {
  if (n->cls != &mn_op_conv || m->values[n->out].type != MN_VAL_F32) return 0;
  conv_state *s = n->state;
  if (s->lo != -INFINITY || s->hi != INFINITY) return 0;
  s->lo = MN_F32_HSWISH_LO, s->hi = MN_F32_HSWISH_HI;
  return 1;
}

int mn_conv_is_pointwise(const mn_model *m, const mn_node *n, size_t *weight_bytes) {
  if (n->cls != &mn_op_conv) return 0;
  const conv_state *s = n->state;
  if (s->fc || !pointwise(s)) return 0;
  const size_t elem = m->values[n->out].type == MN_VAL_F32 ? sizeof(float) : 1;
  if (weight_bytes) *weight_bytes = (size_t)s->ic * s->oc * elem;
  return 1;
}

void mn_conv_run_pixels(const mn_exec *x, const mn_node *n, const void *a, int pixels, void *c) {
  const conv_state *s = n->state;
  if (x->model->values[n->out].type == MN_VAL_F32)
    mn_f32_gemm_run(s->gemm, pixels, s->oc, s->ic, a, (size_t)s->ic, s->w, c, (size_t)s->oc,
                    s->lo, s->hi, 0, 1);
  else
    mn_u8_gemm_run(&x->kernels->u8_gemm, pixels, s->oc, s->ic, a, (size_t)s->ic, s->wq, c,
                   (size_t)s->oc, &s->rq, 0, 1);
}
