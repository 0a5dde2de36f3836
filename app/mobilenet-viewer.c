/* mobilenet-viewer: a desktop window showing a camera, a video file or a test
 * pattern with MobileNet's live top-5, frame rates and model settings, with
 * keys to switch alpha / rho / dtype / threads and to record the labelled
 * video.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One GStreamer pipeline does the work; classification is the plugin's
 * mobilenetclassify (mode=latest: frames are never held back for inference):
 *
 *   source ! videoconvert ! video/x-raw,format=BGRA ! mobilenetclassify ! tee
 *     tee. ! queue ! appsink                  (frames -> SDL2 streaming texture)
 *     tee. ! queue ! mobilenetoverlay ! videoconvert ! vp8enc ! webmmux ! filesink
 *                                             (added / removed while playing: R)
 *
 * The source is v4l2src ! decodebin (--device), filesrc ! decodebin (--file;
 * --loop loops with segment seeks, so a recording spans the loop) or a live
 * videotestsrc (--test). The window (SDL2, text with SDL2_ttf) is drawn by
 * ui/viewer_panel.c; the results come from the GstMobilenetMeta on each
 * displayed frame, the inference rate from the "mobilenet" bus messages
 * (one per inference), the live model from "mobilenet-model" messages.
 *
 * The plugin: a viewer run from the build tree puts the build's pipeline/
 * folder first on GST_PLUGIN_PATH (so it uses the plugin built with it); an
 * installed viewer uses the installed plugin.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gst/gst.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>
#include <SDL.h>
#include <SDL_ttf.h>

/* the library: its limits, names, and the list of model files (V, D) */
#include <mobilenet/mobilenet.h>
#include "gstmobilenetapp.h"
#include "gstmobilenetmeta.h"
#include "viewer_keys.h"
#include "viewer_panel.h"
#include "viewer_shot.h"

#define PROG "mobilenet-viewer"
#define STATUS_PERIOD_US 500000
#define RATE_PERIOD_US 1000000
#define MESSAGE_US 4000000
#define RECORD_FINISH_TIMEOUT_US 15000000
#define START_TIMEOUT_US 30000000

/* The engine's dtype names (f32/float32/float, u8/uint8/quant): -1 when unknown. */
static int
parse_dtype(const char *text)
{
  mn_dtype d;
  return mn_dtype_parse(text, &d) ? (int)d : -1;
}

/* ---- options ---------------------------------------------------------------- */

typedef struct {
  gchar *device, *file, *models, *arch, *dtype, *record_dir, *screenshot_dir, *status_file, *font;
  gchar *size;
  gboolean test, loop, fullscreen;
  gdouble alpha, quit_after;
  gint resolution, threads;
} options;

/* ---- state ------------------------------------------------------------------ */

typedef struct recording recording;
typedef struct rec_unlink rec_unlink;

typedef struct {
  options o;
  gchar *source_name;
  int nproc;

  GstElement *pipeline, *convert, *classify, *tee, *appsink;
  gboolean live, have_video_pad;
  volatile gint no_video;       /* decodebin found no video stream */

  /* asked for */
  mn_arch arch;
  double alpha;
  int rho, threads;
  mn_dtype dtype;

  /* live, from the meta of the frame on screen and the model messages */
  viewer_panel_info info;
  char live_model[GST_MOBILENET_META_MODEL_MAX];
  int live_threads;

  SDL_Window *win;
  SDL_Renderer *ren;
  SDL_Texture *tex;
  int tex_w, tex_h, disp_w, disp_h;
  viewer_ui *ui;
  viewer_layout layout;
  gboolean have_frame, redraw;

  gboolean paused, help, fullscreen, eos, quitting, quit_now;
  gint64 quit_deadline;
  char message[600];
  gboolean message_error;
  gint64 message_until;
  char fatal[600];
  int exit_status;

  gint64 t_start, rate_t0, status_t0, tick_t;
  volatile gint shots_in_flight;
  guint rate_frames, rate_results;
  guint64 frames_displayed, results_seen;
  double display_fps, inference_fps, inference_ms, rate_ms_sum;

  recording *rec;
  GstObject *old_rec_bin;       /* the last finished branch: its late errors are not fatal */
  gboolean shot_pending;
  char last_recording[PATH_MAX];
  guint64 last_recording_frames;

  FILE *status;
  volatile gint wake_pending;
  Uint32 ev_wake, ev_rec_eos, ev_shot_done;
} app;

struct recording {
  GstElement *bin;
  GstPad *teepad, *ghost;
  char *path;
  gint64 t_start, t_stop;
  volatile gint frames_in;      /* frames into the encoder */
  volatile gint frames;         /* frames out of it: the frames in the file */
  gboolean stopping;
  rec_unlink *unlink;           /* shared with the IDLE probe of rec_stop */
};

/* The IDLE probe's data: reference counted (the probe may run after the
 * recording struct is gone); state 0 pending, 1 ran, 2 cancelled. */
struct rec_unlink {
  GstPad *ghost;
  gint state;
};

typedef struct {
  char *path;
  gboolean ok;
  char err[512];
} shot_result;

static app *the_app;

static gint64
now_us(void)
{
  return g_get_monotonic_time();
}

/* ---- messages: stderr and the window ------------------------------------------- */

static void
show_message(app *a, gboolean error, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void
show_message(app *a, gboolean error, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_vsnprintf(a->message, sizeof a->message, fmt, ap);
  va_end(ap);
  a->message_error = error;
  a->message_until = now_us() + (error ? 2 : 1) * MESSAGE_US;
  a->redraw = TRUE;
  if (error)
    g_printerr(PROG ": %s\n", a->message);
  else
    g_print(PROG ": %s\n", a->message);
}

/* ---- status file (JSON lines) ------------------------------------------------ */

static void
json_str(GString *s, const char *v)
{
  if (!v) {
    g_string_append(s, "null");
    return;
  }
  g_string_append_c(s, '"');
  for (const unsigned char *p = (const unsigned char *) v; *p; p++) {
    switch (*p) {
    case '"': g_string_append(s, "\\\""); break;
    case '\\': g_string_append(s, "\\\\"); break;
    case '\n': g_string_append(s, "\\n"); break;
    case '\t': g_string_append(s, "\\t"); break;
    default:
      if (*p < 0x20)
        g_string_append_printf(s, "\\u%04x", *p);
      else
        g_string_append_c(s, (char) *p);
    }
  }
  g_string_append_c(s, '"');
}

static void
json_rect(GString *s, const char *name, const SDL_Rect *r)
{
  g_string_append_printf(s, ",\"%s\":[%d,%d,%d,%d]", name, r->x, r->y, r->w, r->h);
}

/* One line: the event, the state, then extra "key":value pairs (already JSON). */
static void
write_status(app *a, const char *event, const char *extra)
{
  GString *s;
  char num[G_ASCII_DTOSTR_BUF_SIZE];

  if (!a->status)
    return;
  s = g_string_new("{\"event\":");
  json_str(s, event);
  g_string_append_printf(s, ",\"time\":%.3f", (now_us() - a->t_start) / 1e6);
  g_string_append_printf(s, ",\"arch\":\"%s\"", mn_arch_name(a->arch));
  g_string_append_printf(s, ",\"alpha\":%s", g_ascii_dtostr(num, sizeof num, a->alpha));
  g_string_append_printf(s, ",\"resolution\":%d,\"dtype\":\"%s\",\"threads\":%d", a->rho,
                         mn_dtype_name(a->dtype), a->threads);
  if (a->info.have_result) {
    g_string_append_printf(s, ",\"live_arch\":\"%s\"", a->info.arch);
    g_string_append_printf(s, ",\"live_alpha\":%s",
                           g_ascii_dtostr(num, sizeof num, a->info.alpha));
    g_string_append_printf(s, ",\"live_resolution\":%d,\"live_dtype\":\"%s\"", a->info.rho,
                           a->info.dtype);
    g_string_append(s, ",\"live_model\":");
    json_str(s, a->live_model);
  } else {
    g_string_append(s, ",\"live_arch\":null,\"live_alpha\":null,\"live_resolution\":null,"
                       "\"live_dtype\":null,"
                       "\"live_model\":null");
  }
  g_string_append_printf(s, ",\"live_threads\":%d", a->live_threads);
  g_string_append_printf(s, ",\"paused\":%s,\"eos\":%s", a->paused ? "true" : "false",
                         a->eos ? "true" : "false");
  g_string_append(s, ",\"recording\":");
  json_str(s, a->rec ? a->rec->path : NULL);
  g_string_append_printf(s, ",\"recorded_frames\":%d",
                         a->rec ? g_atomic_int_get(&a->rec->frames) : 0);
  g_string_append(s, ",\"last_recording\":");
  json_str(s, a->last_recording[0] ? a->last_recording : NULL);
  g_string_append_printf(s, ",\"last_recording_frames\":%" G_GUINT64_FORMAT,
                         a->last_recording_frames);
  g_string_append_printf(s, ",\"frames_displayed\":%" G_GUINT64_FORMAT, a->frames_displayed);
  g_string_append_printf(s, ",\"results\":%" G_GUINT64_FORMAT, a->results_seen);
  g_string_append_printf(s, ",\"display_fps\":%.2f,\"inference_fps\":%.2f,\"inference_ms\":%.2f",
                         a->display_fps, a->inference_fps, a->inference_ms);
  g_string_append(s, ",\"top\":[");
  for (int i = 0; a->info.have_result && i < a->info.n_top; i++) {
    g_string_append(s, i ? ",{\"label\":" : "{\"label\":");
    json_str(s, a->info.top[i].label);
    g_string_append_printf(s, ",\"score\":%.4f}", a->info.top[i].score);
  }
  g_string_append(s, "]");
  if (a->ren) {
    int w = 0, h = 0;
    SDL_GetRendererOutputSize(a->ren, &w, &h);
    g_string_append_printf(s, ",\"window\":[%d,%d]", w, h);
    json_rect(s, "video_rect", &a->layout.video);
    json_rect(s, "panel_rect", &a->layout.panel);
    g_string_append_printf(s, ",\"font_px\":%d", a->layout.font_px);
  }
  if (extra && *extra) {
    g_string_append_c(s, ',');
    g_string_append(s, extra);
  }
  g_string_append(s, "}\n");
  fputs(s->str, a->status);
  fflush(a->status);
  g_string_free(s, TRUE);
}

static void
write_status_event(app *a, const char *event, const char *key, const char *value)
{
  GString *e = g_string_new(NULL);
  if (key) {
    g_string_append_printf(e, "\"%s\":", key);
    json_str(e, value);
  }
  write_status(a, event, e->str);
  g_string_free(e, TRUE);
}

/* ---- waking the SDL loop from GStreamer threads ------------------------------ */

static void
wake(app *a)
{
  if (g_atomic_int_compare_and_exchange(&a->wake_pending, 0, 1)) {
    SDL_Event ev = { 0 };
    ev.type = a->ev_wake;
    SDL_PushEvent(&ev);
  }
}

static GstBusSyncReply
bus_sync(GstBus *bus, GstMessage *msg, gpointer data)
{
  (void) bus;
  (void) msg;
  wake(data);
  return GST_BUS_PASS;
}

static GstFlowReturn
on_new_sample(GstAppSink *sink, gpointer data)
{
  (void) sink;
  wake(data);
  return GST_FLOW_OK;
}

/* ---- pipeline ---------------------------------------------------------------- */

static void
on_pad_added(GstElement *decodebin, GstPad *pad, gpointer data)
{
  app *a = data;
  GstCaps *caps = gst_pad_get_current_caps(pad);
  const gchar *name;
  GstPad *sink;

  (void) decodebin;
  if (!caps)
    caps = gst_pad_query_caps(pad, NULL);
  name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  if (g_str_has_prefix(name, "video/x-raw") && !a->have_video_pad) {
    sink = gst_element_get_static_pad(a->convert, "sink");
    if (gst_pad_link(pad, sink) == GST_PAD_LINK_OK)
      a->have_video_pad = TRUE;
    gst_object_unref(sink);
  }
  gst_caps_unref(caps);
}

static void
on_no_more_pads(GstElement *decodebin, gpointer data)
{
  app *a = data;

  if (!a->have_video_pad) {
    g_atomic_int_set(&a->no_video, 1);
    gst_element_post_message(decodebin,
        gst_message_new_application(GST_OBJECT(decodebin),
            gst_structure_new_empty("no-video")));
  }
}

/* Audio and other streams are not decoded: they are exposed as they are
 * and left unlinked. */
static gboolean
on_autoplug_continue(GstElement *bin, GstPad *pad, GstCaps *caps, gpointer data)
{
  const gchar *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  (void) bin;
  (void) pad;
  (void) data;
  return !(g_str_has_prefix(name, "audio/") || g_str_has_prefix(name, "text/")
           || g_str_has_prefix(name, "subpicture/") || g_str_has_prefix(name, "application/x-subtitle"));
}

static GstElement *
make(const char *factory, const char *name, char *err, size_t errlen)
{
  GstElement *e = gst_element_factory_make(factory, name);
  if (!e) {
    if (!strcmp(factory, "mobilenetclassify") || !strcmp(factory, "mobilenetoverlay"))
      g_snprintf(err, errlen, "the GStreamer element %s was not found: build the plugin "
                 "(pipeline/) or point GST_PLUGIN_PATH to the folder holding "
                 "libgstmobilenet.so", factory);
    else
      g_snprintf(err, errlen, "the GStreamer element %s was not found (install "
                 "gstreamer1.0-plugins-base/-good and gstreamer1.0-libav)", factory);
  }
  return e;
}

static gboolean
build_pipeline(app *a, char *err, size_t errlen)
{
  GstElement *src = NULL, *dec = NULL, *pre = NULL, *caps_bgra, *queue;
  GstCaps *caps;

  a->pipeline = gst_pipeline_new("viewer");
  if (a->o.test) {
    src = make("videotestsrc", "source", err, errlen);
    pre = make("capsfilter", "testcaps", err, errlen);
    if (!src || !pre)
      return FALSE;
    g_object_set(src, "is-live", TRUE, NULL);
    gst_util_set_object_arg(G_OBJECT(src), "pattern", "smpte");
    caps = gst_caps_from_string("video/x-raw,width=640,height=480,framerate=30/1");
    g_object_set(pre, "caps", caps, NULL);
    gst_caps_unref(caps);
    a->live = TRUE;
  } else {
    src = make(a->o.file ? "filesrc" : "v4l2src", "source", err, errlen);
    dec = make("decodebin", "decode", err, errlen);
    if (!src || !dec)
      return FALSE;
    if (a->o.file)
      g_object_set(src, "location", a->o.file, NULL);
    else
      g_object_set(src, "device", a->o.device, NULL);
    a->live = !a->o.file;
    g_signal_connect(dec, "pad-added", G_CALLBACK(on_pad_added), a);
    g_signal_connect(dec, "no-more-pads", G_CALLBACK(on_no_more_pads), a);
    g_signal_connect(dec, "autoplug-continue", G_CALLBACK(on_autoplug_continue), a);
  }
  a->convert = make("videoconvert", "convert", err, errlen);
  caps_bgra = make("capsfilter", "bgra", err, errlen);
  a->classify = make("mobilenetclassify", "classify", err, errlen);
  a->tee = make("tee", "tee", err, errlen);
  queue = make("queue", "display-queue", err, errlen);
  a->appsink = make("appsink", "display", err, errlen);
  if (!a->convert || !caps_bgra || !a->classify || !a->tee || !queue || !a->appsink)
    return FALSE;

  caps = gst_caps_from_string("video/x-raw,format=BGRA");
  g_object_set(caps_bgra, "caps", caps, NULL);
  g_object_set(a->appsink, "caps", caps, NULL);
  gst_caps_unref(caps);

  if (a->o.models)
    g_object_set(a->classify, "models", a->o.models, NULL);
  g_object_set(a->classify, "alpha", a->alpha, "resolution", a->rho, "threads", a->threads,
               "top-k", 5, "post-messages", TRUE, NULL);
  gst_util_set_object_arg(G_OBJECT(a->classify), "dtype", mn_dtype_name(a->dtype));
  gst_util_set_object_arg(G_OBJECT(a->classify), "arch", mn_arch_name(a->arch));
  gst_util_set_object_arg(G_OBJECT(a->classify), "mode", "latest");
  /* a recording branch may be unlinked for a moment */
  g_object_set(a->tee, "allow-not-linked", TRUE, NULL);
  /* a short display queue: the picture stays close to the clock, and the
   * recording branch gets frames at the rate they are shown */
  g_object_set(queue, "max-size-buffers", 3, "max-size-bytes", 0, "max-size-time",
               (guint64) 0, NULL);
  /* the newest frame only: the window never makes the pipeline wait */
  g_object_set(a->appsink, "max-buffers", 1, "drop", TRUE, "sync", TRUE, "qos", FALSE, NULL);
  {
    GstAppSinkCallbacks cb = { 0 };
    cb.new_sample = on_new_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(a->appsink), &cb, a, NULL);
  }

  gst_bin_add_many(GST_BIN(a->pipeline), src, a->convert, caps_bgra, a->classify, a->tee,
                   queue, a->appsink, NULL);
  if (pre)
    gst_bin_add(GST_BIN(a->pipeline), pre);
  if (dec)
    gst_bin_add(GST_BIN(a->pipeline), dec);
  if ((pre && !gst_element_link_many(src, pre, a->convert, NULL))
      || (dec && !gst_element_link(src, dec))
      || !gst_element_link_many(a->convert, caps_bgra, a->classify, a->tee, queue, a->appsink,
                                NULL)) {
    g_snprintf(err, errlen, "cannot link the pipeline");
    return FALSE;
  }
  {
    GstBus *bus = gst_element_get_bus(a->pipeline);
    gst_bus_set_sync_handler(bus, bus_sync, a, NULL);
    gst_object_unref(bus);
  }
  return TRUE;
}

/* The text of an error message, with the cause for the usual bad inputs. */
static void
describe_error(app *a, GstMessage *msg, char *out, size_t outlen)
{
  GError *e = NULL;
  gchar *dbg = NULL;
  const char *what = a->o.file ? a->o.file : a->o.device ? a->o.device : "test pattern";

  gst_message_parse_error(msg, &e, &dbg);
  if (a->o.file && gst_mobilenet_app_is_not_video_error(e))
    g_snprintf(out, outlen, "cannot play %s: not a video file GStreamer can decode (%s)", what,
               e->message);
  else if (g_atomic_int_get(&a->no_video))
    g_snprintf(out, outlen, "cannot play %s: it has no video stream", what);
  else if (GST_MESSAGE_SRC(msg) == GST_OBJECT(a->classify))
    g_snprintf(out, outlen, "%s", e->message);  /* names the model file and the cause */
  else
    g_snprintf(out, outlen, "%s: %s (from %s)", what, e->message,
               GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)));
  g_clear_error(&e);
  g_free(dbg);
}

/* Prerolls, seeks for --loop, starts playing and waits for the first frame.
 * Returns the first sample, or NULL with a message in err (empty when the
 * user quit). */
static GstSample *
start_pipeline(app *a, char *err, size_t errlen)
{
  GstBus *bus = gst_element_get_bus(a->pipeline);
  GstStateChangeReturn ret;
  GstSample *sample = NULL;
  gboolean prerolled = FALSE, seeking = FALSE, seeked = FALSE, playing = FALSE;
  gint64 deadline = now_us() + START_TIMEOUT_US;

  err[0] = '\0';
  ret = gst_element_set_state(a->pipeline, GST_STATE_PAUSED);
  if (ret == GST_STATE_CHANGE_NO_PREROLL)
    prerolled = TRUE;
  while (!sample) {
    GstMessage *msg;

    if (SDL_QuitRequested())
      break;
    if (now_us() > deadline) {
      g_snprintf(err, errlen, "no video frame from %s after %d s",
                 a->o.file ? a->o.file : a->o.device ? a->o.device : "the test pattern",
                 START_TIMEOUT_US / 1000000);
      break;
    }
    if (prerolled && !seeking && !playing) {
      if (a->o.file && a->o.loop && !seeked) {
        seeked = TRUE;
        /* a segment seek: SEGMENT_DONE instead of EOS at the end, so the
         * loop needs no flush and a recording goes on across it */
        if (!gst_element_seek_simple(a->pipeline, GST_FORMAT_TIME,
                                     GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_SEGMENT, 0))
          g_printerr(PROG ": %s cannot be looped (not seekable); playing it once\n", a->o.file);
        else {
          seeking = TRUE;
          prerolled = FALSE;
          continue;
        }
      }
      gst_element_set_state(a->pipeline, GST_STATE_PLAYING);
      playing = TRUE;
    }
    if (playing) {
      sample = gst_app_sink_try_pull_sample(GST_APP_SINK(a->appsink), 20 * GST_MSECOND);
      if (sample)
        break;
    }
    while ((msg = gst_bus_timed_pop(bus, playing ? 0 : 20 * GST_MSECOND))) {
      switch (GST_MESSAGE_TYPE(msg)) {
      case GST_MESSAGE_ERROR:
        describe_error(a, msg, err, errlen);
        break;
      case GST_MESSAGE_APPLICATION:
        if (gst_message_has_name(msg, "no-video"))
          g_snprintf(err, errlen, "cannot play %s: it has no video stream", a->o.file);
        break;
      case GST_MESSAGE_ASYNC_DONE:
        if (seeking)
          seeking = FALSE;
        prerolled = TRUE;
        break;
      case GST_MESSAGE_EOS:
        g_snprintf(err, errlen, "%s has no video frames", a->o.file ? a->o.file : "the source");
        break;
      case GST_MESSAGE_ELEMENT: {
        const GstStructure *s = gst_message_get_structure(msg);
        if (gst_structure_has_name(s, "mobilenet-model"))
          gst_structure_get_int(s, "threads", &a->live_threads);
        break;
      }
      default:
        break;
      }
      gst_message_unref(msg);
      if (err[0])
        break;
    }
    if (err[0])
      break;
  }
  gst_object_unref(bus);
  if (!sample && !err[0] && !SDL_QuitRequested())
    g_snprintf(err, errlen, "the pipeline stopped before the first frame");
  return sample;
}

/* ---- recording ----------------------------------------------------------------- */

static GstPadProbeReturn
rec_count_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  (void) pad;
  (void) info;
  g_atomic_int_inc((volatile gint *) data);
  return GST_PAD_PROBE_OK;
}

/* EOS reached the file sink: everything is written; the main loop removes the branch. */
static GstPadProbeReturn
rec_eos_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  (void) pad;
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
    SDL_Event ev = { 0 };
    ev.type = the_app->ev_rec_eos;
    ev.user.data1 = data;
    SDL_PushEvent(&ev);
  }
  return GST_PAD_PROBE_OK;
}

/* The branch's sink pad: whatever goes wrong inside the branch (disk full,
 * encoder failure, the branch shutting down) stays there. The error is posted
 * by the element that failed and ends the recording (handle_bus); the tee and
 * the source upstream see OK and play on. */
static GstFlowReturn
rec_ghost_chain(GstPad *pad, GstObject *parent, GstBuffer *buf)
{
  gst_proxy_pad_chain_default(pad, parent, buf);
  return GST_FLOW_OK;
}

static GstFlowReturn
rec_ghost_chain_list(GstPad *pad, GstObject *parent, GstBufferList *list)
{
  gst_proxy_pad_chain_list_default(pad, parent, list);
  return GST_FLOW_OK;
}

static void
rec_unlink_clear(gpointer data)
{
  rec_unlink *u = data;
  gst_object_unref(u->ghost);
}

static void
rec_unlink_release(gpointer data)
{
  g_atomic_rc_box_release_full(data, rec_unlink_clear);
}

static void
rec_free(recording *r)
{
  if (!r)
    return;
  if (r->unlink)
    rec_unlink_release(r->unlink);
  if (r->teepad)
    gst_object_unref(r->teepad);
  g_free(r->path);
  g_free(r);
}

static void
rec_start(app *a)
{
  char err[600];
  GstElement *q, *ov, *cv, *enc, *mux, *sink;
  GstPad *pad;
  recording *r;
  FILE *f;
  char *path;

  if (a->rec)
    return;
  if (a->fatal[0]) {
    show_message(a, TRUE, "cannot record: the pipeline has stopped");
    return;
  }
  if (a->eos) {
    show_message(a, TRUE, "cannot record: the video has ended");
    return;
  }
  path = viewer_timestamped_path(a->o.record_dir, "mobilenet", ".webm", err, sizeof err);
  if (!path) {
    show_message(a, TRUE, "cannot record: %s", err);
    write_status_event(a, "record-error", "error", err);
    return;
  }
  f = fopen(path, "wb");
  if (!f) {
    g_snprintf(err, sizeof err, "cannot write %s: %s", path, g_strerror(errno));
    show_message(a, TRUE, "cannot record: %s", err);
    write_status_event(a, "record-error", "error", err);
    free(path);
    return;
  }
  fclose(f);

  q = make("queue", NULL, err, sizeof err);
  ov = make("mobilenetoverlay", NULL, err, sizeof err);
  cv = make("videoconvert", NULL, err, sizeof err);
  enc = make("vp8enc", NULL, err, sizeof err);
  mux = make("webmmux", NULL, err, sizeof err);
  sink = make("filesink", NULL, err, sizeof err);
  if (!q || !ov || !cv || !enc || !mux || !sink) {
    show_message(a, TRUE, "cannot record: %s", err);
    write_status_event(a, "record-error", "error", err);
    GstElement *made[] = { q, ov, cv, enc, mux, sink };
    for (size_t i = 0; i < G_N_ELEMENTS(made); i++)
      if (made[i])
        gst_object_unref(gst_object_ref_sink(made[i]));
    unlink(path);
    free(path);
    return;
  }
  r = g_new0(recording, 1);
  r->path = g_strdup(path);
  free(path);
  r->bin = gst_bin_new("recorder");
  /* up to 3 s of frames while the encoder catches up; none are dropped */
  g_object_set(q, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
               (guint64) 3 * GST_SECOND, NULL);
  /* realtime VP8, one thread: ~4 ms a 640x480 frame here. (threads=2 makes
   * libvpx spin-wait: 20x slower on a busy 2-core machine) */
  g_object_set(enc, "deadline", (gint64) 1, "cpu-used", 8, "threads", 1, "target-bitrate",
               2500000, "keyframe-max-dist", 60, NULL);
  gst_util_set_object_arg(G_OBJECT(enc), "end-usage", "cbr");
  /* the file starts at 0 s whenever the recording starts */
  g_object_set(mux, "offset-to-zero", TRUE, NULL);
  /* no preroll wait for a sink added to a playing pipeline */
  g_object_set(sink, "location", r->path, "async", FALSE, NULL);
  gst_bin_add_many(GST_BIN(r->bin), q, ov, cv, enc, mux, sink, NULL);
  if (!gst_element_link_many(q, ov, cv, enc, mux, sink, NULL)) {
    show_message(a, TRUE, "cannot record: cannot link the recording branch");
    gst_object_unref(r->bin);
    unlink(r->path);
    rec_free(r);
    return;
  }
  pad = gst_element_get_static_pad(q, "sink");
  r->ghost = gst_ghost_pad_new("sink", pad);
  gst_object_unref(pad);
  gst_pad_set_chain_function(r->ghost, rec_ghost_chain);
  gst_pad_set_chain_list_function(r->ghost, rec_ghost_chain_list);
  gst_element_add_pad(r->bin, r->ghost);
  /* The encoder drops a frame that lies past the end of the clip's segment
   * (at a --loop wrap-around): count what goes in and what comes out. */
  pad = gst_element_get_static_pad(enc, "sink");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, rec_count_probe, (gpointer) &r->frames_in,
                    NULL);
  gst_object_unref(pad);
  pad = gst_element_get_static_pad(enc, "src");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, rec_count_probe, (gpointer) &r->frames,
                    NULL);
  gst_object_unref(pad);
  pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, rec_eos_probe, r, NULL);
  gst_object_unref(pad);

  gst_bin_add(GST_BIN(a->pipeline), r->bin);
  if (!gst_element_sync_state_with_parent(r->bin)) {
    show_message(a, TRUE, "cannot record: the recording branch did not start");
    gst_element_set_state(r->bin, GST_STATE_NULL);
    gst_bin_remove(GST_BIN(a->pipeline), r->bin);
    unlink(r->path);
    rec_free(r);
    return;
  }
  r->teepad = gst_element_request_pad_simple(a->tee, "src_%u");
  if (gst_pad_link(r->teepad, r->ghost) != GST_PAD_LINK_OK) {
    show_message(a, TRUE, "cannot record: cannot link the recording branch to the tee");
    gst_element_set_state(r->bin, GST_STATE_NULL);
    gst_element_release_request_pad(a->tee, r->teepad);
    gst_bin_remove(GST_BIN(a->pipeline), r->bin);
    unlink(r->path);
    rec_free(r);
    return;
  }
  r->t_start = now_us();
  a->rec = r;
  show_message(a, FALSE, "recording to %s", r->path);
  write_status_event(a, "record-start", "file", r->path);
}

/* Runs where the tee pad is idle: detach the branch and end its stream. */
static GstPadProbeReturn
rec_unlink_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  rec_unlink *u = data;
  (void) info;
  /* rec_finish may have cancelled it (error, timeout) */
  if (g_atomic_int_compare_and_exchange(&u->state, 0, 1)) {
    gst_pad_unlink(pad, u->ghost);
    gst_pad_send_event(u->ghost, gst_event_new_eos());
  }
  return GST_PAD_PROBE_REMOVE;
}

static void
rec_stop(app *a)
{
  recording *r = a->rec;

  if (!r || r->stopping)
    return;
  r->stopping = TRUE;
  r->t_stop = now_us();
  /* a paused pipeline would hold the file sink in preroll: let the branch
   * run on its own to write the end of the file */
  if (a->paused)
    gst_element_set_state(r->bin, GST_STATE_PLAYING);
  r->unlink = g_atomic_rc_box_new0(rec_unlink);
  r->unlink->ghost = gst_object_ref(r->ghost);
  gst_pad_add_probe(r->teepad, GST_PAD_PROBE_TYPE_IDLE, rec_unlink_probe,
                    g_atomic_rc_box_acquire(r->unlink), rec_unlink_release);
  show_message(a, FALSE, "finishing %s ...", r->path);
}

/* The branch has written its last byte, failed (why: the error) or timed
 * out: remove it. */
static void
rec_finish(app *a, gboolean complete, const char *why)
{
  recording *r = a->rec;
  char extra[PATH_MAX + 200];
  GString *e;
  int frames;
  double secs;
  GstPad *peer;

  if (!r)
    return;
  a->rec = NULL;
  if (!r->t_stop)
    r->t_stop = now_us();
  /* A pending IDLE probe must not unlink or send EOS any more. */
  if (r->unlink)
    g_atomic_int_compare_and_exchange(&r->unlink->state, 0, 2);
  /* First off the tee (still linked after an error or a timeout), then down:
   * the tee never pushes into a branch that is shutting down. */
  peer = gst_pad_get_peer(r->teepad);
  if (peer) {
    gst_pad_unlink(r->teepad, peer);
    gst_object_unref(peer);
  }
  gst_element_release_request_pad(a->tee, r->teepad);
  gst_element_set_state(r->bin, GST_STATE_NULL);
  if (a->old_rec_bin)
    gst_object_unref(a->old_rec_bin);
  a->old_rec_bin = gst_object_ref(r->bin);
  gst_bin_remove(GST_BIN(a->pipeline), r->bin);
  frames = g_atomic_int_get(&r->frames);
  secs = ((r->t_stop ? r->t_stop : now_us()) - r->t_start) / 1e6;
  /* No frame reached the file (recorded while paused, or stopped at once):
   * it holds a header no player opens, so it goes. */
  const gboolean removed = frames == 0 && g_unlink(r->path) == 0;
  if (!removed) {
    g_strlcpy(a->last_recording, r->path, sizeof a->last_recording);
    a->last_recording_frames = (guint64) frames;
  }
  e = g_string_new("\"file\":");
  json_str(e, r->path);
  g_string_append_printf(e, ",\"frames\":%d,\"frames_in\":%d,\"seconds\":%.2f,\"complete\":%s"
                         ",\"removed\":%s",
                         frames, g_atomic_int_get(&r->frames_in), secs,
                         complete ? "true" : "false", removed ? "true" : "false");
  g_strlcpy(extra, e->str, sizeof extra);
  g_string_free(e, TRUE);
  write_status(a, "record-done", extra);
  if (removed && why)
    show_message(a, TRUE, "recording failed: %s; nothing was recorded, %s removed", why, r->path);
  else if (removed)
    show_message(a, FALSE, "nothing recorded%s: %s removed",
                 a->paused ? " (the video is paused)" : "", r->path);
  else if (complete)
    show_message(a, FALSE, "saved %s (%d frames, %.1f s)", r->path, frames, secs);
  else if (why)
    show_message(a, TRUE, "recording failed: %s; %s is incomplete", why, r->path);
  else
    show_message(a, TRUE, "the recording %s did not finish in time; it may be incomplete",
                 r->path);
  rec_free(r);
}

/* ---- screenshots ----------------------------------------------------------------- */

typedef struct {
  viewer_image img;
  char *path;
} shot_job;

static gpointer
shot_thread(gpointer data)
{
  shot_job *job = data;
  shot_result *res = g_new0(shot_result, 1);
  SDL_Event ev = { 0 };

  res->path = job->path;
  res->ok = viewer_png_write(job->path, &job->img, res->err, sizeof res->err);
  viewer_image_clear(&job->img);
  g_free(job);
  ev.type = the_app->ev_shot_done;
  ev.user.data1 = res;
  SDL_PushEvent(&ev);
  g_atomic_int_add(&the_app->shots_in_flight, -1);
  return NULL;
}

static void
take_screenshot(app *a)
{
  char err[512];
  shot_job *job;
  char *path = viewer_timestamped_path(a->o.screenshot_dir, "mobilenet", ".png", err,
                                       sizeof err);
  if (!path) {
    show_message(a, TRUE, "cannot save a screenshot: %s", err);
    write_status_event(a, "screenshot-error", "error", err);
    return;
  }
  job = g_new0(shot_job, 1);
  if (!viewer_shot_capture(a->ren, &job->img, err, sizeof err)) {
    show_message(a, TRUE, "cannot take a screenshot: %s", err);
    write_status_event(a, "screenshot-error", "error", err);
    free(path);
    g_free(job);
    return;
  }
  job->path = path;
  g_atomic_int_inc(&a->shots_in_flight);
  /* PNG compression takes a while for a large window: not on the display thread */
  g_thread_unref(g_thread_new("screenshot", shot_thread, job));
}

/* ---- window -------------------------------------------------------------------- */

static void
update_layout(app *a)
{
  int w = 0, h = 0;
  SDL_GetRendererOutputSize(a->ren, &w, &h);
  viewer_layout_compute(w, h, a->disp_w, a->disp_h, &a->layout);
  a->redraw = TRUE;
}

static void
show_sample(app *a, GstSample *sample)
{
  GstCaps *caps = gst_sample_get_caps(sample);
  GstBuffer *buf = gst_sample_get_buffer(sample);
  GstMobilenetMeta *m;
  GstVideoInfo vi;
  GstVideoFrame frame;

  if (!caps || !buf || !gst_video_info_from_caps(&vi, caps))
    return;
  if (!a->tex || vi.width != a->tex_w || vi.height != a->tex_h) {
    if (a->tex)
      SDL_DestroyTexture(a->tex);
    a->tex = SDL_CreateTexture(a->ren, SDL_PIXELFORMAT_BGRA32, SDL_TEXTUREACCESS_STREAMING,
                               vi.width, vi.height);
    if (!a->tex) {
      g_printerr(PROG ": cannot make a %dx%d texture: %s\n", vi.width, vi.height,
                 SDL_GetError());
      return;
    }
    a->tex_w = vi.width;
    a->tex_h = vi.height;
    a->disp_w = vi.width;
    a->disp_h = vi.height;
    if (vi.par_n > 0 && vi.par_d > 0 && vi.par_n != vi.par_d)
      a->disp_w = (int) gst_util_uint64_scale_int(vi.width, vi.par_n, vi.par_d);
    update_layout(a);
  }
  if (!gst_video_frame_map(&frame, &vi, buf, GST_MAP_READ))
    return;
  SDL_UpdateTexture(a->tex, NULL, GST_VIDEO_FRAME_PLANE_DATA(&frame, 0),
                    GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0));
  gst_video_frame_unmap(&frame);

  m = gst_buffer_get_mobilenet_meta(buf);
  if (m) {
    viewer_panel_info *in = &a->info;
    in->have_result = TRUE;
    in->n_top = (int) MIN(m->n_classes, VIEWER_TOP_MAX);
    for (int i = 0; i < in->n_top; i++) {
      g_strlcpy(in->top[i].label, m->classes[i].label, sizeof in->top[i].label);
      in->top[i].score = m->classes[i].score;
    }
    in->arch = gst_mobilenet_arch_nick(m->arch);
    in->alpha = m->alpha;
    in->rho = m->resolution;
    in->dtype = gst_mobilenet_dtype_nick(m->dtype);
    g_strlcpy(a->live_model, m->model, sizeof a->live_model);
  }
  a->have_frame = TRUE;
  a->frames_displayed++;
  a->rate_frames++;
  a->redraw = TRUE;
}

static void
render(app *a)
{
  viewer_panel_info *in = &a->info;
  gint64 now = now_us();

  SDL_SetRenderDrawColor(a->ren, 0, 0, 0, 255);
  SDL_RenderClear(a->ren);
  if (a->tex && a->have_frame)
    SDL_RenderCopy(a->ren, a->tex, NULL, &a->layout.video);

  in->display_fps = a->display_fps;
  in->inference_fps = a->inference_fps;
  in->inference_ms = a->inference_ms;
  in->want_arch = mn_arch_name(a->arch);
  in->want_alpha = a->alpha;
  in->want_rho = a->rho;
  in->want_dtype = mn_dtype_name(a->dtype);
  in->want_threads = a->threads;
  in->threads = a->live_threads;
  in->model = a->live_model;
  in->source = a->source_name;
  in->paused = a->paused;
  in->recording = a->rec != NULL;
  in->record_seconds = a->rec ? ((a->rec->t_stop ? a->rec->t_stop : now) - a->rec->t_start) / 1e6
                              : 0;
  in->record_file = a->rec ? strrchr(a->rec->path, '/') + 1 : NULL;
  viewer_ui_draw_panel(a->ui, &a->layout, in);

  if (a->fatal[0])
    viewer_ui_draw_banner(a->ui, &a->layout, "Playback stopped", a->fatal);
  else if (a->eos)
    viewer_ui_draw_banner(a->ui, &a->layout, "End of the video", "Q quits");
  else if (a->paused)
    viewer_ui_draw_banner(a->ui, &a->layout, "Paused", "Space plays");
  if (a->help)
    viewer_ui_draw_help(a->ui, &a->layout);
  if (a->message[0] && now < a->message_until)
    viewer_ui_draw_message(a->ui, &a->layout, a->message, a->message_error);
  if (a->shot_pending) {
    a->shot_pending = FALSE;
    take_screenshot(a);
  }
  SDL_RenderPresent(a->ren);
  viewer_ui_end_frame(a->ui);
  a->redraw = FALSE;
}

/* ---- actions -------------------------------------------------------------------- */

static void
request_quit(app *a)
{
  if (a->quitting) {
    return;
  }
  a->quitting = TRUE;
  if (a->rec) {
    rec_stop(a);
    a->quit_deadline = now_us() + RECORD_FINISH_TIMEOUT_US;
  } else {
    a->quit_now = TRUE;
  }
}

static void
set_paused(app *a, gboolean paused)
{
  if (a->fatal[0] || a->eos)
    return;
  if (gst_element_set_state(a->pipeline, paused ? GST_STATE_PAUSED : GST_STATE_PLAYING)
      == GST_STATE_CHANGE_FAILURE) {
    show_message(a, TRUE, "cannot %s the pipeline", paused ? "pause" : "resume");
    return;
  }
  a->paused = paused;
  a->redraw = TRUE;
  write_status(a, paused ? "pause" : "resume", NULL);
}

/* ---- the models there are: V and D step through them ----------------------------- */

#define MAX_MODEL_FILES 256

/* The usable files of the models folder (remembered by the library per file). */
static int
list_models(app *a, mn_model_entry *e)
{
  char dir[4096];
  mn_models_dir(a->o.models, dir, sizeof dir);
  int n = mn_models_list(dir, e, MAX_MODEL_FILES);
  return n < 0 ? 0 : n > MAX_MODEL_FILES ? MAX_MODEL_FILES : n;
}

/* v3-large asks for v3-large, which a v3-large-minimalistic file answers */
static gboolean
arch_answers(mn_arch want, mn_arch have)
{
  return want == have || (want == MN_ARCH_V3_LARGE && have == MN_ARCH_V3_LARGE_MINIMALISTIC);
}

static gboolean
have_model(const mn_model_entry *e, int n, mn_arch arch, mn_dtype dtype, double alpha)
{
  for (int i = 0; i < n; i++)
    if (arch_answers(arch, e[i].arch) && e[i].dtype == dtype
        && (alpha <= 0 || fabs(e[i].alpha - alpha) < 1e-3))
      return TRUE;
  return FALSE;
}

/* After a change of architecture or dtype: the alpha and dtype nearest to
 * the asked ones that the models folder has for the asked architecture. */
static void
fit_to_models(app *a, const mn_model_entry *e, int n)
{
  if (!have_model(e, n, a->arch, a->dtype, -1)) {
    for (int d = 0; d < MN_DTYPE_COUNT; d++)
      if (have_model(e, n, a->arch, (mn_dtype) d, -1)) {
        a->dtype = (mn_dtype) d;
        break;
      }
  }
  if (!have_model(e, n, a->arch, a->dtype, a->alpha)) {
    double best = -1;
    for (int i = 0; i < n; i++)
      if (arch_answers(a->arch, e[i].arch) && e[i].dtype == a->dtype
          && (best < 0 || fabs(e[i].alpha - a->alpha) < fabs(best - a->alpha)))
        best = e[i].alpha;
    if (best > 0)
      a->alpha = best;
  }
  g_object_set(a->classify, "alpha", a->alpha, NULL);
  gst_util_set_object_arg(G_OBJECT(a->classify), "dtype", mn_dtype_name(a->dtype));
  gst_util_set_object_arg(G_OBJECT(a->classify), "arch", mn_arch_name(a->arch));
}

/* V: the next architecture the models folder has (v1, v2, v3-small, v3-large). */
static void
next_arch(app *a)
{
  static const mn_arch order[] = { MN_ARCH_V1, MN_ARCH_V2, MN_ARCH_V3_SMALL, MN_ARCH_V3_LARGE };
  mn_model_entry *e = g_new(mn_model_entry, MAX_MODEL_FILES);
  int n = list_models(a, e), at = 0;
  for (int i = 0; i < (int) G_N_ELEMENTS(order); i++)
    if (order[i] == a->arch)
      at = i;
  for (int k = 1; k <= (int) G_N_ELEMENTS(order); k++) {
    mn_arch next = order[(at + k) % G_N_ELEMENTS(order)];
    if (have_model(e, n, next, a->dtype, -1) || k == (int) G_N_ELEMENTS(order)
        || (have_model(e, n, next, MN_DTYPE_F32, -1) || have_model(e, n, next, MN_DTYPE_U8, -1)
            || have_model(e, n, next, MN_DTYPE_I8, -1))) {
      if (next == a->arch)
        break;
      a->arch = next;
      fit_to_models(a, e, n);
      show_message(a, FALSE, "%s", mn_arch_title(a->arch));
      break;
    }
  }
  g_free(e);
}

/* D: the next dtype the models folder has for the architecture (f32, u8, i8). */
static void
next_dtype(app *a)
{
  mn_model_entry *e = g_new(mn_model_entry, MAX_MODEL_FILES);
  int n = list_models(a, e);
  for (int k = 1; k <= MN_DTYPE_COUNT; k++) {
    mn_dtype d = (mn_dtype) ((a->dtype + k) % MN_DTYPE_COUNT);
    /* without a models folder to look at, just f32 <-> u8 */
    if (have_model(e, n, a->arch, d, -1) || (n == 0 && d != MN_DTYPE_I8)) {
      a->dtype = d;
      break;
    }
  }
  if (n)
    fit_to_models(a, e, n);
  else
    gst_util_set_object_arg(G_OBJECT(a->classify), "dtype", mn_dtype_name(a->dtype));
  g_free(e);
}

/* 1-4: that alpha, in the dtype the folder has it in for this architecture
 * (v2 has no 0.25, the float v2 files may all be 1.0): the asked dtype
 * first, else another, else the nearest alpha; the window says which. */
static void
choose_alpha(app *a, double alpha)
{
  mn_model_entry *e = g_new(mn_model_entry, MAX_MODEL_FILES);
  int n = list_models(a, e);
  a->alpha = alpha;
  if (n && !have_model(e, n, a->arch, a->dtype, alpha)) {
    gboolean found = FALSE;
    for (int d = 0; d < MN_DTYPE_COUNT && !found; d++)
      if (have_model(e, n, a->arch, (mn_dtype) d, alpha)) {
        a->dtype = (mn_dtype) d;
        found = TRUE;
      }
    fit_to_models(a, e, n);
    if (found)
      show_message(a, FALSE, "\xce\xb1 %g: %s has it as %s", alpha, mn_arch_name(a->arch),
          mn_dtype_name(a->dtype));
    else
      show_message(a, FALSE, "no %s %s model of \xce\xb1 %g here: \xce\xb1 %g",
          mn_arch_name(a->arch), mn_dtype_name(a->dtype), alpha, a->alpha);
  } else {
    g_object_set(a->classify, "alpha", a->alpha, NULL);
  }
  g_free(e);
}

static void
do_action(app *a, viewer_action act)
{
  switch (act.kind) {
  case VIEWER_ACT_ALPHA:
    if (fabs(a->alpha - act.value) > 1e-6)
      choose_alpha(a, act.value);
    write_status_event(a, "alpha", NULL, NULL);
    break;
  case VIEWER_ACT_RHO: {
    int rho = viewer_rho_step(a->rho, act.value > 0 ? 1 : -1);
    if (rho != a->rho) {
      a->rho = rho;
      g_object_set(a->classify, "resolution", a->rho, NULL);
    }
    write_status_event(a, "resolution", NULL, NULL);
    break;
  }
  case VIEWER_ACT_DTYPE:
    next_dtype(a);
    write_status_event(a, "dtype", NULL, NULL);
    break;
  case VIEWER_ACT_ARCH:
    next_arch(a);
    write_status_event(a, "arch", NULL, NULL);
    break;
  case VIEWER_ACT_THREADS:
    a->threads = viewer_threads_next(a->threads, a->nproc);
    g_object_set(a->classify, "threads", a->threads, NULL);
    write_status_event(a, "threads", NULL, NULL);
    break;
  case VIEWER_ACT_PAUSE:
    set_paused(a, !a->paused);
    break;
  case VIEWER_ACT_RECORD:
    if (a->rec)
      rec_stop(a);
    else
      rec_start(a);
    break;
  case VIEWER_ACT_SCREENSHOT:
    a->shot_pending = TRUE;
    break;
  case VIEWER_ACT_FULLSCREEN:
    a->fullscreen = !a->fullscreen;
    SDL_SetWindowFullscreen(a->win, a->fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
    break;
  case VIEWER_ACT_HELP:
    a->help = !a->help;
    break;
  case VIEWER_ACT_QUIT:
    request_quit(a);
    break;
  case VIEWER_ACT_NONE:
    break;
  }
  a->redraw = TRUE;
}

/* ---- bus ------------------------------------------------------------------------ */

static gboolean
from_recording(app *a, GstMessage *msg)
{
  return (a->rec && gst_object_has_as_ancestor(GST_MESSAGE_SRC(msg), GST_OBJECT(a->rec->bin)))
         || (a->old_rec_bin && gst_object_has_as_ancestor(GST_MESSAGE_SRC(msg), a->old_rec_bin));
}

static void
handle_bus(app *a)
{
  GstBus *bus = gst_element_get_bus(a->pipeline);
  GstMessage *msg;

  while ((msg = gst_bus_pop(bus))) {
    switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR: {
      char text[600];
      if (from_recording(a, msg)) {
        /* the branch's trouble ends the recording, not the program */
        GError *e = NULL;
        gst_message_parse_error(msg, &e, NULL);
        if (a->rec && gst_object_has_as_ancestor(GST_MESSAGE_SRC(msg), GST_OBJECT(a->rec->bin))) {
          write_status_event(a, "record-error", "error", e->message);
          rec_finish(a, FALSE, e->message);
        }
        g_clear_error(&e);
        break;
      }
      describe_error(a, msg, text, sizeof text);
      if (!a->fatal[0]) {
        g_strlcpy(a->fatal, text, sizeof a->fatal);
        g_printerr(PROG ": %s\n", text);
        write_status_event(a, "error", "error", text);
        a->exit_status = 1;
        /* keep what was recorded */
        rec_stop(a);
      }
      a->redraw = TRUE;
      break;
    }
    case GST_MESSAGE_WARNING: {
      GError *e = NULL;
      gst_message_parse_warning(msg, &e, NULL);
      show_message(a, TRUE, "%s", e->message);
      write_status_event(a, "warning", "warning", e->message);
      g_clear_error(&e);
      break;
    }
    case GST_MESSAGE_SEGMENT_DONE:
      /* --loop: back to the start without a flush */
      gst_element_seek_simple(a->pipeline, GST_FORMAT_TIME, GST_SEEK_FLAG_SEGMENT, 0);
      break;
    case GST_MESSAGE_EOS:
      if (!a->eos) {
        a->eos = TRUE;
        a->redraw = TRUE;
        write_status(a, "eos", NULL);
      }
      break;
    case GST_MESSAGE_ELEMENT: {
      const GstStructure *s = gst_message_get_structure(msg);
      if (GST_MESSAGE_SRC(msg) != GST_OBJECT(a->classify))
        break;
      if (gst_structure_has_name(s, "mobilenet")) {
        double ms = 0;
        a->rate_results++;
        a->results_seen++;
        if (gst_structure_get_double(s, "inference-ms", &ms))
          a->rate_ms_sum += ms;
      } else if (gst_structure_has_name(s, "mobilenet-model")) {
        const char *model = gst_structure_get_string(s, "model");
        const char *reason = gst_structure_get_string(s, "reason");
        int rho = 0;
        double load_ms = 0;
        gst_structure_get_int(s, "threads", &a->live_threads);
        gst_structure_get_int(s, "resolution", &rho);
        gst_structure_get_double(s, "load-ms", &load_ms);
        if (reason && strcmp(reason, "start") != 0)
          show_message(a, FALSE, "now classifying with %s at rho %d, %d thread%s",
                       model ? model : "?", rho, a->live_threads, a->live_threads == 1 ? "" : "s");
        write_status_event(a, "model", "model", model);
      }
      break;
    }
    default:
      break;
    }
    gst_message_unref(msg);
  }
  gst_object_unref(bus);
}

/* ---- startup ------------------------------------------------------------------- */

/* Whether a window can be opened, decided before SDL_Init: SDL tries its
 * drivers in turn, and libwayland prints "error: XDG_RUNTIME_DIR is invalid
 * or not set in the environment." on stderr when it cannot even look for a
 * compositor, before our own message. So the Wayland driver is tried only
 * when a compositor's socket can be there, and no display at all is said
 * here, in our words. SDL_VIDEODRIVER set by the user is left alone. */
static gboolean
check_display(void)
{
  const char *x11 = g_getenv("DISPLAY"), *wl = g_getenv("WAYLAND_DISPLAY");
  const char *runtime = g_getenv("XDG_RUNTIME_DIR");
  gboolean wayland;

  if (g_getenv("SDL_VIDEODRIVER"))
    return TRUE;
  if (wl && g_path_is_absolute(wl)) {
    wayland = g_file_test(wl, G_FILE_TEST_EXISTS);
  } else if (runtime && *runtime) {
    char *sock = g_build_filename(runtime, wl && *wl ? wl : "wayland-0", NULL);
    wayland = g_file_test(sock, G_FILE_TEST_EXISTS);
    g_free(sock);
  } else {
    wayland = FALSE;
  }
  if (!wayland && !(x11 && *x11)) {
    g_printerr(PROG ": no display to open a window on (DISPLAY is not set and there is no "
               "Wayland compositor); run it in a desktop session or under xvfb-run\n");
    return FALSE;
  }
  if (!wayland)
    g_setenv("SDL_VIDEODRIVER", "x11", TRUE);
  return TRUE;
}

static void
no_camera_message(const char *device)
{
  g_printerr(PROG ": no camera at %s.\n"
             "  Play a video file:  " PROG " --file PATH [--loop]\n"
             "  A test pattern:     " PROG " --test\n"
             "  Another camera:     " PROG " --device /dev/videoN\n",
             device);
}

static int
parse_options(app *a, int argc, char **argv)
{
  options *o = &a->o;
  GError *error = NULL;
  GOptionContext *ctx;
  int sources;
  gboolean version = FALSE;
  GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &o->device,
      "Camera to show (default /dev/video0)", "/dev/videoN" },
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &o->file, "Video file to play (any format "
      "GStreamer decodes)", "PATH" },
    { "loop", 'l', 0, G_OPTION_ARG_NONE, &o->loop, "Play the file in a loop", NULL },
    { "test", 0, 0, G_OPTION_ARG_NONE, &o->test, "Show a test pattern (videotestsrc)", NULL },
    { "models", 'm', 0, G_OPTION_ARG_FILENAME, &o->models, "Folder with the MobileNet models "
      "(default: $MOBILENET_MODELS, else ~/.local/share/mobilenet-live/models)", "DIR" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &o->arch, "Architecture to start with: v1, v2, "
      "v3-small or v3-large (default v1)", "A" },
    { "alpha", 'a', 0, G_OPTION_ARG_DOUBLE, &o->alpha, "Width multiplier to start with: "
      MN_ALPHAS_TEXT " (default 1.0)", "A" },
    { "resolution", 'r', 0, G_OPTION_ARG_INT, &o->resolution, "Input resolution rho to start "
      "with, " G_STRINGIFY(MN_MIN_RESOLUTION) ".." G_STRINGIFY(MN_MAX_RESOLUTION) " (default 224; the arrow keys step through 128 160 192 224)", "R" },
    { "dtype", 0, 0, G_OPTION_ARG_STRING, &o->dtype, "f32, u8 or i8 (default f32)", "T" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &o->threads, "Inference threads at most, 0 to "
      G_STRINGIFY(MN_MAX_THREADS) " (default 0: all cores)", "N" },
    { "record-dir", 0, 0, G_OPTION_ARG_FILENAME, &o->record_dir, "Folder for recordings "
      "(default: the current folder)", "DIR" },
    { "screenshot-dir", 0, 0, G_OPTION_ARG_FILENAME, &o->screenshot_dir, "Folder for "
      "screenshots (default: the current folder)", "DIR" },
    { "status-file", 0, 0, G_OPTION_ARG_FILENAME, &o->status_file, "Write the state as JSON "
      "lines to PATH (every 0.5 s and on every change)", "PATH" },
    { "font", 0, 0, G_OPTION_ARG_FILENAME, &o->font, "TrueType font file (default: "
      "fontconfig's \"DejaVu Sans\")", "FILE" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &o->size, "Window size (default: fits the video)",
      "WxH" },
    { "fullscreen", 0, 0, G_OPTION_ARG_NONE, &o->fullscreen, "Start in fullscreen", NULL },
    { "quit-after", 0, 0, G_OPTION_ARG_DOUBLE, &o->quit_after, "Quit after this many seconds "
      "of video (as Q does: a recording is finished first)", "SECONDS" },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };

  o->alpha = 1.0;
  o->resolution = 224;
  ctx = g_option_context_new("- MobileNet live classification in a window");
  g_option_context_set_summary(ctx,
      "Shows a camera, a video file or a test pattern with the live top-5 classes,\n"
      "display and inference frame rates and the model settings. Keys: V architecture,\n"
      "1-4 alpha, Left/Right rho, D dtype, T threads, Space pause, R record, S screenshot,\n"
      "F fullscreen, H help, Q/Esc quit.");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_group(ctx, gst_init_get_option_group());
  if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
    g_printerr(PROG ": %s\n(" PROG " --help lists the options)\n", error->message);
    g_clear_error(&error);
    g_option_context_free(ctx);
    return 2;
  }
  g_option_context_free(ctx);
  if (version) {
    printf(PROG " %s (libmobilenet %s)\n", MN_PROGRAMS_VERSION, mn_version());
    return -1; /* done: exit 0 */
  }
  if (argc > 1) {
    g_printerr(PROG ": unexpected argument \"%s\" (use --file PATH for a video file)\n", argv[1]);
    return 2;
  }
  sources = (o->device != NULL) + (o->file != NULL) + (o->test != 0);
  if (sources > 1) {
    g_printerr(PROG ": choose one source: --device, --file or --test\n");
    return 2;
  }
  if (o->loop && !o->file) {
    g_printerr(PROG ": --loop needs --file\n");
    return 2;
  }
  if (!mn_alpha_known(o->alpha)) {
    g_printerr(PROG ": --alpha %g: must be " MN_ALPHAS_TEXT "\n", o->alpha);
    return 2;
  }
  if (o->resolution < MN_MIN_RESOLUTION || o->resolution > MN_MAX_RESOLUTION) {
    g_printerr(PROG ": --resolution %d: must be %d to %d\n", o->resolution, MN_MIN_RESOLUTION,
               MN_MAX_RESOLUTION);
    return 2;
  }
  if (o->dtype && parse_dtype(o->dtype) < 0) {
    g_printerr(PROG ": --dtype %s: must be f32, u8 or i8\n", o->dtype);
    return 2;
  }
  {
    mn_arch arch;
    if (o->arch && (!mn_arch_parse(o->arch, &arch) || arch == MN_ARCH_OTHER)) {
      g_printerr(PROG ": --arch %s: must be v1, v2, v3-small or v3-large\n", o->arch);
      return 2;
    }
  }
  /* the range of the classify element's threads property */
  if (o->threads < 0 || o->threads > MN_MAX_THREADS) {
    g_printerr(PROG ": --threads %d: must be 0 (all cores) to %d\n", o->threads, MN_MAX_THREADS);
    return 2;
  }
  if (o->size) {
    int w = 0, h = 0;
    if (sscanf(o->size, "%dx%d", &w, &h) != 2 || w < 160 || h < 120 || w > 16384 || h > 16384) {
      g_printerr(PROG ": --size %s: expected WxH, e.g. 1280x720\n", o->size);
      return 2;
    }
  }
  if (o->quit_after < 0) {
    g_printerr(PROG ": --quit-after must be positive\n");
    return 2;
  }
  {
    const char *dirs[] = { o->record_dir, o->screenshot_dir };
    for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++)
      if (dirs[i] && !g_file_test(dirs[i], G_FILE_TEST_IS_DIR))
        g_printerr(PROG ": warning: %s is not a folder; %s there will fail\n", dirs[i],
                   i == 0 ? "recordings" : "screenshots");
  }
  if (o->file) {
    if (!g_file_test(o->file, G_FILE_TEST_EXISTS)) {
      g_printerr(PROG ": %s: no such file\n", o->file);
      return 1;
    }
    if (g_file_test(o->file, G_FILE_TEST_IS_DIR)) {
      g_printerr(PROG ": %s is a folder, not a video file\n", o->file);
      return 1;
    }
  } else if (!o->test) {
    if (!o->device)
      o->device = g_strdup("/dev/video0");
    if (!g_file_test(o->device, G_FILE_TEST_EXISTS)) {
      no_camera_message(o->device);
      return 1;
    }
  }
  return 0;
}

/* Opens the window sized for the first frame. */
static gboolean
open_window(app *a, int vw, int vh, char *err, size_t errlen)
{
  SDL_Rect usable = { 0, 0, 0, 0 };
  int w, h;
  char *title;

  if (a->o.size) {
    sscanf(a->o.size, "%dx%d", &w, &h);
  } else {
    if (SDL_GetDisplayUsableBounds(0, &usable) != 0)
      usable.w = usable.h = 0;
    viewer_window_size_for(vw, vh, usable.w * 9 / 10, usable.h * 9 / 10, &w, &h);
  }
  title = g_strdup_printf(PROG " \xe2\x80\x94 %s", a->source_name);
  a->win = SDL_CreateWindow(title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, w, h,
                            SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI
                                | (a->o.fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0));
  g_free(title);
  if (!a->win) {
    g_snprintf(err, errlen, "cannot open a window: %s", SDL_GetError());
    return FALSE;
  }
  a->fullscreen = a->o.fullscreen;
  a->ren = SDL_CreateRenderer(a->win, -1, SDL_RENDERER_ACCELERATED | SDL_RENDERER_PRESENTVSYNC);
  if (!a->ren)
    a->ren = SDL_CreateRenderer(a->win, -1, 0);
  if (!a->ren) {
    g_snprintf(err, errlen, "cannot draw in the window: %s", SDL_GetError());
    return FALSE;
  }
  {
    SDL_RendererInfo ri;
    if (SDL_GetRendererInfo(a->ren, &ri) == 0)
      g_print(PROG ": %dx%d window (%s), %s renderer\n", w, h, SDL_GetCurrentVideoDriver(),
              ri.name);
  }
  a->ui = viewer_ui_new(a->ren, a->o.font, err, errlen);
  if (!a->ui)
    return FALSE;
  return TRUE;
}

int
main(int argc, char **argv)
{
  app a_storage = { 0 }, *a = &a_storage;
  char err[600];
  GstSample *first;
  int rc;

  the_app = a;
  a->t_start = now_us();
#if defined(MN_BUILD_PLUGIN_DIR) && defined(MN_INSTALLED_PLUGIN_DIR)
  /* the plugin built beside this program, or installed with it */
  gst_mobilenet_app_find_plugin(MN_BUILD_PLUGIN_DIR, MN_INSTALLED_PLUGIN_DIR);
#endif
  rc = parse_options(a, argc, argv);
  if (rc)
    return rc < 0 ? 0 : rc;
  gst_init(NULL, NULL);

  a->nproc = g_get_num_processors();
  a->alpha = a->o.alpha;
  a->rho = a->o.resolution;
  a->dtype = a->o.dtype ? (mn_dtype) parse_dtype(a->o.dtype) : MN_DTYPE_F32;
  if (!a->o.arch || !mn_arch_parse(a->o.arch, &a->arch))
    a->arch = MN_ARCH_V1;
  a->threads = a->o.threads > 0 ? a->o.threads : a->nproc;
  a->source_name = a->o.file ? g_path_get_basename(a->o.file)
                   : a->o.test ? g_strdup("test pattern") : g_strdup(a->o.device);
  if (!a->o.record_dir)
    a->o.record_dir = g_strdup(".");
  if (!a->o.screenshot_dir)
    a->o.screenshot_dir = g_strdup(".");
  if (a->o.status_file) {
    a->status = fopen(a->o.status_file, "w");
    if (!a->status) {
      g_printerr(PROG ": cannot write the status file %s: %s\n", a->o.status_file,
                 g_strerror(errno));
      return 1;
    }
  }

  if (!check_display())
    return 1;
  SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
  SDL_SetHint(SDL_HINT_VIDEO_X11_NET_WM_BYPASS_COMPOSITOR, "0");
  if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS) != 0) {
    g_printerr(PROG ": cannot open a window: %s (is there a display? DISPLAY=%s)\n",
               SDL_GetError(), g_getenv("DISPLAY") ? g_getenv("DISPLAY") : "unset");
    return 1;
  }
  {
    /* SDL falls back to an invisible window without a display; allow that only
     * when asked for (SDL_VIDEODRIVER=offscreen, e.g. to record headless) */
    const char *drv = SDL_GetCurrentVideoDriver();
    if (drv && (!strcmp(drv, "offscreen") || !strcmp(drv, "dummy"))
        && !g_getenv("SDL_VIDEODRIVER")) {
      g_printerr(PROG ": no display to open a window on (DISPLAY and WAYLAND_DISPLAY are "
                 "not set); run it in a desktop session or under xvfb-run\n");
      SDL_Quit();
      return 1;
    }
  }
  if (TTF_Init() != 0) {
    g_printerr(PROG ": cannot start SDL_ttf: %s\n", TTF_GetError());
    SDL_Quit();
    return 1;
  }
  a->ev_wake = SDL_RegisterEvents(3);
  a->ev_rec_eos = a->ev_wake + 1;
  a->ev_shot_done = a->ev_wake + 2;

  if (!build_pipeline(a, err, sizeof err)) {
    g_printerr(PROG ": %s\n", err);
    rc = 1;
    goto out;
  }
  write_status(a, "starting", NULL);
  first = start_pipeline(a, err, sizeof err);
  if (!first) {
    if (err[0]) {
      g_printerr(PROG ": %s\n", err);
      write_status_event(a, "error", "error", err);
      rc = 1;
    }
    goto out;
  }
  {
    GstVideoInfo vi;
    int vw = 640, vh = 480;
    if (gst_video_info_from_caps(&vi, gst_sample_get_caps(first))) {
      vw = vi.width;
      vh = vi.height;
      if (vi.par_n > 0 && vi.par_d > 0)
        vw = (int) gst_util_uint64_scale_int(vw, vi.par_n, vi.par_d);
    }
    if (!open_window(a, vw, vh, err, sizeof err)) {
      g_printerr(PROG ": %s\n", err);
      gst_sample_unref(first);
      rc = 1;
      goto out;
    }
    g_print(PROG ": font %s\n", viewer_ui_font_path(a->ui));
  }
  show_sample(a, first);
  gst_sample_unref(first);
  update_layout(a);
  a->rate_t0 = a->status_t0 = now_us();
  write_status(a, "start", NULL);

  while (!a->quit_now) {
    SDL_Event ev;
    gint64 now;
    GstSample *s, *newest = NULL;
    gboolean got = SDL_WaitEventTimeout(&ev, a->redraw ? 1 : 50);

    while (got) {
      if (ev.type == SDL_QUIT) {
        request_quit(a);
      } else if (ev.type == SDL_KEYDOWN) {
        do_action(a, viewer_key_action(ev.key.keysym.sym, ev.key.keysym.mod, ev.key.repeat));
      } else if (ev.type == SDL_WINDOWEVENT) {
        if (ev.window.event == SDL_WINDOWEVENT_SIZE_CHANGED
            || ev.window.event == SDL_WINDOWEVENT_RESIZED)
          update_layout(a);
        a->redraw = TRUE;
      } else if (ev.type == SDL_RENDER_TARGETS_RESET || ev.type == SDL_RENDER_DEVICE_RESET) {
        a->redraw = TRUE;
      } else if (ev.type == a->ev_rec_eos) {
        if (a->rec && ev.user.data1 == a->rec)
          rec_finish(a, TRUE, NULL);
      } else if (ev.type == a->ev_shot_done) {
        shot_result *res = ev.user.data1;
        if (res->ok) {
          show_message(a, FALSE, "saved %s", res->path);
          write_status_event(a, "screenshot", "file", res->path);
        } else {
          show_message(a, TRUE, "screenshot failed: %s", res->err);
          write_status_event(a, "screenshot-error", "error", res->err);
        }
        free(res->path);
        g_free(res);
      }
      got = SDL_PollEvent(&ev);
    }
    g_atomic_int_set(&a->wake_pending, 0);
    handle_bus(a);
    while ((s = gst_app_sink_try_pull_sample(GST_APP_SINK(a->appsink), 0))) {
      if (newest)
        gst_sample_unref(newest);
      newest = s;
    }
    if (newest) {
      show_sample(a, newest);
      gst_sample_unref(newest);
    }

    now = now_us();
    if (now - a->rate_t0 >= RATE_PERIOD_US) {
      double dt = (now - a->rate_t0) / 1e6;
      a->display_fps = a->rate_frames / dt;
      a->inference_fps = a->rate_results / dt;
      if (a->rate_results)
        a->inference_ms = a->rate_ms_sum / a->rate_results;   /* mean over the second */
      a->rate_ms_sum = 0;
      a->rate_frames = a->rate_results = 0;
      a->rate_t0 = now;
      a->redraw = TRUE;
    }
    if (a->message[0] && now >= a->message_until) {
      a->message[0] = '\0';
      a->redraw = TRUE;
    }
    if (a->rec)
      a->redraw = TRUE;   /* the REC clock */
    if (a->o.quit_after > 0 && !a->quitting
        && now - a->status_t0 >= (gint64) (a->o.quit_after * 1e6))
      request_quit(a);
    if (a->rec && a->rec->stopping && now - a->rec->t_stop > RECORD_FINISH_TIMEOUT_US)
      rec_finish(a, FALSE, NULL);
    if (a->quitting && !a->rec && !a->shot_pending && !g_atomic_int_get(&a->shots_in_flight))
      a->quit_now = TRUE;
    if (a->quitting && a->quit_deadline && now > a->quit_deadline)
      a->quit_now = TRUE;
    if (a->redraw || a->shot_pending)
      render(a);
    if (now - a->tick_t >= STATUS_PERIOD_US) {
      a->tick_t = now;
      write_status(a, "tick", NULL);
    }
  }
  write_status(a, "quit", NULL);
  rc = a->exit_status;

out:
  if (a->pipeline) {
    GstBus *bus;
    gst_element_set_state(a->pipeline, GST_STATE_NULL);
    bus = gst_element_get_bus(a->pipeline);
    gst_bus_set_sync_handler(bus, NULL, NULL, NULL);
    gst_object_unref(bus);
    if (a->rec) {
      g_printerr(PROG ": %s may be incomplete\n", a->rec->path);
      rec_free(a->rec);
      a->rec = NULL;
    }
    if (a->old_rec_bin)
      gst_object_unref(a->old_rec_bin);
    gst_object_unref(a->pipeline);
  }
  if (a->tex)
    SDL_DestroyTexture(a->tex);
  viewer_ui_free(a->ui);
  if (a->ren)
    SDL_DestroyRenderer(a->ren);
  if (a->win)
    SDL_DestroyWindow(a->win);
  TTF_Quit();
  SDL_Quit();
  if (a->status)
    fclose(a->status);
  g_free(a->source_name);
  return rc;
}
