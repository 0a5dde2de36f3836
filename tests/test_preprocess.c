/* test_preprocess.c: Check tests of mn_preprocess (inference/preprocess.c)
 * and mn_topk (inference/topk.c).
 *
 * mn_preprocess is compared byte for byte with a straightforward
 * implementation of the reference semantics written here from the
 * description in shared/models/README.md ("Exact semantics of the
 * reference"):
 *   central crop: top = (int)((h - 0.875*h) / 2), crop height h - 2*top,
 *                 same for the width;
 *   resize:       src = (dst + 0.5) * (in / S) - 0.5 clamped to [0, in-1]
 *                 (the scale in / S computed first, as TensorFlow's resize
 *                 and the reference do),
 *                 i0 = floor(src), i1 = min(i0 + 1, in - 1), w = src - i0,
 *                 interpolate along x, then along y, in double;
 *   rounding:     floor(v + 0.5), clamped to 0..255.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mobilenet/mobilenet.h"

/* ---- helpers -------------------------------------------------------------- */

static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s; }
static uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static void fill_random(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rng_next();
}

static void *xmalloc(size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  ck_assert_msg(p != NULL, "out of memory (%zu bytes)", bytes);
  return p;
}

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- the reference, written independently ------------------------------------ */

/* Tap positions along one axis: crop of length len starting at start. */
typedef struct {
  int i0, i1;
  double w;
} tap;

static void ref_axis(int full, int size, tap *taps) {
  const int start = (int)((full - 0.875 * full) / 2);
  const int len = full - 2 * start;
  const double scale = (double)len / (double)size;
  for (int d = 0; d < size; d++) {
    double src = (d + 0.5) * scale - 0.5;
    src = fmin(fmax(src, 0.0), (double)(len - 1));
    int i0 = (int)floor(src);
    int i1 = i0 + 1 < len - 1 ? i0 + 1 : len - 1;
    taps[d].i0 = start + i0;
    taps[d].i1 = start + i1;
    taps[d].w = src - i0;
  }
}

/* Reference preprocessing of a packed RGB image (stride = 3 * width). */
static void ref_preprocess(const uint8_t *rgb, int width, int height, int size, uint8_t *out) {
  tap *tx = xmalloc(sizeof(tap) * size), *ty = xmalloc(sizeof(tap) * size);
  ref_axis(width, size, tx);
  ref_axis(height, size, ty);
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      for (int c = 0; c < 3; c++) {
#define PX(yy, xx) ((double)rgb[((size_t)(yy)*width + (xx)) * 3 + c])
        /* along x on the two source rows, then along y */
        double top = PX(ty[y].i0, tx[x].i0) * (1.0 - tx[x].w) + PX(ty[y].i0, tx[x].i1) * tx[x].w;
        double bot = PX(ty[y].i1, tx[x].i0) * (1.0 - tx[x].w) + PX(ty[y].i1, tx[x].i1) * tx[x].w;
#undef PX
        double v = floor(top * (1.0 - ty[y].w) + bot * ty[y].w + 0.5);
        out[((size_t)y * size + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
      }
  free(tx);
  free(ty);
}

/* ---- preprocessing vs the reference ------------------------------------------------ */

static const int image_sizes[][2] = {{1, 1},     {1, 7},     {7, 1},    {3, 5},
                                     {224, 224}, {500, 375}, {37, 1001}};
static const int out_sizes[] = {32, 128, 224, 512};

/* Random packed RGB images of odd sizes to every output size: identical bytes. */
START_TEST(test_preprocess_matches_reference) {
  const int w = image_sizes[_i][0], h = image_sizes[_i][1];
  rng_seed(0x9e00 + (uint64_t)_i);
  uint8_t *rgb = xmalloc((size_t)w * h * 3);
  fill_random(rgb, (size_t)w * h * 3);
  if (_i == 4) /* one smooth image too: gradients give many exact .5 cases */
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        for (int c = 0; c < 3; c++) rgb[((size_t)y * w + x) * 3 + c] = (uint8_t)(x + y * (c + 1));
  mn_image im = {rgb, w, h, (size_t)w * 3, MN_PIXEL_RGB};
  char err[MN_ERROR_MAX];
  for (int si = 0; si < COUNT(out_sizes); si++) {
    const int S = out_sizes[si];
    uint8_t *got = xmalloc((size_t)S * S * 3), *want = xmalloc((size_t)S * S * 3);
    ref_preprocess(rgb, w, h, S, want);
    err[0] = '\0';
    mn_status st = mn_preprocess(&im, S, got, err);
    ck_assert_msg(st == MN_OK, "mn_preprocess %dx%d -> %d: status %d (%s)", w, h, S, st, err);
    for (size_t i = 0; i < (size_t)S * S * 3; i++)
      if (got[i] != want[i])
        ck_abort_msg(
            "mn_preprocess %dx%d -> %d: pixel (y %zu, x %zu, channel %zu) = %d, "
            "reference %d",
            w, h, S, i / 3 / S, i / 3 % S, i % 3, got[i], want[i]);
    free(got);
    free(want);
  }
  free(rgb);
}
END_TEST

/* ---- pixel formats and strides ---------------------------------------------------- */

/* Writes the RGB image in another layout with a stride larger than
 * width * bpp; padding bytes and the x byte hold random values. */
static uint8_t *convert(const uint8_t *rgb, int w, int h, mn_pixel_format f, size_t *stride) {
  int bpp = 4, ro = 0, go = 1, bo = 2;
  switch (f) {
    case MN_PIXEL_RGB:
      bpp = 3;
      break;
    case MN_PIXEL_BGR:
      bpp = 3, ro = 2, bo = 0;
      break;
    case MN_PIXEL_RGBX:
      break;
    case MN_PIXEL_BGRX:
      ro = 2, bo = 0;
      break;
    case MN_PIXEL_XRGB:
      ro = 1, go = 2, bo = 3;
      break;
    case MN_PIXEL_XBGR:
      ro = 3, go = 2, bo = 1;
      break;
  }
  *stride = (size_t)w * bpp + 1 + (size_t)(rng_next() % 29);
  /* Exactly (h - 1) strides plus one row: reading past the last row's pixels
   * shows under AddressSanitizer. */
  const size_t bytes = (size_t)(h - 1) * *stride + (size_t)w * bpp;
  uint8_t *p = xmalloc(bytes);
  fill_random(p, bytes);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const uint8_t *s = rgb + ((size_t)y * w + x) * 3;
      uint8_t *d = p + (size_t)y * *stride + (size_t)x * bpp;
      d[ro] = s[0], d[go] = s[1], d[bo] = s[2];
    }
  return p;
}

/* Every format with a padded stride gives the bytes of the packed RGB image. */
START_TEST(test_pixel_formats) {
  const int w = image_sizes[_i][0], h = image_sizes[_i][1];
  rng_seed(0xf0 + (uint64_t)_i);
  uint8_t *rgb = xmalloc((size_t)w * h * 3);
  fill_random(rgb, (size_t)w * h * 3);
  const int S = 128;
  uint8_t *want = xmalloc((size_t)S * S * 3), *got = xmalloc((size_t)S * S * 3);
  char err[MN_ERROR_MAX];
  mn_image im = {rgb, w, h, (size_t)w * 3, MN_PIXEL_RGB};
  ck_assert_int_eq(mn_preprocess(&im, S, want, err), MN_OK);
  static const char *names[] = {"RGB", "BGR", "RGBX", "BGRX", "XRGB", "XBGR"};
  for (int f = MN_PIXEL_RGB; f <= MN_PIXEL_XBGR; f++) {
    size_t stride;
    uint8_t *px = convert(rgb, w, h, (mn_pixel_format)f, &stride);
    mn_image fim = {px, w, h, stride, (mn_pixel_format)f};
    memset(got, 0, (size_t)S * S * 3);
    mn_status st = mn_preprocess(&fim, S, got, err);
    ck_assert_msg(st == MN_OK, "%s %dx%d stride %zu: status %d (%s)", names[f], w, h, stride, st,
                  err);
    ck_assert_msg(memcmp(got, want, (size_t)S * S * 3) == 0,
                  "%s %dx%d stride %zu differs from packed RGB", names[f], w, h, stride);
    free(px);
  }
  free(rgb), free(want), free(got);
}
END_TEST

/* ---- argument errors -------------------------------------------------------------- */

static void expect_error(const mn_image *im, int size, uint8_t *out, const char *what) {
  char err[MN_ERROR_MAX];
  err[0] = '\0';
  mn_status st = mn_preprocess(im, size, out, err);
  ck_assert_msg(st != MN_OK, "%s: accepted", what);
  ck_assert_msg(err[0] != '\0', "%s: status %d without a message", what, st);
  ck_assert_msg(strlen(err) < MN_ERROR_MAX, "%s: message not terminated", what);
}

/* Bad sizes, pointers, strides, formats and resolutions are refused with a message. */
START_TEST(test_preprocess_errors) {
  uint8_t px[64 * 4 * 8] = {0};
  uint8_t *out = xmalloc((size_t)MN_MAX_RESOLUTION * MN_MAX_RESOLUTION * 3);
  mn_image ok = {px, 8, 8, 8 * 3, MN_PIXEL_RGB};
  char err[MN_ERROR_MAX];
  ck_assert_int_eq(mn_preprocess(&ok, 32, out, err), MN_OK);
  ck_assert_int_eq(mn_preprocess(&ok, MN_MIN_RESOLUTION, out, err), MN_OK);
  ck_assert_int_eq(mn_preprocess(&ok, MN_MAX_RESOLUTION, out, err), MN_OK);

  mn_image im = ok;
  im.width = 0;
  expect_error(&im, 32, out, "width 0");
  im = ok, im.height = 0;
  expect_error(&im, 32, out, "height 0");
  im = ok, im.width = -3;
  expect_error(&im, 32, out, "width -3");
  im = ok, im.height = -1;
  expect_error(&im, 32, out, "height -1");
  im = ok, im.width = im.height = -8;
  expect_error(&im, 32, out, "negative width and height");
  im = ok, im.pixels = NULL;
  expect_error(&im, 32, out, "NULL pixels");
  expect_error(NULL, 32, out, "NULL image");
  expect_error(&ok, 32, NULL, "NULL output");
  im = ok, im.stride = 8 * 3 - 1;
  expect_error(&im, 32, out, "stride one byte short");
  im = ok, im.stride = 0;
  expect_error(&im, 32, out, "stride 0");
  im = ok, im.format = MN_PIXEL_RGBX, im.stride = 8 * 3; /* enough for RGB, not RGBX */
  expect_error(&im, 32, out, "stride too small for 4 bytes per pixel");
  im = ok, im.format = (mn_pixel_format)42;
  expect_error(&im, 32, out, "unknown pixel format");
  expect_error(&ok, 31, out, "resolution 31");
  expect_error(&ok, 513, out, "resolution 513");
  expect_error(&ok, 0, out, "resolution 0");
  expect_error(&ok, -224, out, "resolution -224");
  free(out);
}
END_TEST

/* ---- mn_topk ---------------------------------------------------------------------- */

/* Equal scores come out lowest index first; the order is by score. */
START_TEST(test_topk_ties) {
  float s[10] = {0.1f, 0.3f, 0.3f, 0.05f, 0.3f, 0.1f, 0.0f, 0.1f, 0.05f, 0.0f};
  int cls[10];
  float sc[10];
  ck_assert_int_eq(mn_topk(s, 10, 5, cls, sc), 5);
  const int want[5] = {1, 2, 4, 0, 5};
  for (int i = 0; i < 5; i++) {
    ck_assert_int_eq(cls[i], want[i]);
    ck_assert_float_eq(sc[i], s[want[i]]);
  }
  /* All equal: 0, 1, 2, ... */
  float flat[1000];
  for (int i = 0; i < 1000; i++) flat[i] = 0.001f;
  ck_assert_int_eq(mn_topk(flat, 1000, 7, cls, sc), 7);
  for (int i = 0; i < 7; i++) ck_assert_int_eq(cls[i], i);
}
END_TEST

/* 1001 outputs: index 0 (background) is skipped even when it scores best,
 * and class = index - 1. 1000 outputs: class = index. */
START_TEST(test_topk_background) {
  float s[1001];
  for (int i = 0; i < 1001; i++) s[i] = (float)i / 1e6f; /* ascending */
  s[0] = 0.9f;                                           /* background, best of all */
  s[500] = 0.5f;
  s[17] = 0.5f; /* tie with 500: lower index first */
  int cls[8];
  float sc[8];
  ck_assert_int_eq(mn_topk(s, 1001, 4, cls, sc), 4);
  ck_assert_int_eq(cls[0], 16);
  ck_assert_int_eq(cls[1], 499);
  ck_assert_int_eq(cls[2], 999); /* index 1000 */
  ck_assert_int_eq(cls[3], 998);
  ck_assert_float_eq(sc[0], 0.5f);
  ck_assert_float_eq(sc[2], s[1000]);
  /* The same vector read as 1000 classes: index 0 is a class. */
  ck_assert_int_eq(mn_topk(s, 1000, 2, cls, sc), 2);
  ck_assert_int_eq(cls[0], 0);
  ck_assert_int_eq(cls[1], 17);
}
END_TEST

/* k larger than the number of classes returns every class, sorted; k <= 0 returns 0. */
START_TEST(test_topk_large_k) {
  float s[5] = {0.2f, 0.1f, 0.4f, 0.1f, 0.2f};
  int cls[16];
  float sc[16];
  ck_assert_int_eq(mn_topk(s, 5, 16, cls, sc), 5);
  const int want[5] = {2, 0, 4, 1, 3};
  for (int i = 0; i < 5; i++) ck_assert_int_eq(cls[i], want[i]);
  float s1001[1001];
  for (int i = 0; i < 1001; i++) s1001[i] = 1.0f / (float)(i + 1);
  int *c2 = xmalloc(sizeof(int) * 1001);
  float *sc2 = xmalloc(sizeof(float) * 1001);
  ck_assert_int_eq(mn_topk(s1001, 1001, 1001, c2, sc2), 1000); /* background excluded */
  for (int i = 0; i < 1000; i++) ck_assert_int_eq(c2[i], i);
  free(c2), free(sc2);
  ck_assert_int_eq(mn_topk(s, 5, 0, cls, sc), 0);
  ck_assert_int_eq(mn_topk(s, 5, -3, cls, sc), 0);
  ck_assert_int_eq(mn_topk(s, 1, 3, cls, sc), 1);
}
END_TEST

/* NaN scores (a corrupt model can produce them) do not crash and do not
 * produce out-of-range classes; finite scores still come out in order. */
START_TEST(test_topk_nan) {
  float s[1001];
  for (int i = 0; i < 1001; i++) s[i] = (float)(i % 97) / 97.0f;
  for (int i = 0; i < 1001; i += 7) s[i] = NAN;
  int cls[10];
  float sc[10];
  int n = mn_topk(s, 1001, 10, cls, sc);
  ck_assert_int_le(n, 10);
  ck_assert_int_ge(n, 0);
  for (int i = 0; i < n; i++) {
    ck_assert_int_ge(cls[i], 0);
    ck_assert_int_lt(cls[i], 1000);
  }
  for (int i = 0; i < 1001; i++) s[i] = NAN;
  n = mn_topk(s, 1001, 5, cls, sc);
  ck_assert_int_le(n, 5);
  for (int i = 0; i < n; i++) {
    ck_assert_int_ge(cls[i], 0);
    ck_assert_int_lt(cls[i], 1000);
  }
  float inf[4] = {-INFINITY, INFINITY, NAN, 0.0f};
  n = mn_topk(inf, 4, 4, cls, sc);
  ck_assert_int_le(n, 4);
  ck_assert_int_ge(n, 1);
  ck_assert_int_eq(cls[0], 1); /* +inf is the best finite-or-infinite score */
}
END_TEST

/* ---- suite ------------------------------------------------------------------------ */

static Suite *preprocess_suite(void) {
  Suite *s = suite_create("preprocess");
  TCase *tc = tcase_create("preprocess");
  /* Per test: a hang fails the test (well within meson's 300 s for the program). */
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_preprocess_matches_reference, 0, COUNT(image_sizes));
  tcase_add_loop_test(tc, test_pixel_formats, 0, COUNT(image_sizes));
  tcase_add_test(tc, test_preprocess_errors);
  suite_add_tcase(s, tc);
  TCase *tk = tcase_create("topk");
  tcase_add_test(tk, test_topk_ties);
  tcase_add_test(tk, test_topk_background);
  tcase_add_test(tk, test_topk_large_k);
  tcase_add_test(tk, test_topk_nan);
  suite_add_tcase(s, tk);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(preprocess_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
