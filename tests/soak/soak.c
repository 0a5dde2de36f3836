/* soak.c: the plugin under a long run of live changes, for scripts/soak.
 *
 *   soak MODELS_DIR SECONDS [SEED]
 *
 * Plays videotestsrc (640x480, 30 fps, a moving pattern) through
 * mobilenetclassify ! mobilenetoverlay ! fakesink and, every 0.5 to 1 s,
 * switches one of arch, alpha, dtype (to a combination the models folder
 * has), resolution (96..320), threads (1..4), mode (sync / latest, at the
 * next start) or inference-interval; every tenth change is a state cycle
 * (PLAYING -> PAUSED or READY -> PLAYING) instead. Prints a line every
 * 60 s and a last one: frames, results, switches, state cycles, and the
 * resident memory after a 20 s warm-up and at the end. Exit status 0, or 1
 * on a bus error or a stall (no frame for 60 s). Sanitizer reports (the
 * plugin built with ASan/UBSan, scripts/soak) end the process themselves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gst/gst.h>
#include <mobilenet/mobilenet.h>

typedef struct {
  mn_arch arch;
  float alpha;
  mn_dtype dtype;
} combo;

typedef struct {
  GstElement *pipeline, *classify;
  GMainLoop *loop;
  GRand *rand;
  combo combos[256];
  int n_combos;
  gint64 t_start, t_end, t_last_frame, t_report;
  volatile gint frames, results;
  int switches, cycles, failed;
  long rss_warm, rss_start;
  guint64 last_frames, frames_at_change;
} soak;

static long
rss_kb(void)
{
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static GstPadProbeReturn
count_frame(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  soak *s = data;
  g_atomic_int_inc(&s->frames);
  return GST_PAD_PROBE_OK;
}

static gboolean
on_bus(GstBus *bus, GstMessage *msg, gpointer data)
{
  soak *s = data;
  GError *e = NULL;
  gchar *dbg = NULL;

  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR:
      gst_message_parse_error(msg, &e, &dbg);
      fprintf(stderr, "soak: error from %s: %s\n", GST_OBJECT_NAME(msg->src), e->message);
      s->failed = 1;
      g_main_loop_quit(s->loop);
      break;
    case GST_MESSAGE_ELEMENT:
      if (gst_message_has_name(msg, "mobilenet"))
        g_atomic_int_inc(&s->results);
      break;
    default:
      break;
  }
  g_clear_error(&e);
  g_free(dbg);
  return TRUE;
}

static void
report(soak *s, const char *what)
{
  const double t = (g_get_monotonic_time() - s->t_start) / 1e6;
  printf("soak: %s %.0f s: %d frames, %d results, %d switches, %d state cycles, RSS %ld kB "
         "(after warm-up %ld kB, start %ld kB)\n", what, t, g_atomic_int_get(&s->frames),
         g_atomic_int_get(&s->results), s->switches, s->cycles, rss_kb(), s->rss_warm,
         s->rss_start);
  fflush(stdout);
}

static void
change_something(soak *s)
{
  const int what = g_rand_int_range(s->rand, 0, 10);
  if (s->switches > 0 && s->switches % 10 == 0 && s->cycles < s->switches / 10) {
    GstState low = g_rand_boolean(s->rand) ? GST_STATE_PAUSED : GST_STATE_READY;
    gst_element_set_state(s->pipeline, low);
    gst_element_get_state(s->pipeline, NULL, NULL, 5 * GST_SECOND);
    gst_element_set_state(s->pipeline, GST_STATE_PLAYING);
    s->cycles++;
    return;
  }
  if (what < 5 && s->n_combos > 0) {
    const combo *c = &s->combos[g_rand_int_range(s->rand, 0, s->n_combos)];
    gchar alpha[32];
    g_snprintf(alpha, sizeof alpha, "%g", c->alpha);
    /* one notify-free batch: the element picks the file at the next frame */
    g_object_freeze_notify(G_OBJECT(s->classify));
    gst_util_set_object_arg(G_OBJECT(s->classify), "arch", mn_arch_name(c->arch));
    gst_util_set_object_arg(G_OBJECT(s->classify), "alpha", alpha);
    gst_util_set_object_arg(G_OBJECT(s->classify), "dtype", mn_dtype_name(c->dtype));
    g_object_thaw_notify(G_OBJECT(s->classify));
  } else if (what < 7) {
    g_object_set(s->classify, "resolution", 96 + 32 * g_rand_int_range(s->rand, 0, 8), NULL);
  } else if (what < 8) {
    g_object_set(s->classify, "threads", g_rand_int_range(s->rand, 1, 5), NULL);
  } else if (what < 9) {
    g_object_set(s->classify, "inference-interval", g_rand_int_range(s->rand, 1, 4), NULL);
  } else {
    gst_util_set_object_arg(G_OBJECT(s->classify), "mode",
                            g_rand_boolean(s->rand) ? "sync" : "latest");
  }
  s->switches++;
}

static gboolean
tick(gpointer data)
{
  soak *s = data;
  const gint64 now = g_get_monotonic_time();
  const guint64 frames = (guint64) g_atomic_int_get(&s->frames);

  if (frames != s->last_frames) {
    s->last_frames = frames;
    s->t_last_frame = now;
  } else if (now - s->t_last_frame > 60 * G_USEC_PER_SEC) {
    /* a minute: far past a slow model on a loaded machine (an ASan build of
     * v1 1.0 at rho 320 on one thread, starved by other work), a hang */
    fprintf(stderr, "soak: no frame for 60 s: stalled\n");
    s->failed = 1;
    g_main_loop_quit(s->loop);
    return G_SOURCE_REMOVE;
  }
  if (!s->rss_warm && now - s->t_start > 20 * G_USEC_PER_SEC)
    s->rss_warm = rss_kb();
  if (now - s->t_report >= 60 * G_USEC_PER_SEC) {
    s->t_report = now;
    report(s, "at");
  }
  if (now >= s->t_end) {
    g_main_loop_quit(s->loop);
    return G_SOURCE_REMOVE;
  }
  /* no new change until a frame got through since the last one: changes
   * must not pile up behind a slow model */
  if (frames != s->frames_at_change) {
    s->frames_at_change = frames;
    change_something(s);
  }
  g_timeout_add(g_rand_int_range(s->rand, 500, 1001), tick, s);
  return G_SOURCE_REMOVE;
}

int
main(int argc, char **argv)
{
  soak s;
  mn_model_entry entries[256];
  GError *error = NULL;
  gchar *desc;
  GstElement *sink;
  GstPad *pad;
  GstBus *bus;

  gst_init(&argc, &argv);
  if (argc < 3) {
    fprintf(stderr, "usage: soak MODELS_DIR SECONDS [SEED]\n");
    return 2;
  }
  memset(&s, 0, sizeof s);
  s.rand = argc > 3 ? g_rand_new_with_seed((guint32) strtoul(argv[3], NULL, 10)) : g_rand_new();
  int n = mn_models_list(argv[1], entries, 256);
  if (n > 256) n = 256; /* the count of files; the first 256 were written */
  for (int i = 0; i < n && s.n_combos < 256; i++) {
    combo c = { entries[i].arch, entries[i].alpha, entries[i].dtype };
    if (c.arch != MN_ARCH_OTHER && entries[i].classes > 0)
      s.combos[s.n_combos++] = c;
  }
  if (s.n_combos == 0) {
    fprintf(stderr, "soak: no usable model in %s\n", argv[1]);
    return 1;
  }
  desc = g_strdup_printf("videotestsrc is-live=true pattern=ball ! "
                         "video/x-raw,width=640,height=480,framerate=30/1 ! "
                         "mobilenetclassify name=classify models=\"%s\" post-messages=true ! "
                         "mobilenetoverlay ! fakesink name=sink sync=true", argv[1]);
  s.pipeline = gst_parse_launch(desc, &error);
  g_free(desc);
  if (!s.pipeline) {
    fprintf(stderr, "soak: %s\n", error ? error->message : "cannot build the pipeline");
    return 1;
  }
  s.classify = gst_bin_get_by_name(GST_BIN(s.pipeline), "classify");
  sink = gst_bin_get_by_name(GST_BIN(s.pipeline), "sink");
  pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_frame, &s, NULL);
  gst_object_unref(pad);
  gst_object_unref(sink);
  s.loop = g_main_loop_new(NULL, FALSE);
  bus = gst_element_get_bus(s.pipeline);
  gst_bus_add_watch(bus, on_bus, &s);

  s.rss_start = rss_kb();
  s.t_start = s.t_last_frame = s.t_report = g_get_monotonic_time();
  s.t_end = s.t_start + (gint64) (atof(argv[2]) * G_USEC_PER_SEC);
  printf("soak: %d model combinations in %s, %s s\n", s.n_combos, argv[1], argv[2]);
  gst_element_set_state(s.pipeline, GST_STATE_PLAYING);
  g_timeout_add(1000, tick, &s);
  g_main_loop_run(s.loop);
  report(&s, "done after");

  gst_element_set_state(s.pipeline, GST_STATE_NULL);
  gst_bus_remove_watch(bus);
  gst_object_unref(bus);
  gst_object_unref(s.classify);
  gst_object_unref(s.pipeline);
  g_main_loop_unref(s.loop);
  g_rand_free(s.rand);
  gst_deinit();
  return s.failed;
}
