/* dwconv_f32.c: float32 depthwise convolution: 3x3 interior paths, KxK (5x5), borders. */
#include "simd.h"

DEFINE_DW_TAPS(f32_dw_taps, float, float)

/* One output pixel at the borders, any window up to 7x7, all channels: the
 * taps inside the input gathered first, then channel vectors. */
static void f32_dw_edge(const mn_conv_geom *g, const float *in, const float *w, int L, int x,
                        int y, float *restrict o, float lo, float hi) {
  const int C = g->in_c;
  const float *p[DW_MAX_TAPS], *wt[DW_MAX_TAPS];
  const int n = f32_dw_taps(g, in, w, L, x, y, p, wt);
  const float *bias = w + (size_t)g->kh * g->kw * L;
  const vf vlo = (vf){0} + lo, vhi = (vf){0} + hi;
  int c = 0;
  for (; c + VW <= C; c += VW) {
    vf acc = *(const vf_u *)(bias + c);
    for (int t = 0; t < n; t++) acc += *(const vf_u *)(p[t] + c) * *(const vf_u *)(wt[t] + c);
    *(vf_u *)(o + c) = act_vf(acc, vlo, vhi, lo > hi);
  }
#if VW > 8
  if (c + 8 <= C) { /* 8 channels left (8- and 24-channel layers) */
    vf8 acc = *(const vf8_u *)(bias + c);
    for (int t = 0; t < n; t++) acc += *(const vf8_u *)(p[t] + c) * *(const vf8_u *)(wt[t] + c);
    const vf8 vlo8 = (vf8){0} + lo, vhi8 = (vf8){0} + hi;
    *(vf8_u *)(o + c) = lo > hi ? hswish_vf8(acc) : clamp_vf8(acc, vlo8, vhi8);
    c += 8;
  }
#endif
  for (; c < C; c++) {
    float acc = bias[c];
    for (int t = 0; t < n; t++) acc += p[t][c] * wt[t][c];
    o[c] = mn_f32_act(acc, lo, hi);
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
  const int hs = lo > hi;
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
      *(vf_u *)o = act_vf(F32_TAPS(p0, p1, p2, C), vlo, vhi, hs);
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
  const int hs = lo > hi;
  const size_t i0 = (size_t)xa * C, n = (size_t)(xb - xa) * C, full = n / VW * VW;
  for (int jv = 0; jv < L; jv += VW) {
    const vf w0 = *(const vf_u *)(w + 0 * L + jv), w1 = *(const vf_u *)(w + 1 * L + jv),
             w2 = *(const vf_u *)(w + 2 * L + jv), w3 = *(const vf_u *)(w + 3 * L + jv),
             w4 = *(const vf_u *)(w + 4 * L + jv), w5 = *(const vf_u *)(w + 5 * L + jv),
             w6 = *(const vf_u *)(w + 6 * L + jv), w7 = *(const vf_u *)(w + 7 * L + jv),
             w8 = *(const vf_u *)(w + 8 * L + jv), b = *(const vf_u *)(w + 9 * L + jv);
    for (size_t i = (size_t)jv; i < full; i += (size_t)L) {
      const float *p0 = r0 + i0 + i, *p1 = r1 + i0 + i, *p2 = r2 + i0 + i;
      *(vf_u *)(out + i0 + i) = act_vf(F32_TAPS(p0, p1, p2, C), vlo, vhi, hs);
    }
  }
  for (size_t i = full; i < n; i++) { /* tail: fewer than VW values */
    const size_t j = i % (size_t)L, at = i0 + i;
    float acc = w[9 * L + j];
    for (int kx = 0; kx < 3; kx++)
      acc += r0[at + kx * C] * w[kx * L + j] + r1[at + kx * C] * w[(3 + kx) * L + j] +
             r2[at + kx * C] * w[(6 + kx) * L + j];
    out[at] = mn_f32_act(acc, lo, hi);
  }
}

/* ---- KxK depthwise (5x5 in v3), C a multiple of VW ---------------------------
 * Interior pixels: channel vectors outside; four output pixels at a time
 * keep their sums in registers over all kh x kw taps, each tap's weight
 * vector loaded once for the four. rows[ky] point at input column -pad_left
 * of the pixel row's input rows. */
static void f32_dwkxk_interior_cvec(const float *const *rows, int kh, int kw, int C, int L,
                                    int stride, int xa, int xb, const float *w,
                                    const float *bias, float *out, float lo, float hi) {
  const vf vlo = (vf){0} + lo, vhi = (vf){0} + hi;
  const int hs = lo > hi;
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
        *(vf_u *)(out + (size_t)(x + j) * C + cv) = act_vf(acc[j], vlo, vhi, hs);
    }
    for (; x < xb; x++) {
      vf acc = *(const vf_u *)(bias + cv);
      for (int ky = 0; ky < kh; ky++) {
        const float *r = rows[ky] + (size_t)x * step + cv;
        const float *wr = w + (size_t)ky * kw * L + cv;
        for (int kx = 0; kx < kw; kx++)
          acc += *(const vf_u *)(r + (size_t)kx * C) * *(const vf_u *)(wr + (size_t)kx * L);
      }
      *(vf_u *)(out + (size_t)x * C + cv) = act_vf(acc, vlo, vhi, hs);
    }
  }
}

/* ---- KxK depthwise on a horizontally padded input ---------------------------
 * The input rows copied with zero columns on both sides (mn_f32_dw_pad_rows)
 * have no left or right border: every pixel takes the register-blocked
 * path. P output pixels of one channel vector keep their sums in registers;
 * each input column of a kernel row is loaded once and meets the (up to KW)
 * weights of the outputs whose window covers it, so loads stay well below
 * the FMAs. KW, S and P are constants in every instance (full unrolling).
 * Each output is one FMA chain in (ky, kx) order, like the other paths. */
#define DEFINE_DWP_BLOCK(NAME, VT, VTU, CLAMP, HSWISH)                                                  \
  static inline __attribute__((always_inline)) void NAME(                                      \
      const float *const *rows, int nky, const float *w, int L, size_t C, const float *bias,    \
      float *o, VT vlo, VT vhi, int hs, const int KW, const int S, const int P) {               \
    VT acc[8];                                                                                  \
    const VT b = *(const VTU *)bias;                                                            \
    _Pragma("GCC unroll 8") for (int p = 0; p < P; p++) acc[p] = b;                             \
    for (int ky = 0; ky < nky; ky++) {                                                          \
      const float *r = rows[ky], *wr = w + (size_t)ky * KW * L;                                 \
      VT wv[7];                                                                                 \
      _Pragma("GCC unroll 7") for (int k = 0; k < KW; k++) wv[k] = *(const VTU *)(wr + (size_t)k * L); \
      _Pragma("GCC unroll 32") for (int j = 0; j < (P - 1) * S + KW; j++) {                     \
        const VT in = *(const VTU *)(r + (size_t)j * C);                                        \
        _Pragma("GCC unroll 8") for (int p = 0; p < P; p++) {                                   \
          const int k = j - p * S;                                                              \
          if (k >= 0 && k < KW) acc[p] += in * wv[k];                                           \
        }                                                                                       \
      }                                                                                         \
    }                                                                                           \
    if (hs)                                                                                     \
      _Pragma("GCC unroll 8") for (int p = 0; p < P; p++)                                       \
        *(VTU *)(o + (size_t)p * C) = HSWISH(acc[p]);                                           \
    else                                                                                        \
      _Pragma("GCC unroll 8") for (int p = 0; p < P; p++)                                       \
        *(VTU *)(o + (size_t)p * C) = CLAMP(acc[p], vlo, vhi);                                  \
  }

DEFINE_DWP_BLOCK(dwp_block, vf, vf_u, clamp_vf, hswish_vf)
#if VW > 8
DEFINE_DWP_BLOCK(dwp_block8, vf8, vf8_u, clamp_vf8, hswish_vf8)
#endif

/* One output row, channel vectors [c0, c1) of width W: blocks of 8 pixels
 * (the last one moved back to end at the row's end: it recomputes a few
 * pixels rather than needing a tail), 7, or 4 and 1 for narrower rows. */
#define DEFINE_DWP_ROW(NAME, BLOCK, VT, W)                                                      \
  static inline __attribute__((always_inline)) void NAME(                                      \
      const float *const *rows, int nky, const float *w, int L, int C, int c0, int c1,          \
      const float *bias, int out_w, float *o, float lo, float hi, const int KW, const int S) {  \
    const VT vlo = (VT){0} + lo, vhi = (VT){0} + hi;                                            \
    const int hs = lo > hi;                                                                     \
    const float *pr[7];                                                                         \
    for (int cv = c0; cv + (W) <= c1; cv += (W)) {                                              \
      int x = 0;                                                                                \
      for (;;) {                                                                                \
        const int left = out_w - x;                                                             \
        const int P = left >= 8 ? 8 : out_w >= 8 ? 8 : left == 7 ? 7 : left >= 4 ? 4 : out_w >= 4 ? 4 : 1; \
        if (x + P > out_w) x = out_w - P;                                                       \
        for (int ky = 0; ky < nky; ky++) pr[ky] = rows[ky] + ((size_t)x * S) * C + cv;          \
        float *ox = o + (size_t)x * C + cv;                                                     \
        const float *wc = w + cv, *bc = bias + cv;                                              \
        if (P == 8) BLOCK(pr, nky, wc, L, C, bc, ox, vlo, vhi, hs, KW, S, 8);                       \
        else if (P == 7) BLOCK(pr, nky, wc, L, C, bc, ox, vlo, vhi, hs, KW, S, 7);                  \
        else if (P == 4) BLOCK(pr, nky, wc, L, C, bc, ox, vlo, vhi, hs, KW, S, 4);                  \
        else BLOCK(pr, nky, wc, L, C, bc, ox, vlo, vhi, hs, KW, S, 1);                              \
        x += P;                                                                                 \
        if (x >= out_w) break;                                                                  \
      }                                                                                         \
    }                                                                                           \
  }
DEFINE_DWP_ROW(dwp_row, dwp_block, vf, VW)
#if VW > 8
DEFINE_DWP_ROW(dwp_row8, dwp_block8, vf8, 8)
#endif

#define DEFINE_DWP_SHAPE(KW_, S_)                                                               \
  static void dwp_row_k##KW_##s##S_(const float *const *rows, int nky, const float *w, int L,  \
                                    int C, const float *bias, int out_w, float *o, float lo,    \
                                    float hi) {                                                 \
    const int cvec = C / VW * VW;                                                               \
    dwp_row(rows, nky, w, L, C, 0, cvec, bias, out_w, o, lo, hi, KW_, S_);                      \
    DWP_ROW8_TAIL(KW_, S_)                                                                      \
  }
#if VW > 8
#define DWP_ROW8_TAIL(KW_, S_) dwp_row8(rows, nky, w, L, C, cvec, C, bias, out_w, o, lo, hi, KW_, S_);
#else
#define DWP_ROW8_TAIL(KW_, S_)
#endif
DEFINE_DWP_SHAPE(3, 1)
DEFINE_DWP_SHAPE(3, 2)
DEFINE_DWP_SHAPE(5, 1)
DEFINE_DWP_SHAPE(5, 2)
DEFINE_DWP_SHAPE(7, 1)
DEFINE_DWP_SHAPE(7, 2)

void k_f32_dwconv_padded(const mn_conv_geom *g, const float *padded, const float *w,
                         float *out, float lo, float hi, int y0, int y1) {
  const int C = g->in_c, L = mn_dw_period(C);
  const size_t prow = mn_dw_padded_row(g);
  const float *bias = w + (size_t)g->kh * g->kw * L;
  typedef void (*row_fn)(const float *const *, int, const float *, int, int, const float *, int,
                         float *, float, float);
  static const row_fn fns[3][2] = {{dwp_row_k3s1, dwp_row_k3s2},
                                   {dwp_row_k5s1, dwp_row_k5s2},
                                   {dwp_row_k7s1, dwp_row_k7s2}};
  const row_fn fn = fns[g->kw / 2 - 1][g->stride - 1];
  for (int y = y0; y < y1; y++) {
    const int iy = y * g->stride - g->pad_top;
    /* the kernel rows inside the input: the others meet the zero padding */
    const int ky0 = iy < 0 ? -iy : 0;
    const int ky1 = iy + g->kh > g->in_h ? g->in_h - iy : g->kh;
    float *o = out + (size_t)y * g->out_w * C;
    if (ky1 <= ky0) { /* the window misses the input: the bias alone */
      for (int x = 0; x < g->out_w; x++)
        for (int c = 0; c < C; c++) {
          const float v = bias[c];
          o[(size_t)x * C + c] = mn_f32_act(v, lo, hi);
        }
      continue;
    }
    const float *rows[7];
    for (int ky = ky0; ky < ky1; ky++) rows[ky - ky0] = padded + (size_t)(iy + ky) * prow;
    fn(rows, ky1 - ky0, w + (size_t)ky0 * g->kw * L, L, C, bias, g->out_w, o, lo, hi);
  }
}

void k_f32_dwconv(const mn_conv_geom *g, const float *in, const float *w, float *out,
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
      for (int x = 0; x < xs; x++) f32_dw_edge(g, in, w, L, x, y, o + (size_t)x * C, lo, hi);
      if (ky1 > ky0 && xs < xe)
        f32_dwkxk_interior_cvec(rows, ky1 - ky0, g->kw, C, L, g->stride, xs, xe,
                                w + (size_t)ky0 * g->kw * L, bias, o, lo, hi);
      else
        for (int x = xs; x < xe; x++) f32_dw_edge(g, in, w, L, x, y, o + (size_t)x * C, lo, hi);
      for (int x = xe; x < g->out_w; x++)
        f32_dw_edge(g, in, w, L, x, y, o + (size_t)x * C, lo, hi);
      continue;
    }
    if (fast_shape && iy >= 0 && iy + 2 < g->in_h) {
      const size_t in_row = (size_t)g->in_w * C;
      /* Row pointers at input column -pad_left: only offsets inside the
       * row are ever added to them. */
      const float *r0 = in + (size_t)iy * in_row - (ptrdiff_t)g->pad_left * C;
      const float *r1 = r0 + in_row, *r2 = r1 + in_row;
      for (int x = 0; x < xa; x++) f32_dw_edge(g, in, w, L, x, y, o + (size_t)x * C, lo, hi);
      if (C % VW == 0)
        f32_dw3x3_interior_cvec(r0, r1, r2, C, L, g->stride, xa, xb, w, o, lo, hi);
      else
        f32_dw3x3_interior_flat(r0, r1, r2, C, L, xa, xb, w, o, lo, hi);
      for (int x = xb; x < g->out_w; x++)
        f32_dw_edge(g, in, w, L, x, y, o + (size_t)x * C, lo, hi);
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
      o[i] = mn_f32_act(v, lo, hi);
    }
  }
}
