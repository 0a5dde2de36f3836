/* test_gst_e2e.c: end to end: a clip from $MOBILENET_SHARED/videos is
 * labelled and recorded to WebM.
 *
 * - bottle-detection.mp4 (Intel IoT sample video: bottles on a conveyor,
 *   1189 frames, 640x360) through decodebin ! videoconvert !
 *   mobilenetclassify (alpha 1.0, f32) ! mobilenetoverlay ! videoconvert !
 *   vp8enc ! webmmux: the bus messages must say "water bottle" for most
 *   frames; the WebM file must decode to as many frames as the clip has, and
 *   show the labels (the overlay's corner differs from the clip, the rest of
 *   the picture does not, beyond coding noise).
 * - mobilenet-record on flower.webm: exit 0, a playable file, every frame.
 * - mobilenet-record on bottle-detection.mp4, interrupted with SIGINT: exit
 *   130 and still a complete file holding every frame it reported.
 *
 * Exits 77 when the shared clips or models, or a needed GStreamer element,
 * are missing.
 */
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gst_test_util.h"

#define CLIP "videos/bottle-detection.mp4"
#define CLIP_TOP1 "water bottle"

static gchar *models, *workdir;

typedef struct {
  guint64 frames;
} FrameCount;

static GstPadProbeReturn
count_probe (GstPad * pad, GstPadProbeInfo * info, FrameCount * c)
{
  c->frames++;
  return GST_PAD_PROBE_OK;
}

/* Runs a launch line to EOS; fails on an error. Element messages named
 * "mobilenet" are handed to on_result. Returns the buffers that reached the
 * element named "count" (0 if there is none). */
static guint64
run_pipeline (const gchar * desc, void (*on_result) (const GstStructure *, gpointer),
    gpointer data)
{
  GError *error = NULL;
  GstElement *pipe = gst_parse_launch (desc, &error);
  GstElement *counted;
  GstBus *bus;
  FrameCount count = { 0 };
  gboolean done = FALSE;

  fail_unless (pipe != NULL, "%s: %s", desc, error ? error->message : "?");
  counted = gst_bin_get_by_name (GST_BIN (pipe), "count");
  if (counted) {
    GstPad *pad = gst_element_get_static_pad (counted, "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, (GstPadProbeCallback) count_probe,
        &count, NULL);
    gst_object_unref (pad);
    gst_object_unref (counted);
  }
  bus = gst_element_get_bus (pipe);
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  while (!done) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 300 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
    fail_unless (msg != NULL, "%s: timed out", desc);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *err;
      gchar *dbg;
      gst_message_parse_error (msg, &err, &dbg);
      fail ("%s: %s (%s)", desc, err->message, dbg);
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
      done = TRUE;
    } else if (on_result
        && gst_structure_has_name (gst_message_get_structure (msg), "mobilenet")) {
      on_result (gst_message_get_structure (msg), data);
    }
    gst_message_unref (msg);
  }
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipe);
  return count.frames;
}

static guint64
count_frames (const gchar * path)
{
  gchar *desc = g_strdup_printf ("filesrc location=\"%s\" ! decodebin ! fakesink name=count",
      path);
  guint64 n = run_pipeline (desc, NULL, NULL);
  g_free (desc);
  return n;
}

/* Frame number index of a video file as packed RGB (w x h). */
static guint8 *
grab_frame (const gchar * path, guint index, gint * w, gint * h)
{
  gchar *desc = g_strdup_printf ("filesrc location=\"%s\" ! decodebin ! videoconvert ! "
      "video/x-raw,format=RGB ! appsink name=sink sync=false max-buffers=4", path);
  GstElement *pipe = gst_parse_launch (desc, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  guint8 *rgb = NULL;

  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  for (guint i = 0; i <= index; i++) {
    GstSample *sample = NULL;
    g_signal_emit_by_name (sink, "pull-sample", &sample);
    fail_unless (sample != NULL, "%s: no frame %u", path, i);
    if (i == index) {
      GstVideoInfo info;
      GstVideoFrame frame;
      fail_unless (gst_video_info_from_caps (&info, gst_sample_get_caps (sample)));
      fail_unless (gst_video_frame_map (&frame, &info, gst_sample_get_buffer (sample),
              GST_MAP_READ));
      *w = GST_VIDEO_INFO_WIDTH (&info);
      *h = GST_VIDEO_INFO_HEIGHT (&info);
      rgb = g_malloc ((gsize) *w * *h * 3);
      for (gint y = 0; y < *h; y++)
        memcpy (rgb + (gsize) y * *w * 3, (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0)
            + (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0), (gsize) *w * 3);
      gst_video_frame_unmap (&frame);
    }
    gst_sample_unref (sample);
  }
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipe);
  g_free (desc);
  return rgb;
}

/* Mean absolute difference over a rectangle, all channels. */
static gdouble
mean_diff (const guint8 * a, const guint8 * b, gint w, gint x0, gint y0, gint x1, gint y1)
{
  guint64 sum = 0, n = 0;
  for (gint y = y0; y < y1; y++)
    for (gint x = x0; x < x1; x++)
      for (gint c = 0; c < 3; c++) {
        const gsize i = ((gsize) y * w + x) * 3 + c;
        sum += ABS ((gint) a[i] - (gint) b[i]);
        n++;
      }
  return n ? (gdouble) sum / n : 0;
}

typedef struct {
  GHashTable *top1;
  guint results;
  guint64 last_frame;
  gboolean ordered;
} Tally;

static void
tally_result (const GstStructure * s, gpointer data)
{
  Tally *t = data;
  const gchar *label = gst_structure_get_string (s, "label");
  guint64 frame = 0, rt = GST_CLOCK_TIME_NONE;

  fail_unless (label != NULL);
  fail_unless (gst_structure_get_uint64 (s, "frame", &frame));
  fail_unless (gst_structure_get_uint64 (s, "running-time", &rt));
  fail_unless (GST_CLOCK_TIME_IS_VALID (rt));
  if (t->results > 0 && frame != t->last_frame + 1)
    t->ordered = FALSE;
  t->last_frame = frame;
  g_hash_table_replace (t->top1, g_strdup (label),
      GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (t->top1, label)) + 1));
  t->results++;
}

GST_START_TEST (test_record_clip_to_webm)
{
  gchar *clip = mn_shared_path (CLIP);
  gchar *out = g_build_filename (workdir, "bottle-labelled.webm", NULL);
  gchar *desc;
  Tally t = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), 0, 0, TRUE };
  guint64 in_frames, out_frames, recorded;
  GHashTableIter it;
  gpointer key, value;
  const gchar *best = NULL;
  guint best_n = 0;
  guint8 *a, *b;
  gint w, h, w2, h2;
  gdouble inside, outside;

  in_frames = count_frames (clip);
  fail_unless (in_frames > 1000, "%s: %" G_GUINT64_FORMAT " frames", clip, in_frames);

  desc = g_strdup_printf ("filesrc location=\"%s\" ! decodebin ! videoconvert ! "
      "mobilenetclassify models=\"%s\" alpha=1.0 dtype=f32 threads=1 ! "
      "mobilenetoverlay ! videoconvert ! identity name=count ! "
      "vp8enc deadline=1 cpu-used=4 target-bitrate=1500000 ! webmmux ! "
      "filesink location=\"%s\"", clip, models, out);
  recorded = run_pipeline (desc, tally_result, &t);
  g_free (desc);

  /* Every frame classified, in order, and most of them as bottles. */
  fail_unless_equals_uint64 (recorded, in_frames);
  fail_unless_equals_int (t.results, in_frames);
  fail_unless (t.ordered, "results out of order");
  g_hash_table_iter_init (&it, t.top1);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (GPOINTER_TO_UINT (value) > best_n)
      best = key, best_n = GPOINTER_TO_UINT (value);
  g_print ("%s: top-1 \"%s\" on %u of %u frames\n", CLIP, best, best_n, t.results);
  fail_unless_equals_string (best, CLIP_TOP1);
  fail_unless (best_n * 2 > t.results);

  /* The WebM decodes to as many frames as the clip. */
  out_frames = count_frames (out);
  fail_unless_equals_uint64 (out_frames, in_frames);

  /* The labels are on the picture: the top-left box differs from the clip,
   * the opposite corner only by coding noise. */
  a = grab_frame (clip, 600, &w, &h);
  b = grab_frame (out, 600, &w2, &h2);
  fail_unless (w == w2 && h == h2);
  inside = mean_diff (a, b, w, w / 60, h / 30, w / 6, h / 7);
  outside = mean_diff (a, b, w, w * 2 / 3, h * 2 / 3, w - 10, h - 10);
  g_print ("frame 600: mean difference %.1f in the overlay corner, %.1f elsewhere\n", inside,
      outside);
  fail_unless (inside > 25.0 && outside < 8.0, "inside %g, outside %g", inside, outside);
  g_free (a);
  g_free (b);

  g_unlink (out);
  g_hash_table_unref (t.top1);
  g_free (out);
  g_free (clip);
}

GST_END_TEST;

/* Runs mobilenet-record; if interrupt_bytes > 0 sends SIGINT once the
 * output file has grown that large.
 * Returns the exit status; stdout in *output. */
static gint
run_record (const gchar * in, const gchar * out, goffset interrupt_bytes, gchar ** output)
{
  const gchar *tool = g_getenv ("MOBILENET_RECORD");
  gchar *argv[] = { (gchar *) tool, (gchar *) in, (gchar *) out, (gchar *) "--models", models,
    (gchar *) "--alpha", (gchar *) "0.25", (gchar *) "--dtype", (gchar *) "u8",
    (gchar *) "--threads", (gchar *) "1", NULL
  };
  GError *error = NULL;
  GPid pid;
  gint out_fd, status;
  GString *text = g_string_new (NULL);
  gchar buf[4096];
  gssize n;

  fail_unless (tool != NULL, "MOBILENET_RECORD is not set");
  fail_unless (g_spawn_async_with_pipes (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
          &pid, NULL, &out_fd, NULL, &error), "%s", error ? error->message : "");
  if (interrupt_bytes > 0) {
    /* once the file holds some video, as a user would after a moment */
    gint64 deadline = g_get_monotonic_time () + 120 * G_TIME_SPAN_SECOND;
    GStatBuf st;
    while (g_get_monotonic_time () < deadline
        && (g_stat (out, &st) != 0 || st.st_size < interrupt_bytes))
      g_usleep (20000);
    kill (pid, SIGINT);
  }
  while ((n = read (out_fd, buf, sizeof buf)) > 0)
    g_string_append_len (text, buf, n);
  close (out_fd);
  fail_unless (waitpid (pid, &status, 0) == pid);
  g_spawn_close_pid (pid);
  *output = g_string_free (text, FALSE);
  fail_unless (WIFEXITED (status), "mobilenet-record died (status %d)", status);
  return WEXITSTATUS (status);
}

GST_START_TEST (test_record_tool)
{
  gchar *clip = mn_shared_path ("videos/flower.webm");
  gchar *out = g_build_filename (workdir, "flower-labelled.webm", NULL);
  gchar *output = NULL;
  guint64 frames;

  fail_unless_equals_int (run_record (clip, out, 0, &output), 0);
  g_print ("%s", output);
  frames = count_frames (out);
  fail_unless_equals_uint64 (frames, count_frames (clip));
  fail_unless (strstr (output, "150 frames") != NULL, "%s", output);
  fail_unless (strstr (output, "top-1 mostly") != NULL, "%s", output);
  g_unlink (out);
  g_free (output);
  g_free (out);
  g_free (clip);
}

GST_END_TEST;

GST_START_TEST (test_record_tool_interrupted)
{
  gchar *clip = mn_shared_path (CLIP);
  gchar *out = g_build_filename (workdir, "interrupted.webm", NULL);
  gchar *output = NULL, *p;
  guint64 frames, reported;

  fail_unless_equals_int (run_record (clip, out, 100000, &output), 130);
  g_print ("%s", output);
  p = strstr (output, ": ");
  fail_unless (p != NULL, "%s", output);
  reported = g_ascii_strtoull (p + 2, NULL, 10);
  fail_unless (reported > 0 && reported < 1189, "%s", output);
  /* Finalised: the file decodes to the end, with every frame written. */
  frames = count_frames (out);
  fail_unless_equals_uint64 (frames, reported);
  g_unlink (out);
  g_free (output);
  g_free (out);
  g_free (clip);
}

GST_END_TEST;

static Suite *
e2e_suite (void)
{
  Suite *s = suite_create ("mobilenet-e2e");
  TCase *tc = tcase_create ("recording");

  tcase_set_timeout (tc, 900);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_record_clip_to_webm);
  tcase_add_test (tc, test_record_tool);
  tcase_add_test (tc, test_record_tool_interrupted);
  return s;
}

int
main (int argc, char **argv)
{
  int failed;

  gst_check_init (&argc, &argv);
  mn_require_shared (CLIP);
  mn_require_shared ("videos/flower.webm");
  mn_require_shared ("models/mobilenet_v1_1.0_224_dequant.tflite");
  mn_require_shared ("models/mobilenet_v1_0.25_224_quant.tflite");
  mn_require_element ("avdec_h264", "gstreamer1.0-libav");
  mn_require_element ("qtdemux", "gstreamer1.0-plugins-good");
  mn_require_element ("vp8enc", "gstreamer1.0-plugins-good");
  mn_require_element ("webmmux", "gstreamer1.0-plugins-good");
  mn_require_element ("vp8dec", "gstreamer1.0-plugins-good");
  models = mn_shared_path ("models");
  workdir = g_dir_make_tmp ("mobilenet-e2e-XXXXXX", NULL);
  failed = gst_check_run_suite (e2e_suite (), "mobilenet-e2e", __FILE__);
  g_rmdir (workdir);
  return failed;
}
