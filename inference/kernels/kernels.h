/* kernels.h: compute kernels of the engine, apart from the graph and the API.
 *
 * Names say data type, operation and tile: mn_f32_gemm_8x32__avx512 is a
 * float32 GEMM micro-kernel computing 8 rows x 32 columns with AVX-512.
 * Every fast kernel has a plain reference (suffix _ref) it is tested
 * against. Activations are NHWC; a kernel computes the output rows
 * [y0, y1) so that threads split the work by index.
 */
#ifndef MN_KERNELS_H
#define MN_KERNELS_H

#include <stddef.h>
#include <math.h>
#include <stdint.h>

/* The widest channel count a convolution or depthwise layer takes (the
 * graph builder refuses more); kernels size their stack buffers by it. */
#define MN_MAX_CHANNELS 8192

/* ---- instruction-set levels ------------------------------------------- */

typedef enum {
  MN_ISA_GENERIC = 0,
  MN_ISA_AVX2 = 1,       /* AVX2 + FMA */
  MN_ISA_AVX512 = 2,     /* AVX-512 F/VL/BW/DQ */
  MN_ISA_AVX512VNNI = 3  /* and VNNI: uint8 dot products */
} mn_isa;

/* The best level this CPU runs, lowered by $MOBILENET_ISA
 * (generic | avx2 | avx512 | avx512vnni) when set. */
mn_isa mn_isa_detect(void);
const char *mn_isa_name(mn_isa isa);

/* ---- 8-bit requantization ------------------------------------------------
 * Two arithmetics, chosen per layer when the model is built:
 *  - per tensor (scales == NULL): TFLite's reference semantics, as the
 *    independent reference computes them: q = zp + round-half-away(acc *
 *    mult) with mult = in_scale * w_scale / out_scale in double;
 *  - per channel (scales != NULL): XNNPACK's, which LiteRT runs for the
 *    TensorFlow 2 int8 files: q = zp + round-half-even((float)acc * scale[c])
 *    with scale[c] = in_scale * w_scale[c] / out_scale in float.
 * Both clamp to [qmin, qmax]. */

typedef struct {
  double mult;          /* per tensor */
  const float *scales;  /* per channel, or NULL; channel c uses scales[c % period] */
  int period;
  int32_t in_zp;        /* input zero point */
  int32_t w_zp;         /* weight zero point */
  int32_t out_zp;       /* output zero point */
  int32_t qmin, qmax;
} mn_requant;

/* round-half-away-from-zero(acc * mult) + out_zp, clamped. Exact for any
 * int32 acc (no v + 0.5 double-rounding trap). */
static inline uint8_t mn_requantize(int32_t acc, const mn_requant *rq) {
  double v = (double)acc * rq->mult;
  double t = (double)(int64_t)v; /* truncation toward zero, exact */
  double f = v - t;              /* exact */
  int64_t r = (int64_t)t + (f >= 0.5) - (f <= -0.5);
  r += rq->out_zp;
  if (r < rq->qmin) r = rq->qmin;
  if (r > rq->qmax) r = rq->qmax;
  return (uint8_t)r;
}

/* XNNPACK's fp32 requantization of one value with multiplier scale: the
 * product clamped to the output range (integer bounds: clamping before or
 * after rounding is the same), rounded half to even (lrintf in the default
 * rounding mode, as XNNPACK's magic-number addition and cvtps2dq). */
static inline uint8_t mn_requantize_fp32(int32_t acc, float scale, const mn_requant *rq) {
  float v = (float)acc * scale;
  const float lo = (float)(rq->qmin - rq->out_zp), hi = (float)(rq->qmax - rq->out_zp);
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return (uint8_t)((int32_t)lrintf(v) + rq->out_zp);
}

/* Either arithmetic for output channel c. */
static inline uint8_t mn_requantize_at(int32_t acc, const mn_requant *rq, int c) {
  return rq->scales ? mn_requantize_fp32(acc, rq->scales[c % rq->period], rq)
                    : mn_requantize(acc, rq);
}

/* ---- float32 GEMM: C[m][n] = A[m][k] * W[k][n] + bias, clamped ---------- */

/* Packed weights: ceil(n / nr) panels, each nr biases then k rows of nr
 * weights (zero-padded past n). */
typedef void (*mn_f32_gemm_ukernel)(int mr, int nc, int k, const float *a, size_t a_stride,
                                    const float *panel, float *c, size_t c_stride, float lo,
                                    float hi);
typedef struct {
  const char *name;
  int mr, nr;
  mn_f32_gemm_ukernel ukernel;
  mn_f32_gemm_ukernel ukernel_1row; /* same panels, one row (mr = 1) */
} mn_f32_gemm;

size_t mn_f32_gemm_packed_size(int n, int k, int nr);
/* w_nk: TFLite layout [n][k]. */
void mn_f32_gemm_pack(int n, int k, int nr, const float *w_nk, const float *bias, float *packed);
/* Runs the tiles of thread ith of nth. */
void mn_f32_gemm_run(const mn_f32_gemm *g, int m, int n, int k, const float *a, size_t a_stride,
                     const float *packed, float *c, size_t c_stride, float lo, float hi, int ith,
                     int nth);
void mn_f32_gemm_ref(int m, int n, int k, const float *a, const float *w_nk, const float *bias,
                     float *c, float lo, float hi);


/* ---- uint8 GEMM (1x1 convolution / fully connected) -------------------- */

/* How a level's micro-kernel wants the weights. */
typedef enum {
  MN_U8_PACK_I32 = 0, /* panels of nr int32 biases, then k rows of nr int32 (q - w_zp) */
  MN_U8_PACK_S8X4 = 1, /* panels of nr int32 column constants, then ceil(k/4) groups of
                          nr x 4 int8 (q - 128): see u8_gemm_vnni.c */
  MN_U8_PACK_I16X2 = 2  /* panels of nr int32 column constants (bias - in_zp * sum of the
                          column), then ceil(k/2) groups of nr x 2 int16 (q - w_zp):
                          for vpmaddwd (AVX2, AVX-512 without VNNI) */
} mn_u8_pack_format;

typedef void (*mn_u8_gemm_ukernel)(int mr, int nc, int k, const uint8_t *a, size_t a_stride,
                                   const void *panel, uint8_t *c, size_t c_stride,
                                   const mn_requant *rq);
typedef struct {
  const char *name;
  int mr, nr;
  mn_u8_pack_format format;
  mn_u8_gemm_ukernel ukernel;
} mn_u8_gemm;

size_t mn_u8_gemm_packed_size(const mn_u8_gemm *g, int n, int k); /* bytes */
void mn_u8_gemm_pack(const mn_u8_gemm *g, int n, int k, const uint8_t *w_nk, int32_t w_zp,
                     int32_t in_zp, const int32_t *bias, void *packed);
void mn_u8_gemm_run(const mn_u8_gemm *g, int m, int n, int k, const uint8_t *a, size_t a_stride,
                    const void *packed, uint8_t *c, size_t c_stride, const mn_requant *rq,
                    int ith, int nth);
void mn_u8_gemm_ref(int m, int n, int k, const uint8_t *a, const uint8_t *w_nk, int32_t w_zp,
                    const int32_t *bias, uint8_t *c, const mn_requant *rq);

#if defined(__x86_64__)
void mn_u8_gemm_8x32c4__avx512vnni(int mr, int nc, int k, const uint8_t *a, size_t a_stride,
                                   const void *panel, uint8_t *c, size_t c_stride,
                                   const mn_requant *rq);
#endif

/* ---- convolution geometry ----------------------------------------------- */

typedef struct {
  int in_h, in_w, in_c;
  int out_h, out_w, out_c;
  int kh, kw, stride, pad_top, pad_left;
} mn_conv_geom;

/* ---- float32 KxK convolution, TFLite weights [out_c][kh][kw][in_c] ------- */
void mn_f32_conv_ref(const mn_conv_geom *g, const float *in, const float *w_ohwi,
                     const float *bias, float *out, float lo, float hi);
/* ---- float32 depthwise KxK, weights [kh][kw][c] -------------------------- */
void mn_f32_dwconv_ref(const mn_conv_geom *g, const float *in, const float *w, const float *bias,
                       float *out, float lo, float hi);
/* ---- uint8 KxK convolution, TFLite weights [out_c][kh][kw][in_c] ---------- */
void mn_u8_conv_ref(const mn_conv_geom *g, const uint8_t *in, const uint8_t *w_ohwi,
                    int32_t w_zp, const int32_t *bias, uint8_t *out, const mn_requant *rq);
/* ---- uint8 depthwise KxK, weights [kh][kw][c] ----------------------------- */
void mn_u8_dwconv_ref(const mn_conv_geom *g, const uint8_t *in, const uint8_t *w, int32_t w_zp,
                      const int32_t *bias, uint8_t *out, const mn_requant *rq);

/* ---- depthwise weights for the fast kernels -------------------------------
 * Each tap's weights repeat with period mn_dw_period(c) = lcm(c, 16), so a
 * stride-1 row is one flat loop over x*c + ch in whole vectors, whatever c. */
int mn_dw_period(int c);
/* w: [kh][kw][c] -> [kh * kw + 1][period]: the taps, then the bias */
void mn_f32_dw_pack(int kh, int kw, int c, const float *w, const float *bias, float *packed);
/* The float KxK depthwise kernel on padded rows (f32_dwconv_padded): the
 * input rows copied with zero columns on both sides, so that no output
 * pixel is a border case. For 3x3, 5x5 and 7x7 windows (any kh up to 7),
 * stride 1 or 2, channels a multiple of 8. */
int mn_dw_padded_ok(const mn_conv_geom *g);
/* floats in one padded row */
size_t mn_dw_padded_row(const mn_conv_geom *g);
/* input rows [r0, r1) into their padded copies (padded: in_h padded rows) */
void mn_f32_dw_pad_rows(const mn_conv_geom *g, const float *in, float *padded, int r0, int r1);
/* the same for 8-bit rows, padded with the input zero point (a zero term) */
void mn_u8_dw_pad_rows(const mn_conv_geom *g, const uint8_t *in, uint8_t zp, uint8_t *padded,
                       int r0, int r1);
/* w: uint8 [kh][kw][c] -> int32 [kh * kw + 1][period] of (q - w_zp), then the bias */
void mn_u8_dw_pack(int kh, int kw, int c, const uint8_t *w, int32_t w_zp, const int32_t *bias,
                   int32_t *packed);

/* ---- the fast kernels of one instruction-set level ------------------------
 * Weights are in the layouts the fast kernels want (packed at load):
 *   dwconv: mn_f32_dw_pack / mn_u8_dw_pack
 *   gemm:   panels, see mn_f32_gemm_pack / mn_u8_gemm_pack. */
/* Direct KxK convolution reading a single packed GEMM panel (out_c == nr). */
typedef void (*mn_f32_conv1p_fn)(const mn_conv_geom *g, const float *in, const float *panel,
                                 float *out, float lo, float hi, int y0, int y1);

/* The float layers' activation is a clamp to [lo, hi]; an empty range
 * (MN_F32_HSWISH_LO > MN_F32_HSWISH_HI) selects hard-swish instead, for a
 * pointwise or depthwise convolution whose HARD_SWISH was fused into it
 * (ops/elementwise.c). x * min(max(x / 6 + 0.5, 0), 1): the operator's
 * own arithmetic. */
#define MN_F32_HSWISH_LO INFINITY
#define MN_F32_HSWISH_HI (-INFINITY)
static inline float mn_f32_hswish(float x) {
  const float t = x * (1.0f / 6.0f) + 0.5f;
  return x * (t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t);
}
static inline float mn_f32_act(float v, float lo, float hi) {
  if (lo > hi) return mn_f32_hswish(v);
  return v < lo ? lo : v > hi ? hi : v;
}

typedef enum { MN_UNARY_HARD_SWISH, MN_UNARY_RELU, MN_UNARY_RELU6, MN_UNARY_LOGISTIC } mn_unary;

/* Elementwise binary operators. The second operand is full (period 0), a
 * scalar (period 1) or one value per channel (period = channels; a and out
 * then start at channel 0). */
typedef enum { MN_BINARY_ADD, MN_BINARY_SUB, MN_BINARY_MUL } mn_binary;

/* XNNPACK's 8-bit arithmetic of ADD / SUB (fixed point: a_mult, b_mult,
 * bias, shift) and MUL (float scale), in the uint8 domain. */
typedef struct {
  mn_binary op;
  int32_t a_zp, b_zp, out_zp, qmin, qmax;
  int32_t a_mult, b_mult, bias;
  uint32_t shift;
  float scale;
} mn_q8_binary;

static inline uint8_t mn_q8_binary_ref(const mn_q8_binary *p, int32_t a, int32_t b) {
  int32_t v;
  if (p->op == MN_BINARY_MUL) {
    float f = (float)((a - p->a_zp) * (b - p->b_zp)) * p->scale;
    const float lo = (float)(p->qmin - p->out_zp), hi = (float)(p->qmax - p->out_zp);
    f = f < lo ? lo : f > hi ? hi : f;
    v = (int32_t)nearbyintf(f) + p->out_zp;
  } else {
    v = ((p->bias + a * p->a_mult + b * p->b_mult) >> p->shift) + p->out_zp;
    v = v < p->qmin ? p->qmin : v > p->qmax ? p->qmax : v;
  }
  return (uint8_t)v;
}

typedef struct {
  mn_isa isa;
  mn_f32_gemm f32_gemm;        /* wide tile */
  mn_f32_gemm f32_gemm_narrow; /* 8 columns, for layers with few channels */
  mn_f32_gemm f32_gemm_mid;    /* one vector wide (AVX-512: 16); else the wide tile */
  mn_f32_gemm f32_gemm_24;     /* 24 columns for pointwise layers (AVX2); else all zero */
  /* the direct convolution for out_c channels packed at nr, or NULL */
  mn_f32_conv1p_fn (*f32_conv1p_for)(int out_c, int nr);
  void (*f32_dwconv)(const mn_conv_geom *g, const float *in, const float *packed, float *out,
                     float lo, float hi, int y0, int y1);
  /* the same on rows padded by mn_f32_dw_pad_rows, where mn_dw_padded_ok */
  void (*f32_dwconv_padded)(const mn_conv_geom *g, const float *padded, const float *packed,
                            float *out, float lo, float hi, int y0, int y1);
  /* on rows padded by mn_u8_dw_pad_rows, where mn_dw_padded_ok and the
   * channels are a multiple of lanes */
  void (*u8_dwconv_padded)(const mn_conv_geom *g, const uint8_t *padded, const int32_t *packed,
                           uint8_t *out, const mn_requant *rq, int y0, int y1);
  int lanes; /* 32-bit values per vector of the level */
  void (*u8_dwconv)(const mn_conv_geom *g, const uint8_t *in, const int32_t *packed,
                    uint8_t *out, const mn_requant *rq, int y0, int y1);
  mn_u8_gemm u8_gemm;
  /* bytes -> the float models' input, (v - 127.5) / 127.5 rounded once
   * (the same floats as a division in double; checked for all 256) */
  void (*f32_from_u8)(const uint8_t *in, size_t n, float *out);
  /* mn_f32_softmax in float vectors (within 1e-6 relative of it) */
  void (*f32_softmax)(const float *in, int n, float beta, float *out);
  /* mn_f32_avgpool in float vectors, sums in float (within 1e-6 relative) */
  void (*f32_avgpool)(const float *in, int pixels, int c, float *out, float lo, float hi, int c0,
                      int c1);
  /* uint8 layers run in exact float arithmetic (the first convolution):
   * bytes minus their zero point, and integer-valued float accumulators
   * requantized to bytes (as mn_requantize of the same int32) */
  void (*f32_from_u8_minus)(const uint8_t *in, size_t n, int32_t zp, float *out);
  void (*u8_requantize_f32)(const float *acc, size_t n, const mn_requant *rq, uint8_t *out);
  /* float activations (mn_f32_unary_ref) and 8-bit table lookups */
  void (*f32_unary)(mn_unary op, const float *in, size_t n, float *out);
  void (*u8_lut)(const uint8_t *in, size_t n, const uint8_t lut[256], uint8_t *out);
  /* one row times one packed GEMM panel (nr columns, nc of them kept): four
   * chains of sums over k, for layers of one pixel (fully connected, the
   * squeeze-excite convolutions) whose weights stream from memory */
  void (*f32_gemv)(int nc, int k, const float *a, const float *panel, int nr, float *c, float lo,
                   float hi);
  void (*f32_binary)(mn_binary op, const float *a, const float *b, size_t n, int period,
                     float lo, float hi, float *out);
  void (*u8_binary)(const mn_q8_binary *p, const uint8_t *a, const uint8_t *b, size_t n,
                    int period, uint8_t *out);
} mn_kernels;

/* The rows [row0, row1) thread ith of nth computes of an m-row GEMM with mr-row
 * tiles (mn_f32_gemm_run, mn_u8_gemm_run): 1, or 0 when the threads split
 * the tiles instead (few rows), each row then written by several threads. */
int mn_gemm_rows(int m, int mr, int ith, int nth, int *row0, int *row1);

/* The GEMM shape that wastes least on n output columns. */
const mn_f32_gemm *mn_f32_gemm_for(const mn_kernels *kern, int n);
/* The same for pointwise and fully-connected layers, which run on the GEMM
 * alone: also the shapes no direct convolution kernel reads (f32_gemm_24). */
const mn_f32_gemm *mn_f32_gemm_for_pointwise(const mn_kernels *kern, int n);

/* The kernel table of a level (never NULL: falls back to generic). */
const mn_kernels *mn_kernels_for(mn_isa isa);
extern const mn_kernels mn_kernels__generic, mn_kernels__avx2, mn_kernels__avx512,
    mn_kernels__avx512vnni;

/* KxK convolution as im2col + GEMM over output rows [y0, y1); weights
 * packed for the GEMM from TFLite's [out_c][kh][kw][in_c] (= [n][k]). */
void mn_f32_conv_gemm(const mn_f32_gemm *gemm, const mn_conv_geom *g, const float *in,
                      const float *packed, float *out, float lo, float hi, int y0, int y1);
void mn_u8_conv_gemm(const mn_u8_gemm *gemm, const mn_conv_geom *g, const uint8_t *in,
                     const void *packed, uint8_t *out, const mn_requant *rq, int y0, int y1);

/* uint8 KxK convolution on the float direct kernel (exact: see conv_gemm.c).
 * _exact: whether oc channels, k = kh*kw*in_c and this bias qualify;
 * _pack: float panels of (w - w_zp) and the bias for conv1p (wf_scratch:
 * oc * (k + 1) floats); _direct: output rows [y0, y1) from the input minus its
 * zero point in float (f32_from_u8_minus). */
int mn_u8_conv_f32_exact(int oc, int k, const int32_t *bias);
void mn_u8_conv_f32_pack(int oc, int k, int nr, const uint8_t *w_nk, int32_t w_zp,
                         const int32_t *bias, float *wf_scratch, float *packed);
void mn_u8_conv_direct_f32(const mn_kernels *kern, mn_f32_conv1p_fn conv1p, const float *packed,
                           const mn_conv_geom *g, const float *in_f32, const mn_requant *rq,
                           uint8_t *out, int y0, int y1);

/* Requantizes n int32 accumulators into uint8 (vectorisable). */
void mn_requantize_row(const int32_t *acc, int n, const mn_requant *rq, uint8_t *out);

/* ---- global average pool: channel range [c0, c1) ------------------------ */
void mn_f32_avgpool(const float *in, int pixels, int c, float *out, float lo, float hi, int c0,
                    int c1);
void mn_u8_avgpool(const uint8_t *in, int pixels, int c, uint8_t *out, int32_t qmin, int32_t qmax,
                   int c0, int c1);

/* ---- elementwise ------------------------------------------------------------ */
/* hard-swish as XNNPACK's f32 kernels: x * clamp(x / 6 + 1/2, 0, 1) */
void mn_f32_unary_ref(mn_unary op, const float *in, size_t n, float *out);
void mn_u8_lut_ref(const uint8_t *in, size_t n, const uint8_t lut[256], uint8_t *out);
void mn_f32_binary_ref(mn_binary op, const float *a, const float *b, size_t n, int period,
                       float lo, float hi, float *out);
void mn_u8_binary_ref(const mn_q8_binary *p, const uint8_t *a, const uint8_t *b, size_t n,
                      int period, uint8_t *out);

/* ---- softmax (float64 inside, as the reference) -------------------------- */
void mn_f32_softmax(const float *in, int n, float beta, float *out);
/* uint8 in and out, scores written as probabilities out_scale*(q-out_zp). */
void mn_u8_softmax(const uint8_t *in, int n, float beta, float in_scale, float out_scale,
                   int32_t out_zp, uint8_t *out);

#endif
