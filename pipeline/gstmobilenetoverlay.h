/* GStreamer mobilenetoverlay: draws mobilenetclassify's results on the video.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_MOBILENET_OVERLAY_H__
#define __GST_MOBILENET_OVERLAY_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>
#include <pango/pangocairo.h>

G_BEGIN_DECLS

#define GST_TYPE_MOBILENET_OVERLAY (gst_mobilenet_overlay_get_type ())
G_DECLARE_FINAL_TYPE (GstMobilenetOverlay, gst_mobilenet_overlay, GST, MOBILENET_OVERLAY,
    GstVideoFilter)

/**
 * GstMobilenetOverlayPosition:
 * @GST_MOBILENET_OVERLAY_POSITION_TOP_LEFT: top left corner
 * @GST_MOBILENET_OVERLAY_POSITION_TOP_RIGHT: top right corner
 * @GST_MOBILENET_OVERLAY_POSITION_BOTTOM_LEFT: bottom left corner
 * @GST_MOBILENET_OVERLAY_POSITION_BOTTOM_RIGHT: bottom right corner
 */
typedef enum {
  GST_MOBILENET_OVERLAY_POSITION_TOP_LEFT,
  GST_MOBILENET_OVERLAY_POSITION_TOP_RIGHT,
  GST_MOBILENET_OVERLAY_POSITION_BOTTOM_LEFT,
  GST_MOBILENET_OVERLAY_POSITION_BOTTOM_RIGHT
} GstMobilenetOverlayPosition;

#define GST_TYPE_MOBILENET_OVERLAY_POSITION (gst_mobilenet_overlay_position_get_type ())
GType gst_mobilenet_overlay_position_get_type (void);

struct _GstMobilenetOverlay {
  GstVideoFilter parent;

  /* properties, under the object lock */
  GstMobilenetOverlayPosition position;
  gdouble font_size;
  gchar *font;
  guint classes;
  gboolean show_bars;
  gboolean show_fps;
  gboolean show_model;
  gdouble box_opacity;

  /* streaming thread */
  PangoFontMap *fontmap;
  PangoContext *context;
  GstVideoOverlayComposition *composition;  /* what was drawn last */
  gchar *composition_key;                   /* its text, size and settings */
  gint64 fps_start;
  guint fps_frames, fps_results;
  guint64 last_result;
  gboolean have_last_result;
  gdouble stream_fps, inference_fps;
};

GST_ELEMENT_REGISTER_DECLARE (mobilenetoverlay);

G_END_DECLS

#endif /* __GST_MOBILENET_OVERLAY_H__ */
