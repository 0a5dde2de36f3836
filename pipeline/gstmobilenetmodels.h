/* gstmobilenetmodels.h: choosing, loading and caching models for the
 * mobilenet elements, and the runners made from them.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A loaded mn_model is immutable, so one copy serves every runner made from
 * it; the cache keeps a few models that no runner uses any more, so
 * switching back and forth between alphas or dtypes does not re-read files.
 * A runner (mn_runner: the buffers for one model at one resolution) is used
 * by one thread at a time.
 */
#ifndef __GST_MOBILENET_MODELS_H__
#define __GST_MOBILENET_MODELS_H__

#include <glib.h>

#include "gstmobilenetmeta.h"
#include "mobilenet/mobilenet.h"

G_BEGIN_DECLS

typedef struct _GstMobilenetModelCache GstMobilenetModelCache;

/* What the element's properties ask for. */
typedef struct {
  gchar *models_dir;            /* NULL: mn_models_dir's default */
  gchar *model_path;            /* overrides models_dir/arch/alpha/dtype */
  GstMobilenetArch arch;
  gdouble alpha;
  gint resolution;              /* 0: the model's own */
  GstMobilenetDtype dtype;
  gint threads;                 /* 0: all cores */
} GstMobilenetModelConfig;

/* What tells runners apart: the model file, the resolution asked for (0:
 * the model's own) and the threads. */
typedef struct {
  gchar *path;
  gint resolution;
  gint threads;
} GstMobilenetRunnerKey;

/* A runner; or, with runner and model NULL, a request to the thread that
 * classifies to run its runner with threads threads, key its new key (see
 * gst_mobilenet_runner_new_threads). */
typedef struct {
  GstMobilenetModelCache *cache;
  gpointer entry;
  const mn_model *model;
  mn_runner *runner;
  gchar *path;                  /* the model file */
  GstMobilenetRunnerKey *key;
  GstMobilenetArch arch;
  gfloat alpha;
  gint resolution;              /* the resolution it runs at */
  GstMobilenetDtype dtype;
  gint threads;
  gdouble load_ms;              /* loading (0 when cached) and runner creation */
  gdouble warm_ms;              /* one inference on a blank picture */
} GstMobilenetRunner;

GstMobilenetModelCache *gst_mobilenet_model_cache_new (guint keep_unused);
/* All runners made from the cache must have been freed. */
void gst_mobilenet_model_cache_free (GstMobilenetModelCache * cache);

void gst_mobilenet_model_config_clear (GstMobilenetModelConfig * config);

/* The model file config selects (the explicit file, or the best match in
 * the models folder). NULL with a message in err. */
gchar *gst_mobilenet_model_config_resolve (const GstMobilenetModelConfig * config,
    gchar err[MN_ERROR_MAX]);
/* Identifies the runner config would give for the resolved path. */
GstMobilenetRunnerKey *gst_mobilenet_model_config_key (const GstMobilenetModelConfig * config,
    const gchar * path);
GstMobilenetRunnerKey *gst_mobilenet_runner_key_copy (const GstMobilenetRunnerKey * key);
void gst_mobilenet_runner_key_free (GstMobilenetRunnerKey * key);
/* TRUE when a and b name the same runner (both NULL too). */
gboolean gst_mobilenet_runner_key_equal (const GstMobilenetRunnerKey * a,
    const GstMobilenetRunnerKey * b);

/* Loads (or takes from the cache) the model at path and makes a runner for
 * it, runs it once (on one thread if warm_single, e.g. while another runner
 * classifies live; warm_ms is then that run's time). NULL with a message
 * naming the file in err. */
GstMobilenetRunner *gst_mobilenet_runner_new (GstMobilenetModelCache * cache,
    const GstMobilenetModelConfig * config, const gchar * path, gboolean warm_single,
    gchar err[MN_ERROR_MAX]);
void gst_mobilenet_runner_free (GstMobilenetRunner * runner);

/* TRUE when the runners keyed a and b differ in the number of threads only. */
gboolean gst_mobilenet_key_differs_in_threads_only (const GstMobilenetRunnerKey * a,
    const GstMobilenetRunnerKey * b);
/* A request (no runner) to change the threads of a runner of the same model
 * and resolution to what config asks for; key is config's for path. */
GstMobilenetRunner *gst_mobilenet_runner_new_threads (const GstMobilenetModelConfig * config,
    const gchar * path);
/* Applies such a request to runner (used by one thread, which calls this):
 * its threads and key become the request's. */
void gst_mobilenet_runner_apply_threads (GstMobilenetRunner * runner,
    const GstMobilenetRunner * request);

const gchar *gst_mobilenet_runner_name (const GstMobilenetRunner * runner);

G_END_DECLS

#endif /* __GST_MOBILENET_MODELS_H__ */
