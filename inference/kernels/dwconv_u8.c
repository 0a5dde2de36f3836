/* dwconv_u8.c: 8-bit depthwise convolution: int32 accumulators per row, then k_requantize_row. */
#include "simd.h"

DEFINE_DW_TAPS(u8_dw_taps, uint8_t, int32_t)

/* ---- uint8 depthwise KxK: as the float one, int32 accumulators per row ----
 * A row is done in chunks of whole pixels that fit the accumulator buffer;
 * the 3x3 interior keeps its nine weights in registers, the borders and
 * other shapes take every bounds check. Padding holds the input zero point,
 * so skipped taps contribute (zp - zp) = 0. */

/* The int32 accumulators of a border pixel, any window up to 7x7 (see
 * f32_dw_edge). */
static void u8_dw_edge_acc(const mn_conv_geom *g, const uint8_t *in, const int32_t *w, int L,
                           int32_t zp, int x, int y, int32_t *restrict acc) {
  const int C = g->in_c;
  const uint8_t *p[DW_MAX_TAPS];
  const int32_t *wt[DW_MAX_TAPS];
  const int n = u8_dw_taps(g, in, w, L, x, y, p, wt);
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

/* KxK windows on rows padded with the input zero point (mn_u8_dw_pad_rows):
 * every pixel of a row is interior. */
void k_u8_dwconv_padded(const mn_conv_geom *g, const uint8_t *padded, const int32_t *w,
                        uint8_t *out, const mn_requant *rq, int y0, int y1) {
  const int C = g->in_c, L = mn_dw_period(C);
  const int32_t *bias = w + (size_t)g->kh * g->kw * L;
  const size_t prow = mn_dw_padded_row(g), row_len = (size_t)g->out_w * C;
  int32_t acc[MN_MAX_CHANNELS];
  const int px_chunk = (int)(sizeof acc / sizeof acc[0]) / C;
  for (int y = y0; y < y1; y++) {
    const int iy = y * g->stride - g->pad_top;
    const int ky0 = iy < 0 ? -iy : 0;
    const int ky1 = iy + g->kh > g->in_h ? g->in_h - iy : g->kh;
    const uint8_t *rows[7];
    for (int ky = ky0; ky < ky1; ky++) rows[ky - ky0] = padded + (size_t)(iy + ky) * prow;
    for (int x0 = 0; x0 < g->out_w; x0 += px_chunk) {
      const int x1 = x0 + px_chunk < g->out_w ? x0 + px_chunk : g->out_w;
      if (ky1 > ky0)
        u8_dwkxk_acc_cvec(rows, ky1 - ky0, g->kw, C, L, g->stride, x0, x1,
                          w + (size_t)ky0 * g->kw * L, bias, rq->in_zp, acc);
      else /* the window misses the input: the bias alone */
        periodic_fill_i32(acc, (size_t)(x1 - x0) * C, bias, L);
      k_requantize_row(acc, (x1 - x0) * C, rq, out + (size_t)y * row_len + (size_t)x0 * C);
    }
  }
}

void k_u8_dwconv(const mn_conv_geom *g, const uint8_t *in, const int32_t *w, uint8_t *out,
                      const mn_requant *rq, int y0, int y1) {
  const int C = g->in_c, L = mn_dw_period(C);
  const int32_t *restrict bias = w + (size_t)g->kh * g->kw * L; /* periodic too */
  const int32_t zp = rq->in_zp;
  const size_t row_len = (size_t)g->out_w * C;
  int xa, xb; /* used only when the kernel is 3x3 */
  interior_cols(g, &xa, &xb);
  const int fast_shape = g->kh == 3 && g->kw == 3 && (C % VW == 0 || g->stride == 1) && xa < xb;
  const int kxk_shape = !(g->kh == 3 && g->kw == 3) && g->kh <= 7 && g->kw <= 7 && C % VW == 0;
  int32_t acc_buf[MN_MAX_CHANNELS]; /* at least one pixel of every width */
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
            u8_dw_edge_acc(g, in, w, L, zp, x, y, acc + (size_t)(x - x0) * C);
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
            u8_dw_edge_acc(g, in, w, L, zp, x, y, acc + (size_t)(x - x0) * C);
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
      k_requantize_row(acc, (x1 - x0) * C, rq, out + (size_t)y * row_len + (size_t)x0 * C);
    }
  }
}
