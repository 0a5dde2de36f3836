/* softmax.c: SOFTMAX over the last dimension, float32 and 8-bit.
 * float32: the level's vector exp, sums in double (within 1e-6 relative of
 * the double reference). 8-bit: LiteRT leaves it to TFLite's optimized
 * kernel, a table of 256 float exponentials summed in float, in order; the
 * reference arithmetic (MN_ARITH_REFERENCE) is TFLite's semantics in double
 * (kernels/reference.c, mn_u8_softmax). */
#include <math.h>
#include <stdlib.h>

#include "ops.h"

typedef struct {
  float beta, in_scale, out_scale;
  int32_t out_zp;
  int reference;     /* MN_ARITH_REFERENCE */
  float table[256];  /* table[255 - d] = expf(-in_scale * beta * d) */
} softmax_state;

/* TFLite's optimized_ops::Softmax for 8-bit: the sum in float in element
 * order, probabilities times 1 / (sum * out_scale), rounded as TFLite
 * rounds on x86 (uint8: + 0.5 and truncation; int8: std::round). */
static void q8_softmax_table(const softmax_state *s, const uint8_t *in, int n, int int8,
                             uint8_t *out) {
  int mx = in[0];
  for (int i = 1; i < n; i++) mx = in[i] > mx ? in[i] : mx;
  const float *t = s->table + 255 - mx;
  float sum = 0.0f;
  for (int i = 0; i < n; i++) sum += t[in[i]];
  const float inv = 1.0f / (sum * s->out_scale);
  for (int i = 0; i < n; i++) {
    const float p = t[in[i]] * inv;
    const int32_t q = (int8 ? (int32_t)roundf(p) : (int32_t)(p + 0.5f)) + s->out_zp;
    out[i] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
  }
}

static int softmax_infer(const mn_model *m, const mn_node *n, mn_dims *dims, char *err,
                         size_t size) {
  (void)m, (void)err, (void)size;
  dims[n->out] = dims[n->in[0]];
  return 0;
}

static void softmax_run(const mn_exec *x, const mn_node *n, int ith, int nth) {
  const softmax_state *s = n->state;
  const mn_dims *d = &x->dims[n->out];
  const int rows = d->n * d->h * d->w, C = d->c;
  int a, b;
  mn_split(rows, ith, nth, &a, &b);
  for (int r = a; r < b; r++) {
    const size_t o = (size_t)r * C;
    if (x->model->values[n->out].type == MN_VAL_F32)
      x->kernels->f32_softmax((const float *)x->ptr[n->in[0]] + o, C, s->beta,
                              (float *)x->ptr[n->out] + o);
    else if (s->reference)
      mn_u8_softmax((const uint8_t *)x->ptr[n->in[0]] + o, C, s->beta, s->in_scale, s->out_scale,
                    s->out_zp, (uint8_t *)x->ptr[n->out] + o);
    else
      q8_softmax_table(s, (const uint8_t *)x->ptr[n->in[0]] + o, C,
                       x->model->values[n->out].file_type == TFL_INT8,
                       (uint8_t *)x->ptr[n->out] + o);
  }
}

static void softmax_describe(const mn_model *m, const mn_node *n, const mn_dims *dims,
                             mn_layer_info *info) {
  (void)m, (void)n, (void)dims;
  snprintf(info->type, sizeof info->type, "softmax");
}

const mn_op_class mn_op_softmax = {"softmax", softmax_infer, softmax_run, softmax_describe, NULL,
                                   NULL, NULL, NULL};

int mn_build_softmax(mn_builder *b) {
  const tfl_op *op = &b->tfl->ops[b->op];
  const tfl_tensor *in = mn_build_input(b, 0), *out = mn_build_output(b);
  if (mn_build_check_activation(b, in, "input") || mn_build_check_activation(b, out, "output"))
    return -1;
  if ((in->type == TFL_FLOAT32) != (out->type == TFL_FLOAT32))
    return mn_build_fail(b, "mixes float32 and quantized tensors");
  if (!(op->beta > 0.0f && op->beta <= 1e6f))
    return mn_build_fail(b, "beta %g is not a positive number", (double)op->beta);
  softmax_state *s = calloc(1, sizeof *s);
  if (!s) return mn_build_fail(b, "out of memory");
  s->beta = op->beta;
  s->in_scale = in->scale;
  s->out_scale = out->scale;
  s->out_zp = mn_q8_zero_point(out);
  s->reference = b->m->arith == MN_ARITH_REFERENCE;
  const float scale = -in->scale * op->beta; /* PopulateSoftmaxLookupTable */
  for (int v = 0; v < 256; v++) s->table[255 - v] = expf(scale * (float)v);
  mn_node *n = mn_build_node(b, &mn_op_softmax, 1);
  n->state = s;
  return 0;
}
