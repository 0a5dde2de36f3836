/* tflite.h: the part of a TensorFlow Lite model the engine needs, read from
 * the flatbuffer with every offset checked (schema: tensorflow/lite/schema). */
#ifndef MN_TFLITE_H
#define MN_TFLITE_H

#include <stddef.h>
#include <stdint.h>

/* TensorType values of the schema. */
enum { TFL_FLOAT32 = 0, TFL_FLOAT16 = 1, TFL_INT32 = 2, TFL_UINT8 = 3, TFL_INT64 = 4, TFL_INT8 = 9 };

/* BuiltinOperator values the engine runs. */
enum {
  TFL_OP_ADD = 0,
  TFL_OP_AVERAGE_POOL_2D = 1,
  TFL_OP_CONV_2D = 3,
  TFL_OP_DEPTHWISE_CONV_2D = 4,
  TFL_OP_DEQUANTIZE = 6,
  TFL_OP_FULLY_CONNECTED = 9,
  TFL_OP_LOGISTIC = 14,
  TFL_OP_MUL = 18,
  TFL_OP_RELU = 19,
  TFL_OP_RELU6 = 21,
  TFL_OP_RESHAPE = 22,
  TFL_OP_SOFTMAX = 25,
  TFL_OP_CUSTOM = 32,
  TFL_OP_PAD = 34,
  TFL_OP_MEAN = 40,
  TFL_OP_SUB = 41,
  TFL_OP_SQUEEZE = 43,
  TFL_OP_QUANTIZE = 114,
  TFL_OP_HARD_SWISH = 117
};

enum { TFL_PAD_SAME = 0, TFL_PAD_VALID = 1 };
enum { TFL_ACT_NONE = 0, TFL_ACT_RELU = 1, TFL_ACT_RELU_N1_TO_1 = 2, TFL_ACT_RELU6 = 3 };

#define TFL_MAX_RANK 4
#define TFL_MAX_OP_INPUTS 3
#define TFL_MAX_CHANNEL_SCALES 8192

typedef struct {
  char name[96];
  int type;
  int rank;
  int shape[TFL_MAX_RANK];
  int64_t elements;
  const uint8_t *data; /* constant contents inside the file, or NULL */
  size_t data_size;
  int quantized;       /* has quantization parameters (one scale, or one per channel) */
  float scale;         /* the scale (the first one when per channel) */
  int32_t zero_point;  /* checked against the type's range */
  float *scales;       /* per-channel scales (n_scales > 1), owned by the model */
  int n_scales;
  int quantized_dim;   /* the dimension the per-channel scales run along */
} tfl_tensor;

typedef struct {
  int code; /* BuiltinOperator */
  int n_inputs;
  int inputs[TFL_MAX_OP_INPUTS]; /* tensor indices, -1 = optional absent */
  int output;
  int padding, stride_w, stride_h, activation;
  int depth_multiplier, dilation_w, dilation_h;
  int filter_w, filter_h;
  int keep_dims;             /* MEAN; FULLY_CONNECTED keep_num_dims */
  int weights_format;        /* FULLY_CONNECTED: 0 = default */
  int n_squeeze;             /* SQUEEZE: dims listed (-1: none given) */
  int squeeze_dims[TFL_MAX_RANK];
  float beta;
} tfl_op;

typedef struct {
  tfl_tensor *tensors;
  int n_tensors;
  tfl_op *ops;
  int n_ops;
  int input, output; /* tensor indices of the single graph input and output */
  char description[128];
} tfl_model;

/* Parses a TFLite flatbuffer held in memory (the tensors point into it, so
 * data must outlive the model). Any operator code is read; which ones run is
 * the graph builder's decision. Numbers the kernels will trust are checked
 * here: zero points within their type's range, scales finite and positive,
 * per-channel scale counts equal to the channel count. Returns 0, or -1 with
 * a message in err. */
int tfl_parse(const uint8_t *data, size_t size, tfl_model *model, char *err, size_t err_size);
void tfl_free(tfl_model *model);

/* Name of a BuiltinOperator code ("CONV_2D"), or NULL when unknown. */
const char *tfl_op_name(int code);
/* Name of a TensorType ("uint8"), or "type N". */
const char *tfl_type_name(int type);

#endif
