/* mobilenet-record: labels a video file with MobileNet results.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   uridecodebin ! queue ! videoconvert ! mobilenetclassify ! mobilenetoverlay !
 *     videoconvert ! queue ! encoder ! muxer ! filesink
 *
 * The output container follows the file name: .webm (VP8 + WebM), .mkv (VP8
 * + Matroska), .mp4 / .mov (H.264 + MP4, needs x264enc or openh264enc).
 * Audio is not recorded. On a terminal a progress bar shows the percentage
 * done, the frames per second and the current top class. Ctrl-C sends
 * end-of-stream and waits for it to reach the file, so the file is
 * complete and playable (exit status 130); a second Ctrl-C quits at once.
 * On failure the output file is removed: it would not play.
 *
 * Run from the build folder it uses the plugin built beside it (as the
 * viewer does); installed, the installed plugin.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gst/gst.h>

#include "cli_common.h"
#include "gstmobilenetapp.h"

#define PROG "mobilenet-record"

typedef struct {
  GMainLoop *loop;
  GstElement *pipeline, *convert, *classify;
  const gchar *in;              /* the input as given, for messages */
  gboolean progress, interrupted, failed, linked, prerolled;
  gchar *model_line;            /* printed once a frame got through */
  gint interrupts;
  guint64 frames;
  GstClockTime position;        /* stream time of the last frame written */
  gint64 t_start;
  GHashTable *top1;             /* label -> count */
  guint results;
  gchar *current;
} App;

static void
usage (FILE * f)
{
  fprintf (f,
      "Usage: " PROG " IN OUT [options]\n"
      "Labels a video: decodes IN, classifies every frame with MobileNet, draws the\n"
      "top-5, frame rates and model on it and encodes it to OUT (.webm: VP8/WebM,\n"
      ".mkv: VP8/Matroska, .mp4/.mov: H.264/MP4 where x264enc is installed).\n"
      "IN may be a file name or a URI. Ctrl-C finishes the file early.\n\n"
      "  --models DIR       models folder (default: $MOBILENET_MODELS or\n"
      "                     ~/.local/share/mobilenet-live/models)\n"
      "  --model FILE       a .tflite file (overrides --arch/--alpha/--dtype)\n"
      "  --arch A           v1, v2, v3-small or v3-large (default v1)\n"
      "  --alpha A          width multiplier: " MN_ALPHAS_TEXT " (default 1.0)\n"
      "  --dtype T          f32, u8 or i8 (default f32)\n"
      "  --resolution N     network input size 32..512 (default: the model's)\n"
      "  --threads N        inference threads at most (default: all cores)\n"
      "  --interval N       classify every Nth frame (default 1)\n"
      "  --mode M           sync (every frame, default) or latest\n"
      "  --bitrate KBIT     video bit rate in kbit/s (default 2000)\n"
      "  --position P       top-left, top-right, bottom-left, bottom-right\n"
      "  --quiet            no progress bar\n"
      "  -h, --help         this text\n"
      "  --version          the version\n"
      "Exit status: 0 done, 1 error, 2 bad usage, 130 interrupted (file complete).\n");
}

static gboolean
ends_with (const gchar * s, const gchar * suffix)
{
  return g_str_has_suffix (s, suffix);
}

static GstElement *
make (const gchar * factory, const gchar * name)
{
  GstElement *e = gst_element_factory_make (factory, name);
  if (!e)
    fprintf (stderr, PROG ": GStreamer element %s is missing%s\n", factory,
        g_str_has_prefix (factory, "mobilenet")
        ? " (install the plugin, or set GST_PLUGIN_PATH to the folder holding "
        "libgstmobilenet.so)" : "");
  return e;
}

static gboolean
has_element (const gchar * factory)
{
  GstElementFactory *f = gst_element_factory_find (factory);
  if (f)
    gst_object_unref (f);
  return f != NULL;
}

static void
on_pad_added (GstElement * decodebin, GstPad * pad, App * app)
{
  GstCaps *caps = gst_pad_get_current_caps (pad);
  const gchar *name;
  gboolean video;

  if (!caps)
    caps = gst_pad_query_caps (pad, NULL);
  name = gst_structure_get_name (gst_caps_get_structure (caps, 0));
  video = g_str_has_prefix (name, "video/x-raw");
  gst_caps_unref (caps);

  if (video && !app->linked) {
    GstPad *sink = gst_element_get_static_pad (app->convert, "sink");
    if (gst_pad_link (pad, sink) == GST_PAD_LINK_OK)
      app->linked = TRUE;
    else
      fprintf (stderr, PROG ": could not link the decoded video\n");
    gst_object_unref (sink);
  } else {
    /* Audio and further video streams are not recorded. */
    GstElement *sink = gst_element_factory_make ("fakesink", NULL);
    GstPad *sinkpad;
    g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
    gst_bin_add (GST_BIN (app->pipeline), sink);
    gst_element_sync_state_with_parent (sink);
    sinkpad = gst_element_get_static_pad (sink, "sink");
    gst_pad_link (pad, sinkpad);
    gst_object_unref (sinkpad);
  }
}

static GstPadProbeReturn
count_frames (GstPad * pad, GstPadProbeInfo * info, App * app)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  app->frames++;                /* one writer: the encoder queue thread */
  if (GST_BUFFER_PTS_IS_VALID (buf))
    app->position = GST_BUFFER_PTS (buf);
  return GST_PAD_PROBE_OK;
}

static void
print_progress (App * app, gboolean final)
{
  gint64 duration = -1;
  gdouble secs = (g_get_monotonic_time () - app->t_start) / 1e6;
  guint64 frames = app->frames;
  gdouble fps = secs > 0 ? frames / secs : 0;
  gchar bar[41];
  gint width = 30, filled;
  gdouble pct = -1;

  if (gst_element_query_duration (app->pipeline, GST_FORMAT_TIME, &duration) && duration > 0
      && GST_CLOCK_TIME_IS_VALID (app->position))
    pct = MIN (100.0, 100.0 * app->position / duration);
  if (final && !app->interrupted && !app->failed)
    pct = 100.0;
  filled = pct < 0 ? 0 : (gint) (width * pct / 100.0 + 0.5);
  for (gint i = 0; i < width; i++)
    bar[i] = i < filled ? '#' : '-';
  bar[width] = '\0';
  if (pct >= 0)
    fprintf (stderr, "\r[%s] %5.1f%%  %6" G_GUINT64_FORMAT " frames  %6.1f fps  %-24.24s\033[K",
        bar, pct, frames, fps, app->current ? app->current : "");
  else
    fprintf (stderr, "\r%6" G_GUINT64_FORMAT " frames  %6.1f fps  %-24.24s\033[K", frames, fps,
        app->current ? app->current : "");
  if (final)
    fputc ('\n', stderr);
  fflush (stderr);
}

static gboolean
on_timer (App * app)
{
  print_progress (app, FALSE);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigint (App * app)
{
  app->interrupts++;
  if (app->interrupts == 1) {
    app->interrupted = TRUE;
    if (app->progress)
      fputc ('\n', stderr);
    fprintf (stderr, PROG ": interrupted, finishing the file (Ctrl-C again to quit now)\n");
    gst_element_send_event (app->pipeline, gst_event_new_eos ());
  } else {
    fprintf (stderr, PROG ": quitting; the unfinished file is removed\n");
    app->failed = TRUE;
    g_main_loop_quit (app->loop);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_message (GstBus * bus, GstMessage * msg, App * app)
{
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:{
      GError *err = NULL;
      gchar *dbg = NULL;
      gst_message_parse_error (msg, &err, &dbg);
      if (app->progress)
        fputc ('\n', stderr);
      /* One line saying what is wrong; GStreamer's debug text (source
       * paths, element paths) is for GST_DEBUG, not for users. */
      if (!app->prerolled && gst_mobilenet_app_is_not_video_error (err))
        fprintf (stderr, PROG ": %s: not a video file\n", app->in);
      else if (GST_MESSAGE_SRC (msg) == GST_OBJECT (app->classify))
        fprintf (stderr, PROG ": %s\n", err->message);  /* names the model and the cause */
      else
        fprintf (stderr, PROG ": %s: %s (from %s)\n", app->in, err->message,
            GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)));
      GST_DEBUG ("error details: %s", dbg ? dbg : "none");
      g_error_free (err);
      g_free (dbg);
      app->failed = TRUE;
      g_main_loop_quit (app->loop);
      break;
    }
    case GST_MESSAGE_WARNING:{
      GError *err = NULL;
      gst_message_parse_warning (msg, &err, NULL);
      fprintf (stderr, "%s" PROG ": warning: %s\n", app->progress ? "\n" : "", err->message);
      g_error_free (err);
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit (app->loop);
      break;
    case GST_MESSAGE_ASYNC_DONE:
      /* prerolled: the input decodes, so the model line is worth reading */
      if (!app->prerolled && app->model_line)
        fprintf (stderr, "%s", app->model_line);
      app->prerolled = TRUE;
      break;
    case GST_MESSAGE_ELEMENT:{
      const GstStructure *s = gst_message_get_structure (msg);
      if (gst_structure_has_name (s, "mobilenet")) {
        const gchar *label = gst_structure_get_string (s, "label");
        if (label && *label) {
          gpointer n = g_hash_table_lookup (app->top1, label);
          g_hash_table_replace (app->top1, g_strdup (label),
              GUINT_TO_POINTER (GPOINTER_TO_UINT (n) + 1));
          g_free (app->current);
          app->current = g_strdup (label);
          app->results++;
        }
      } else if (gst_structure_has_name (s, "mobilenet-model")) {
        gdouble alpha = 0;
        gint res = 0;
        gst_structure_get_double (s, "alpha", &alpha);
        gst_structure_get_int (s, "resolution", &res);
        g_free (app->model_line);
        app->model_line = g_strdup_printf (PROG ": model %s (%s, alpha %g, rho %d, %s)\n",
            gst_structure_get_string (s, "model"), gst_structure_get_string (s, "arch"), alpha,
            res, gst_structure_get_string (s, "dtype"));
        if (app->prerolled)
          fprintf (stderr, "%s", app->model_line);
      }
      break;
    }
    default:
      break;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  cli_model_options mo;
  App app = { 0 };
  const gchar *in = NULL, *out = NULL, *mode = "sync", *position = "top-left";
  gint interval = 1, bitrate = 2000;
  gboolean quiet = FALSE, mp4;
  GstElement *src, *q1, *conv1, *classify, *overlay, *conv2, *q2, *enc, *mux, *sink;
  GstPad *pad;
  GstBus *bus;
  gchar *uri;
  GError *error = NULL;
  const gchar *encoder;
  int status;
  gboolean started = FALSE;

#if defined(MN_BUILD_PLUGIN_DIR) && defined(MN_INSTALLED_PLUGIN_DIR)
  /* the plugin built beside this program, or installed with it */
  gst_mobilenet_app_find_plugin (MN_BUILD_PLUGIN_DIR, MN_INSTALLED_PLUGIN_DIR);
#endif
  /* --help and --version answer before GStreamer scans its plugins (whose
   * warnings would end up in the manual page help2man makes of --help) */
  for (int i = 1; i < argc; i++) {
    if (!strcmp (argv[i], "-h") || !strcmp (argv[i], "--help")) {
      usage (stdout);
      return 0;
    } else if (!strcmp (argv[i], "--version")) {
      cli_print_version (PROG);
      return 0;
    }
  }
  gst_init (&argc, &argv);
  cli_model_options_init (&mo);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int r = cli_model_option (&mo, argc, argv, &i, PROG);
    if (r < 0)
      return 2;
    if (r > 0)
      continue;
    if (!strcmp (a, "--quiet")) {
      quiet = TRUE;
    } else if (!strcmp (a, "--interval") || !strcmp (a, "--bitrate") || !strcmp (a, "--mode")
        || !strcmp (a, "--position")) {
      if (i + 1 >= argc) {
        fprintf (stderr, PROG ": %s needs a value\n", a);
        return 2;
      }
      const char *v = argv[++i];
      if (!strcmp (a, "--interval") && !cli_parse_int (v, 1, 100000, &interval)) {
        fprintf (stderr, PROG ": --interval %s: expected a whole number from 1 to 100000\n", v);
        return 2;
      } else if (!strcmp (a, "--bitrate") && !cli_parse_int (v, 50, 200000, &bitrate)) {
        fprintf (stderr, PROG ": --bitrate %s: expected kbit/s from 50 to 200000\n", v);
        return 2;
      } else if (!strcmp (a, "--mode")) {
        if (strcmp (v, "sync") && strcmp (v, "latest")) {
          fprintf (stderr, PROG ": --mode %s: expected sync or latest\n", v);
          return 2;
        }
        mode = v;
      } else if (!strcmp (a, "--position")) {
        if (strcmp (v, "top-left") && strcmp (v, "top-right") && strcmp (v, "bottom-left")
            && strcmp (v, "bottom-right")) {
          fprintf (stderr, PROG ": --position %s: expected top-left, top-right, bottom-left "
              "or bottom-right\n", v);
          return 2;
        }
        position = v;
      }
    } else if (a[0] == '-' && a[1]) {
      fprintf (stderr, PROG ": unknown option %s (see --help)\n", a);
      return 2;
    } else if (!in) {
      in = a;
    } else if (!out) {
      out = a;
    } else {
      fprintf (stderr, PROG ": too many arguments (see --help)\n");
      return 2;
    }
  }
  if (!in || !out) {
    usage (stderr);
    return 2;
  }
  if (!mn_alpha_known (mo.alpha)) {
    fprintf (stderr, PROG ": --alpha %g: expected " MN_ALPHAS_TEXT "\n", mo.alpha);
    return 2;
  }

  mp4 = ends_with (out, ".mp4") || ends_with (out, ".mov") || ends_with (out, ".m4v");
  if (mp4) {
    encoder = has_element ("x264enc") ? "x264enc"
        : has_element ("openh264enc") ? "openh264enc" : NULL;
    if (!encoder) {
      fprintf (stderr, PROG ": %s: H.264 needs x264enc (Debian: gstreamer1.0-plugins-ugly) or "
          "openh264enc; write .webm instead\n", out);
      return 1;
    }
  } else if (ends_with (out, ".webm") || ends_with (out, ".mkv")) {
    encoder = "vp8enc";
  } else {
    fprintf (stderr, PROG ": %s: unknown output type (use .webm, .mkv or .mp4)\n", out);
    return 2;
  }
  if (gst_uri_is_valid (in)) {
    uri = g_strdup (in);
  } else {
    if (access (in, R_OK) != 0) {
      fprintf (stderr, PROG ": %s: %s\n", in, strerror (errno));
      return 1;
    }
    uri = gst_filename_to_uri (in, &error);
    if (!uri) {
      fprintf (stderr, PROG ": %s: %s\n", in, error->message);
      g_error_free (error);
      return 1;
    }
  }

  app.pipeline = gst_pipeline_new ("record");
  src = make ("uridecodebin", "src");
  q1 = make ("queue", "q1");
  conv1 = make ("videoconvert", "convert1");
  classify = make ("mobilenetclassify", "classify");
  overlay = make ("mobilenetoverlay", "overlay");
  conv2 = make ("videoconvert", "convert2");
  q2 = make ("queue", "q2");
  enc = make (encoder, "encoder");
  mux = make (mp4 ? "mp4mux" : ends_with (out, ".webm") ? "webmmux" : "matroskamux", "mux");
  sink = make ("filesink", "sink");
  if (!src || !q1 || !conv1 || !classify || !overlay || !conv2 || !q2 || !enc || !mux || !sink)
    return 1;

  g_object_set (src, "uri", uri, NULL);
  g_free (uri);
  /* Decoding, classifying and encoding run in three threads. */
  g_object_set (q1, "max-size-buffers", 8, "max-size-bytes", 0, "max-size-time",
      (guint64) 0, NULL);
  g_object_set (q2, "max-size-buffers", 8, "max-size-bytes", 0, "max-size-time",
      (guint64) 0, NULL);
  g_object_set (classify, "alpha", (gdouble) mo.alpha, "resolution", mo.resolution,
      "threads", mo.threads, "inference-interval", (guint) interval, NULL);
  gst_util_set_object_arg (G_OBJECT (classify), "dtype", mn_dtype_name (mo.dtype));
  gst_util_set_object_arg (G_OBJECT (classify), "arch", mn_arch_name (mo.arch));
  gst_util_set_object_arg (G_OBJECT (classify), "mode", mode);
  if (mo.models_dir)
    g_object_set (classify, "models", mo.models_dir, NULL);
  if (mo.model_path)
    g_object_set (classify, "model", mo.model_path, NULL);
  gst_util_set_object_arg (G_OBJECT (overlay), "position", position);
  if (!strcmp (encoder, "vp8enc")) {
    /* Realtime deadline; libvpx's own threads (vp8enc threads=N) made
     * encoding several times slower on a busy 2-core machine. */
    g_object_set (enc, "target-bitrate", bitrate * 1000, "deadline", (gint64) 1,
        "cpu-used", 4, NULL);
  } else if (!strcmp (encoder, "x264enc")) {
    g_object_set (enc, "bitrate", (guint) bitrate, NULL);
    gst_util_set_object_arg (G_OBJECT (enc), "speed-preset", "veryfast");
  } else {
    g_object_set (enc, "bitrate", (guint) bitrate * 1000, NULL);
  }
  g_object_set (sink, "location", out, NULL);

  gst_bin_add_many (GST_BIN (app.pipeline), src, q1, conv1, classify, overlay, conv2, q2, enc,
      mux, sink, NULL);
  if (!gst_element_link_many (q1, conv1, classify, overlay, conv2, q2, enc, mux, sink, NULL)) {
    fprintf (stderr, PROG ": could not build the pipeline\n");
    return 1;
  }
  app.convert = q1;
  app.classify = classify;
  g_signal_connect (src, "pad-added", G_CALLBACK (on_pad_added), &app);

  pad = gst_element_get_static_pad (enc, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, (GstPadProbeCallback) count_frames, &app,
      NULL);
  gst_object_unref (pad);

  app.loop = g_main_loop_new (NULL, FALSE);
  app.top1 = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  app.progress = !quiet && isatty (STDERR_FILENO);
  app.position = GST_CLOCK_TIME_NONE;
  bus = gst_pipeline_get_bus (GST_PIPELINE (app.pipeline));
  gst_bus_add_watch (bus, (GstBusFunc) on_message, &app);
  g_unix_signal_add (SIGINT, (GSourceFunc) on_sigint, &app);
  if (app.progress)
    g_timeout_add (250, (GSourceFunc) on_timer, &app);

  app.in = in;
  app.t_start = g_get_monotonic_time ();
  started = TRUE;               /* from here on the file sink may have written OUT */
  if (gst_element_set_state (app.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    /* The error message, already on the bus, says why. */
    GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (m) {
      on_message (bus, m, &app);
      gst_message_unref (m);
    } else {
      fprintf (stderr, PROG ": could not start the pipeline\n");
    }
    app.failed = TRUE;
  } else {
    g_main_loop_run (app.loop);
  }
  if (app.progress)
    print_progress (&app, TRUE);
  gst_element_set_state (app.pipeline, GST_STATE_NULL);

  if (!app.failed && app.frames == 0) {
    fprintf (stderr, PROG ": %s: no video frames%s\n", in, app.linked ? "" : " (no video stream)");
    app.failed = TRUE;
  }
  if (!app.failed) {
    gdouble secs = (g_get_monotonic_time () - app.t_start) / 1e6;
    GHashTableIter it;
    gpointer key, value;
    const gchar *best = NULL;
    guint best_n = 0;
    g_hash_table_iter_init (&it, app.top1);
    while (g_hash_table_iter_next (&it, &key, &value))
      if (GPOINTER_TO_UINT (value) > best_n ||
          (GPOINTER_TO_UINT (value) == best_n && best && strcmp (key, best) < 0))
        best = key, best_n = GPOINTER_TO_UINT (value);
    printf ("%s: %" G_GUINT64_FORMAT " frames in %.1f s (%.1f fps)%s", out, app.frames, secs,
        secs > 0 ? app.frames / secs : 0.0, app.interrupted ? ", interrupted" : "");
    if (best)
      printf ("; top-1 mostly \"%s\" (%u of %u results)", best, best_n, app.results);
    printf ("\n");
  }
  status = app.failed ? 1 : app.interrupted ? 130 : 0;
  /* a failed recording is not playable (or has no frames): leave no file */
  if (app.failed && started && unlink (out) != 0 && errno != ENOENT)
    fprintf (stderr, PROG ": %s: cannot remove the unfinished file: %s\n", out,
        strerror (errno));

  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (app.pipeline);
  g_main_loop_unref (app.loop);
  g_hash_table_unref (app.top1);
  g_free (app.current);
  g_free (app.model_line);
  return status;
}
