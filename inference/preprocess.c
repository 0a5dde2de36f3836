/* preprocess.c: central crop and bilinear resize, exactly as the reference
 * (tf.image.central_crop(0.875) then half-pixel bilinear resize without
 * antialiasing in float64, rounded half up) so results compare with it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"

#define MAX_SIDE 65536

static int pixel_layout(mn_pixel_format f, int *bpp, int *r, int *g, int *b) {
  switch (f) {
    case MN_PIXEL_RGB: *bpp = 3, *r = 0, *g = 1, *b = 2; return 0;
    case MN_PIXEL_BGR: *bpp = 3, *r = 2, *g = 1, *b = 0; return 0;
    case MN_PIXEL_RGBX: *bpp = 4, *r = 0, *g = 1, *b = 2; return 0;
    case MN_PIXEL_BGRX: *bpp = 4, *r = 2, *g = 1, *b = 0; return 0;
    case MN_PIXEL_XRGB: *bpp = 4, *r = 1, *g = 2, *b = 3; return 0;
    case MN_PIXEL_XBGR: *bpp = 4, *r = 3, *g = 2, *b = 1; return 0;
  }
  return -1;
}

/* Source positions along one axis of the crop [start, start + len). */
static void axis_taps(int start, int len, int size, int *i0, int *i1, double *w) {
  const double scale = (double)len / size; /* computed first, as the reference does */
  for (int d = 0; d < size; d++) {
    double src = (d + 0.5) * scale - 0.5;
    if (src < 0) src = 0;
    if (src > len - 1) src = len - 1;
    int f = (int)floor(src);
    i0[d] = start + f;
    i1[d] = start + (f + 1 < len ? f + 1 : len - 1);
    w[d] = src - f;
  }
}

mn_status mn_preprocess(const mn_image *im, int size, uint8_t *rgb_out, char err[MN_ERROR_MAX]) {
  int bpp, ro, go, bo;
  if (!im || !im->pixels || !rgb_out) {
    snprintf(err, MN_ERROR_MAX, "mn_preprocess: no image");
    return MN_ERR_ARGUMENT;
  }
  if (im->width <= 0 || im->height <= 0 || im->width > MAX_SIDE || im->height > MAX_SIDE) {
    snprintf(err, MN_ERROR_MAX, "mn_preprocess: image size %dx%d out of range (1..%d)",
             im->width, im->height, MAX_SIDE);
    return MN_ERR_ARGUMENT;
  }
  if (pixel_layout(im->format, &bpp, &ro, &go, &bo) != 0 ||
      im->stride < (size_t)im->width * bpp) {
    snprintf(err, MN_ERROR_MAX, "mn_preprocess: bad pixel format or stride");
    return MN_ERR_ARGUMENT;
  }
  if (size < MN_MIN_RESOLUTION || size > MN_MAX_RESOLUTION) {
    snprintf(err, MN_ERROR_MAX, "mn_preprocess: resolution %d out of range (%d..%d)", size,
             MN_MIN_RESOLUTION, MN_MAX_RESOLUTION);
    return MN_ERR_ARGUMENT;
  }
  const int top = (int)((im->height - 0.875 * im->height) / 2);
  const int left = (int)((im->width - 0.875 * im->width) / 2);
  const int ch = im->height - 2 * top, cw = im->width - 2 * left;

  int ix0[MN_MAX_RESOLUTION], ix1[MN_MAX_RESOLUTION], iy0[MN_MAX_RESOLUTION],
      iy1[MN_MAX_RESOLUTION];
  double wx[MN_MAX_RESOLUTION], wy[MN_MAX_RESOLUTION];
  axis_taps(left, cw, size, ix0, ix1, wx);
  axis_taps(top, ch, size, iy0, iy1, wy);
  const int off[3] = {ro, go, bo};
  for (int y = 0; y < size; y++) {
    const uint8_t *r0 = im->pixels + (size_t)iy0[y] * im->stride;
    const uint8_t *r1 = im->pixels + (size_t)iy1[y] * im->stride;
    uint8_t *o = rgb_out + (size_t)y * size * 3;
    for (int x = 0; x < size; x++) {
      const size_t a = (size_t)ix0[x] * bpp, b = (size_t)ix1[x] * bpp;
      for (int c = 0; c < 3; c++) {
        double t = r0[a + off[c]] * (1.0 - wx[x]) + r0[b + off[c]] * wx[x];
        double u = r1[a + off[c]] * (1.0 - wx[x]) + r1[b + off[c]] * wx[x];
        double v = floor(t * (1.0 - wy[y]) + u * wy[y] + 0.5);
        o[x * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
      }
    }
  }
  return MN_OK;
}
