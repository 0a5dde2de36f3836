/* test_gst_classify.c: GstHarness tests of mobilenetclassify (black box:
 * the plugin is loaded from GST_PLUGIN_PATH, results are read through
 * gstmobilenetmeta.h and the bus).
 *
 * Models: $MOBILENET_SHARED/models (alpha 0.25/0.5 files, small frames, one
 * inference thread, to keep the run short). Exits 77 without them.
 */
#include <math.h>
#include <unistd.h>

#include "gst_test_util.h"
#include "image_io.h"
#include "mobilenet/mobilenet.h"

static gchar *models;

static const GstVideoFormat formats[] = {
  GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_BGRx,
  GST_VIDEO_FORMAT_xRGB, GST_VIDEO_FORMAT_xBGR, GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA,
  GST_VIDEO_FORMAT_ARGB, GST_VIDEO_FORMAT_ABGR, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_YV12,
  GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_NV21, GST_VIDEO_FORMAT_Y42B, GST_VIDEO_FORMAT_Y444,
};

/* A classifier with the test models, alpha 0.25 u8, one thread; extra
 * properties as "name", value pairs (g_object_set). */
static GstElement *
make_classify (const gchar * first_property, ...)
{
  GstElement *e = gst_element_factory_make ("mobilenetclassify", NULL);
  va_list args;

  fail_unless (e != NULL, "mobilenetclassify not found: is GST_PLUGIN_PATH set?");
  gst_object_ref_sink (e);
  g_object_set (e, "models", models, "alpha", 0.25, "threads", 1, NULL);
  gst_util_set_object_arg (G_OBJECT (e), "dtype", "u8");
  if (first_property) {
    va_start (args, first_property);
    g_object_set_valist (G_OBJECT (e), first_property, args);
    va_end (args);
  }
  return e;
}

static GstHarness *
harness_for (GstElement * e, GstVideoFormat fmt, int w, int h)
{
  GstHarness *hr = gst_harness_new_with_element (e, "sink", "src");
  GstVideoInfo info;
  GstCaps *caps;

  gst_video_info_set_format (&info, fmt, w, h);
  GST_VIDEO_INFO_FPS_N (&info) = 30;
  GST_VIDEO_INFO_FPS_D (&info) = 1;
  caps = gst_video_info_to_caps (&info);
  gst_harness_set_src_caps (hr, caps);
  return hr;
}

static GstBuffer *
timed (GstBuffer * buf, guint64 i)
{
  GST_BUFFER_PTS (buf) = i * GST_SECOND / 30;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  GST_BUFFER_OFFSET (buf) = i;
  return buf;
}

/* ---- caps negotiation ------------------------------------------------------ */

GST_START_TEST (test_caps_each_format)
{
  guint8 *rgb = mn_test_picture (64, 48, 1);

  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstElement *e = make_classify (NULL);
    GstVideoInfo info;
    GstBuffer *in = mn_frame_from_rgb (rgb, 64, 48, formats[f], &info);
    GstHarness *hr = harness_for (e, formats[f], 64, 48);
    GstBuffer *out;
    GstCaps *caps;
    GstMobilenetMeta *m;

    fail_unless_equals_int (gst_harness_push (hr, timed (in, 0)), GST_FLOW_OK);
    out = gst_harness_pull (hr);
    fail_unless (out != NULL);
    caps = gst_pad_get_current_caps (hr->sinkpad);
    fail_unless_equals_string (gst_structure_get_string (gst_caps_get_structure (caps, 0),
            "format"), gst_video_format_to_string (formats[f]));
    gst_caps_unref (caps);
    m = gst_buffer_get_mobilenet_meta (out);
    fail_unless (m != NULL, "no meta for %s", gst_video_format_to_string (formats[f]));
    fail_unless_equals_int (m->n_classes, 5);
    fail_unless_equals_int (m->resolution, 224);
    fail_unless_equals_int (m->dtype, GST_MOBILENET_DTYPE_U8);
    fail_unless (fabs (m->alpha - 0.25) < 1e-6);
    fail_unless_equals_uint64 (m->source_frame, 0);
    fail_unless_equals_uint64 (m->source_pts, 0);
    fail_unless (m->classes[0].score >= m->classes[4].score);
    fail_unless (m->classes[0].label[0] != '\0');
    gst_buffer_unref (out);
    gst_harness_teardown (hr);
    ASSERT_OBJECT_REFCOUNT (e, "classify", 1);
    gst_object_unref (e);
  }
  g_free (rgb);
}

GST_END_TEST;

GST_START_TEST (test_unsupported_caps)
{
  const gchar *bad[] = {
    "video/x-raw,format=GRAY16_LE,width=64,height=48,framerate=30/1",
    "video/x-raw,format=v210,width=64,height=48,framerate=30/1",
    "audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    GstElement *e = make_classify (NULL);
    GstHarness *hr = gst_harness_new_with_element (e, "sink", "src");
    gst_harness_set_src_caps_str (hr, bad[i]);
    fail_unless_equals_int (gst_harness_push (hr, gst_buffer_new_allocate (NULL, 64 * 48 * 4,
                NULL)), GST_FLOW_NOT_NEGOTIATED);
    gst_harness_teardown (hr);
    gst_object_unref (e);
  }
}

GST_END_TEST;

/* ---- the same top-5 as the engine -------------------------------------------- */

static void
engine_top5 (const char *model_file, const image_rgb * img, mn_result top[5])
{
  char err[MN_ERROR_MAX];
  mn_model *model;
  mn_runner *runner;
  mn_image im = { img->pixels, img->width, img->height, (size_t) img->width * 3, MN_PIXEL_RGB };

  fail_unless (mn_model_load (model_file, &model, err) == MN_OK, "%s", err);
  fail_unless (mn_runner_create (model, mn_model_resolution (model), 1, &runner, err) == MN_OK);
  fail_unless_equals_int (mn_runner_classify (runner, &im, 5, top, err), 5);
  mn_runner_free (runner);
  mn_model_free (model);
}

static void
check_same_as_engine (const char *photo, const char *model_name, const char *dtype)
{
  gchar *photo_path = mn_shared_path (photo), *model_file;
  char err[IMAGE_ERROR_MAX];
  image_rgb img;
  mn_result ref[5];

  model_file = g_build_filename (models, model_name, NULL);
  fail_unless (image_load_file (photo_path, &img, err) == 0, "%s", err);
  engine_top5 (model_file, &img, ref);

  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstElement *e = make_classify ("model", model_file, NULL);
    GstVideoInfo info;
    GstBuffer *in = mn_frame_from_rgb (img.pixels, img.width, img.height, formats[f], &info);
    GstHarness *hr = harness_for (e, formats[f], img.width, img.height);
    GstBuffer *out;
    GstMobilenetMeta *m;
    const gboolean exact = GST_VIDEO_INFO_IS_RGB (&info);
    guint shared = 0;

    fail_unless_equals_int (gst_harness_push (hr, timed (in, 0)), GST_FLOW_OK);
    out = gst_harness_pull (hr);
    m = gst_buffer_get_mobilenet_meta (out);
    fail_unless (m != NULL);
    fail_unless_equals_int (m->n_classes, 5);
    fail_unless_equals_string (m->model, model_name);
    fail_unless_equals_string (gst_mobilenet_dtype_nick (m->dtype), dtype);
    for (int i = 0; i < 5; i++) {
      if (exact) {
        /* Packed RGB: the very same pixels, so the very same numbers. */
        fail_unless_equals_int (m->classes[i].class_index, ref[i].class_index);
        fail_unless (m->classes[i].score == ref[i].score, "%s %s #%d: %g != %g", photo,
            gst_video_format_to_string (formats[f]), i, m->classes[i].score, ref[i].score);
        fail_unless_equals_string (m->classes[i].label, ref[i].label);
      }
      for (int j = 0; j < 5; j++)
        shared += m->classes[i].class_index == ref[j].class_index;
    }
    if (!exact) {
      /* YUV: the picture went through 4:2:0/4:2:2 chroma and 8-bit YCbCr,
       * so only the ranking is compared. */
      fail_unless_equals_int (m->classes[0].class_index, ref[0].class_index);
      fail_unless (shared >= 3, "%s %s: only %u of the top-5 shared", photo,
          gst_video_format_to_string (formats[f]), shared);
    }
    gst_buffer_unref (out);
    gst_harness_teardown (hr);
    gst_object_unref (e);
  }
  image_free (&img);
  g_free (photo_path);
  g_free (model_file);
}

GST_START_TEST (test_same_top5_as_engine_u8)
{
  check_same_as_engine ("images/photos/parrot.jpg", "mobilenet_v1_0.25_224_quant.tflite", "u8");
  check_same_as_engine ("images/photos/sunflower.bmp", "mobilenet_v1_0.25_224_quant.tflite",
      "u8");
}

GST_END_TEST;

GST_START_TEST (test_same_top5_as_engine_f32)
{
  check_same_as_engine ("images/photos/cat.bmp", "mobilenet_v1_0.25_224.tflite", "f32");
}

GST_END_TEST;

/* ---- switching arch / alpha / rho / dtype while streaming ---------------------- */

typedef struct {
  const gchar *arch;
  gdouble alpha;
  gint resolution;
  const gchar *dtype;
  gint expect_res;              /* resolution the runner uses */
} Config;

static const Config switches[] = {
  {"v1", 0.25, 128, "u8", 128},
  {"v1", 0.25, 0, "f32", 224},
  {"v2", 0.5, 0, "u8", 224},
  {"v1", 0.5, 0, "u8", 160},
  {"v3-small", 1.0, 96, "u8", 96},
  {"v1", 0.25, 96, "u8", 96},
  {"v2", 1.0, 128, "i8", 128},
  {"v1", 0.5, 128, "f32", 128},
  {"v3-small", 1.0, 0, "f32", 224},
  {"v1", 0.25, 0, "u8", 224},
  {"v2", 0.75, 0, "u8", 224},
  {"v1", 0.25, 160, "f32", 160},
  {"v3-large", 1.0, 96, "u8", 96},
  {"v1", 0.5, 96, "u8", 96},
  {"v1", 0.25, 64, "u8", 64},
};

static void
set_config (GstElement * e, const Config * c)
{
  gst_util_set_object_arg (G_OBJECT (e), "dtype", c->dtype);
  gst_util_set_object_arg (G_OBJECT (e), "arch", c->arch);
  g_object_set (e, "alpha", c->alpha, "resolution", c->resolution, NULL);
}

/* v3-large asks for v3-large, and the shared folder's one is minimalistic */
static gboolean
is_config (const Config * c, const gchar * arch, gdouble alpha, gint res, const gchar * dtype)
{
  return res == c->expect_res && fabs (alpha - c->alpha) < 1e-6 && !g_strcmp0 (dtype, c->dtype)
      && arch && g_str_has_prefix (arch, c->arch);
}

/* Switches through every configuration while streaming; after each switch
 * goes on pushing frames until that configuration is live and has
 * classified a few frames (no fixed frame budget: a loaded machine or a
 * sanitizer only makes it take longer). Every frame must come out at once,
 * in order. */
static void
check_switching (const gchar * mode)
{
  const int w = 48, h = 36;
  GstElement *e = make_classify ("resolution", 0, "post-messages", FALSE, NULL);
  GstBus *bus = gst_bus_new ();
  GstHarness *hr;
  guint8 *rgb = mn_test_picture (w, h, 7);
  GstMessage *msg;
  guint switched = 0, with_meta = 0, seen = 0;
  const gboolean sync = !strcmp (mode, "sync");
  int i = 0;

  gst_util_set_object_arg (G_OBJECT (e), "mode", mode);
  gst_element_set_bus (e, bus);
  hr = harness_for (e, GST_VIDEO_FORMAT_RGB, w, h);

  /* Some frames with the first model. */
  for (; i < 50; i++) {
    GstVideoInfo info;
    GstBuffer *out;
    fail_unless_equals_int (gst_harness_push (hr, timed (mn_frame_from_rgb (rgb, w, h,
                    GST_VIDEO_FORMAT_RGB, &info), i)), GST_FLOW_OK);
    out = gst_harness_try_pull (hr);
    fail_unless (out != NULL, "frame %d held back", i);
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (out), i);
    gst_buffer_unref (out);
  }

  for (guint c = 0; c < G_N_ELEMENTS (switches); c++) {
    const Config *cfg = &switches[c];
    const guint want = c + 1 == G_N_ELEMENTS (switches) ? 20 : 3;
    gint64 deadline = g_get_monotonic_time () + 60 * G_TIME_SPAN_SECOND;
    guint64 live_at = G_MAXUINT64;
    guint checked = 0;

    set_config (e, cfg);
    for (; checked < want; i++) {
      GstVideoInfo info;
      GstBuffer *out;
      GstMobilenetMeta *m;

      fail_unless (g_get_monotonic_time () < deadline,
          "%s: configuration %u (%s %g/%d/%s) not live and classifying after 60 s (frame %d)",
          mode, c, cfg->arch, cfg->alpha, cfg->resolution, cfg->dtype, i);
      /* latest: frames at a camera-like pace */
      if (!sync)
        g_usleep (1000);
      fail_unless_equals_int (gst_harness_push (hr, timed (mn_frame_from_rgb (rgb, w, h,
                      GST_VIDEO_FORMAT_RGB, &info), i)), GST_FLOW_OK);
      /* Every frame comes out, at once and in order. */
      out = gst_harness_try_pull (hr);
      fail_unless (out != NULL, "frame %d held back", i);
      fail_unless_equals_uint64 (GST_BUFFER_OFFSET (out), i);
      fail_unless_equals_uint64 (GST_BUFFER_PTS (out), i * GST_SECOND / 30);
      m = gst_buffer_get_mobilenet_meta (out);
      if (sync) {
        fail_unless (m != NULL, "frame %d without meta", i);
        fail_unless_equals_uint64 (m->source_frame, i);
      }
      if (m) {
        with_meta++;
        fail_unless (m->source_frame <= (guint64) i);
        fail_unless_equals_int (m->n_classes, 5);
        /* Classified after the switch: by the new configuration. */
        if (live_at != G_MAXUINT64 && m->source_frame > live_at) {
          fail_unless (is_config (cfg, gst_mobilenet_arch_nick (m->arch), m->alpha,
                  m->resolution, gst_mobilenet_dtype_nick (m->dtype)), "%s: frame %"
              G_GUINT64_FORMAT " classified by %s %g/%d/%s, not configuration %u", mode,
              m->source_frame, gst_mobilenet_arch_nick (m->arch), m->alpha, m->resolution,
              gst_mobilenet_dtype_nick (m->dtype), c);
          checked++;
        }
      }
      gst_buffer_unref (out);
      while (live_at == G_MAXUINT64 && (msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
        const GstStructure *s = gst_message_get_structure (msg);
        gint res = 0;
        gdouble alpha = 0;
        if (gst_structure_has_name (s, "mobilenet-model")) {
          if (!g_strcmp0 (gst_structure_get_string (s, "reason"), "switch"))
            switched++;
          gst_structure_get_int (s, "resolution", &res);
          gst_structure_get_double (s, "alpha", &alpha);
          if (is_config (cfg, gst_structure_get_string (s, "arch"), alpha, res,
                  gst_structure_get_string (s, "dtype")))
            live_at = i;
        }
        gst_message_unref (msg);
      }
    }
    seen++;
  }
  fail_unless_equals_int (gst_harness_buffers_in_queue (hr), 0);

  GST_INFO ("%s: %u configurations seen, %u switches, %d frames, %u with meta", mode,
      seen, switched, i, with_meta);
  fail_unless_equals_int (seen, G_N_ELEMENTS (switches));
  fail_unless (switched >= G_N_ELEMENTS (switches));

  gst_harness_teardown (hr);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  g_free (rgb);
}

GST_START_TEST (test_switch_midstream_sync)
{
  check_switching ("sync");
}

GST_END_TEST;

GST_START_TEST (test_switch_midstream_latest)
{
  check_switching ("latest");
}

GST_END_TEST;

/* Changing only the threads while streaming keeps the runner (the same
 * load-ms as at the start) and says so with a mobilenet-model message;
 * setting a property to the value it has changes nothing. */
GST_START_TEST (test_threads_change_midstream)
{
  const int w = 48, h = 36;
  GstElement *e = make_classify ("post-messages", FALSE, NULL);
  GstBus *bus = gst_bus_new ();
  GstHarness *hr;
  guint8 *rgb = mn_test_picture (w, h, 3);
  gint64 deadline = g_get_monotonic_time () + 60 * G_TIME_SPAN_SECOND;
  gdouble start_ms = -1, switch_ms = -1;
  gint threads = 0, n_model = 0;
  GstMessage *msg;

  gst_element_set_bus (e, bus);
  hr = harness_for (e, GST_VIDEO_FORMAT_RGB, w, h);
  for (int i = 0; switch_ms < 0; i++) {
    GstVideoInfo info;
    GstBuffer *out;

    fail_unless (g_get_monotonic_time () < deadline, "the threads change never went live");
    if (i == 5) {
      /* The same values again, then a threads change. */
      g_object_set (e, "models", models, "alpha", 0.25, "threads", 1, NULL);
      g_object_set (e, "threads", 2, NULL);
    }
    fail_unless_equals_int (gst_harness_push (hr, timed (mn_frame_from_rgb (rgb, w, h,
                    GST_VIDEO_FORMAT_RGB, &info), i)), GST_FLOW_OK);
    out = gst_harness_try_pull (hr);
    fail_unless (out != NULL, "frame %d held back", i);
    fail_unless (gst_buffer_get_mobilenet_meta (out) != NULL);
    gst_buffer_unref (out);
    while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
      const GstStructure *st = gst_message_get_structure (msg);
      if (gst_structure_has_name (st, "mobilenet-model")) {
        gdouble ms = 0;
        n_model++;
        gst_structure_get_double (st, "load-ms", &ms);
        gst_structure_get_int (st, "threads", &threads);
        if (!g_strcmp0 (gst_structure_get_string (st, "reason"), "start")) {
          fail_unless_equals_int (threads, 1);
          start_ms = ms;
        } else {
          fail_unless_equals_int (threads, 2);
          switch_ms = ms;
        }
      }
      gst_message_unref (msg);
    }
    if (i >= 5 && switch_ms < 0)
      g_usleep (1000);
  }
  fail_unless_equals_int (n_model, 2);
  fail_unless (start_ms >= 0 && switch_ms == start_ms, "a new runner was made (%g, %g ms)",
      start_ms, switch_ms);

  gst_harness_teardown (hr);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  g_free (rgb);
}

GST_END_TEST;

/* ---- state changes -------------------------------------------------------------- */

typedef struct {
  GMutex lock;
  GCond cond;
  guint buffers;
} Counter;

static GstPadProbeReturn
count_buffer (GstPad * pad, GstPadProbeInfo * info, Counter * c)
{
  g_mutex_lock (&c->lock);
  c->buffers++;
  g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);
  return GST_PAD_PROBE_OK;
}

GST_START_TEST (test_state_cycles)
{
  gchar *desc = g_strdup_printf ("videotestsrc pattern=ball ! video/x-raw,format=I420,width=48,"
      "height=36,framerate=30/1 ! mobilenetclassify name=c models=\"%s\" alpha=0.25 dtype=u8 "
      "resolution=64 threads=1 ! fakesink name=s", models);
  GstElement *pipe = gst_parse_launch (desc, NULL);
  GstElement *c = gst_bin_get_by_name (GST_BIN (pipe), "c");
  GstElement *s = gst_bin_get_by_name (GST_BIN (pipe), "s");
  GstPad *pad = gst_element_get_static_pad (s, "sink");
  Counter counter = { 0 };

  fail_unless (pipe != NULL);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, (GstPadProbeCallback) count_buffer,
      &counter, NULL);
  for (int i = 0; i < 100; i++) {
    guint target;
    gst_element_set_state (pipe, GST_STATE_NULL);
    gst_util_set_object_arg (G_OBJECT (c), "mode", i % 2 ? "latest" : "sync");
    g_mutex_lock (&counter.lock);
    target = counter.buffers + 2;
    g_mutex_unlock (&counter.lock);
    fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    g_mutex_lock (&counter.lock);
    while (counter.buffers < target) {
      gint64 end = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;
      fail_unless (g_cond_wait_until (&counter.cond, &counter.lock, end), "cycle %d stalled",
          i);
    }
    g_mutex_unlock (&counter.lock);
    {
      gchar *model = NULL;
      g_object_get (c, "current-model", &model, NULL);
      fail_unless (model && strstr (model, "0.25_128_quant"), "%s", model);
      g_free (model);
    }
  }
  gst_element_set_state (pipe, GST_STATE_NULL);
  {
    gchar *model = NULL;
    g_object_get (c, "current-model", &model, NULL);
    fail_unless (model == NULL);
  }
  gst_object_unref (pad);
  gst_object_unref (s);
  gst_object_unref (c);
  gst_object_unref (pipe);
  g_mutex_clear (&counter.lock);
  g_cond_clear (&counter.cond);
  g_free (desc);
}

GST_END_TEST;

/* ---- bad input ------------------------------------------------------------------- */

/* Starting e must fail with a RESOURCE error whose text names what. */
static void
check_start_error (GstElement * e, const gchar * what)
{
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;
  gchar *dbg = NULL;

  gst_element_set_bus (e, bus);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error message");
  gst_message_parse_error (msg, &err, &dbg);
  fail_unless (err->domain == GST_RESOURCE_ERROR, "%s", err->message);
  fail_unless (strstr (err->message, what) != NULL, "\"%s\" does not name %s", err->message,
      what);
  g_error_free (err);
  g_free (dbg);
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
}

GST_START_TEST (test_missing_model)
{
  GstElement *e = make_classify ("model", "/nonexistent/mobilenet_missing.tflite", NULL);
  check_start_error (e, "/nonexistent/mobilenet_missing.tflite");
  gst_object_unref (e);

  e = make_classify ("models", "/nonexistent-models-folder", NULL);
  check_start_error (e, "/nonexistent-models-folder");
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_corrupt_model)
{
  gchar *dir = g_dir_make_tmp ("mobilenet-test-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "corrupt.tflite", NULL);
  gchar *truncated = g_build_filename (dir, "truncated.tflite", NULL);
  gchar *real = g_build_filename (models, "mobilenet_v1_0.25_128_quant.tflite", NULL);
  gchar *contents;
  gsize len;
  guint8 junk[4096];
  GstElement *e;

  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = (guint8) (i * 37 + 11);
  memcpy (junk + 4, "TFL3", 4);
  fail_unless (g_file_set_contents (path, (const gchar *) junk, sizeof junk, NULL));
  fail_unless (g_file_get_contents (real, &contents, &len, NULL));
  fail_unless (g_file_set_contents (truncated, contents, len / 3, NULL));

  e = make_classify ("model", path, NULL);
  check_start_error (e, path);
  gst_object_unref (e);
  e = make_classify ("model", truncated, NULL);
  check_start_error (e, truncated);
  gst_object_unref (e);

  g_unlink (path);
  g_unlink (truncated);
  g_rmdir (dir);
  g_free (contents);
  g_free (real);
  g_free (truncated);
  g_free (path);
  g_free (dir);
}

GST_END_TEST;

GST_START_TEST (test_out_of_range_properties)
{
  GstElement *e = make_classify ("resolution", 160, "top-k", 3, NULL);
  gdouble alpha;
  gint res, threads;
  guint k, interval;

  /* Outside the GParamSpec ranges: GObject refuses with a warning. */
  ASSERT_WARNING (g_object_set (e, "resolution", 1000, NULL));
  ASSERT_WARNING (g_object_set (e, "alpha", 2.0, NULL));
  ASSERT_WARNING (g_object_set (e, "top-k", 0, NULL));
  ASSERT_WARNING (g_object_set (e, "threads", -1, NULL));
  ASSERT_WARNING (g_object_set (e, "inference-interval", 0, NULL));
  /* Inside the ranges but not valid: the element refuses with a warning. */
  ASSERT_WARNING (g_object_set (e, "resolution", 16, NULL));
  ASSERT_WARNING (g_object_set (e, "alpha", 0.3, NULL));

  g_object_get (e, "alpha", &alpha, "resolution", &res, "top-k", &k, "threads", &threads,
      "inference-interval", &interval, NULL);
  fail_unless (alpha == 0.25);
  fail_unless_equals_int (res, 160);
  fail_unless_equals_int (k, 3);
  fail_unless_equals_int (threads, 1);
  fail_unless_equals_int (interval, 1);

  /* Valid values are taken. */
  g_object_set (e, "alpha", 0.75, "resolution", 0, NULL);
  g_object_get (e, "alpha", &alpha, "resolution", &res, NULL);
  fail_unless (alpha == 0.75);
  fail_unless_equals_int (res, 0);
  gst_object_unref (e);
}

GST_END_TEST;

/* ---- results: messages, interval, latency, meta through other elements ---------- */

GST_START_TEST (test_messages_and_interval)
{
  GstElement *e = make_classify ("inference-interval", 3, "resolution", 96, NULL);
  GstBus *bus = gst_bus_new ();
  GstHarness *hr;
  guint8 *rgb = mn_test_picture (40, 30, 3);
  GstSegment segment;
  guint messages = 0;
  GstMessage *msg;

  gst_element_set_bus (e, bus);
  hr = harness_for (e, GST_VIDEO_FORMAT_BGRx, 40, 30);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  segment.base = 5 * GST_SECOND;
  gst_harness_push_event (hr, gst_event_new_segment (&segment));
  for (int i = 0; i < 10; i++) {
    GstVideoInfo info;
    GstBuffer *out;
    GstMobilenetMeta *m;
    fail_unless_equals_int (gst_harness_push (hr, timed (mn_frame_from_rgb (rgb, 40, 30,
                    GST_VIDEO_FORMAT_BGRx, &info), i)), GST_FLOW_OK);
    out = gst_harness_pull (hr);
    m = gst_buffer_get_mobilenet_meta (out);
    fail_unless (m != NULL);
    fail_unless_equals_uint64 (m->source_frame, i - i % 3);
    fail_unless_equals_uint64 (m->source_pts, (i - i % 3) * GST_SECOND / 30);
    fail_unless_equals_uint64 (m->result_number, i / 3);
    fail_unless (m->inference_ms > 0);
    gst_buffer_unref (out);
  }
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);
    if (gst_structure_has_name (s, "mobilenet")) {
      guint64 frame, pts, rt, st, dur;
      const GValue *labels, *scores;
      gdouble score;
      fail_unless (gst_structure_get_uint64 (s, "frame", &frame));
      fail_unless (gst_structure_get_uint64 (s, "pts", &pts));
      fail_unless (gst_structure_get_uint64 (s, "running-time", &rt));
      fail_unless (gst_structure_get_uint64 (s, "stream-time", &st));
      fail_unless (gst_structure_get_uint64 (s, "duration", &dur));
      fail_unless_equals_uint64 (frame, messages * 3);
      fail_unless_equals_uint64 (pts, frame * GST_SECOND / 30);
      fail_unless_equals_uint64 (rt, pts + 5 * GST_SECOND);
      fail_unless_equals_uint64 (st, pts);
      fail_unless_equals_uint64 (dur, GST_SECOND / 30);
      labels = gst_structure_get_value (s, "labels");
      scores = gst_structure_get_value (s, "scores");
      fail_unless_equals_int (gst_value_array_get_size (labels), 5);
      fail_unless_equals_int (gst_value_array_get_size (scores), 5);
      fail_unless (gst_structure_get_double (s, "score", &score));
      fail_unless (score == g_value_get_double (gst_value_array_get_value (scores, 0)));
      fail_unless_equals_string (gst_structure_get_string (s, "label"),
          g_value_get_string (gst_value_array_get_value (labels, 0)));
      fail_unless_equals_string (gst_structure_get_string (s, "dtype"), "u8");
      fail_unless_equals_string (gst_structure_get_string (s, "model"),
          "mobilenet_v1_0.25_128_quant.tflite");
      messages++;
    }
    gst_message_unref (msg);
  }
  fail_unless_equals_int (messages, 4);   /* frames 0, 3, 6, 9 */

  gst_harness_teardown (hr);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  g_free (rgb);
}

GST_END_TEST;

GST_START_TEST (test_latency_query)
{
  const gchar *modes[] = { "sync", "latest" };

  for (int i = 0; i < 2; i++) {
    GstElement *e = make_classify ("mode", i, NULL);
    GstHarness *hr = harness_for (e, GST_VIDEO_FORMAT_RGBx, 32, 32);
    GstClockTime lat;
    gst_harness_set_upstream_latency (hr, 10 * GST_MSECOND);
    lat = gst_harness_query_latency (hr);
    if (i == 0)
      fail_unless (lat > 10 * GST_MSECOND, "%s: latency %" GST_TIME_FORMAT, modes[i],
          GST_TIME_ARGS (lat));
    else
      fail_unless_equals_uint64 (lat, 10 * GST_MSECOND);
    gst_harness_teardown (hr);
    gst_object_unref (e);
  }
}

GST_END_TEST;

GST_START_TEST (test_meta_survives_convert_scale_tee)
{
  gchar *desc = g_strdup_printf ("mobilenetclassify models=\"%s\" alpha=0.25 dtype=u8 "
      "threads=1 resolution=64 ! videoconvert ! videoscale ! "
      "video/x-raw,format=I420,width=30,height=20 ! tee ! queue ! videoconvert ! "
      "capsfilter caps=video/x-raw,format=BGRA", models);
  GstHarness *hr = gst_harness_new_parse (desc);
  guint8 *rgb = mn_test_picture (64, 48, 5);
  GstVideoInfo info;
  GstBuffer *out, *copy;
  GstMobilenetMeta *m, *mc;

  gst_harness_set_src_caps_str (hr, "video/x-raw,format=RGB,width=64,height=48,"
      "framerate=30/1");
  fail_unless_equals_int (gst_harness_push (hr, timed (mn_frame_from_rgb (rgb, 64, 48,
                  GST_VIDEO_FORMAT_RGB, &info), 0)), GST_FLOW_OK);
  out = gst_harness_pull (hr);
  fail_unless (out != NULL);
  fail_unless_equals_int (gst_buffer_get_size (out), 30 * 20 * 4);
  m = gst_buffer_get_mobilenet_meta (out);
  fail_unless (m != NULL, "meta lost on the way");
  fail_unless_equals_int (m->resolution, 64);
  fail_unless_equals_int (m->n_classes, 5);
  copy = gst_buffer_copy (out);
  mc = gst_buffer_get_mobilenet_meta (copy);
  fail_unless (mc != NULL && mc != m);
  fail_unless (memcmp ((guint8 *) mc + sizeof (GstMeta), (guint8 *) m + sizeof (GstMeta),
          sizeof *m - sizeof (GstMeta)) == 0);
  gst_buffer_unref (copy);
  gst_buffer_unref (out);
  gst_harness_teardown (hr);
  g_free (rgb);
  g_free (desc);
}

GST_END_TEST;

static Suite *
mobilenetclassify_suite (void)
{
  Suite *s = suite_create ("mobilenetclassify");
  TCase *tc = tcase_create ("general");

  /* Generous for one test on a busy 2-core machine under AddressSanitizer,
   * yet small enough that one hung test fails alone, well within the meson
   * timeout of the whole suite (tests/meson.build). */
  tcase_set_timeout (tc, 240);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_caps_each_format);
  tcase_add_test (tc, test_unsupported_caps);
  tcase_add_test (tc, test_same_top5_as_engine_u8);
  tcase_add_test (tc, test_same_top5_as_engine_f32);
  tcase_add_test (tc, test_switch_midstream_sync);
  tcase_add_test (tc, test_switch_midstream_latest);
  tcase_add_test (tc, test_threads_change_midstream);
  tcase_add_test (tc, test_state_cycles);
  tcase_add_test (tc, test_missing_model);
  tcase_add_test (tc, test_corrupt_model);
  tcase_add_test (tc, test_out_of_range_properties);
  tcase_add_test (tc, test_messages_and_interval);
  tcase_add_test (tc, test_latency_query);
  tcase_add_test (tc, test_meta_survives_convert_scale_tee);
  return s;
}

int
main (int argc, char **argv)
{
  Suite *s;

  gst_check_init (&argc, &argv);
  mn_require_shared ("models/mobilenet_v1_0.25_224_quant.tflite");
  mn_require_shared ("models/imagenet_labels.txt");
  mn_require_shared ("images/photos/parrot.jpg");
  models = mn_shared_path ("models");
  s = mobilenetclassify_suite ();
  return gst_check_run_suite (s, "mobilenetclassify", __FILE__);
}
