/* GStreamer mobilenetclassify: MobileNet v1 ImageNet classification of video frames.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_MOBILENET_CLASSIFY_H__
#define __GST_MOBILENET_CLASSIFY_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

#include "gstmobilenetmeta.h"
#include "gstmobilenetmodels.h"
#include "gstmobilenetpreprocess.h"

G_BEGIN_DECLS

#define GST_TYPE_MOBILENET_CLASSIFY (gst_mobilenet_classify_get_type ())
G_DECLARE_FINAL_TYPE (GstMobilenetClassify, gst_mobilenet_classify, GST, MOBILENET_CLASSIFY,
    GstVideoFilter)

/**
 * GstMobilenetClassifyMode:
 * @GST_MOBILENET_CLASSIFY_MODE_SYNC: classify each chosen frame before pushing it
 * @GST_MOBILENET_CLASSIFY_MODE_LATEST: a worker thread classifies the newest frame,
 *   frames flow on undelayed and carry the latest result
 */
typedef enum {
  GST_MOBILENET_CLASSIFY_MODE_SYNC,
  GST_MOBILENET_CLASSIFY_MODE_LATEST
} GstMobilenetClassifyMode;

#define GST_TYPE_MOBILENET_CLASSIFY_MODE (gst_mobilenet_classify_mode_get_type ())
GType gst_mobilenet_classify_mode_get_type (void);
#define GST_TYPE_MOBILENET_DTYPE (gst_mobilenet_dtype_get_type ())
GType gst_mobilenet_dtype_get_type (void);
#define GST_TYPE_MOBILENET_ARCH (gst_mobilenet_arch_get_type ())
GType gst_mobilenet_arch_get_type (void);

/* A preprocessed frame handed to the worker (mode=latest). */
typedef struct {
  gboolean full;
  gint size;                    /* resolution rgb was made for */
  guint8 *rgb;
  guint64 frame;
  GstClockTime pts, duration;
  GstSegment segment;
  gdouble preprocess_ms;
} GstMobilenetSlot;

struct _GstMobilenetClassify {
  GstVideoFilter parent;

  /* properties, under the object lock */
  gchar *models_dir;
  gchar *model_path;
  GstMobilenetArch arch;
  gdouble alpha;
  gint resolution;
  GstMobilenetDtype dtype;
  gint threads;
  guint top_k;
  guint interval;
  GstMobilenetClassifyMode mode;
  gboolean post_messages;

  /* model switching, under lock; cond wakes the loader and the worker */
  GMutex lock;
  GCond cond;
  GstMobilenetModelCache *cache;
  gboolean running;
  guint want_gen, done_gen;     /* configuration changes asked for / handled */
  GThread *loader;
  GstMobilenetRunner *pending;  /* loaded, waiting to be taken into use */
  GstMobilenetRunnerKey *active_key; /* identifies the runner in use */
  gchar *active_path;
  GstClockTime latency;         /* reported in the LATENCY query (sync mode) */
  gdouble latency_ms;           /* running average of inference times */

  /* the runner in use: owned by the streaming thread (sync) or the worker (latest) */
  GstMobilenetRunner *runner;
  GstMobilenetClassifyMode active_mode;

  /* mode=latest, under lock */
  GThread *worker;
  gboolean worker_idle;
  gint worker_size;
  GstMobilenetSlot slot;
  guint8 *spare_rgb;            /* streaming thread's preprocessing buffer */

  /* the latest result: streaming thread only (sync) or under lock (latest) */
  GstMobilenetMeta result;
  gboolean have_result;
  guint64 n_results;

  /* streaming thread */
  GstMobilenetPreprocess pre;
  guint8 *rgb;
  guint64 frame_count;
};

GST_ELEMENT_REGISTER_DECLARE (mobilenetclassify);

G_END_DECLS

#endif /* __GST_MOBILENET_CLASSIFY_H__ */
