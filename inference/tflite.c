/* tflite.c: reads the TensorFlow Lite schema fields the engine uses.
 *
 * Field numbers below are the slot numbers of tensorflow/lite/schema/schema.fbs
 * (a union takes two slots: its type and its value). */
#include "tflite.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flatbuf.h"

enum { MODEL_OPERATOR_CODES = 1, MODEL_SUBGRAPHS = 2, MODEL_DESCRIPTION = 3, MODEL_BUFFERS = 4 };
enum { OPCODE_DEPRECATED_BUILTIN = 0, OPCODE_CUSTOM = 1, OPCODE_BUILTIN = 3 };
enum { SUBGRAPH_TENSORS = 0, SUBGRAPH_INPUTS = 1, SUBGRAPH_OUTPUTS = 2, SUBGRAPH_OPERATORS = 3 };
enum { TENSOR_SHAPE = 0, TENSOR_TYPE = 1, TENSOR_BUFFER = 2, TENSOR_NAME = 3, TENSOR_QUANT = 4 };
enum { QUANT_SCALE = 2, QUANT_ZERO_POINT = 3, QUANT_DIMENSION = 6 };
enum { OPERATOR_OPCODE = 0, OPERATOR_INPUTS = 1, OPERATOR_OUTPUTS = 2, OPERATOR_OPTIONS = 4 };
enum { BUFFER_DATA = 0, BUFFER_OFFSET = 1, BUFFER_SIZE = 2 };

static const char *const op_names[] = {
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
    "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP",
    "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION",
    "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR",
    "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL",
    "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER",
    "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE",
    "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP",
    "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU",
    "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL",
    "LESS_EQUAL", "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE",
    "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN",
    "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND",
    "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE",
    "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE",
    "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS",
    "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG",
    "ROUND", "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5",
    "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL"};

const char *tfl_op_name(int code) {
  if (code < 0 || code >= (int)(sizeof op_names / sizeof op_names[0])) return NULL;
  return op_names[code];
}

const char *tfl_type_name(int type) {
  switch (type) {
    case TFL_FLOAT32: return "float32";
    case TFL_FLOAT16: return "float16";
    case TFL_INT32: return "int32";
    case TFL_UINT8: return "uint8";
    case TFL_INT64: return "int64";
    case TFL_INT8: return "int8";
    default: return "another type";
  }
}

static int type_size(int type) {
  switch (type) {
    case TFL_FLOAT32: case TFL_INT32: return 4;
    case TFL_UINT8: case TFL_INT8: return 1;
    case TFL_INT64: return 8;
    case TFL_FLOAT16: return 2;
    default: return 0;
  }
}

static int fail(char *err, size_t err_size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_size, fmt, ap);
  va_end(ap);
  return -1;
}

/* Quantization parameters: one scale and zero point, or one scale per
 * channel of quantized_dim with zero points all 0 (TensorFlow 2 weights).
 * Zero points must lie in the type's range and scales be finite and
 * positive: the kernels do integer arithmetic on them unchecked. */
static int read_quantization(fb_buffer *fb, fb_table q, tfl_tensor *out, int index, char *err,
                             size_t err_size) {
  fb_vector scale = fb_vector_field(fb, q, QUANT_SCALE, 4);
  fb_vector zp = fb_vector_field(fb, q, QUANT_ZERO_POINT, 8);
  if (scale.count == 0) return 0; /* min/max only: not quantized */
  if (scale.count > TFL_MAX_CHANNEL_SCALES)
    return fail(err, err_size, "tensor %d (%s) has %u quantization scales", index, out->name,
                scale.count);
  if (zp.count != 0 && zp.count != 1 && zp.count != scale.count)
    return fail(err, err_size, "tensor %d (%s) has %u scales and %u zero points", index,
                out->name, scale.count, zp.count);
  out->quantized = 1;
  out->n_scales = (int)scale.count;
  out->quantized_dim = fb_i32(fb, q, QUANT_DIMENSION, 0);
  for (uint32_t i = 0; i < scale.count; i++) {
    const float s = fb_vector_f32(fb, scale, i);
    /* 1e-30 .. 1e6: below, scale products underflow; above, no 8-bit tensor means anything */
    if (!(s >= 1e-30f && s <= 1e6f))
      return fail(err, err_size, "tensor %d (%s) has an invalid quantization scale %g%s", index,
                  out->name, (double)s, scale.count > 1 ? " (per channel)" : "");
  }
  out->scale = fb_vector_f32(fb, scale, 0);
  int64_t lo = INT32_MIN, hi = INT32_MAX;
  if (out->type == TFL_UINT8) lo = 0, hi = 255;
  else if (out->type == TFL_INT8) lo = -128, hi = 127;
  for (uint32_t i = 0; i < zp.count; i++) {
    const int64_t z = fb_vector_i64(fb, zp, i);
    if (z < lo || z > hi || (scale.count > 1 && z != 0))
      return fail(err, err_size, "tensor %d (%s) has zero point %lld, outside %s", index,
                  out->name, (long long)z,
                  scale.count > 1 ? "0 (per-channel quantization is symmetric)"
                  : out->type == TFL_UINT8 ? "0..255 (uint8)"
                  : out->type == TFL_INT8 ? "-128..127 (int8)" : "int32");
  }
  out->zero_point = zp.count ? (int32_t)fb_vector_i64(fb, zp, 0) : 0;
  if (scale.count > 1) {
    if (out->quantized_dim < 0 || out->quantized_dim >= out->rank ||
        out->shape[out->quantized_dim] != (int)scale.count)
      return fail(err, err_size,
                  "tensor %d (%s) has %u per-channel scales along dimension %d, which has %d "
                  "channels",
                  index, out->name, scale.count, out->quantized_dim,
                  out->quantized_dim >= 0 && out->quantized_dim < out->rank
                      ? out->shape[out->quantized_dim] : 0);
    out->scales = malloc(scale.count * sizeof *out->scales);
    if (!out->scales) return fail(err, err_size, "out of memory");
    for (uint32_t i = 0; i < scale.count; i++) out->scales[i] = fb_vector_f32(fb, scale, i);
  }
  return 0;
}

/* Reads tensor i; buffers are resolved against the whole file. */
static int read_tensor(fb_buffer *fb, fb_table t, fb_vector buffers, tfl_tensor *out, char *err,
                       size_t err_size, int index) {
  memset(out, 0, sizeof *out);
  fb_string_field(fb, t, TENSOR_NAME, out->name, sizeof out->name);
  out->type = fb_u8(fb, t, TENSOR_TYPE, 0);
  fb_vector shape = fb_vector_field(fb, t, TENSOR_SHAPE, 4);
  if (shape.count > TFL_MAX_RANK)
    return fail(err, err_size, "tensor %d (%s) has rank %u, more than %d", index, out->name,
                shape.count, TFL_MAX_RANK);
  out->rank = (int)shape.count;
  out->elements = 1;
  for (int d = 0; d < out->rank; d++) {
    out->shape[d] = fb_vector_i32(fb, shape, (uint32_t)d);
    if (out->shape[d] < 0 || out->shape[d] > (1 << 24))
      return fail(err, err_size, "tensor %d (%s) has an invalid dimension %d", index, out->name,
                  out->shape[d]);
    out->elements *= out->shape[d];
    /* checked at every step: four dimensions of 2^24 would overflow int64 */
    if (out->elements > ((int64_t)1 << 32))
      return fail(err, err_size, "tensor %d (%s) is too large", index, out->name);
  }

  fb_table q = fb_table_field(fb, t, TENSOR_QUANT);
  if (q && read_quantization(fb, q, out, index, err, err_size) != 0) return -1;

  uint32_t b = fb_u32(fb, t, TENSOR_BUFFER, 0);
  if (b != 0) {
    if (b >= buffers.count)
      return fail(err, err_size, "tensor %d (%s) refers to buffer %u of %u", index, out->name, b,
                  buffers.count);
    fb_table buf = fb_vector_table(fb, buffers, b);
    fb_vector data = fb_vector_field(fb, buf, BUFFER_DATA, 1);
    uint64_t off = fb_u64(fb, buf, BUFFER_OFFSET, 0);
    if (data.count) {
      out->data = fb->data + data.pos;
      out->data_size = data.count;
    } else if (off > 1) { /* large models keep buffers after the flatbuffer */
      uint64_t sz = fb_u64(fb, buf, BUFFER_SIZE, 0);
      if (off > fb->size || sz > fb->size - off)
        return fail(err, err_size, "tensor %d (%s): buffer %u lies outside the file", index,
                    out->name, b);
      out->data = fb->data + off;
      out->data_size = (size_t)sz;
    }
    if (out->data) {
      int ts = type_size(out->type);
      if (ts == 0)
        return fail(err, err_size, "tensor %d (%s) has unsupported type %d", index, out->name,
                    out->type);
      if ((uint64_t)out->elements * (uint64_t)ts != out->data_size)
        return fail(err, err_size,
                    "tensor %d (%s) holds %zu bytes, its shape needs %lld", index, out->name,
                    out->data_size, (long long)(out->elements * ts));
    }
  }
  return 0;
}

static void read_options(fb_buffer *fb, fb_table opt, tfl_op *op) {
  op->stride_w = op->stride_h = 1;
  op->dilation_w = op->dilation_h = 1;
  op->depth_multiplier = 1;
  op->beta = 1.0f;
  op->n_squeeze = -1;
  switch (op->code) {
    case TFL_OP_CONV_2D:
      op->padding = fb_i8(fb, opt, 0, 0);
      op->stride_w = fb_i32(fb, opt, 1, 0);
      op->stride_h = fb_i32(fb, opt, 2, 0);
      op->activation = fb_i8(fb, opt, 3, 0);
      op->dilation_w = fb_i32(fb, opt, 4, 1);
      op->dilation_h = fb_i32(fb, opt, 5, 1);
      break;
    case TFL_OP_DEPTHWISE_CONV_2D:
      op->padding = fb_i8(fb, opt, 0, 0);
      op->stride_w = fb_i32(fb, opt, 1, 0);
      op->stride_h = fb_i32(fb, opt, 2, 0);
      op->depth_multiplier = fb_i32(fb, opt, 3, 0);
      op->activation = fb_i8(fb, opt, 4, 0);
      op->dilation_w = fb_i32(fb, opt, 5, 1);
      op->dilation_h = fb_i32(fb, opt, 6, 1);
      break;
    case TFL_OP_AVERAGE_POOL_2D:
      op->padding = fb_i8(fb, opt, 0, 0);
      op->stride_w = fb_i32(fb, opt, 1, 0);
      op->stride_h = fb_i32(fb, opt, 2, 0);
      op->filter_w = fb_i32(fb, opt, 3, 0);
      op->filter_h = fb_i32(fb, opt, 4, 0);
      op->activation = fb_i8(fb, opt, 5, 0);
      break;
    case TFL_OP_FULLY_CONNECTED:
      op->activation = fb_i8(fb, opt, 0, 0);
      op->weights_format = fb_i8(fb, opt, 1, 0);
      op->keep_dims = fb_u8(fb, opt, 2, 0);
      break;
    case TFL_OP_ADD: case TFL_OP_MUL: case TFL_OP_SUB:
      op->activation = fb_i8(fb, opt, 0, 0);
      break;
    case TFL_OP_MEAN:
      op->keep_dims = fb_u8(fb, opt, 0, 0);
      break;
    case TFL_OP_SQUEEZE: {
      fb_vector dims = fb_vector_field(fb, opt, 0, 4);
      if (dims.count > 0 && dims.count <= TFL_MAX_RANK) {
        op->n_squeeze = (int)dims.count;
        for (uint32_t i = 0; i < dims.count; i++) op->squeeze_dims[i] = fb_vector_i32(fb, dims, i);
      } else if (dims.count > TFL_MAX_RANK) {
        op->n_squeeze = TFL_MAX_RANK + 1; /* refused by the graph builder */
      }
      break;
    }
    case TFL_OP_SOFTMAX:
      op->beta = fb_f32(fb, opt, 0, 1.0f);
      break;
    default:
      break;
  }
}

int tfl_parse(const uint8_t *data, size_t size, tfl_model *model, char *err, size_t err_size) {
  memset(model, 0, sizeof *model);
  fb_buffer fb;
  fb_init(&fb, data, size);
  int rc = -1;
  int *codes = NULL;

  fb_table root = fb_root(&fb, "TFL3");
  if (!root) {
    fail(err, err_size, "not a TensorFlow Lite model (%s)", fb.what);
    goto out;
  }
  fb_string_field(&fb, root, MODEL_DESCRIPTION, model->description, sizeof model->description);
  fb_vector opcodes = fb_vector_field(&fb, root, MODEL_OPERATOR_CODES, 4);
  fb_vector subgraphs = fb_vector_field(&fb, root, MODEL_SUBGRAPHS, 4);
  fb_vector buffers = fb_vector_field(&fb, root, MODEL_BUFFERS, 4);
  if (fb.failed) goto corrupt;
  if (subgraphs.count != 1) {
    fail(err, err_size, "model has %u subgraphs, expected 1", subgraphs.count);
    goto out;
  }

  codes = calloc(opcodes.count ? opcodes.count : 1, sizeof *codes);
  if (!codes) {
    fail(err, err_size, "out of memory");
    goto out;
  }
  for (uint32_t i = 0; i < opcodes.count; i++) {
    fb_table oc = fb_vector_table(&fb, opcodes, i);
    /* Old converters only fill the deprecated byte; newer ones both. */
    int dep = fb_i8(&fb, oc, OPCODE_DEPRECATED_BUILTIN, 0);
    int code = fb_i32(&fb, oc, OPCODE_BUILTIN, 0);
    codes[i] = dep > code ? dep : code;
  }
  if (fb.failed) goto corrupt;

  fb_table sg = fb_vector_table(&fb, subgraphs, 0);
  fb_vector tensors = fb_vector_field(&fb, sg, SUBGRAPH_TENSORS, 4);
  fb_vector inputs = fb_vector_field(&fb, sg, SUBGRAPH_INPUTS, 4);
  fb_vector outputs = fb_vector_field(&fb, sg, SUBGRAPH_OUTPUTS, 4);
  fb_vector operators = fb_vector_field(&fb, sg, SUBGRAPH_OPERATORS, 4);
  if (fb.failed) goto corrupt;
  if (inputs.count != 1 || outputs.count != 1) {
    fail(err, err_size, "graph has %u inputs and %u outputs, expected 1 and 1", inputs.count,
         outputs.count);
    goto out;
  }
  if (tensors.count == 0 || operators.count == 0 || tensors.count > 100000 ||
      operators.count > 100000) {
    fail(err, err_size, "graph has %u tensors and %u operators", tensors.count, operators.count);
    goto out;
  }

  model->n_tensors = (int)tensors.count;
  model->tensors = calloc(tensors.count, sizeof *model->tensors);
  model->n_ops = (int)operators.count;
  model->ops = calloc(operators.count, sizeof *model->ops);
  if (!model->tensors || !model->ops) {
    fail(err, err_size, "out of memory");
    goto out;
  }
  for (uint32_t i = 0; i < tensors.count; i++) {
    fb_table t = fb_vector_table(&fb, tensors, i);
    if (!t || read_tensor(&fb, t, buffers, &model->tensors[i], err, err_size, (int)i) != 0) {
      if (fb.failed) goto corrupt;
      if (!t) fail(err, err_size, "tensor %u missing", i);
      goto out;
    }
    if (fb.failed) goto corrupt;
  }

  model->input = fb_vector_i32(&fb, inputs, 0);
  model->output = fb_vector_i32(&fb, outputs, 0);
  if (model->input < 0 || model->input >= model->n_tensors || model->output < 0 ||
      model->output >= model->n_tensors) {
    fail(err, err_size, "graph input or output tensor index out of range");
    goto out;
  }

  for (uint32_t i = 0; i < operators.count; i++) {
    tfl_op *op = &model->ops[i];
    fb_table o = fb_vector_table(&fb, operators, i);
    uint32_t ci = fb_u32(&fb, o, OPERATOR_OPCODE, 0);
    if (fb.failed || !o) goto corrupt;
    if (ci >= opcodes.count) {
      fail(err, err_size, "operator %u uses opcode %u of %u", i, ci, opcodes.count);
      goto out;
    }
    op->code = codes[ci];
    fb_vector in = fb_vector_field(&fb, o, OPERATOR_INPUTS, 4);
    fb_vector outv = fb_vector_field(&fb, o, OPERATOR_OUTPUTS, 4);
    if (fb.failed) goto corrupt;
    if (in.count < 1 || in.count > TFL_MAX_OP_INPUTS || outv.count != 1) {
      const char *name = tfl_op_name(op->code);
      fail(err, err_size, "operator %u (%s) has %u inputs and %u outputs", i,
           name ? name : "unknown code", in.count, outv.count);
      goto out;
    }
    op->n_inputs = (int)in.count;
    for (uint32_t k = 0; k < in.count; k++) {
      op->inputs[k] = fb_vector_i32(&fb, in, k);
      if (op->inputs[k] < -1 || op->inputs[k] >= model->n_tensors) {
        fail(err, err_size, "operator %u input tensor index out of range", i);
        goto out;
      }
    }
    op->output = fb_vector_i32(&fb, outv, 0);
    if (op->output < 0 || op->output >= model->n_tensors) {
      fail(err, err_size, "operator %u output tensor index out of range", i);
      goto out;
    }
    fb_table opt = fb_table_field(&fb, o, OPERATOR_OPTIONS);
    read_options(&fb, opt, op);
    if (fb.failed) goto corrupt;
  }
  rc = 0;
  goto out;

corrupt:
  fail(err, err_size, "corrupt model file (%s)", fb.what);
out:
  free(codes);
  if (rc != 0) tfl_free(model);
  return rc;
}

void tfl_free(tfl_model *model) {
  for (int i = 0; model->tensors && i < model->n_tensors; i++) free(model->tensors[i].scales);
  free(model->tensors);
  free(model->ops);
  model->tensors = NULL;
  model->ops = NULL;
  model->n_tensors = model->n_ops = 0;
}
