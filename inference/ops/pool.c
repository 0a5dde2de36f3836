/* pool.c: AVERAGE_POOL_2D (global or windowed) and MEAN over height and
 * width, float32 and 8-bit.
 *
 * A pool whose window covers the whole input in the file (MobileNet's last
 * pool, v3's squeeze-excite pools) stays global at any resolution: the
 * network is fully convolutional up to it. 8-bit averages with equal input
 * and output quantization use TFLite's integer rounding, (sum + n/2) / n;
 * otherwise the average is requantized from (sum - n zp) * s_in / (n s_out). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

typedef struct {
  int global;
  int fh, fw, stride, same;
  float lo, hi;
  int32_t qmin, qmax;
  int32_t in_zp, out_zp;
  int rescale;  /* 8-bit with different input and output quantization */
  double scale; /* s_in / s_out */
  int mean;     /* from MEAN (for the summary) */
} pool_state;

static int pool_infer(const mn_model *m, const mn_node *n, mn_dims *dims, char *err, size_t size) {
  (void)m;
  const pool_state *s = n->state;
  const mn_dims *in = &dims[n->in[0]];
  if (s->global) {
    dims[n->out] = (mn_dims){1, 1, 1, in->c};
    return 0;
  }
  int pad;
  const int oh = mn_conv_out_size(in->h, s->fh, s->stride, s->same, &pad);
  const int ow = mn_conv_out_size(in->w, s->fw, s->stride, s->same, &pad);
  if (oh < 1 || ow < 1) {
    snprintf(err, size, "a %dx%d input is smaller than the %dx%d window", in->h, in->w, s->fh,
             s->fw);
    return -1;
  }
  dims[n->out] = (mn_dims){1, oh, ow, in->c};
  return 0;
}

static uint8_t q8_average(const pool_state *s, int64_t sum, int count) {
  int64_t v;
  if (!s->rescale) {
    v = (sum + count / 2) / count; /* sum >= 0: the bytes are unsigned */
  } else {
    const double r = (double)(sum - (int64_t)count * s->in_zp) * (s->scale / count);
    v = s->out_zp + (int64_t)(r >= 0 ? floor(r + 0.5) : -floor(-r + 0.5));
  }
  return (uint8_t)(v < s->qmin ? s->qmin : v > s->qmax ? s->qmax : v);
}

/* Output rows [y0, y1) of a windowed pool: the average over in-bounds cells. */
static void pool_window(const pool_state *s, const mn_dims *in, const mn_dims *out, int f32,
                        const void *src, void *dst, int y0, int y1) {
  int pt, pl;
  mn_conv_out_size(in->h, s->fh, s->stride, s->same, &pt);
  mn_conv_out_size(in->w, s->fw, s->stride, s->same, &pl);
  const int C = in->c;
  for (int y = y0; y < y1; y++)
    for (int x = 0; x < out->w; x++) {
      const int ya = y * s->stride - pt, xa = x * s->stride - pl;
      const int yb = ya + s->fh < in->h ? ya + s->fh : in->h, xb = xa + s->fw < in->w ? xa + s->fw : in->w;
      const int y_0 = ya > 0 ? ya : 0, x_0 = xa > 0 ? xa : 0;
      const int count = (yb - y_0) * (xb - x_0);
      const size_t o = ((size_t)y * out->w + x) * C;
      for (int c = 0; c < C; c++) {
        if (f32) {
          double sum = 0.0;
          for (int iy = y_0; iy < yb; iy++)
            for (int ix = x_0; ix < xb; ix++)
              sum += ((const float *)src)[((size_t)iy * in->w + ix) * C + c];
          float v = count > 0 ? (float)(sum / count) : 0.0f;
          ((float *)dst)[o + c] = v < s->lo ? s->lo : v > s->hi ? s->hi : v;
        } else {
          int64_t sum = 0;
          for (int iy = y_0; iy < yb; iy++)
            for (int ix = x_0; ix < xb; ix++)
              sum += ((const uint8_t *)src)[((size_t)iy * in->w + ix) * C + c];
          ((uint8_t *)dst)[o + c] = count > 0 ? q8_average(s, sum, count) : (uint8_t)s->out_zp;
        }
      }
    }
}

static void pool_run(const mn_exec *x, const mn_node *n, int ith, int nth) {
  const pool_state *s = n->state;
  const mn_dims *in = &x->dims[n->in[0]], *out = &x->dims[n->out];
  const int f32 = x->model->values[n->out].type == MN_VAL_F32;
  const void *src = x->ptr[n->in[0]];
  void *dst = x->ptr[n->out];
  int a, b;
  if (!s->global) {
    mn_split(out->h, ith, nth, &a, &b);
    pool_window(s, in, out, f32, src, dst, a, b);
    return;
  }
  mn_split(in->c, ith, nth, &a, &b);
  const int pixels = in->h * in->w;
  if (f32) {
    x->kernels->f32_avgpool(src, pixels, in->c, dst, s->lo, s->hi, a, b);
  } else if (!s->rescale) {
    mn_u8_avgpool(src, pixels, in->c, dst, s->qmin, s->qmax, a, b);
  } else {
    for (int c = a; c < b; c++) {
      int64_t sum = 0;
      for (int p = 0; p < pixels; p++) sum += ((const uint8_t *)src)[(size_t)p * in->c + c];
      ((uint8_t *)dst)[c] = q8_average(s, sum, pixels);
    }
  }
}

static void pool_describe(const mn_model *m, const mn_node *n, const mn_dims *dims,
                          mn_layer_info *info) {
  (void)m, (void)dims;
  const pool_state *s = n->state;
  snprintf(info->type, sizeof info->type, "%s", s->mean ? "mean" : "avgpool");
}

const mn_op_class mn_op_avgpool = {"pool", pool_infer, pool_run, pool_describe, NULL, NULL, NULL, NULL};

int mn_build_pool(mn_builder *b) {
  const tfl_op *op = &b->tfl->ops[b->op];
  const tfl_tensor *in = mn_build_input(b, 0), *out = mn_build_output(b);
  char name[96];
  if (mn_build_check_activation(b, in, "input") || mn_build_check_activation(b, out, "output"))
    return -1;
  if ((in->type == TFL_FLOAT32) != (out->type == TFL_FLOAT32))
    return mn_build_fail(b, "mixes float32 and quantized tensors");
  if (in->rank != 4)
    return mn_build_fail(b, "input %s has rank %d, expected 4",
                         mn_build_tensor_name(b, in, name, sizeof name), in->rank);
  pool_state *s = calloc(1, sizeof *s);
  if (!s) return mn_build_fail(b, "out of memory");
  int activation = TFL_ACT_NONE;
  if (op->code == TFL_OP_MEAN) {
    const tfl_tensor *axes = mn_build_input(b, 1);
    int ax[4], n_ax = 0;
    if (axes && axes->data && axes->type == TFL_INT32 && axes->elements <= 4)
      for (int i = 0; i < axes->elements; i++) {
        int32_t v;
        memcpy(&v, axes->data + 4 * i, 4);
        ax[n_ax++] = v < 0 ? v + 4 : v;
      }
    const int hw = n_ax == 2 && ((ax[0] == 1 && ax[1] == 2) || (ax[0] == 2 && ax[1] == 1));
    if (!hw) {
      free(s);
      return mn_build_fail(b, "only a mean over height and width (axes 1, 2) is supported");
    }
    s->global = 1;
    s->mean = 1;
  } else {
    if (op->stride_w != op->stride_h || op->stride_w < 1 || op->stride_w > 8 ||
        op->filter_w < 1 || op->filter_h < 1 || op->filter_w > 64 || op->filter_h > 64 ||
        (op->padding != TFL_PAD_SAME && op->padding != TFL_PAD_VALID)) {
      free(s);
      return mn_build_fail(b, "window %dx%d, stride %dx%d, padding %d is not supported",
                           op->filter_h, op->filter_w, op->stride_h, op->stride_w, op->padding);
    }
    s->fh = op->filter_h, s->fw = op->filter_w, s->stride = op->stride_w;
    s->same = op->padding == TFL_PAD_SAME;
    /* the window covers the file's whole input: global at every resolution */
    s->global = op->filter_h >= in->shape[1] && op->filter_w >= in->shape[2] &&
                (op->padding == TFL_PAD_VALID || (in->shape[1] == 1 && in->shape[2] == 1));
    activation = op->activation;
  }
  int32_t qmin, qmax;
  if (mn_build_activation(b, activation, out, &s->lo, &s->hi, &qmin, &qmax)) {
    free(s);
    return -1;
  }
  s->qmin = qmin, s->qmax = qmax;
  if (in->type != TFL_FLOAT32) {
    s->in_zp = mn_q8_zero_point(in);
    s->out_zp = mn_q8_zero_point(out);
    s->rescale = in->scale != out->scale || s->in_zp != s->out_zp;
    s->scale = (double)in->scale / (double)out->scale;
    if (mn_build_check_multiplier(b, s->scale, "requantization multiplier")) {
      free(s);
      return -1;
    }
  }
  mn_node *n = mn_build_node(b, &mn_op_avgpool, 1);
  n->state = s;
  return 0;
}
