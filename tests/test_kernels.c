/* test_kernels.c: Check tests of the compute kernels (inference/kernels/).
 *
 * Every fast kernel of every instruction-set level this CPU runs (generic up
 * to mn_isa_detect(), which $MOBILENET_ISA may lower) is compared with its
 * plain reference (*_ref) on random data from a fixed-seed generator:
 *   - float32 GEMM (both tile shapes of the level), KxK convolution
 *     (im2col + GEMM) and depthwise convolution, within a relative tolerance
 *     of ~1e-5 * (terms summed);
 *   - uint8 GEMM (int32 panels, or the VNNI kernel's int8 groups with
 *     folded zero points), KxK convolution and depthwise convolution,
 *     bit-exactly;
 *   - the vectorised requantization, bit-exactly against an independent
 *     round-half-away-from-zero.
 * Weights are packed as model_build.c packs them (mn_*_gemm_pack, mn_*_dw_pack).
 * Inputs and outputs are allocated at their exact size, so an out-of-bounds
 * access shows under AddressSanitizer; rows and columns the kernels must not
 * touch (strided outputs, rows outside [y0, y1)) are checked for untouched
 * sentinels, which catches stray writes without a sanitizer too.
 * The small kernels without a vector variant (requantization, average pool,
 * softmax) are checked against direct computations written here.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* ---- helpers -------------------------------------------------------------- */

/* splitmix64: a small fixed-seed generator, so failures reproduce. */
static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s; }
static uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double rng_unit(void) { return (double)(rng_next() >> 11) * 0x1.0p-53; } /* [0, 1) */
/* Uniform in [lo, hi]. */
static int rng_int(int lo, int hi) { return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1)); }
static float rng_float(float lo, float hi) { return lo + (hi - lo) * (float)rng_unit(); }
/* Log-uniform in [lo, hi]: multipliers over several decades. */
static double rng_log(double lo, double hi) { return lo * pow(hi / lo, rng_unit()); }

static void fill_f32(float *p, size_t n, float lo, float hi) {
  for (size_t i = 0; i < n; i++) p[i] = rng_float(lo, hi);
}
static void fill_u8(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rng_next();
}

/* Like ck_assert_msg, but without Check's per-assertion bookkeeping (it
 * writes a record for every passing assertion, far too slow in loops over
 * every element). */
#define CHECK(cond, ...)                    \
  do {                                      \
    if (!(cond)) ck_abort_msg(__VA_ARGS__); \
  } while (0)

static void *xmalloc(size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  CHECK(p != NULL, "out of memory (%zu bytes)", bytes);
  return p;
}

/* A float NaN payload that no kernel produces: marks "not written". */
static const uint32_t SENTINEL_BITS = 0x7fc0beefu;
static void fill_sentinel(float *p, size_t n) {
  for (size_t i = 0; i < n; i++) memcpy(&p[i], &SENTINEL_BITS, 4);
}
static int is_sentinel(float v) {
  uint32_t b;
  memcpy(&b, &v, 4);
  return b == SENTINEL_BITS;
}

/* |got - want| within tol_per_term * terms * max(1, |want|); exact equality
 * also covers the infinite clamp bounds. */
static int close_enough(float got, float want, int terms) {
  if (got == want) return 1;
  double tol = 1e-5 * (terms > 0 ? terms : 1) * fmax(1.0, fabs((double)want));
  return fabs((double)got - (double)want) <= tol;
}

/* The kernel table of the loop's level; checks the table is the one asked for. */
static const mn_kernels *kernels_at(int isa) {
  const mn_kernels *k = mn_kernels_for((mn_isa)isa);
  ck_assert_ptr_nonnull(k);
#if defined(__x86_64__)
  CHECK((int)k->isa == isa, "mn_kernels_for(%s) returned the %s table", mn_isa_name((mn_isa)isa),
        mn_isa_name(k->isa));
#endif
  return k;
}

/* Geometry as mn_plan_shapes (model_build.c) computes it: SAME gives
 * out = ceil(in / stride) with pad_before = pad_total / 2, VALID gives
 * out = (in - k) / stride + 1. Returns 0 when the output would be empty. */
static int make_geom(mn_conv_geom *g, int in_h, int in_w, int in_c, int out_c, int k, int stride,
                     int same) {
  memset(g, 0, sizeof *g);
  g->in_h = in_h, g->in_w = in_w, g->in_c = in_c, g->out_c = out_c;
  g->kh = g->kw = k, g->stride = stride;
  if (same) {
    g->out_h = (in_h + stride - 1) / stride;
    g->out_w = (in_w + stride - 1) / stride;
    int ph = (g->out_h - 1) * stride + k - in_h, pw = (g->out_w - 1) * stride + k - in_w;
    g->pad_top = ph > 0 ? ph / 2 : 0;
    g->pad_left = pw > 0 ? pw / 2 : 0;
  } else {
    if (in_h < k || in_w < k) return 0;
    g->out_h = (in_h - k) / stride + 1;
    g->out_w = (in_w - k) / stride + 1;
  }
  return g->out_h > 0 && g->out_w > 0;
}

static const char *geom_str(const mn_conv_geom *g, char *buf, size_t size) {
  snprintf(buf, size, "in %dx%dx%d out %dx%dx%d k %dx%d s %d pad %d,%d", g->in_h, g->in_w, g->in_c,
           g->out_h, g->out_w, g->out_c, g->kh, g->kw, g->stride, g->pad_top, g->pad_left);
  return buf;
}

/* ---- float32 GEMM ------------------------------------------------------------ */

static const int gemm_m[] = {1, 2, 3, 7, 8, 9, 17, 49, 201}; /* 201: rows split between threads */
static const int gemm_n[] = {1, 3, 8, 15, 16, 17, 24, 31, 33, 64, 72, 1001};
static const int gemm_k[] = {1, 3, 8, 17, 32, 64, 100, 129}; /* 64, 129: whole and split 64-k steps */
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The level's two float GEMM shapes: the wide tile and the 8-column one. */
/* Tile shape 0 = wide, 1 = narrow, 2 = mid, 3 = the pointwise-only 24-column
 * tile where the level has one (else the wide one again). */
static const mn_f32_gemm *gemm_shape(const mn_kernels *kern, int shape) {
  const mn_f32_gemm *g = shape == 1                                   ? &kern->f32_gemm_narrow
                         : shape == 2                                 ? &kern->f32_gemm_mid
                         : shape == 3 && kern->f32_gemm_24.ukernel ? &kern->f32_gemm_24
                                                                      : &kern->f32_gemm;
  ck_assert_ptr_nonnull(g->ukernel);
  ck_assert_ptr_nonnull(g->ukernel_1row); /* mn_f32_gemm_run uses it for short tiles (m = 1, 2) */
  ck_assert_int_gt(g->mr, 0);
  ck_assert_int_gt(g->nr, 0);
  return g;
}

/* mn_f32_gemm_for picks one of the level's two shapes for any width. */
START_TEST(test_f32_gemm_for) {
  const mn_kernels *kern = kernels_at(_i);
  for (int n = 1; n <= 1024; n++) {
    const mn_f32_gemm *g = mn_f32_gemm_for(kern, n);
    CHECK(g == &kern->f32_gemm || g == &kern->f32_gemm_narrow || g == &kern->f32_gemm_mid,
          "mn_f32_gemm_for(%d) is not a shape of the table", n);
    const mn_f32_gemm *pw = mn_f32_gemm_for_pointwise(kern, n);
    CHECK(pw == g || (pw == &kern->f32_gemm_24 && pw->ukernel && (n + 23) / 24 * 24 < (n + g->nr - 1) / g->nr * g->nr),
          "mn_f32_gemm_for_pointwise(%d) is neither mn_f32_gemm_for's shape nor a smaller padding", n);
  }
}
END_TEST

/* mn_f32_gemm_pack + mn_f32_gemm_run (one thread, and three "threads" run one
 * after another) against mn_f32_gemm_ref, with and without a ReLU6 clamp, on
 * strided A and C; for the four tile shapes of the level (loop index: level * 4
 * + shape). */
START_TEST(test_f32_gemm) {
  const mn_kernels *kern = kernels_at(_i / 4);
  const mn_f32_gemm *g = gemm_shape(kern, _i % 4);
  rng_seed(0x6e6d00 + (uint64_t)_i);
  /* none, ReLU6, and the empty range of a fused hard-swish */
  const float clamps[3][2] = {{-INFINITY, INFINITY}, {0.0f, 6.0f}, {MN_F32_HSWISH_LO, MN_F32_HSWISH_HI}};
  int combo = 0;
  for (int im = 0; im < COUNT(gemm_m); im++)
    for (int in = 0; in < COUNT(gemm_n); in++)
      for (int ik = 0; ik < COUNT(gemm_k); ik++, combo++) {
        const int m = gemm_m[im], n = gemm_n[in], k = gemm_k[ik];
        const size_t a_stride = (size_t)k + (combo % 3 == 0 ? 5 : 0);
        const size_t c_stride = (size_t)n + (combo % 2 == 0 ? 3 : 0);
        const int with_bias = combo % 5 != 0;
        float *a = xmalloc(sizeof(float) * ((size_t)(m - 1) * a_stride + k));
        float *a_dense = xmalloc(sizeof(float) * (size_t)m * k);
        float *w = xmalloc(sizeof(float) * (size_t)n * k);
        float *bias = xmalloc(sizeof(float) * (size_t)n);
        size_t psize = mn_f32_gemm_packed_size(n, k, g->nr);
        ck_assert_uint_ge(psize, (size_t)n * (k + 1));
        float *packed = xmalloc(sizeof(float) * psize);
        float *ref = xmalloc(sizeof(float) * (size_t)m * n);
        const size_t c_size = (size_t)(m - 1) * c_stride + n;
        float *c = xmalloc(sizeof(float) * c_size);
        fill_f32(a_dense, (size_t)m * k, -1.0f, 1.0f);
        for (int i = 0; i < m; i++)
          memcpy(a + (size_t)i * a_stride, a_dense + (size_t)i * k, sizeof(float) * k);
        for (int i = 0; i + 1 < m; i++) /* gaps between strided rows: garbage */
          for (size_t q = k; q < a_stride; q++) a[(size_t)i * a_stride + q] = 1e30f;
        fill_f32(w, (size_t)n * k, -1.0f, 1.0f);
        fill_f32(bias, (size_t)n, -1.0f, 1.0f);
        mn_f32_gemm_pack(n, k, g->nr, w, with_bias ? bias : NULL, packed);
        for (int cl = 0; cl < 3; cl++) {
          const float lo = clamps[cl][0], hi = clamps[cl][1];
          mn_f32_gemm_ref(m, n, k, a_dense, w, with_bias ? bias : NULL, ref, lo, hi);
          for (int nth = 1; nth <= 3; nth += 2) {
            fill_sentinel(c, c_size);
            for (int ith = 0; ith < nth; ith++)
              mn_f32_gemm_run(g, m, n, k, a, a_stride, packed, c, c_stride, lo, hi, ith, nth);
            for (int i = 0; i < m; i++) {
              for (int j = 0; j < n; j++) {
                float got = c[(size_t)i * c_stride + j], want = ref[(size_t)i * n + j];
                if (!close_enough(got, want, k))
                  ck_abort_msg(
                      "%s %s: m=%d n=%d k=%d clamp [%g,%g] nth=%d: C[%d][%d] = %.9g, "
                      "reference %.9g",
                      mn_isa_name(kern->isa), g->name, m, n, k, lo, hi, nth, i, j, got, want);
              }
              if (i + 1 < m)
                for (size_t j = n; j < c_stride; j++)
                  CHECK(is_sentinel(c[(size_t)i * c_stride + j]),
                        "%s: m=%d n=%d k=%d: wrote C[%d][%zu] past n (stride %zu)", g->name, m, n,
                        k, i, j, c_stride);
            }
          }
        }
        free(a), free(a_dense), free(w), free(bias), free(packed), free(ref), free(c);
      }
}
END_TEST

/* ---- float32 KxK convolution -------------------------------------------------- */

/* rows wide enough that the direct kernel's 8- and 12-pixel groups run at
 * stride 2 with edges left over ({5, 37}, {9, 50}) */
static const int conv_sizes[][2] = {{1, 1}, {1, 5}, {2, 3},  {3, 3},  {4, 7},  {5, 5},
                                    {7, 2}, {8, 8}, {9, 11}, {6, 10}, {5, 37}, {9, 50}};
static const int conv_in_c[] = {1, 3, 5, 32}; /* 32: K up to 800, several im2col chunks */
static const int conv_out_c[] = {1, 8, 16, 17, 32};
static const int conv_k[] = {3, 1, 5};

/* mn_f32_conv_gemm (im2col + the level's GEMM; weights TFLite [o][kh][kw][i]
 * packed with mn_f32_gemm_pack as [n = o][k = kh*kw*i], as model_build.c
 * does) on odd shapes, SAME and VALID, stride 1 and 2, computed as two row
 * ranges [0, a) and [a, out_h): the first call must leave rows >= a alone.
 * All three GEMM shapes (loop index: level * 3 + shape). */
START_TEST(test_f32_conv) {
  const mn_kernels *kern = kernels_at(_i / 3);
  const mn_f32_gemm *gemm = gemm_shape(kern, _i % 3);
  rng_seed(0xc0 + (uint64_t)_i);
  char gs[128];
  for (int si = 0; si < COUNT(conv_sizes); si++)
    for (int ci = 0; ci < COUNT(conv_in_c); ci++)
      for (int oi = 0; oi < COUNT(conv_out_c); oi++)
        for (int ki = 0; ki < COUNT(conv_k); ki++)
          for (int stride = 1; stride <= 2; stride++)
            for (int same = 0; same <= 1; same++) {
              mn_conv_geom g;
              if (!make_geom(&g, conv_sizes[si][0], conv_sizes[si][1], conv_in_c[ci],
                             conv_out_c[oi], conv_k[ki], stride, same))
                continue;
              const size_t n_in = (size_t)g.in_h * g.in_w * g.in_c;
              const size_t n_w = (size_t)g.out_c * g.kh * g.kw * g.in_c;
              const size_t n_out = (size_t)g.out_h * g.out_w * g.out_c;
              const size_t row = (size_t)g.out_w * g.out_c;
              const int K = g.kh * g.kw * g.in_c;
              float *in = xmalloc(sizeof(float) * n_in), *w = xmalloc(sizeof(float) * n_w);
              float *wp = xmalloc(sizeof(float) * mn_f32_gemm_packed_size(g.out_c, K, gemm->nr));
              float *bias = xmalloc(sizeof(float) * g.out_c);
              float *ref = xmalloc(sizeof(float) * n_out), *out = xmalloc(sizeof(float) * n_out);
              fill_f32(in, n_in, -1.0f, 1.0f);
              fill_f32(w, n_w, -1.0f, 1.0f);
              fill_f32(bias, g.out_c, -1.0f, 1.0f);
              mn_f32_gemm_pack(g.out_c, K, gemm->nr, w, bias, wp);
              const int terms = K;
              /* no activation, ReLU6 or a fused hard-swish (an empty range) */
              const int act = (si + oi + ki + same) % 3;
              const float lo = act == 1 ? 0.0f : act == 2 ? MN_F32_HSWISH_LO : -INFINITY;
              const float hi = act == 1 ? 6.0f : act == 2 ? MN_F32_HSWISH_HI : INFINITY;
              mn_f32_conv_ref(&g, in, w, bias, ref, lo, hi);
              const int a = rng_int(0, g.out_h);
              fill_sentinel(out, n_out);
              mn_f32_conv_gemm(gemm, &g, in, wp, out, lo, hi, 0, a);
              for (size_t e = (size_t)a * row; e < n_out; e++)
                CHECK(is_sentinel(out[e]), "%s conv %s: rows [0,%d) wrote element %zu", gemm->name,
                      geom_str(&g, gs, sizeof gs), a, e);
              mn_f32_conv_gemm(gemm, &g, in, wp, out, lo, hi, a, g.out_h);
              for (size_t e = 0; e < n_out; e++)
                if (!close_enough(out[e], ref[e], terms))
                  ck_abort_msg(
                      "%s conv %s split %d: out[y=%zu x=%zu o=%zu] = %.9g, "
                      "reference %.9g",
                      gemm->name, geom_str(&g, gs, sizeof gs), a, e / row, (e % row) / g.out_c,
                      e % g.out_c, out[e], ref[e]);
              /* The direct convolution on the same panel (first layers: out_c == nr). */
              mn_f32_conv1p_fn direct = kern->f32_conv1p_for(g.out_c, gemm->nr);
              if (direct) {
                fill_sentinel(out, n_out);
                direct(&g, in, wp, out, lo, hi, 0, a);
                for (size_t e = (size_t)a * row; e < n_out; e++)
                  CHECK(is_sentinel(out[e]), "%s direct conv %s: rows [0,%d) wrote element %zu",
                        gemm->name, geom_str(&g, gs, sizeof gs), a, e);
                direct(&g, in, wp, out, lo, hi, a, g.out_h);
                for (size_t e = 0; e < n_out; e++)
                  if (!close_enough(out[e], ref[e], terms))
                    ck_abort_msg("%s direct conv %s split %d: out[%zu] = %.9g, reference %.9g",
                                 gemm->name, geom_str(&g, gs, sizeof gs), a, e, out[e], ref[e]);
              }
              free(in), free(w), free(wp), free(bias), free(ref), free(out);
            }
}
END_TEST

/* ---- float32 depthwise convolution ------------------------------------------- */

static const int dw_sizes[][2] = {{1, 1}, {1, 2},  {2, 3},  {3, 1},  {3, 3},
                                  {5, 7}, {8, 13}, {11, 4}, {16, 16}};
static const int dw_channels[] = {1, 3, 8, 15, 16, 17, 24, 33, 64, 1024};
static const int dw_k[] = {3, 5, 1, 7};

/* mn_dw_period: a multiple of both c and 16 (whole vectors of every level). */
START_TEST(test_dw_period) {
  for (int c = 1; c <= 4096; c++) {
    int L = mn_dw_period(c);
    CHECK(L > 0 && L % c == 0 && L % 16 == 0 && L <= 16 * c, "mn_dw_period(%d) = %d", c, L);
  }
}
END_TEST

/* f32_dwconv: weights TFLite [1][kh][kw][c] packed with mn_f32_dw_pack as model_build.c does. */
START_TEST(test_f32_dwconv) {
  const mn_kernels *kern = kernels_at(_i);
  rng_seed(0xd0 + (uint64_t)_i);
  char gs[128];
  for (int si = 0; si < COUNT(dw_sizes); si++)
    for (int ci = 0; ci < COUNT(dw_channels); ci++)
      for (int ki = 0; ki < COUNT(dw_k); ki++)
        for (int stride = 1; stride <= 2; stride++)
          for (int same = 0; same <= 1; same++) {
            mn_conv_geom g;
            const int c = dw_channels[ci];
            if (!make_geom(&g, dw_sizes[si][0], dw_sizes[si][1], c, c, dw_k[ki], stride, same))
              continue;
            const size_t n_in = (size_t)g.in_h * g.in_w * c, n_w = (size_t)g.kh * g.kw * c;
            const size_t n_out = (size_t)g.out_h * g.out_w * c, row = (size_t)g.out_w * c;
            float *in = xmalloc(sizeof(float) * n_in), *w = xmalloc(sizeof(float) * n_w);
            float *bias = xmalloc(sizeof(float) * c);
            float *wp = xmalloc(sizeof(float) * (size_t)(g.kh * g.kw + 1) * mn_dw_period(c));
            float *ref = xmalloc(sizeof(float) * n_out), *out = xmalloc(sizeof(float) * n_out);
            fill_f32(in, n_in, -2.0f, 2.0f);
            fill_f32(w, n_w, -2.0f, 2.0f);
            fill_f32(bias, c, -1.0f, 1.0f);
            mn_f32_dw_pack(g.kh, g.kw, c, w, bias, wp);
            /* no activation, ReLU6 or a fused hard-swish (an empty range) */
            const int act = (si + ci + ki + same) % 3;
            const float lo = act == 1 ? 0.0f : act == 2 ? MN_F32_HSWISH_LO : -INFINITY;
            const float hi = act == 1 ? 6.0f : act == 2 ? MN_F32_HSWISH_HI : INFINITY;
            mn_f32_dwconv_ref(&g, in, w, bias, ref, lo, hi);
            const int a = rng_int(0, g.out_h);
            fill_sentinel(out, n_out);
            kern->f32_dwconv(&g, in, wp, out, lo, hi, 0, a);
            for (size_t e = (size_t)a * row; e < n_out; e++)
              CHECK(is_sentinel(out[e]), "%s f32_dwconv %s: rows [0,%d) wrote element %zu",
                    mn_isa_name(kern->isa), geom_str(&g, gs, sizeof gs), a, e);
            kern->f32_dwconv(&g, in, wp, out, lo, hi, a, g.out_h);
            for (size_t e = 0; e < n_out; e++)
              if (!close_enough(out[e], ref[e], g.kh * g.kw))
                ck_abort_msg(
                    "%s f32_dwconv %s split %d: out[y=%zu x=%zu c=%zu] = %.9g, "
                    "reference %.9g",
                    mn_isa_name(kern->isa), geom_str(&g, gs, sizeof gs), a, e / row, (e % row) / c,
                    e % c, out[e], ref[e]);
            if (mn_dw_padded_ok(&g)) { /* the padded path: rows padded in two parts */
              const size_t prow = mn_dw_padded_row(&g);
              CHECK(prow >= (size_t)(g.in_w + g.pad_left) * c &&
                        prow >= (size_t)((g.out_w - 1) * g.stride + g.kw) * c,
                    "mn_dw_padded_row %s = %zu", geom_str(&g, gs, sizeof gs), prow);
              float *padded = xmalloc(sizeof(float) * prow * (size_t)g.in_h);
              fill_sentinel(padded, prow * (size_t)g.in_h);
              const int r = rng_int(0, g.in_h);
              mn_f32_dw_pad_rows(&g, in, padded, r, g.in_h);
              mn_f32_dw_pad_rows(&g, in, padded, 0, r);
              fill_sentinel(out, n_out);
              kern->f32_dwconv_padded(&g, padded, wp, out, lo, hi, 0, a);
              for (size_t e = (size_t)a * row; e < n_out; e++)
                CHECK(is_sentinel(out[e]), "%s f32_dwconv_padded %s: rows [0,%d) wrote element %zu",
                      mn_isa_name(kern->isa), geom_str(&g, gs, sizeof gs), a, e);
              kern->f32_dwconv_padded(&g, padded, wp, out, lo, hi, a, g.out_h);
              for (size_t e = 0; e < n_out; e++)
                if (!close_enough(out[e], ref[e], g.kh * g.kw))
                  ck_abort_msg("%s f32_dwconv_padded %s split %d: out[y=%zu x=%zu c=%zu] = %.9g, "
                               "reference %.9g",
                               mn_isa_name(kern->isa), geom_str(&g, gs, sizeof gs), a, e / row,
                               (e % row) / c, e % c, out[e], ref[e]);
              free(padded);
            }
            free(in), free(w), free(wp), free(bias), free(ref), free(out);
          }
}
END_TEST

/* ---- uint8 requantization parameters ----------------------------------------- */

/* Random TFLite-like parameters: zero points 0..255 (input, weights, output), multipliers
 * 1e-4..5e-2 (log-uniform), and every fourth case a power of two 2^-1..2^-8, for which acc * mult
 * lands exactly on .5 ties often. Clamp ranges 0/255, 3/200 or a ReLU6-like [zp, zp + 255/...]. */
static mn_requant random_requant(int variant) {
  mn_requant rq;
  rq.in_zp = rng_int(0, 255);
  rq.w_zp = rng_int(0, 255);
  rq.out_zp = rng_int(0, 255);
  rq.mult = variant % 4 == 3 ? ldexp(1.0, -rng_int(1, 8)) : rng_log(1e-4, 5e-2);
  switch (variant % 3) {
    case 0:
      rq.qmin = 0, rq.qmax = 255;
      break;
    case 1:
      rq.qmin = 3, rq.qmax = 200;
      break;
    default:
      rq.qmin = rq.out_zp;
      rq.qmax = rng_int(rq.qmin, 255);
  }
  return rq;
}

static void fill_bias_i32(int32_t *b, int n) {
  for (int i = 0; i < n; i++) b[i] = rng_int(-20000, 20000);
}

static const char *rq_str(const mn_requant *rq, char *buf, size_t size) {
  snprintf(buf, size, "mult %.17g in_zp %d out_zp %d q [%d,%d]", rq->mult, rq->in_zp, rq->out_zp,
           rq->qmin, rq->qmax);
  return buf;
}

/* ---- uint8 GEMM ---------------------------------------------------------------- */

/* The level's uint8 GEMM (int32 panels, or VNNI's int8 groups with the zero
 * points folded into column constants). */
static const mn_u8_gemm *u8_gemm_of(const mn_kernels *kern) {
  const mn_u8_gemm *g = &kern->u8_gemm;
  CHECK(g->ukernel != NULL && g->mr > 0 && g->nr > 0, "%s: no uint8 GEMM", mn_isa_name(kern->isa));
  return g;
}

/* mn_u8_gemm_pack + mn_u8_gemm_run with the level's micro-kernel vs
 * mn_u8_gemm_ref: bit-exact, whole and split over 3 "threads", strided A/C. */
START_TEST(test_u8_gemm) {
  const mn_kernels *kern = kernels_at(_i);
  const mn_u8_gemm *g = u8_gemm_of(kern);
  rng_seed(0x08 + (uint64_t)_i);
  char rs[160];
  int combo = 0;
  for (int im = 0; im < COUNT(gemm_m); im++)
    for (int in = 0; in < COUNT(gemm_n); in++)
      for (int ik = 0; ik < COUNT(gemm_k); ik++, combo++) {
        const int m = gemm_m[im], n = gemm_n[in], k = gemm_k[ik];
        const size_t a_stride = (size_t)k + (combo % 3 == 1 ? 7 : 0);
        const size_t c_stride = (size_t)n + (combo % 2 == 1 ? 9 : 0);
        const int with_bias = combo % 7 != 0;
        mn_requant rq = random_requant(combo);
        const int32_t w_zp = rq.w_zp;
        uint8_t *a = xmalloc((size_t)(m - 1) * a_stride + k);
        uint8_t *a_dense = xmalloc((size_t)m * k);
        uint8_t *w = xmalloc((size_t)n * k);
        int32_t *bias = xmalloc(sizeof(int32_t) * n);
        void *packed = xmalloc(mn_u8_gemm_packed_size(g, n, k));
        uint8_t *ref = xmalloc((size_t)m * n);
        const size_t c_size = (size_t)(m - 1) * c_stride + n;
        uint8_t *c = xmalloc(c_size);
        fill_u8(a, (size_t)(m - 1) * a_stride + k);
        for (int i = 0; i < m; i++)
          memcpy(a_dense + (size_t)i * k, a + (size_t)i * a_stride, (size_t)k);
        fill_u8(w, (size_t)n * k);
        fill_bias_i32(bias, n);
        mn_u8_gemm_pack(g, n, k, w, w_zp, rq.in_zp, with_bias ? bias : NULL, packed);
        mn_u8_gemm_ref(m, n, k, a_dense, w, w_zp, with_bias ? bias : NULL, ref, &rq);
        for (int nth = 1; nth <= 3; nth += 2) {
          memset(c, 0xA5, c_size);
          for (int ith = 0; ith < nth; ith++)
            mn_u8_gemm_run(g, m, n, k, a, a_stride, packed, c, c_stride, &rq, ith, nth);
          for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++)
              if (c[(size_t)i * c_stride + j] != ref[(size_t)i * n + j])
                ck_abort_msg(
                    "%s m=%d n=%d k=%d w_zp=%d %s nth=%d: C[%d][%d] = %d, "
                    "reference %d",
                    g->name, m, n, k, w_zp, rq_str(&rq, rs, sizeof rs), nth, i, j,
                    c[(size_t)i * c_stride + j], ref[(size_t)i * n + j]);
            if (i + 1 < m)
              for (size_t j = n; j < c_stride; j++)
                CHECK(c[(size_t)i * c_stride + j] == 0xA5,
                      "%s u8 gemm m=%d n=%d k=%d: wrote C[%d][%zu] past n", mn_isa_name(kern->isa),
                      m, n, k, i, j);
          }
        }
        free(a), free(a_dense), free(w), free(bias), free(packed), free(ref), free(c);
      }
}
END_TEST

/* ---- uint8 KxK convolution ----------------------------------------------------- */

/* mn_u8_conv_gemm (im2col + the level's uint8 GEMM; weights TFLite uint8
 * [o][kh][kw][i] = [n][k] packed with mn_u8_gemm_pack for that GEMM, as
 * model_build.c does) vs mn_u8_conv_ref, bit-exact, same shapes as the
 * float test. */
START_TEST(test_u8_conv) {
  const mn_kernels *kern = kernels_at(_i);
  const mn_u8_gemm *gemm = u8_gemm_of(kern);
  rng_seed(0x8c0 + (uint64_t)_i);
  char gs[128], rs[160];
  int variant = 0;
  for (int si = 0; si < COUNT(conv_sizes); si++)
    for (int ci = 0; ci < COUNT(conv_in_c); ci++)
      for (int oi = 0; oi < COUNT(conv_out_c); oi++)
        for (int ki = 0; ki < COUNT(conv_k); ki++)
          for (int stride = 1; stride <= 2; stride++)
            for (int same = 0; same <= 1; same++) {
              mn_conv_geom g;
              if (!make_geom(&g, conv_sizes[si][0], conv_sizes[si][1], conv_in_c[ci],
                             conv_out_c[oi], conv_k[ki], stride, same))
                continue;
              mn_requant rq = random_requant(variant++);
              const int32_t w_zp = rq.w_zp;
              const size_t n_in = (size_t)g.in_h * g.in_w * g.in_c;
              const size_t n_w = (size_t)g.out_c * g.kh * g.kw * g.in_c;
              const size_t n_out = (size_t)g.out_h * g.out_w * g.out_c;
              const size_t row = (size_t)g.out_w * g.out_c;
              uint8_t *in = xmalloc(n_in), *w = xmalloc(n_w);
              const int K = g.kh * g.kw * g.in_c;
              void *wp = xmalloc(mn_u8_gemm_packed_size(gemm, g.out_c, K));
              int32_t *bias = xmalloc(sizeof(int32_t) * g.out_c);
              uint8_t *ref = xmalloc(n_out), *out = xmalloc(n_out);
              fill_u8(in, n_in);
              fill_u8(w, n_w);
              fill_bias_i32(bias, g.out_c);
              mn_u8_gemm_pack(gemm, g.out_c, K, w, w_zp, rq.in_zp, bias, wp);
              mn_u8_conv_ref(&g, in, w, w_zp, bias, ref, &rq);
              const int a = rng_int(0, g.out_h);
              memset(out, 0xA5, n_out);
              mn_u8_conv_gemm(gemm, &g, in, wp, out, &rq, 0, a);
              for (size_t e = (size_t)a * row; e < n_out; e++)
                CHECK(out[e] == 0xA5, "%s u8_conv %s: rows [0,%d) wrote element %zu",
                      mn_isa_name(kern->isa), geom_str(&g, gs, sizeof gs), a, e);
              mn_u8_conv_gemm(gemm, &g, in, wp, out, &rq, a, g.out_h);
              for (size_t e = 0; e < n_out; e++)
                if (out[e] != ref[e])
                  ck_abort_msg(
                      "%s u8_conv %s w_zp %d %s: out[y=%zu x=%zu o=%zu] = %d, "
                      "reference %d",
                      mn_isa_name(kern->isa), geom_str(&g, gs, sizeof gs), w_zp,
                      rq_str(&rq, rs, sizeof rs), e / row, (e % row) / g.out_c, e % g.out_c, out[e],
                      ref[e]);
              free(in), free(w), free(wp), free(bias), free(ref), free(out);
            }
}
END_TEST

/* mn_u8_conv_direct_f32 (the float direct kernel on (a - a_zp), exact when
 * mn_u8_conv_f32_exact) vs mn_u8_conv_ref, bit-exact, with every float GEMM
 * shape's panels; plus out_c = 300 on a wide row, which stages a row in
 * several pixel ranges. */
START_TEST(test_u8_conv_f32) {
  const mn_kernels *kern = kernels_at(_i / 3);
  const mn_f32_gemm *gemm = gemm_shape(kern, _i % 3);
  rng_seed(0x8e0 + (uint64_t)_i);
  char gs[128], rs[160];
  static const int out_cs[] = {1, 8, 16, 17, 32, 300, 400}; /* 400: ranges of 20 pixels */
  int variant = 0, tested = 0;
  for (int si = 0; si < COUNT(conv_sizes); si++)
    for (int ci = 0; ci < COUNT(conv_in_c); ci++)
      for (int oi = 0; oi < COUNT(out_cs); oi++)
        for (int ki = 0; ki < COUNT(conv_k); ki++)
          for (int stride = 1; stride <= 2; stride++)
            for (int same = 0; same <= 1; same++) {
              mn_conv_geom g;
              const int K = conv_k[ki] * conv_k[ki] * conv_in_c[ci];
              if (out_cs[oi] >= 300 && conv_sizes[si][1] < 50) continue;
              if (!make_geom(&g, conv_sizes[si][0], conv_sizes[si][1], conv_in_c[ci], out_cs[oi],
                             conv_k[ki], stride, same))
                continue;
              mn_requant rq = random_requant(variant++);
              int32_t *bias = xmalloc(sizeof(int32_t) * g.out_c);
              fill_bias_i32(bias, g.out_c);
              mn_f32_conv1p_fn direct = kern->f32_conv1p_for(g.out_c, gemm->nr);
              if (!direct || !mn_u8_conv_f32_exact(g.out_c, K, bias)) {
                CHECK(K > 200 || !direct, "%s: k %d should run in float", gemm->name, K);
                free(bias);
                continue;
              }
              tested++;
              const size_t n_in = (size_t)g.in_h * g.in_w * g.in_c;
              const size_t n_w = (size_t)g.out_c * K;
              const size_t n_out = (size_t)g.out_h * g.out_w * g.out_c;
              uint8_t *in = xmalloc(n_in), *w = xmalloc(n_w);
              float *in_f = xmalloc(sizeof(float) * n_in), *wf = xmalloc(sizeof(float) * (n_w + g.out_c));
              float *wp = xmalloc(sizeof(float) * mn_f32_gemm_packed_size(g.out_c, K, gemm->nr));
              uint8_t *ref = xmalloc(n_out), *out = xmalloc(n_out);
              fill_u8(in, n_in);
              fill_u8(w, n_w);
              mn_u8_conv_f32_pack(g.out_c, K, gemm->nr, w, rq.w_zp, bias, wf, wp);
              mn_u8_conv_ref(&g, in, w, rq.w_zp, bias, ref, &rq);
              kern->f32_from_u8_minus(in, n_in, rq.in_zp, in_f);
              const int a = rng_int(0, g.out_h);
              memset(out, 0xA5, n_out);
              mn_u8_conv_direct_f32(kern, direct, wp, &g, in_f, &rq, out, 0, a);
              mn_u8_conv_direct_f32(kern, direct, wp, &g, in_f, &rq, out, a, g.out_h);
              for (size_t e = 0; e < n_out; e++)
                if (out[e] != ref[e])
                  ck_abort_msg("%s u8 conv in float %s %s: out[%zu] = %d, reference %d",
                               gemm->name, geom_str(&g, gs, sizeof gs),
                               rq_str(&rq, rs, sizeof rs), e, out[e], ref[e]);
              free(in), free(w), free(in_f), free(wf), free(wp), free(ref), free(out), free(bias);
            }
  CHECK(tested > 100, "only %d shapes ran in float", tested);
}
END_TEST

/* ---- uint8 depthwise convolution --------------------------------------------- */

/* u8_dwconv (weights packed with mn_u8_dw_pack: int32 q - zero point, period
 * mn_dw_period(c), then the bias) vs mn_u8_dwconv_ref, bit-exact. */
START_TEST(test_u8_dwconv) {
  const mn_kernels *kern = kernels_at(_i);
  rng_seed(0x8d0 + (uint64_t)_i);
  char gs[128], rs[160];
  int variant = 0;
  for (int si = 0; si < COUNT(dw_sizes); si++)
    for (int ci = 0; ci < COUNT(dw_channels); ci++)
      for (int ki = 0; ki < COUNT(dw_k); ki++)
        for (int stride = 1; stride <= 2; stride++)
          for (int same = 0; same <= 1; same++) {
            mn_conv_geom g;
            const int c = dw_channels[ci];
            if (!make_geom(&g, dw_sizes[si][0], dw_sizes[si][1], c, c, dw_k[ki], stride, same))
              continue;
            mn_requant rq = random_requant(variant++);
            const int32_t w_zp = rq.w_zp;
            const size_t n_in = (size_t)g.in_h * g.in_w * c, n_w = (size_t)g.kh * g.kw * c;
            const size_t n_out = (size_t)g.out_h * g.out_w * c, row = (size_t)g.out_w * c;
            uint8_t *in = xmalloc(n_in), *w = xmalloc(n_w);
            int32_t *wp = xmalloc(sizeof(int32_t) * (size_t)(g.kh * g.kw + 1) * mn_dw_period(c));
            int32_t *bias = xmalloc(sizeof(int32_t) * c);
            uint8_t *ref = xmalloc(n_out), *out = xmalloc(n_out);
            fill_u8(in, n_in);
            fill_u8(w, n_w);
            fill_bias_i32(bias, c);
            mn_u8_dw_pack(g.kh, g.kw, c, w, w_zp, bias, wp);
            mn_u8_dwconv_ref(&g, in, w, w_zp, bias, ref, &rq);
            const int a = rng_int(0, g.out_h);
            memset(out, 0xA5, n_out);
            kern->u8_dwconv(&g, in, wp, out, &rq, 0, a);
            for (size_t e = (size_t)a * row; e < n_out; e++)
              CHECK(out[e] == 0xA5, "%s u8_dwconv %s: rows [0,%d) wrote element %zu",
                    mn_isa_name(kern->isa), geom_str(&g, gs, sizeof gs), a, e);
            kern->u8_dwconv(&g, in, wp, out, &rq, a, g.out_h);
            for (size_t e = 0; e < n_out; e++)
              if (out[e] != ref[e])
                ck_abort_msg(
                    "%s u8_dwconv %s w_zp %d %s: out[y=%zu x=%zu c=%zu] = %d, "
                    "reference %d",
                    mn_isa_name(kern->isa), geom_str(&g, gs, sizeof gs), w_zp,
                    rq_str(&rq, rs, sizeof rs), e / row, (e % row) / c, e % c, out[e], ref[e]);
            if (mn_dw_padded_ok(&g) && c % kern->lanes == 0) { /* rows padded in two parts */
              const size_t prow = mn_dw_padded_row(&g);
              uint8_t *padded = xmalloc(prow * (size_t)g.in_h);
              memset(padded, 0x5A, prow * (size_t)g.in_h);
              const int r = rng_int(0, g.in_h);
              mn_u8_dw_pad_rows(&g, in, (uint8_t)rq.in_zp, padded, r, g.in_h);
              mn_u8_dw_pad_rows(&g, in, (uint8_t)rq.in_zp, padded, 0, r);
              memset(out, 0xA5, n_out);
              kern->u8_dwconv_padded(&g, padded, wp, out, &rq, 0, a);
              for (size_t e = (size_t)a * row; e < n_out; e++)
                CHECK(out[e] == 0xA5, "%s u8_dwconv_padded %s: rows [0,%d) wrote element %zu",
                      mn_isa_name(kern->isa), geom_str(&g, gs, sizeof gs), a, e);
              kern->u8_dwconv_padded(&g, padded, wp, out, &rq, a, g.out_h);
              for (size_t e = 0; e < n_out; e++)
                if (out[e] != ref[e])
                  ck_abort_msg("%s u8_dwconv_padded %s w_zp %d %s: out[y=%zu x=%zu c=%zu] = %d, "
                               "reference %d",
                               mn_isa_name(kern->isa), geom_str(&g, gs, sizeof gs), w_zp,
                               rq_str(&rq, rs, sizeof rs), e / row, (e % row) / c, e % c, out[e],
                               ref[e]);
              free(padded);
            }
            free(in), free(w), free(wp), free(bias), free(ref), free(out);
          }
}
END_TEST

/* ---- requantization edge cases --------------------------------------------------- */

/* Independent expectation: C's round() rounds half away from zero exactly
 * (no floor(v + 0.5) double-rounding trap). */
static uint8_t expected_requant(int32_t acc, const mn_requant *rq) {
  double r = round((double)acc * rq->mult) + rq->out_zp;
  if (r < rq->qmin) r = rq->qmin;
  if (r > rq->qmax) r = rq->qmax;
  return (uint8_t)r;
}

static mn_requant rq_make(double mult, int32_t out_zp, int32_t qmin, int32_t qmax) {
  mn_requant rq = {
      .mult = mult, .in_zp = 0, .w_zp = 0, .out_zp = out_zp, .qmin = qmin, .qmax = qmax};
  return rq;
}

/* Hand-checked values of mn_requantize: .5 ties of both signs go away from
 * zero, values just below .5 go toward zero, the zero point is added after
 * rounding, results clamp to [qmin, qmax]. */
START_TEST(test_requantize_known) {
  mn_requant h = rq_make(0.5, 0, 0, 255);
  ck_assert_int_eq(mn_requantize(1, &h), 1); /* 0.5 -> 1 */
  ck_assert_int_eq(mn_requantize(3, &h), 2); /* 1.5 -> 2 */
  ck_assert_int_eq(mn_requantize(5, &h), 3); /* 2.5 -> 3 (not banker's 2) */
  ck_assert_int_eq(mn_requantize(0, &h), 0);
  mn_requant hz = rq_make(0.5, 10, 0, 255);
  ck_assert_int_eq(mn_requantize(-1, &hz), 9); /* -0.5 -> -1, + 10 */
  ck_assert_int_eq(mn_requantize(-3, &hz), 8); /* -1.5 -> -2 */
  ck_assert_int_eq(mn_requantize(-5, &hz), 7); /* -2.5 -> -3 */
  ck_assert_int_eq(mn_requantize(1, &hz), 11);
  /* Just below one half: the classic floor(v + 0.5) trap gives 1. */
  mn_requant below = rq_make(nextafter(0.5, 0.0), 100, 0, 255);
  ck_assert_int_eq(mn_requantize(1, &below), 100);
  ck_assert_int_eq(mn_requantize(-1, &below), 100);
  mn_requant above = rq_make(nextafter(0.5, 1.0), 100, 0, 255);
  ck_assert_int_eq(mn_requantize(1, &above), 101);
  ck_assert_int_eq(mn_requantize(-1, &above), 99);
  /* Large accumulators: exact ties and near-ties far from zero. */
  mn_requant p31 = rq_make(ldexp(1.0, -31), 50, 0, 255);
  ck_assert_int_eq(mn_requantize(1 << 30, &p31), 51);       /* exactly 0.5 */
  ck_assert_int_eq(mn_requantize((1 << 30) - 1, &p31), 50); /* just below */
  ck_assert_int_eq(mn_requantize(-(1 << 30), &p31), 49);    /* exactly -0.5 */
  ck_assert_int_eq(mn_requantize(INT32_MAX, &p31), 51);     /* 0.99999... */
  ck_assert_int_eq(mn_requantize(INT32_MIN, &p31), 49);     /* -1 */
  mn_requant p32 = rq_make(ldexp(1.0, -32), 50, 0, 255);
  ck_assert_int_eq(mn_requantize(INT32_MAX, &p32), 50); /* 0.4999999998 */
  ck_assert_int_eq(mn_requantize(INT32_MIN, &p32), 49); /* exactly -0.5 */
  /* Clamping. */
  mn_requant one = rq_make(1.0, 0, 3, 200);
  ck_assert_int_eq(mn_requantize(INT32_MAX, &one), 200);
  ck_assert_int_eq(mn_requantize(INT32_MIN, &one), 3);
  ck_assert_int_eq(mn_requantize(2, &one), 3);
  ck_assert_int_eq(mn_requantize(3, &one), 3);
  ck_assert_int_eq(mn_requantize(4, &one), 4);
  ck_assert_int_eq(mn_requantize(200, &one), 200);
  ck_assert_int_eq(mn_requantize(201, &one), 200);
  mn_requant big = rq_make(1000.0, 255, 0, 255);
  ck_assert_int_eq(mn_requantize(INT32_MAX, &big), 255);
  ck_assert_int_eq(mn_requantize(INT32_MIN, &big), 0);
  ck_assert_int_eq(mn_requantize(-1, &big), 0);
}
END_TEST

static const int32_t edge_accs[] = {0,
                                    1,
                                    -1,
                                    2,
                                    -2,
                                    3,
                                    -3,
                                    5,
                                    -5,
                                    7,
                                    -7,
                                    127,
                                    -127,
                                    255,
                                    -255,
                                    1000,
                                    -1000,
                                    65535,
                                    -65536,
                                    (1 << 30) - 1,
                                    1 << 30,
                                    (1 << 30) + 1,
                                    -(1 << 30),
                                    -(1 << 30) - 1,
                                    INT32_MAX,
                                    INT32_MIN,
                                    INT32_MIN + 1,
                                    INT32_MAX - 1};

/* The edge accumulators through every requantization path: mn_requantize,
 * mn_requantize_row, and each level's vectorised requantization, reached
 * through the u8 GEMM with k = 0 (the packed panel then holds only the
 * biases, so the output is requantize(bias)). */
START_TEST(test_requantize_paths) {
  const mn_kernels *kern = kernels_at(_i);
  const double mults[] = {0.5,
                          0.25,
                          nextafter(0.5, 0.0),
                          nextafter(0.5, 1.0),
                          ldexp(1.0, -31),
                          ldexp(1.0, -32),
                          1e-4,
                          0.05,
                          0.0023,
                          1.0,
                          3.0,
                          1e-10,
                          1000.0};
  const int32_t zps[] = {0, 10, 128, 255};
  const int32_t ranges[][2] = {{0, 255}, {3, 200}, {128, 255}};
  const int n = COUNT(edge_accs);
  const mn_u8_gemm *g = u8_gemm_of(kern);
  void *packed = xmalloc(mn_u8_gemm_packed_size(g, n, 0));
  uint8_t dummy_a[4] = {0, 0, 0, 0};
  uint8_t fast[COUNT(edge_accs)], row[COUNT(edge_accs)];
  char rs[160];
  for (int mi = 0; mi < COUNT(mults); mi++)
    for (int zi = 0; zi < COUNT(zps); zi++)
      for (int ri = 0; ri < COUNT(ranges); ri++) {
        mn_requant rq = rq_make(mults[mi], zps[zi], ranges[ri][0], ranges[ri][1]);
        mn_u8_gemm_pack(g, n, 0, NULL, 0, 0, edge_accs, packed);
        mn_u8_gemm_run(g, 1, n, 0, dummy_a, 1, packed, fast, (size_t)n, &rq, 0, 1);
        mn_requantize_row(edge_accs, n, &rq, row);
        for (int i = 0; i < n; i++) {
          uint8_t want = expected_requant(edge_accs[i], &rq);
          uint8_t got = mn_requantize(edge_accs[i], &rq);
          CHECK(got == want, "mn_requantize(%d, %s) = %d, expected %d", edge_accs[i],
                rq_str(&rq, rs, sizeof rs), got, want);
          CHECK(row[i] == want, "mn_requantize_row(%d, %s) = %d, expected %d", edge_accs[i],
                rq_str(&rq, rs, sizeof rs), row[i], want);
          CHECK(fast[i] == want, "%s vector requantization of %d (%s) = %d, expected %d",
                mn_isa_name(kern->isa), edge_accs[i], rq_str(&rq, rs, sizeof rs), fast[i], want);
        }
      }
  free(packed);
}
END_TEST

/* Random accumulators with random parameters, same three paths. */
START_TEST(test_requantize_random) {
  const mn_kernels *kern = kernels_at(_i);
  rng_seed(0x77 + (uint64_t)_i);
  enum { N = 1000 };
  int32_t *acc = xmalloc(sizeof(int32_t) * N);
  const mn_u8_gemm *g = u8_gemm_of(kern);
  void *packed = xmalloc(mn_u8_gemm_packed_size(g, N, 0));
  uint8_t *fast = xmalloc(N), *row = xmalloc(N), dummy_a[1] = {0};
  char rs[160];
  for (int round_i = 0; round_i < 200; round_i++) {
    mn_requant rq = random_requant(round_i);
    for (int i = 0; i < N; i++) {
      /* Mostly accumulators near the output range, some anywhere in int32. */
      acc[i] = i % 10 == 0 ? (int32_t)(uint32_t)rng_next()
                           : (int32_t)lround(rng_float(-300.0f, 300.0f) / rq.mult);
    }
    rq.in_zp = rq.w_zp = 0; /* k = 0: the output is requantize(bias) */
    mn_u8_gemm_pack(g, N, 0, NULL, 0, 0, acc, packed);
    mn_u8_gemm_run(g, 1, N, 0, dummy_a, 1, packed, fast, N, &rq, 0, 1);
    mn_requantize_row(acc, N, &rq, row);
    for (int i = 0; i < N; i++) {
      uint8_t want = expected_requant(acc[i], &rq);
      CHECK(mn_requantize(acc[i], &rq) == want && row[i] == want && fast[i] == want,
            "%s requantize(%d, %s): scalar %d row %d vector %d, expected %d",
            mn_isa_name(kern->isa), acc[i], rq_str(&rq, rs, sizeof rs), mn_requantize(acc[i], &rq),
            row[i], fast[i], want);
    }
  }
  free(acc), free(packed), free(fast), free(row);
}
END_TEST

/* ---- average pool -------------------------------------------------------------- */

/* float: mean in double then clamped; channel ranges [0, c0) and [c0, c) with
 * the first call leaving the rest alone. The loop's level runs the fast
 * kernel (sums in float) and the reference (in double). */
START_TEST(test_f32_avgpool) {
  const mn_kernels *kern = kernels_at(_i);
  rng_seed(0xa9 + (uint64_t)_i);
  const int pixels[] = {1, 2, 16, 49, 64, 196, 16384}; /* 16384: v3's first pool at 512 */
  const int channels[] = {1, 3, 16, 17, 40, 72, 256, 1024};
  for (int pi = 0; pi < COUNT(pixels); pi++)
    for (int ci = 0; ci < COUNT(channels); ci++)
      for (int cl = 0; cl < 2; cl++) {
        const int p = pixels[pi], c = channels[ci];
        const float lo = cl ? 0.0f : -INFINITY, hi = cl ? 6.0f : INFINITY;
        float *in = xmalloc(sizeof(float) * (size_t)p * c), *out = xmalloc(sizeof(float) * c);
        fill_f32(in, (size_t)p * c, -3.0f, 9.0f);
        const int c0 = rng_int(0, c);
        for (int fast = 0; fast <= 1; fast++) {
          const char *name = fast ? mn_isa_name(kern->isa) : "reference";
          fill_sentinel(out, c);
          if (fast) kern->f32_avgpool(in, p, c, out, lo, hi, 0, c0);
          else mn_f32_avgpool(in, p, c, out, lo, hi, 0, c0);
          for (int ch = c0; ch < c; ch++)
            CHECK(is_sentinel(out[ch]), "%s avgpool [0,%d) wrote channel %d", name, c0, ch);
          if (fast) kern->f32_avgpool(in, p, c, out, lo, hi, c0, c);
          else mn_f32_avgpool(in, p, c, out, lo, hi, c0, c);
          for (int ch = 0; ch < c; ch++) {
            double s = 0.0;
            for (int q = 0; q < p; q++) s += in[(size_t)q * c + ch];
            float want = (float)(s / p);
            want = want < lo ? lo : want > hi ? hi : want;
            CHECK(close_enough(out[ch], want, fast ? 2 : 1),
                  "%s f32 avgpool %d px x %d ch, channel %d: %.9g, expected %.9g", name, p, c, ch,
                  out[ch], want);
          }
        }
        free(in), free(out);
      }
}
END_TEST

/* uint8: (sum + n/2) / n (integer division: halves round up), clamped. */
START_TEST(test_u8_avgpool) {
  rng_seed(0xaa);
  /* Ties: 1 and 2 average 1.5 -> 2; sum 5 over 4 (1.25) -> 1; sum 6 over 4 (1.5) -> 2. */
  const uint8_t two[2] = {1, 2}, four_a[4] = {1, 1, 1, 2}, four_b[4] = {1, 1, 2, 2};
  uint8_t o = 0;
  mn_u8_avgpool(two, 2, 1, &o, 0, 255, 0, 1);
  ck_assert_int_eq(o, 2);
  mn_u8_avgpool(four_a, 4, 1, &o, 0, 255, 0, 1);
  ck_assert_int_eq(o, 1);
  mn_u8_avgpool(four_b, 4, 1, &o, 0, 255, 0, 1);
  ck_assert_int_eq(o, 2);
  mn_u8_avgpool(four_b, 4, 1, &o, 3, 255, 0, 1); /* clamped up to qmin */
  ck_assert_int_eq(o, 3);

  const int pixels[] = {1, 3, 16, 49, 4096};
  const int channels[] = {1, 3, 16, 17, 1024};
  const int32_t ranges[][2] = {{0, 255}, {3, 200}};
  for (int pi = 0; pi < COUNT(pixels); pi++)
    for (int ci = 0; ci < COUNT(channels); ci++)
      for (int ri = 0; ri < 2; ri++) {
        const int p = pixels[pi], c = channels[ci];
        uint8_t *in = xmalloc((size_t)p * c), *out = xmalloc(c);
        if (ri == 1 && pi == COUNT(pixels) - 1)
          memset(in, 255, (size_t)p * c); /* largest sum */
        else
          fill_u8(in, (size_t)p * c);
        const int c0 = rng_int(0, c);
        memset(out, 0xA5, c);
        mn_u8_avgpool(in, p, c, out, ranges[ri][0], ranges[ri][1], 0, c0);
        for (int ch = c0; ch < c; ch++)
          CHECK(out[ch] == 0xA5, "u8 avgpool [0,%d) wrote channel %d", c0, ch);
        mn_u8_avgpool(in, p, c, out, ranges[ri][0], ranges[ri][1], c0, c);
        for (int ch = 0; ch < c; ch++) {
          int64_t s = 0;
          for (int q = 0; q < p; q++) s += in[(size_t)q * c + ch];
          int64_t want = (s + p / 2) / p;
          want = want < ranges[ri][0] ? ranges[ri][0] : want > ranges[ri][1] ? ranges[ri][1] : want;
          CHECK(out[ch] == want, "u8 avgpool %d px x %d ch, channel %d: %d, expected %d", p, c, ch,
                out[ch], (int)want);
        }
        free(in), free(out);
      }
}
END_TEST

/* ---- softmax --------------------------------------------------------------------- */

/* float: probabilities sum to 1, match a direct double computation, keep the
 * order of the logits; huge logits do not overflow to NaN. */
START_TEST(test_f32_softmax) {
  /* _i = -1: the reference; then every level's vector kernel */
  void (*softmax)(const float *, int, float, float *) =
      _i < 0 ? mn_f32_softmax : mn_kernels_for((mn_isa)_i)->f32_softmax;
  rng_seed(0x50);
  const int sizes[] = {1, 2, 10, 1000, 1001};
  const float spreads[] = {1.0f, 10.0f, 1000.0f};
  const float betas[] = {1.0f, 0.5f};
  for (int si = 0; si < COUNT(sizes); si++)
    for (int sp = 0; sp < COUNT(spreads); sp++)
      for (int bi = 0; bi < COUNT(betas); bi++) {
        const int n = sizes[si];
        float *in = xmalloc(sizeof(float) * n), *out = xmalloc(sizeof(float) * n);
        fill_f32(in, n, -spreads[sp], spreads[sp]);
        softmax(in, n, betas[bi], out);
        double mx = in[0], sum = 0.0, total = 0.0;
        int arg_in = 0, arg_out = 0;
        for (int i = 1; i < n; i++) {
          if (in[i] > mx) mx = in[i], arg_in = i;
          if (out[i] > out[arg_out]) arg_out = i;
        }
        for (int i = 0; i < n; i++) sum += exp((double)betas[bi] * (in[i] - mx));
        /* The vector kernels take x = beta * (in - max) in float: its rounding
         * (|x| * 6e-8) moves exp(x) by that much relative, at most ~2e-8
         * absolute (at x = -1); the reference is exact to 1e-6 relative. */
        const double abs_tol = _i < 0 ? 1e-30 : 1e-7;
        for (int i = 0; i < n; i++) {
          double want = exp((double)betas[bi] * (in[i] - mx)) / sum;
          CHECK(isfinite(out[i]) && out[i] >= 0.0f && out[i] <= 1.0f, "softmax n=%d: p[%d] = %g", n,
                i, out[i]);
          CHECK(fabs(out[i] - want) <= 1e-6 * fmax(want, 1e-30) + abs_tol,
                "softmax n=%d beta %g: p[%d] = %.9g, expected %.9g", n, betas[bi], i, out[i], want);
          total += out[i];
        }
        CHECK(fabs(total - 1.0) < 1e-5, "softmax n=%d sums to %.9g", n, total);
        ck_assert_int_eq(arg_in, arg_out);
        free(in), free(out);
      }
}
END_TEST

/* uint8: p = softmax(beta * in_scale * (q - max q)) in double, then
 * q_out = clamp(round_half_away(p / out_scale) + zp, 0, 255), computed here directly. */
START_TEST(test_u8_softmax) {
  rng_seed(0x51);
  const int sizes[] = {1, 2, 10, 1000, 1001};
  const float in_scales[] = {0.1660992f, 0.130833f, 0.05f, 0.5f};
  const float out_scales[] = {1.0f / 256.0f, 1.0f / 255.0f};
  const int32_t zps[] = {0, 5};
  for (int si = 0; si < COUNT(sizes); si++)
    for (int is = 0; is < COUNT(in_scales); is++)
      for (int os = 0; os < COUNT(out_scales); os++)
        for (int zi = 0; zi < COUNT(zps); zi++) {
          const int n = sizes[si];
          const float beta = zi ? 0.75f : 1.0f;
          uint8_t *in = xmalloc(n), *out = xmalloc(n);
          fill_u8(in, n);
          if (n > 3) in[n / 2] = 255, in[n / 3] = 255; /* a tie at the maximum */
          mn_u8_softmax(in, n, beta, in_scales[is], out_scales[os], zps[zi], out);
          int mx = 0;
          for (int i = 0; i < n; i++) mx = in[i] > mx ? in[i] : mx;
          double sum = 0.0;
          for (int i = 0; i < n; i++)
            sum += exp((double)beta * (double)in_scales[is] * (double)(in[i] - mx));
          for (int i = 0; i < n; i++) {
            double p = exp((double)beta * (double)in_scales[is] * (double)(in[i] - mx)) / sum;
            double q = round(p / (double)out_scales[os]) + zps[zi];
            int want = q < 0 ? 0 : q > 255 ? 255 : (int)q;
            CHECK(out[i] == want,
                  "u8 softmax n=%d in_scale %g out_scale %g zp %d: q[%d] (in %d) = %d, "
                  "expected %d",
                  n, in_scales[is], out_scales[os], zps[zi], i, in[i], out[i], want);
          }
          free(in), free(out);
        }
}
END_TEST

/* ---- float input from bytes ---------------------------------------------------------- */

/* Every byte gives the float of (v - 127.5) / 127.5 computed in double, at any
 * offset and length (vector body and scalar tail). */
/* u8_lut: every byte of random tables, lengths around the vector widths
 * (whole vectors, tails), against the plain lookup. */
START_TEST(test_u8_lut) {
  const mn_kernels *kern = kernels_at(_i);
  rng_seed(0x107 + (uint64_t)_i);
  uint8_t lut[256], in[700], out[700], ref[700];
  for (int trial = 0; trial < 40; trial++) {
    for (int q = 0; q < 256; q++) lut[q] = (uint8_t)rng_int(0, 255);
    const size_t n = trial < 4 ? (size_t)256 * (trial + 1) % 700 : (size_t)rng_int(0, 700);
    for (size_t e = 0; e < n; e++) in[e] = trial < 4 ? (uint8_t)e : (uint8_t)rng_int(0, 255);
    memset(out, 0xA5, sizeof out);
    mn_u8_lut_ref(in, n, lut, ref);
    kern->u8_lut(in, n, lut, out);
    for (size_t e = 0; e < n; e++)
      CHECK(out[e] == ref[e], "%s u8_lut n=%zu: out[%zu] = %d for byte %d, table says %d",
            mn_isa_name(kern->isa), n, e, out[e], in[e], ref[e]);
    for (size_t e = n; e < sizeof out; e++)
      CHECK(out[e] == 0xA5, "%s u8_lut n=%zu wrote out[%zu]", mn_isa_name(kern->isa), n, e);
  }
}
END_TEST

START_TEST(test_f32_from_u8) {
  const mn_kernels *k = mn_kernels_for((mn_isa)_i);
  enum { N = 256 + 37 };
  uint8_t in[N];
  float out[N + 1];
  for (int i = 0; i < N; i++) in[i] = (uint8_t)(i * 7 + 3);
  for (int v = 0; v < 256; v++) in[v] = (uint8_t)v;
  for (int off = 0; off < 3; off++)
    for (int n = 0; n + off <= N; n += n < 40 ? 1 : 61) {
      out[n] = -99.0f;
      k->f32_from_u8(in + off, (size_t)n, out);
      for (int i = 0; i < n; i++) {
        const float want = (float)(((double)in[off + i] - 127.5) / 127.5);
        CHECK(out[i] == want, "%s: byte %d -> %.9g, expected %.9g (n %d, offset %d)",
              mn_isa_name((mn_isa)_i), in[off + i], out[i], want, n, off);
      }
      CHECK(out[n] == -99.0f, "%s: wrote past n = %d", mn_isa_name((mn_isa)_i), n);
    }
}
END_TEST

/* ---- suite ------------------------------------------------------------------------ */

static Suite *kernels_suite(void) {
  Suite *s = suite_create("kernels");
  /* Per-level tests run once per instruction-set level from generic to the best. */
  const int levels = (int)mn_isa_detect() + 1;
  TCase *tc = tcase_create("fast-vs-reference");
  /* Per test: a hang fails the test (well within meson's 300 s for the program). */
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_f32_gemm_for, MN_ISA_GENERIC, levels);
  tcase_add_loop_test(tc, test_f32_gemm, 0, 4 * levels); /* x 4 tile shapes */
  tcase_add_loop_test(tc, test_f32_conv, 0, 3 * levels);
  tcase_add_test(tc, test_dw_period);
  tcase_add_loop_test(tc, test_f32_dwconv, MN_ISA_GENERIC, levels);
  tcase_add_loop_test(tc, test_u8_gemm, MN_ISA_GENERIC, levels);
  tcase_add_loop_test(tc, test_u8_conv, MN_ISA_GENERIC, levels);
  tcase_add_loop_test(tc, test_u8_conv_f32, 0, 3 * levels); /* x 3 tile shapes */
  tcase_add_loop_test(tc, test_u8_dwconv, MN_ISA_GENERIC, levels);
  tcase_add_loop_test(tc, test_f32_from_u8, MN_ISA_GENERIC, levels);
  tcase_add_loop_test(tc, test_u8_lut, MN_ISA_GENERIC, levels);
  suite_add_tcase(s, tc);

  TCase *rq = tcase_create("requantize");
  tcase_set_timeout(rq, 120);
  tcase_add_test(rq, test_requantize_known);
  tcase_add_loop_test(rq, test_requantize_paths, MN_ISA_GENERIC, levels);
  tcase_add_loop_test(rq, test_requantize_random, MN_ISA_GENERIC, levels);
  suite_add_tcase(s, rq);

  TCase *small = tcase_create("pool-softmax");
  tcase_set_timeout(small, 120);
  tcase_add_loop_test(small, test_f32_avgpool, MN_ISA_GENERIC, levels);
  tcase_add_test(small, test_u8_avgpool);
  tcase_add_loop_test(small, test_f32_softmax, -1, levels);
  tcase_add_test(small, test_u8_softmax);
  suite_add_tcase(s, small);
  return s;
}

int main(void) {
  mn_isa best = mn_isa_detect();
  printf("instruction-set levels tested: generic");
  for (int l = MN_ISA_GENERIC + 1; l <= (int)best; l++) printf(", %s", mn_isa_name((mn_isa)l));
  printf("\n");
  SRunner *sr = srunner_create(kernels_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
