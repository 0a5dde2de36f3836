/* engine.h: the engine's internal model, layer and runner structures. */
#ifndef MN_ENGINE_H
#define MN_ENGINE_H

#include <stdint.h>

#include "mobilenet/mobilenet.h"
#include "kernels/kernels.h"

typedef enum {
  MN_LAYER_CONV,      /* KxK convolution, any stride (the first layer) */
  MN_LAYER_CONV1X1,   /* pointwise convolution / fully connected: a GEMM */
  MN_LAYER_DWCONV,    /* KxK depthwise convolution, multiplier 1 */
  MN_LAYER_AVGPOOL,   /* global average pool */
  MN_LAYER_RESHAPE,   /* no data change */
  MN_LAYER_SOFTMAX
} mn_layer_kind;

typedef struct {
  mn_layer_kind kind;
  int kh, kw, stride, same_padding;
  int in_c, out_c;
  int fully_connected; /* from FULLY_CONNECTED (reported as "fc") */
  const mn_f32_gemm *gemm; /* float GEMM shape the weights were packed for */
  mn_f32_conv1p_fn conv1p; /* direct KxK convolution on that packing, or NULL */
  /* float32: weights in the kernel's layout, bias per output channel */
  float *w;
  float *bias;
  float act_min, act_max;
  /* uint8: weights as (q - zero point) in the kernel's layout */
  int32_t *wq;
  int32_t *bias_q;
  mn_requant rq;
  float in_scale, out_scale; /* softmax */
  int32_t in_zp, out_zp;
  float beta;
  int64_t params;
} mn_layer;

struct mn_model {
  char path[4096];
  const char *name;
  void *map;     /* the mapped file */
  size_t map_size;
  mn_dtype dtype;
  int resolution; /* trained input size */
  int classes;    /* outputs: 1000 or 1001 */
  float alpha;
  float in_scale; /* uint8 input quantization */
  int32_t in_zp;
  float out_scale; /* uint8 output quantization */
  int32_t out_zp;
  mn_layer *layers;
  int n_layers;
  const mn_kernels *kernels; /* the level the weights were packed for */
  char **labels;           /* 1000 class descriptions, or NULL */
};

/* Shapes of one layer at a given input resolution. */
typedef struct {
  int in_h, in_w, in_c;
  int out_h, out_w, out_c;
  int pad_top, pad_left;
} mn_layer_shape;

/* Computes every layer's shape for an input of size x size; returns 0 or -1
 * (with err) when the network cannot run at that size. */
int mn_plan_shapes(const mn_model *model, int size, mn_layer_shape *shapes, char *err, size_t err_size);

/* Builds the layers from the parsed file (model_build.c). */
struct tfl_model_s;
int mn_build_layers(mn_model *model, const void *tfl, char *err, size_t err_size);
void mn_free_layers(mn_model *model);

#endif
