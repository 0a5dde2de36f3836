/* quantize.c: QUANTIZE (float32 -> 8-bit, 8-bit -> 8-bit) and DEQUANTIZE.
 *
 * In the engine's uint8 domain the QUANTIZE operators TensorFlow 2 puts
 * around an int8 graph (uint8 input -> int8, int8 output -> uint8, same
 * scale, zero points 128 apart) change nothing: such a node shares its
 * input's storage and costs nothing. Other 8-bit requantizations go through
 * a table of 256 bytes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

typedef enum { QZ_IDENTITY, QZ_TABLE, QZ_FROM_F32, QZ_TO_F32 } quantize_kind;

typedef struct {
  quantize_kind kind;
  float scale, inv_scale;
  int32_t zp;
  uint8_t lut[256];
} quantize_state;

static int quantize_infer(const mn_model *m, const mn_node *n, mn_dims *dims, char *err,
                          size_t size) {
  (void)m, (void)err, (void)size;
  dims[n->out] = dims[n->in[0]];
  return 0;
}

static void quantize_run(const mn_exec *x, const mn_node *n, int ith, int nth) {
  const quantize_state *s = n->state;
  if (s->kind == QZ_IDENTITY) return; /* same storage */
  const size_t count = mn_dims_count(&x->dims[n->out]);
  int a, b;
  mn_split((int)count, ith, nth, &a, &b);
  const void *in = x->ptr[n->in[0]];
  void *out = x->ptr[n->out];
  switch (s->kind) {
    case QZ_TABLE:
      x->kernels->u8_lut((const uint8_t *)in + a, (size_t)(b - a), s->lut, (uint8_t *)out + a);
      break;
    case QZ_TO_F32:
      for (int i = a; i < b; i++)
        ((float *)out)[i] = (float)((int32_t)((const uint8_t *)in)[i] - s->zp) * s->scale;
      break;
    case QZ_FROM_F32:
      for (int i = a; i < b; i++) {
        float v = ((const float *)in)[i] * s->inv_scale + (float)s->zp;
        v = isnan(v) ? 0.0f : nearbyintf(v);
        ((uint8_t *)out)[i] = (uint8_t)(v < 0.0f ? 0 : v > 255.0f ? 255 : (int)v);
      }
      break;
    default:
      break;
  }
}

static void quantize_describe(const mn_model *m, const mn_node *n, const mn_dims *dims,
                              mn_layer_info *info) {
  (void)m, (void)dims;
  snprintf(info->type, sizeof info->type, "%s",
           n->tfl_code == TFL_OP_DEQUANTIZE ? "dequantize" : "quantize");
}

const mn_op_class mn_op_quantize = {"quantize", quantize_infer, quantize_run, quantize_describe,
                                    NULL, NULL, NULL, NULL};

int mn_build_quantize(mn_builder *b) {
  const tfl_op *op = &b->tfl->ops[b->op];
  const tfl_tensor *in = mn_build_input(b, 0), *out = mn_build_output(b);
  if (mn_build_check_activation(b, in, "input") || mn_build_check_activation(b, out, "output"))
    return -1;
  const int fin = in->type == TFL_FLOAT32, fout = out->type == TFL_FLOAT32;
  if (op->code == TFL_OP_DEQUANTIZE ? (fin || !fout) : fout)
    return mn_build_fail(b, "converts %s to %s", tfl_type_name(in->type), tfl_type_name(out->type));
  quantize_state *s = calloc(1, sizeof *s);
  if (!s) return mn_build_fail(b, "out of memory");
  if (fout) {
    s->kind = QZ_TO_F32;
    s->scale = in->scale;
    s->zp = mn_q8_zero_point(in);
  } else if (fin) {
    s->kind = QZ_FROM_F32;
    s->inv_scale = 1.0f / out->scale;
    s->zp = mn_q8_zero_point(out);
  } else if (in->scale == out->scale && mn_q8_zero_point(in) == mn_q8_zero_point(out)) {
    s->kind = QZ_IDENTITY;
  } else {
    s->kind = QZ_TABLE;
    const double r = (double)in->scale / (double)out->scale;
    if (mn_build_check_multiplier(b, r, "requantization multiplier")) {
      free(s);
      return -1;
    }
    const int32_t zi = mn_q8_zero_point(in), zo = mn_q8_zero_point(out);
    for (int q = 0; q < 256; q++) {
      const double v = (q - zi) * r;
      const long t = zo + (long)(v >= 0 ? floor(v + 0.5) : -floor(-v + 0.5));
      s->lut[q] = (uint8_t)(t < 0 ? 0 : t > 255 ? 255 : t);
    }
  }
  mn_node *n = mn_build_node(b, &mn_op_quantize, 1);
  n->state = s;
  if (s->kind == QZ_IDENTITY) b->m->values[n->out].alias_of = b->m->values[n->in[0]].alias_of;
  return 0;
}
