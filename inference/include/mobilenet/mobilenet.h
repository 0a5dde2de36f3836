/* mobilenet.h: public API of the mobilenet-live inference engine.
 *
 * The engine loads TensorFlow Lite MobileNet classifiers (v1, v2, v3-small,
 * v3-large; float32, uint8, or int8 with per-channel weights), runs them at
 * any input resolution and returns top-k ImageNet classes.
 *
 *   mn_model *model;
 *   char err[MN_ERROR_MAX];
 *   if (mn_model_load("mobilenet_v1_1.0_224_quant.tflite", &model, err) != MN_OK) ...
 *   mn_runner *runner;
 *   mn_runner_create(model, 224, 2, &runner, err);
 *   mn_result top[5];
 *   int n = mn_runner_classify(runner, &image, 5, top, err);
 *
 * Every function returns an mn_status; on failure a one-line message naming
 * the function's object (file, parameter) and the cause is written to err.
 * A loaded model is immutable and may be shared by runners in several
 * threads; a runner belongs to one thread at a time.
 */
#ifndef MOBILENET_MOBILENET_H
#define MOBILENET_MOBILENET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MN_ERROR_MAX 512
#define MN_LABEL_MAX 128
#define MN_MIN_RESOLUTION 32
#define MN_MAX_RESOLUTION 512
#define MN_MAX_THREADS 256 /* threads of one runner */

/* The width multipliers alpha MobileNet files are published with (v1 0.25 to
 * 1.0, v2 0.35 to 1.4, v3 0.75 and 1.0), ascending: what the programs and the
 * plugin accept. MN_ALPHAS_TEXT lists them for messages and help texts. */
#define MN_ALPHA_COUNT 7
#define MN_ALPHAS_TEXT "0.25, 0.35, 0.5, 0.75, 1.0, 1.3 or 1.4"
const float *mn_alphas(void);     /* MN_ALPHA_COUNT values */
int mn_alpha_known(double alpha); /* 1 when alpha is one of them (to 1e-6) */

typedef enum {
  MN_OK = 0,
  MN_ERR_IO,          /* file cannot be opened or read */
  MN_ERR_FORMAT,      /* not a valid TFLite flatbuffer, or out-of-bounds data */
  MN_ERR_UNSUPPORTED, /* valid file, but an operator or layout the engine refuses */
  MN_ERR_ARGUMENT,    /* a parameter out of range */
  MN_ERR_MEMORY,      /* allocation failed */
  MN_ERR_NOT_FOUND    /* no model matches the request */
} mn_status;

/* Weights and activations: float32; uint8 per-tensor (TFLite 1 quantized
 * files); int8 with per-channel weights (TensorFlow 2 full-integer files). */
typedef enum { MN_DTYPE_F32 = 0, MN_DTYPE_U8 = 1, MN_DTYPE_I8 = 2 } mn_dtype;
#define MN_DTYPE_COUNT 3

/* Architectures the engine recognises in a graph. MN_ARCH_OTHER is a graph
 * of the same operators that is none of them ("mobilenet-like"); it runs. */
typedef enum {
  MN_ARCH_OTHER = 0,
  MN_ARCH_V1,
  MN_ARCH_V2,
  MN_ARCH_V3_SMALL,
  MN_ARCH_V3_LARGE,
  MN_ARCH_V3_LARGE_MINIMALISTIC
} mn_arch;
#define MN_ARCH_COUNT 6


/* Pixel layouts accepted by mn_runner_classify. */
typedef enum {
  MN_PIXEL_RGB = 0, /* 3 bytes R,G,B */
  MN_PIXEL_BGR,     /* 3 bytes B,G,R */
  MN_PIXEL_RGBX,    /* 4 bytes R,G,B,x (also RGBA) */
  MN_PIXEL_BGRX,    /* 4 bytes B,G,R,x (also BGRA) */
  MN_PIXEL_XRGB,    /* 4 bytes x,R,G,B (also ARGB) */
  MN_PIXEL_XBGR     /* 4 bytes x,B,G,R (also ABGR) */
} mn_pixel_format;

typedef struct {
  const uint8_t *pixels;
  int width, height;
  size_t stride; /* bytes per row */
  mn_pixel_format format;
} mn_image;

typedef struct {
  int class_index;          /* ImageNet class 0..999 */
  float score;              /* softmax probability 0..1 */
  char label[MN_LABEL_MAX]; /* first name of the class description */
} mn_result;

/* The 8-bit arithmetic a model runs with. Two valid runtimes round the
 * requantization of a convolution differently, and they disagree on a few
 * images in a thousand:
 *  - MN_ARITH_LITERT (default): what Google's LiteRT computes on CPUs with
 *    its XNNPACK kernels: float32 multipliers, rounding half to even;
 *  - MN_ARITH_REFERENCE: TFLite's reference kernels (and the numpy reference
 *    in ../shared): double multipliers, rounding half away from zero.
 * Only per-tensor (uint8) convolutions differ; per-channel int8 weights, and
 * the other operators, always follow LiteRT. $MOBILENET_ARITHMETIC
 * (litert | reference) sets the default for mn_model_load. */
typedef enum { MN_ARITH_LITERT = 0, MN_ARITH_REFERENCE = 1 } mn_arithmetic;

typedef struct mn_model mn_model;
typedef struct mn_runner mn_runner;

/* The library's version ("0.1.0"), for programs that report it. */
const char *mn_version(void);

/* ---- models ---------------------------------------------------------- */

/* Loads and validates a .tflite file. Labels are read from
 * imagenet_labels.txt in the same folder when present. */
mn_status mn_model_load(const char *path, mn_model **out, char err[MN_ERROR_MAX]);
mn_status mn_model_load_with(const char *path, mn_arithmetic arith, mn_model **out,
                             char err[MN_ERROR_MAX]);
mn_arithmetic mn_model_arithmetic(const mn_model *model);
const char *mn_arithmetic_name(mn_arithmetic arith); /* "litert" / "reference" */
int mn_arithmetic_parse(const char *text, mn_arithmetic *out);
void mn_model_free(mn_model *model);

float mn_model_alpha(const mn_model *model);         /* width multiplier */
mn_arch mn_model_arch(const mn_model *model);
/* 1 when the file's graph ends in logits (no SOFTMAX): the engine applies
 * softmax to the dequantized outputs, so scores are probabilities either way. */
int mn_model_outputs_logits(const mn_model *model);
int mn_model_resolution(const mn_model *model);      /* trained input size */
mn_dtype mn_model_dtype(const mn_model *model);
int mn_model_num_classes(const mn_model *model);     /* outputs: ImageNet's 1000 or 1001 */
const char *mn_model_path(const mn_model *model);
const char *mn_model_name(const mn_model *model);    /* file name without folder */
/* Full description of ImageNet class 0..999, or NULL. */
const char *mn_model_class_label(const mn_model *model, int class_index);
/* Replaces the labels with a file of 1000 or 1001 lines (background first). */
mn_status mn_model_load_labels(mn_model *model, const char *path, char err[MN_ERROR_MAX]);

const char *mn_dtype_name(mn_dtype dtype); /* "f32" / "u8" / "i8" */
int mn_dtype_parse(const char *text, mn_dtype *out);
/* "v1", "v2", "v3-small", "v3-large", "v3-large-minimalistic", "mobilenet-like" */
const char *mn_arch_name(mn_arch arch);
/* "MobileNet v2", "MobileNet v3-small", ... for titles */
const char *mn_arch_title(mn_arch arch);
int mn_arch_parse(const char *text, mn_arch *out);

/* ---- architecture summary at a resolution ----------------------------- */

typedef struct {
  char type[24];      /* "conv3x3/s2", "dwconv3x3/s1", "conv1x1", "avgpool", "add", ... */
  int out_h, out_w, out_c;
  int64_t params;     /* weights + biases */
  int64_t macs;       /* multiply-adds at this resolution */
} mn_layer_info;

/* Fills up to max layers; returns the number of layers (may exceed max). */
int mn_model_layers(const mn_model *model, int resolution, mn_layer_info *layers, int max);

/* ---- running ----------------------------------------------------------- */

/* A runner owns the buffers for one (model, resolution). threads <= 0 means
 * all available cores. */
mn_status mn_runner_create(const mn_model *model, int resolution, int threads,
                           mn_runner **out, char err[MN_ERROR_MAX]);
void mn_runner_free(mn_runner *runner);
int mn_runner_resolution(const mn_runner *runner);
int mn_runner_threads(const mn_runner *runner);
const mn_model *mn_runner_model(const mn_runner *runner);
mn_status mn_runner_set_threads(mn_runner *runner, int threads, char err[MN_ERROR_MAX]);
/* The thread count is a ceiling: when other work keeps cores busy and fewer
 * threads run an inference clearly faster, the runner uses fewer; it keeps
 * measuring (a few inferences on one thread more or fewer about every 60)
 * and returns to more when they pay again. Results do not depend on it. On
 * by default; off, every inference uses mn_runner_threads (benchmarks). */
void mn_runner_set_adaptive_threads(mn_runner *runner, int on);
/* Threads the last inference ran on. */
int mn_runner_active_threads(const mn_runner *runner);

/* Preprocesses (central crop 87.5 %, bilinear resize to resolution), runs
 * the network and writes the k best ImageNet classes, best first.
 * Returns the number written (>= 0) or a negative mn_status. */
int mn_runner_classify(mn_runner *runner, const mn_image *image, int k, mn_result *top,
                       char err[MN_ERROR_MAX]);

/* The same, from an image already resized to resolution x resolution RGB. */
int mn_runner_classify_preprocessed(mn_runner *runner, const uint8_t *rgb, int k, mn_result *top,
                                    char err[MN_ERROR_MAX]);

/* Probabilities over the model's outputs from the last run (1000 or 1001
 * floats; with 1001, index 0 is background). */
const float *mn_runner_scores(const mn_runner *runner, int *count);

/* Per-layer wall time of the last run in milliseconds (for profiling). */
int mn_runner_layer_times(const mn_runner *runner, double *ms, int max);

/* ---- preprocessing (exposed for tests and the plugin) ------------------ */

/* Central crop to 87.5 % and bilinear resize (half-pixel centres, no
 * antialiasing) to size x size RGB, rounded half up. */
mn_status mn_preprocess(const mn_image *image, int size, uint8_t *rgb_out, char err[MN_ERROR_MAX]);

/* ---- finding models ------------------------------------------------------ */

/* The models folder: explicit dir if not NULL, else $MOBILENET_MODELS, else
 * $XDG_DATA_HOME/mobilenet-live/models (~/.local/share/...), else the
 * installed data folder. Writes into buf; returns buf. */
const char *mn_models_dir(const char *explicit_dir, char *buf, size_t size);

/* Picks the file in dir of the given architecture, alpha and dtype whose
 * trained resolution is nearest to resolution (resolution <= 0: the
 * largest). MN_ARCH_V3_LARGE also takes a v3-large-minimalistic file when
 * no other is there. Writes its path into path. When no file answers, err
 * also names every .tflite file of dir the engine refused, with its cause
 * (a corrupt copy of the wanted file would otherwise look like no file). */
mn_status mn_models_find(const char *dir, mn_arch arch, float alpha, mn_dtype dtype,
                         int resolution, char *path, size_t size, char err[MN_ERROR_MAX]);

/* The usable model files of a folder, in name order: what each one is
 * (read from its graph, remembered per file while the process runs).
 * Writes up to max entries; returns how many files there are (-1 when the
 * folder cannot be read). Files the engine refuses are left out. */
typedef struct {
  char name[256]; /* file name, without the folder */
  mn_arch arch;
  float alpha;
  int resolution; /* trained input size */
  mn_dtype dtype;
  int classes;
} mn_model_entry;
int mn_models_list(const char *dir, mn_model_entry *entries, int max);

/* Top-k over a probability vector (background at index 0 when count is
 * 1001 is skipped). Ties go to the lower index. Returns the number written. */
int mn_topk(const float *scores, int count, int k, int *class_out, float *score_out);

#ifdef __cplusplus
}
#endif
#endif
