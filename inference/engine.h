/* engine.h: the engine's model as a graph of values and nodes.
 *
 * In the manner of XNNPACK's subgraph and ggml's graph: a TFLite file is
 * imported once (graph_build.c) into values (tensors: type, declared shape,
 * quantization) and nodes in topological order, each node an operator of one
 * op family (ops/) with its weights packed for this CPU. The model is
 * immutable and shared by runners; a runner (runner.c) infers the shapes at
 * its resolution, plans one arena from the tensors' lifetimes (plan.c) and
 * runs the nodes in one parallel region, a barrier between steps.
 *
 * Quantized values are held as uint8 whatever the file says: an int8 tensor
 * (TensorFlow 2 files) becomes uint8 with its zero point moved by 128, which
 * represents the same real numbers (real = scale * (q - zero_point)), so one
 * set of 8-bit kernels serves uint8 and int8 files. */
#ifndef MN_ENGINE_H
#define MN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "mobilenet/mobilenet.h"
#include "kernels/kernels.h"

typedef enum { MN_VAL_F32 = 0, MN_VAL_Q8 = 1, MN_VAL_I32 = 2 } mn_val_type;

/* Dimensions of a tensor at one resolution: NHWC, lower ranks padded with
 * leading ones ([1, 1001] is 1 x 1 x 1 x 1001). */
typedef struct {
  int n, h, w, c;
} mn_dims;

static inline size_t mn_dims_count(const mn_dims *d) {
  return (size_t)d->n * (size_t)d->h * (size_t)d->w * (size_t)d->c;
}

/* The largest tensor the engine runs (values, not bytes): the kernels count
 * pixels and offsets in int, and a classifier's biggest activation is far
 * below it (v1 1.0 at 512: 8.4 M). */
#define MN_MAX_TENSOR_VALUES ((size_t)1 << 28)

/* What every computed tensor must be: batch 1 (the kernels run one image),
 * every dimension >= 1, and at most MN_MAX_TENSOR_VALUES values — checked
 * dimension by dimension, so that a product cannot wrap around. */
static inline int mn_dims_fit(const mn_dims *d) {
  if (d->n != 1 || d->h < 1 || d->w < 1 || d->c < 1) return 0;
  const size_t max = MN_MAX_TENSOR_VALUES;
  if ((size_t)d->h > max || (size_t)d->w > max || (size_t)d->c > max) return 0;
  if ((size_t)d->h * (size_t)d->w > max) return 0;
  return (size_t)d->h * (size_t)d->w * (size_t)d->c <= max;
}

typedef struct {
  mn_val_type type;
  int file_type;   /* TensorType in the file (TFL_UINT8, TFL_INT8, ...) */
  int rank;        /* declared shape */
  int shape[4];
  float scale;     /* quantized: real = scale * (q - zp), q and zp as uint8 */
  int32_t zp;
  int tfl_index;   /* tensor index in the file */
  char name[64];
  int producer;    /* node index; -1 for the graph input and constants */
  int is_const;    /* holds constant data (weights, biases, shapes) */
  int consumers;   /* nodes reading it */
  int alias_of;    /* the value whose storage it shares (RESHAPE, SQUEEZE,
                      an identity QUANTIZE), or its own index */
} mn_value;

struct mn_exec;
struct mn_node;
struct mn_model;

/* An op family's behaviour on its nodes (one file of ops/ each). */
typedef struct {
  const char *name;
  /* Sets the output's dimensions from the inputs' (0) or explains why the
   * node cannot run at this resolution (-1). */
  int (*infer)(const struct mn_model *m, const struct mn_node *n, mn_dims *dims, char *err,
               size_t err_size);
  /* Thread ith of nth computes its share of the output. */
  void (*run)(const struct mn_exec *x, const struct mn_node *n, int ith, int nth);
  /* Layer type ("conv3x3/s2") and multiply-adds for the summary. */
  void (*describe)(const struct mn_model *m, const struct mn_node *n, const mn_dims *dims,
                   mn_layer_info *info);
  /* Bytes of scratch the node needs while it runs (shared by its threads). */
  size_t (*scratch)(const struct mn_model *m, const struct mn_node *n, const mn_dims *dims);
  void (*free_state)(void *state);
  /* Elementwise families only (else NULL): the output pixels [pixel0,
   * pixel0 + pixels), every channel, from the same pixels of the inputs. The
   * runner calls it on the rows a producer's thread has just written. */
  void (*run_pixels)(const struct mn_exec *x, const struct mn_node *n, size_t pixel0,
                     size_t pixels);
  /* Producers only (else NULL): the output pixels [*pixel0, *pixel0 +
   * *pixels) thread ith of nth writes; 0 when its share is not a range of
   * whole pixels. */
  int (*pixel_share)(const struct mn_exec *x, const struct mn_node *n, int ith, int nth,
                     size_t *pixel0, size_t *pixels);
} mn_op_class;

typedef struct mn_node {
  const mn_op_class *cls;
  int tfl_code;  /* BuiltinOperator it came from */
  int tfl_index; /* operator index in the file */
  int n_in;
  int in[3];     /* value indices; constants included, -1 when absent */
  int out;
  void *state;   /* op family's own: packed weights, quantization */
  int64_t params; /* weights + biases, for the summary */
  int fused;      /* computed by a later node (a chain of 8-bit tables): not run */
} mn_node;

struct mn_model {
  char path[4096];
  const char *name;
  mn_dtype dtype;      /* of the weights: f32, u8 or i8 */
  int resolution;      /* trained input size */
  int classes;         /* outputs: 1000 or 1001 */
  float alpha;
  mn_arch arch;
  int logits;          /* the graph ends without SOFTMAX: the engine applies it */
  mn_arithmetic arith; /* 8-bit convolution rounding (mobilenet.h) */
  mn_value *values;
  int n_values;
  mn_node *nodes;
  int n_nodes;
  int input, output;   /* value indices */
  const mn_kernels *kernels; /* the level the weights were packed for */
  char **labels;       /* 1000 class descriptions, or NULL */
};

/* What a runner gives the nodes while they run. */
typedef struct mn_exec {
  const struct mn_model *model;
  const mn_kernels *kernels;
  void *const *ptr;     /* storage of every value (NULL for constants) */
  const mn_dims *dims;  /* dimensions of every value at this resolution */
  void *const *scratch; /* per node: its scratch, or NULL */
} mn_exec;

#define MN_VAL_PTR(x, v) ((x)->ptr[v])

/* The raw output of the last run (engine-internal, for tests): its bytes,
 * value type, count and quantization. */
const void *mn_runner_output(const struct mn_runner *r, mn_val_type *type, int *count,
                             float *scale, int32_t *zp);

/* Builds the graph from the parsed file (graph_build.c): refuses what the
 * engine cannot run, naming the operator index, type and tensor. */
int mn_graph_build(struct mn_model *m, const void *tfl, char *err, size_t err_size);
void mn_graph_free(struct mn_model *m);

/* Infers every value's dimensions for an input of size x size. */
int mn_graph_infer(const struct mn_model *m, int size, mn_dims *dims, char *err,
                   size_t err_size);

/* What a file is, without packing its weights (model.c): for picking files. */
typedef struct {
  mn_arch arch;
  float alpha;
  int resolution;
  mn_dtype dtype;
  int classes;
} mn_model_facts;
mn_status mn_model_probe(const char *path, mn_model_facts *facts, char err[MN_ERROR_MAX]);

/* Architecture and width multiplier read off the graph (model_info.c). */
void mn_graph_identify(struct mn_model *m);

#endif
