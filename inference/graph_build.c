/* graph_build.c: imports a parsed TFLite file into the engine's graph of
 * values and nodes, checks that it is a graph the engine can run (one input
 * image, operators in topological order, every tensor written once), and
 * infers the dimensions of every value at a resolution. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ops/ops.h"
#include "tflite.h"

/* ---- builder helpers (ops/ops.h) ----------------------------------------- */

static const char *op_name(int code) {
  const char *name = tfl_op_name(code);
  return name ? name : "unknown operator code";
}

int mn_build_fail(mn_builder *b, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (b->op >= 0)
    snprintf(b->err, b->err_size, "operator %d (%s): %s", b->op,
             op_name(b->tfl->ops[b->op].code), msg);
  else
    snprintf(b->err, b->err_size, "%s", msg);
  return -1;
}

const tfl_tensor *mn_build_input(mn_builder *b, int i) {
  const tfl_op *op = &b->tfl->ops[b->op];
  if (i < 0 || i >= op->n_inputs || op->inputs[i] < 0) return NULL;
  return &b->tfl->tensors[op->inputs[i]];
}

const tfl_tensor *mn_build_output(mn_builder *b) {
  return &b->tfl->tensors[b->tfl->ops[b->op].output];
}

const char *mn_build_tensor_name(mn_builder *b, const tfl_tensor *t, char *buf, size_t size) {
  const int index = (int)(t - b->tfl->tensors);
  /* long TensorFlow 2 names are cut */
  snprintf(buf, size, "tensor %d '%.47s%s'", index, t->name, strlen(t->name) > 47 ? "..." : "");
  return buf;
}

int mn_build_value(mn_builder *b, int tensor) {
  if (b->value_of[tensor] >= 0) return b->value_of[tensor];
  mn_model *m = b->m;
  const tfl_tensor *t = &b->tfl->tensors[tensor];
  mn_value *v = &m->values[m->n_values];
  memset(v, 0, sizeof *v);
  v->file_type = t->type;
  v->type = t->type == TFL_FLOAT32 ? MN_VAL_F32 : t->type == TFL_INT32 ? MN_VAL_I32 : MN_VAL_Q8;
  v->rank = t->rank;
  memcpy(v->shape, t->shape, sizeof v->shape);
  v->scale = t->scale;
  v->zp = mn_q8_zero_point(t);
  v->tfl_index = tensor;
  snprintf(v->name, sizeof v->name, "%.63s", t->name);
  v->producer = -1;
  v->is_const = t->data != NULL;
  v->alias_of = m->n_values;
  b->value_of[tensor] = m->n_values;
  return m->n_values++;
}

mn_node *mn_build_node(mn_builder *b, const mn_op_class *cls, int n_in) {
  mn_model *m = b->m;
  const tfl_op *op = &b->tfl->ops[b->op];
  mn_node *n = &m->nodes[m->n_nodes];
  memset(n, 0, sizeof *n);
  n->cls = cls;
  n->tfl_code = op->code;
  n->tfl_index = b->op;
  n->n_in = n_in;
  for (int i = 0; i < 3; i++) n->in[i] = -1;
  for (int i = 0; i < n_in && i < op->n_inputs; i++)
    if (op->inputs[i] >= 0) n->in[i] = mn_build_value(b, op->inputs[i]);
  n->out = mn_build_value(b, op->output);
  m->n_nodes++;
  return n;
}

static int check_tensor(mn_builder *b, const tfl_tensor *t, const char *role, int may_be_constant) {
  char name[96];
  if (!t) return mn_build_fail(b, "has no %s", role);
  /* constants get no storage in the arena: only computed tensors flow */
  if (t->data && !may_be_constant)
    return mn_build_fail(b, "%s %s is a constant, not a computed tensor", role,
                         mn_build_tensor_name(b, t, name, sizeof name));
  if (t->type == TFL_FLOAT32) return 0;
  if ((t->type == TFL_UINT8 || t->type == TFL_INT8) && t->quantized && t->n_scales == 1) return 0;
  if ((t->type == TFL_UINT8 || t->type == TFL_INT8) && t->n_scales > 1)
    return mn_build_fail(b, "%s %s is quantized per channel (only weights may be)", role,
                         mn_build_tensor_name(b, t, name, sizeof name));
  return mn_build_fail(b, "%s %s is %s%s, not float32 or quantized 8-bit", role,
                       mn_build_tensor_name(b, t, name, sizeof name), tfl_type_name(t->type),
                       t->type == TFL_UINT8 || t->type == TFL_INT8 ? " without quantization" : "");
}

int mn_build_check_activation(mn_builder *b, const tfl_tensor *t, const char *role) {
  return check_tensor(b, t, role, 0);
}

int mn_build_check_operand(mn_builder *b, const tfl_tensor *t, const char *role) {
  return check_tensor(b, t, role, 1);
}

int mn_build_check_multiplier(mn_builder *b, double multiplier, const char *what) {
  if (isfinite(multiplier) && multiplier >= 0.0 && multiplier < 256.0) return 0;
  return mn_build_fail(b, "its %s %g is out of range (the quantization scales are broken)",
                       what, multiplier);
}

int mn_build_check_conv_params(mn_builder *b, const tfl_tensor *in, const tfl_tensor *w,
                               const tfl_tensor *bias, const tfl_tensor *out, int channels,
                               int channel_dim) {
  char name[96];
  const int q8 = in->type != TFL_FLOAT32;
  if (bias && (!bias->data || bias->elements != channels ||
               bias->type != (q8 ? TFL_INT32 : TFL_FLOAT32)))
    return mn_build_fail(b, "bias %s is not %d constant %s values",
                         mn_build_tensor_name(b, bias, name, sizeof name), channels,
                         q8 ? "int32" : "float32");
  if (!q8) return 0;
  if (w->type != TFL_UINT8 && w->type != TFL_INT8)
    return mn_build_fail(b, "weights %s are %s", mn_build_tensor_name(b, w, name, sizeof name),
                         tfl_type_name(w->type));
  if (!w->quantized)
    return mn_build_fail(b, "weights %s have no quantization",
                         mn_build_tensor_name(b, w, name, sizeof name));
  if (w->n_scales > 1 && (w->n_scales != channels || w->quantized_dim != channel_dim))
    return mn_build_fail(b, "weights %s have %d scales along dimension %d for %d channels",
                         mn_build_tensor_name(b, w, name, sizeof name), w->n_scales,
                         w->quantized_dim, channels);
  if (w->type == TFL_INT8 && w->zero_point != 0)
    return mn_build_fail(b, "int8 weights %s have zero point %d (must be 0)",
                         mn_build_tensor_name(b, w, name, sizeof name), w->zero_point);
  if (bias && bias->n_scales > 1 && bias->n_scales != channels)
    return mn_build_fail(b, "bias %s has %d scales for %d channels",
                         mn_build_tensor_name(b, bias, name, sizeof name), bias->n_scales,
                         channels);
  for (int c = 0; c < channels; c++) {
    const double ws = w->n_scales > 1 ? w->scales[c] : w->scale;
    if (mn_build_check_multiplier(b, (double)in->scale * ws / out->scale,
                                  "requantization multiplier"))
      return -1;
    /* The kernels add the int32 bias as if its scale were input x weight
     * scale, as TFLite does. TFLite refuses a file where the difference,
     * in output steps, exceeds 0.02 (GetQuantizedConvolutionMultipler;
     * it checks per-tensor layers only): past that the bias lands visibly
     * off. The same rule here, for every channel. */
    if (!bias) continue;
    const double bs = bias->n_scales > 1 ? bias->scales[c] : bias->scale;
    const double want = (double)in->scale * ws;
    if (!(fabs(bs - want) / out->scale <= 0.02))
      return mn_build_fail(b, "bias %s has scale %g for channel %d, not input x weight scale %g",
                           mn_build_tensor_name(b, bias, name, sizeof name), bs, c, want);
  }
  return 0;
}

int mn_build_activation(mn_builder *b, int activation, const tfl_tensor *out, float *lo,
                        float *hi, int32_t *qmin, int32_t *qmax) {
  float flo, fhi;
  switch (activation) {
    case TFL_ACT_NONE: flo = -INFINITY, fhi = INFINITY; break;
    case TFL_ACT_RELU: flo = 0.0f, fhi = INFINITY; break;
    case TFL_ACT_RELU_N1_TO_1: flo = -1.0f, fhi = 1.0f; break;
    case TFL_ACT_RELU6: flo = 0.0f, fhi = 6.0f; break;
    default: return mn_build_fail(b, "fused activation %d is not supported", activation);
  }
  if (lo) *lo = flo;
  if (hi) *hi = fhi;
  if (qmin && qmax) {
    /* TFLite's CalculateActivationRangeQuantized, in the uint8 domain */
    int32_t a = 0, z = 255;
    if (out && out->quantized) {
      const int32_t zp = mn_q8_zero_point(out);
      if (isfinite(flo)) {
        const float t = flo / out->scale; /* as below: clamp before converting */
        const int32_t q = t < -1e6f ? INT32_MIN / 2 : zp + (int32_t)lroundf(t);
        a = q > a ? q : a;
      }
      if (isfinite(fhi)) {
        const float t = fhi / out->scale; /* huge for tiny scales: clamp before converting */
        const int32_t q = t > 1e6f ? INT32_MAX / 2 : zp + (int32_t)lroundf(t);
        z = q < z ? q : z;
      }
    }
    if (a > z) return mn_build_fail(b, "its activation range is empty at this output quantization");
    *qmin = a;
    *qmax = z;
  }
  return 0;
}

int mn_conv_out_size(int in, int k, int stride, int same, int *pad_before) {
  if (same) {
    const int out = (in + stride - 1) / stride;
    const int total = (out - 1) * stride + k - in;
    *pad_before = total > 0 ? total / 2 : 0;
    return out;
  }
  *pad_before = 0;
  return in < k ? 0 : (in - k) / stride + 1;
}

int mn_window_infer(const mn_dims *in, int in_c, int kh, int kw, int stride, int same, int out_c,
                    mn_dims *out, char *err, size_t size) {
  if (in->c != in_c) {
    snprintf(err, size, "input has %d channels, the weights %d", in->c, in_c);
    return -1;
  }
  int pad;
  const int oh = mn_conv_out_size(in->h, kh, stride, same, &pad);
  const int ow = mn_conv_out_size(in->w, kw, stride, same, &pad);
  if (oh < 1 || ow < 1) {
    snprintf(err, size, "a %dx%d input is smaller than the %dx%d kernel", in->h, in->w, kh, kw);
    return -1;
  }
  *out = (mn_dims){1, oh, ow, out_c};
  return 0;
}

mn_conv_geom mn_window_geometry(const mn_dims *in, const mn_dims *out, int kh, int kw, int stride,
                                int same) {
  mn_conv_geom g = {in->h, in->w, in->c, out->h, out->w, out->c, kh, kw, stride, 0, 0};
  mn_conv_out_size(in->h, kh, stride, same, &g.pad_top);
  mn_conv_out_size(in->w, kw, stride, same, &g.pad_left);
  return g;
}

/* ---- the graph ------------------------------------------------------------- */

static int build_op(mn_builder *b) {
  const tfl_op *op = &b->tfl->ops[b->op];
  switch (op->code) {
    case TFL_OP_CONV_2D:
    case TFL_OP_FULLY_CONNECTED: return mn_build_conv(b);
    case TFL_OP_DEPTHWISE_CONV_2D: return mn_build_dwconv(b);
    case TFL_OP_AVERAGE_POOL_2D:
    case TFL_OP_MEAN: return mn_build_pool(b);
    case TFL_OP_ADD:
    case TFL_OP_SUB:
    case TFL_OP_MUL: return mn_build_binary(b);
    case TFL_OP_HARD_SWISH:
    case TFL_OP_RELU:
    case TFL_OP_RELU6:
    case TFL_OP_LOGISTIC: return mn_build_unary(b);
    case TFL_OP_SOFTMAX: return mn_build_softmax(b);
    case TFL_OP_QUANTIZE:
    case TFL_OP_DEQUANTIZE: return mn_build_quantize(b);
    case TFL_OP_RESHAPE:
    case TFL_OP_SQUEEZE: return mn_build_reshape(b);
    case TFL_OP_PAD: return mn_build_pad(b);
    default: {
      char name[96];
      return mn_build_fail(b, "unsupported operator (output %s)",
                           mn_build_tensor_name(b, mn_build_output(b), name, sizeof name));
    }
  }
}

/* Every non-constant input written by an earlier operator (or the graph
 * input), every tensor written once: the order is topological and there is
 * no cycle. */
static int check_order(mn_builder *b, char *written) {
  const tfl_model *tfl = b->tfl;
  const tfl_op *op = &tfl->ops[b->op];
  char name[96];
  for (int i = 0; i < op->n_inputs; i++) {
    const int t = op->inputs[i];
    if (t < 0 || tfl->tensors[t].data || written[t]) continue;
    return mn_build_fail(b, "reads %s before any operator writes it (operators out of order, or a cycle)",
                         mn_build_tensor_name(b, &tfl->tensors[t], name, sizeof name));
  }
  const tfl_tensor *out = &tfl->tensors[op->output];
  if (written[op->output] || out->data)
    return mn_build_fail(b, "writes %s, which %s", mn_build_tensor_name(b, out, name, sizeof name),
                         out->data ? "is a constant" : "another operator wrote already");
  written[op->output] = 1;
  return 0;
}

/* Follows the output back through operators that do not change values: a
 * graph that ends in SOFTMAX gives probabilities, otherwise logits. */
static int ends_in_softmax(const mn_model *m) {
  int v = m->output;
  while (v >= 0 && m->values[v].producer >= 0) {
    const mn_node *n = &m->nodes[m->values[v].producer];
    if (n->tfl_code == TFL_OP_SOFTMAX) return 1;
    if (n->cls != &mn_op_reshape && n->cls != &mn_op_quantize) return 0;
    v = n->in[0];
  }
  return 0;
}

int mn_graph_build(mn_model *m, const void *tfl_v, char *err, size_t err_size) {
  const tfl_model *tfl = tfl_v;
  int rc = -1;
  char *written = calloc((size_t)tfl->n_tensors, 1);
  mn_builder b = {m, tfl, calloc((size_t)tfl->n_tensors, sizeof(int)), -1, err, err_size};
  m->values = calloc((size_t)tfl->n_tensors, sizeof *m->values);
  m->nodes = calloc((size_t)tfl->n_ops, sizeof *m->nodes);
  if (!written || !b.value_of || !m->values || !m->nodes) {
    mn_build_fail(&b, "out of memory");
    goto out;
  }
  for (int i = 0; i < tfl->n_tensors; i++) b.value_of[i] = -1;

  const tfl_tensor *in = &tfl->tensors[tfl->input];
  char name[96];
  if (in->rank != 4 || in->shape[0] != 1 || in->shape[1] != in->shape[2] || in->shape[3] != 3 ||
      in->shape[1] < 1) {
    mn_build_fail(&b, "input %s is not an image [1, S, S, 3] (rank %d)",
                  mn_build_tensor_name(&b, in, name, sizeof name), in->rank);
    goto out;
  }
  if (in->data) {
    mn_build_fail(&b, "input %s is a constant", mn_build_tensor_name(&b, in, name, sizeof name));
    goto out;
  }
  if (mn_build_check_activation(&b, in, "input") != 0) goto out;
  m->input = mn_build_value(&b, tfl->input);
  m->resolution = in->shape[1];
  written[tfl->input] = 1;

  for (int i = 0; i < tfl->n_ops; i++) {
    b.op = i;
    const int before = m->n_nodes;
    if (check_order(&b, written) != 0 || build_op(&b) != 0) goto out;
    for (int k = before; k < m->n_nodes; k++) {
      mn_node *n = &m->nodes[k];
      m->values[n->out].producer = k;
      for (int j = 0; j < 3; j++)
        if (n->in[j] >= 0) m->values[n->in[j]].consumers++;
    }
  }
  b.op = -1;
  if (!written[tfl->output] || b.value_of[tfl->output] < 0 ||
      m->values[b.value_of[tfl->output]].producer < 0) {
    mn_build_fail(&b, "no operator writes the graph output %s",
                  mn_build_tensor_name(&b, &tfl->tensors[tfl->output], name, sizeof name));
    goto out;
  }
  m->output = b.value_of[tfl->output];
  const mn_value *ov = &m->values[m->output];
  int64_t classes = 1;
  for (int d = 0; d < ov->rank; d++) classes *= ov->shape[d];
  /* ImageNet has 1000 classes (1001 with background); a classifier of other
   * classes runs too, its classes named by number */
  if (classes < 1 || classes > (1 << 20)) {
    mn_build_fail(&b, "output %s has %lld values, not a number of classes",
                  mn_build_tensor_name(&b, &tfl->tensors[tfl->output], name, sizeof name),
                  (long long)classes);
    goto out;
  }
  if (ov->type == MN_VAL_I32) {
    mn_build_fail(&b, "output %s is int32",
                  mn_build_tensor_name(&b, &tfl->tensors[tfl->output], name, sizeof name));
    goto out;
  }
  m->classes = (int)classes;
  m->logits = !ends_in_softmax(m);

  /* The kind of model: int8 when it holds int8 tensors (TensorFlow 2
   * full-integer files), uint8 when it holds other quantized ones. */
  m->dtype = MN_DTYPE_F32;
  for (int i = 0; i < tfl->n_tensors; i++) {
    const int type = tfl->tensors[i].type;
    if (type == TFL_INT8) m->dtype = MN_DTYPE_I8;
    if (type == TFL_UINT8 && m->dtype == MN_DTYPE_F32) m->dtype = MN_DTYPE_U8;
  }
  rc = 0;
out:
  free(written);
  free(b.value_of);
  return rc;
}

void mn_graph_free(mn_model *m) {
  for (int i = 0; m->nodes && i < m->n_nodes; i++)
    if (m->nodes[i].cls && m->nodes[i].cls->free_state) m->nodes[i].cls->free_state(m->nodes[i].state);
    else free(m->nodes[i].state);
  free(m->nodes);
  free(m->values);
  m->nodes = NULL;
  m->values = NULL;
  m->n_nodes = m->n_values = 0;
}

int mn_graph_infer(const mn_model *m, int size, mn_dims *dims, char *err, size_t err_size) {
  for (int i = 0; i < m->n_values; i++) {
    const mn_value *v = &m->values[i];
    int d[4] = {1, 1, 1, 1};
    for (int k = 0; k < v->rank && k < 4; k++) d[4 - v->rank + k] = v->shape[k];
    dims[i] = (mn_dims){d[0], d[1], d[2], d[3]};
  }
  dims[m->input] = (mn_dims){1, size, size, 3};
  for (int i = 0; i < m->n_nodes; i++) {
    const mn_node *n = &m->nodes[i];
    char why[256];
    /* a fused node is computed by another one, which now writes its output
     * (a hard-swish) or reads past it (an 8-bit table chain): its own shape
     * rule would set that output from a tensor nothing computes any more */
    if (n->fused) continue;
    if (n->cls->infer(m, n, dims, why, sizeof why) != 0) {
      snprintf(err, err_size, "cannot run at %dx%d: operator %d (%s): %s", size, size,
               n->tfl_index, op_name(n->tfl_code), why);
      return -1;
    }
    const mn_dims *o = &dims[n->out];
    if (!mn_dims_fit(o)) {
      snprintf(err, err_size, "cannot run at %dx%d: operator %d (%s) gives an output of "
               "%dx%dx%dx%d (batch 1 and at most 2^28 values)",
               size, size, n->tfl_index, op_name(n->tfl_code), o->n, o->h, o->w, o->c);
      return -1;
    }
  }
  return 0;
}
