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
#include <math.h>
#include <stddef.h>
#include <string.h>
#if defined(__x86_64__) && (defined(__AVX2__) || defined(__AVX512F__))
#include <immintrin.h>

#include "requant_x86.h"
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

/* ---- float32 GEMM micro-kernels -------------------------------------------
 * acc[MR][NV] vectors stay in registers over the whole k loop; the A value
 * is broadcast, the packed panel row is loaded once per k. Rows past mr
 * repeat the last valid row (computed, never stored) so the loop has no
 * branch. Two shapes per level: a wide one, and a narrow one (one 8-float
 * vector, more rows) for layers with few output channels. */

typedef float vf8 __attribute__((vector_size(32)));
typedef float vf8_u __attribute__((vector_size(32), aligned(4)));
typedef int32_t vi8 __attribute__((vector_size(32)));

#define DEFINE_GEMM(NAME, VT, VTU, IT, W, ROWS, NVEC)                                          \
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
    /* clamp in registers (compare masks select lo / hi), store whole vectors */               \
    const VT vlo = (VT){0} + lo, vhi = (VT){0} + hi;                                           \
    _Pragma("GCC unroll 16") for (int i = 0; i < (ROWS); i++)                                  \
      _Pragma("GCC unroll 8") for (int j = 0; j < (NVEC); j++) {                               \
        VT v = acc[i][j];                                                                      \
        IT m = v < vlo;                                                                        \
        v = (VT)(((IT)v & ~m) | ((IT)vlo & m));                                                \
        m = v > vhi;                                                                           \
        acc[i][j] = (VT)(((IT)v & ~m) | ((IT)vhi & m));                                        \
      }                                                                                        \
    if (nc == COLS) {                                                                          \
      for (int i = 0; i < mr; i++)                                                             \
        _Pragma("GCC unroll 8") for (int j = 0; j < (NVEC); j++)                               \
          *(VTU *)(c + (size_t)i * c_stride + j * (W)) = acc[i][j];                            \
    } else {                                                                                   \
      for (int i = 0; i < mr; i++) {                                                           \
        float row[COLS];                                                                       \
        memcpy(row, acc[i], sizeof row);                                                       \
        float *dst = c + (size_t)i * c_stride;                                                 \
        for (int j = 0; j < nc; j++) dst[j] = row[j];                                          \
      }                                                                                        \
    }                                                                                          \
  }

#define GEMM_NAME CAT(CAT(CAT(CAT(CAT(mn_f32_gemm_, MN_GEMM_MR), x), MN_GEMM_NR), __), MN_ISA)
#define GEMM_NARROW_NAME CAT(CAT(CAT(mn_f32_gemm_, MN_GEMM_NARROW_MR), x8__), MN_ISA)

DEFINE_GEMM(GEMM_NAME, vf, vf_u, vi, VW, MR, NV)
DEFINE_GEMM(GEMM_NARROW_NAME, vf8, vf8_u, vi8, 8, MN_GEMM_NARROW_MR, 1)
/* One row of the wide panel layout: the last rows of a layer and m = 1
 * (the classifier), where the wide tile would compute MR copies. The same
 * arithmetic as the tiles (one FMA chain per value, in k order), so that a
 * row gives the same floats whichever tile it falls in: results do not
 * depend on the thread count or the bands. (Four partial sums over k were
 * tried for the classifier: no faster, it streams its weights from L3.) */
#define GEMM_ROW_NAME CAT(CAT(CAT(mn_f32_gemm_1x, MN_GEMM_NR), __), MN_ISA)
DEFINE_GEMM(GEMM_ROW_NAME, vf, vf_u, vi, VW, 1, NV)
/* A middle shape, one full vector wide, where that is neither the wide nor
 * the narrow tile (AVX-512: 16 columns, for 16-channel layers). */
#if VW == 16
#define GEMM_MID_NAME CAT(mn_f32_gemm_16x16__, MN_ISA)
#define GEMM_MID_ROW_NAME CAT(mn_f32_gemm_1x16__, MN_ISA)
DEFINE_GEMM(GEMM_MID_NAME, vf, vf_u, vi, VW, 16, 1)
DEFINE_GEMM(GEMM_MID_ROW_NAME, vf, vf_u, vi, VW, 1, 1)
#define GEMM_MID {STR(GEMM_MID_NAME), 16, 16, GEMM_MID_NAME, GEMM_MID_ROW_NAME}
#else
#define GEMM_MID {STR(GEMM_NAME), MR, NR, GEMM_NAME, GEMM_ROW_NAME}
#endif
#if MN_GEMM_NR == 8 /* the wide tile is 8 columns already (generic level) */
#define GEMM_NARROW_ROW_NAME GEMM_ROW_NAME
#else
#define GEMM_NARROW_ROW_NAME CAT(mn_f32_gemm_1x8__, MN_ISA)
DEFINE_GEMM(GEMM_NARROW_ROW_NAME, vf8, vf8_u, vi8, 8, 1, 1)
#endif

/* ---- float32 KxK convolution with few input channels (the first layer) ----
 * Reads the packed GEMM panels directly, without im2col: per panel of OC
 * output channels, PX output pixels at a time, each tap's weight vectors
 * loaded once for the PX, inputs broadcast straight from the image rows.
 * Pixels whose window reaches into the padding go through a zero-padded
 * patch and the same vector code. The group body is always inlined and
 * instantiated for the shape every MobileNet starts with (3x3, 3 channels,
 * stride 2) so that its 27 taps and pixel offsets are constants. */

/* Clamps PX x NVEC accumulators and stores pixel j at o + j * ostride: whole
 * vectors when the panel is full (nc == OC), else the first nc values. */
#define CONV1P_STORE(VT, VTU, IT, W, NVEC, PX, acc, o, ostride, nc, vlo, vhi)                    \
  do {                                                                                          \
    _Pragma("GCC unroll 16") for (int j = 0; j < (PX); j++) {                                   \
      VT r_[NVEC];                                                                              \
      _Pragma("GCC unroll 8") for (int v = 0; v < (NVEC); v++) {                                \
        VT a = acc[j][v];                                                                       \
        IT m = a < vlo;                                                                         \
        a = (VT)(((IT)a & ~m) | ((IT)vlo & m));                                                 \
        m = a > vhi;                                                                            \
        r_[v] = (VT)(((IT)a & ~m) | ((IT)vhi & m));                                             \
      }                                                                                         \
      float *dst_ = (o) + (size_t)j * (ostride);                                                \
      if ((nc) == (W) * (NVEC)) {                                                               \
        _Pragma("GCC unroll 8") for (int v = 0; v < (NVEC); v++)                                \
          *(VTU *)(dst_ + v * (W)) = r_[v];                                                     \
      } else {                                                                                  \
        memcpy(dst_, r_, (size_t)(nc) * sizeof(float));                                         \
      }                                                                                         \
    }                                                                                           \
  } while (0)

#define DEFINE_CONV1P(NAME, VT, VTU, IT, W, NVEC, PXN)                                            \
  /* PX pixels: pixel j's window starts at rx + j * step (kernel row ky at          \
   * + ky * rstride); pixel j's nc results to o + j * ostride. */                              \
  static inline __attribute__((always_inline)) void NAME##_group(                               \
      const float *rx, size_t rstride, const float *panel, float *o, size_t ostride, int nc,    \
      int kh, int span, int step, VT vlo, VT vhi) {                                             \
    enum { OC = (W) * (NVEC), PX = (PXN) };                                                     \
    VT acc[PX][NVEC];                                                                           \
    _Pragma("GCC unroll 8") for (int v = 0; v < (NVEC); v++) {                                  \
      VT b = *(const VTU *)(panel + v * (W));                                                   \
      _Pragma("GCC unroll 16") for (int j = 0; j < PX; j++) acc[j][v] = b;                      \
    }                                                                                           \
    const float *wp = panel + OC;                                                               \
    for (int ky = 0; ky < kh; ky++) {                                                           \
      const float *r = rx + (size_t)ky * rstride;                                               \
      for (int t = 0; t < span; t++, wp += OC) {                                                \
        VT wv[NVEC];                                                                            \
        _Pragma("GCC unroll 8") for (int v = 0; v < (NVEC); v++)                                \
          wv[v] = *(const VTU *)(wp + v * (W));                                                 \
        _Pragma("GCC unroll 16") for (int j = 0; j < PX; j++) {                                 \
          const float a = r[(size_t)j * step + t];                                              \
          _Pragma("GCC unroll 8") for (int v = 0; v < (NVEC); v++) acc[j][v] += wv[v] * a;      \
        }                                                                                       \
      }                                                                                         \
    }                                                                                           \
    CONV1P_STORE(VT, VTU, IT, W, NVEC, PX, acc, o, ostride, nc, vlo, vhi);                      \
  }                                                                                             \
  /* n groups from pixel x of a row whose windows lie in the image; r0 is pixel \
   * 0's window start, which may lie left of the row (never read). */           \
  static inline __attribute__((always_inline)) void NAME##_interior(                            \
      const float *r0, size_t in_row, const float *panel, float *orow, size_t ostride, int nc,  \
      int x, int n, int kh, int span, int step, VT vlo, VT vhi) {                               \
    enum { PX = (PXN) };                                                                        \
    for (int i = 0; i < n; i++, x += PX)                                                        \
      NAME##_group(r0 + (size_t)x * step, in_row, panel, orow + (size_t)x * ostride, ostride,   \
                   nc, kh, span, step, vlo, vhi);                                               \
  }                                                                                             \
  /* The padded patch of the PX pixels from x0 (their windows, zeros for the   \
   * padding), or 0 when it would not fit the patch buffer. */                  \
  static int NAME##_patch(const mn_conv_geom *g, const float *in, int y, int x0, float *patch,  \
                          size_t cap) {                                                         \
    enum { PX = (PXN) };                                                                        \
    const int ic = g->in_c, s = g->stride, cols = (PX - 1) * s + g->kw;                        \
    const size_t prow = (size_t)cols * ic;                                                      \
    if ((size_t)g->kh * prow > cap) return 0;                                                   \
    const int c0 = x0 * s - g->pad_left;                                                        \
    /* columns [ca, cb) of the patch come from the image, the rest are zero */                 \
    const int ca = c0 < 0 ? -c0 : 0, cb = g->in_w - c0 < cols ? g->in_w - c0 : cols;            \
    for (int ky = 0; ky < g->kh; ky++) {                                                        \
      const int iy = y * s - g->pad_top + ky;                                                   \
      float *dst = patch + (size_t)ky * prow;                                                   \
      if (iy < 0 || iy >= g->in_h || ca >= cb) {                                                \
        memset(dst, 0, prow * sizeof(float));                                                  \
        continue;                                                                               \
      }                                                                                         \
      memset(dst, 0, (size_t)ca * ic * sizeof(float));                                         \
      memcpy(dst + (size_t)ca * ic, in + ((size_t)iy * g->in_w + (size_t)(c0 + ca)) * ic,       \
             (size_t)(cb - ca) * ic * sizeof(float));                                           \
      memset(dst + (size_t)cb * ic, 0, (size_t)(cols - cb) * ic * sizeof(float));              \
    }                                                                                           \
    return 1;                                                                                   \
  }                                                                                             \
  /* One pixel with every bounds check: only when a patch would not fit. */    \
  static void NAME##_pixel(const mn_conv_geom *g, const float *in, const float *panel,          \
                           float *o, int nc, VT vlo, VT vhi, int x, int y) {                    \
    const int ic = g->in_c;                                                                     \
    VT acc[1][NVEC];                                                                            \
    for (int v = 0; v < (NVEC); v++) acc[0][v] = *(const VTU *)(panel + v * (W));              \
    for (int ky = 0; ky < g->kh; ky++) {                                                        \
      const int iy = y * g->stride - g->pad_top + ky;                                           \
      if (iy < 0 || iy >= g->in_h) continue;                                                    \
      for (int kx = 0; kx < g->kw; kx++) {                                                      \
        const int ix = x * g->stride - g->pad_left + kx;                                        \
        if (ix < 0 || ix >= g->in_w) continue;                                                  \
        const float *ip = in + ((size_t)iy * g->in_w + ix) * ic;                                \
        const float *wp = panel + (size_t)(W) * (NVEC) * (1 + (ky * g->kw + kx) * ic);          \
        for (int ci = 0; ci < ic; ci++)                                                         \
          for (int v = 0; v < (NVEC); v++)                                                      \
            acc[0][v] += *(const VTU *)(wp + ((size_t)ci * (NVEC) + v) * (W)) * ip[ci];         \
      }                                                                                         \
    }                                                                                           \
    CONV1P_STORE(VT, VTU, IT, W, NVEC, 1, acc, o, 0, nc, vlo, vhi);                             \
  }                                                                                             \
  static void NAME(const mn_conv_geom *g, const float *in, const float *packed, float *out,     \
                   float lo, float hi, int y0, int y1) {                                        \
    enum { OC = (W) * (NVEC), PX = (PXN), PATCH = 2048 };                                       \
    const int ic = g->in_c, span = g->kw * ic, s = g->stride, C = g->out_c;                     \
    const int rgb3x3s2 = g->kh == 3 && g->kw == 3 && ic == 3 && s == 2;                         \
    const size_t in_row = (size_t)g->in_w * ic, ostride = (size_t)C;                            \
    const size_t panel_len = (size_t)OC * ((size_t)g->kh * span + 1);                           \
    int xa, xb;                                                                                 \
    interior_cols(g, &xa, &xb);                                                                 \
    if (xb < xa) xb = xa;                                                                       \
    const VT vlo = (VT){0} + lo, vhi = (VT){0} + hi;                                            \
    float patch[PATCH], tmp[PX * OC];                                                           \
    for (int y = y0; y < y1; y++) {                                                             \
      const int iy0 = y * s - g->pad_top;                                                       \
      const int inside = iy0 >= 0 && iy0 + g->kh <= g->in_h;                                    \
      /* [ia, ib): whole groups straight from the image; the rest through patches */           \
      const int ia = inside ? xa : 0, groups = inside ? (xb - xa) / PX : 0;                     \
      const int ib = ia + groups * PX;                                                          \
      const float *r0 = in + (size_t)(inside ? iy0 : 0) * in_row - (ptrdiff_t)g->pad_left * ic; \
      for (int c0 = 0; c0 < C; c0 += OC) { /* panels */                                         \
        const float *panel = packed + (size_t)(c0 / OC) * panel_len;                            \
        const int nc = C - c0 < OC ? C - c0 : OC;                                               \
        float *orow = out + (size_t)y * g->out_w * ostride + c0;                                \
        if (groups > 0) {                                                                       \
          if (rgb3x3s2)                                                                         \
            NAME##_interior(r0, in_row, panel, orow, ostride, nc, ia, groups, 3, 9, 6, vlo,     \
                            vhi);                                                               \
          else                                                                                  \
            NAME##_interior(r0, in_row, panel, orow, ostride, nc, ia, groups, g->kh, span,      \
                            s * ic, vlo, vhi);                                                  \
        }                                                                                       \
        for (int pass = 0; pass < 2; pass++) { /* [0, ia), then [ib, out_w) */                  \
          const int ea = pass ? ib : 0, eb = pass ? g->out_w : ia;                              \
          for (int x0 = ea; x0 < eb; x0 += PX) {                                                \
            const int kb = x0 + PX < eb ? x0 + PX : eb;                                         \
            if (!NAME##_patch(g, in, y, x0, patch, PATCH)) {                                    \
              for (int x = x0; x < kb; x++)                                                     \
                NAME##_pixel(g, in, panel, orow + (size_t)x * ostride, nc, vlo, vhi, x, y);     \
              continue;                                                                         \
            }                                                                                   \
            if (rgb3x3s2)                                                                       \
              NAME##_group(patch, (PX - 1) * 6 + 9, panel, tmp, OC, OC, 3, 9, 6, vlo, vhi);     \
            else                                                                                \
              NAME##_group(patch, (size_t)((PX - 1) * s + g->kw) * ic, panel, tmp, OC, OC,      \
                           g->kh, span, s * ic, vlo, vhi);                                      \
            for (int x = x0; x < kb; x++)                                                       \
              memcpy(orow + (size_t)x * ostride, tmp + (size_t)(x - x0) * OC,                   \
                     (size_t)nc * sizeof(float));                                               \
          }                                                                                     \
        }                                                                                       \
      }                                                                                         \
    }                                                                                           \
  }

/* PX * NVEC >= 8 independent accumulators: an FMA has 4 cycles of latency
 * and two pipes, so fewer leave the kernel waiting on its own chains. */
DEFINE_CONV1P(f32_conv1p_8, vf8, vf8_u, vi8, 8, 1, 12)
DEFINE_CONV1P(f32_conv1p_wide, vf, vf_u, vi, VW, NV, 6)
#if VW == 16
DEFINE_CONV1P(f32_conv1p_16, vf, vf_u, vi, VW, 1, 12)
#endif

#if VW == 16 && defined(__AVX512F__)
/* ---- the first layer with 8 output channels, pixels in the lanes -----------
 * With 8 output channels the direct kernel above fills half a vector. Here a
 * vector holds 16 output pixels of one channel instead: each tap loads the
 * 16 input values it needs at once from a planar copy of the three input rows
 * (per channel and column parity: stride 2 makes the pixels' columns 2j + kx
 * consecutive in one parity plane), and multiplies them by the tap's weight
 * for each channel (broadcast from the packed panel), 8 accumulators. The 8 x
 * 16 result is transposed to 16 pixels x 8 channels in registers. For 3x3
 * kernels over 3 channels at stride 2 (every MobileNet's first layer); any
 * other shape takes f32_conv1p_8. */

/* Planar copy of input row iy: q[(c * 2 + p) * jw + jj] = value of column
 * 2 jj + p - pad_left, channel c; zero outside the image. */
static void rgb_row_planes(const mn_conv_geom *g, const float *in, int iy, int jw, float *q) {
  if (iy < 0 || iy >= g->in_h) {
    memset(q, 0, sizeof(float) * 6 * (size_t)jw);
    return;
  }
  const float *row = in + (size_t)iy * g->in_w * 3;
  const __m512i lane6 = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(6));
  for (int jj0 = 0; jj0 < jw; jj0 += 16) {
    const int col0 = 2 * jj0 - g->pad_left; /* the block spans columns col0 .. col0 + 31 */
    if (col0 >= 0 && col0 + 32 <= g->in_w) {
      const float *src = row + (size_t)col0 * 3; /* 96 floats: 32 pixels x RGB */
      const __m512 v0 = _mm512_loadu_ps(src), v1 = _mm512_loadu_ps(src + 16),
                   v2 = _mm512_loadu_ps(src + 32), v3 = _mm512_loadu_ps(src + 48),
                   v4 = _mm512_loadu_ps(src + 64), v5 = _mm512_loadu_ps(src + 80);
      for (int off = 0; off < 6; off++) { /* off = 3p + c: lane l reads float 6l + off */
        const __m512i q6 = _mm512_add_epi32(lane6, _mm512_set1_epi32(off));
        /* the low 5 bits pick within a pair of vectors; the range picks the pair */
        const __mmask16 in23 = _mm512_cmpge_epi32_mask(q6, _mm512_set1_epi32(32));
        const __mmask16 in45 = _mm512_cmpge_epi32_mask(q6, _mm512_set1_epi32(64));
        __m512 r = _mm512_permutex2var_ps(v0, q6, v1);
        r = _mm512_mask_blend_ps(in23, r, _mm512_permutex2var_ps(v2, q6, v3));
        r = _mm512_mask_blend_ps(in45, r, _mm512_permutex2var_ps(v4, q6, v5));
        const int p = off / 3, c = off % 3;
        _mm512_storeu_ps(q + (size_t)(c * 2 + p) * jw + jj0, r);
      }
    } else if (col0 >= g->in_w || col0 + 32 <= 0) { /* all padding */
      for (int plane = 0; plane < 6; plane++)
        _mm512_storeu_ps(q + (size_t)plane * jw + jj0, _mm512_setzero_ps());
    } else {
      for (int jj = jj0; jj < jj0 + 16; jj++)
        for (int p = 0; p < 2; p++) {
          const int col = 2 * jj + p - g->pad_left;
          const int ok = col >= 0 && col < g->in_w;
          for (int c = 0; c < 3; c++)
            q[(size_t)(c * 2 + p) * jw + jj] = ok ? row[(size_t)col * 3 + c] : 0.0f;
        }
    }
  }
}

/* 8 vectors (channel o: pixels 0..15) -> 8 vectors of pixel pairs (2i, 2i + 1)
 * x 8 channels, stored to o + pixel * 8. */
static inline void transpose8x16_store(const __m512 a[8], float *o, int pixels) {
  __m512 t[8], u[4], w[4];
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]);
  }
  /* per 128-bit block b: u[k] = channels 0-3 of pixel 4b + k, w[k] = 4-7 */
  u[0] = _mm512_shuffle_ps(t[0], t[2], 0x44), u[1] = _mm512_shuffle_ps(t[0], t[2], 0xee);
  u[2] = _mm512_shuffle_ps(t[1], t[3], 0x44), u[3] = _mm512_shuffle_ps(t[1], t[3], 0xee);
  w[0] = _mm512_shuffle_ps(t[4], t[6], 0x44), w[1] = _mm512_shuffle_ps(t[4], t[6], 0xee);
  w[2] = _mm512_shuffle_ps(t[5], t[7], 0x44), w[3] = _mm512_shuffle_ps(t[5], t[7], 0xee);
  float buf[16 * 8];
  float *dst = pixels == 16 ? o : buf;
  for (int k = 0; k < 4; k += 2) {
    /* blocks 0-1 and 2-3 of pixels k, k + 1 */
    const __m512 a01 = _mm512_shuffle_f32x4(u[k], w[k], 0x44),
                 b01 = _mm512_shuffle_f32x4(u[k + 1], w[k + 1], 0x44),
                 a23 = _mm512_shuffle_f32x4(u[k], w[k], 0xee),
                 b23 = _mm512_shuffle_f32x4(u[k + 1], w[k + 1], 0xee);
    /* pixel pair (4b + k, 4b + k + 1) = [u(b), w(b)] of k, then of k + 1 */
    _mm512_storeu_ps(dst + (0 + k) * 8, _mm512_shuffle_f32x4(a01, b01, 0x88));
    _mm512_storeu_ps(dst + (4 + k) * 8, _mm512_shuffle_f32x4(a01, b01, 0xdd));
    _mm512_storeu_ps(dst + (8 + k) * 8, _mm512_shuffle_f32x4(a23, b23, 0x88));
    _mm512_storeu_ps(dst + (12 + k) * 8, _mm512_shuffle_f32x4(a23, b23, 0xdd));
  }
  if (pixels < 16) memcpy(o, buf, sizeof(float) * 8 * (size_t)pixels);
}

static void f32_conv_rgb_s2_lanes8(const mn_conv_geom *g, const float *in, const float *panel,
                                   float *out, float lo, float hi, int y0, int y1) {
  enum { JW_MAX = 272 }; /* output rows up to 256 pixels (input 512) */
  const int jw = (g->out_w + 15) / 16 * 16 + 16; /* whole blocks, and one more for kx = 2 */
  if (g->kh != 3 || g->kw != 3 || g->in_c != 3 || g->stride != 2 || g->out_c != 8 ||
      jw > JW_MAX) {
    f32_conv1p_8(g, in, panel, out, lo, hi, y0, y1);
    return;
  }
  float planes[3][6 * JW_MAX]; /* the three input rows of an output row, planar */
  int have[3] = {INT32_MIN, INT32_MIN, INT32_MIN}; /* input row held by each slot */
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  const float *w = panel + 8; /* tap t = (ky * 3 + kx) * 3 + c: 8 weights */
  for (int y = y0; y < y1; y++) {
    const float *rowq[3];
    for (int ky = 0; ky < 3; ky++) {
      const int iy = 2 * y - g->pad_top + ky, slot = ((iy % 3) + 3) % 3;
      if (have[slot] != iy) {
        rgb_row_planes(g, in, iy, jw, planes[slot]);
        have[slot] = iy;
      }
      rowq[ky] = planes[slot];
    }
    float *orow = out + (size_t)y * g->out_w * 8;
    for (int j0 = 0; j0 < g->out_w; j0 += 16) {
      __m512 acc[8];
      for (int o = 0; o < 8; o++) acc[o] = _mm512_set1_ps(panel[o]);
      for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++)
          for (int c = 0; c < 3; c++) {
            const int t = (ky * 3 + kx) * 3 + c;
            const __m512 x = _mm512_loadu_ps(rowq[ky] + (size_t)(c * 2 + (kx & 1)) * jw + j0 + (kx >> 1));
            for (int o = 0; o < 8; o++)
              acc[o] = _mm512_fmadd_ps(x, _mm512_set1_ps(w[t * 8 + o]), acc[o]);
          }
      for (int o = 0; o < 8; o++) acc[o] = _mm512_min_ps(_mm512_max_ps(acc[o], vlo), vhi);
      const int n = g->out_w - j0 < 16 ? g->out_w - j0 : 16;
      transpose8x16_store(acc, orow + (size_t)j0 * 8, n);
    }
  }
}
#endif

/* The direct convolution for weights packed in panels of nr columns (any
 * out_c), or NULL when the layer must go through im2col. */
static mn_f32_conv1p_fn f32_conv1p_for(int out_c, int nr) {
  (void)out_c;
#if VW == 16 && defined(__AVX512F__)
  if (nr == 8 && out_c == 8) return f32_conv_rgb_s2_lanes8; /* other shapes: f32_conv1p_8 */
#endif
  if (nr == 8) return f32_conv1p_8;
  if (nr == MN_GEMM_NR) return f32_conv1p_wide;
#if VW == 16
  if (nr == 16) return f32_conv1p_16;
#endif
  return NULL;
}

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
static void tap_range(const mn_conv_geom *g, int kx, int *xa, int *xb) {
  int lo = g->pad_left - kx, a = lo > 0 ? (lo + g->stride - 1) / g->stride : 0;
  int hi = g->in_w - 1 + g->pad_left - kx; /* x*stride <= hi */
  int b = hi < 0 ? 0 : hi / g->stride + 1;
  *xa = a;
  *xb = b < g->out_w ? b : g->out_w;
}

static inline vf clamp_vf(vf v, vf lo, vf hi) {
  vi m = v < lo;
  v = (vf)(((vi)v & ~m) | ((vi)lo & m));
  m = v > hi;
  return (vf)(((vi)v & ~m) | ((vi)hi & m));
}

/* One output pixel with every bounds check (borders of the row). */
/* The taps of 3x3 output pixel (x, y) that fall inside the input, for a row
 * whose three input rows exist (the left and right border pixels): their
 * input and weight pointers, compacted so the channel loops have no branch.
 * Skipped taps are the zero padding. Returns the count. */
#define DEFINE_DW3X3_TAPS(NAME, T, WT)                                                          \
  static int NAME(const mn_conv_geom *g, const T *in, const WT *w, int L, int x, int y,        \
                  const T *p[9], const WT *wt[9]) {                                             \
    int n = 0;                                                                                  \
    for (int ky = 0; ky < 3; ky++) {                                                            \
      const int iy = y * g->stride - g->pad_top + ky;                                           \
      for (int kx = 0; kx < 3; kx++) {                                                          \
        const int ix = x * g->stride - g->pad_left + kx;                                        \
        if (ix < 0 || ix >= g->in_w) continue;                                                  \
        p[n] = in + ((size_t)iy * g->in_w + ix) * g->in_c;                                      \
        wt[n++] = w + (size_t)(ky * 3 + kx) * L;                                                \
      }                                                                                         \
    }                                                                                           \
    return n;                                                                                   \
  }
DEFINE_DW3X3_TAPS(f32_dw3x3_taps, float, float)
DEFINE_DW3X3_TAPS(u8_dw3x3_taps, uint8_t, int32_t)

static void f32_dw3x3_edge(const mn_conv_geom *g, const float *in, const float *w, int L, int x,
                           int y, float *restrict o, float lo, float hi) {
  const int C = g->in_c;
  const float *p[9], *wt[9];
  const int n = f32_dw3x3_taps(g, in, w, L, x, y, p, wt);
  const float *bias = w + (size_t)9 * L;
  const vf vlo = (vf){0} + lo, vhi = (vf){0} + hi;
  int c = 0;
  for (; c + VW <= C; c += VW) {
    vf acc = *(const vf_u *)(bias + c);
    for (int t = 0; t < n; t++) acc += *(const vf_u *)(p[t] + c) * *(const vf_u *)(wt[t] + c);
    *(vf_u *)(o + c) = clamp_vf(acc, vlo, vhi);
  }
#if VW > 8
  if (c + 8 <= C) { /* 8 channels left (8- and 24-channel layers) */
    vf8 acc = *(const vf8_u *)(bias + c);
    for (int t = 0; t < n; t++) acc += *(const vf8_u *)(p[t] + c) * *(const vf8_u *)(wt[t] + c);
    const vf8 vlo8 = (vf8){0} + lo, vhi8 = (vf8){0} + hi;
    vi8 m = acc < vlo8;
    acc = (vf8)(((vi8)acc & ~m) | ((vi8)vlo8 & m));
    m = acc > vhi8;
    *(vf8_u *)(o + c) = (vf8)(((vi8)acc & ~m) | ((vi8)vhi8 & m));
    c += 8;
  }
#endif
  for (; c < C; c++) {
    float acc = bias[c];
    for (int t = 0; t < n; t++) acc += p[t][c] * wt[t][c];
    acc = acc < lo ? lo : acc;
    o[c] = acc > hi ? hi : acc;
  }
}

/* The nine taps of a 3x3 output vector, one FMA chain per kernel row: three
 * short chains instead of one of nine, so consecutive outputs overlap. */
#define F32_TAPS(P0, P1, P2, C_)                                                                \
  ({                                                                                            \
    vf t0_ = b + *(const vf_u *)(P0) * w0, t1_ = *(const vf_u *)(P1) * w3,                       \
       t2_ = *(const vf_u *)(P2) * w6;                                                          \
    t0_ += *(const vf_u *)((P0) + (C_)) * w1;                                                   \
    t1_ += *(const vf_u *)((P1) + (C_)) * w4;                                                   \
    t2_ += *(const vf_u *)((P2) + (C_)) * w7;                                                   \
    t0_ += *(const vf_u *)((P0) + 2 * (C_)) * w2;                                               \
    t1_ += *(const vf_u *)((P1) + 2 * (C_)) * w5;                                               \
    t2_ += *(const vf_u *)((P2) + 2 * (C_)) * w8;                                               \
    (t0_ + t1_) + t2_;                                                                          \
  })

/* 3x3 interior, C a multiple of VW, any stride: channel vectors outside,
 * the nine weights and the bias stay in registers along the row, one store
 * per output vector. r0..r2 point at input column -pad_left of the rows. */
static void f32_dw3x3_interior_cvec(const float *r0, const float *r1, const float *r2, int C,
                                    int L, int stride, int xa, int xb, const float *w,
                                    float *out, float lo, float hi) {
  const vf vlo = (vf){0} + lo, vhi = (vf){0} + hi;
  const size_t step = (size_t)stride * C;
  for (int cv = 0; cv < C; cv += VW) {
    const vf w0 = *(const vf_u *)(w + 0 * L + cv), w1 = *(const vf_u *)(w + 1 * L + cv),
             w2 = *(const vf_u *)(w + 2 * L + cv), w3 = *(const vf_u *)(w + 3 * L + cv),
             w4 = *(const vf_u *)(w + 4 * L + cv), w5 = *(const vf_u *)(w + 5 * L + cv),
             w6 = *(const vf_u *)(w + 6 * L + cv), w7 = *(const vf_u *)(w + 7 * L + cv),
             w8 = *(const vf_u *)(w + 8 * L + cv), b = *(const vf_u *)(w + 9 * L + cv);
    const float *p0 = r0 + (size_t)xa * step + cv, *p1 = r1 + (size_t)xa * step + cv,
                *p2 = r2 + (size_t)xa * step + cv;
    float *o = out + (size_t)xa * C + cv;
    for (int x = xa; x < xb; x++) {
      *(vf_u *)o = clamp_vf(F32_TAPS(p0, p1, p2, C), vlo, vhi);
      p0 += step, p1 += step, p2 += step, o += C;
    }
  }
}

/* 3x3 interior, stride 1, any C: the row as one flat run of (x, c) values;
 * weights repeat with period L, so vector position jv always meets the
 * same weights and keeps them in registers. */
static void f32_dw3x3_interior_flat(const float *r0, const float *r1, const float *r2, int C,
                                    int L, int xa, int xb, const float *w, float *out, float lo,
                                    float hi) {
  const vf vlo = (vf){0} + lo, vhi = (vf){0} + hi;
  const size_t i0 = (size_t)xa * C, n = (size_t)(xb - xa) * C, full = n / VW * VW;
  for (int jv = 0; jv < L; jv += VW) {
    const vf w0 = *(const vf_u *)(w + 0 * L + jv), w1 = *(const vf_u *)(w + 1 * L + jv),
             w2 = *(const vf_u *)(w + 2 * L + jv), w3 = *(const vf_u *)(w + 3 * L + jv),
             w4 = *(const vf_u *)(w + 4 * L + jv), w5 = *(const vf_u *)(w + 5 * L + jv),
             w6 = *(const vf_u *)(w + 6 * L + jv), w7 = *(const vf_u *)(w + 7 * L + jv),
             w8 = *(const vf_u *)(w + 8 * L + jv), b = *(const vf_u *)(w + 9 * L + jv);
    for (size_t i = (size_t)jv; i < full; i += (size_t)L) {
      const float *p0 = r0 + i0 + i, *p1 = r1 + i0 + i, *p2 = r2 + i0 + i;
      *(vf_u *)(out + i0 + i) = clamp_vf(F32_TAPS(p0, p1, p2, C), vlo, vhi);
    }
  }
  for (size_t i = full; i < n; i++) { /* tail: fewer than VW values */
    const size_t j = i % (size_t)L, at = i0 + i;
    float acc = w[9 * L + j];
    for (int kx = 0; kx < 3; kx++)
      acc += r0[at + kx * C] * w[kx * L + j] + r1[at + kx * C] * w[(3 + kx) * L + j] +
             r2[at + kx * C] * w[(6 + kx) * L + j];
    acc = acc < lo ? lo : acc;
    out[at] = acc > hi ? hi : acc;
  }
}

/* ---- KxK depthwise (5x5 in v3), C a multiple of VW ---------------------------
 * Interior pixels: channel vectors outside; four output pixels at a time
 * keep their sums in registers over all kh x kw taps, each tap's weight
 * vector loaded once for the four. rows[ky] point at input column -pad_left
 * of the pixel row's input rows. */
#define DWK_PX 4
static void f32_dwkxk_interior_cvec(const float *const *rows, int kh, int kw, int C, int L,
                                    int stride, int xa, int xb, const float *w,
                                    const float *bias, float *out, float lo, float hi) {
  const vf vlo = (vf){0} + lo, vhi = (vf){0} + hi;
  const size_t step = (size_t)stride * C;
  for (int cv = 0; cv < C; cv += VW) {
    int x = xa;
    for (; x + DWK_PX <= xb; x += DWK_PX) {
      const vf b = *(const vf_u *)(bias + cv);
      vf acc[DWK_PX] = {b, b, b, b};
      for (int ky = 0; ky < kh; ky++) {
        const float *r = rows[ky] + (size_t)x * step + cv;
        const float *wr = w + (size_t)ky * kw * L + cv;
        for (int kx = 0; kx < kw; kx++) {
          const vf wv = *(const vf_u *)(wr + (size_t)kx * L);
          const float *p = r + (size_t)kx * C;
          _Pragma("GCC unroll 4") for (int j = 0; j < DWK_PX; j++)
            acc[j] += *(const vf_u *)(p + (size_t)j * step) * wv;
        }
      }
      for (int j = 0; j < DWK_PX; j++)
        *(vf_u *)(out + (size_t)(x + j) * C + cv) = clamp_vf(acc[j], vlo, vhi);
    }
    for (; x < xb; x++) {
      vf acc = *(const vf_u *)(bias + cv);
      for (int ky = 0; ky < kh; ky++) {
        const float *r = rows[ky] + (size_t)x * step + cv;
        const float *wr = w + (size_t)ky * kw * L + cv;
        for (int kx = 0; kx < kw; kx++)
          acc += *(const vf_u *)(r + (size_t)kx * C) * *(const vf_u *)(wr + (size_t)kx * L);
      }
      *(vf_u *)(out + (size_t)x * C + cv) = clamp_vf(acc, vlo, vhi);
    }
  }
}

/* One output pixel at the borders, all channels: the taps inside the input
 * gathered first, then channel vectors (as f32_dw3x3_edge). */
static void f32_dwkxk_pixel(const mn_conv_geom *g, const float *in, const float *w, int L, int x,
                            int y, float *restrict o, float lo, float hi) {
  const int C = g->in_c;
  const float *p[49], *wt[49];
  int n = 0;
  for (int ky = 0; ky < g->kh; ky++) {
    const int iy = y * g->stride - g->pad_top + ky;
    if (iy < 0 || iy >= g->in_h) continue;
    for (int kx = 0; kx < g->kw; kx++) {
      const int ix = x * g->stride - g->pad_left + kx;
      if (ix < 0 || ix >= g->in_w) continue;
      p[n] = in + ((size_t)iy * g->in_w + ix) * C;
      wt[n++] = w + (size_t)(ky * g->kw + kx) * L;
    }
  }
  const float *bias = w + (size_t)g->kh * g->kw * L;
  const vf vlo = (vf){0} + lo, vhi = (vf){0} + hi;
  int c = 0;
  for (; c + VW <= C; c += VW) {
    vf acc = *(const vf_u *)(bias + c);
    for (int t = 0; t < n; t++) acc += *(const vf_u *)(p[t] + c) * *(const vf_u *)(wt[t] + c);
    *(vf_u *)(o + c) = clamp_vf(acc, vlo, vhi);
  }
  for (; c < C; c++) {
    float acc = bias[c];
    for (int t = 0; t < n; t++) acc += p[t][c] * wt[t][c];
    o[c] = acc < lo ? lo : acc > hi ? hi : acc;
  }
}

static void f32_dwconv(const mn_conv_geom *g, const float *in, const float *w, float *out,
                       float lo, float hi, int y0, int y1) {
  const int C = g->in_c, L = mn_dw_period(C);
  const size_t row_len = (size_t)g->out_w * C;
  const float *restrict bias = w + (size_t)g->kh * g->kw * L; /* periodic too */
  /* Outputs whose 3x3 window lies inside the input horizontally. */
  int xa, xb; /* used only when the kernel is 3x3 */
  interior_cols(g, &xa, &xb);
  const int fast_shape = g->kh == 3 && g->kw == 3 && (C % VW == 0 || g->stride == 1) && xa < xb;
  const int kxk_shape = !(g->kh == 3 && g->kw == 3) && g->kh <= 7 && g->kw <= 7 && C % VW == 0;
  for (int y = y0; y < y1; y++) {
    float *restrict o = out + (size_t)y * row_len;
    const int iy = y * g->stride - g->pad_top;
    if (kxk_shape) {
      /* the kernel rows inside the input: the others meet the zero padding */
      const int ky0 = iy < 0 ? -iy : 0;
      const int ky1 = iy + g->kh > g->in_h ? g->in_h - iy : g->kh;
      const size_t in_row = (size_t)g->in_w * C;
      const float *rows[7];
      for (int ky = ky0; ky < ky1; ky++)
        rows[ky - ky0] = in + (size_t)(iy + ky) * in_row - (ptrdiff_t)g->pad_left * C;
      const int xs = xa < xb ? xa : g->out_w, xe = xa < xb ? xb : g->out_w;
      for (int x = 0; x < xs; x++) f32_dwkxk_pixel(g, in, w, L, x, y, o + (size_t)x * C, lo, hi);
      if (ky1 > ky0 && xs < xe)
        f32_dwkxk_interior_cvec(rows, ky1 - ky0, g->kw, C, L, g->stride, xs, xe,
                                w + (size_t)ky0 * g->kw * L, bias, o, lo, hi);
      else
        for (int x = xs; x < xe; x++) f32_dwkxk_pixel(g, in, w, L, x, y, o + (size_t)x * C, lo, hi);
      for (int x = xe; x < g->out_w; x++)
        f32_dwkxk_pixel(g, in, w, L, x, y, o + (size_t)x * C, lo, hi);
      continue;
    }
    if (fast_shape && iy >= 0 && iy + 2 < g->in_h) {
      const size_t in_row = (size_t)g->in_w * C;
      /* Row pointers at input column -pad_left: only offsets inside the
       * row are ever added to them. */
      const float *r0 = in + (size_t)iy * in_row - (ptrdiff_t)g->pad_left * C;
      const float *r1 = r0 + in_row, *r2 = r1 + in_row;
      for (int x = 0; x < xa; x++) f32_dw3x3_edge(g, in, w, L, x, y, o + (size_t)x * C, lo, hi);
      if (C % VW == 0)
        f32_dw3x3_interior_cvec(r0, r1, r2, C, L, g->stride, xa, xb, w, o, lo, hi);
      else
        f32_dw3x3_interior_flat(r0, r1, r2, C, L, xa, xb, w, o, lo, hi);
      for (int x = xb; x < g->out_w; x++)
        f32_dw3x3_edge(g, in, w, L, x, y, o + (size_t)x * C, lo, hi);
      continue;
    }
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

/* Same arithmetic as mn_requantize, in vectors of VW lanes: the product is
 * clamped to +-2^30 first (far outside [0, 255]) so the truncation fits
 * int32, then rounded half away from zero from the exact remainder. */
typedef double vd __attribute__((vector_size(VW * 8)));
typedef int64_t vl __attribute__((vector_size(VW * 8)));

static inline vi select_vi(vi m, vi a, vi b) { return (a & m) | (b & ~m); }
static inline vd select_vd(vl m, vd a, vd b) { return (vd)(((vl)a & m) | ((vl)b & ~m)); }

/* Per-channel (fp32) requantization of n accumulators whose first is
 * channel 0 of the scales' period (a multiple of VW, or at least n). */
static void requantize_row_fp32(const int32_t *restrict acc, int n, const mn_requant *rq,
                                uint8_t *restrict out) {
  const float *restrict sc = rq->scales;
  const int period = rq->period;
  const float lo = (float)(rq->qmin - rq->out_zp), hi = (float)(rq->qmax - rq->out_zp);
  const int32_t zp = rq->out_zp;
  (void)lo, (void)hi, (void)zp; /* the scalar tail reads rq */
  int i = 0, j = 0;
#if defined(__AVX2__) && VW == 8
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  const __m256i vzp = _mm256_set1_epi32(zp);
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(acc + i))),
                             _mm256_loadu_ps(sc + j));
    v = _mm256_min_ps(_mm256_max_ps(v, vlo), vhi);
    const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), vzp);
    const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64((__m128i *)(out + i), _mm_packus_epi16(w16, w16));
    j = j + 8 >= period ? 0 : j + 8;
  }
#elif defined(__AVX512F__) && VW == 16
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  const __m512i vzp = _mm512_set1_epi32(zp);
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_loadu_si512(acc + i)), _mm512_loadu_ps(sc + j));
    v = _mm512_min_ps(_mm512_max_ps(v, vlo), vhi);
    _mm_storeu_si128((__m128i *)(out + i),
                     _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), vzp)));
    j = j + 16 >= period ? 0 : j + 16;
  }
#endif
  for (; i < n; i++) {
    out[i] = mn_requantize_fp32(acc[i], sc[j], rq);
    j = j + 1 >= period ? 0 : j + 1;
  }
}

static void requantize_row(const int32_t *restrict acc, int n, const mn_requant *rq_in,
                           uint8_t *restrict out) {
  /* a local copy: byte stores may alias *rq_in, which would reload and
   * re-broadcast every constant per vector */
  const mn_requant rq_copy = *rq_in, *rq = &rq_copy;
  if (rq->scales) {
    requantize_row_fp32(acc, n, rq, out);
    return;
  }
  const double mult = rq->mult;
  const int32_t zp = rq->out_zp, qmin = rq->qmin, qmax = rq->qmax;
  const vd vm = (vd){0} + mult, big = (vd){0} + 1073741824.0, half = (vd){0} + 0.5;
  const vi vzp = (vi){0} + zp, vqmin = (vi){0} + qmin, vqmax = (vi){0} + qmax;
  int i = 0;
#if defined(__AVX512F__) && VW == 16
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128((__m128i *)(out + i),
                     mn_requantize16_avx512(_mm512_loadu_si512(acc + i), rq));
#elif defined(__AVX2__) && VW == 8
  for (; i + 8 <= n; i += 8)
    _mm_storel_epi64((__m128i *)(out + i),
                     mn_requantize8_avx2(_mm256_loadu_si256((const __m256i *)(acc + i)), rq));
#endif
  for (; i + VW <= n; i += VW) {
    vd v = __builtin_convertvector(*(const vi_u *)(acc + i), vd) * vm;
    v = select_vd(v < -big, -big, v);
    v = select_vd(v > big, big, v);
    vi t = __builtin_convertvector(v, vi);
    vd f = v - __builtin_convertvector(t, vd);
    vi r = t - __builtin_convertvector(f >= half, vi) + __builtin_convertvector(f <= -half, vi);
    r += vzp;
    r = select_vi(r < vqmin, vqmin, r);
    r = select_vi(r > vqmax, vqmax, r);
    *(vu8_u *)(out + i) = __builtin_convertvector(r, vu8);
  }
  for (; i < n; i++) {
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

/* ---- uint8 depthwise KxK: as the float one, int32 accumulators per row ----
 * A row is done in chunks of whole pixels that fit the accumulator buffer;
 * the 3x3 interior keeps its nine weights in registers, the borders and
 * other shapes take every bounds check. Padding holds the input zero point,
 * so skipped taps contribute (zp - zp) = 0. */

/* The int32 accumulators of a border pixel (see f32_dw3x3_edge). */
static void u8_dw3x3_edge_acc(const mn_conv_geom *g, const uint8_t *in, const int32_t *w, int L,
                              int32_t zp, int x, int y, int32_t *restrict acc) {
  const int C = g->in_c;
  const uint8_t *p[9];
  const int32_t *wt[9];
  const int n = u8_dw3x3_taps(g, in, w, L, x, y, p, wt);
  const int32_t *bias = w + (size_t)9 * L;
  int c = 0;
  for (; c + VW <= C; c += VW) {
    vi a = *(const vi_u *)(bias + c);
    for (int t = 0; t < n; t++) a += (load_u8_i32(p[t] + c) - zp) * *(const vi_u *)(wt[t] + c);
    *(vi_u *)(acc + c) = a;
  }
  for (; c < C; c++) {
    int32_t a = bias[c];
    for (int t = 0; t < n; t++) a += ((int32_t)p[t][c] - zp) * wt[t][c];
    acc[c] = a;
  }
}

/* All nine taps inside the input: sum (x - zp) w = sum x w - zp sum w, so
 * the zero point is folded into the bias once per channel vector (bz).
 * With VNNI a multiply-add is one vpdpwssd: x is a byte zero-extended to
 * 32 bits and w keeps its 16-bit value in the low half (high half zero), so
 * the pair sum x_lo * w_lo + x_hi * w_hi is x * w, exactly (|w| <= 255);
 * without VNNI the same pair product is vpmaddwd, then an add.
 * Three chains (one per kernel row) so the adds do not wait on each other. */
#if defined(__AVX512VNNI__) && VW == 16
#define U8_MAC(acc, x, w) ((vi)_mm512_dpwssd_epi32((__m512i)(acc), (__m512i)(x), (__m512i)(w)))
#define U8_MAC_WEIGHT(w) ((w) & 0xffff)
#elif defined(__AVX512BW__) && VW == 16 /* vpmaddwd + vpaddd: still cheaper than vpmulld */
#define U8_MAC(acc, x, w) ((acc) + (vi)_mm512_madd_epi16((__m512i)(x), (__m512i)(w)))
#define U8_MAC_WEIGHT(w) ((w) & 0xffff)
#elif defined(__AVX2__) && VW == 8
#define U8_MAC(acc, x, w) ((acc) + (vi)_mm256_madd_epi16((__m256i)(x), (__m256i)(w)))
#define U8_MAC_WEIGHT(w) ((w) & 0xffff)
#else
#define U8_MAC(acc, x, w) ((acc) + (x) * (w))
#define U8_MAC_WEIGHT(w) (w)
#endif
#define U8_TAPS(P0, P1, P2, C_)                                                                 \
  ({                                                                                            \
    vi t0_ = U8_MAC(bz, load_u8_i32(P0), w0), t1_ = U8_MAC((vi){0}, load_u8_i32(P1), w3),       \
       t2_ = U8_MAC((vi){0}, load_u8_i32(P2), w6);                                              \
    t0_ = U8_MAC(t0_, load_u8_i32((P0) + (C_)), w1);                                            \
    t1_ = U8_MAC(t1_, load_u8_i32((P1) + (C_)), w4);                                            \
    t2_ = U8_MAC(t2_, load_u8_i32((P2) + (C_)), w7);                                            \
    t0_ = U8_MAC(t0_, load_u8_i32((P0) + 2 * (C_)), w2);                                        \
    t1_ = U8_MAC(t1_, load_u8_i32((P1) + 2 * (C_)), w5);                                        \
    t2_ = U8_MAC(t2_, load_u8_i32((P2) + 2 * (C_)), w8);                                        \
    t0_ + t1_ + t2_;                                                                            \
  })

#define U8_LOAD_WEIGHTS(J)                                                                      \
  const vi q0 = *(const vi_u *)(w + 0 * L + (J)), q1 = *(const vi_u *)(w + 1 * L + (J)),        \
           q2 = *(const vi_u *)(w + 2 * L + (J)), q3 = *(const vi_u *)(w + 3 * L + (J)),        \
           q4 = *(const vi_u *)(w + 4 * L + (J)), q5 = *(const vi_u *)(w + 5 * L + (J)),        \
           q6 = *(const vi_u *)(w + 6 * L + (J)), q7 = *(const vi_u *)(w + 7 * L + (J)),        \
           q8 = *(const vi_u *)(w + 8 * L + (J)), b = *(const vi_u *)(w + 9 * L + (J));      \
  const vi bz = b - vz * (q0 + q1 + q2 + q3 + q4 + q5 + q6 + q7 + q8);                          \
  const vi w0 = U8_MAC_WEIGHT(q0), w1 = U8_MAC_WEIGHT(q1), w2 = U8_MAC_WEIGHT(q2),              \
           w3 = U8_MAC_WEIGHT(q3), w4 = U8_MAC_WEIGHT(q4), w5 = U8_MAC_WEIGHT(q5),              \
           w6 = U8_MAC_WEIGHT(q6), w7 = U8_MAC_WEIGHT(q7), w8 = U8_MAC_WEIGHT(q8)

/* Interior pixels [xs, xe), C a multiple of VW, any stride; acc is pixel xs. */
static void u8_dw3x3_acc_cvec(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, int C,
                              int L, int stride, int xs, int xe, const int32_t *w, int32_t zp,
                              int32_t *acc) {
  const vi vz = (vi){0} + zp;
  const size_t step = (size_t)stride * C;
  for (int cv = 0; cv < C; cv += VW) {
    U8_LOAD_WEIGHTS(cv);
    const uint8_t *p0 = r0 + (size_t)xs * step + cv, *p1 = r1 + (size_t)xs * step + cv,
                  *p2 = r2 + (size_t)xs * step + cv;
    int32_t *o = acc + cv;
    for (int x = xs; x < xe; x++) {
      *(vi_u *)o = U8_TAPS(p0, p1, p2, C);
      p0 += step, p1 += step, p2 += step, o += C;
    }
  }
}

/* Interior pixels [xs, xe), stride 1, any C: one flat run, periodic weights. */
static void u8_dw3x3_acc_flat(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, int C,
                              int L, int xs, int xe, const int32_t *w, int32_t zp,
                              int32_t *acc) {
  const vi vz = (vi){0} + zp;
  const size_t i0 = (size_t)xs * C, n = (size_t)(xe - xs) * C, full = n / VW * VW;
  for (int jv = 0; jv < L; jv += VW) {
    U8_LOAD_WEIGHTS(jv);
    for (size_t i = (size_t)jv; i < full; i += (size_t)L)
      *(vi_u *)(acc + i) = U8_TAPS(r0 + i0 + i, r1 + i0 + i, r2 + i0 + i, C);
  }
  for (size_t i = full; i < n; i++) {
    const size_t j = i % (size_t)L, at = i0 + i;
    int32_t v = w[9 * L + j];
    for (int kx = 0; kx < 3; kx++)
      v += ((int32_t)r0[at + kx * C] - zp) * w[kx * L + j] +
           ((int32_t)r1[at + kx * C] - zp) * w[(3 + kx) * L + j] +
           ((int32_t)r2[at + kx * C] - zp) * w[(6 + kx) * L + j];
    acc[i] = v;
  }
}

/* KxK interior pixels [xs, xe), C a multiple of VW, any stride: four pixels
 * at a time as f32_dwkxk_interior_cvec, int32 sums (the zero point folded
 * into the bias once per channel vector); acc is pixel xs. */
static void u8_dwkxk_acc_cvec(const uint8_t *const *rows, int kh, int kw, int C, int L,
                              int stride, int xs, int xe, const int32_t *w,
                              const int32_t *bias, int32_t zp, int32_t *acc) {
  const vi vz = (vi){0} + zp;
  const size_t step = (size_t)stride * C;
  const int taps = kh * kw;
  for (int cv = 0; cv < C; cv += VW) {
    vi bz = *(const vi_u *)(bias + cv);
    for (int t = 0; t < taps; t++) bz -= vz * *(const vi_u *)(w + (size_t)t * L + cv);
    int x = xs;
    for (; x + DWK_PX <= xe; x += DWK_PX) {
      vi a[DWK_PX] = {bz, bz, bz, bz};
      for (int ky = 0; ky < kh; ky++) {
        const uint8_t *r = rows[ky] + (size_t)x * step + cv;
        const int32_t *wr = w + (size_t)ky * kw * L + cv;
        for (int kx = 0; kx < kw; kx++) {
          const vi wv = U8_MAC_WEIGHT(*(const vi_u *)(wr + (size_t)kx * L));
          const uint8_t *p = r + (size_t)kx * C;
          _Pragma("GCC unroll 4") for (int j = 0; j < DWK_PX; j++)
            a[j] = U8_MAC(a[j], load_u8_i32(p + (size_t)j * step), wv);
        }
      }
      for (int j = 0; j < DWK_PX; j++) *(vi_u *)(acc + (size_t)(x - xs + j) * C + cv) = a[j];
    }
    for (; x < xe; x++) {
      vi a = bz;
      for (int ky = 0; ky < kh; ky++) {
        const uint8_t *r = rows[ky] + (size_t)x * step + cv;
        const int32_t *wr = w + (size_t)ky * kw * L + cv;
        for (int kx = 0; kx < kw; kx++)
          a = U8_MAC(a, load_u8_i32(r + (size_t)kx * C), U8_MAC_WEIGHT(*(const vi_u *)(wr + (size_t)kx * L)));
      }
      *(vi_u *)(acc + (size_t)(x - xs) * C + cv) = a;
    }
  }
}

/* The int32 sums of one pixel at the borders: the taps inside the input,
 * then channel vectors. */
static void u8_dwkxk_pixel_acc(const mn_conv_geom *g, const uint8_t *in, const int32_t *w, int L,
                               int32_t zp, int x, int y, int32_t *restrict acc) {
  const int C = g->in_c;
  const uint8_t *p[49];
  const int32_t *wt[49];
  int n = 0;
  for (int ky = 0; ky < g->kh; ky++) {
    const int iy = y * g->stride - g->pad_top + ky;
    if (iy < 0 || iy >= g->in_h) continue;
    for (int kx = 0; kx < g->kw; kx++) {
      const int ix = x * g->stride - g->pad_left + kx;
      if (ix < 0 || ix >= g->in_w) continue;
      p[n] = in + ((size_t)iy * g->in_w + ix) * C;
      wt[n++] = w + (size_t)(ky * g->kw + kx) * L;
    }
  }
  const int32_t *bias = w + (size_t)g->kh * g->kw * L;
  int c = 0;
  for (; c + VW <= C; c += VW) {
    vi a = *(const vi_u *)(bias + c);
    for (int t = 0; t < n; t++) a += (load_u8_i32(p[t] + c) - zp) * *(const vi_u *)(wt[t] + c);
    *(vi_u *)(acc + c) = a;
  }
  for (; c < C; c++) {
    int32_t a = bias[c];
    for (int t = 0; t < n; t++) a += ((int32_t)p[t][c] - zp) * wt[t][c];
    acc[c] = a;
  }
}

static void u8_dwconv(const mn_conv_geom *g, const uint8_t *in, const int32_t *w, uint8_t *out,
                      const mn_requant *rq, int y0, int y1) {
  const int C = g->in_c, L = mn_dw_period(C);
  const int32_t *restrict bias = w + (size_t)g->kh * g->kw * L; /* periodic too */
  const int32_t zp = rq->in_zp;
  const size_t row_len = (size_t)g->out_w * C;
  int xa, xb; /* used only when the kernel is 3x3 */
  interior_cols(g, &xa, &xb);
  const int fast_shape = g->kh == 3 && g->kw == 3 && (C % VW == 0 || g->stride == 1) && xa < xb;
  const int kxk_shape = !(g->kh == 3 && g->kw == 3) && g->kh <= 7 && g->kw <= 7 && C % VW == 0;
  int32_t acc_buf[4096];
  const int px_chunk = (int)(sizeof acc_buf / sizeof acc_buf[0]) / C;
  for (int y = y0; y < y1; y++) {
    const int iy = y * g->stride - g->pad_top;
    const int fast_row = fast_shape && iy >= 0 && iy + 2 < g->in_h;
    const int kxk_row = kxk_shape;
    for (int x0 = 0; x0 < g->out_w; x0 += px_chunk) {
      const int x1 = x0 + px_chunk < g->out_w ? x0 + px_chunk : g->out_w;
      int32_t *restrict acc = acc_buf;
      if (kxk_row) {
        /* the kernel rows inside the input: the others meet the padding */
        const int ky0 = iy < 0 ? -iy : 0;
        const int ky1 = iy + g->kh > g->in_h ? g->in_h - iy : g->kh;
        const size_t in_row = (size_t)g->in_w * C;
        const uint8_t *rows[7];
        for (int ky = ky0; ky < ky1; ky++)
          rows[ky - ky0] = in + (size_t)(iy + ky) * in_row - (ptrdiff_t)g->pad_left * C;
        int xs = xa > x0 ? xa : x0, xe = xb < x1 ? xb : x1;
        if (xa >= xb || ky1 <= ky0 || xs >= xe) xs = xe = x1; /* no interior */
        for (int x = x0; x < x1; x++)
          if (x < xs || x >= xe)
            u8_dwkxk_pixel_acc(g, in, w, L, zp, x, y, acc + (size_t)(x - x0) * C);
        if (xs < xe)
          u8_dwkxk_acc_cvec(rows, ky1 - ky0, g->kw, C, L, g->stride, xs, xe,
                            w + (size_t)ky0 * g->kw * L, bias, zp, acc + (size_t)(xs - x0) * C);
      } else if (fast_row) {
        const size_t in_row = (size_t)g->in_w * C;
        const uint8_t *r0 = in + (size_t)iy * in_row - (ptrdiff_t)g->pad_left * C;
        const uint8_t *r1 = r0 + in_row, *r2 = r1 + in_row;
        const int xs = xa > x0 ? xa : x0, xe = xb < x1 ? xb : x1;
        for (int x = x0; x < x1; x++)
          if (x < xs || x >= xe)
            u8_dw3x3_edge_acc(g, in, w, L, zp, x, y, acc + (size_t)(x - x0) * C);
        if (xs < xe) {
          if (C % VW == 0)
            u8_dw3x3_acc_cvec(r0, r1, r2, C, L, g->stride, xs, xe, w, zp,
                              acc + (size_t)(xs - x0) * C);
          else
            u8_dw3x3_acc_flat(r0, r1, r2, C, L, xs, xe, w, zp, acc + (size_t)(xs - x0) * C);
        }
      } else {
        periodic_fill_i32(acc, (size_t)(x1 - x0) * C, bias, L);
        for (int ky = 0; ky < g->kh; ky++) {
          const int iy = y * g->stride - g->pad_top + ky;
          if (iy < 0 || iy >= g->in_h) continue;
          const uint8_t *in_row = in + (size_t)iy * g->in_w * C;
          for (int kx = 0; kx < g->kw; kx++) {
            const int32_t *restrict wp = w + (size_t)(ky * g->kw + kx) * L;
            int ta, tb;
            tap_range(g, kx, &ta, &tb);
            ta = ta > x0 ? ta : x0;
            tb = tb < x1 ? tb : x1;
            if (ta >= tb) continue;
            if (g->stride == 1) {
              const uint8_t *restrict ip = in_row + (size_t)(ta - g->pad_left + kx) * C;
              /* the period restarts at pixel ta, a multiple of C: phase 0 */
              periodic_mac_u8(acc + (size_t)(ta - x0) * C, ip, zp, (size_t)(tb - ta) * C, wp, L);
            } else {
              for (int x = ta; x < tb; x++) {
                const uint8_t *restrict ip =
                    in_row + (size_t)(x * g->stride - g->pad_left + kx) * C;
                int32_t *restrict op = acc + (size_t)(x - x0) * C;
                for (int c = 0; c < C; c++) op[c] += ((int32_t)ip[c] - zp) * wp[c];
              }
            }
          }
        }
      }
      requantize_row(acc, (x1 - x0) * C, rq, out + (size_t)y * row_len + (size_t)x0 * C);
    }
  }
}

/* ---- uint8 GEMM tile on vpmaddwd (AVX2; AVX-512 without VNNI) --------------
 * Weights packed MN_U8_PACK_I16X2: pairs of k as int16 (q - w_zp); A bytes are
 * widened to int16 once per 64 k in a small buffer, and each pair of a row
 * is broadcast from it as one 32-bit value. vpmaddwd multiplies the pairs
 * and adds them into int32 (|a w| <= 255 * 255: no overflow), exactly:
 *   sum a (w - w_zp) - a_zp sum (w - w_zp) + bias = sum (a - a_zp)(w - w_zp) + bias
 * with the last two terms in the panel's column constants. */
#if (VW == 8 && defined(__AVX2__)) || (VW == 16 && defined(__AVX512BW__) && !defined(__AVX512VNNI__))
#define U8_MADD_GEMM 1
#if VW == 16
typedef __m512i vmi;
#define MADD_ROWS 8
#define MADD_NAME CAT(mn_u8_gemm_8x32c2__, MN_ISA)
#define VMI_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define VMI_BCAST32(p) _mm512_set1_epi32(load_i32(p))
#define VMI_ZERO() _mm512_setzero_si512()
#define VMI_MADD(a, b) _mm512_madd_epi16(a, b)
#define VMI_ADD(a, b) _mm512_add_epi32(a, b)
#define VMI_WIDEN16(dst, src) \
  _mm512_store_si512((void *)(dst), _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(src))))
#define VMI_REQUANT_STORE(dst, v, rq) _mm_storeu_si128((__m128i *)(dst), mn_requantize16_avx512(v, rq))
#define VMI_REQUANT_STORE_FP32(dst, v, sc, rq) \
  _mm_storeu_si128((__m128i *)(dst), mn_requantize16_avx512_fp32(v, sc, rq))
#else
typedef __m256i vmi;
#define MADD_ROWS 6
#define MADD_NAME CAT(mn_u8_gemm_6x16c2__, MN_ISA)
#define VMI_LOAD(p) _mm256_loadu_si256((const __m256i *)(p))
#define VMI_BCAST32(p) _mm256_set1_epi32(load_i32(p))
#define VMI_ZERO() _mm256_setzero_si256()
#define VMI_MADD(a, b) _mm256_madd_epi16(a, b)
#define VMI_ADD(a, b) _mm256_add_epi32(a, b)
#define VMI_WIDEN16(dst, src) \
  _mm256_store_si256((__m256i *)(dst), _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(src))))
#define VMI_REQUANT_STORE(dst, v, rq) _mm_storel_epi64((__m128i *)(dst), mn_requantize8_avx2(v, rq))
#define VMI_REQUANT_STORE_FP32(dst, v, sc, rq) \
  _mm_storel_epi64((__m128i *)(dst), mn_requantize8_avx2_fp32(v, sc, rq))
#endif
#define MADD_NR (2 * VW) /* two vectors of int32 per row */
static inline int32_t load_i32(const void *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}
#define MADD_KC 64       /* k values widened per step */

void MADD_NAME(int mr, int nc, int k, const uint8_t *a, size_t a_stride, const void *panel_v,
               uint8_t *c, size_t c_stride, const mn_requant *rq_in);
void MADD_NAME(int mr, int nc, int k, const uint8_t *a, size_t a_stride, const void *panel_v,
               uint8_t *c, size_t c_stride, const mn_requant *rq_in) {
  const mn_requant rq_copy = *rq_in, *rq = &rq_copy; /* see requantize_row */
  const uint8_t *ap[MADD_ROWS];
  for (int i = 0; i < MADD_ROWS; i++) ap[i] = a + (size_t)(i < mr ? i : mr - 1) * a_stride;
  const int32_t *colc = panel_v;
  const int16_t *w = (const int16_t *)(colc + MADD_NR);
  vmi acc[MADD_ROWS][2];
  for (int i = 0; i < MADD_ROWS; i++) acc[i][0] = acc[i][1] = VMI_ZERO();
  int16_t wide[MADD_ROWS][MADD_KC] __attribute__((aligned(64)));
  for (int k0 = 0; k0 < k; k0 += MADD_KC) {
    const int kc = k - k0 < MADD_KC ? k - k0 : MADD_KC;
    for (int i = 0; i < MADD_ROWS; i++) {
      if (kc == MADD_KC) {
        for (int q = 0; q < MADD_KC; q += VW * 2) VMI_WIDEN16(&wide[i][q], ap[i] + k0 + q);
      } else { /* the tail: never read past the row; the odd slot meets zero weights */
        for (int q = 0; q < kc; q++) wide[i][q] = ap[i][k0 + q];
        wide[i][kc] = 0;
      }
    }
    const int pairs = (kc + 1) / 2;
    for (int pi = 0; pi < pairs; pi++) {
      const vmi w0 = VMI_LOAD(w), w1 = VMI_LOAD(w + 2 * VW);
      w += 2 * MADD_NR;
      _Pragma("GCC unroll 8") for (int i = 0; i < MADD_ROWS; i++) {
        const vmi av = VMI_BCAST32(&wide[i][2 * pi]);
        acc[i][0] = VMI_ADD(acc[i][0], VMI_MADD(av, w0));
        acc[i][1] = VMI_ADD(acc[i][1], VMI_MADD(av, w1));
      }
    }
  }
  const vmi c0 = VMI_LOAD(colc), c1 = VMI_LOAD(colc + VW);
  for (int i = 0; i < mr; i++) {
    uint8_t q[MADD_NR];
    if (rq->scales) { /* float multipliers, one per column */
      VMI_REQUANT_STORE_FP32(q, VMI_ADD(acc[i][0], c0), rq->scales, rq);
      if (nc > VW) VMI_REQUANT_STORE_FP32(q + VW, VMI_ADD(acc[i][1], c1), rq->scales + VW, rq);
    } else {
      VMI_REQUANT_STORE(q, VMI_ADD(acc[i][0], c0), rq);
      if (nc > VW) VMI_REQUANT_STORE(q + VW, VMI_ADD(acc[i][1], c1), rq);
    }
    memcpy(c + (size_t)i * c_stride, q, (size_t)nc);
  }
}
#endif

/* ---- uint8 GEMM tile: up to MN_U8_GEMM_MR rows x MN_U8_GEMM_NR columns ----
 * int32 products, the portable path (levels without VNNI). */
#define MN_U8_GEMM_MR 4
#define MN_U8_GEMM_NR 16

#define UNV (MN_U8_GEMM_NR / VW)

#define U8_GEMM_NAME CAT(CAT(CAT(mn_u8_gemm_, MN_U8_GEMM_MR), x16__), MN_ISA)
void U8_GEMM_NAME(int mr, int nc, int k, const uint8_t *a, size_t a_stride, const void *panel_v,
                  uint8_t *c, size_t c_stride, const mn_requant *rq);
void U8_GEMM_NAME(int mr, int nc, int k, const uint8_t *a, size_t a_stride, const void *panel_v,
                  uint8_t *c, size_t c_stride, const mn_requant *rq) {
  const int32_t *panel = panel_v;
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

/* ---- float input from bytes ------------------------------------------------
 * q = (v - 127.5) * (1 / 127.5) is off by one ulp for half the bytes; one
 * correction step with an exact residual (fused multiply-add) gives the
 * correctly rounded quotient for every byte (tests/test_kernels.c checks
 * all 256). Without FMA hardware the division itself is used. */

static void f32_from_u8(const uint8_t *in, size_t n, float *out) {
  size_t i = 0;
#if defined(__FMA__) && (VW == 16 || VW == 8)
  /* written out: GCC 12 turns a byte-to-float vector conversion into scalar code */
#if VW == 16
#define LOAD_BYTES_AS_F32(p) (vf) _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p))))
#define FNMADD(a, b, c) (vf) _mm512_fnmadd_ps((__m512)(a), (__m512)(b), (__m512)(c))
#define FMADD(a, b, c) (vf) _mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c))
#else
#define LOAD_BYTES_AS_F32(p) (vf) _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p))))
#define FNMADD(a, b, c) (vf) _mm256_fnmadd_ps((__m256)(a), (__m256)(b), (__m256)(c))
#define FMADD(a, b, c) (vf) _mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c))
#endif
  const vf r = (vf){0} + 1.0f / 127.5f, c = (vf){0} + 127.5f;
  for (; i + VW <= n; i += VW) {
    const vf d = LOAD_BYTES_AS_F32(in + i) - c;
    const vf q = d * r;
    /* d - q * 127.5 is exact in one rounding: q is within an ulp of d / 127.5 */
    const vf res = FNMADD(q, c, d);
    *(vf_u *)(out + i) = FMADD(res, r, q);
  }
#undef LOAD_BYTES_AS_F32
#undef FNMADD
#undef FMADD
#endif
  for (; i < n; i++) out[i] = ((float)in[i] - 127.5f) / 127.5f;
}

/* ---- softmax ---------------------------------------------------------------
 * exp in float vectors (Cephes' expf: exp(x) = 2^n exp(r), |r| <= ln2 / 2,
 * degree-6 polynomial, ~1 ulp); the sum in double. Within 1e-6 relative of
 * the double-precision reference (tests/test_kernels.c). */
static inline vf select_vf(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); }

static inline vf exp_vf(vf x) {
  /* 2^n stays normal: anything below gives e^-87 (1.6e-38), 0 in all but name */
  x = select_vf(x < -87.0f, (vf){0} - 87.0f, x);
  x = select_vf(x > 88.0f, (vf){0} + 88.0f, x);
  const vf magic = (vf){0} + 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
  const vf n = (x * 1.44269504088896341f + magic) - magic;
  const vf r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  vf p = (vf){0} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const vi e = (__builtin_convertvector(n, vi) + 127) << 23;
  return p * (vf)e;
}

static void f32_softmax(const float *in, int n, float beta, float *out) {
  float mx = in[0];
  for (int i = 1; i < n; i++) mx = in[i] > mx ? in[i] : mx;
  double sum = 0.0;
  int i = 0;
  for (; i + VW <= n; i += VW) {
    const vf v = exp_vf(((*(const vf_u *)(in + i)) - mx) * beta);
    *(vf_u *)(out + i) = v;
    for (int j = 0; j < VW; j++) sum += v[j];
  }
  for (; i < n; i++) sum += out[i] = (float)exp((double)beta * (in[i] - mx));
  const float inv = (float)(1.0 / sum);
  for (i = 0; i + VW <= n; i += VW) *(vf_u *)(out + i) = *(const vf_u *)(out + i) * inv;
  for (; i < n; i++) out[i] *= inv;
}

/* ---- uint8 layers in exact float arithmetic ------------------------------- */

static void f32_from_u8_minus(const uint8_t *in, size_t n, int32_t zp, float *out) {
  size_t i = 0;
#if VW == 16 && defined(__AVX512F__)
  const __m512i vz = _mm512_set1_epi32(zp);
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, _mm512_cvtepi32_ps(_mm512_sub_epi32(
                                  _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(in + i))), vz)));
#elif VW == 8 && defined(__AVX2__)
  const __m256i vz = _mm256_set1_epi32(zp);
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtepi32_ps(_mm256_sub_epi32(
                                  _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(in + i))), vz)));
#endif
  for (; i < n; i++) out[i] = (float)((int32_t)in[i] - zp);
}

/* acc holds integers below 2^24 in magnitude (the caller checks), so the
 * conversion to int32 is exact and the bytes are those of the int32 path. */
static void u8_requantize_f32(const float *acc, size_t n, const mn_requant *rq_in, uint8_t *out) {
  const mn_requant rq_copy = *rq_in, *rq = &rq_copy; /* see requantize_row */
  int32_t buf[256];
  /* float multipliers repeat with their period: chunks start at channel 0 */
  const size_t chunk = rq->scales ? (size_t)(256 / rq->period * rq->period) : 256;
  for (size_t i0 = 0; i0 < n; i0 += chunk) {
    const int m = n - i0 < chunk ? (int)(n - i0) : (int)chunk;
    int j = 0;
    for (; j + VW <= m; j += VW)
      *(vi_u *)(buf + j) = __builtin_convertvector(*(const vf_u *)(acc + i0 + j), vi);
    for (; j < m; j++) buf[j] = (int32_t)acc[i0 + j];
    requantize_row(buf, m, rq, out + i0);
  }
}

/* ---- elementwise ------------------------------------------------------------ */

static void f32_unary(mn_unary op, const float *in, size_t n, float *out) {
  const vf zero = (vf){0}, six = zero + 6.0f, one = zero + 1.0f;
  size_t i = 0;
  switch (op) {
    case MN_UNARY_HARD_SWISH:
      for (; i + VW <= n; i += VW) {
        const vf x = *(const vf_u *)(in + i);
        *(vf_u *)(out + i) = x * clamp_vf(x * (1.0f / 6.0f) + 0.5f, zero, one);
      }
      break;
    case MN_UNARY_RELU:
      for (; i + VW <= n; i += VW) {
        const vf x = *(const vf_u *)(in + i);
        *(vf_u *)(out + i) = select_vf(x < zero, zero, x);
      }
      break;
    case MN_UNARY_RELU6:
      for (; i + VW <= n; i += VW) *(vf_u *)(out + i) = clamp_vf(*(const vf_u *)(in + i), zero, six);
      break;
    default:
      break;
  }
  mn_f32_unary_ref(op, in + i, n - i, out + i);
}

static void u8_lut(const uint8_t *in, size_t n, const uint8_t lut[256], uint8_t *out) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    out[i] = lut[in[i]], out[i + 1] = lut[in[i + 1]];
    out[i + 2] = lut[in[i + 2]], out[i + 3] = lut[in[i + 3]];
  }
  for (; i < n; i++) out[i] = lut[in[i]];
}

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
        c[v * (W) + j] = x < lo ? lo : x > hi ? hi : x;                                         \
      }                                                                                         \
    }                                                                                           \
  }
DEFINE_GEMV(f32_gemv_1v, vf, vf_u, VW, 1)
DEFINE_GEMV(f32_gemv_2v, vf, vf_u, VW, 2)
DEFINE_GEMV(f32_gemv_4v, vf, vf_u, VW, 4)
DEFINE_GEMV(f32_gemv_8, vf8, vf8_u, 8, 1)

static void f32_gemv(int nc, int k, const float *a, const float *panel, int nr, float *c, float lo,
                     float hi) {
  if (nr == VW) f32_gemv_1v_n(nc, k, a, panel, nr, c, lo, hi);
  else if (nr == 2 * VW) f32_gemv_2v_n(nc, k, a, panel, nr, c, lo, hi);
  else if (nr == 4 * VW) f32_gemv_4v_n(nc, k, a, panel, nr, c, lo, hi);
  else if (nr == 8) f32_gemv_8_n(nc, k, a, panel, nr, c, lo, hi);
  else
    for (int j0 = 0; j0 < nr; j0 += 8) /* other panel widths: 8 columns at a time is not */
      for (int j = j0; j < j0 + 8 && j < nc; j++) { /* laid out for: plain sums */
        float acc = panel[j];
        for (int q = 0; q < k; q++) acc += panel[(size_t)(q + 1) * nr + j] * a[q];
        c[j] = acc < lo ? lo : acc > hi ? hi : acc;
      }
}

/* Binary operators in whole vectors: plain loops the compiler vectorises at
 * the level's width (no modulo: a per-channel operand repeats per pixel). */
#define F32_BINARY_LOOPS(EXPR)                                                                  \
  do {                                                                                          \
    if (period == 0) {                                                                          \
      for (size_t i = 0; i < n; i++) {                                                          \
        const float x = a[i], y = b[i], v = (EXPR);                                             \
        out[i] = v < lo ? lo : v > hi ? hi : v;                                                 \
      }                                                                                         \
    } else if (period == 1) {                                                                   \
      const float y = b[0];                                                                     \
      for (size_t i = 0; i < n; i++) {                                                          \
        const float x = a[i], v = (EXPR);                                                       \
        out[i] = v < lo ? lo : v > hi ? hi : v;                                                 \
      }                                                                                         \
    } else {                                                                                    \
      for (size_t p = 0; p < n; p += (size_t)period)                                            \
        for (int c = 0; c < period; c++) {                                                     \
          const float x = a[p + c], y = b[c], v = (EXPR);                                       \
          out[p + c] = v < lo ? lo : v > hi ? hi : v;                                           \
        }                                                                                       \
    }                                                                                           \
  } while (0)

static void f32_binary(mn_binary op, const float *restrict a, const float *restrict b, size_t n,
                       int period, float lo, float hi, float *restrict out) {
  if (op == MN_BINARY_ADD) F32_BINARY_LOOPS(x + y);
  else if (op == MN_BINARY_SUB) F32_BINARY_LOOPS(x - y);
  else F32_BINARY_LOOPS(x * y);
}

/* mn_q8_binary_ref in vectors: int32 lanes for ADD / SUB (the products fit:
 * |q mult| < 2^29), float lanes for MUL with rounding half to even by the
 * magic number 1.5 * 2^23 (|v| <= 255). */
static inline uint8_t q8_add1(int32_t acc, uint32_t shift, int32_t zp, int32_t qmin, int32_t qmax) {
  int32_t v = (acc >> shift) + zp;
  v = v < qmin ? qmin : v;
  return (uint8_t)(v > qmax ? qmax : v);
}

static inline uint8_t q8_mul1(int32_t prod, float scale, float flo, float fhi, int32_t zp) {
  float f = (float)prod * scale;
  f = f < flo ? flo : f;
  f = f > fhi ? fhi : f;
  const float r = (f + 12582912.0f) - 12582912.0f;
  return (uint8_t)((int32_t)r + zp);
}

static void u8_binary(const mn_q8_binary *pp, const uint8_t *restrict a, const uint8_t *restrict b,
                      size_t n, int period, uint8_t *restrict out) {
  const mn_q8_binary p = *pp;
  const float flo = (float)(p.qmin - p.out_zp), fhi = (float)(p.qmax - p.out_zp);
  if (p.op == MN_BINARY_MUL) {
    if (period == 0)
      for (size_t i = 0; i < n; i++)
        out[i] = q8_mul1((a[i] - p.a_zp) * (b[i] - p.b_zp), p.scale, flo, fhi, p.out_zp);
    else if (period == 1)
      for (size_t i = 0; i < n; i++)
        out[i] = q8_mul1((a[i] - p.a_zp) * (b[0] - p.b_zp), p.scale, flo, fhi, p.out_zp);
    else
      for (size_t q = 0; q < n; q += (size_t)period)
        for (int c = 0; c < period; c++)
          out[q + c] = q8_mul1((a[q + c] - p.a_zp) * (b[c] - p.b_zp), p.scale, flo, fhi, p.out_zp);
    return;
  }
  if (period == 0)
    for (size_t i = 0; i < n; i++)
      out[i] = q8_add1(p.bias + a[i] * p.a_mult + b[i] * p.b_mult, p.shift, p.out_zp, p.qmin, p.qmax);
  else if (period == 1) {
    const int32_t bias = p.bias + b[0] * p.b_mult;
    for (size_t i = 0; i < n; i++)
      out[i] = q8_add1(bias + a[i] * p.a_mult, p.shift, p.out_zp, p.qmin, p.qmax);
  } else {
    for (size_t q = 0; q < n; q += (size_t)period)
      for (int c = 0; c < period; c++)
        out[q + c] = q8_add1(p.bias + a[q + c] * p.a_mult + b[c] * p.b_mult, p.shift, p.out_zp,
                             p.qmin, p.qmax);
  }
}

const mn_kernels ISA_NAME(mn_kernels) = {
    .isa = CAT(MN_ISA_, MN_ISA_ENUM),
    .f32_gemm = {STR(GEMM_NAME), MR, NR, GEMM_NAME, GEMM_ROW_NAME},
    .f32_gemm_narrow = {STR(GEMM_NARROW_NAME), MN_GEMM_NARROW_MR, 8, GEMM_NARROW_NAME,
                        GEMM_NARROW_ROW_NAME},
    .f32_gemm_mid = GEMM_MID,
    .f32_conv1p_for = f32_conv1p_for,
    .f32_dwconv = f32_dwconv,
    .u8_dwconv = u8_dwconv,
#if defined(__AVX512VNNI__)
    .u8_gemm = {"mn_u8_gemm_8x32c4__avx512vnni", 8, 32, MN_U8_PACK_S8X4,
                mn_u8_gemm_8x32c4__avx512vnni},
#elif defined(U8_MADD_GEMM)
    .u8_gemm = {STR(MADD_NAME), MADD_ROWS, MADD_NR, MN_U8_PACK_I16X2, MADD_NAME},
#else
    .u8_gemm = {STR(U8_GEMM_NAME), MN_U8_GEMM_MR, MN_U8_GEMM_NR, MN_U8_PACK_I32, U8_GEMM_NAME},
#endif
    .f32_from_u8 = f32_from_u8,
    .f32_softmax = f32_softmax,
    .f32_from_u8_minus = f32_from_u8_minus,
    .u8_requantize_f32 = u8_requantize_f32,
    .f32_unary = f32_unary,
    .u8_lut = u8_lut,
    .f32_gemv = f32_gemv,
    .f32_binary = f32_binary,
    .u8_binary = u8_binary,
};
