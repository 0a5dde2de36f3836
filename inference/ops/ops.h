/* ops.h: the op families of the graph, one file each.
 *
 * Each family builds its nodes from TFLite operators (validating every field
 * it will trust and packing its weights once for the CPU's kernels), infers
 * output dimensions at any resolution, and runs a thread's share of a node:
 *   conv.c           CONV_2D, FULLY_CONNECTED
 *   dwconv.c         DEPTHWISE_CONV_2D
 *   pool.c           AVERAGE_POOL_2D, MEAN
 *   elementwise.c    ADD, SUB, MUL; HARD_SWISH, RELU, RELU6, LOGISTIC
 *   softmax.c        SOFTMAX
 *   quantize.c       QUANTIZE, DEQUANTIZE
 *   shape.c          RESHAPE, SQUEEZE, PAD
 * The kernels they call live in kernels/ (a plain reference beside every
 * fast kernel). */
#ifndef MN_OPS_H
#define MN_OPS_H

#include <stdarg.h>
#include <stdio.h>

#include "engine.h"
#include "tflite.h"

/* State of the graph builder while it imports one operator. */
typedef struct {
  struct mn_model *m;
  const tfl_model *tfl;
  int *value_of; /* file tensor -> value index, or -1 before first use */
  int op;        /* operator being imported */
  char *err;
  size_t err_size;
} mn_builder;

/* "operator 12 (ADD): <message>"; returns -1. */
int mn_build_fail(mn_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The file tensor behind input slot i of the current operator (NULL when absent). */
const tfl_tensor *mn_build_input(mn_builder *b, int i);
const tfl_tensor *mn_build_output(mn_builder *b);
/* "tensor 7 'name'" for messages. */
const char *mn_build_tensor_name(mn_builder *b, const tfl_tensor *t, char *buf, size_t size);
/* The value of a file tensor (created on first use). */
int mn_build_value(mn_builder *b, int tensor);
/* Appends a node of class cls for the current operator, its inputs being
 * the operator's first n_in inputs (constants included) and its output the
 * operator's output. Returns NULL (with the message) on failure. */
mn_node *mn_build_node(mn_builder *b, const mn_op_class *cls, int n_in);
/* Checks that a value is an 8-bit quantized or float32 activation of the
 * model's kind: 0, or -1 with a message naming the tensor and its type. */
int mn_build_check_activation(mn_builder *b, const tfl_tensor *t, const char *role);
/* The same for an operand of ADD / SUB / MUL, which may also be a constant. */
int mn_build_check_operand(mn_builder *b, const tfl_tensor *t, const char *role);
/* A requantization multiplier the 8-bit kernels apply (input scale x weight
 * scale / output scale, or a ratio of scales): refused unless finite and
 * below 256, XNNPACK's bound; past it every input lands on one end of the
 * range, and the float kernels overflow. */
int mn_build_check_multiplier(mn_builder *b, double multiplier, const char *what);
/* The parameters of a convolution, depthwise convolution or fully connected
 * layer the kernels trust: the bias (constant, one value per channel, int32
 * for 8-bit layers, float32 otherwise) and, for 8-bit layers, the weights'
 * type and quantization (per tensor, or one scale per channel along
 * channel_dim; int8 weights with zero point 0), each channel's
 * requantization multiplier (in * w[c] / out) and the bias scale, which must
 * be in * w[c] within 0.02 output steps (TFLite's rule). */
int mn_build_check_conv_params(mn_builder *b, const tfl_tensor *in, const tfl_tensor *w,
                               const tfl_tensor *bias, const tfl_tensor *out, int channels,
                               int channel_dim);

/* Fused activation range of an operator whose output is t: float bounds, and
 * the quantized bounds (uint8 domain) as TFLite computes them. -1 when the
 * activation is not NONE / RELU / RELU6 / RELU_N1_TO_1. */
int mn_build_activation(mn_builder *b, int activation, const tfl_tensor *out, float *lo,
                        float *hi, int32_t *qmin, int32_t *qmax);

/* A quantized tensor's zero point in the engine's uint8 domain. */
static inline int32_t mn_q8_zero_point(const tfl_tensor *t) {
  return t->type == TFL_INT8 ? t->zero_point + 128 : t->zero_point;
}
/* Byte i of a constant quantized tensor in the uint8 domain. */
static inline uint8_t mn_q8_byte(const tfl_tensor *t, size_t i) {
  return t->type == TFL_INT8 ? (uint8_t)((int)(int8_t)t->data[i] + 128) : t->data[i];
}

/* Padding of one spatial dimension at run time: SAME as TFLite (extra cell
 * after), VALID none. Returns the output size (0 when the input is too small). */
int mn_conv_out_size(int in, int k, int stride, int same, int *pad_before);

/* A sliding window (convolution, depthwise) of kh x kw at stride over an
 * input of in_c channels: its output dims (out_c channels) into *out, 0; or
 * -1 with the reason in err when the channels or the size do not fit. */
int mn_window_infer(const mn_dims *in, int in_c, int kh, int kw, int stride, int same, int out_c,
                    mn_dims *out, char *err, size_t size);
/* The kernels' geometry of such a window between in and out dims. */
mn_conv_geom mn_window_geometry(const mn_dims *in, const mn_dims *out, int kh, int kw, int stride,
                                int same);

/* Thread ith's share [a, b) of n items. */
static inline void mn_split(int n, int ith, int nth, int *a, int *b) {
  *a = (int)((long long)n * ith / nth);
  *b = (int)((long long)n * (ith + 1) / nth);
}

/* Importers, one per family (graph_build.c dispatches on the operator code). */
int mn_build_conv(mn_builder *b);        /* CONV_2D, FULLY_CONNECTED */
int mn_build_dwconv(mn_builder *b);      /* DEPTHWISE_CONV_2D */
int mn_build_pool(mn_builder *b);        /* AVERAGE_POOL_2D, MEAN */
int mn_build_binary(mn_builder *b);      /* ADD, SUB, MUL */
int mn_build_unary(mn_builder *b);       /* HARD_SWISH, RELU, RELU6, LOGISTIC */
int mn_build_softmax(mn_builder *b);     /* SOFTMAX */
int mn_build_quantize(mn_builder *b);    /* QUANTIZE, DEQUANTIZE */
int mn_build_reshape(mn_builder *b);     /* RESHAPE, SQUEEZE */
int mn_build_pad(mn_builder *b);         /* PAD */

/* Node classes other files need to recognise. */
extern const mn_op_class mn_op_conv, mn_op_dwconv, mn_op_reshape, mn_op_binary, mn_op_unary,
    mn_op_softmax, mn_op_avgpool, mn_op_quantize, mn_op_pad;

/* Composes chains of 8-bit elementwise nodes that depend on one input only
 * (unary operators, binary ones with a constant scalar) into the chain's
 * last node, as one table; the others are marked fused. */
void mn_elementwise_fuse(struct mn_model *m);

/* ---- what the runner needs to fuse nodes --------------------------------- */

/* A depthwise node's geometry and its band kernel; a 1x1 convolution's GEMM
 * (for the depthwise + pointwise bands). */
typedef struct {
  int kh, kw, stride, same;
} mn_dw_info;
int mn_dwconv_info(const mn_node *n, mn_dw_info *info);
/* Runs depthwise output rows [y0, y0 + rows) of node n into band (a buffer of
 * rows x out_w x C), the padding moved by y0. */
void mn_dwconv_run_rows(const mn_exec *x, const mn_node *n, int y0, int rows, void *band);
/* 1 when n is a 1x1, stride-1 convolution (a GEMM over pixels); its weight bytes. */
int mn_conv_is_pointwise(const mn_model *m, const mn_node *n, size_t *weight_bytes);
/* A float pointwise convolution (conv.c) or depthwise one (dwconv.c)
 * without activation takes a HARD_SWISH into its epilogue: 1 when it did
 * (its clamp becomes MN_F32_HSWISH_LO / HI), 0 when it cannot. */
int mn_conv_take_hswish(const mn_model *m, mn_node *n);
int mn_dwconv_take_hswish(const mn_model *m, mn_node *n);
/* Fuses each float HARD_SWISH into the convolution it alone reads
 * (elementwise.c): the activation is applied while the tile is in
 * registers instead of in a pass over the tensor. */
void mn_hswish_fuse(mn_model *m);
/* Pointwise node n over `pixels` rows of its input at a, into c. */
void mn_conv_run_pixels(const mn_exec *x, const mn_node *n, const void *a, int pixels, void *c);

#endif
