/* tflite_writer.h: a small writer of TensorFlow Lite files for the tests.
 *
 * Builds the subset of the schema the engine reads (one subgraph; tensors
 * with shape, type, buffer, quantization; operators with their options) as
 * a real flatbuffer, so that tests can make tiny graphs of every operator,
 * dtype and fusion, and crafted bad graphs, without a downloaded model.
 *
 *   tw_graph *g = tw_new();
 *   int in = tw_tensor(g, TFL_FLOAT32, 4, (int[]){1, 8, 8, 3}, NULL, 0, NULL);
 *   int w = tw_tensor(g, TFL_FLOAT32, 4, (int[]){5, 1, 1, 3}, weights, sizeof weights, NULL);
 *   ...
 *   tw_op_conv(g, TFL_OP_CONV_2D, in, w, bias, out, &(tw_conv){.stride = 1});
 *   tw_io(g, in, out);
 *   size_t size; uint8_t *file = tw_finish(g, &size);
 */
#ifndef MN_TFLITE_WRITER_H
#define MN_TFLITE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "tflite.h"

typedef struct tw_graph tw_graph;

/* Quantization of a tensor: one scale and zero point, or per-channel scales
 * along dim (zero points 0). NULL: none. */
typedef struct {
  int n;              /* number of scales (1 = per tensor) */
  const float *scales;
  const int64_t *zero_points; /* n values, or NULL for zeros */
  int dim;
} tw_quant;

tw_graph *tw_new(void);
void tw_free(tw_graph *g);

/* A tensor; data (bytes, copied) makes it a constant. Returns its index. */
int tw_tensor(tw_graph *g, int type, int rank, const int *shape, const void *data, size_t bytes,
              const tw_quant *q);

/* Operator options. */
typedef struct {
  int padding;     /* TFL_PAD_SAME / TFL_PAD_VALID */
  int stride;      /* both directions */
  int stride_h;    /* when not 0: a different vertical stride */
  int activation;  /* TFL_ACT_* */
  int dilation;    /* 0 = 1 */
  int depth_multiplier; /* depthwise; 0 = 1 */
  int filter_w, filter_h; /* pools */
  int keep_dims;   /* MEAN */
  float beta;      /* SOFTMAX; 0 = 1 */
} tw_options;

/* An operator of code with inputs (-1 = absent) and one output. */
void tw_op(tw_graph *g, int code, int n_in, const int *inputs, int output, const tw_options *o);
/* An operator code written only in the deprecated byte, as TOCO did. */
void tw_op_deprecated_code(tw_graph *g, int code, int n_in, const int *inputs, int output,
                           const tw_options *o);
void tw_io(tw_graph *g, int input, int output);

/* The file; free() it. NULL on out of memory. */
uint8_t *tw_finish(tw_graph *g, size_t *size);

#endif
