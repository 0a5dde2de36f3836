/* gstmobilenetpreprocess.h: a mapped video frame -> the network input
 * (size x size RGB), with the engine's exact preprocessing (central crop
 * 87.5 %, half-pixel bilinear resize, see mn_preprocess).
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Packed RGB formats go straight to mn_preprocess. For YUV formats only the
 * pixels the bilinear resize reads (at most 2 rows x 2 columns per output
 * pixel, inside the central crop) are converted to RGB, into a frame-sized
 * scratch image of which nothing else is touched, and mn_preprocess runs on
 * that: the same result as converting the whole frame first, at a cost that
 * depends on the network resolution, not on the frame size.
 */
#ifndef __GST_MOBILENET_PREPROCESS_H__
#define __GST_MOBILENET_PREPROCESS_H__

#include <gst/video/video.h>

#include "mobilenet/mobilenet.h"

G_BEGIN_DECLS

/* The formats mobilenetclassify accepts, as a caps format list. */
#define GST_MOBILENET_FORMATS \
  "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, " \
  "I420, YV12, NV12, NV21, Y42B, Y444 }"

typedef struct {
  GstVideoInfo info;
  gboolean yuv;
  mn_pixel_format packed;       /* packed formats */
  /* YUV -> RGB: R = y + cr_r * v, G = y + cb_g * u + cr_g * v, B = y + cb_b * u,
   * with y, u, v already offset and scaled to [0,1] / [-0.5,0.5] */
  gdouble off[3], scale[3];
  gdouble cr_r, cb_g, cr_g, cb_b;
  guint8 *scratch;              /* width x height x 3, only needed pixels written */
  gint taps_size;               /* resolution the index lists below are for */
  gint *rows, n_rows, *cols, n_cols;
} GstMobilenetPreprocess;

gboolean gst_mobilenet_preprocess_init (GstMobilenetPreprocess * p, const GstVideoInfo * info);
void gst_mobilenet_preprocess_clear (GstMobilenetPreprocess * p);

/* Fills rgb_out (size x size x 3) from a frame mapped for reading.
 * FALSE with a message in err on failure. */
gboolean gst_mobilenet_preprocess_frame (GstMobilenetPreprocess * p, const GstVideoFrame * frame,
    gint size, guint8 * rgb_out, gchar err[MN_ERROR_MAX]);

G_END_DECLS

#endif /* __GST_MOBILENET_PREPROCESS_H__ */
