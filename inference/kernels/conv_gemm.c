/* conv_gemm.c: KxK convolutions as im2col + GEMM, and the periodic layout of
 * depthwise weights. A chunk of output pixels is unfolded into rows of
 * kh*kw*in_c values on the stack, then multiplied by the packed weights with
 * the level's GEMM micro-kernel; so the first layer (3 input channels) runs
 * at GEMM speed instead of in short, branchy loops. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#define PATCH_VALUES 8192 /* stack budget of one chunk (32 KiB of float) */

static int gcd(int a, int b) {
  while (b) {
    int t = a % b;
    a = b, b = t;
  }
  return a;
}

int mn_dw_period(int c) { return c / gcd(c, 16) * 16; }

void mn_f32_dw_pack(int kh, int kw, int c, const float *w, const float *bias, float *packed) {
  const int L = mn_dw_period(c), taps = kh * kw;
  for (int t = 0; t < taps; t++)
    for (int j = 0; j < L; j++) packed[(size_t)t * L + j] = w[(size_t)t * c + j % c];
  for (int j = 0; j < L; j++) packed[(size_t)taps * L + j] = bias ? bias[j % c] : 0.0f;
}

int mn_dw_padded_ok(const mn_conv_geom *g) {
  return (g->kw == 3 || g->kw == 5 || g->kw == 7) && g->kh >= 1 && g->kh <= 7 &&
         (g->stride == 1 || g->stride == 2) && g->in_c % 8 == 0 && g->out_c == g->in_c &&
         g->pad_left >= 0 && g->pad_top >= 0 && g->out_w >= 1;
}

/* Wide enough for the input after pad_left zero columns and for the last
 * output's window. */
static int padded_cols(const mn_conv_geom *g) {
  const int a = g->pad_left + g->in_w, b = (g->out_w - 1) * g->stride + g->kw;
  return a > b ? a : b;
}

size_t mn_dw_padded_row(const mn_conv_geom *g) { return (size_t)padded_cols(g) * g->in_c; }

void mn_f32_dw_pad_rows(const mn_conv_geom *g, const float *in, float *padded, int r0, int r1) {
  const size_t C = (size_t)g->in_c, left = (size_t)g->pad_left * C, row = (size_t)g->in_w * C;
  const size_t prow = mn_dw_padded_row(g);
  for (int r = r0; r < r1; r++) {
    float *p = padded + (size_t)r * prow;
    memset(p, 0, left * sizeof *p);
    memcpy(p + left, in + (size_t)r * row, row * sizeof *p);
    memset(p + left + row, 0, (prow - left - row) * sizeof *p);
  }
}

void mn_u8_dw_pad_rows(const mn_conv_geom *g, const uint8_t *in, uint8_t zp, uint8_t *padded,
                       int r0, int r1) {
  const size_t C = (size_t)g->in_c, left = (size_t)g->pad_left * C, row = (size_t)g->in_w * C;
  const size_t prow = mn_dw_padded_row(g);
  for (int r = r0; r < r1; r++) {
    uint8_t *p = padded + (size_t)r * prow;
    memset(p, zp, left);
    memcpy(p + left, in + (size_t)r * row, row);
    memset(p + left + row, zp, prow - left - row);
  }
}

void mn_u8_dw_pack(int kh, int kw, int c, const uint8_t *w, int32_t w_zp, const int32_t *bias,
                   int32_t *packed) {
  const int L = mn_dw_period(c), taps = kh * kw;
  for (int t = 0; t < taps; t++)
    for (int j = 0; j < L; j++)
      packed[(size_t)t * L + j] = (int32_t)w[(size_t)t * c + j % c] - w_zp;
  for (int j = 0; j < L; j++) packed[(size_t)taps * L + j] = bias ? bias[j % c] : 0;
}

/* Unfolds output pixels [p0, p0 + n) (row-major over the output) into
 * patch rows; cells in the padding get pad. The kw taps of one kernel row
 * are contiguous in the input, so an interior kernel row is one copy of
 * kw * in_c values (loops, not memcpy: they are short). */
#define DEFINE_IM2COL(NAME, T)                                                                  \
  static void NAME(const mn_conv_geom *g, const T *in, int p0, int n, T pad, T *patch) {        \
    const int K = g->kh * g->kw * g->in_c, ic = g->in_c, span = g->kw * ic;                     \
    int y = p0 / g->out_w, x = p0 % g->out_w;                                                   \
    for (int p = 0; p < n; p++) {                                                               \
      T *row = patch + (size_t)p * K;                                                           \
      const int ix0 = x * g->stride - g->pad_left;                                              \
      const int inside = ix0 >= 0 && ix0 + g->kw <= g->in_w;                                    \
      for (int ky = 0; ky < g->kh; ky++) {                                                      \
        const int iy = y * g->stride - g->pad_top + ky;                                         \
        T *dst = row + ky * span;                                                               \
        if (iy < 0 || iy >= g->in_h) {                                                          \
          for (int c = 0; c < span; c++) dst[c] = pad;                                          \
          continue;                                                                             \
        }                                                                                       \
        const T *in_row = in + (size_t)iy * g->in_w * ic;                                       \
        if (inside) {                                                                           \
          const T *src = in_row + (size_t)ix0 * ic;                                             \
          if (span == 9) /* 3x3 over RGB, the first layer: a fixed-size copy, inlined */        \
            memcpy(dst, src, 9 * sizeof(T));                                                    \
          else                                                                                  \
            for (int c = 0; c < span; c++) dst[c] = src[c];                                     \
          continue;                                                                             \
        }                                                                                       \
        for (int kx = 0; kx < g->kw; kx++) {                                                    \
          const int ix = ix0 + kx;                                                              \
          if (ix < 0 || ix >= g->in_w)                                                          \
            for (int c = 0; c < ic; c++) dst[kx * ic + c] = pad;                                \
          else                                                                                  \
            for (int c = 0; c < ic; c++) dst[kx * ic + c] = in_row[(size_t)ix * ic + c];       \
        }                                                                                       \
      }                                                                                         \
      if (++x == g->out_w) x = 0, y++;                                                          \
    }                                                                                           \
  }
DEFINE_IM2COL(im2col_f32, float)
DEFINE_IM2COL(im2col_u8, uint8_t)

void mn_f32_conv_gemm(const mn_f32_gemm *gemm, const mn_conv_geom *g, const float *in,
                      const float *packed, float *out, float lo, float hi, int y0, int y1) {
  const int K = g->kh * g->kw * g->in_c;
  float patch[PATCH_VALUES];
  int chunk = PATCH_VALUES / K;
  if (chunk < 1) chunk = 1; /* K > 8192 is refused at load */
  for (int p = y0 * g->out_w; p < y1 * g->out_w; p += chunk) {
    int n = y1 * g->out_w - p < chunk ? y1 * g->out_w - p : chunk;
    im2col_f32(g, in, p, n, 0.0f, patch);
    mn_f32_gemm_run(gemm, n, g->out_c, K, patch, (size_t)K, packed, out + (size_t)p * g->out_c,
                    (size_t)g->out_c, lo, hi, 0, 1);
  }
}

void mn_u8_conv_gemm(const mn_u8_gemm *gemm, const mn_conv_geom *g, const uint8_t *in,
                     const void *packed, uint8_t *out, const mn_requant *rq, int y0, int y1) {
  const int K = g->kh * g->kw * g->in_c;
  uint8_t patch[PATCH_VALUES];
  int chunk = PATCH_VALUES / K;
  if (chunk < 1) chunk = 1;
  /* Padding holds the input zero point: it contributes (zp - zp) = 0. */
  for (int p = y0 * g->out_w; p < y1 * g->out_w; p += chunk) {
    int n = y1 * g->out_w - p < chunk ? y1 * g->out_w - p : chunk;
    im2col_u8(g, in, p, n, (uint8_t)rq->in_zp, patch);
    mn_u8_gemm_run(gemm, n, g->out_c, K, patch, (size_t)K, packed, out + (size_t)p * g->out_c,
                   (size_t)g->out_c, rq, 0, 1);
  }
}

/* ---- uint8 KxK convolution in exact float arithmetic ----------------------
 * (a - a_zp) and (w - w_zp) are integers within +-255: when k * 255^2 plus
 * the largest bias stays below 2^24, every product and partial sum is an
 * integer float represents exactly, the float accumulator equals the int32
 * one, and the float direct convolution (few input channels: the first
 * layer) gives the integer result bit for bit. */
int mn_u8_conv_f32_exact(int oc, int k, const int32_t *bias) {
  if (oc > 512) return 0; /* mn_u8_conv_direct_f32 stages >= 16 pixels in 32 KiB */
  long long most = 0;
  for (int o = 0; bias && o < oc; o++) most = llabs(bias[o]) > most ? llabs(bias[o]) : most;
  return most + (long long)k * 255 * 255 < (1LL << 24);
}

void mn_u8_conv_f32_pack(int oc, int k, int nr, const uint8_t *w_nk, int32_t w_zp,
                         const int32_t *bias, float *wf_scratch, float *packed) {
  float *bf = wf_scratch + (size_t)oc * k; /* the scratch holds oc * (k + 1) floats */
  for (size_t i = 0; i < (size_t)oc * k; i++) wf_scratch[i] = (float)((int32_t)w_nk[i] - w_zp);
  for (int o = 0; o < oc; o++) bf[o] = bias ? (float)bias[o] : 0.0f;
  mn_f32_gemm_pack(oc, k, nr, wf_scratch, bf, packed);
}

/* Up to 32 KiB of output pixels at a time in float, then requantized; a
 * pixel range is the same convolution with the padding moved by its origin. */
void mn_u8_conv_direct_f32(const mn_kernels *kern, mn_f32_conv1p_fn conv1p, const float *packed,
                           const mn_conv_geom *g, const float *in_f32, const mn_requant *rq,
                           uint8_t *out, int y0, int y1) {
  float staged[8192];
  const int C = g->out_c;
  int chunk = (int)(sizeof staged / sizeof staged[0]) / C; /* >= 16 */
  chunk -= chunk >= 24 ? chunk % 12 : 0;                    /* whole pixel groups */
  /* whole rows, as many as fit (the kernel reuses input rows between output
   * rows), else pixel ranges of one row */
  const int rows = chunk >= g->out_w ? chunk / g->out_w : 1;
  for (int y = y0; y < y1; y += rows)
    for (int x0 = 0; x0 < g->out_w; x0 += chunk) {
      mn_conv_geom part = *g;
      part.out_h = y1 - y < rows ? y1 - y : rows;
      part.out_w = g->out_w - x0 < chunk ? g->out_w - x0 : chunk;
      part.pad_top = g->pad_top - y * g->stride;
      part.pad_left = g->pad_left - x0 * g->stride;
      conv1p(&part, in_f32, packed, staged, -INFINITY, INFINITY, 0, part.out_h);
      for (int r = 0; r < part.out_h; r++)
        kern->u8_requantize_f32(staged + (size_t)r * part.out_w * C, (size_t)part.out_w * C, rq,
                                out + ((size_t)(y + r) * g->out_w + (size_t)x0) * C);
    }
}
