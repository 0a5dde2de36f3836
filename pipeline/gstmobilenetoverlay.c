/* GStreamer mobilenetoverlay: draws mobilenetclassify's results on the video.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * SECTION:element-mobilenetoverlay
 * @title: mobilenetoverlay
 * @see_also: mobilenetclassify, textoverlay
 *
 * Draws the #GstMobilenetMeta that mobilenetclassify attached to a frame:
 * the top classes with their scores and bars, the model's alpha, resolution
 * rho and dtype, the frame rate of the video and of the inferences and the
 * inference time. The text is laid out with Pango and drawn with cairo (as
 * GStreamer's textoverlay does) on a semi-transparent box, so it stays
 * readable on any picture; its size follows the frame height unless
 * #GstMobilenetOverlay:font-size is set. The box is blended onto the frame
 * (gst_video_overlay_composition_blend), so pixels outside it are never
 * changed, and frames without a meta pass untouched.
 *
 * The rates line reads "video 30 fps   inference 29.9 fps   7.2 ms": the
 * video's own frame rate (from the caps, else from the timestamps), then
 * how many new results arrived per second of wall-clock time and their mean
 * inference time. Offline (a file to a file) the inference rate is the
 * processing speed, above the video's rate, and is labelled as such.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! mobilenetclassify mode=latest ! \
 *     mobilenetoverlay position=bottom-left ! videoconvert ! autovideosink
 * ]| Live labels on a webcam picture.
 * |[
 * gst-launch-1.0 -e filesrc location=in.mp4 ! decodebin ! videoconvert ! mobilenetclassify ! \
 *     mobilenetoverlay ! videoconvert ! vp8enc deadline=1 ! webmmux ! filesink location=out.webm
 * ]| A labelled recording.
 */

#include "gstmobilenetoverlay.h"
#include "gstmobilenetmeta.h"

#include <math.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_mobilenet_overlay_debug);
#define GST_CAT_DEFAULT gst_mobilenet_overlay_debug

#define DEFAULT_POSITION GST_MOBILENET_OVERLAY_POSITION_TOP_LEFT
#define DEFAULT_FONT_SIZE 0.0
#define DEFAULT_FONT "Sans"
#define DEFAULT_CLASSES 5
#define DEFAULT_SHOW_BARS TRUE
#define DEFAULT_SHOW_FPS TRUE
#define DEFAULT_SHOW_MODEL TRUE
#define DEFAULT_BOX_OPACITY 0.6

/* Frame rates are averaged over this many microseconds. */
#define FPS_WINDOW_US 500000

enum
{
  PROP_0,
  PROP_POSITION,
  PROP_FONT_SIZE,
  PROP_FONT,
  PROP_CLASSES,
  PROP_SHOW_BARS,
  PROP_SHOW_FPS,
  PROP_SHOW_MODEL,
  PROP_BOX_OPACITY
};

#define OVERLAY_FORMATS \
  "{ BGRx, BGRA, RGBx, RGBA, xRGB, ARGB, xBGR, ABGR, RGB, BGR, " \
  "I420, YV12, NV12, NV21, Y42B, Y444, YUY2, UYVY, AYUV }"

static GstStaticPadTemplate gst_mobilenet_overlay_sink_template =
GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (OVERLAY_FORMATS)));

static GstStaticPadTemplate gst_mobilenet_overlay_src_template =
GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (OVERLAY_FORMATS)));

#define gst_mobilenet_overlay_parent_class parent_class
/* Streaming-thread state kept out of the public struct. */
typedef struct
{
  PangoLayout *layout;          /* for layout_font at layout_px, on self->context */
  gchar *layout_font;
  gdouble layout_px;
  gchar *fps_line;              /* remade when the rate window closes */
  gdouble ms_sum, ms;           /* inference times of this window, their last mean */
  guint ms_n;
  GstClockTime pts_first, pts_last;     /* of this window's frames */
} GstMobilenetOverlayPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (GstMobilenetOverlay, gst_mobilenet_overlay, GST_TYPE_VIDEO_FILTER);
#define PRIV(self) ((GstMobilenetOverlayPrivate *) gst_mobilenet_overlay_get_instance_private (self))
GST_ELEMENT_REGISTER_DEFINE (mobilenetoverlay, "mobilenetoverlay", GST_RANK_NONE,
    GST_TYPE_MOBILENET_OVERLAY);

static void gst_mobilenet_overlay_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_mobilenet_overlay_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_mobilenet_overlay_finalize (GObject * object);
static gboolean gst_mobilenet_overlay_start (GstBaseTransform * trans);
static gboolean gst_mobilenet_overlay_stop (GstBaseTransform * trans);
static GstFlowReturn gst_mobilenet_overlay_transform_ip (GstBaseTransform * trans,
    GstBuffer * buf);

GType
gst_mobilenet_overlay_position_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_MOBILENET_OVERLAY_POSITION_TOP_LEFT, "Top left corner", "top-left"},
    {GST_MOBILENET_OVERLAY_POSITION_TOP_RIGHT, "Top right corner", "top-right"},
    {GST_MOBILENET_OVERLAY_POSITION_BOTTOM_LEFT, "Bottom left corner", "bottom-left"},
    {GST_MOBILENET_OVERLAY_POSITION_BOTTOM_RIGHT, "Bottom right corner", "bottom-right"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMobilenetOverlayPosition", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static void
gst_mobilenet_overlay_class_init (GstMobilenetOverlayClass * klass)
{
  GObjectClass *gobject_class = (GObjectClass *) klass;
  GstElementClass *element_class = (GstElementClass *) klass;
  GstBaseTransformClass *trans_class = (GstBaseTransformClass *) klass;
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;

  GST_DEBUG_CATEGORY_INIT (gst_mobilenet_overlay_debug, "mobilenetoverlay", 0,
      "MobileNet results overlay");

  gobject_class->set_property = gst_mobilenet_overlay_set_property;
  gobject_class->get_property = gst_mobilenet_overlay_get_property;
  gobject_class->finalize = gst_mobilenet_overlay_finalize;

  g_object_class_install_property (gobject_class, PROP_POSITION,
      g_param_spec_enum ("position", "Position", "Corner of the frame the box is drawn in",
          GST_TYPE_MOBILENET_OVERLAY_POSITION, DEFAULT_POSITION, rw));
  g_object_class_install_property (gobject_class, PROP_FONT_SIZE,
      g_param_spec_double ("font-size", "Font size",
          "Text height in pixels; 0 = automatic, 1/30 of the frame height (at least 9)",
          0.0, 500.0, DEFAULT_FONT_SIZE, rw));
  g_object_class_install_property (gobject_class, PROP_FONT,
      g_param_spec_string ("font", "Font", "Pango font family (and style), e.g. \"Sans Bold\"",
          DEFAULT_FONT, rw));
  g_object_class_install_property (gobject_class, PROP_CLASSES,
      g_param_spec_uint ("classes", "Classes", "Number of best classes drawn (0 = none)",
          0, GST_MOBILENET_META_MAX_CLASSES, DEFAULT_CLASSES, rw));
  g_object_class_install_property (gobject_class, PROP_SHOW_BARS,
      g_param_spec_boolean ("show-bars", "Show bars", "Draw a bar for each class's score",
          DEFAULT_SHOW_BARS, rw));
  g_object_class_install_property (gobject_class, PROP_SHOW_FPS,
      g_param_spec_boolean ("show-fps", "Show FPS",
          "Draw the frame rate of the video and of the inferences and the inference time",
          DEFAULT_SHOW_FPS, rw));
  g_object_class_install_property (gobject_class, PROP_SHOW_MODEL,
      g_param_spec_boolean ("show-model", "Show model",
          "Draw the model's architecture, alpha, resolution rho and dtype", DEFAULT_SHOW_MODEL, rw));
  g_object_class_install_property (gobject_class, PROP_BOX_OPACITY,
      g_param_spec_double ("box-opacity", "Box opacity",
          "Opacity of the dark box behind the text (0 = no box)", 0.0, 1.0,
          DEFAULT_BOX_OPACITY, rw));

  gst_element_class_set_static_metadata (element_class, "MobileNet results overlay",
      "Filter/Editor/Video",
      "Draws the top classes, scores, model and frame rates of mobilenetclassify on the video",
      "mobilenet-live contributors");
  gst_element_class_add_static_pad_template (element_class,
      &gst_mobilenet_overlay_sink_template);
  gst_element_class_add_static_pad_template (element_class,
      &gst_mobilenet_overlay_src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_mobilenet_overlay_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_mobilenet_overlay_stop);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_mobilenet_overlay_transform_ip);
  trans_class->transform_ip_on_passthrough = FALSE;

  gst_type_mark_as_plugin_api (GST_TYPE_MOBILENET_OVERLAY_POSITION, 0);
}

static void
gst_mobilenet_overlay_init (GstMobilenetOverlay * self)
{
  self->position = DEFAULT_POSITION;
  self->font_size = DEFAULT_FONT_SIZE;
  self->font = g_strdup (DEFAULT_FONT);
  self->classes = DEFAULT_CLASSES;
  self->show_bars = DEFAULT_SHOW_BARS;
  self->show_fps = DEFAULT_SHOW_FPS;
  self->show_model = DEFAULT_SHOW_MODEL;
  self->box_opacity = DEFAULT_BOX_OPACITY;

  /* Every frame goes through: no QoS dropping of late frames. */
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), FALSE);
}

static void
gst_mobilenet_overlay_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMobilenetOverlay *self = GST_MOBILENET_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_POSITION:
      self->position = g_value_get_enum (value);
      break;
    case PROP_FONT_SIZE:
      self->font_size = g_value_get_double (value);
      break;
    case PROP_FONT:
      g_free (self->font);
      self->font = g_value_dup_string (value);
      if (!self->font)
        self->font = g_strdup (DEFAULT_FONT);
      break;
    case PROP_CLASSES:
      self->classes = g_value_get_uint (value);
      break;
    case PROP_SHOW_BARS:
      self->show_bars = g_value_get_boolean (value);
      break;
    case PROP_SHOW_FPS:
      self->show_fps = g_value_get_boolean (value);
      break;
    case PROP_SHOW_MODEL:
      self->show_model = g_value_get_boolean (value);
      break;
    case PROP_BOX_OPACITY:
      self->box_opacity = g_value_get_double (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mobilenet_overlay_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMobilenetOverlay *self = GST_MOBILENET_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_POSITION:
      g_value_set_enum (value, self->position);
      break;
    case PROP_FONT_SIZE:
      g_value_set_double (value, self->font_size);
      break;
    case PROP_FONT:
      g_value_set_string (value, self->font);
      break;
    case PROP_CLASSES:
      g_value_set_uint (value, self->classes);
      break;
    case PROP_SHOW_BARS:
      g_value_set_boolean (value, self->show_bars);
      break;
    case PROP_SHOW_FPS:
      g_value_set_boolean (value, self->show_fps);
      break;
    case PROP_SHOW_MODEL:
      g_value_set_boolean (value, self->show_model);
      break;
    case PROP_BOX_OPACITY:
      g_value_set_double (value, self->box_opacity);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mobilenet_overlay_finalize (GObject * object)
{
  GstMobilenetOverlay *self = GST_MOBILENET_OVERLAY (object);
  GstMobilenetOverlayPrivate *priv = PRIV (self);

  g_clear_object (&priv->layout);
  g_free (priv->layout_font);
  g_free (priv->fps_line);
  g_free (self->font);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* ---- drawing ------------------------------------------------------------------ */

typedef struct {
  GstMobilenetOverlayPosition position;
  gdouble px;                   /* text height in pixels */
  gchar *font;
  guint classes;
  gboolean show_bars, show_fps, show_model;
  gdouble opacity;
} DrawSettings;

static void
text_size (PangoLayout * layout, const gchar * text, gint * w, gint * h)
{
  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, w, h);
}

static void
show_text (cairo_t * cr, PangoLayout * layout, const gchar * text, gdouble x, gdouble y)
{
  pango_layout_set_text (layout, text, -1);
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
}

static void
rounded_box (cairo_t * cr, gdouble w, gdouble h, gdouble r)
{
  cairo_new_sub_path (cr);
  cairo_arc (cr, w - r, r, r, -G_PI / 2, 0);
  cairo_arc (cr, w - r, h - r, r, 0, G_PI / 2);
  cairo_arc (cr, r, h - r, r, G_PI / 2, G_PI);
  cairo_arc (cr, r, r, r, G_PI, 3 * G_PI / 2);
  cairo_close_path (cr);
}

/* Lays out and draws the box for meta on a frame of width x height; the
 * rectangle is placed in the chosen corner and clipped to the frame. */
static GstVideoOverlayComposition *
render (GstMobilenetOverlay * self, const GstMobilenetMeta * meta, const DrawSettings * ds,
    const gchar * model_line, const gchar * fps_line, gint width, gint height)
{
  GstMobilenetOverlayPrivate *priv = PRIV (self);
  PangoLayout *layout;
  GstVideoOverlayRectangle *rect;
  GstVideoOverlayComposition *comp;
  cairo_surface_t *surface;
  cairo_t *cr;
  GstBuffer *pixels;
  GstMapInfo map;
  gchar pct[GST_MOBILENET_META_MAX_CLASSES][16];
  guint n = MIN (ds->classes, meta->n_classes);
  gint label_w = 0, pct_w, line_h, w, h, tw, th, pad, gap, bar_w, row_w, box_w, box_h;
  gint x, y, margin, lines;

  /* The layout is kept while the font and size stay. */
  if (!priv->layout || priv->layout_px != ds->px || g_strcmp0 (priv->layout_font, ds->font)) {
    PangoFontDescription *desc = pango_font_description_from_string (ds->font);
    pango_font_description_set_absolute_size (desc, ds->px * PANGO_SCALE);
    g_clear_object (&priv->layout);
    priv->layout = pango_layout_new (self->context);
    pango_layout_set_font_description (priv->layout, desc);
    pango_font_description_free (desc);
    g_free (priv->layout_font);
    priv->layout_font = g_strdup (ds->font);
    priv->layout_px = ds->px;
  }
  layout = priv->layout;

  text_size (layout, "100.0%", &pct_w, &line_h);
  for (guint i = 0; i < n; i++) {
    text_size (layout, meta->classes[i].label, &tw, &th);
    label_w = MAX (label_w, tw);
    line_h = MAX (line_h, th);
    g_snprintf (pct[i], sizeof pct[i], "%.1f%%", 100.0 * meta->classes[i].score);
  }
  pad = (gint) ceil (ds->px * 0.45);
  gap = (gint) ceil (ds->px * 0.6);
  bar_w = ds->show_bars ? (gint) ceil (ds->px * 5) : 0;
  row_w = n ? label_w + gap + pct_w + (bar_w ? gap + bar_w : 0) : 0;
  box_w = row_w;
  lines = n;
  if (model_line) {
    text_size (layout, model_line, &tw, &th);
    box_w = MAX (box_w, tw);
    lines++;
  }
  if (fps_line) {
    text_size (layout, fps_line, &tw, &th);
    box_w = MAX (box_w, tw);
    lines++;
  }
  if (lines == 0 || box_w == 0)
    return NULL;
  box_w += 2 * pad;
  box_h = lines * line_h + 2 * pad;
  w = MIN (box_w, width);
  h = MIN (box_h, height);

  margin = (gint) ceil (ds->px * 0.5);
  x = (ds->position == GST_MOBILENET_OVERLAY_POSITION_TOP_LEFT
      || ds->position == GST_MOBILENET_OVERLAY_POSITION_BOTTOM_LEFT) ? margin
      : width - w - margin;
  y = (ds->position == GST_MOBILENET_OVERLAY_POSITION_TOP_LEFT
      || ds->position == GST_MOBILENET_OVERLAY_POSITION_TOP_RIGHT) ? margin
      : height - h - margin;
  x = CLAMP (x, 0, width - w);
  y = CLAMP (y, 0, height - h);

  pixels = gst_buffer_new_allocate (NULL, (gsize) w * h * 4, NULL);
  gst_buffer_add_video_meta (pixels, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_OVERLAY_COMPOSITION_FORMAT_RGB, w, h);
  gst_buffer_map (pixels, &map, GST_MAP_READWRITE);
  memset (map.data, 0, map.size);
  surface = cairo_image_surface_create_for_data (map.data, CAIRO_FORMAT_ARGB32, w, h, w * 4);
  cr = cairo_create (surface);
  pango_cairo_update_context (cr, self->context);
  pango_layout_context_changed (layout);

  if (ds->opacity > 0) {
    rounded_box (cr, w, h, MIN (pad, MIN (w, h) / 2.0));
    cairo_set_source_rgba (cr, 0, 0, 0, ds->opacity);
    cairo_fill (cr);
  }
  for (guint i = 0; i < n; i++) {
    const gdouble ty = pad + (gdouble) i * line_h;
    gint pw;
    if (i == 0)
      cairo_set_source_rgb (cr, 1.0, 0.9, 0.35);
    else
      cairo_set_source_rgb (cr, 1, 1, 1);
    show_text (cr, layout, meta->classes[i].label, pad, ty);
    text_size (layout, pct[i], &pw, &th);
    show_text (cr, layout, pct[i], pad + label_w + gap + pct_w - pw, ty);
    if (bar_w) {
      const gdouble bx = pad + label_w + gap + pct_w + gap, by = ty + line_h * 0.25;
      const gdouble bh = MAX (2.0, line_h * 0.5);
      cairo_rectangle (cr, bx, by, bar_w, bh);
      cairo_set_source_rgba (cr, 1, 1, 1, 0.25);
      cairo_fill (cr);
      cairo_rectangle (cr, bx, by, bar_w * CLAMP (meta->classes[i].score, 0.0f, 1.0f), bh);
      cairo_set_source_rgb (cr, 0.3, 0.85, 0.35);
      cairo_fill (cr);
    }
  }
  cairo_set_source_rgb (cr, 0.85, 0.85, 0.85);
  lines = n;
  if (model_line)
    show_text (cr, layout, model_line, pad, pad + (gdouble) (lines++) * line_h);
  if (fps_line)
    show_text (cr, layout, fps_line, pad, pad + (gdouble) (lines++) * line_h);

  cairo_destroy (cr);
  cairo_surface_flush (surface);
  cairo_surface_destroy (surface);
  gst_buffer_unmap (pixels, &map);

  rect = gst_video_overlay_rectangle_new_raw (pixels, x, y, w, h,
      GST_VIDEO_OVERLAY_FORMAT_FLAG_PREMULTIPLIED_ALPHA);
  gst_buffer_unref (pixels);
  comp = gst_video_overlay_composition_new (rect);
  gst_video_overlay_rectangle_unref (rect);
  GST_LOG_OBJECT (self, "box %dx%d at %d,%d", w, h, x, y);
  return comp;
}

/* The video's own frame rate: the caps' when they give one, else measured
 * on the timestamps. Not frames per second of wall-clock time: offline
 * (a file to a file) that is the processing speed, 145 fps burnt into a
 * 30 fps video, which reads as wrong. 0 when unknown. */
static gdouble
video_rate (GstMobilenetOverlay * self, guint frames)
{
  const GstVideoInfo *info = &GST_VIDEO_FILTER (self)->in_info;
  GstMobilenetOverlayPrivate *priv = PRIV (self);

  if (GST_VIDEO_INFO_FPS_N (info) > 0 && GST_VIDEO_INFO_FPS_D (info) > 0)
    return (gdouble) GST_VIDEO_INFO_FPS_N (info) / GST_VIDEO_INFO_FPS_D (info);
  if (frames > 1 && GST_CLOCK_TIME_IS_VALID (priv->pts_first)
      && GST_CLOCK_TIME_IS_VALID (priv->pts_last) && priv->pts_last > priv->pts_first)
    return (frames - 1) * (gdouble) GST_SECOND / (priv->pts_last - priv->pts_first);
  return 0;
}

/* "video 30 fps   inference 29.9 fps   7.2 ms": the video's rate (whole
 * when it is, 29.97 otherwise), then how often and how fast the network
 * ran (results per second of wall-clock time: in a live pipeline at most
 * the video's rate, offline the processing speed) -- the same words as the
 * viewer's panel. */
static gchar *
rates_line (gdouble video_fps, gdouble inference_fps, gdouble ms)
{
  gchar video[48] = "";

  if (video_fps > 0)
    g_snprintf (video, sizeof video, fabs (video_fps - round (video_fps)) < 0.005
        ? "video %.0f fps   " : "video %.2f fps   ", video_fps);
  return g_strdup_printf ("%sinference %.1f fps   %.1f ms", video, inference_fps, ms);
}

/* Counts frames and new results; when the rate window closes, remakes the
 * line with the frame rates and the mean inference time (so the box is not
 * drawn again for every result's own time). */
static void
update_rates (GstMobilenetOverlay * self, const GstMobilenetMeta * meta, GstBuffer * buf)
{
  GstMobilenetOverlayPrivate *priv = PRIV (self);
  const gint64 now = g_get_monotonic_time ();

  if (self->fps_start == 0)
    self->fps_start = now;
  if (!GST_CLOCK_TIME_IS_VALID (priv->pts_first))
    priv->pts_first = GST_BUFFER_PTS (buf);
  self->fps_frames++;
  priv->pts_last = GST_BUFFER_PTS (buf);
  if (meta && (!self->have_last_result || meta->result_number != self->last_result)) {
    self->fps_results++;
    self->last_result = meta->result_number;
    self->have_last_result = TRUE;
    priv->ms_sum += meta->inference_ms;
    priv->ms_n++;
    if (!priv->fps_line)        /* until the first window closes */
      priv->fps_line = g_strdup_printf ("inference %.1f ms", meta->inference_ms);
  }
  if (now - self->fps_start >= FPS_WINDOW_US) {
    const gdouble s = (now - self->fps_start) / 1e6;
    self->stream_fps = video_rate (self, self->fps_frames);
    self->inference_fps = self->fps_results / s;
    self->fps_start = now;
    priv->pts_first = GST_CLOCK_TIME_NONE;     /* the next frame opens the window */
    self->fps_frames = self->fps_results = 0;
    if (priv->ms_n)
      priv->ms = priv->ms_sum / priv->ms_n;
    priv->ms_sum = 0;
    priv->ms_n = 0;
    if (self->have_last_result) {
      g_free (priv->fps_line);
      priv->fps_line = rates_line (self->stream_fps, self->inference_fps, priv->ms);
    }
  }
}

/* ---- GstBaseTransform vfuncs ---------------------------------------------------- */

static gboolean
gst_mobilenet_overlay_start (GstBaseTransform * trans)
{
  GstMobilenetOverlay *self = GST_MOBILENET_OVERLAY (trans);
  GstMobilenetOverlayPrivate *priv = PRIV (self);

  g_clear_pointer (&priv->fps_line, g_free);
  priv->ms_sum = priv->ms = 0;
  priv->ms_n = 0;
  priv->pts_first = priv->pts_last = GST_CLOCK_TIME_NONE;
  self->fontmap = pango_cairo_font_map_new ();
  self->context = pango_font_map_create_context (self->fontmap);
  self->fps_start = 0;
  self->fps_frames = self->fps_results = 0;
  self->have_last_result = FALSE;
  self->stream_fps = self->inference_fps = 0;
  return TRUE;
}

static gboolean
gst_mobilenet_overlay_stop (GstBaseTransform * trans)
{
  GstMobilenetOverlay *self = GST_MOBILENET_OVERLAY (trans);

  g_clear_pointer (&self->composition, gst_video_overlay_composition_unref);
  g_clear_pointer (&self->composition_key, g_free);
  g_clear_object (&PRIV (self)->layout);    /* made on the context */
  g_clear_object (&self->context);
  g_clear_object (&self->fontmap);
  return TRUE;
}

static GstFlowReturn
gst_mobilenet_overlay_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstMobilenetOverlay *self = GST_MOBILENET_OVERLAY (trans);
  GstVideoFilter *filter = GST_VIDEO_FILTER (trans);
  GstMobilenetMeta *meta;
  DrawSettings ds;
  GstVideoFrame frame;
  GString *key;
  gchar *model_line = NULL;
  const gchar *fps_line = NULL;
  const gint width = GST_VIDEO_INFO_WIDTH (&filter->in_info);
  const gint height = GST_VIDEO_INFO_HEIGHT (&filter->in_info);

  meta = (GstMobilenetMeta *) gst_buffer_get_meta (buf, gst_mobilenet_meta_api_get_type ());
  update_rates (self, meta, buf);
  if (!meta)
    return GST_FLOW_OK;

  GST_OBJECT_LOCK (self);
  ds.position = self->position;
  ds.px = self->font_size > 0 ? self->font_size : MAX (9.0, height / 30.0);
  ds.font = g_strdup (self->font);
  ds.classes = self->classes;
  ds.show_bars = self->show_bars;
  ds.show_fps = self->show_fps;
  ds.show_model = self->show_model;
  ds.opacity = self->box_opacity;
  GST_OBJECT_UNLOCK (self);

  if (ds.show_model)
    model_line = g_strdup_printf (meta->alpha == floorf (meta->alpha) ?
        "%s   \xce\xb1 %.1f   \xcf\x81 %d   %s" : "%s   \xce\xb1 %g   \xcf\x81 %d   %s",
        gst_mobilenet_arch_nick (meta->arch), meta->alpha, meta->resolution,
        gst_mobilenet_dtype_nick (meta->dtype));
  if (ds.show_fps)
    fps_line = PRIV (self)->fps_line;

  /* Draw again only when something visible changed. */
  key = g_string_new (NULL);
  g_string_append_printf (key, "%dx%d|%d|%g|%s|%u|%d%d|%g|%s|%s", width, height, ds.position,
      ds.px, ds.font, ds.classes, ds.show_bars, meta->n_classes, ds.opacity,
      model_line ? model_line : "", fps_line ? fps_line : "");
  for (guint i = 0; i < MIN (ds.classes, meta->n_classes); i++)
    g_string_append_printf (key, "|%s %.1f", meta->classes[i].label,
        100.0 * meta->classes[i].score);
  if (!self->composition_key || strcmp (key->str, self->composition_key)) {
    g_clear_pointer (&self->composition, gst_video_overlay_composition_unref);
    self->composition = render (self, meta, &ds, model_line, fps_line, width, height);
    g_free (self->composition_key);
    self->composition_key = g_string_free (key, FALSE);
  } else {
    g_string_free (key, TRUE);
  }
  g_free (model_line);
  g_free (ds.font);

  if (!self->composition)
    return GST_FLOW_OK;
  if (!gst_video_frame_map (&frame, &filter->in_info, buf, GST_MAP_READWRITE)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Could not map the video frame for writing."),
        (NULL));
    return GST_FLOW_ERROR;
  }
  if (!gst_video_overlay_composition_blend (self->composition, &frame))
    GST_WARNING_OBJECT (self, "blending failed");
  gst_video_frame_unmap (&frame);
  return GST_FLOW_OK;
}
