/* GStreamer mobilenetclassify: MobileNet v1 ImageNet classification of video frames.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * SECTION:element-mobilenetclassify
 * @title: mobilenetclassify
 * @see_also: mobilenetoverlay
 *
 * Classifies video frames with a MobileNet TensorFlow Lite model (v1, v2,
 * v3-small or v3-large; float32, uint8 or int8; any width multiplier alpha,
 * any input resolution rho)
 * and passes every frame on unchanged, with the top-k ImageNet classes
 * attached as a #GstMobilenetMeta (see gstmobilenetmeta.h) and, when
 * #GstMobilenetClassify:post-messages is set, posted on the bus as an
 * element message named `mobilenet`:
 *
 * - `frame` (guint64): number of the classified frame since start
 * - `timestamp`, `pts`, `duration`, `running-time`, `stream-time` (guint64)
 * - `class-id` (gint), `label` (string), `score` (gdouble): the best class
 * - `class-ids`, `labels`, `scores` (#GstValueArray): the top-k, best first
 * - `arch` (string), `alpha` (gdouble), `resolution` (gint), `dtype` (string),
 *   `model` (string)
 * - `inference-ms` (gdouble), `result` (guint64): number of the inference
 *
 * Frames of any size are accepted; only the central 87.5 % crop is read,
 * and for YUV formats only the pixels the resize needs are converted.
 *
 * The model is chosen by #GstMobilenetClassify:models, #GstMobilenetClassify:arch,
 * #GstMobilenetClassify:alpha,
 * #GstMobilenetClassify:dtype and #GstMobilenetClassify:resolution (or set directly
 * with #GstMobilenetClassify:model) and loaded at the READY to PAUSED change;
 * a missing or unreadable model is an error then. Changing these while
 * PLAYING loads the new model in a background thread while the old one
 * keeps classifying; the switch happens between two frames, and an element
 * message `mobilenet-model` (fields `model`, `path`, `arch`, `alpha`, `resolution`,
 * `dtype`, `threads`, `load-ms`, `reason`) says when the new model is live.
 * Loaded models are cached, so switching back is immediate.
 *
 * In #GstMobilenetClassify:mode `sync` every chosen frame is classified
 * before it is pushed, and the element adds its inference time to the
 * latency it reports. In `latest` mode a worker thread classifies the newest
 * frame while frames flow on undelayed; each result is attached to the
 * frames that follow it.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! mobilenetclassify alpha=0.5 dtype=u8 mode=latest ! \
 *     mobilenetoverlay ! videoconvert ! autovideosink
 * ]| Classifies a webcam and shows the top-5 on the picture.
 * |[
 * gst-launch-1.0 -m filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
 *     mobilenetclassify models=/path/to/models ! fakesink
 * ]| Prints the `mobilenet` messages for every frame of a file.
 */

#include "gstmobilenetclassify.h"

#include <stdio.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_mobilenet_classify_debug);
#define GST_CAT_DEFAULT gst_mobilenet_classify_debug

#define DEFAULT_MODELS NULL
#define DEFAULT_MODEL NULL
#define DEFAULT_ARCH GST_MOBILENET_ARCH_V1
#define DEFAULT_ALPHA 1.0
#define DEFAULT_RESOLUTION 0
#define DEFAULT_DTYPE GST_MOBILENET_DTYPE_F32
#define DEFAULT_THREADS 0
#define DEFAULT_TOP_K 5
#define DEFAULT_INTERVAL 1
#define DEFAULT_MODE GST_MOBILENET_CLASSIFY_MODE_SYNC
#define DEFAULT_POST_MESSAGES TRUE

/* Models no runner uses that stay loaded. */
#define CACHED_MODELS 4
#define RGB_MAX (MN_MAX_RESOLUTION * MN_MAX_RESOLUTION * 3)

enum
{
  PROP_0,
  PROP_MODELS,
  PROP_MODEL,
  PROP_ARCH,
  PROP_ALPHA,
  PROP_RESOLUTION,
  PROP_DTYPE,
  PROP_THREADS,
  PROP_TOP_K,
  PROP_INFERENCE_INTERVAL,
  PROP_MODE,
  PROP_POST_MESSAGES,
  PROP_CURRENT_MODEL
};

static GstStaticPadTemplate gst_mobilenet_classify_sink_template =
GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (GST_MOBILENET_FORMATS)));

static GstStaticPadTemplate gst_mobilenet_classify_src_template =
GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (GST_MOBILENET_FORMATS)));

#define gst_mobilenet_classify_parent_class parent_class
G_DEFINE_TYPE (GstMobilenetClassify, gst_mobilenet_classify, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (mobilenetclassify, "mobilenetclassify", GST_RANK_NONE,
    GST_TYPE_MOBILENET_CLASSIFY);

static void gst_mobilenet_classify_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_mobilenet_classify_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_mobilenet_classify_finalize (GObject * object);
static gboolean gst_mobilenet_classify_start (GstBaseTransform * trans);
static gboolean gst_mobilenet_classify_stop (GstBaseTransform * trans);
static gboolean gst_mobilenet_classify_query (GstBaseTransform * trans,
    GstPadDirection direction, GstQuery * query);
static gboolean gst_mobilenet_classify_set_info (GstVideoFilter * filter, GstCaps * incaps,
    GstVideoInfo * in_info, GstCaps * outcaps, GstVideoInfo * out_info);
static GstFlowReturn gst_mobilenet_classify_transform_ip (GstBaseTransform * trans,
    GstBuffer * buf);

GType
gst_mobilenet_classify_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_MOBILENET_CLASSIFY_MODE_SYNC, "Classify each chosen frame before pushing it", "sync"},
    {GST_MOBILENET_CLASSIFY_MODE_LATEST,
        "A worker thread classifies the newest frame; frames are not delayed", "latest"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMobilenetClassifyMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_mobilenet_dtype_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_MOBILENET_DTYPE_F32, "32-bit float model", "f32"},
    {GST_MOBILENET_DTYPE_U8, "8-bit quantized model (uint8)", "u8"},
    {GST_MOBILENET_DTYPE_I8, "8-bit quantized model (int8, per-channel weights)", "i8"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMobilenetDtype", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_mobilenet_arch_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_MOBILENET_ARCH_V1, "MobileNet v1", "v1"},
    {GST_MOBILENET_ARCH_V2, "MobileNet v2", "v2"},
    {GST_MOBILENET_ARCH_V3_SMALL, "MobileNet v3-small", "v3-small"},
    {GST_MOBILENET_ARCH_V3_LARGE, "MobileNet v3-large (or v3-large-minimalistic)", "v3-large"},
    {GST_MOBILENET_ARCH_V3_LARGE_MINIMALISTIC, "MobileNet v3-large-minimalistic",
        "v3-large-minimalistic"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMobilenetArch", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static void
gst_mobilenet_classify_class_init (GstMobilenetClassifyClass * klass)
{
  GObjectClass *gobject_class = (GObjectClass *) klass;
  GstElementClass *element_class = (GstElementClass *) klass;
  GstBaseTransformClass *trans_class = (GstBaseTransformClass *) klass;
  GstVideoFilterClass *filter_class = (GstVideoFilterClass *) klass;
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  GST_DEBUG_CATEGORY_INIT (gst_mobilenet_classify_debug, "mobilenetclassify", 0,
      "MobileNet classification");

  gobject_class->set_property = gst_mobilenet_classify_set_property;
  gobject_class->get_property = gst_mobilenet_classify_get_property;
  gobject_class->finalize = gst_mobilenet_classify_finalize;

  g_object_class_install_property (gobject_class, PROP_MODELS,
      g_param_spec_string ("models", "Models folder",
          "Folder with the MobileNet .tflite files and imagenet_labels.txt; the model is "
          "picked by arch, alpha, dtype and resolution. Default: $MOBILENET_MODELS, else "
          "~/.local/share/mobilenet-live/models, else the installed models folder",
          DEFAULT_MODELS, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model file",
          "A MobileNet .tflite file to use; overrides models, arch, alpha and dtype",
          DEFAULT_MODEL, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ARCH,
      g_param_spec_enum ("arch", "Architecture",
          "MobileNet architecture of the model picked from the models folder",
          GST_TYPE_MOBILENET_ARCH, DEFAULT_ARCH, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ALPHA,
      g_param_spec_double ("alpha", "Alpha",
          "Width multiplier of the model: " MN_ALPHAS_TEXT " (those "
          "published for the architecture)", 0.25, 1.4, DEFAULT_ALPHA,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_RESOLUTION,
      g_param_spec_int ("resolution", "Resolution",
          "Network input size rho in pixels, 32 to 512; 0 = the model's own "
          "(a model trained at the nearest size is picked)", 0, MN_MAX_RESOLUTION,
          DEFAULT_RESOLUTION, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_DTYPE,
      g_param_spec_enum ("dtype", "Data type",
          "Float, 8-bit (uint8) or 8-bit per-channel (int8) quantized model",
          GST_TYPE_MOBILENET_DTYPE, DEFAULT_DTYPE, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads",
          "Threads one inference uses at most (0 = all cores); fewer while other work keeps "
          "cores busy and fewer run faster", 0, MN_MAX_THREADS, DEFAULT_THREADS,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_TOP_K,
      g_param_spec_uint ("top-k", "Top k", "Number of best classes reported",
          1, GST_MOBILENET_META_MAX_CLASSES, DEFAULT_TOP_K, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint ("inference-interval", "Inference interval",
          "Classify every Nth frame; the frames between carry the last result", 1, 100000,
          DEFAULT_INTERVAL, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "sync: classify each chosen frame before pushing it (adds latency); latest: a "
          "worker thread classifies the newest frame and frames flow on undelayed "
          "(takes effect at the next start)", GST_TYPE_MOBILENET_CLASSIFY_MODE, DEFAULT_MODE,
          rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post a \"mobilenet\" element message with every result", DEFAULT_POST_MESSAGES,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_CURRENT_MODEL,
      g_param_spec_string ("current-model", "Current model",
          "The model file classifying now (NULL when stopped)", NULL,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_set_static_metadata (element_class, "MobileNet classifier",
      "Filter/Analyzer/Video",
      "Classifies video frames with a MobileNet v1/v2/v3 model (ImageNet top-k) and attaches "
      "the results as metadata and bus messages",
      "mobilenet-live contributors");
  gst_element_class_add_static_pad_template (element_class,
      &gst_mobilenet_classify_sink_template);
  gst_element_class_add_static_pad_template (element_class,
      &gst_mobilenet_classify_src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_mobilenet_classify_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_mobilenet_classify_stop);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_mobilenet_classify_query);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_mobilenet_classify_transform_ip);
  trans_class->transform_ip_on_passthrough = FALSE;
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_mobilenet_classify_set_info);

  gst_type_mark_as_plugin_api (GST_TYPE_MOBILENET_CLASSIFY_MODE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_MOBILENET_DTYPE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_MOBILENET_ARCH, 0);
}

static void
gst_mobilenet_classify_init (GstMobilenetClassify * self)
{
  self->models_dir = g_strdup (DEFAULT_MODELS);
  self->model_path = g_strdup (DEFAULT_MODEL);
  self->arch = DEFAULT_ARCH;
  self->alpha = DEFAULT_ALPHA;
  self->resolution = DEFAULT_RESOLUTION;
  self->dtype = DEFAULT_DTYPE;
  self->threads = DEFAULT_THREADS;
  self->top_k = DEFAULT_TOP_K;
  self->interval = DEFAULT_INTERVAL;
  self->mode = DEFAULT_MODE;
  self->post_messages = DEFAULT_POST_MESSAGES;

  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->cache = gst_mobilenet_model_cache_new (CACHED_MODELS);

  /* Every frame goes through: no QoS dropping of late frames. */
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
  /* Only metadata is added: frames are never written, never copied. */
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), FALSE);
}

/* Asks the loader thread to apply changed model properties. */
static void
request_reload (GstMobilenetClassify * self)
{
  g_mutex_lock (&self->lock);
  self->want_gen++;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static void
gst_mobilenet_classify_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMobilenetClassify *self = GST_MOBILENET_CLASSIFY (object);
  gboolean reload = FALSE;
  gchar *warning = NULL;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODELS:
      reload = g_strcmp0 (self->models_dir, g_value_get_string (value)) != 0;
      g_free (self->models_dir);
      self->models_dir = g_value_dup_string (value);
      break;
    case PROP_MODEL:
      reload = g_strcmp0 (self->model_path, g_value_get_string (value)) != 0;
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_ALPHA:{
      gdouble alpha = g_value_get_double (value);
      if (!mn_alpha_known (alpha)) {
        warning = g_strdup_printf ("%s: alpha %g is not one of " MN_ALPHAS_TEXT "; keeping %g",
            GST_OBJECT_NAME (self), alpha, self->alpha);
        break;
      }
      reload = self->alpha != alpha;
      self->alpha = alpha;
      break;
    }
    case PROP_RESOLUTION:{
      gint res = g_value_get_int (value);
      if (res != 0 && res < MN_MIN_RESOLUTION) {
        warning = g_strdup_printf ("%s: resolution %d out of range (0 or %d to %d); keeping %d",
            GST_OBJECT_NAME (self), res, MN_MIN_RESOLUTION, MN_MAX_RESOLUTION,
            self->resolution);
        break;
      }
      reload = self->resolution != res;
      self->resolution = res;
      break;
    }
    case PROP_ARCH:
      reload = self->arch != (GstMobilenetArch) g_value_get_enum (value);
      self->arch = g_value_get_enum (value);
      break;
    case PROP_DTYPE:
      reload = self->dtype != (GstMobilenetDtype) g_value_get_enum (value);
      self->dtype = g_value_get_enum (value);
      break;
    case PROP_THREADS:
      reload = self->threads != g_value_get_int (value);
      self->threads = g_value_get_int (value);
      break;
    case PROP_TOP_K:
      self->top_k = g_value_get_uint (value);
      break;
    case PROP_INFERENCE_INTERVAL:
      self->interval = g_value_get_uint (value);
      break;
    case PROP_MODE:
      self->mode = g_value_get_enum (value);
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);

  /* Warned without the object lock: a log handler may read properties. */
  if (warning) {
    g_warning ("%s", warning);
    g_free (warning);
  }

  if (reload)
    request_reload (self);
}

static void
gst_mobilenet_classify_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMobilenetClassify *self = GST_MOBILENET_CLASSIFY (object);

  if (prop_id == PROP_CURRENT_MODEL) {
    g_mutex_lock (&self->lock);
    g_value_set_string (value, self->active_path);
    g_mutex_unlock (&self->lock);
    return;
  }

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODELS:
      g_value_set_string (value, self->models_dir);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_ALPHA:
      g_value_set_double (value, self->alpha);
      break;
    case PROP_RESOLUTION:
      g_value_set_int (value, self->resolution);
      break;
    case PROP_ARCH:
      g_value_set_enum (value, self->arch);
      break;
    case PROP_DTYPE:
      g_value_set_enum (value, self->dtype);
      break;
    case PROP_THREADS:
      g_value_set_int (value, self->threads);
      break;
    case PROP_TOP_K:
      g_value_set_uint (value, self->top_k);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_uint (value, self->interval);
      break;
    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mobilenet_classify_finalize (GObject * object)
{
  GstMobilenetClassify *self = GST_MOBILENET_CLASSIFY (object);

  g_free (self->models_dir);
  g_free (self->model_path);
  gst_mobilenet_model_cache_free (self->cache);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* ---- model switching ------------------------------------------------------ */

static void
snapshot_config (GstMobilenetClassify * self, GstMobilenetModelConfig * cfg)
{
  GST_OBJECT_LOCK (self);
  cfg->models_dir = g_strdup (self->models_dir);
  cfg->model_path = g_strdup (self->model_path);
  cfg->arch = self->arch;
  cfg->alpha = self->alpha;
  cfg->resolution = self->resolution;
  cfg->dtype = self->dtype;
  cfg->threads = self->threads;
  GST_OBJECT_UNLOCK (self);
}

static void
post_model_message (GstMobilenetClassify * self, const GstMobilenetRunner * r,
    const gchar * reason)
{
  GstStructure *s = gst_structure_new ("mobilenet-model",
      "model", G_TYPE_STRING, gst_mobilenet_runner_name (r),
      "path", G_TYPE_STRING, r->path,
      "arch", G_TYPE_STRING, gst_mobilenet_arch_nick (r->arch),
      "alpha", G_TYPE_DOUBLE, (gdouble) r->alpha,
      "resolution", G_TYPE_INT, r->resolution,
      "dtype", G_TYPE_STRING, gst_mobilenet_dtype_nick (r->dtype),
      "threads", G_TYPE_INT, r->threads,
      "load-ms", G_TYPE_DOUBLE, r->load_ms,
      "reason", G_TYPE_STRING, reason, NULL);

  GST_INFO_OBJECT (self, "model live (%s): %s at %d, %s", reason, r->path, r->resolution,
      gst_mobilenet_dtype_nick (r->dtype));
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

/* Makes r the runner in use; called by the thread that classifies. The
 * latency estimate restarts from r's warm-up run. */
static void
activate_runner (GstMobilenetClassify * self, GstMobilenetRunner * r, const gchar * reason)
{
  GstMobilenetRunner *old = self->runner;
  gboolean post_latency;

  if (!r->runner) {
    /* Only the number of threads changes: the runner stays. */
    gst_mobilenet_runner_apply_threads (old, r);
    gst_mobilenet_runner_free (r);
    g_mutex_lock (&self->lock);
    gst_mobilenet_runner_key_free (self->active_key);
    self->active_key = gst_mobilenet_runner_key_copy (old->key);
    g_mutex_unlock (&self->lock);
    post_model_message (self, old, reason);
    return;
  }
  self->runner = r;
  g_mutex_lock (&self->lock);
  gst_mobilenet_runner_key_free (self->active_key);
  g_free (self->active_path);
  self->active_key = gst_mobilenet_runner_key_copy (r->key);
  self->active_path = g_strdup (r->path);
  self->worker_size = r->resolution;
  self->latency_ms = r->warm_ms;
  post_latency = old != NULL && self->active_mode == GST_MOBILENET_CLASSIFY_MODE_SYNC;
  self->latency = (GstClockTime) (r->warm_ms * GST_MSECOND);
  g_mutex_unlock (&self->lock);

  gst_mobilenet_runner_free (old);
  post_model_message (self, r, reason);
  if (post_latency)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_latency (GST_OBJECT (self)));
}

/* Takes a runner the loader made, if any; by the thread that classifies. */
static void
take_pending (GstMobilenetClassify * self)
{
  GstMobilenetRunner *r;

  g_mutex_lock (&self->lock);
  r = self->pending;
  self->pending = NULL;
  g_mutex_unlock (&self->lock);
  if (r)
    activate_runner (self, r, "switch");
}

/* The key of the runner the properties ask for now; NULL when no model
 * matches them. */
static GstMobilenetRunnerKey *
wanted_key (GstMobilenetClassify * self)
{
  GstMobilenetModelConfig cfg = { 0 };
  gchar err[MN_ERROR_MAX] = "", *path;
  GstMobilenetRunnerKey *key = NULL;

  snapshot_config (self, &cfg);
  path = gst_mobilenet_model_config_resolve (&cfg, err);
  if (path)
    key = gst_mobilenet_model_config_key (&cfg, path);
  g_free (path);
  gst_mobilenet_model_config_clear (&cfg);
  return key;
}

/* Applies property changes while running: loads the new model and runner
 * here, then leaves them in self->pending for the classifying thread. */
static gpointer
loader_thread (gpointer data)
{
  GstMobilenetClassify *self = data;

  g_mutex_lock (&self->lock);
  while (self->running) {
    GstMobilenetModelConfig cfg = { 0 };
    GstMobilenetRunner *r = NULL, *dropped = NULL;
    gchar err[MN_ERROR_MAX] = "", *path;
    GstMobilenetRunnerKey *key = NULL;
    guint gen;
    gboolean same, threads_only = FALSE, keep = FALSE;

    if (self->want_gen == self->done_gen) {
      g_cond_wait (&self->cond, &self->lock);
      continue;
    }
    gen = self->want_gen;
    g_mutex_unlock (&self->lock);

    snapshot_config (self, &cfg);
    path = gst_mobilenet_model_config_resolve (&cfg, err);
    if (path)
      key = gst_mobilenet_model_config_key (&cfg, path);

    g_mutex_lock (&self->lock);
    same = key && (self->pending ? gst_mobilenet_runner_key_equal (key, self->pending->key)
        : gst_mobilenet_runner_key_equal (key, self->active_key));
    /* Only the loader sets pending, so the runner in use stays the one
     * active_key names until this request is taken. */
    threads_only = !same && !self->pending
        && gst_mobilenet_key_differs_in_threads_only (key, self->active_key);
    g_mutex_unlock (&self->lock);

    if (path && threads_only) {
      GST_DEBUG_OBJECT (self, "threads now %d", cfg.threads);
      r = gst_mobilenet_runner_new_threads (&cfg, path);
    } else if (path && !same) {
      GST_DEBUG_OBJECT (self, "loading %s", path);
      r = gst_mobilenet_runner_new (self->cache, &cfg, path, TRUE, err);
    }
    if (!path || (!same && !r)) {
      GST_ELEMENT_WARNING (self, RESOURCE, NOT_FOUND,
          ("Could not switch the MobileNet model; the current one stays: %s", err),
          ("%s", err));
    }
    g_free (path);
    gst_mobilenet_runner_key_free (key);
    gst_mobilenet_model_config_clear (&cfg);

    /* Properties set during the load (even to the values they had) need
     * not make it stale: keep it if it is still what they ask for. Any
     * newer change is handled by the next round, as done_gen < want_gen. */
    if (r) {
      gboolean changed;
      g_mutex_lock (&self->lock);
      changed = gen != self->want_gen;
      g_mutex_unlock (&self->lock);
      if (changed) {
        GstMobilenetRunnerKey *now = wanted_key (self);
        keep = gst_mobilenet_runner_key_equal (now, r->key);
        gst_mobilenet_runner_key_free (now);
      } else {
        keep = TRUE;
      }
    }

    g_mutex_lock (&self->lock);
    self->done_gen = gen;
    if (r) {
      if (keep && self->running) {
        dropped = self->pending;
        self->pending = r;
        g_cond_broadcast (&self->cond);
      } else {
        dropped = r;            /* superseded by a newer change */
      }
    }
    if (dropped) {
      g_mutex_unlock (&self->lock);
      gst_mobilenet_runner_free (dropped);
      g_mutex_lock (&self->lock);
    }
  }
  g_mutex_unlock (&self->lock);
  return NULL;
}

/* ---- results ---------------------------------------------------------------- */

static void
fill_result (GstMobilenetClassify * self, const GstMobilenetRunner * r, const mn_result * top,
    gint n, gdouble ms, guint64 frame, GstClockTime pts, GstMobilenetMeta * out)
{
  memset ((guint8 *) out + sizeof (GstMeta), 0, sizeof (*out) - sizeof (GstMeta));
  out->n_classes = MIN (n, GST_MOBILENET_META_MAX_CLASSES);
  for (guint i = 0; i < out->n_classes; i++) {
    out->classes[i].class_index = top[i].class_index;
    out->classes[i].score = top[i].score;
    g_strlcpy (out->classes[i].label, top[i].label, sizeof out->classes[i].label);
  }
  out->arch = r->arch;
  out->alpha = r->alpha;
  out->resolution = r->resolution;
  out->dtype = r->dtype;
  g_strlcpy (out->model, gst_mobilenet_runner_name (r), sizeof out->model);
  out->inference_ms = ms;
  out->source_frame = frame;
  out->source_pts = pts;
  out->result_number = self->n_results++;
}

static void
post_result (GstMobilenetClassify * self, const GstMobilenetMeta * m, GstClockTime pts,
    GstClockTime duration, const GstSegment * segment)
{
  GValue ids = G_VALUE_INIT, labels = G_VALUE_INIT, scores = G_VALUE_INIT, v = G_VALUE_INIT;
  GstStructure *s;
  GstClockTime running_time = GST_CLOCK_TIME_NONE, stream_time = GST_CLOCK_TIME_NONE;

  if (GST_CLOCK_TIME_IS_VALID (pts) && segment->format == GST_FORMAT_TIME) {
    running_time = gst_segment_to_running_time (segment, GST_FORMAT_TIME, pts);
    stream_time = gst_segment_to_stream_time (segment, GST_FORMAT_TIME, pts);
  }
  gst_value_array_init (&ids, m->n_classes);
  gst_value_array_init (&labels, m->n_classes);
  gst_value_array_init (&scores, m->n_classes);
  for (guint i = 0; i < m->n_classes; i++) {
    g_value_init (&v, G_TYPE_INT);
    g_value_set_int (&v, m->classes[i].class_index);
    gst_value_array_append_and_take_value (&ids, &v);
    g_value_init (&v, G_TYPE_STRING);
    g_value_set_string (&v, m->classes[i].label);
    gst_value_array_append_and_take_value (&labels, &v);
    g_value_init (&v, G_TYPE_DOUBLE);
    g_value_set_double (&v, m->classes[i].score);
    gst_value_array_append_and_take_value (&scores, &v);
  }
  s = gst_structure_new ("mobilenet",
      "frame", G_TYPE_UINT64, m->source_frame,
      "timestamp", G_TYPE_UINT64, pts,
      "pts", G_TYPE_UINT64, pts,
      "duration", G_TYPE_UINT64, duration,
      "running-time", G_TYPE_UINT64, running_time,
      "stream-time", G_TYPE_UINT64, stream_time,
      "class-id", G_TYPE_INT, m->n_classes ? m->classes[0].class_index : -1,
      "label", G_TYPE_STRING, m->n_classes ? m->classes[0].label : "",
      "score", G_TYPE_DOUBLE, m->n_classes ? (gdouble) m->classes[0].score : 0.0,
      "arch", G_TYPE_STRING, gst_mobilenet_arch_nick (m->arch),
      "alpha", G_TYPE_DOUBLE, (gdouble) m->alpha,
      "resolution", G_TYPE_INT, m->resolution,
      "dtype", G_TYPE_STRING, gst_mobilenet_dtype_nick (m->dtype),
      "model", G_TYPE_STRING, m->model,
      "inference-ms", G_TYPE_DOUBLE, m->inference_ms,
      "result", G_TYPE_UINT64, m->result_number, NULL);
  gst_structure_take_value (s, "class-ids", &ids);
  gst_structure_take_value (s, "labels", &labels);
  gst_structure_take_value (s, "scores", &scores);
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

/* Keeps a running average of the inference time as the reported latency
 * (sync mode) and tells the pipeline when it moved by more than a quarter. */
static void
update_latency (GstMobilenetClassify * self, gdouble ms)
{
  gboolean post = FALSE;
  GstClockTime lat;

  g_mutex_lock (&self->lock);
  self->latency_ms = 0.9 * self->latency_ms + 0.1 * ms;
  lat = (GstClockTime) (self->latency_ms * GST_MSECOND);
  if (self->active_mode == GST_MOBILENET_CLASSIFY_MODE_SYNC
      && (lat > self->latency + self->latency / 4 + GST_MSECOND
          || lat + lat / 4 + GST_MSECOND < self->latency)) {
    self->latency = lat;
    post = TRUE;
  }
  g_mutex_unlock (&self->lock);
  if (post) {
    GST_DEBUG_OBJECT (self, "latency now %" GST_TIME_FORMAT, GST_TIME_ARGS (lat));
    gst_element_post_message (GST_ELEMENT (self), gst_message_new_latency (GST_OBJECT (self)));
  }
}

/* ---- mode=latest worker ----------------------------------------------------- */

static gpointer
worker_thread (gpointer data)
{
  GstMobilenetClassify *self = data;
  guint8 *rgb = g_malloc (RGB_MAX);
  GstMobilenetSlot job;

  g_mutex_lock (&self->lock);
  while (self->running) {
    mn_result top[GST_MOBILENET_META_MAX_CLASSES];
    GstMobilenetMeta result;
    gchar err[MN_ERROR_MAX];
    guint8 *tmp;
    gint64 t0;
    gint n;
    guint k;
    gboolean post;
    gdouble ms;

    if (self->pending) {
      g_mutex_unlock (&self->lock);
      take_pending (self);
      g_mutex_lock (&self->lock);
      continue;
    }
    if (!self->slot.full) {
      self->worker_idle = TRUE;
      g_cond_wait (&self->cond, &self->lock);
      continue;
    }
    self->worker_idle = FALSE;
    job = self->slot;
    tmp = self->slot.rgb;
    self->slot.rgb = rgb;
    rgb = tmp;
    self->slot.full = FALSE;
    if (job.size != self->runner->resolution)
      continue;                 /* made for the previous runner */
    g_mutex_unlock (&self->lock);

    GST_OBJECT_LOCK (self);
    k = self->top_k;
    post = self->post_messages;
    GST_OBJECT_UNLOCK (self);

    t0 = g_get_monotonic_time ();
    n = mn_runner_classify_preprocessed (self->runner->runner, rgb, k, top, err);
    ms = job.preprocess_ms + (g_get_monotonic_time () - t0) / 1000.0;
    if (n < 0) {
      GST_ELEMENT_ERROR (self, STREAM, FAILED, ("MobileNet inference failed."), ("%s", err));
      g_mutex_lock (&self->lock);
      break;
    }
    fill_result (self, self->runner, top, n, ms, job.frame, job.pts, &result);
    update_latency (self, ms);

    g_mutex_lock (&self->lock);
    self->result = result;
    self->have_result = TRUE;
    g_mutex_unlock (&self->lock);
    if (post)
      post_result (self, &result, job.pts, job.duration, &job.segment);
    g_mutex_lock (&self->lock);
  }
  self->worker_idle = FALSE;
  g_mutex_unlock (&self->lock);
  g_free (rgb);
  return NULL;
}

/* Hands the frame to the worker if it is waiting for one. */
static void
offer_frame (GstMobilenetClassify * self, GstBuffer * buf, guint64 frame_no)
{
  GstVideoFilter *filter = GST_VIDEO_FILTER (self);
  GstVideoFrame frame;
  gchar err[MN_ERROR_MAX];
  gint size;
  gint64 t0;
  gboolean ok;

  g_mutex_lock (&self->lock);
  ok = self->worker_idle && !self->slot.full;
  size = self->worker_size;
  g_mutex_unlock (&self->lock);
  if (!ok)
    return;

  if (!gst_video_frame_map (&frame, &filter->in_info, buf, GST_MAP_READ)) {
    GST_WARNING_OBJECT (self, "could not map frame %" G_GUINT64_FORMAT, frame_no);
    return;
  }
  t0 = g_get_monotonic_time ();
  ok = gst_mobilenet_preprocess_frame (&self->pre, &frame, size, self->spare_rgb, err);
  gst_video_frame_unmap (&frame);
  if (!ok) {
    GST_WARNING_OBJECT (self, "preprocessing failed: %s", err);
    return;
  }

  g_mutex_lock (&self->lock);
  if (self->worker_idle && !self->slot.full && size == self->worker_size) {
    guint8 *tmp = self->slot.rgb;
    self->slot.rgb = self->spare_rgb;
    self->spare_rgb = tmp;
    self->slot.size = size;
    self->slot.frame = frame_no;
    self->slot.pts = GST_BUFFER_PTS (buf);
    self->slot.duration = GST_BUFFER_DURATION (buf);
    self->slot.segment = GST_BASE_TRANSFORM (self)->segment;
    self->slot.preprocess_ms = (g_get_monotonic_time () - t0) / 1000.0;
    self->slot.full = TRUE;
    g_cond_broadcast (&self->cond);
  }
  g_mutex_unlock (&self->lock);
}

/* ---- GstBaseTransform / GstVideoFilter vfuncs ------------------------------- */

static gboolean
gst_mobilenet_classify_start (GstBaseTransform * trans)
{
  GstMobilenetClassify *self = GST_MOBILENET_CLASSIFY (trans);
  GstMobilenetModelConfig cfg = { 0 };
  GstMobilenetRunner *r = NULL;
  gchar err[MN_ERROR_MAX] = "", *path;
  guint gen;

  g_mutex_lock (&self->lock);
  gen = self->want_gen;
  g_mutex_unlock (&self->lock);

  snapshot_config (self, &cfg);
  path = gst_mobilenet_model_config_resolve (&cfg, err);
  if (!path) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No MobileNet model found: %s", err), ("%s", err));
    gst_mobilenet_model_config_clear (&cfg);
    return FALSE;
  }
  r = gst_mobilenet_runner_new (self->cache, &cfg, path, FALSE, err);
  gst_mobilenet_model_config_clear (&cfg);
  if (!r) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not load the MobileNet model \"%s\".", path), ("%s", err));
    g_free (path);
    return FALSE;
  }
  g_free (path);

  GST_OBJECT_LOCK (self);
  self->active_mode = self->mode;
  GST_OBJECT_UNLOCK (self);

  self->frame_count = 0;
  self->n_results = 0;
  self->have_result = FALSE;
  self->rgb = g_malloc (RGB_MAX);
  self->spare_rgb = g_malloc (RGB_MAX);
  memset (&self->slot, 0, sizeof self->slot);
  self->slot.rgb = g_malloc (RGB_MAX);
  activate_runner (self, r, "start");

  g_mutex_lock (&self->lock);
  self->done_gen = gen;
  self->running = TRUE;
  self->worker_idle = FALSE;
  self->loader = g_thread_new ("mobilenet-loader", loader_thread, self);
  if (self->active_mode == GST_MOBILENET_CLASSIFY_MODE_LATEST)
    self->worker = g_thread_new ("mobilenet-worker", worker_thread, self);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_mobilenet_classify_stop (GstBaseTransform * trans)
{
  GstMobilenetClassify *self = GST_MOBILENET_CLASSIFY (trans);
  GThread *loader, *worker;

  g_mutex_lock (&self->lock);
  self->running = FALSE;
  g_cond_broadcast (&self->cond);
  loader = self->loader;
  worker = self->worker;
  self->loader = self->worker = NULL;
  g_mutex_unlock (&self->lock);
  if (loader)
    g_thread_join (loader);
  if (worker)
    g_thread_join (worker);

  gst_mobilenet_runner_free (self->pending);
  gst_mobilenet_runner_free (self->runner);
  self->pending = self->runner = NULL;
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->active_key, gst_mobilenet_runner_key_free);
  g_clear_pointer (&self->active_path, g_free);
  g_mutex_unlock (&self->lock);
  g_clear_pointer (&self->rgb, g_free);
  g_clear_pointer (&self->spare_rgb, g_free);
  g_clear_pointer (&self->slot.rgb, g_free);
  self->slot.full = FALSE;
  self->have_result = FALSE;
  gst_mobilenet_preprocess_clear (&self->pre);
  return TRUE;
}

static gboolean
gst_mobilenet_classify_query (GstBaseTransform * trans, GstPadDirection direction,
    GstQuery * query)
{
  GstMobilenetClassify *self = GST_MOBILENET_CLASSIFY (trans);
  gboolean ret;

  ret = GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction, query);
  if (ret && direction == GST_PAD_SRC && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    gboolean live;
    GstClockTime min, max, lat = 0;

    g_mutex_lock (&self->lock);
    if (self->running && self->active_mode == GST_MOBILENET_CLASSIFY_MODE_SYNC)
      lat = self->latency;
    g_mutex_unlock (&self->lock);
    gst_query_parse_latency (query, &live, &min, &max);
    GST_DEBUG_OBJECT (self, "adding latency %" GST_TIME_FORMAT " to %" GST_TIME_FORMAT,
        GST_TIME_ARGS (lat), GST_TIME_ARGS (min));
    min += lat;
    if (GST_CLOCK_TIME_IS_VALID (max))
      max += lat;
    gst_query_set_latency (query, live, min, max);
  }
  return ret;
}

static gboolean
gst_mobilenet_classify_set_info (GstVideoFilter * filter, GstCaps * incaps,
    GstVideoInfo * in_info, GstCaps * outcaps, GstVideoInfo * out_info)
{
  GstMobilenetClassify *self = GST_MOBILENET_CLASSIFY (filter);

  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, incaps);
  if (!gst_mobilenet_preprocess_init (&self->pre, in_info)) {
    GST_ERROR_OBJECT (self, "cannot classify %s frames of %dx%d",
        GST_VIDEO_INFO_NAME (in_info), GST_VIDEO_INFO_WIDTH (in_info),
        GST_VIDEO_INFO_HEIGHT (in_info));
    return FALSE;
  }
  return TRUE;
}

static GstFlowReturn
classify_sync (GstMobilenetClassify * self, GstBuffer * buf, guint64 frame_no, guint k,
    gboolean post)
{
  GstVideoFilter *filter = GST_VIDEO_FILTER (self);
  mn_result top[GST_MOBILENET_META_MAX_CLASSES];
  GstVideoFrame frame;
  gchar err[MN_ERROR_MAX];
  gint64 t0;
  gint n = -1;
  gdouble ms;

  if (!gst_video_frame_map (&frame, &filter->in_info, buf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Could not map the video frame."), (NULL));
    return GST_FLOW_ERROR;
  }
  t0 = g_get_monotonic_time ();
  if (gst_mobilenet_preprocess_frame (&self->pre, &frame, self->runner->resolution, self->rgb,
          err))
    n = mn_runner_classify_preprocessed (self->runner->runner, self->rgb, k, top, err);
  ms = (g_get_monotonic_time () - t0) / 1000.0;
  gst_video_frame_unmap (&frame);
  if (n < 0) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("MobileNet inference failed."), ("%s", err));
    return GST_FLOW_ERROR;
  }
  fill_result (self, self->runner, top, n, ms, frame_no, GST_BUFFER_PTS (buf), &self->result);
  self->have_result = TRUE;
  update_latency (self, ms);
  GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT ": %s %.3f (%.2f ms)", frame_no,
      n > 0 ? top[0].label : "-", n > 0 ? top[0].score : 0.0f, ms);
  if (post)
    post_result (self, &self->result, GST_BUFFER_PTS (buf), GST_BUFFER_DURATION (buf),
        &GST_BASE_TRANSFORM (self)->segment);
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_mobilenet_classify_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstMobilenetClassify *self = GST_MOBILENET_CLASSIFY (trans);
  guint64 frame_no = self->frame_count++;
  guint interval, k;
  gboolean post;

  GST_OBJECT_LOCK (self);
  interval = self->interval;
  k = self->top_k;
  post = self->post_messages;
  GST_OBJECT_UNLOCK (self);

  if (self->active_mode == GST_MOBILENET_CLASSIFY_MODE_SYNC) {
    take_pending (self);
    if (frame_no % interval == 0) {
      GstFlowReturn ret = classify_sync (self, buf, frame_no, k, post);
      if (ret != GST_FLOW_OK)
        return ret;
    }
    if (self->have_result)
      gst_buffer_add_mobilenet_meta (buf, &self->result);
  } else {
    if (frame_no % interval == 0)
      offer_frame (self, buf, frame_no);
    g_mutex_lock (&self->lock);
    if (self->have_result)
      gst_buffer_add_mobilenet_meta (buf, &self->result);
    g_mutex_unlock (&self->lock);
  }
  return GST_FLOW_OK;
}
