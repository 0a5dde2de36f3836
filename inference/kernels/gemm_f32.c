/* gemm_f32.c: float32 GEMM micro-kernels (tiles and one row), and the one-row GEMV. */
#include "simd.h"

/* ---- float32 GEMM micro-kernels -------------------------------------------
 * acc[MR][NV] vectors stay in registers over the whole k loop; the A value
 * is broadcast, the packed panel row is loaded once per k. Rows past mr
 * repeat the last valid row (computed, never stored) so the loop has no
 * branch. Two shapes per level: a wide one, and a narrow one (one 8-float
 * vector, more rows) for layers with few output channels. */


#define DEFINE_GEMM(NAME, VT, VTU, CLAMP, HSWISH, W, ROWS, NVEC)                                  \
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
    /* Clamp in registers (none for a linear layer), store whole vectors.    \
     * Rows are unrolled with a guard, not looped to mr: a variable index    \
     * would put acc on the stack. */                                        \
    const VT vlo = (VT){0} + lo, vhi = (VT){0} + hi;                                           \
    if (lo > hi) /* a fused hard-swish */                                                      \
      _Pragma("GCC unroll 16") for (int i = 0; i < (ROWS); i++)                                \
        _Pragma("GCC unroll 8") for (int j = 0; j < (NVEC); j++)                               \
          acc[i][j] = HSWISH(acc[i][j]);                                                      \
    else if (lo != -INFINITY || hi != INFINITY)                                                \
      _Pragma("GCC unroll 16") for (int i = 0; i < (ROWS); i++)                                \
        _Pragma("GCC unroll 8") for (int j = 0; j < (NVEC); j++)                               \
          acc[i][j] = CLAMP(acc[i][j], vlo, vhi);                                              \
    if (nc == COLS) {                                                                          \
      _Pragma("GCC unroll 16") for (int i = 0; i < (ROWS); i++)                                \
        if (i < mr)                                                                            \
          _Pragma("GCC unroll 8") for (int j = 0; j < (NVEC); j++)                             \
            *(VTU *)(c + (size_t)i * c_stride + j * (W)) = acc[i][j];                          \
    } else {                                                                                   \
      _Pragma("GCC unroll 16") for (int i = 0; i < (ROWS); i++)                                \
        if (i < mr) {                                                                          \
          float row[COLS];                                                                     \
          _Pragma("GCC unroll 8") for (int j = 0; j < (NVEC); j++)                             \
            *(VTU *)(row + j * (W)) = acc[i][j];                                               \
          float *dst = c + (size_t)i * c_stride;                                               \
          for (int j = 0; j < nc; j++) dst[j] = row[j];                                        \
        }                                                                                      \
    }                                                                                          \
  }


DEFINE_GEMM(GEMM_NAME, vf, vf_u, clamp_vf, hswish_vf, VW, MR, NV)
DEFINE_GEMM(GEMM_NARROW_NAME, vf8, vf8_u, clamp_vf8, hswish_vf8, 8, MN_GEMM_NARROW_MR, 1)
/* One row of the wide panel layout: the last rows of a layer and m = 1
 * (the classifier), where the wide tile would compute MR copies. The same
 * arithmetic as the tiles (one FMA chain per value, in k order), so that a
 * row gives the same floats whichever tile it falls in: results do not
 * depend on the thread count or the bands. (Four partial sums over k were
 * tried for the classifier: no faster, it streams its weights from L3.) */
DEFINE_GEMM(GEMM_ROW_NAME, vf, vf_u, clamp_vf, hswish_vf, VW, 1, NV)
/* A middle shape, one full vector wide, where that is neither the wide nor
 * the narrow tile (AVX-512: 16 columns, for 16-channel layers). */
#if VW == 16
DEFINE_GEMM(GEMM_MID_NAME, vf, vf_u, clamp_vf, hswish_vf, VW, 16, 1)
DEFINE_GEMM(GEMM_MID_ROW_NAME, vf, vf_u, clamp_vf, hswish_vf, VW, 1, 1)
#endif
#ifdef GEMM_24_NAME
DEFINE_GEMM(GEMM_24_NAME, vf8, vf8_u, clamp_vf8, hswish_vf8, 8, 4, 3)
DEFINE_GEMM(GEMM_24_ROW_NAME, vf8, vf8_u, clamp_vf8, hswish_vf8, 8, 1, 3)
#endif
#if MN_GEMM_NR != 8 /* else the wide tile is 8 columns already (generic level) */
DEFINE_GEMM(GEMM_NARROW_ROW_NAME, vf8, vf8_u, clamp_vf8, hswish_vf8, 8, 1, 1)
#endif

/* ---- one row (m = 1) -------------------------------------------------------------
 * The GEMM tiles keep one FMA chain per output value; with one row that is
 * a chain of k dependent FMAs per vector while the weights stream from L2 /
 * L3. Four chains over k (k mod 4), added at the end, hide the latency. */
#define DEFINE_GEMV(NAME, VT, VTU, W, NVMAX)                                                    \
  static void NAME##_n(int nc, int k, const float *a, const float *panel, int nr, float *c,     \
                       float lo, float hi) {                                                    \
    enum { NV_ = (NVMAX) };                                                                     \
    /* the whole row of nr weights per k (one cache line at nr = 16 floats) */                 \
    VT s0[NV_], s1[NV_], s2[NV_], s3[NV_];                                                      \
    for (int v = 0; v < NV_; v++) {                                                             \
      s0[v] = *(const VTU *)(panel + v * (W));                                                  \
      s1[v] = s2[v] = s3[v] = (VT){0};                                                          \
    }                                                                                           \
    const float *w = panel + nr;                                                                \
    int q = 0;                                                                                  \
    for (; q + 4 <= k; q += 4, w += 4 * (size_t)nr) {                                            \
      const float a0 = a[q], a1 = a[q + 1], a2 = a[q + 2], a3 = a[q + 3];                      \
      _Pragma("GCC unroll 4") for (int v = 0; v < NV_; v++) {                                   \
        s0[v] += *(const VTU *)(w + v * (W)) * a0;                                              \
        s1[v] += *(const VTU *)(w + nr + v * (W)) * a1;                                         \
        s2[v] += *(const VTU *)(w + 2 * (size_t)nr + v * (W)) * a2;                             \
        s3[v] += *(const VTU *)(w + 3 * (size_t)nr + v * (W)) * a3;                             \
      }                                                                                         \
    }                                                                                           \
    for (; q < k; q++, w += nr)                                                                 \
      for (int v = 0; v < NV_; v++) s0[v] += *(const VTU *)(w + v * (W)) * a[q];               \
    for (int v = 0; v < NV_; v++) {                                                             \
      const VT r = (s0[v] + s1[v]) + (s2[v] + s3[v]);                                           \
      float out[W];                                                                             \
      memcpy(out, &r, sizeof out);                                                              \
      for (int j = 0; j < (W) && v * (W) + j < nc; j++) {                                       \
        const float x = out[j];                                                                 \
        c[v * (W) + j] = mn_f32_act(x, lo, hi);                                                 \
      }                                                                                         \
    }                                                                                           \
  }
DEFINE_GEMV(f32_gemv_1v, vf, vf_u, VW, 1)
DEFINE_GEMV(f32_gemv_2v, vf, vf_u, VW, 2)
DEFINE_GEMV(f32_gemv_4v, vf, vf_u, VW, 4)
DEFINE_GEMV(f32_gemv_8, vf8, vf8_u, 8, 1)
DEFINE_GEMV(f32_gemv_24, vf8, vf8_u, 8, 3)

void k_f32_gemv(int nc, int k, const float *a, const float *panel, int nr, float *c, float lo,
                     float hi) {
  if (nr == VW) f32_gemv_1v_n(nc, k, a, panel, nr, c, lo, hi);
  else if (nr == 2 * VW) f32_gemv_2v_n(nc, k, a, panel, nr, c, lo, hi);
  else if (nr == 4 * VW) f32_gemv_4v_n(nc, k, a, panel, nr, c, lo, hi);
  else if (nr == 8) f32_gemv_8_n(nc, k, a, panel, nr, c, lo, hi);
  else if (nr == 24) f32_gemv_24_n(nc, k, a, panel, nr, c, lo, hi);
  else
    for (int j0 = 0; j0 < nr; j0 += 8) /* other panel widths: 8 columns at a time is not */
      for (int j = j0; j < j0 + 8 && j < nc; j++) { /* laid out for: plain sums */
        float acc = panel[j];
        for (int q = 0; q < k; q++) acc += panel[(size_t)(q + 1) * nr + j] * a[q];
        c[j] = mn_f32_act(acc, lo, hi);
      }
}
