/* test_gst_overlay.c: GstHarness tests of mobilenetoverlay: formats, the
 * box changes pixels only where it is drawn, frames without results pass
 * untouched, the box follows the frame size and the properties, and the
 * text stays readable on white and black pictures.
 *
 * The results are attached by the test itself (the registered
 * "GstMobilenetMeta" through gst_meta_get_info), so no model is needed,
 * except in the last test, which runs mobilenetclassify in front.
 */
#include "gst_test_util.h"

static const GstVideoFormat formats[] = {
  GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_RGBA,
  GST_VIDEO_FORMAT_xRGB, GST_VIDEO_FORMAT_ARGB, GST_VIDEO_FORMAT_xBGR, GST_VIDEO_FORMAT_ABGR,
  GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_YV12,
  GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_NV21, GST_VIDEO_FORMAT_Y42B, GST_VIDEO_FORMAT_Y444,
  GST_VIDEO_FORMAT_YUY2, GST_VIDEO_FORMAT_UYVY, GST_VIDEO_FORMAT_AYUV,
};

static void
add_meta (GstBuffer * buf, guint64 result)
{
  static const char *labels[] = { "macaw", "lorikeet", "toucan", "bee eater", "jacamar" };
  static const float scores[] = { 0.87f, 0.06f, 0.03f, 0.01f, 0.005f };
  const GstMetaInfo *info = gst_meta_get_info (GST_MOBILENET_META_IMPL_NAME);
  GstMobilenetMeta *m;

  fail_unless (info != NULL, "GstMobilenetMeta is not registered");
  m = (GstMobilenetMeta *) gst_buffer_add_meta (buf, info, NULL);
  m->n_classes = 5;
  for (int i = 0; i < 5; i++) {
    m->classes[i].class_index = 88 + i;
    m->classes[i].score = scores[i];
    g_strlcpy (m->classes[i].label, labels[i], sizeof m->classes[i].label);
  }
  m->alpha = 0.5f;
  m->resolution = 160;
  m->dtype = GST_MOBILENET_DTYPE_U8;
  g_strlcpy (m->model, "mobilenet_v1_0.5_160_quant.tflite", sizeof m->model);
  m->inference_ms = 3.25;
  m->source_frame = result;
  m->source_pts = 0;
  m->result_number = result;
}

static GstElement *
make_overlay (const gchar * first_property, ...)
{
  GstElement *e = gst_element_factory_make ("mobilenetoverlay", NULL);
  va_list args;

  fail_unless (e != NULL, "mobilenetoverlay not found: is GST_PLUGIN_PATH set?");
  gst_object_ref_sink (e);
  if (first_property) {
    va_start (args, first_property);
    g_object_set_valist (G_OBJECT (e), first_property, args);
    va_end (args);
  }
  return e;
}

typedef struct {
  gint x0, y0, x1, y1;          /* bounding box of changed pixels, inclusive; x0 > x1: none */
  guint64 changed, compared;
  guint64 inside;               /* pixels inside the box */
} Diff;

/* Compares every component plane of two frames; positions are in luma /
 * packed pixel coordinates (chroma positions scaled up). */
static Diff
diff_frames (const GstVideoInfo * info, GstBuffer * a, GstBuffer * b)
{
  GstVideoFrame fa, fb;
  Diff d = { G_MAXINT, G_MAXINT, -1, -1, 0, 0, 0 };
  const gint w = GST_VIDEO_INFO_WIDTH (info), h = GST_VIDEO_INFO_HEIGHT (info);
  guint8 *mask = g_malloc0 ((gsize) w * h);

  fail_unless (gst_video_frame_map (&fa, info, a, GST_MAP_READ));
  fail_unless (gst_video_frame_map (&fb, info, b, GST_MAP_READ));
  for (guint c = 0; c < GST_VIDEO_INFO_N_COMPONENTS (info); c++) {
    const gint cw = GST_VIDEO_FRAME_COMP_WIDTH (&fa, c), ch = GST_VIDEO_FRAME_COMP_HEIGHT (&fa, c);
    const gint sx = w / cw, sy = h / ch;
    const gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (&fa, c);
    const gint stride = GST_VIDEO_FRAME_COMP_STRIDE (&fa, c);
    const guint8 *pa = GST_VIDEO_FRAME_COMP_DATA (&fa, c);
    const guint8 *pb = GST_VIDEO_FRAME_COMP_DATA (&fb, c);
    for (gint y = 0; y < ch; y++)
      for (gint x = 0; x < cw; x++) {
        const gsize i = (gsize) y * stride + (gsize) x * ps;  /* COMP_DATA includes the offset */
        d.compared++;
        if (pa[i] != pb[i]) {
          /* the luma-resolution pixels this sample covers */
          for (gint yy = y * sy; yy < MIN (h, (y + 1) * sy); yy++)
            for (gint xx = x * sx; xx < MIN (w, (x + 1) * sx); xx++)
              mask[(gsize) yy * w + xx] = 1;
        }
      }
  }
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      if (mask[(gsize) y * w + x]) {
        d.changed++;
        d.x0 = MIN (d.x0, x);
        d.y0 = MIN (d.y0, y);
        d.x1 = MAX (d.x1, x);
        d.y1 = MAX (d.y1, y);
      }
  if (d.changed)
    for (gint y = d.y0; y <= d.y1; y++)
      for (gint x = d.x0; x <= d.x1; x++)
        d.inside += mask[(gsize) y * w + x];
  gst_video_frame_unmap (&fa);
  gst_video_frame_unmap (&fb);
  g_free (mask);
  return d;
}

/* Pushes one frame of fmt (w x h, with a meta if with_meta) through an
 * overlay; returns what changed. */
static Diff
run_overlay (GstElement * e, GstVideoFormat fmt, gint w, gint h, const guint8 * rgb,
    gboolean with_meta)
{
  GstHarness *hr = gst_harness_new_with_element (e, "sink", "src");
  GstVideoInfo info;
  GstBuffer *in, *ref, *out;
  GstCaps *caps;
  Diff d;

  in = mn_frame_from_rgb (rgb, w, h, fmt, &info);
  caps = gst_video_info_to_caps (&info);
  gst_harness_set_src_caps (hr, caps);
  if (with_meta)
    add_meta (in, 0);
  ref = gst_buffer_copy_deep (in);
  GST_BUFFER_PTS (in) = 0;
  fail_unless_equals_int (gst_harness_push (hr, in), GST_FLOW_OK);
  out = gst_harness_pull (hr);
  fail_unless (out != NULL);
  fail_unless_equals_int (gst_buffer_get_size (out), gst_buffer_get_size (ref));
  if (with_meta)
    fail_unless (gst_buffer_get_mobilenet_meta (out) != NULL, "meta dropped");
  d = diff_frames (&info, ref, out);
  gst_buffer_unref (ref);
  gst_buffer_unref (out);
  gst_harness_teardown (hr);
  return d;
}

/* The changes form one box: at least 90 % of its bounding rectangle (the
 * rounded corners are not drawn) and nothing outside it, by construction. */
static void
check_box (const Diff * d, const gchar * what)
{
  fail_unless (d->changed > 0, "%s: nothing drawn", what);
  fail_unless (d->inside * 10 >= (guint64) (d->x1 - d->x0 + 1) * (d->y1 - d->y0 + 1) * 9,
      "%s: changes scattered (%" G_GUINT64_FORMAT " of the %dx%d box)", what, d->inside,
      d->x1 - d->x0 + 1, d->y1 - d->y0 + 1);
}

GST_START_TEST (test_overlay_each_format)
{
  const gint w = 320, h = 240;
  guint8 *rgb = mn_test_picture (w, h, 11);

  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    const gchar *name = gst_video_format_to_string (formats[f]);
    GstElement *e = make_overlay ("show-fps", FALSE, NULL);
    Diff d = run_overlay (e, formats[f], w, h, rgb, TRUE);
    check_box (&d, name);
    /* top-left corner, well inside the frame */
    fail_unless (d.x0 >= 2 && d.x0 <= 12 && d.y0 >= 2 && d.y0 <= 12, "%s: box at %d,%d", name,
        d.x0, d.y0);
    fail_unless (d.x1 < w / 2 + 40 && d.y1 < h / 2 + 20, "%s: box to %d,%d", name, d.x1, d.y1);
    gst_object_unref (e);

    /* Without a result nothing is drawn: the frame is bit for bit the same. */
    e = make_overlay (NULL);
    d = run_overlay (e, formats[f], w, h, rgb, FALSE);
    fail_unless_equals_uint64 (d.changed, 0);
    gst_object_unref (e);
  }
  g_free (rgb);
}

GST_END_TEST;

GST_START_TEST (test_overlay_positions)
{
  const gint w = 320, h = 240;
  guint8 *rgb = mn_test_picture (w, h, 12);
  const gchar *pos[] = { "top-left", "top-right", "bottom-left", "bottom-right" };

  for (int p = 0; p < 4; p++) {
    for (int fmt = 0; fmt < 2; fmt++) {
      GstElement *e = make_overlay (NULL);
      Diff d;
      gst_util_set_object_arg (G_OBJECT (e), "position", pos[p]);
      d = run_overlay (e, fmt ? GST_VIDEO_FORMAT_NV12 : GST_VIDEO_FORMAT_BGRx, w, h, rgb, TRUE);
      check_box (&d, pos[p]);
      if (p & 1)
        fail_unless (d.x1 >= w - 12 && d.x1 <= w - 2, "%s: right edge %d", pos[p], d.x1);
      else
        fail_unless (d.x0 >= 2 && d.x0 <= 12, "%s: left edge %d", pos[p], d.x0);
      if (p & 2)
        fail_unless (d.y1 >= h - 12 && d.y1 <= h - 2, "%s: bottom edge %d", pos[p], d.y1);
      else
        fail_unless (d.y0 >= 2 && d.y0 <= 12, "%s: top edge %d", pos[p], d.y0);
      gst_object_unref (e);
    }
  }
  g_free (rgb);
}

GST_END_TEST;

GST_START_TEST (test_overlay_scales_and_properties)
{
  guint8 *small = mn_test_picture (480, 360, 13), *big = mn_test_picture (960, 720, 13);
  GstElement *e;
  Diff ds, db, dfont, dnone, dbare;
  gdouble ratio;

  e = make_overlay ("show-fps", FALSE, NULL);
  ds = run_overlay (e, GST_VIDEO_FORMAT_BGRx, 480, 360, small, TRUE);
  gst_object_unref (e);
  e = make_overlay ("show-fps", FALSE, NULL);
  db = run_overlay (e, GST_VIDEO_FORMAT_BGRx, 960, 720, big, TRUE);
  gst_object_unref (e);
  ratio = (gdouble) (db.y1 - db.y0) / (ds.y1 - ds.y0);
  fail_unless (ratio > 1.8 && ratio < 2.2, "box height ratio %g for a frame twice as high",
      ratio);
  ratio = (gdouble) (db.x1 - db.x0) / (ds.x1 - ds.x0);
  fail_unless (ratio > 1.7 && ratio < 2.3, "box width ratio %g for a frame twice as wide",
      ratio);

  /* An explicit font size wins over the frame size. */
  e = make_overlay ("show-fps", FALSE, "font-size", 30.0, NULL);
  dfont = run_overlay (e, GST_VIDEO_FORMAT_BGRx, 480, 360, small, TRUE);
  gst_object_unref (e);
  fail_unless (dfont.y1 - dfont.y0 > (ds.y1 - ds.y0) * 2);

  /* Nothing to show: nothing drawn. */
  e = make_overlay ("classes", 0, "show-fps", FALSE, "show-model", FALSE, NULL);
  dnone = run_overlay (e, GST_VIDEO_FORMAT_I420, 480, 360, small, TRUE);
  gst_object_unref (e);
  fail_unless_equals_uint64 (dnone.changed, 0);

  /* Without the box only the text and bars change pixels. */
  e = make_overlay ("show-fps", FALSE, "box-opacity", 0.0, NULL);
  dbare = run_overlay (e, GST_VIDEO_FORMAT_BGRx, 480, 360, small, TRUE);
  gst_object_unref (e);
  fail_unless (dbare.changed > 0 && dbare.changed * 2 < ds.changed);

  /* Fewer classes, a smaller box. */
  e = make_overlay ("show-fps", FALSE, "classes", 2, NULL);
  dbare = run_overlay (e, GST_VIDEO_FORMAT_BGRx, 480, 360, small, TRUE);
  gst_object_unref (e);
  fail_unless (dbare.y1 - dbare.y0 < ds.y1 - ds.y0);

  g_free (small);
  g_free (big);
}

GST_END_TEST;

/* On a white and on a black picture the text is far brighter than the box
 * around it. */
GST_START_TEST (test_overlay_readable)
{
  const gint w = 320, h = 240;

  for (int bg = 0; bg < 2; bg++) {
    guint8 *rgb = g_malloc ((gsize) w * h * 3);
    GstElement *e = make_overlay (NULL);
    GstHarness *hr = gst_harness_new_with_element (e, "sink", "src");
    GstVideoInfo info;
    GstVideoFrame frame;
    GstBuffer *in, *out;
    guint hist[256] = { 0 }, n = 0;
    gint x0, y0;

    memset (rgb, bg ? 255 : 0, (gsize) w * h * 3);
    in = mn_frame_from_rgb (rgb, w, h, GST_VIDEO_FORMAT_I420, &info);
    gst_harness_set_src_caps (hr, gst_video_info_to_caps (&info));
    add_meta (in, 0);
    fail_unless_equals_int (gst_harness_push (hr, in), GST_FLOW_OK);
    out = gst_harness_pull (hr);
    fail_unless (gst_video_frame_map (&frame, &info, out, GST_MAP_READ));
    /* the top-left box: 5 % to 30 % of the width, 3 % to 25 % of the height */
    for (y0 = h * 3 / 100; y0 < h / 4; y0++)
      for (x0 = w / 20; x0 < w * 3 / 10; x0++)
        hist[((guint8 *) GST_VIDEO_FRAME_COMP_DATA (&frame, 0))[y0 *
                GST_VIDEO_FRAME_COMP_STRIDE (&frame, 0) + x0]]++, n++;
    {
      /* median: the box; 99th percentile: the text */
      guint acc = 0;
      gint median = -1, p99 = -1;
      for (int v = 0; v < 256; v++) {
        acc += hist[v];
        if (median < 0 && acc * 2 >= n)
          median = v;
        if (p99 < 0 && acc * 100 >= n * 99)
          p99 = v;
      }
      GST_INFO ("%s picture: box luma %d, text luma %d", bg ? "white" : "black", median, p99);
      fail_unless (median < 120, "%s: the box is not dark (median luma %d)",
          bg ? "white" : "black", median);
      fail_unless (p99 - median >= 90, "%s: text luma %d on box luma %d",
          bg ? "white" : "black", p99, median);
    }
    gst_video_frame_unmap (&frame);
    gst_buffer_unref (out);
    gst_harness_teardown (hr);
    gst_object_unref (e);
    g_free (rgb);
  }
}

GST_END_TEST;

/* classify ! overlay as in the README: the results drawn are the ones
 * attached, and the state can go up and down. */
GST_START_TEST (test_classify_then_overlay)
{
  gchar *models = mn_shared_path ("models");
  gchar *desc;
  GstHarness *hr;
  guint8 *rgb = mn_test_picture (160, 120, 14);
  GstVideoInfo info;

  if (!g_file_test (models, G_FILE_TEST_IS_DIR)) {
    g_free (models);
    g_free (rgb);
    return;                     /* covered by the classify tests' skip */
  }
  desc = g_strdup_printf ("mobilenetclassify models=\"%s\" alpha=0.25 dtype=u8 resolution=96 "
      "threads=1 ! mobilenetoverlay", models);
  hr = gst_harness_new_parse (desc);
  gst_harness_set_src_caps_str (hr, "video/x-raw,format=NV12,width=160,height=120,"
      "framerate=30/1");
  for (int i = 0; i < 20; i++) {
    GstBuffer *in = mn_frame_from_rgb (rgb, 160, 120, GST_VIDEO_FORMAT_NV12, &info);
    GstBuffer *ref = gst_buffer_copy_deep (in), *out;
    Diff d;
    GST_BUFFER_PTS (in) = i * GST_SECOND / 30;
    fail_unless_equals_int (gst_harness_push (hr, in), GST_FLOW_OK);
    out = gst_harness_pull (hr);
    fail_unless (gst_buffer_get_mobilenet_meta (out) != NULL);
    d = diff_frames (&info, ref, out);
    check_box (&d, "classify ! overlay");
    gst_buffer_unref (ref);
    gst_buffer_unref (out);
  }
  gst_harness_teardown (hr);
  g_free (desc);
  g_free (models);
  g_free (rgb);
}

GST_END_TEST;

static Suite *
mobilenetoverlay_suite (void)
{
  Suite *s = suite_create ("mobilenetoverlay");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 600);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_overlay_each_format);
  tcase_add_test (tc, test_overlay_positions);
  tcase_add_test (tc, test_overlay_scales_and_properties);
  tcase_add_test (tc, test_overlay_readable);
  tcase_add_test (tc, test_classify_then_overlay);
  return s;
}

GST_CHECK_MAIN (mobilenetoverlay);
