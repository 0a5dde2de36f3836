/* gstmobilenetpreprocess.c: see gstmobilenetpreprocess.h.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "gstmobilenetpreprocess.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static gboolean
packed_layout (GstVideoFormat format, mn_pixel_format * out)
{
  switch (format) {
    case GST_VIDEO_FORMAT_RGB: *out = MN_PIXEL_RGB; return TRUE;
    case GST_VIDEO_FORMAT_BGR: *out = MN_PIXEL_BGR; return TRUE;
    case GST_VIDEO_FORMAT_RGBx:
    case GST_VIDEO_FORMAT_RGBA: *out = MN_PIXEL_RGBX; return TRUE;
    case GST_VIDEO_FORMAT_BGRx:
    case GST_VIDEO_FORMAT_BGRA: *out = MN_PIXEL_BGRX; return TRUE;
    case GST_VIDEO_FORMAT_xRGB:
    case GST_VIDEO_FORMAT_ARGB: *out = MN_PIXEL_XRGB; return TRUE;
    case GST_VIDEO_FORMAT_xBGR:
    case GST_VIDEO_FORMAT_ABGR: *out = MN_PIXEL_XBGR; return TRUE;
    default: return FALSE;
  }
}

static gboolean
yuv_format (GstVideoFormat format)
{
  switch (format) {
    case GST_VIDEO_FORMAT_I420:
    case GST_VIDEO_FORMAT_YV12:
    case GST_VIDEO_FORMAT_NV12:
    case GST_VIDEO_FORMAT_NV21:
    case GST_VIDEO_FORMAT_Y42B:
    case GST_VIDEO_FORMAT_Y444:
      return TRUE;
    default:
      return FALSE;
  }
}

void
gst_mobilenet_preprocess_clear (GstMobilenetPreprocess * p)
{
  g_free (p->scratch);
  g_free (p->rows);
  g_free (p->cols);
  memset (p, 0, sizeof *p);
}

gboolean
gst_mobilenet_preprocess_init (GstMobilenetPreprocess * p, const GstVideoInfo * info)
{
  GstVideoFormat format = GST_VIDEO_INFO_FORMAT (info);
  gint off[GST_VIDEO_MAX_COMPONENTS], scale[GST_VIDEO_MAX_COMPONENTS];
  gdouble kr, kb;

  gst_mobilenet_preprocess_clear (p);
  p->info = *info;
  if (packed_layout (format, &p->packed))
    return TRUE;
  if (!yuv_format (format))
    return FALSE;

  p->yuv = TRUE;
  gst_video_color_range_offsets (info->colorimetry.range, info->finfo, off, scale);
  for (int c = 0; c < 3; c++) {
    p->off[c] = off[c];
    p->scale[c] = scale[c] > 0 ? scale[c] : 255;
  }
  /* Unknown or RGB matrices: BT.601, what cameras and most SD files use. */
  if (!gst_video_color_matrix_get_Kr_Kb (info->colorimetry.matrix, &kr, &kb))
    gst_video_color_matrix_get_Kr_Kb (GST_VIDEO_COLOR_MATRIX_BT601, &kr, &kb);
  p->cr_r = 2.0 * (1.0 - kr);
  p->cb_b = 2.0 * (1.0 - kb);
  p->cb_g = -2.0 * (1.0 - kb) * kb / (1.0 - kr - kb);
  p->cr_g = -2.0 * (1.0 - kr) * kr / (1.0 - kr - kb);
  p->scratch = g_try_malloc ((gsize) GST_VIDEO_INFO_WIDTH (info) * GST_VIDEO_INFO_HEIGHT (info) * 3);
  p->rows = g_new (gint, 2 * MN_MAX_RESOLUTION);
  p->cols = g_new (gint, 2 * MN_MAX_RESOLUTION);
  return p->scratch != NULL;
}

/* The source indices the engine's bilinear resize reads along one axis of
 * length len (tf.image.central_crop(0.875), then half-pixel centres), in
 * increasing order without repeats. Mirrors inference/preprocess.c. */
static gint
needed_indices (gint len, gint size, gint * out)
{
  const gint start = (gint) ((len - 0.875 * len) / 2);
  const gint crop = len - 2 * start;
  const double scale = (double) crop / size;
  gint n = 0;

  for (gint d = 0; d < size; d++) {
    double src = (d + 0.5) * scale - 0.5;
    gint f, i0, i1;
    if (src < 0)
      src = 0;
    if (src > crop - 1)
      src = crop - 1;
    f = (gint) floor (src);
    i0 = start + f;
    i1 = start + (f + 1 < crop ? f + 1 : crop - 1);
    if (n == 0 || out[n - 1] < i0)
      out[n++] = i0;
    if (out[n - 1] < i1)
      out[n++] = i1;
  }
  return n;
}

static inline guint8
clamp_byte (double v)
{
  v = floor (v * 255.0 + 0.5);
  return (guint8) (v < 0 ? 0 : v > 255 ? 255 : v);
}

static void
convert_needed (GstMobilenetPreprocess * p, const GstVideoFrame * frame)
{
  const GstVideoFormatInfo *finfo = frame->info.finfo;
  const gint width = GST_VIDEO_FRAME_WIDTH (frame);
  const guint8 *yp = GST_VIDEO_FRAME_COMP_DATA (frame, GST_VIDEO_COMP_Y);
  const guint8 *up = GST_VIDEO_FRAME_COMP_DATA (frame, GST_VIDEO_COMP_U);
  const guint8 *vp = GST_VIDEO_FRAME_COMP_DATA (frame, GST_VIDEO_COMP_V);
  const gint ys = GST_VIDEO_FRAME_COMP_STRIDE (frame, GST_VIDEO_COMP_Y);
  const gint us = GST_VIDEO_FRAME_COMP_STRIDE (frame, GST_VIDEO_COMP_U);
  const gint vs = GST_VIDEO_FRAME_COMP_STRIDE (frame, GST_VIDEO_COMP_V);
  const gint ups = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, GST_VIDEO_COMP_U);
  const gint vps = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, GST_VIDEO_COMP_V);
  const gint wsub = GST_VIDEO_FORMAT_INFO_W_SUB (finfo, GST_VIDEO_COMP_U);
  const gint hsub = GST_VIDEO_FORMAT_INFO_H_SUB (finfo, GST_VIDEO_COMP_U);

  for (gint r = 0; r < p->n_rows; r++) {
    const gint y = p->rows[r];
    const guint8 *yrow = yp + (gsize) y * ys;
    const guint8 *urow = up + (gsize) (y >> hsub) * us;
    const guint8 *vrow = vp + (gsize) (y >> hsub) * vs;
    guint8 *out = p->scratch + (gsize) y * width * 3;
    for (gint c = 0; c < p->n_cols; c++) {
      const gint x = p->cols[c];
      const double Y = (yrow[x] - p->off[0]) / p->scale[0];
      const double U = (urow[(x >> wsub) * ups] - p->off[1]) / p->scale[1];
      const double V = (vrow[(x >> wsub) * vps] - p->off[2]) / p->scale[2];
      out[x * 3 + 0] = clamp_byte (Y + p->cr_r * V);
      out[x * 3 + 1] = clamp_byte (Y + p->cb_g * U + p->cr_g * V);
      out[x * 3 + 2] = clamp_byte (Y + p->cb_b * U);
    }
  }
}

gboolean
gst_mobilenet_preprocess_frame (GstMobilenetPreprocess * p, const GstVideoFrame * frame,
    gint size, guint8 * rgb_out, gchar err[MN_ERROR_MAX])
{
  mn_image image;

  if (GST_VIDEO_FRAME_FORMAT (frame) != GST_VIDEO_INFO_FORMAT (&p->info)
      || GST_VIDEO_FRAME_WIDTH (frame) != GST_VIDEO_INFO_WIDTH (&p->info)
      || GST_VIDEO_FRAME_HEIGHT (frame) != GST_VIDEO_INFO_HEIGHT (&p->info)) {
    snprintf (err, MN_ERROR_MAX, "frame does not match the negotiated video format");
    return FALSE;
  }
  if (size < MN_MIN_RESOLUTION || size > MN_MAX_RESOLUTION) {
    snprintf (err, MN_ERROR_MAX, "resolution %d out of range", size);
    return FALSE;
  }
  image.width = GST_VIDEO_FRAME_WIDTH (frame);
  image.height = GST_VIDEO_FRAME_HEIGHT (frame);
  if (!p->yuv) {
    image.pixels = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
    image.stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
    image.format = p->packed;
  } else {
    if (p->taps_size != size) {
      p->n_rows = needed_indices (image.height, size, p->rows);
      p->n_cols = needed_indices (image.width, size, p->cols);
      p->taps_size = size;
    }
    convert_needed (p, frame);
    image.pixels = p->scratch;
    image.stride = (size_t) image.width * 3;
    image.format = MN_PIXEL_RGB;
  }
  return mn_preprocess (&image, size, rgb_out, err) == MN_OK;
}
