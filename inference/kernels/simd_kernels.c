/* simd_kernels.c: the fast kernels, written once with GCC vector extensions
 * and compiled once per instruction-set level (meson passes the -m flags and):
 *   MN_ISA      generic | avx2 | avx512   (name suffix and table)
 *   MN_VW       floats per vector: 4, 8, 16
 *   MN_GEMM_MR  rows of the float GEMM micro-kernel
 *   MN_GEMM_NV  vectors per row of the float GEMM micro-kernel
 *   MN_GEMM_NR  its columns, NV * VW
 * Channel loops are contiguous and branch-free so the compiler vectorises
 * them at the level's width.
 */
#include <string.h>

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


/* ---- float32 GEMM micro-kernels -------------------------------------------
 * acc[MR][NV] vectors stay in registers over the whole k loop; the A value
 * is broadcast, the packed panel row is loaded once per k. Rows past mr
 * repeat the last valid row (computed, never stored) so the loop has no
 * branch. Two shapes per level: a wide one, and a narrow one (one 8-float
 * vector, more rows) for layers with few output channels. */

typedef float vf8 __attribute__((vector_size(32)));
typedef float vf8_u __attribute__((vector_size(32), aligned(4)));

#define DEFINE_GEMM(NAME, VT, VTU, W, ROWS, NVEC)                                              \
  void NAME(int mr, int nc, int k, const float *a, size_t a_stride, const float *panel,       \
            float *c, size_t c_stride, float lo, float hi);                                   \
  void NAME(int mr, int nc, int k, const float *a, size_t a_stride, const float *panel,       \
            float *c, size_t c_stride, float lo, float hi) {                                  \
    enum { COLS = (W) * (NVEC) };                                                              \
    const float *ap[ROWS];                                                                     \
    for (int i = 0; i < (ROWS); i++) ap[i] = a + (size_t)(i < mr ? i : mr - 1) * a_stride;     \
    VT acc[ROWS][NVEC];                                                                        \
    _Pragma("GCC unroll 8") for (int j = 0; j < (NVEC); j++) {                                 \
      VT b = *(const VTU *)(panel + j * (W));                                                  \
      _Pragma("GCC unroll 16") for (int i = 0; i < (ROWS); i++) acc[i][j] = b;                 \
    }                                                                                          \
    const float *w = panel + COLS;                                                             \
    for (int p = 0; p < k; p++) {                                                              \
      VT b[NVEC];                                                                              \
      _Pragma("GCC unroll 8") for (int j = 0; j < (NVEC); j++) b[j] = *(const VTU *)(w + j * (W)); \
      w += COLS;                                                                               \
      _Pragma("GCC unroll 16") for (int i = 0; i < (ROWS); i++) {                              \
        float av = ap[i][p];                                                                   \
        _Pragma("GCC unroll 8") for (int j = 0; j < (NVEC); j++) acc[i][j] += b[j] * av;       \
      }                                                                                        \
    }                                                                                          \
    for (int i = 0; i < mr; i++) {                                                             \
      float row[COLS];                                                                         \
      memcpy(row, acc[i], sizeof row);                                                         \
      for (int j = 0; j < COLS; j++) {                                                         \
        float v = row[j];                                                                      \
        v = v < lo ? lo : v;                                                                   \
        row[j] = v > hi ? hi : v;                                                              \
      }                                                                                        \
      memcpy(c + (size_t)i * c_stride, row, (size_t)(nc == COLS ? COLS : nc) * sizeof(float)); \
    }                                                                                          \
  }

#define GEMM_NAME CAT(CAT(CAT(CAT(CAT(mn_f32_gemm_, MN_GEMM_MR), x), MN_GEMM_NR), __), MN_ISA)
#define GEMM_NARROW_NAME CAT(CAT(CAT(mn_f32_gemm_, MN_GEMM_NARROW_MR), x8__), MN_ISA)

DEFINE_GEMM(GEMM_NAME, vf, vf_u, VW, MR, NV)
DEFINE_GEMM(GEMM_NARROW_NAME, vf8, vf8_u, 8, MN_GEMM_NARROW_MR, 1)

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
    vu8 q;
    memcpy(&q, in + i, sizeof q);
    vi x = __builtin_convertvector(q, vi) - zp;
    *(vi_u *)(o + i) += x * *(const vi_u *)(w + j);
    j = j + VW == L ? 0 : j + VW;
  }
  for (; i < n; i++) o[i] += ((int32_t)in[i] - zp) * w[i % L];
}

/* Valid output range of tap kx: 0 <= x*stride - pad + kx < in_w. */
static void tap_range(const mn_conv_geom *g, int kx, int *xa, int *xb) {
  int lo = g->pad_left - kx, a = lo > 0 ? (lo + g->stride - 1) / g->stride : 0;
  int hi = g->in_w - 1 + g->pad_left - kx; /* x*stride <= hi */
  int b = hi < 0 ? 0 : hi / g->stride + 1;
  *xa = a;
  *xb = b < g->out_w ? b : g->out_w;
}

static void f32_dwconv(const mn_conv_geom *g, const float *in, const float *w, float *out,
                       float lo, float hi, int y0, int y1) {
  const int C = g->in_c, L = mn_dw_period(C);
  const size_t row_len = (size_t)g->out_w * C;
  const float *restrict bias = w + (size_t)g->kh * g->kw * L; /* periodic too */
  for (int y = y0; y < y1; y++) {
    float *restrict o = out + (size_t)y * row_len;
    periodic_fill_f32(o, row_len, bias, L);
    for (int ky = 0; ky < g->kh; ky++) {
      const int iy = y * g->stride - g->pad_top + ky;
      if (iy < 0 || iy >= g->in_h) continue;
      const float *in_row = in + (size_t)iy * g->in_w * C;
      for (int kx = 0; kx < g->kw; kx++) {
        const float *restrict wp = w + (size_t)(ky * g->kw + kx) * L;
        int xa, xb;
        tap_range(g, kx, &xa, &xb);
        if (xa >= xb) continue;
        if (g->stride == 1) {
          const float *restrict ip = in_row + (size_t)(xa - g->pad_left + kx) * C;
          float *restrict op = o + (size_t)xa * C;
          periodic_fma_f32(op, ip, (size_t)(xb - xa) * C, wp, L);
        } else {
          for (int x = xa; x < xb; x++) {
            const float *restrict ip = in_row + (size_t)(x * g->stride - g->pad_left + kx) * C;
            float *restrict op = o + (size_t)x * C;
            for (int c = 0; c < C; c++) op[c] += ip[c] * wp[c];
          }
        }
      }
    }
    for (size_t i = 0; i < row_len; i++) {
      float v = o[i];
      v = v < lo ? lo : v;
      o[i] = v > hi ? hi : v;
    }
  }
}

/* ---- uint8: requantization of a row of accumulators ----------------------- */

/* Same arithmetic as mn_requantize, written so it vectorises: the product is
 * clamped to +-2^30 first (far outside [0, 255]) so the truncation fits int32. */
static void requantize_row(const int32_t *restrict acc, int n, const mn_requant *rq,
                           uint8_t *restrict out) {
  const double mult = rq->mult;
  const int32_t zp = rq->out_zp, qmin = rq->qmin, qmax = rq->qmax;
  for (int i = 0; i < n; i++) {
    double v = (double)acc[i] * mult;
    v = v < -1073741824.0 ? -1073741824.0 : v;
    v = v > 1073741824.0 ? 1073741824.0 : v;
    int32_t t = (int32_t)v;
    double f = v - (double)t;
    int32_t r = t + (f >= 0.5) - (f <= -0.5) + zp;
    r = r < qmin ? qmin : r;
    r = r > qmax ? qmax : r;
    out[i] = (uint8_t)r;
  }
}

/* ---- uint8 depthwise KxK: as the float one, int32 accumulators per row ---- */

static void u8_dwconv(const mn_conv_geom *g, const uint8_t *in, const int32_t *w, uint8_t *out,
                      const mn_requant *rq, int y0, int y1) {
  const int C = g->in_c, L = mn_dw_period(C);
  const int32_t *restrict bias = w + (size_t)g->kh * g->kw * L; /* periodic too */
  const int32_t zp = rq->in_zp;
  const size_t row_len = (size_t)g->out_w * C;
  int32_t acc_buf[4096];
  for (int y = y0; y < y1; y++) {
    /* The row in chunks of whole pixels that fit the accumulator buffer. */
    const int px_chunk = (int)(sizeof acc_buf / sizeof acc_buf[0]) / C;
    for (int x0 = 0; x0 < g->out_w; x0 += px_chunk) {
      const int x1 = x0 + px_chunk < g->out_w ? x0 + px_chunk : g->out_w;
      int32_t *restrict acc = acc_buf;
      periodic_fill_i32(acc, (size_t)(x1 - x0) * C, bias, L);
      for (int ky = 0; ky < g->kh; ky++) {
        const int iy = y * g->stride - g->pad_top + ky;
        if (iy < 0 || iy >= g->in_h) continue; /* padding holds zp: contributes 0 */
        const uint8_t *in_row = in + (size_t)iy * g->in_w * C;
        for (int kx = 0; kx < g->kw; kx++) {
          const int32_t *restrict wp = w + (size_t)(ky * g->kw + kx) * L;
          int xa, xb;
          tap_range(g, kx, &xa, &xb);
          xa = xa > x0 ? xa : x0;
          xb = xb < x1 ? xb : x1;
          if (xa >= xb) continue;
          if (g->stride == 1) {
            const uint8_t *restrict ip = in_row + (size_t)(xa - g->pad_left + kx) * C;
            int32_t *restrict op = acc + (size_t)(xa - x0) * C;
            /* the period restarts at pixel xa, a multiple of C: phase 0 */
            periodic_mac_u8(op, ip, zp, (size_t)(xb - xa) * C, wp, L);
          } else {
            for (int x = xa; x < xb; x++) {
              const uint8_t *restrict ip =
                  in_row + (size_t)(x * g->stride - g->pad_left + kx) * C;
              int32_t *restrict op = acc + (size_t)(x - x0) * C;
              for (int c = 0; c < C; c++) op[c] += ((int32_t)ip[c] - zp) * wp[c];
            }
          }
        }
      }
      requantize_row(acc, (x1 - x0) * C, rq, out + (size_t)y * row_len + (size_t)x0 * C);
    }
  }
}

/* ---- uint8 GEMM tile: up to MN_U8_GEMM_MR rows x MN_U8_GEMM_NR columns ---- */

#define UNV (MN_U8_GEMM_NR / VW)

static void u8_gemm_tile(int mr, int nc, int k, const uint8_t *a, size_t a_stride,
                         const int32_t *panel, uint8_t *c, size_t c_stride, const mn_requant *rq) {
  const uint8_t *ap[MN_U8_GEMM_MR];
  for (int i = 0; i < MN_U8_GEMM_MR; i++)
    ap[i] = a + (size_t)(i < mr ? i : mr - 1) * a_stride;
  const int32_t zp = rq->in_zp;
  vi acc[MN_U8_GEMM_MR][UNV];
  for (int j = 0; j < UNV; j++) {
    vi b = *(const vi_u *)(panel + j * VW);
    for (int i = 0; i < MN_U8_GEMM_MR; i++) acc[i][j] = b;
  }
  const int32_t *w = panel + MN_U8_GEMM_NR;
  for (int p = 0; p < k; p++) {
    vi b[UNV];
    for (int j = 0; j < UNV; j++) b[j] = *(const vi_u *)(w + j * VW);
    w += MN_U8_GEMM_NR;
    for (int i = 0; i < MN_U8_GEMM_MR; i++) {
      int32_t av = (int32_t)ap[i][p] - zp;
      for (int j = 0; j < UNV; j++) acc[i][j] += b[j] * av;
    }
  }
  for (int i = 0; i < mr; i++) {
    int32_t row[MN_U8_GEMM_NR];
    uint8_t q[MN_U8_GEMM_NR];
    memcpy(row, acc[i], sizeof row);
    requantize_row(row, MN_U8_GEMM_NR, rq, q);
    memcpy(c + (size_t)i * c_stride, q, (size_t)nc);
  }
}

const mn_kernels ISA_NAME(mn_kernels) = {
    .isa = CAT(MN_ISA_, MN_ISA_ENUM),
    .f32_gemm = {STR(GEMM_NAME), MR, NR, GEMM_NAME},
    .f32_gemm_narrow = {STR(GEMM_NARROW_NAME), MN_GEMM_NARROW_MR, 8, GEMM_NARROW_NAME},
    .f32_dwconv = f32_dwconv,
    .u8_dwconv = u8_dwconv,
    .u8_gemm_tile = u8_gemm_tile,
};
