/* gstmobilenetmeta.c: registration of GstMobilenetMeta.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The API carries no tags: the results describe the picture, not its
 * memory layout, colour space or geometry, so elements that copy untagged
 * metas (videoconvert, videoscale, tee, buffer copies) keep it. The
 * transform function copies the payload for GST_META_TRANSFORM_IS_COPY and
 * for video scaling, and for any other transform as well.
 */
#include "gstmobilenetmeta.h"

#include <string.h>

#include <gst/video/video.h>

static gboolean
gst_mobilenet_meta_init (GstMeta * meta, gpointer params, GstBuffer * buffer)
{
  GstMobilenetMeta *m = (GstMobilenetMeta *) meta;

  memset ((guint8 *) m + sizeof (GstMeta), 0, sizeof (*m) - sizeof (GstMeta));
  m->source_pts = GST_CLOCK_TIME_NONE;
  return TRUE;
}

static void
copy_payload (GstMobilenetMeta * dst, const GstMobilenetMeta * src)
{
  memcpy ((guint8 *) dst + sizeof (GstMeta), (const guint8 *) src + sizeof (GstMeta),
      sizeof (*dst) - sizeof (GstMeta));
}

static gboolean
gst_mobilenet_meta_transform (GstBuffer * dest, GstMeta * meta, GstBuffer * buffer,
    GQuark type, gpointer data)
{
  GstMobilenetMeta *src = (GstMobilenetMeta *) meta, *dst;

  /* Copies (GST_META_TRANSFORM_IS_COPY, whole or region), video scaling
   * (GST_VIDEO_META_TRANSFORM_IS_SCALE) and any other transform keep the
   * results unchanged: they describe the picture they were computed on,
   * whatever its size or memory layout; source_frame says which one. */
  if (!GST_META_TRANSFORM_IS_COPY (type) && !GST_VIDEO_META_TRANSFORM_IS_SCALE (type))
    GST_LOG ("copying mobilenet meta for transform %s", g_quark_to_string (type));

  dst = (GstMobilenetMeta *) gst_buffer_get_meta (dest, gst_mobilenet_meta_api_get_type ());
  if (!dst)
    dst = (GstMobilenetMeta *) gst_buffer_add_meta (dest, gst_mobilenet_meta_get_info (), NULL);
  if (!dst)
    return FALSE;
  copy_payload (dst, src);
  return TRUE;
}

GType
gst_mobilenet_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { NULL };

  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register (GST_MOBILENET_META_API_NAME, tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

const GstMetaInfo *
gst_mobilenet_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi = gst_meta_register (gst_mobilenet_meta_api_get_type (),
        GST_MOBILENET_META_IMPL_NAME, sizeof (GstMobilenetMeta),
        gst_mobilenet_meta_init, NULL, gst_mobilenet_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

GstMobilenetMeta *
gst_buffer_add_mobilenet_meta (GstBuffer * buffer, const GstMobilenetMeta * src)
{
  GstMobilenetMeta *m;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (gst_buffer_is_writable (buffer), NULL);

  m = (GstMobilenetMeta *) gst_buffer_get_meta (buffer, gst_mobilenet_meta_api_get_type ());
  if (!m)
    m = (GstMobilenetMeta *) gst_buffer_add_meta (buffer, gst_mobilenet_meta_get_info (), NULL);
  if (m && src)
    copy_payload (m, src);
  return m;
}
