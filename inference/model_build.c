/* model_build.c: turns a parsed TFLite graph into the engine's layer list,
 * checking that it is a MobileNet-like chain the engine can run, and packs
 * the weights once into the layouts of the fast kernels. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "tflite.h"

#define MAX_CHANNELS 4096

typedef struct {
  mn_model *model;
  const tfl_model *tfl;
  char *err;
  size_t err_size;
} builder;

static int fail(builder *b, int op, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (op >= 0)
    snprintf(b->err, b->err_size, "operator %d (%s): %s", op,
             tfl_op_name(b->tfl->ops[op].code), msg);
  else
    snprintf(b->err, b->err_size, "%s", msg);
  return -1;
}

static const tfl_tensor *tensor(builder *b, int index) {
  return index >= 0 && index < b->tfl->n_tensors ? &b->tfl->tensors[index] : NULL;
}

static void *alloc_array(size_t count, size_t elem) {
  return calloc(count ? count : 1, elem);
}

/* Activation range of a layer, float and uint8 (TFLite's CalculateActivationRangeUint8). */
static int activation_range(builder *b, int op_i, const tfl_op *op, const tfl_tensor *out,
                            mn_layer *L) {
  switch (op->activation) {
    case TFL_ACT_NONE: L->act_min = -INFINITY; L->act_max = INFINITY; break;
    case TFL_ACT_RELU: L->act_min = 0.0f; L->act_max = INFINITY; break;
    case TFL_ACT_RELU6: L->act_min = 0.0f; L->act_max = 6.0f; break;
    default: return fail(b, op_i, "fused activation %d is not supported", op->activation);
  }
  L->rq.qmin = 0;
  L->rq.qmax = 255;
  if (b->model->dtype == MN_DTYPE_U8) {
    int32_t zp = out->zero_point;
    if (op->activation == TFL_ACT_RELU || op->activation == TFL_ACT_RELU6)
      L->rq.qmin = zp > 0 ? zp : 0;
    if (op->activation == TFL_ACT_RELU6) {
      int32_t top = zp + (int32_t)lroundf(6.0f / out->scale);
      L->rq.qmax = top < 255 ? top : 255;
    }
  }
  return 0;
}

/* Checks the tensor types of a quantized or float operator. */
static int check_types(builder *b, int op_i, const tfl_tensor *in, const tfl_tensor *w,
                       const tfl_tensor *bias, const tfl_tensor *out) {
  const int u8 = b->model->dtype == MN_DTYPE_U8;
  const int act = u8 ? TFL_UINT8 : TFL_FLOAT32;
  if (in->type != act || out->type != act)
    return fail(b, op_i, "mixes tensor types (%d -> %d) in a %s model", in->type, out->type,
                u8 ? "uint8" : "float32");
  if (u8 && (!in->quantized || !out->quantized))
    return fail(b, op_i, "uint8 tensor without quantization parameters");
  if (w) {
    if (w->type != act || !w->data) return fail(b, op_i, "weights are not constant %s",
                                                u8 ? "uint8" : "float32");
    if (u8 && !w->quantized) return fail(b, op_i, "weights without quantization parameters");
  }
  if (bias) {
    if (bias->type != (u8 ? TFL_INT32 : TFL_FLOAT32) || !bias->data)
      return fail(b, op_i, "bias is not constant %s", u8 ? "int32" : "float32");
  }
  return 0;
}

/* A uint8 KxK convolution with few input channels (the first layer) runs on
 * the float direct kernel when that is exact (mn_u8_conv_f32_exact): packs
 * the float panels and returns 1, or returns 0 (the integer GEMM path). */
static int u8_conv_in_float(const mn_kernels *kern, mn_layer *L, const tfl_tensor *w,
                            const int32_t *bq, int k) {
  const int oc = L->out_c;
  if (!mn_u8_conv_f32_exact(oc, k, bq)) return 0;
  const mn_f32_gemm *gemm = mn_f32_gemm_for(kern, oc);
  mn_f32_conv1p_fn direct = kern->f32_conv1p_for(oc, gemm->nr);
  if (!direct) return 0;
  float *wf = alloc_array((size_t)oc * (k + 1), sizeof *wf);
  float *packed = alloc_array(mn_f32_gemm_packed_size(oc, k, gemm->nr), sizeof(float));
  if (!wf || !packed) {
    free(wf), free(packed);
    return 0; /* the integer path reports the memory failure */
  }
  mn_u8_conv_f32_pack(oc, k, gemm->nr, w->data, w->zero_point, bq, wf, packed);
  free(wf);
  L->gemm = gemm;
  L->conv1p = direct;
  L->w = packed;
  return 1;
}

static int build_conv(builder *b, int op_i, mn_layer *L, int depthwise) {
  const tfl_op *op = &b->tfl->ops[op_i];
  const tfl_tensor *in = tensor(b, op->inputs[0]);
  const tfl_tensor *w = tensor(b, op->n_inputs > 1 ? op->inputs[1] : -1);
  const tfl_tensor *bias = tensor(b, op->n_inputs > 2 ? op->inputs[2] : -1);
  const tfl_tensor *out = tensor(b, op->output);
  if (!w) return fail(b, op_i, "has no weights");
  if (check_types(b, op_i, in, w, bias, out)) return -1;
  const int fc = op->code == TFL_OP_FULLY_CONNECTED;
  int oc, kh, kw, ic;
  if (fc) {
    if (w->rank != 2) return fail(b, op_i, "weights of rank %d, expected 2", w->rank);
    oc = w->shape[0], ic = w->shape[1], kh = kw = 1;
    if (in->elements != ic)
      return fail(b, op_i, "input of %lld values for %d weights per output",
                  (long long)in->elements, ic);
  } else {
    if (w->rank != 4 || in->rank != 4 || out->rank != 4)
      return fail(b, op_i, "expects 4-D input, weights and output");
    if (op->dilation_w != 1 || op->dilation_h != 1)
      return fail(b, op_i, "dilation %dx%d is not supported", op->dilation_h, op->dilation_w);
    if (op->stride_w != op->stride_h || op->stride_w < 1 || op->stride_w > 4)
      return fail(b, op_i, "stride %dx%d is not supported", op->stride_h, op->stride_w);
    kh = w->shape[1], kw = w->shape[2];
    ic = in->shape[3];
    if (depthwise) {
      oc = w->shape[3];
      if (op->depth_multiplier != 1 || oc != ic)
        return fail(b, op_i, "depth multiplier %d is not supported", op->depth_multiplier);
    } else {
      oc = w->shape[0];
      if (w->shape[3] != ic)
        return fail(b, op_i, "weights for %d input channels, input has %d", w->shape[3], ic);
    }
    if (out->shape[3] != oc)
      return fail(b, op_i, "output has %d channels, weights give %d", out->shape[3], oc);
    if (kh < 1 || kw < 1 || kh > 7 || kw > 7)
      return fail(b, op_i, "kernel %dx%d is not supported", kh, kw);
  }
  if (oc < 1 || ic < 1 || oc > MAX_CHANNELS || ic > MAX_CHANNELS)
    return fail(b, op_i, "%d input / %d output channels (at most %d)", ic, oc, MAX_CHANNELS);
  if (!depthwise && kh * kw * ic > 8192)
    return fail(b, op_i, "%dx%d kernel over %d channels is too large", kh, kw, ic);
  if (bias && bias->elements != oc)
    return fail(b, op_i, "bias of %lld values for %d channels", (long long)bias->elements, oc);
  if (activation_range(b, op_i, op, out, L)) return -1;

  L->kind = depthwise ? MN_LAYER_DWCONV
            : (kh == 1 && kw == 1 && (fc || op->stride_w == 1)) ? MN_LAYER_CONV1X1
                                                                 : MN_LAYER_CONV;
  L->fully_connected = fc;
  L->kh = kh, L->kw = kw;
  L->stride = fc ? 1 : op->stride_w;
  L->same_padding = !fc && op->padding == TFL_PAD_SAME;
  L->in_c = ic, L->out_c = oc;
  L->params = w->elements + (bias ? bias->elements : 0);

  const size_t nw = (size_t)w->elements;
  const mn_model *m = b->model;
  if (m->dtype == MN_DTYPE_F32) {
    float *wf = alloc_array(nw, sizeof *wf), *bf = alloc_array((size_t)oc, sizeof *bf);
    if (!wf || !bf) {
      free(wf), free(bf);
      return fail(b, op_i, "out of memory");
    }
    memcpy(wf, w->data, nw * sizeof *wf);
    if (bias) memcpy(bf, bias->data, (size_t)oc * sizeof *bf);
    L->bias = bf;
    if (L->kind == MN_LAYER_DWCONV) {
      L->w = alloc_array((size_t)(kh * kw + 1) * mn_dw_period(oc), sizeof(float));
      if (L->w) mn_f32_dw_pack(kh, kw, oc, wf, bf, L->w);
    } else { /* conv1x1 and KxK conv: [o][kh][kw][i] is the GEMM's [n][k] */
      L->gemm = mn_f32_gemm_for(m->kernels, oc);
      const int nr = L->gemm->nr;
      L->w = alloc_array(mn_f32_gemm_packed_size(oc, kh * kw * ic, nr), sizeof(float));
      if (L->w) mn_f32_gemm_pack(oc, kh * kw * ic, nr, wf, bf, L->w);
      /* The first layer (3 input channels): direct, if its channels fill one panel. */
      if (L->kind == MN_LAYER_CONV && kw * ic <= 32)
        L->conv1p = m->kernels->f32_conv1p_for(oc, nr);
    }
    free(wf);
    if (!L->w) return fail(b, op_i, "out of memory");
    return 0;
  }

  /* uint8 */
  const uint8_t *wq = w->data;
  int32_t *bq = alloc_array((size_t)oc, sizeof *bq);
  if (!bq) return fail(b, op_i, "out of memory");
  if (bias) memcpy(bq, bias->data, (size_t)oc * sizeof *bq);
  L->bias_q = bq;
  L->rq.mult = (double)in->scale * (double)w->scale / (double)out->scale;
  L->rq.in_zp = in->zero_point;
  L->rq.w_zp = w->zero_point;
  L->rq.out_zp = out->zero_point;
  if (L->kind == MN_LAYER_CONV && kw * ic <= 32 && u8_conv_in_float(m->kernels, L, w, bq, kh * kw * ic)) {
    return 0; /* the first layer: the float direct convolution, exactly */
  } else if (L->kind == MN_LAYER_DWCONV) {
    L->wq = alloc_array((size_t)(kh * kw + 1) * mn_dw_period(oc), sizeof(int32_t));
    if (L->wq) mn_u8_dw_pack(kh, kw, oc, wq, w->zero_point, bq, L->wq);
  } else {
    const mn_u8_gemm *g = &m->kernels->u8_gemm;
    L->wq = alloc_array(mn_u8_gemm_packed_size(g, oc, kh * kw * ic), 1);
    if (L->wq)
      mn_u8_gemm_pack(g, oc, kh * kw * ic, wq, w->zero_point, in->zero_point, bq, L->wq);
  }
  if (!L->wq) return fail(b, op_i, "out of memory");
  return 0;
}

static int build_pool(builder *b, int op_i, mn_layer *L) {
  const tfl_op *op = &b->tfl->ops[op_i];
  const tfl_tensor *in = tensor(b, op->inputs[0]), *out = tensor(b, op->output);
  if (check_types(b, op_i, in, NULL, NULL, out)) return -1;
  if (in->rank != 4 || out->rank != 4)
    return fail(b, op_i, "expects 4-D input and output");
  /* MobileNet pools the whole final map; at another resolution the map
   * changes size, so only a window covering the whole input is supported. */
  if (op->filter_h != in->shape[1] || op->filter_w != in->shape[2] ||
      out->shape[1] != 1 || out->shape[2] != 1)
    return fail(b, op_i, "a %dx%d window over a %dx%d input is not a global pool",
                op->filter_h, op->filter_w, in->shape[1], in->shape[2]);
  if (b->model->dtype == MN_DTYPE_U8 &&
      (in->scale != out->scale || in->zero_point != out->zero_point))
    return fail(b, op_i, "requantizing average pool is not supported");
  if (activation_range(b, op_i, op, out, L)) return -1;
  L->kind = MN_LAYER_AVGPOOL;
  L->in_c = L->out_c = in->shape[3];
  return 0;
}

static int build_softmax(builder *b, int op_i, mn_layer *L) {
  const tfl_op *op = &b->tfl->ops[op_i];
  const tfl_tensor *in = tensor(b, op->inputs[0]), *out = tensor(b, op->output);
  if (check_types(b, op_i, in, NULL, NULL, out)) return -1;
  L->kind = MN_LAYER_SOFTMAX;
  L->beta = op->beta;
  L->in_c = L->out_c = (int)in->elements;
  L->in_scale = in->scale, L->out_scale = out->scale;
  L->in_zp = in->zero_point, L->out_zp = out->zero_point;
  return 0;
}

int mn_build_layers(mn_model *m, const void *tfl_v, char *err, size_t err_size) {
  const tfl_model *tfl = tfl_v;
  builder b = {m, tfl, err, err_size};
  const tfl_tensor *in = &tfl->tensors[tfl->input];
  const tfl_tensor *out = &tfl->tensors[tfl->output];

  if (in->rank != 4 || in->shape[0] != 1 || in->shape[1] != in->shape[2] || in->shape[3] != 3)
    return fail(&b, -1, "input tensor is not [1, S, S, 3] (rank %d)", in->rank);
  if (in->type == TFL_FLOAT32)
    m->dtype = MN_DTYPE_F32;
  else if (in->type == TFL_UINT8 && in->quantized)
    m->dtype = MN_DTYPE_U8;
  else
    return fail(&b, -1, "input tensor type %d is not float32 or quantized uint8", in->type);
  m->resolution = in->shape[1];
  m->in_scale = in->scale, m->in_zp = in->zero_point;
  m->classes = (int)out->elements;
  m->out_scale = out->scale, m->out_zp = out->zero_point;
  if (m->classes != 1000 && m->classes != 1001)
    return fail(&b, -1, "output has %d classes, expected 1000 or 1001 (ImageNet)", m->classes);
  if (out->type != in->type)
    return fail(&b, -1, "output type differs from the input type");

  m->layers = calloc((size_t)tfl->n_ops, sizeof *m->layers);
  if (!m->layers) return fail(&b, -1, "out of memory");
  int current = tfl->input;
  for (int i = 0; i < tfl->n_ops; i++) {
    const tfl_op *op = &tfl->ops[i];
    mn_layer *L = &m->layers[m->n_layers];
    if (op->inputs[0] != current)
      return fail(&b, i, "the graph is not a single chain of layers");
    int rc;
    switch (op->code) {
      case TFL_OP_CONV_2D: rc = build_conv(&b, i, L, 0); break;
      case TFL_OP_DEPTHWISE_CONV_2D: rc = build_conv(&b, i, L, 1); break;
      case TFL_OP_FULLY_CONNECTED: rc = build_conv(&b, i, L, 0); break;
      case TFL_OP_AVERAGE_POOL_2D: rc = build_pool(&b, i, L); break;
      case TFL_OP_SOFTMAX: rc = build_softmax(&b, i, L); break;
      default: /* RESHAPE, SQUEEZE */
        if (tensor(&b, op->output)->elements != tensor(&b, current)->elements)
          return fail(&b, i, "changes the number of values");
        L->kind = MN_LAYER_RESHAPE;
        rc = 0;
    }
    m->n_layers++;
    if (rc) return -1;
    current = op->output;
  }
  if (current != tfl->output)
    return fail(&b, -1, "the last operator does not produce the graph output");
  if (m->layers[0].kind != MN_LAYER_CONV && m->layers[0].kind != MN_LAYER_CONV1X1)
    return fail(&b, 0, "a MobileNet starts with a convolution");
  /* Width multiplier: the first convolution has 32 * alpha filters. */
  m->alpha = (float)m->layers[0].out_c / 32.0f;
  return 0;
}

void mn_free_layers(mn_model *m) {
  for (int i = 0; i < m->n_layers; i++) {
    free(m->layers[i].w);
    free(m->layers[i].bias);
    free(m->layers[i].wq);
    free(m->layers[i].bias_q);
  }
  free(m->layers);
  m->layers = NULL;
  m->n_layers = 0;
}

int mn_plan_shapes(const mn_model *m, int size, mn_layer_shape *shapes, char *err,
                   size_t err_size) {
  int h = size, w = size, c = 3;
  for (int i = 0; i < m->n_layers; i++) {
    const mn_layer *L = &m->layers[i];
    mn_layer_shape *s = &shapes[i];
    s->in_h = h, s->in_w = w, s->in_c = c;
    s->pad_top = s->pad_left = 0;
    switch (L->kind) {
      case MN_LAYER_CONV:
      case MN_LAYER_CONV1X1:
      case MN_LAYER_DWCONV:
        if (L->fully_connected) {
          if ((int64_t)h * w * c != L->in_c) goto mismatch;
          h = w = 1;
        } else {
          if (c != L->in_c) goto mismatch;
          if (L->same_padding) {
            int oh = (h + L->stride - 1) / L->stride, ow = (w + L->stride - 1) / L->stride;
            int ph = (oh - 1) * L->stride + L->kh - h, pw = (ow - 1) * L->stride + L->kw - w;
            s->pad_top = ph > 0 ? ph / 2 : 0;
            s->pad_left = pw > 0 ? pw / 2 : 0;
            h = oh, w = ow;
          } else {
            if (h < L->kh || w < L->kw) {
              snprintf(err, err_size, "input %dx%d is too small for layer %d", size, size, i);
              return -1;
            }
            h = (h - L->kh) / L->stride + 1, w = (w - L->kw) / L->stride + 1;
          }
        }
        c = L->out_c;
        break;
      case MN_LAYER_AVGPOOL:
        h = w = 1;
        break;
      case MN_LAYER_RESHAPE:
        break;
      case MN_LAYER_SOFTMAX:
        /* The kernel runs over the declared count: it must be what the
         * network computes (a crafted file could declare more). */
        if ((int64_t)h * w * c != L->in_c) goto mismatch;
        break;
    }
    s->out_h = h, s->out_w = w, s->out_c = c;
  }
  if ((int64_t)h * w * c != m->classes) goto mismatch; /* the scores read `classes` values */
  return 0;
mismatch:
  snprintf(err, err_size, "layer shapes do not chain at input size %d", size);
  return -1;
}
