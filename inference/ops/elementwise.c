/* elementwise.c: ADD, SUB, MUL (same shape, per-channel [1,1,1,C] or scalar
 * broadcast of either operand) and HARD_SWISH, RELU, RELU6, LOGISTIC.
 *
 * 8-bit arithmetic is XNNPACK's, which LiteRT runs, so that v3's
 * squeeze-excite and hard-swish give the bytes LiteRT gives:
 *  - ADD / SUB: fixed point, multipliers of about 21 bits and a common shift
 *    derived from the larger of s_a / s_out and s_b / s_out (float), then an
 *    arithmetic shift right (xnn_init_qu8_add_minmax_scalar_params);
 *  - MUL: (a - za)(b - zb) as a float times s_a s_b / s_out (float), rounded
 *    half to even;
 *  - unary operators: a table of 256 entries, each the float operator on the
 *    dequantized byte, requantized with rounding half to even (XNNPACK's
 *    reference unary kernels, from which it builds its lookup tables);
 *    except HARD_SWISH, which LiteRT leaves to TFLite's own kernel: its
 *    16-bit fixed-point arithmetic (reference_ops::HardSwish) fills the table.
 * A chain of 8-bit unary operators (and binary ones with a constant scalar,
 * such as v3's hard sigmoid, ADD 3 then MUL 1/6) whose intermediate tensors
 * have no other reader is one table: mn_elementwise_fuse() composes them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

typedef enum { EW_ADD, EW_SUB, EW_MUL } binary_kind;
typedef enum { UN_HARD_SWISH, UN_RELU, UN_RELU6, UN_LOGISTIC, UN_TABLE } unary_kind;

/* ---- unary ------------------------------------------------------------------- */

typedef struct {
  unary_kind kind;
  uint8_t lut[256]; /* 8-bit: the whole operator */
  const char *type; /* for the summary */
} unary_state;

static float unary_f32(unary_kind k, float x) {
  switch (k) {
    case UN_HARD_SWISH: return mn_f32_hswish(x); /* XNNPACK's f32 vhswish */
    case UN_RELU: return x < 0.0f ? 0.0f : x;
    case UN_RELU6: return x < 0.0f ? 0.0f : x > 6.0f ? 6.0f : x;
    case UN_LOGISTIC: return 1.0f / (1.0f + expf(-x));
    default: return x;
  }
}

/* XNNPACK's reference operators for the 8-bit tables. */
static float unary_ref(unary_kind k, float x) {
  switch (k) {
    case UN_HARD_SWISH: {
      float t = x + 3.0f;
      t = t < 6.0f ? t : 6.0f;
      t = t > 0.0f ? t : 0.0f;
      return (x / 6.0f) * t;
    }
    default: return unary_f32(k, x);
  }
}

/* XNNPACK's quantize: round half to even of x / s + zp (x times 1/s), saturated. */
static uint8_t quantize_ref(float x, float inv_scale, int32_t zp, int32_t qmin, int32_t qmax) {
  float v = x * inv_scale;
  v = v + (float)zp;
  if (isnan(v)) v = 0.0f;
  v = nearbyintf(v);
  v = v < (float)qmin ? (float)qmin : v;
  v = v > (float)qmax ? (float)qmax : v;
  return (uint8_t)(int32_t)v;
}

/* ---- TFLite's fixed-point hard-swish ---------------------------------------- */

/* QuantizeMultiplier: m = q * 2^(shift - 31), q a Q31 in [2^30, 2^31). */
static void quantize_multiplier(double m, int32_t *q, int *shift) {
  if (m == 0.0) {
    *q = 0, *shift = 0;
    return;
  }
  const double f = frexp(m, shift);
  int64_t qf = (int64_t)round(f * (double)(1LL << 31));
  if (qf == (1LL << 31)) qf /= 2, ++*shift;
  if (*shift < -31) *shift = 0, qf = 0;
  if (*shift > 30) *shift = 30, qf = (1LL << 31) - 1;
  *q = (int32_t)qf;
}

static int16_t downscale_int16(int32_t m) { /* DownScaleInt32ToInt16Multiplier */
  if (m >= INT32_MAX - (1 << 15)) return INT16_MAX;
  return (int16_t)((m + (1 << 15)) >> 16);
}

static int16_t sat_rounding_doubling_high_mul16(int16_t a, int16_t b) {
  if (a == b && a == INT16_MIN) return INT16_MAX;
  const int32_t ab = (int32_t)a * (int32_t)b;
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return (int16_t)((ab + nudge) / (1 << 15));
}

static int16_t sat_doubling_high_mul16(int16_t a, int16_t b) {
  if (a == b && a == INT16_MIN) return INT16_MAX;
  return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

static int16_t rounding_divide_by_pot16(int16_t x, int exponent) {
  const int32_t mask = (1 << exponent) - 1;
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

static int16_t sat_left_shift16(int16_t v, int amount) {
  int64_t r = (int64_t)v * (1 << amount);
  return (int16_t)(r > INT16_MAX ? INT16_MAX : r < INT16_MIN ? INT16_MIN : r);
}

/* The table of HARD_SWISH between two quantizations (uint8 domain): TFLite's
 * HardSwishPrepare and reference_ops::HardSwish, value by value. -1 when
 * TFLite would refuse the scales. */
static int tflite_hard_swish_table(float in_scale, int32_t in_zp, float out_scale,
                                   int32_t out_zp, uint8_t lut[256]) {
  const float hires_input_scale = (1.0f / 128.0f) * in_scale;
  const float reluish_scale = 3.0f / 32768.0f;
  const float output_multiplier = hires_input_scale / out_scale;
  const float reluish_multiplier = hires_input_scale / reluish_scale;
  int32_t om32, rm32;
  int oexp, rexp;
  quantize_multiplier(output_multiplier, &om32, &oexp);
  quantize_multiplier(reluish_multiplier, &rm32, &rexp);
  if (oexp > 0 || rexp > 15 || rexp < -15 || oexp < -15) return -1;
  const int16_t om = downscale_int16(om32), rm = downscale_int16(rm32);
  for (int q = 0; q < 256; q++) {
    const int16_t input_value = (int16_t)(q - in_zp);
    const int16_t hires = (int16_t)(input_value * (1 << 7));
    const int16_t preshift = sat_rounding_doubling_high_mul16(hires, om);
    int16_t reluish = hires;
    if (rexp > 0) reluish = sat_left_shift16(reluish, rexp - 1);
    reluish = sat_rounding_doubling_high_mul16(reluish, rm);
    if (rexp > 0) reluish = sat_left_shift16(reluish, 1);
    if (rexp < 0) reluish = rounding_divide_by_pot16(reluish, -rexp);
    reluish = (int16_t)((reluish + (1 << 15)) >> 1);
    const int16_t pre_out = sat_doubling_high_mul16(reluish, preshift);
    int32_t out = rounding_divide_by_pot16(pre_out, -oexp) + out_zp;
    lut[q] = (uint8_t)(out < 0 ? 0 : out > 255 ? 255 : out);
  }
  return 0;
}

static void unary_pixels(const mn_exec *x, const mn_node *n, size_t pixel0, size_t pixels) {
  const unary_state *s = n->state;
  const size_t C = (size_t)x->dims[n->out].c, a = pixel0 * C, count = pixels * C;
  if (x->model->values[n->out].type == MN_VAL_F32) {
    const float *in = x->ptr[n->in[0]];
    float *out = x->ptr[n->out];
    x->kernels->f32_unary(s->kind == UN_HARD_SWISH ? MN_UNARY_HARD_SWISH
                          : s->kind == UN_RELU     ? MN_UNARY_RELU
                          : s->kind == UN_RELU6    ? MN_UNARY_RELU6
                                                   : MN_UNARY_LOGISTIC,
                          in + a, count, out + a);
    return;
  }
  x->kernels->u8_lut((const uint8_t *)x->ptr[n->in[0]] + a, count, s->lut,
                     (uint8_t *)x->ptr[n->out] + a);
}

/* An elementwise node split by whole pixels between the threads. */
static void by_pixels(const mn_exec *x, const mn_node *n, int ith, int nth,
                      void (*pixels_fn)(const mn_exec *, const mn_node *, size_t, size_t)) {
  const mn_dims *d = &x->dims[n->out];
  int a, b;
  mn_split(d->n * d->h * d->w, ith, nth, &a, &b);
  if (b > a) pixels_fn(x, n, (size_t)a, (size_t)(b - a));
}

static void unary_run(const mn_exec *x, const mn_node *n, int ith, int nth) {
  by_pixels(x, n, ith, nth, unary_pixels);
}

static int same_infer(const mn_model *m, const mn_node *n, mn_dims *dims, char *err, size_t size) {
  (void)m, (void)err, (void)size;
  dims[n->out] = dims[n->in[0]];
  return 0;
}

static void unary_describe(const mn_model *m, const mn_node *n, const mn_dims *dims,
                           mn_layer_info *info) {
  (void)m, (void)dims;
  const unary_state *s = n->state;
  snprintf(info->type, sizeof info->type, "%s", s->type);
}

const mn_op_class mn_op_unary = {"unary", same_infer, unary_run, unary_describe, NULL, NULL,
                                 unary_pixels, NULL};

int mn_build_unary(mn_builder *b) {
  const tfl_op *op = &b->tfl->ops[b->op];
  const tfl_tensor *in = mn_build_input(b, 0), *out = mn_build_output(b);
  if (mn_build_check_activation(b, in, "input") || mn_build_check_activation(b, out, "output"))
    return -1;
  if ((in->type == TFL_FLOAT32) != (out->type == TFL_FLOAT32))
    return mn_build_fail(b, "mixes float32 and quantized tensors");
  unary_state *s = calloc(1, sizeof *s);
  if (!s) return mn_build_fail(b, "out of memory");
  switch (op->code) {
    case TFL_OP_HARD_SWISH: s->kind = UN_HARD_SWISH, s->type = "hswish"; break;
    case TFL_OP_RELU: s->kind = UN_RELU, s->type = "relu"; break;
    case TFL_OP_RELU6: s->kind = UN_RELU6, s->type = "relu6"; break;
    default: s->kind = UN_LOGISTIC, s->type = "sigmoid"; break;
  }
  if (in->type != TFL_FLOAT32) {
    const int32_t zi = mn_q8_zero_point(in), zo = mn_q8_zero_point(out);
    const float inv = 1.0f / out->scale;
    if (s->kind != UN_HARD_SWISH ||
        tflite_hard_swish_table(in->scale, zi, out->scale, zo, s->lut) != 0)
      for (int q = 0; q < 256; q++)
        s->lut[q] = quantize_ref(unary_ref(s->kind, ((float)q - (float)zi) * in->scale), inv, zo, 0, 255);
  }
  mn_node *n = mn_build_node(b, &mn_op_unary, 1);
  n->state = s;
  return 0;
}

/* ---- binary -------------------------------------------------------------------- */

typedef enum { BC_NONE, BC_CHANNEL, BC_SCALAR } broadcast;

typedef struct {
  binary_kind kind;
  int swap;          /* the broadcast (or constant) operand came first */
  broadcast bc;      /* of the second operand (after swap) */
  int b_const;       /* the second operand is a constant, held here */
  int channels;      /* of a per-channel operand */
  float *bf;         /* constant float operand */
  uint8_t *bq;       /* constant 8-bit operand */
  float lo, hi;
  mn_q8_binary q;    /* 8-bit arithmetic (kernels.h) */
  int wide;          /* ADD / SUB scales outside XNNPACK's range: double */
  double da, db;
} binary_state;

static void binary_free(void *p) {
  binary_state *s = p;
  if (!s) return;
  free(s->bf);
  free(s->bq);
  free(s);
}

static inline uint8_t q8_binary(const binary_state *s, int32_t a, int32_t b) {
  if (!s->wide) return mn_q8_binary_ref(&s->q, a, b);
  const double r = (a - s->q.a_zp) * s->da + (b - s->q.b_zp) * s->db;
  const int32_t v = (int32_t)(r >= 0 ? floor(r + 0.5) : -floor(-r + 0.5)) + s->q.out_zp;
  return (uint8_t)(v < s->q.qmin ? s->q.qmin : v > s->q.qmax ? s->q.qmax : v);
}

static int binary_infer(const mn_model *m, const mn_node *n, mn_dims *dims, char *err,
                        size_t size) {
  (void)m;
  const binary_state *s = n->state;
  const int ia = s->swap ? 1 : 0;
  const mn_dims *a = &dims[n->in[ia]];
  if (!s->b_const) {
    const mn_dims *bd = &dims[n->in[1 - ia]];
    const size_t nb = mn_dims_count(bd);
    const int ok = s->bc == BC_NONE ? mn_dims_count(a) == nb && a->c == bd->c && a->h == bd->h
                   : s->bc == BC_CHANNEL ? nb == (size_t)a->c
                                         : nb == 1;
    if (!ok) {
      snprintf(err, size, "operands of %dx%dx%d and %dx%dx%d do not broadcast", a->h, a->w, a->c,
               bd->h, bd->w, bd->c);
      return -1;
    }
  } else if (s->bc == BC_CHANNEL && a->c != s->channels) {
    snprintf(err, size, "a %d-channel operand for a %d-channel input", s->channels, a->c);
    return -1;
  }
  dims[n->out] = *a;
  return 0;
}

static void binary_pixels(const mn_exec *x, const mn_node *n, size_t pixel0, size_t pixels) {
  const binary_state *s = n->state;
  const int ia = s->swap ? 1 : 0;
  const size_t C = (size_t)x->dims[n->out].c, a0 = pixel0 * C, count = pixels * C;
  const int f32 = x->model->values[n->out].type == MN_VAL_F32;
  const int period = s->bc == BC_NONE ? 0 : s->bc == BC_SCALAR ? 1 : (int)C;
  const size_t b0 = s->bc == BC_NONE ? a0 : 0;
  const void *pb = s->b_const ? (f32 ? (const void *)s->bf : (const void *)s->bq)
                              : x->ptr[n->in[1 - ia]];
  if (f32) {
    x->kernels->f32_binary(s->kind == EW_ADD ? MN_BINARY_ADD : s->kind == EW_SUB ? MN_BINARY_SUB
                                                                                 : MN_BINARY_MUL,
                           (const float *)x->ptr[n->in[ia]] + a0, (const float *)pb + b0, count,
                           period, s->lo, s->hi, (float *)x->ptr[n->out] + a0);
    return;
  }
  const uint8_t *A = (const uint8_t *)x->ptr[n->in[ia]] + a0, *B = (const uint8_t *)pb + b0;
  uint8_t *O = (uint8_t *)x->ptr[n->out] + a0;
  if (!s->wide) {
    x->kernels->u8_binary(&s->q, A, B, count, period, O);
    return;
  }
  for (size_t i = 0; i < count; i++)
    O[i] = q8_binary(s, A[i], B[period == 0 ? i : period == 1 ? 0 : i % C]);
}

static void binary_run(const mn_exec *x, const mn_node *n, int ith, int nth) {
  by_pixels(x, n, ith, nth, binary_pixels);
}

static void binary_describe(const mn_model *m, const mn_node *n, const mn_dims *dims,
                            mn_layer_info *info) {
  (void)m, (void)dims;
  const binary_state *s = n->state;
  snprintf(info->type, sizeof info->type, "%s", s->kind == EW_ADD ? "add" : s->kind == EW_SUB ? "sub" : "mul");
}

const mn_op_class mn_op_binary = {"binary", binary_infer, binary_run, binary_describe, NULL,
                                  binary_free, binary_pixels, NULL};

/* XNNPACK's ADD parameters for the scales a / out and b / out (b negated
 * for SUB); 0, or -1 when a ratio lies outside [2^-10, 2^8), where XNNPACK
 * would refuse: the caller falls back to double arithmetic. */
static int add_params(binary_state *s, float a_out, float b_out) {
  const float aa = fabsf(a_out), ab = fabsf(b_out);
  if (!(aa >= 0x1.0p-10f && ab >= 0x1.0p-10f && aa < 0x1.0p+8f && ab < 0x1.0p+8f)) return -1;
  const float mx = aa > ab ? aa : ab;
  uint32_t bits;
  memcpy(&bits, &mx, 4);
  const int32_t exponent = (int32_t)(bits >> 23) - 127;
  const uint32_t shift = (uint32_t)(20 - exponent);
  float fa, fb;
  uint32_t ba, bb;
  memcpy(&ba, &aa, 4), memcpy(&bb, &ab, 4);
  ba += shift << 23, bb += shift << 23;
  memcpy(&fa, &ba, 4), memcpy(&fb, &bb, 4);
  const int32_t ma = (int32_t)lrintf(fa), mb = (int32_t)lrintf(fb);
  mn_q8_binary *q = &s->q;
  q->a_mult = signbit(a_out) ? -ma : ma;
  q->b_mult = signbit(b_out) ? -mb : mb;
  q->shift = shift;
  q->bias = (int32_t)((INT32_C(1) << (shift - 1)) - q->a_mult * q->a_zp - q->b_mult * q->b_zp);
  return 0;
}

/* A constant operand: its values as the engine holds them. */
static int copy_constant(mn_builder *b, binary_state *s, const tfl_tensor *t, int count) {
  if (t->type == TFL_FLOAT32) {
    s->bf = malloc((size_t)count * sizeof *s->bf);
    if (s->bf) memcpy(s->bf, t->data, (size_t)count * sizeof *s->bf);
    return s->bf ? 0 : mn_build_fail(b, "out of memory");
  }
  s->bq = malloc((size_t)count);
  if (!s->bq) return mn_build_fail(b, "out of memory");
  for (int i = 0; i < count; i++) s->bq[i] = mn_q8_byte(t, (size_t)i);
  return 0;
}

/* How a declared operand shape broadcasts against the other: same, per
 * channel (all ones but the last), or scalar; -1 when it does not. */
static int broadcast_of(const tfl_tensor *t, const tfl_tensor *full) {
  if (t->elements == 1) return BC_SCALAR;
  int ones = 1;
  for (int d = 0; d + 1 < t->rank; d++) ones &= t->shape[d] == 1;
  if (t->rank >= 1 && ones && t->elements == (full->rank ? full->shape[full->rank - 1] : 0) &&
      t->elements != full->elements)
    return BC_CHANNEL;
  if (t->elements == full->elements) return BC_NONE;
  return -1;
}

int mn_build_binary(mn_builder *b) {
  const tfl_op *op = &b->tfl->ops[b->op];
  const tfl_tensor *x = mn_build_input(b, 0), *y = mn_build_input(b, 1), *out = mn_build_output(b);
  char name[96], name2[96];
  if (mn_build_check_operand(b, x, "first input") ||
      mn_build_check_operand(b, y, "second input") ||
      mn_build_check_activation(b, out, "output"))
    return -1;
  const int q8 = out->type != TFL_FLOAT32;
  if ((x->type != TFL_FLOAT32) != q8 || (y->type != TFL_FLOAT32) != q8)
    return mn_build_fail(b, "mixes float32 and quantized tensors");
  if (x->data && y->data) return mn_build_fail(b, "both operands are constants");
  binary_state *s = calloc(1, sizeof *s);
  if (!s) return mn_build_fail(b, "out of memory");
  s->kind = op->code == TFL_OP_ADD ? EW_ADD : op->code == TFL_OP_SUB ? EW_SUB : EW_MUL;
  /* the full-size, non-constant operand first */
  const int bx = broadcast_of(x, y), by = broadcast_of(y, x);
  s->swap = x->data || (bx != BC_NONE && by == BC_NONE && !y->data) || (bx > by && !y->data);
  if (s->swap && s->kind == EW_SUB) {
    binary_free(s);
    return mn_build_fail(b, "subtracts a full tensor from a broadcast or constant one");
  }
  const tfl_tensor *A = s->swap ? y : x, *B = s->swap ? x : y;
  const int bc = broadcast_of(B, A);
  if (bc < 0 || B->elements > A->elements) {
    binary_free(s);
    return mn_build_fail(b, "%s and %s do not broadcast (same shape, [1, 1, 1, C] or a scalar)",
                         mn_build_tensor_name(b, x, name, sizeof name),
                         mn_build_tensor_name(b, y, name2, sizeof name2));
  }
  s->bc = (broadcast)bc;
  s->b_const = B->data != NULL;
  s->channels = bc == BC_CHANNEL ? (int)B->elements : 0;
  if (s->b_const && s->bc == BC_NONE) {
    binary_free(s);
    return mn_build_fail(b, "a constant operand of the full shape is not supported");
  }
  if (s->b_const && copy_constant(b, s, B, (int)B->elements) != 0) {
    binary_free(s);
    return -1;
  }
  int32_t qmin, qmax;
  if (mn_build_activation(b, op->activation, out, &s->lo, &s->hi, &qmin, &qmax)) {
    binary_free(s);
    return -1;
  }
  s->q.qmin = qmin, s->q.qmax = qmax;
  s->q.op = s->kind == EW_ADD ? MN_BINARY_ADD : s->kind == EW_SUB ? MN_BINARY_SUB : MN_BINARY_MUL;
  if (q8) {
    s->q.a_zp = mn_q8_zero_point(A), s->q.b_zp = mn_q8_zero_point(B);
    s->q.out_zp = mn_q8_zero_point(out);
    if (s->kind == EW_MUL) {
      const float p = A->scale * B->scale;
      s->q.scale = p / out->scale;
      if (mn_build_check_multiplier(b, s->q.scale, "output multiplier")) {
        binary_free(s);
        return -1;
      }
    } else {
      const float ra = A->scale / out->scale, rb = B->scale / out->scale;
      if (mn_build_check_multiplier(b, (double)A->scale / out->scale, "first input's multiplier") ||
          mn_build_check_multiplier(b, (double)B->scale / out->scale, "second input's multiplier")) {
        binary_free(s);
        return -1;
      }
      if (add_params(s, ra, s->kind == EW_SUB ? -rb : rb) != 0) {
        s->wide = 1;
        s->da = (double)A->scale / out->scale;
        s->db = (s->kind == EW_SUB ? -1.0 : 1.0) * (double)B->scale / out->scale;
      }
    }
  }
  mn_node *n = mn_build_node(b, &mn_op_binary, 2);
  n->state = s;
  return 0;
}

/* ---- float hard-swish into its producer ------------------------------------------- */

void mn_hswish_fuse(mn_model *m) {
  if (getenv("MOBILENET_NO_FUSION")) return; /* for comparisons, like the runner's followers */
  for (int i = 0; i < m->n_nodes; i++) {
    mn_node *n = &m->nodes[i];
    const int v = n->out;
    if (n->fused || m->values[v].consumers != 1 || v == m->output || m->values[v].alias_of != v)
      continue;
    mn_node *c = NULL;
    for (int k = i + 1; k < m->n_nodes && !c; k++)
      for (int j = 0; j < 3; j++)
        if (m->nodes[k].in[j] == v) c = &m->nodes[k];
    if (!c || c->fused || c->cls != &mn_op_unary || c->in[0] != v ||
        ((const unary_state *)c->state)->kind != UN_HARD_SWISH ||
        m->values[c->out].type != MN_VAL_F32)
      continue;
    if (!mn_conv_take_hswish(m, n) && !mn_dwconv_take_hswish(m, n)) continue;
    n->out = c->out; /* the convolution writes the activation's tensor */
    m->values[c->out].producer = i;
    m->values[v].consumers = 0;
    c->fused = 1;
  }
}

/* ---- 8-bit chains into one table ------------------------------------------------ */

/* The table of an 8-bit node that is a function of its first input alone
 * (a unary operator, or a binary one with a constant scalar); 0 if none. */
static int node_table(const mn_model *m, const mn_node *n, uint8_t lut[256]) {
  if (m->values[n->out].type != MN_VAL_Q8) return 0;
  if (n->cls == &mn_op_unary) {
    memcpy(lut, ((const unary_state *)n->state)->lut, 256);
    return 1;
  }
  if (n->cls == &mn_op_binary) {
    const binary_state *s = n->state;
    if (!s->b_const || s->bc != BC_SCALAR || s->swap) return 0;
    for (int q = 0; q < 256; q++) lut[q] = q8_binary(s, q, s->bq[0]);
    return 1;
  }
  return 0;
}

void mn_elementwise_fuse(mn_model *m) {
  for (int i = 0; i < m->n_nodes; i++) {
    mn_node *first = &m->nodes[i];
    uint8_t lut[256], next[256];
    if (first->fused || !node_table(m, first, lut)) continue;
    int last = i, chain[64], n_chain = 0;
    while (n_chain < 64) {
      chain[n_chain++] = last;
      const mn_value *v = &m->values[m->nodes[last].out];
      if (v->consumers != 1 || m->output == m->nodes[last].out) break;
      int c = -1;
      for (int k = last + 1; k < m->n_nodes && c < 0; k++)
        if (m->nodes[k].in[0] == m->nodes[last].out) c = k;
      if (c < 0 || !node_table(m, &m->nodes[c], next)) break;
      for (int q = 0; q < 256; q++) lut[q] = next[lut[q]];
      last = c;
    }
    if (last == i) continue;
    /* the last node becomes the whole chain, reading the first one's input */
    mn_node *tail = &m->nodes[last];
    unary_state *u = calloc(1, sizeof *u);
    if (!u) return; /* unfused: still correct */
    u->kind = UN_TABLE;
    u->type = "lut";
    memcpy(u->lut, lut, 256);
    if (tail->cls->free_state) tail->cls->free_state(tail->state);
    else free(tail->state);
    tail->cls = &mn_op_unary;
    tail->state = u;
    tail->in[0] = first->in[0];
    tail->in[1] = -1;
    tail->n_in = 1;
    for (int k = 0; k < n_chain; k++)
      if (chain[k] != last) m->nodes[chain[k]].fused = 1;
  }
}
