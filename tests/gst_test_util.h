/* gst_test_util.h: what the GStreamer plugin tests share: finding the
 * shared test data, skipping without it, and making video frames.
 *
 * The tests load the plugin like an application does (GST_PLUGIN_PATH is
 * set by meson to the build's pipeline/ folder) and read results through
 * the public header gstmobilenetmeta.h only.
 */
#ifndef MN_GST_TEST_UTIL_H
#define MN_GST_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "gstmobilenetmeta.h"

#ifndef MN_DEFAULT_SHARED
#define MN_DEFAULT_SHARED "../shared"
#endif

/* $MOBILENET_SHARED, else the folder beside the source tree. */
static inline const char *
mn_shared_dir (void)
{
  const char *env = getenv ("MOBILENET_SHARED");
  return env && *env ? env : MN_DEFAULT_SHARED;
}

/* A path under the shared folder; free with g_free. */
static inline gchar *
mn_shared_path (const char *relative)
{
  return g_build_filename (mn_shared_dir (), relative, NULL);
}

/* Exits 77 (meson: SKIP) with a message when a shared file is missing. */
static inline void
mn_require_shared (const char *relative)
{
  gchar *p = mn_shared_path (relative);
  if (!g_file_test (p, G_FILE_TEST_EXISTS)) {
    printf ("SKIP: %s not found; set MOBILENET_SHARED to the folder holding models/, "
        "images/ and videos/\n", p);
    g_free (p);
    exit (77);
  }
  g_free (p);
}

/* Exits 77 when a GStreamer element the test needs is not installed. */
static inline void
mn_require_element (const char *factory, const char *package)
{
  GstElementFactory *f = gst_element_factory_find (factory);
  if (!f) {
    printf ("SKIP: GStreamer element %s is not installed (Debian: %s)\n", factory, package);
    exit (77);
  }
  gst_object_unref (f);
}

/* A frame of format fmt showing the packed RGB picture rgb (w x h). Packed
 * RGB layouts are written byte-exactly (alpha 255); YUV is converted by
 * GStreamer's own GstVideoConverter. info receives the frame's layout. */
static inline GstBuffer *
mn_frame_from_rgb (const guint8 * rgb, int w, int h, GstVideoFormat fmt, GstVideoInfo * info)
{
  GstBuffer *buf;
  GstVideoFrame frame;

  gst_video_info_set_format (info, fmt, w, h);
  GST_VIDEO_INFO_FPS_N (info) = 30;
  GST_VIDEO_INFO_FPS_D (info) = 1;
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  gst_buffer_memset (buf, 0, 0, GST_VIDEO_INFO_SIZE (info));
  fail_unless (gst_video_frame_map (&frame, info, buf, GST_MAP_WRITE));
  if (GST_VIDEO_INFO_IS_RGB (info)) {
    guint8 *d = GST_VIDEO_FRAME_PLANE_DATA (&frame, 0);
    const int stride = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);
    const int ps = GST_VIDEO_FRAME_COMP_PSTRIDE (&frame, 0);
    const int ro = GST_VIDEO_FRAME_COMP_POFFSET (&frame, GST_VIDEO_COMP_R);
    const int go = GST_VIDEO_FRAME_COMP_POFFSET (&frame, GST_VIDEO_COMP_G);
    const int bo = GST_VIDEO_FRAME_COMP_POFFSET (&frame, GST_VIDEO_COMP_B);
    const gboolean alpha = GST_VIDEO_INFO_HAS_ALPHA (info);
    const int ao = alpha ? GST_VIDEO_FRAME_COMP_POFFSET (&frame, GST_VIDEO_COMP_A) : 0;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        guint8 *p = d + (gsize) y * stride + (gsize) x * ps;
        const guint8 *s = rgb + ((gsize) y * w + x) * 3;
        p[ro] = s[0];
        p[go] = s[1];
        p[bo] = s[2];
        if (alpha)
          p[ao] = 255;
      }
  } else {
    GstVideoInfo rgb_info;
    GstVideoFrame src;
    GstBuffer *rgb_buf;
    GstVideoConverter *conv;
    gst_video_info_set_format (&rgb_info, GST_VIDEO_FORMAT_RGB, w, h);
    GST_VIDEO_INFO_FPS_N (&rgb_info) = 30;
    GST_VIDEO_INFO_FPS_D (&rgb_info) = 1;
    rgb_buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&rgb_info), NULL);
    fail_unless (gst_video_frame_map (&src, &rgb_info, rgb_buf, GST_MAP_WRITE));
    for (int y = 0; y < h; y++)
      memcpy ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&src, 0)
          + (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&src, 0), rgb + (gsize) y * w * 3,
          (gsize) w * 3);
    conv = gst_video_converter_new (&rgb_info, info, NULL);
    fail_unless (conv != NULL);
    gst_video_converter_frame (conv, &src, &frame);
    gst_video_converter_free (conv);
    gst_video_frame_unmap (&src);
    gst_buffer_unref (rgb_buf);
  }
  gst_video_frame_unmap (&frame);
  return buf;
}

/* A deterministic picture: smooth colour gradients plus noise, so that a
 * semi-transparent box changes every pixel it covers. */
static inline guint8 *
mn_test_picture (int w, int h, guint32 seed)
{
  guint8 *rgb = g_malloc ((gsize) w * h * 3);
  guint32 s = seed * 2654435761u + 1;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      guint8 *p = rgb + ((gsize) y * w + x) * 3;
      s = s * 1664525u + 1013904223u;
      p[0] = (guint8) (64 + (x * 128) / MAX (w, 1) + ((s >> 24) & 15));
      p[1] = (guint8) (64 + (y * 128) / MAX (h, 1) + ((s >> 16) & 15));
      p[2] = (guint8) (96 + ((x + y) * 64) / MAX (w + h, 1) + ((s >> 8) & 15));
    }
  return rgb;
}

#endif
