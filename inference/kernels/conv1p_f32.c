/* conv1p_f32.c: float32 KxK convolution with few input channels (the first layer), direct on the packed GEMM panels. */
#include "simd.h"

/* ---- float32 KxK convolution with few input channels (the first layer) ----
 * Reads the packed GEMM panels directly, without im2col: per panel of OC
 * output channels, PX output pixels at a time, each tap's weight vectors
 * loaded once for the PX, inputs broadcast straight from the image rows.
 * Pixels whose window reaches into the padding go through a zero-padded
 * patch and the same vector code. The group body is always inlined and
 * instantiated for the shape every MobileNet starts with (3x3, 3 channels,
 * stride 2) so that its 27 taps and pixel offsets are constants. */

/* Clamps PX x NVEC accumulators (or applies a fused hard-swish: an empty
 * range, vlo > vhi) and stores pixel j at o + j * ostride: whole vectors
 * when the panel is full (nc == OC), else the first nc values. */
#define CONV1P_CLAMP(VT, IT, x, lo, hi)                                                         \
  ({                                                                                            \
    VT t_ = (x);                                                                                \
    IT m_ = t_ < (lo);                                                                          \
    t_ = (VT)(((IT)t_ & ~m_) | ((IT)(lo) & m_));                                                \
    m_ = t_ > (hi);                                                                             \
    (VT)(((IT)t_ & ~m_) | ((IT)(hi) & m_));                                                     \
  })
#define CONV1P_STORE(VT, VTU, IT, W, NVEC, PX, acc, o, ostride, nc, vlo, vhi)                    \
  do {                                                                                          \
    const int hs_ = vlo[0] > vhi[0]; /* hard-swish: a * clamp(a / 6 + 1/2, 0, 1) */            \
    _Pragma("GCC unroll 16") for (int j = 0; j < (PX); j++) {                                   \
      VT r_[NVEC];                                                                              \
      if (hs_)                                                                                  \
        _Pragma("GCC unroll 8") for (int v = 0; v < (NVEC); v++)                                \
          r_[v] = acc[j][v] * CONV1P_CLAMP(VT, IT, acc[j][v] * (1.0f / 6.0f) + 0.5f, (VT){0},    \
                                           (VT){0} + 1.0f);                                     \
      else                                                                                      \
        _Pragma("GCC unroll 8") for (int v = 0; v < (NVEC); v++)                                \
          r_[v] = CONV1P_CLAMP(VT, IT, acc[j][v], vlo, vhi);                                    \
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
      if (lo > hi) /* a fused hard-swish */
        for (int o = 0; o < 8; o++) {
          const __m512 t = _mm512_fmadd_ps(acc[o], _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f));
          acc[o] = _mm512_mul_ps(acc[o], _mm512_min_ps(_mm512_max_ps(t, _mm512_setzero_ps()),
                                                       _mm512_set1_ps(1.0f)));
        }
      else
        for (int o = 0; o < 8; o++) acc[o] = _mm512_min_ps(_mm512_max_ps(acc[o], vlo), vhi);
      const int n = g->out_w - j0 < 16 ? g->out_w - j0 : 16;
      transpose8x16_store(acc, orow + (size_t)j0 * 8, n);
    }
  }
}
#endif

/* The direct convolution for weights packed in panels of nr columns (any
 * out_c), or NULL when the layer must go through im2col. */
mn_f32_conv1p_fn k_f32_conv1p_for(int out_c, int nr) {
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
