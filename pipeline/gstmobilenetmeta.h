/* gstmobilenetmeta.h: the classification results mobilenetclassify attaches
 * to video buffers, readable by applications without linking to the plugin.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every buffer that leaves mobilenetclassify once a first result exists
 * carries one GstMobilenetMeta: the top-k ImageNet classes of the frame it
 * was computed on (source_frame / source_pts: the same buffer in
 * mode=sync with inference-interval=1, an earlier one otherwise), the
 * model's width multiplier alpha, the input resolution rho, the dtype and
 * the time the inference took. The meta survives videoconvert, videoscale,
 * tee and buffer copies.
 *
 * The meta API is registered by the plugin when it is loaded, so an
 * application finds it by name; these inline helpers need only GStreamer:
 *
 *   GstMobilenetMeta *m = gst_buffer_get_mobilenet_meta (buffer);
 *   if (m && m->n_classes > 0)
 *     g_print ("%s %.1f%%\n", m->classes[0].label, 100 * m->classes[0].score);
 */
#ifndef __GST_MOBILENET_META_H__
#define __GST_MOBILENET_META_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_MOBILENET_META_API_NAME "GstMobilenetMetaAPI"
#define GST_MOBILENET_META_IMPL_NAME "GstMobilenetMeta"
#define GST_MOBILENET_META_MAX_CLASSES 10
#define GST_MOBILENET_META_LABEL_MAX 128
#define GST_MOBILENET_META_MODEL_MAX 128

/**
 * GstMobilenetDtype:
 * @GST_MOBILENET_DTYPE_F32: 32-bit float model
 * @GST_MOBILENET_DTYPE_U8: 8-bit quantized model (uint8, per tensor)
 * @GST_MOBILENET_DTYPE_I8: 8-bit quantized model (int8, per-channel weights)
 *
 * The values are the engine's mn_dtype.
 */
typedef enum {
  GST_MOBILENET_DTYPE_F32 = 0,
  GST_MOBILENET_DTYPE_U8 = 1,
  GST_MOBILENET_DTYPE_I8 = 2
} GstMobilenetDtype;

/**
 * GstMobilenetArch:
 * @GST_MOBILENET_ARCH_OTHER: a graph of MobileNet operators that is none of these
 * @GST_MOBILENET_ARCH_V1: MobileNet v1
 * @GST_MOBILENET_ARCH_V2: MobileNet v2
 * @GST_MOBILENET_ARCH_V3_SMALL: MobileNet v3-small
 * @GST_MOBILENET_ARCH_V3_LARGE: MobileNet v3-large (asking for it also takes
 *   a v3-large-minimalistic file when no other is there)
 * @GST_MOBILENET_ARCH_V3_LARGE_MINIMALISTIC: MobileNet v3-large-minimalistic
 *
 * The values are the engine's mn_arch.
 */
typedef enum {
  GST_MOBILENET_ARCH_OTHER = 0,
  GST_MOBILENET_ARCH_V1 = 1,
  GST_MOBILENET_ARCH_V2 = 2,
  GST_MOBILENET_ARCH_V3_SMALL = 3,
  GST_MOBILENET_ARCH_V3_LARGE = 4,
  GST_MOBILENET_ARCH_V3_LARGE_MINIMALISTIC = 5
} GstMobilenetArch;

/* One of the top-k classes, best first. */
typedef struct {
  gint class_index;                          /* ImageNet class 0..999 */
  gfloat score;                              /* softmax probability 0..1 */
  gchar label[GST_MOBILENET_META_LABEL_MAX]; /* first name of the class, UTF-8 */
} GstMobilenetClassResult;

typedef struct {
  GstMeta meta;

  guint n_classes;                           /* number of valid entries in classes */
  GstMobilenetClassResult classes[GST_MOBILENET_META_MAX_CLASSES];

  gfloat alpha;                              /* width multiplier: 0.25, 0.5, 0.75, 1.0 */
  gint resolution;                           /* rho: network input side in pixels */
  GstMobilenetDtype dtype;
  gchar model[GST_MOBILENET_META_MODEL_MAX]; /* model file name, without folder */

  gdouble inference_ms;                      /* preprocessing + network, milliseconds */
  guint64 source_frame;                      /* number of the classified frame since start, 0-based */
  GstClockTime source_pts;                   /* its PTS (GST_CLOCK_TIME_NONE if none) */
  guint64 result_number;                     /* counts inferences since start, 0-based */
  GstMobilenetArch arch;                     /* architecture of the model */
} GstMobilenetMeta;

/* The registered API type, or 0 when the plugin has not been loaded yet. */
static inline GType
gst_mobilenet_meta_api_type_lookup (void)
{
  return g_type_from_name (GST_MOBILENET_META_API_NAME);
}

/* The meta of @buffer, or NULL. */
static inline GstMobilenetMeta *
gst_buffer_get_mobilenet_meta (GstBuffer * buffer)
{
  GType api = gst_mobilenet_meta_api_type_lookup ();
  return api ? (GstMobilenetMeta *) gst_buffer_get_meta (buffer, api) : NULL;
}

/* "f32" / "u8" / "i8" */
static inline const gchar *
gst_mobilenet_dtype_nick (GstMobilenetDtype dtype)
{
  return dtype == GST_MOBILENET_DTYPE_U8 ? "u8" : dtype == GST_MOBILENET_DTYPE_I8 ? "i8" : "f32";
}

/* "v1", "v2", "v3-small", "v3-large", "v3-large-minimalistic", "mobilenet-like" */
static inline const gchar *
gst_mobilenet_arch_nick (GstMobilenetArch arch)
{
  static const gchar *const nicks[] = { "mobilenet-like", "v1", "v2", "v3-small", "v3-large",
    "v3-large-minimalistic"
  };
  return (guint) arch < G_N_ELEMENTS (nicks) ? nicks[arch] : "mobilenet-like";
}

#ifdef GST_MOBILENET_COMPILATION
/* Inside the plugin only: registration and attaching. */
GType gst_mobilenet_meta_api_get_type (void);
const GstMetaInfo *gst_mobilenet_meta_get_info (void);
/* Adds a meta to a writable @buffer with the payload of @src (everything
 * after the GstMeta header). */
GstMobilenetMeta *gst_buffer_add_mobilenet_meta (GstBuffer * buffer, const GstMobilenetMeta * src);
#endif

G_END_DECLS

#endif /* __GST_MOBILENET_META_H__ */
