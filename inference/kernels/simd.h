/* simd.h: what the fast kernels share. They are written once with GCC vector
 * extensions, one file per kernel family, and compiled once per
 * instruction-set level (meson passes the -m flags and):
 *   MN_ISA      generic | avx2 | avx512 | avx512vnni  (name suffix and table)
 *   MN_VW       floats per vector: 4, 8, 16
 *   MN_GEMM_MR  rows of the float GEMM micro-kernel
 *   MN_GEMM_NV  vectors per row of the float GEMM micro-kernel
 *   MN_GEMM_NR  its columns, NV * VW
 * Channel loops are contiguous and branch-free so the compiler vectorises
 * them at the level's width. A kernel's name carries the level
 * (ISA_NAME(k_f32_dwconv) is mn_f32_dwconv__avx2); table.c puts a level's
 * kernels in its mn_kernels table. */
#ifndef MN_SIMD_H
#define MN_SIMD_H
#include <math.h>
#include <stddef.h>
#include <string.h>
#if defined(__x86_64__) && (defined(__AVX2__) || defined(__AVX512F__))
#include <immintrin.h>

#include "requant_x86.h"
#elif defined(__x86_64__) && defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "kernels.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define ISA_NAME(base) CAT(CAT(base, __), MN_ISA)
#define STR_(x) #x
#define STR(x) STR_(x)

#define VW MN_VW
#define MR MN_GEMM_MR
#define NV MN_GEMM_NV
#define NR MN_GEMM_NR /* = NV * VW, a literal so it can be pasted into names */

typedef float vf __attribute__((vector_size(VW * 4)));
typedef float vf_u __attribute__((vector_size(VW * 4), aligned(4)));
typedef int32_t vi __attribute__((vector_size(VW * 4)));
typedef int32_t vi_u __attribute__((vector_size(VW * 4), aligned(4)));


/* Output columns [*xa, *xb) whose whole kw-wide window lies inside the
 * input row: the interior, where kernels skip bounds checks. */
static inline void interior_cols(const mn_conv_geom *g, int *xa, int *xb) {
  const int s = g->stride, last = g->in_w - g->kw + g->pad_left; /* x * s <= last */
  int b = last >= 0 ? last / s + 1 : 0;
  /* a window of a column range (negative pad_left) may start inside the row */
  *xa = g->pad_left > 0 ? (g->pad_left + s - 1) / s : 0;
  *xb = b < g->out_w ? b : g->out_w;
}

typedef float vf8 __attribute__((vector_size(32)));
typedef float vf8_u __attribute__((vector_size(32), aligned(4)));
typedef int32_t vi8 __attribute__((vector_size(32)));
static inline vf select_vf(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); }

/* ---- the float GEMM micro-kernels' names (gemm_f32.c) ---------------------- */
#define GEMM_NAME CAT(CAT(CAT(CAT(CAT(mn_f32_gemm_, MN_GEMM_MR), x), MN_GEMM_NR), __), MN_ISA)
#define GEMM_NARROW_NAME CAT(CAT(CAT(mn_f32_gemm_, MN_GEMM_NARROW_MR), x8__), MN_ISA)
#define GEMM_ROW_NAME CAT(CAT(CAT(mn_f32_gemm_1x, MN_GEMM_NR), __), MN_ISA)
#if VW == 16
#define GEMM_MID_NAME CAT(mn_f32_gemm_16x16__, MN_ISA)
#define GEMM_MID_ROW_NAME CAT(mn_f32_gemm_1x16__, MN_ISA)
#endif
#if MN_GEMM_NR == 8 /* the wide tile is 8 columns already (generic level) */
#define GEMM_NARROW_ROW_NAME GEMM_ROW_NAME
#else
#define GEMM_NARROW_ROW_NAME CAT(mn_f32_gemm_1x8__, MN_ISA)
#endif
#define DECLARE_GEMM(NAME)                                                                      \
  void NAME(int mr, int nc, int k, const float *a, size_t a_stride, const float *panel,       \
            float *c, size_t c_stride, float lo, float hi)
DECLARE_GEMM(GEMM_NAME);
DECLARE_GEMM(GEMM_NARROW_NAME);
DECLARE_GEMM(GEMM_ROW_NAME);
DECLARE_GEMM(GEMM_NARROW_ROW_NAME);
/* AVX2 only: 4 rows x 24 columns (three 8-float vectors, 12 accumulators),
 * for layers of 24k channels (24, 72, 120), which the 16-column tile pads
 * by a third, a ninth, a fifteenth. AVX-512's 16-float vectors do better
 * padded. */
#if VW == 8 && defined(__AVX2__)
#define GEMM_24_NAME CAT(mn_f32_gemm_4x24__, MN_ISA)
#define GEMM_24_ROW_NAME CAT(mn_f32_gemm_1x24__, MN_ISA)
DECLARE_GEMM(GEMM_24_NAME);
DECLARE_GEMM(GEMM_24_ROW_NAME);
#endif
#if VW == 16
DECLARE_GEMM(GEMM_MID_NAME);
DECLARE_GEMM(GEMM_MID_ROW_NAME);
#endif

/* ---- the 8-bit GEMM micro-kernel of the level (gemm_u8.c) ------------------ */
#if (VW == 8 && defined(__AVX2__)) || (VW == 16 && defined(__AVX512BW__) && !defined(__AVX512VNNI__))
#define U8_MADD_GEMM 1 /* vpmaddwd: AVX2, AVX-512 without VNNI */
#if VW == 16
#define MADD_ROWS 8
#define MADD_NAME CAT(mn_u8_gemm_8x32c2__, MN_ISA)
#else
#define MADD_ROWS 4 /* 8 accumulators: with 6 rows gcc spilled them in the k loop */
#define MADD_NAME CAT(mn_u8_gemm_4x16c2__, MN_ISA)
#endif
#define MADD_NR (2 * VW) /* two vectors of int32 per row */
void MADD_NAME(int mr, int nc, int k, const uint8_t *a, size_t a_stride, const void *panel_v,
               uint8_t *c, size_t c_stride, const mn_requant *rq_in);
#endif
#define MN_U8_GEMM_MR 4
#define MN_U8_GEMM_NR 16
#define U8_GEMM_NAME CAT(CAT(CAT(mn_u8_gemm_, MN_U8_GEMM_MR), x16__), MN_ISA)
void U8_GEMM_NAME(int mr, int nc, int k, const uint8_t *a, size_t a_stride, const void *panel_v,
                  uint8_t *c, size_t c_stride, const mn_requant *rq);

/* ---- the other kernels of the table, one family per file (k_: this level's) - */
#define k_f32_conv1p_for ISA_NAME(mn_f32_conv1p_for)
#define k_f32_dwconv ISA_NAME(mn_f32_dwconv)
#define k_f32_dwconv_padded ISA_NAME(mn_f32_dwconv_padded)
#define k_u8_dwconv ISA_NAME(mn_u8_dwconv)
#define k_u8_dwconv_padded ISA_NAME(mn_u8_dwconv_padded)
#define k_requantize_row ISA_NAME(mn_requantize_row_simd)
#define k_requantize_row_fp32 ISA_NAME(mn_requantize_row_fp32)
#define k_f32_from_u8 ISA_NAME(mn_f32_from_u8)
#define k_f32_from_u8_minus ISA_NAME(mn_f32_from_u8_minus)
#define k_u8_requantize_f32 ISA_NAME(mn_u8_requantize_f32)
#define k_f32_softmax ISA_NAME(mn_f32_softmax_simd)
#define k_f32_unary ISA_NAME(mn_f32_unary)
#define k_f32_avgpool ISA_NAME(mn_f32_avgpool_simd)
#define k_u8_lut ISA_NAME(mn_u8_lut)
#define k_f32_gemv ISA_NAME(mn_f32_gemv)
#define k_f32_binary ISA_NAME(mn_f32_binary)
#define k_u8_binary ISA_NAME(mn_u8_binary)

mn_f32_conv1p_fn k_f32_conv1p_for(int out_c, int nr);                               /* conv1p_f32.c */
void k_f32_dwconv(const mn_conv_geom *g, const float *in, const float *w, float *out, float lo,
                float hi, int y0, int y1);                                       /* dwconv_f32.c */
void k_f32_dwconv_padded(const mn_conv_geom *g, const float *padded, const float *w, float *out,
                         float lo, float hi, int y0, int y1);                    /* dwconv_f32.c */
void k_u8_dwconv_padded(const mn_conv_geom *g, const uint8_t *padded, const int32_t *w,
                        uint8_t *out, const mn_requant *rq, int y0, int y1);     /* dwconv_u8.c */
void k_u8_dwconv(const mn_conv_geom *g, const uint8_t *in, const int32_t *w, uint8_t *out,
               const mn_requant *rq, int y0, int y1);                            /* dwconv_u8.c */
void k_requantize_row(const int32_t *acc, int n, const mn_requant *rq, uint8_t *out); /* requantize.c */
void k_requantize_row_fp32(const int32_t *acc, int n, const mn_requant *rq, uint8_t *out);
void k_f32_from_u8(const uint8_t *in, size_t n, float *out);                       /* convert.c */
void k_f32_from_u8_minus(const uint8_t *in, size_t n, int32_t zp, float *out);
void k_u8_requantize_f32(const float *acc, size_t n, const mn_requant *rq, uint8_t *out);
void k_f32_softmax(const float *in, int n, float beta, float *out);               /* softmax.c */
void k_f32_unary(mn_unary op, const float *in, size_t n, float *out);             /* elementwise.c */
void k_f32_avgpool(const float *in, int pixels, int c, float *out, float lo, float hi, int c0,
                   int c1);                                                       /* pool_f32.c */
void k_u8_lut(const uint8_t *in, size_t n, const uint8_t lut[256], uint8_t *out);
void k_f32_binary(mn_binary op, const float *a, const float *b, size_t n, int period, float lo,
                float hi, float *out);
void k_u8_binary(const mn_q8_binary *p, const uint8_t *a, const uint8_t *b, size_t n, int period,
               uint8_t *out);
void k_f32_gemv(int nc, int k, const float *a, const float *panel, int nr, float *c, float lo,
              float hi);                                                         /* gemm_f32.c */

/* ---- helpers of the depthwise kernels ---------------------------------------- */

#define DWK_PX 4 /* KxK depthwise: output pixels per register block */
/* Flat loops over a row with weights of period L (a multiple of VW), in
 * whole vectors; the weight offset wraps without a division. */
static inline void periodic_fill_f32(float *o, size_t n, const float *p, int L) {
  size_t i = 0;
  int j = 0;
  for (; i + VW <= n; i += VW) {
    *(vf_u *)(o + i) = *(const vf_u *)(p + j);
    j = j + VW == L ? 0 : j + VW;
  }
  for (; i < n; i++) o[i] = p[i % L];
}

static inline void periodic_fma_f32(float *restrict o, const float *restrict in, size_t n,
                                    const float *restrict w, int L) {
  size_t i = 0;
  int j = 0;
  for (; i + VW <= n; i += VW) {
    *(vf_u *)(o + i) += *(const vf_u *)(in + i) * *(const vf_u *)(w + j);
    j = j + VW == L ? 0 : j + VW;
  }
  for (; i < n; i++) o[i] += in[i] * w[i % L];
}

typedef uint8_t vu8 __attribute__((vector_size(VW)));
typedef uint8_t vu8_u __attribute__((vector_size(VW), aligned(1)));

/* VW bytes widened to int32 lanes. GCC 12 scalarises __builtin_convertvector
 * from bytes, so the x86 levels use the one-instruction zero extension. */
static inline vi load_u8_i32(const uint8_t *p) {
#if defined(__AVX512F__) && VW == 16
  return (vi)_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p));
#elif defined(__AVX2__) && VW == 8
  return (vi)_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
#else
  vi v;
  for (int l = 0; l < VW; l++) v[l] = p[l];
  return v;
#endif
}

static inline void periodic_fill_i32(int32_t *o, size_t n, const int32_t *p, int L) {
  size_t i = 0;
  int j = 0;
  for (; i + VW <= n; i += VW) {
    *(vi_u *)(o + i) = *(const vi_u *)(p + j);
    j = j + VW == L ? 0 : j + VW;
  }
  for (; i < n; i++) o[i] = p[i % L];
}

static inline void periodic_mac_u8(int32_t *restrict o, const uint8_t *restrict in, int32_t zp,
                                   size_t n, const int32_t *restrict w, int L) {
  size_t i = 0;
  int j = 0;
  for (; i + VW <= n; i += VW) {
    vi x = load_u8_i32(in + i) - zp;
    *(vi_u *)(o + i) += x * *(const vi_u *)(w + j);
    j = j + VW == L ? 0 : j + VW;
  }
  for (; i < n; i++) o[i] += ((int32_t)in[i] - zp) * w[i % L];
}

/* Valid output range of tap kx: 0 <= x*stride - pad + kx < in_w. */
static inline void tap_range(const mn_conv_geom *g, int kx, int *xa, int *xb) {
  int lo = g->pad_left - kx, a = lo > 0 ? (lo + g->stride - 1) / g->stride : 0;
  int hi = g->in_w - 1 + g->pad_left - kx; /* x*stride <= hi */
  int b = hi < 0 ? 0 : hi / g->stride + 1;
  *xa = a;
  *xb = b < g->out_w ? b : g->out_w;
}

/* min(hi, max(lo, v)): two instructions where the level has them. The
 * operand order keeps a NaN (max/min return their second operand when one
 * is unordered), as the compare-and-select fallback does. */
static inline vf clamp_vf(vf v, vf lo, vf hi) {
#if defined(__AVX512F__) && VW == 16
  return (vf)_mm512_min_ps((__m512)hi, _mm512_max_ps((__m512)lo, (__m512)v));
#elif defined(__AVX__) && VW == 8
  return (vf)_mm256_min_ps((__m256)hi, _mm256_max_ps((__m256)lo, (__m256)v));
#elif defined(__SSE__) && VW == 4
  return (vf)_mm_min_ps((__m128)hi, _mm_max_ps((__m128)lo, (__m128)v));
#else
  vi m = v < lo;
  v = (vf)(((vi)v & ~m) | ((vi)lo & m));
  m = v > hi;
  return (vf)(((vi)v & ~m) | ((vi)hi & m));
#endif
}

static inline vf8 clamp_vf8(vf8 v, vf8 lo, vf8 hi) {
#if defined(__AVX__)
  return (vf8)_mm256_min_ps((__m256)hi, _mm256_max_ps((__m256)lo, (__m256)v));
#else
  vi8 m = v < lo;
  v = (vf8)(((vi8)v & ~m) | ((vi8)lo & m));
  m = v > hi;
  return (vf8)(((vi8)v & ~m) | ((vi8)hi & m));
#endif
}

/* The activation of a float layer (see MN_F32_HSWISH_LO): hard-swish when
 * the range is empty, else the clamp. hswish: the flag, lo > hi, computed
 * once per call. */
static inline vf hswish_vf(vf x) {
  const vf zero = (vf){0}, one = zero + 1.0f;
  return x * clamp_vf(x * (1.0f / 6.0f) + 0.5f, zero, one);
}
static inline vf act_vf(vf v, vf lo, vf hi, int hswish) {
  return hswish ? hswish_vf(v) : clamp_vf(v, lo, hi);
}
static inline vf8 hswish_vf8(vf8 x) {
  const vf8 zero = (vf8){0}, one = zero + 1.0f;
  return x * clamp_vf8(x * (1.0f / 6.0f) + 0.5f, zero, one);
}

/* One output pixel with every bounds check (borders of the row). */
/* The taps of output pixel (x, y) of a kh x kw depthwise window (at most
 * DW_MAX_TAPS) that fall inside the input (the border pixels): their input
 * and weight pointers, compacted so the channel loops have no branch.
 * Skipped taps are the padding. Returns the count. */
#define DW_MAX_TAPS 49 /* 7x7: the largest window with fast paths */
#define DEFINE_DW_TAPS(NAME, T, WT)                                                             \
  static int NAME(const mn_conv_geom *g, const T *in, const WT *w, int L, int x, int y,        \
                  const T *p[DW_MAX_TAPS], const WT *wt[DW_MAX_TAPS]) {                         \
    int n = 0;                                                                                  \
    for (int ky = 0; ky < g->kh; ky++) {                                                        \
      const int iy = y * g->stride - g->pad_top + ky;                                           \
      if (iy < 0 || iy >= g->in_h) continue;                                                    \
      for (int kx = 0; kx < g->kw; kx++) {                                                      \
        const int ix = x * g->stride - g->pad_left + kx;                                        \
        if (ix < 0 || ix >= g->in_w) continue;                                                  \
        p[n] = in + ((size_t)iy * g->in_w + ix) * g->in_c;                                      \
        wt[n++] = w + (size_t)(ky * g->kw + kx) * L;                                            \
      }                                                                                         \
    }                                                                                           \
    return n;                                                                                   \
  }

#endif
