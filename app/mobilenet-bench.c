/* mobilenet-bench: times one MobileNet inference (network only, input
 * already preprocessed, as the peer benchmarks do) and prints the median,
 * min and max latency and frames per second.
 *
 * --sweep runs a grid instead: every architecture (or the one of --arch) x
 * every width alpha the models folder has for it x resolution {128, 160,
 * 192, 224}: latency and multiply-adds for every point, top-1 / top-5 over
 * a folder of labelled images (--images), and a PNG chart of the trade-off
 * (--chart, drawn with cairo when built with it). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"

#ifdef MN_BENCH_HAVE_IMAGE_IO
#include "image_io.h"
#endif
#ifdef MN_BENCH_HAVE_CAIRO
#include <cairo.h>
#endif

static const char *prog = "mobilenet-bench";

static void usage(FILE *f) {
  fprintf(f,
          "Usage: %s [options]\n"
          "       %s --sweep [--arch A] [--dtype f32|u8|i8] [--threads N] [--runs N] [--images DIR]\n"
          "                       [--chart FILE.png] [--json]\n"
          "Times MobileNet inference on this machine (network only: the input is\n"
          "already preprocessed, as in the peer benchmarks).\n\n"
          "  --models DIR / --model FILE / --arch A / --alpha A / --dtype f32|u8|i8\n"
          "                     choose the model as mobilenet-classify does\n"
          "  --resolution R     input size %d..%d (default: the model's own)\n"
          "  --threads N        threads (default: all cores); a fixed count unless --adaptive\n"
          "  --adaptive         let the runner use fewer threads when that runs faster (as\n"
          "                     the plugin and the other programs do)\n"
          "  --busy N           keep N cores busy with a busy loop while timing (other work\n"
          "                     on the machine, N from 0 to 64)\n"
          "  --runs N           timed runs after warm-up (default 100)\n"
          "  --layers           also print the median time of every layer\n"
          "  --json             one JSON object\n"
          "  --help             this text\n"
          "  --version          the version\n\n"
          "Sweep (the MobileNet papers' width x resolution grids):\n"
          "  --sweep            time every architecture in the models folder (v1, v2, v3-small,\n"
          "                     v3-large; with --arch, that one only) x every width alpha the\n"
          "                     folder has for it x resolution {128,160,192,224}, for one\n"
          "                     dtype; each point runs the model file of that architecture,\n"
          "                     alpha and dtype trained nearest the resolution, at exactly\n"
          "                     that resolution. One row per point: arch, alpha, resolution,\n"
          "                     model file, median ms, fps, M multiply-adds.\n"
          "  --images DIR       also measure top-1 / top-5 %% over DIR/ground_truth.csv\n"
          "                     (columns filename,class_index_0_999,...; e.g.\n"
          "                     shared/images/imagenet-sample). Images are decoded once and\n"
          "                     classified with the full pipeline (crop, resize, network).\n"
          "  --chart FILE.png   write a chart: with --images, top-1 %% (y) against median\n"
          "                     latency (x, log scale); without, M multiply-adds (y, log).\n"
          "                     Several architectures: one line per architecture through\n"
          "                     its best points (alpha/resolution labels); one: a line per\n"
          "                     alpha, points labelled by resolution. Needs cairo%s.\n",
          prog, prog, MN_MIN_RESOLUTION, MN_MAX_RESOLUTION,
#ifdef MN_BENCH_HAVE_CAIRO
          " (this one has it)"
#else
          " (this one has NOT: install libcairo2-dev and reconfigure)"
#endif
  );
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* A fixed, non-trivial picture (so no path sees only zeros). */
static void fill_picture(uint8_t *rgb, int resolution) {
  for (int i = 0; i < resolution * resolution * 3; i++) rgb[i] = (uint8_t)((i * 7919u) >> 3);
}

typedef struct {
  double median_ms, min_ms, max_ms;
  int runs_on_fewer; /* timed runs on fewer threads than the runner's (adaptive) */
} timing;

/* Warm-up, then runs timed inferences; times[runs] gets each wall time and,
 * when layer_t is not NULL, layer_t[runs * n_layers] the per-layer times. */
/* --busy: threads spinning until the timing is over. */
typedef struct {
  pthread_t th[64];
  int n;
  atomic_int stop;
} busy_loops;

static void *busy_loop(void *arg) {
  busy_loops *b = arg;
  volatile unsigned long spin = 0;
  while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) spin++;
  return NULL;
}

static int busy_start(busy_loops *b, int n) {
  atomic_init(&b->stop, 0);
  for (b->n = 0; b->n < n; b->n++)
    if (pthread_create(&b->th[b->n], NULL, busy_loop, b) != 0) {
      fprintf(stderr, "%s: --busy: cannot start a thread\n", prog);
      return -1;
    }
  return 0;
}

static void busy_stop(busy_loops *b) {
  atomic_store(&b->stop, 1);
  for (int i = 0; i < b->n; i++) pthread_join(b->th[i], NULL);
  b->n = 0;
}

static int time_runner(mn_runner *runner, const uint8_t *rgb, int runs, double *times,
                       double *layer_t, int n_layers, timing *out) {
  char err[MN_ERROR_MAX];
  const int warmup = runs / 10 > 5 ? runs / 10 : 5;
  for (int i = 0; i < warmup; i++)
    if (mn_runner_classify_preprocessed(runner, rgb, 0, NULL, err) < 0) {
      fprintf(stderr, "%s: %s\n", prog, err);
      return -1;
    }
  out->runs_on_fewer = 0;
  for (int i = 0; i < runs; i++) {
    double t0 = cli_now_ms();
    mn_runner_classify_preprocessed(runner, rgb, 0, NULL, err);
    times[i] = cli_now_ms() - t0;
    out->runs_on_fewer += mn_runner_active_threads(runner) < mn_runner_threads(runner);
    if (layer_t) mn_runner_layer_times(runner, layer_t + (size_t)i * n_layers, n_layers);
  }
  out->min_ms = out->max_ms = times[0];
  for (int i = 1; i < runs; i++) {
    out->min_ms = times[i] < out->min_ms ? times[i] : out->min_ms;
    out->max_ms = times[i] > out->max_ms ? times[i] : out->max_ms;
  }
  out->median_ms = median(times, runs);
  return 0;
}

static int64_t model_macs(const mn_model *model, int resolution) {
  const int n = mn_model_layers(model, resolution, NULL, 0);
  mn_layer_info *info = n > 0 ? calloc((size_t)n, sizeof *info) : NULL;
  int64_t macs = 0;
  if (info && mn_model_layers(model, resolution, info, n) == n)
    for (int l = 0; l < n; l++) macs += info[l].macs;
  free(info);
  return macs;
}

/* ---------------------------------------------------------------- sweep */

/* The resolutions of the MobileNet papers' grids; the widths are those of
 * the files in the models folder. One series is one (architecture, alpha)
 * across these resolutions. */
#define SWEEP_NR 4
static const int sweep_res[SWEEP_NR] = {128, 160, 192, 224};
#define SWEEP_MAX_ALPHAS 8
#define SWEEP_MAX (MN_ARCH_COUNT * SWEEP_MAX_ALPHAS * SWEEP_NR)

typedef struct {
  mn_arch arch; /* of the file that ran */
  float alpha;
  int resolution;
  int ok; /* measured */
  char model[256];
  int trained_resolution;
  timing t;
  int64_t macs;
  int threads;
  double top1, top5; /* percent; < 0 when not measured */
} sweep_point;

typedef struct {
  char *file;
  int class_index;
#ifdef MN_BENCH_HAVE_IMAGE_IO
  image_rgb img;
#endif
} labelled_image;

#ifdef MN_BENCH_HAVE_IMAGE_IO
/* Splits one CSV line into at most max fields (RFC 4180 quoting; the line
 * is modified in place). Returns the number of fields. */
static int csv_split(char *line, char **fields, int max) {
  int n = 0;
  char *p = line;
  for (;;) {
    char *out = p, *start = p;
    if (*p == '"') {
      p++;
      for (;;) {
        if (!*p) break;
        if (*p == '"' && p[1] == '"') *out++ = '"', p += 2;
        else if (*p == '"') { p++; break; }
        else *out++ = *p++;
      }
      while (*p && *p != ',') p++;
    } else {
      while (*p && *p != ',') *out++ = *p++;
    }
    char sep = *p;
    *out = '\0';
    if (n < max) fields[n] = start;
    n++;
    if (sep != ',') break;
    p++;
  }
  return n < max ? n : max;
}
#endif

static void free_images(labelled_image *im, int n) {
  for (int i = 0; i < n; i++) {
    free(im[i].file);
#ifdef MN_BENCH_HAVE_IMAGE_IO
    image_free(&im[i].img);
#endif
  }
  free(im);
}

/* Reads DIR/ground_truth.csv and decodes every image it names (once; the
 * decoded pixels stay in memory for the whole grid). Images that cannot be
 * read are reported and left out. Returns the count, or -1. */
static int load_images(const char *dir, labelled_image **out) {
#ifndef MN_BENCH_HAVE_IMAGE_IO
  (void)dir, (void)out;
  fprintf(stderr, "%s: --images: this build has no image decoding (app/image_io.c)\n", prog);
  return -1;
#else
  char path[4200];
  snprintf(path, sizeof path, "%s/ground_truth.csv", dir);
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "%s: --images %s: cannot open %s (a folder with ground_truth.csv: "
                    "filename,class_index_0_999,...)\n", prog, dir, path);
    return -1;
  }
  char line[8192];
  int col_file = 0, col_class = 1, lineno = 0, n = 0, cap = 0, bad = 0;
  labelled_image *im = NULL;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (!len) continue;
    char *fld[64];
    int nf = csv_split(line, fld, 64);
    if (lineno == 1) {
      int cf = -1, cc = -1;
      for (int i = 0; i < nf; i++) {
        if (!strcmp(fld[i], "filename")) cf = i;
        if (!strcmp(fld[i], "class_index_0_999") || !strcmp(fld[i], "class_index")) cc = i;
      }
      if (cf >= 0 && cc >= 0) {
        col_file = cf, col_class = cc;
        continue;
      }
      /* no header: fall through, columns 0 and 1 */
    }
    int cls;
    if (nf <= col_file || nf <= col_class || !cli_parse_int(fld[col_class], 0, 999, &cls)) {
      fprintf(stderr, "%s: %s:%d: expected filename,class_index_0_999 (0..999)\n", prog, path,
              lineno);
      fclose(f);
      free_images(im, n);
      return -1;
    }
    if (n == cap) {
      cap = cap ? 2 * cap : 512;
      labelled_image *g = realloc(im, (size_t)cap * sizeof *im);
      if (!g) {
        fclose(f);
        free_images(im, n);
        fprintf(stderr, "%s: out of memory\n", prog);
        return -1;
      }
      im = g;
    }
    labelled_image *li = &im[n];
    memset(li, 0, sizeof *li);
    char ipath[4200], ierr[IMAGE_ERROR_MAX];
    snprintf(ipath, sizeof ipath, "%s/%s", dir, fld[col_file]);
    if (image_load_file(ipath, &li->img, ierr) != 0) {
      fprintf(stderr, "%s: skipping %s\n", prog, ierr);
      bad++;
      continue;
    }
    li->file = strdup(fld[col_file]);
    li->class_index = cls;
    n++;
  }
  fclose(f);
  if (n == 0) {
    fprintf(stderr, "%s: --images %s: no usable images in %s\n", prog, dir, path);
    free(im);
    return -1;
  }
  if (bad) fprintf(stderr, "%s: %d image(s) could not be read and are left out\n", prog, bad);
  *out = im;
  return n;
#endif
}

static int evaluate(mn_runner *runner, const labelled_image *im, int n, double *top1,
                    double *top5) {
#ifndef MN_BENCH_HAVE_IMAGE_IO
  (void)runner, (void)im, (void)n, (void)top1, (void)top5;
  return -1;
#else
  int c1 = 0, c5 = 0;
  char err[MN_ERROR_MAX];
  for (int i = 0; i < n; i++) {
    mn_image img = {im[i].img.pixels, im[i].img.width, im[i].img.height,
                    (size_t)im[i].img.width * 3, MN_PIXEL_RGB};
    mn_result top[5];
    int k = mn_runner_classify(runner, &img, 5, top, err);
    if (k < 0) {
      fprintf(stderr, "%s: %s: %s\n", prog, im[i].file, err);
      return -1;
    }
    for (int j = 0; j < k; j++)
      if (top[j].class_index == im[i].class_index) {
        c5++;
        if (j == 0) c1++;
        break;
      }
  }
  *top1 = 100.0 * c1 / n;
  *top5 = 100.0 * c5 / n;
  return 0;
#endif
}

/* ---------------------------------------------------------------- chart */

#ifdef MN_BENCH_HAVE_CAIRO
/* Log-scale ticks m x 10^k inside [lo, hi], m from the sparsest mantissa
 * set that still gives at least 5 ticks. */
static const double tick_sets[3][8] = {{1, 2, 5}, {1, 2, 3, 5}, {1, 1.5, 2, 3, 4, 5, 7}};
static const int tick_set_n[3] = {3, 4, 7};

static int log_ticks_set(double lo, double hi, int set, double *t, int max) {
  int n = 0;
  for (int e = (int)floor(log10(lo)) - 1; e <= (int)ceil(log10(hi)) && n < max; e++)
    for (int m = 0; m < tick_set_n[set] && n < max; m++) {
      double v = tick_sets[set][m] * pow(10, e);
      if (v >= lo * 0.9999 && v <= hi * 1.0001) t[n++] = v;
    }
  return n;
}

static int log_ticks(double lo, double hi, double *t, int max) {
  int n = 0;
  for (int set = 0; set < 3; set++)
    if ((n = log_ticks_set(lo, hi, set, t, max)) >= 5) break;
  return n;
}

/* The nearest value of the densest tick set below (dir < 0) or above v. */
static double snap_log(double v, int dir) {
  double t[64];
  int n = log_ticks_set(v / 20, v * 20, 2, t, 64);
  double best = v;
  for (int i = 0; i < n; i++)
    if (dir < 0 ? t[i] <= v : t[i] >= v) {
      best = t[i];
      if (dir > 0) break;
    }
  return best;
}

static void fmt_num(char *buf, size_t size, double v) {
  if (v >= 1000) snprintf(buf, size, "%.0f", v);
  else if (v >= 1) snprintf(buf, size, "%g", v);
  else snprintf(buf, size, "%.2g", v);
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double ax, double ay) {
  cairo_text_extents_t te;
  cairo_text_extents(cr, s, &te);
  cairo_move_to(cr, x - te.x_bearing - ax * te.width, y - te.y_bearing - ay * te.height);
  cairo_show_text(cr, s);
}

/* One line of the chart: points (indices into the sweep) joined in order. */
typedef struct {
  int idx[SWEEP_MAX];
  int n;
  int colour;
  char name[64];
} chart_series;

static const double chart_colour[8][3] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157},
    {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294}, {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498}};

/* Draws the points and the series. label[i] is written beside point i
 * (empty: none); hollow[i] marks points that no line runs through. */
static int write_chart(const char *path, const sweep_point *pt, int n, const chart_series *ser,
                       int n_ser, char (*label)[32], const int *hollow, const int *colour_of,
                       int have_acc, const char *title, const char *subtitle, int n_images) {
  const int W = 960, H = 640;
  const double L = 90, R = 30, T = 78, B = 72;
  const double pw = W - L - R, ph = H - T - B;

  double xlo = 1e300, xhi = 0, ylo = 1e300, yhi = -1e300;
  for (int i = 0; i < n; i++) {
    if (!pt[i].ok) continue;
    double x = pt[i].t.median_ms, y = have_acc ? pt[i].top1 : pt[i].macs / 1e6;
    xlo = fmin(xlo, x), xhi = fmax(xhi, x), ylo = fmin(ylo, y), yhi = fmax(yhi, y);
  }
  if (xhi <= 0) return -1;
  xlo = snap_log(xlo / 1.12, -1), xhi = snap_log(xhi * 1.12, 1);
  double ystep = 0;
  if (have_acc) {
    double span = yhi - ylo;
    ystep = span > 40 ? 10 : span > 15 ? 5 : 2;
    ylo = fmax(0, floor((ylo - ystep * 0.5) / ystep) * ystep);
    yhi = fmin(100, ceil((yhi + ystep * 0.5) / ystep) * ystep);
    if (yhi <= ylo) yhi = ylo + ystep;
  } else {
    ylo /= 1.4, yhi *= 1.4;
  }
  const double lxlo = log10(xlo), lxhi = log10(xhi);
#define PX(v) (L + (log10(v) - lxlo) / (lxhi - lxlo) * pw)
#define PY(v) (have_acc ? T + ph - ((v) - ylo) / (yhi - ylo) * ph \
                        : T + ph - (log10(v) - log10(ylo)) / (log10(yhi) - log10(ylo)) * ph)

  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create(s);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

  /* grid and ticks */
  double ticks[64];
  char buf[256];
  int nt = log_ticks(xlo, xhi, ticks, 64);
  cairo_set_font_size(cr, 13);
  cairo_set_line_width(cr, 1);
  for (int i = 0; i < nt; i++) {
    double x = floor(PX(ticks[i])) + 0.5;
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, x, T), cairo_line_to(cr, x, T + ph), cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, x, T + ph), cairo_line_to(cr, x, T + ph + 5), cairo_stroke(cr);
    fmt_num(buf, sizeof buf, ticks[i]);
    text_at(cr, x, T + ph + 9, buf, 0.5, 0);
  }
  if (have_acc) {
    for (double v = ylo; v <= yhi + 1e-9; v += ystep) {
      double y = floor(PY(v)) + 0.5;
      cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
      cairo_move_to(cr, L, y), cairo_line_to(cr, L + pw, y), cairo_stroke(cr);
      cairo_set_source_rgb(cr, 0, 0, 0);
      cairo_move_to(cr, L - 5, y), cairo_line_to(cr, L, y), cairo_stroke(cr);
      snprintf(buf, sizeof buf, "%g", v);
      text_at(cr, L - 9, y, buf, 1, 0.5);
    }
  } else {
    nt = log_ticks(ylo, yhi, ticks, 64);
    for (int i = 0; i < nt; i++) {
      double y = floor(PY(ticks[i])) + 0.5;
      cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
      cairo_move_to(cr, L, y), cairo_line_to(cr, L + pw, y), cairo_stroke(cr);
      cairo_set_source_rgb(cr, 0, 0, 0);
      cairo_move_to(cr, L - 5, y), cairo_line_to(cr, L, y), cairo_stroke(cr);
      fmt_num(buf, sizeof buf, ticks[i]);
      text_at(cr, L - 9, y, buf, 1, 0.5);
    }
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, L + 0.5, T + 0.5, pw, ph);
  cairo_stroke(cr);

  /* axis labels */
  cairo_set_font_size(cr, 15);
  text_at(cr, L + pw / 2, H - 24, "median latency per image, ms (log scale; network only, batch 1)",
          0.5, 0.5);
  cairo_save(cr);
  cairo_translate(cr, 24, T + ph / 2);
  cairo_rotate(cr, -M_PI / 2);
  if (have_acc) snprintf(buf, sizeof buf, "ImageNet top-1 %% (%d images)", n_images);
  else snprintf(buf, sizeof buf, "million multiply-adds (log scale)");
  text_at(cr, 0, 0, buf, 0.5, 0.5);
  cairo_restore(cr);

  /* title */
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, 18);
  text_at(cr, W / 2.0, 16, title, 0.5, 0);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 13);
  text_at(cr, W / 2.0, 44, subtitle, 0.5, 0);

  /* where the points are, to keep the legend and the labels off them */
  typedef struct { double x0, y0, x1, y1; } box;
  box taken[3 * SWEEP_MAX + 2];
  int n_taken = 0;
  double px[SWEEP_MAX], py[SWEEP_MAX];
  for (int i = 0; i < n; i++) {
    if (!pt[i].ok) continue;
    px[i] = PX(pt[i].t.median_ms);
    py[i] = PY(have_acc ? pt[i].top1 : pt[i].macs / 1e6);
    taken[n_taken++] = (box){px[i] - 6, py[i] - 6, px[i] + 6, py[i] + 6};
  }
#define OVERLAP(b, c) ((b).x0 < (c).x1 && (c).x0 < (b).x1 && (b).y0 < (c).y1 && (c).y0 < (b).y1)

  /* legend: the corner of the plot with the fewest points and lines */
  cairo_set_font_size(cr, 13);
  double lw = 60;
  for (int k = 0; k < n_ser; k++) {
    cairo_text_extents_t te;
    cairo_text_extents(cr, ser[k].name, &te);
    lw = fmax(lw, 60 + te.x_advance);
  }
  const double lh = 22.0 * n_ser + 12;
  box corner[4] = {{L + pw - lw - 10, T + ph - lh - 10, L + pw - 10, T + ph - 10},
                   {L + 10, T + 10, L + 10 + lw, T + 10 + lh},
                   {L + pw - lw - 10, T + 10, L + pw - 10, T + 10 + lh},
                   {L + 10, T + ph - lh - 10, L + 10 + lw, T + ph - 10}};
  int best = 0, best_hits = 1 << 30;
  for (int c = 0; c < 4; c++) {
    box g = {corner[c].x0 - 20, corner[c].y0 - 20, corner[c].x1 + 20, corner[c].y1 + 20};
    int hits = 0;
    for (int i = 0; i < n_taken; i++) hits += OVERLAP(g, taken[i]);
    for (int k = 0; k < n_ser; k++) /* line segments: sample them */
      for (int j = 1; j < ser[k].n; j++) {
        const int a = ser[k].idx[j - 1], b = ser[k].idx[j];
        for (int q = 1; q < 8; q++) {
          double x = px[a] + (px[b] - px[a]) * q / 8, y = py[a] + (py[b] - py[a]) * q / 8;
          hits += x > g.x0 && x < g.x1 && y > g.y0 && y < g.y1;
        }
      }
    if (hits < best_hits) best = c, best_hits = hits;
  }
  const double lx = corner[best].x0, ly = corner[best].y0;
  taken[n_taken++] = corner[best];

  /* lines, then the points over them */
  cairo_rectangle(cr, L, T, pw, ph);
  cairo_save(cr);
  cairo_clip(cr);
  for (int k = 0; k < n_ser; k++) {
    const double *c = chart_colour[ser[k].colour % 8];
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, 2.2);
    for (int j = 0; j < ser[k].n; j++) {
      const int i = ser[k].idx[j];
      if (j == 0) cairo_move_to(cr, px[i], py[i]);
      else cairo_line_to(cr, px[i], py[i]);
    }
    cairo_stroke(cr);
  }
  for (int i = 0; i < n; i++) {
    if (!pt[i].ok) continue;
    const double *c = chart_colour[colour_of[i] % 8];
    cairo_arc(cr, px[i], py[i], hollow[i] ? 3.5 : 4.5, 0, 2 * M_PI);
    if (hollow[i]) {
      cairo_set_source_rgb(cr, 1, 1, 1);
      cairo_fill_preserve(cr);
      cairo_set_source_rgb(cr, c[0], c[1], c[2]);
      cairo_set_line_width(cr, 1.5);
    } else {
      cairo_set_source_rgb(cr, c[0], c[1], c[2]);
      cairo_fill_preserve(cr);
      cairo_set_source_rgb(cr, 1, 1, 1);
      cairo_set_line_width(cr, 1.2);
    }
    cairo_stroke(cr);
  }
  /* labels: the first free place around the point, upper left first */
  cairo_set_font_size(cr, 11.5);
  for (int i = 0; i < n; i++) {
    if (!pt[i].ok || !label[i][0]) continue;
    const double *col = chart_colour[colour_of[i] % 8];
    cairo_text_extents_t te;
    cairo_text_extents(cr, label[i], &te);
    const double w = te.width, h = te.height, x = px[i], y = py[i];
    const double cand[8][2] = {{x - 6 - w, y - 7 - h}, {x + 6, y + 7}, {x + 6, y - 7 - h},
                               {x - 6 - w, y + 7},     {x - 9 - w, y - h / 2}, {x + 9, y - h / 2},
                               {x - w / 2, y - 10 - h}, {x - w / 2, y + 10}};
    int c = 0;
    for (int k = 0; k < 8; k++) {
      box b = {cand[k][0] - 1, cand[k][1] - 1, cand[k][0] + w + 1, cand[k][1] + h + 1};
      int free_place = b.x0 > L && b.x1 < L + pw && b.y0 > T && b.y1 < T + ph;
      for (int j = 0; j < n_taken && free_place; j++)
        if (OVERLAP(b, taken[j])) free_place = 0;
      if (free_place) {
        c = k;
        break;
      }
    }
    taken[n_taken++] = (box){cand[c][0] - 1, cand[c][1] - 1, cand[c][0] + w + 1, cand[c][1] + h + 1};
    cairo_set_source_rgb(cr, col[0] * 0.6, col[1] * 0.6, col[2] * 0.6);
    cairo_move_to(cr, cand[c][0] - te.x_bearing, cand[c][1] - te.y_bearing);
    cairo_show_text(cr, label[i]);
  }
  cairo_restore(cr);
#undef OVERLAP

  /* legend */
  cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
  cairo_rectangle(cr, lx, ly, lw, lh);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
  cairo_set_line_width(cr, 1);
  cairo_stroke(cr);
  cairo_set_font_size(cr, 13);
  for (int k = 0; k < n_ser; k++) {
    const double *c = chart_colour[ser[k].colour % 8];
    double y = ly + 17 + 22.0 * k;
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, 2.2);
    cairo_move_to(cr, lx + 10, y), cairo_line_to(cr, lx + 40, y), cairo_stroke(cr);
    cairo_arc(cr, lx + 25, y, 4.5, 0, 2 * M_PI), cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, lx + 50, y, ser[k].name, 0, 0.5);
  }
#undef PX
#undef PY
  cairo_destroy(cr);
  cairo_surface_flush(s);
  cairo_status_t st = cairo_surface_write_to_png(s, path);
  cairo_surface_destroy(s);
  if (st != CAIRO_STATUS_SUCCESS) {
    fprintf(stderr, "%s: --chart %s: %s\n", prog, path, cairo_status_to_string(st));
    return -1;
  }
  return 0;
}

/* The series of the chart. One architecture: a line per alpha, points
 * labelled by resolution (the MobileNet v1 paper's grid). Several: a line
 * per architecture through its best points (with --images, those no faster
 * point beats in top-1; without, all of them by latency), every other
 * point hollow, labels "alpha/resolution" on the line (the MobileNetV2
 * paper's figure). */
static int sweep_chart(const char *path, const sweep_point *pt, int n, int n_archs,
                       int have_acc, const char *dtype, int threads, int runs, int n_images) {
  static chart_series ser[SWEEP_MAX];
  static char label[SWEEP_MAX][32];
  int hollow[SWEEP_MAX], colour_of[SWEEP_MAX], n_ser = 0;
  char title[256], subtitle[512];
  memset(ser, 0, sizeof ser);
  for (int i = 0; i < n; i++) label[i][0] = '\0', hollow[i] = 0, colour_of[i] = 0;
  if (n_archs == 1) {
    for (int i = 0; i < n; i++) {
      if (!pt[i].ok) continue;
      if (!n_ser || pt[ser[n_ser - 1].idx[0]].alpha != pt[i].alpha) {
        chart_series *s = &ser[n_ser];
        s->colour = n_ser;
        snprintf(s->name, sizeof s->name, "\xce\xb1 = %g", pt[i].alpha);
        n_ser++;
      }
      chart_series *s = &ser[n_ser - 1];
      s->idx[s->n++] = i;
      colour_of[i] = s->colour;
      snprintf(label[i], sizeof label[i], "%d", pt[i].resolution);
    }
  } else {
    for (int i = 0; i < n; i++) {
      if (!pt[i].ok) continue;
      if (!n_ser || pt[ser[n_ser - 1].idx[0]].arch != pt[i].arch) {
        chart_series *s = &ser[n_ser];
        s->colour = n_ser;
        snprintf(s->name, sizeof s->name, "%s", mn_arch_title(pt[i].arch));
        n_ser++;
      }
      chart_series *s = &ser[n_ser - 1];
      s->idx[s->n++] = i;
      colour_of[i] = s->colour;
    }
    for (int k = 0; k < n_ser; k++) {
      chart_series *s = &ser[k];
      /* by latency */
      for (int a = 1; a < s->n; a++)
        for (int b = a; b > 0 && pt[s->idx[b]].t.median_ms < pt[s->idx[b - 1]].t.median_ms; b--) {
          int t = s->idx[b];
          s->idx[b] = s->idx[b - 1], s->idx[b - 1] = t;
        }
      if (have_acc) { /* keep the points no faster point beats in top-1 */
        int kept = 0;
        double best_top1 = -1;
        for (int j = 0; j < s->n; j++) {
          const int i = s->idx[j];
          if (pt[i].top1 > best_top1) best_top1 = pt[i].top1, s->idx[kept++] = i;
          else hollow[i] = 1;
        }
        s->n = kept;
      }
      for (int j = 0; j < s->n; j++) {
        const int i = s->idx[j];
        snprintf(label[i], sizeof label[i], "%g/%d", pt[i].alpha, pt[i].resolution);
      }
    }
  }
  if (n_archs == 1)
    snprintf(title, sizeof title, "%s on this machine: %s against latency, %s, %d thread%s",
             mn_arch_title(pt[ser[0].idx[0]].arch), have_acc ? "top-1 accuracy" : "multiply-adds",
             dtype, threads, threads == 1 ? "" : "s");
  else
    snprintf(title, sizeof title, "MobileNets on this machine: %s against latency, %s, %d thread%s",
             have_acc ? "top-1 accuracy" : "multiply-adds", dtype, threads, threads == 1 ? "" : "s");
  if (n_archs == 1)
    snprintf(subtitle, sizeof subtitle,
             "width multiplier \xce\xb1 x input resolution; median of %d runs per point; each point "
             "runs the %s file of its \xce\xb1 trained nearest that resolution",
             runs, dtype);
  else
    snprintf(subtitle, sizeof subtitle,
             "labels \xce\xb1/resolution%s \xc2\xb7 median of %d runs \xc2\xb7 the %s file trained "
             "nearest each resolution",
             have_acc ? " \xc2\xb7 hollow: a faster point is as accurate" : "", runs, dtype);
  return write_chart(path, pt, n, ser, n_ser, label, hollow, colour_of, have_acc, title, subtitle,
                     n_images);
}
#endif

/* The sweep's points: for every architecture asked for that has files of
 * this dtype in the folder, every width it has x sweep_res. Returns the
 * count; *n_archs gets how many architectures have points. */
static int sweep_grid(const char *dir, const mn_arch *archs, int n_want, mn_dtype dtype,
                      sweep_point *pt, int *n_archs) {
  enum { MAX_FILES = 512 };
  mn_model_entry *e = malloc(MAX_FILES * sizeof *e);
  int n = 0, nf = e ? mn_models_list(dir, e, MAX_FILES) : -1;
  *n_archs = 0;
  if (nf > MAX_FILES) nf = MAX_FILES;
  for (int w = 0; w < n_want; w++) {
    float alpha[SWEEP_MAX_ALPHAS];
    int na = 0;
    for (int f = 0; f < nf; f++) {
      const int arch_ok = e[f].arch == archs[w] ||
                          (archs[w] == MN_ARCH_V3_LARGE && e[f].arch == MN_ARCH_V3_LARGE_MINIMALISTIC &&
                           n_want == 1);
      if (!arch_ok || e[f].dtype != dtype || (e[f].classes != 1000 && e[f].classes != 1001))
        continue;
      int k = 0;
      while (k < na && fabsf(alpha[k] - e[f].alpha) > 1e-3f) k++;
      if (k == na && na < SWEEP_MAX_ALPHAS) alpha[na++] = e[f].alpha;
    }
    for (int a = 1; a < na; a++) /* ascending */
      for (int b = a; b > 0 && alpha[b] < alpha[b - 1]; b--) {
        float t = alpha[b];
        alpha[b] = alpha[b - 1], alpha[b - 1] = t;
      }
    if (na) ++*n_archs;
    for (int a = 0; a < na; a++)
      for (int r = 0; r < SWEEP_NR; r++) {
        sweep_point *p = &pt[n++];
        memset(p, 0, sizeof *p);
        p->arch = archs[w];
        p->alpha = alpha[a];
        p->resolution = sweep_res[r];
        p->top1 = p->top5 = -1;
      }
  }
  free(e);
  return n;
}

/* The grid is timed in rounds: every round gives each point its share of
 * the runs (after a short warm-up, since the previous point evicted its
 * weights from the caches), so a burst of load from other processes on a
 * shared machine spreads over all points instead of spoiling one. */
#define SWEEP_ROUNDS 5

static int run_sweep(const cli_model_options *mo, int all_archs, int runs, int json,
                     const char *images_dir, const char *chart) {
#ifndef MN_BENCH_HAVE_CAIRO
  if (chart) {
    fprintf(stderr, "%s: --chart: this build has no cairo (install libcairo2-dev, then "
                    "meson setup --reconfigure and rebuild)\n", prog);
    return 2;
  }
#endif
  static const mn_arch every_arch[] = {MN_ARCH_V1, MN_ARCH_V2, MN_ARCH_V3_SMALL, MN_ARCH_V3_LARGE,
                                       MN_ARCH_V3_LARGE_MINIMALISTIC};
  char dir[4096];
  mn_models_dir(mo->models_dir, dir, sizeof dir);
  const char *dtype = mn_dtype_name(mo->dtype);
  static sweep_point pt[SWEEP_MAX];
  int n_archs;
  const int NP = all_archs ? sweep_grid(dir, every_arch, 5, mo->dtype, pt, &n_archs)
                           : sweep_grid(dir, &mo->arch, 1, mo->dtype, pt, &n_archs);
  if (NP == 0) {
    fprintf(stderr, "%s: --sweep: no %s %s classifier in %s (mobilenet-fetch-models gets them, or "
                    "--models DIR)\n", prog, all_archs ? "MobileNet" : mn_arch_name(mo->arch), dtype,
            dir);
    return 2;
  }
  labelled_image *im = NULL;
  int n_images = 0;
  if (images_dir) {
    if (!json) fprintf(stderr, "%s: decoding the images in %s ...\n", prog, images_dir);
    n_images = load_images(images_dir, &im);
    if (n_images < 0) return 2;
  }
  mn_runner *runner[SWEEP_MAX] = {0};
  mn_model *models[SWEEP_MAX] = {0};
  char *model_path[SWEEP_MAX] = {0};
  int n_models = 0, threads = mo->threads, status = 0;
  double *times = malloc((size_t)runs * NP * sizeof *times);
  uint8_t *rgb = malloc((size_t)NP * 224 * 224 * 3);
  if (!times || !rgb) {
    fprintf(stderr, "%s: out of memory\n", prog);
    status = 2;
    goto out;
  }

  /* 1. a runner per point (each model file loaded once) */
  for (int i = 0; i < NP; i++) {
    sweep_point *p = &pt[i];
    char path[4200], err[MN_ERROR_MAX];
    if (mn_models_find(dir, p->arch, p->alpha, mo->dtype, p->resolution, path, sizeof path, err) !=
        MN_OK) {
      fprintf(stderr, "%s: %s alpha %g at %d: %s\n", prog, mn_arch_name(p->arch), p->alpha,
              p->resolution, err);
      continue;
    }
    int m = 0;
    while (m < n_models && strcmp(model_path[m], path) != 0) m++;
    if (m == n_models) {
      if (mn_model_load(path, &models[m], err) != MN_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        continue;
      }
      model_path[m] = strdup(path);
      n_models++;
    }
    if (mn_runner_create(models[m], p->resolution, mo->threads, &runner[i], err) != MN_OK) {
      fprintf(stderr, "%s: %s at %d: %s\n", prog, mn_model_name(models[m]), p->resolution, err);
      runner[i] = NULL;
      continue;
    }
    mn_runner_set_adaptive_threads(runner[i], 0); /* the sweep times fixed thread counts */
    snprintf(p->model, sizeof p->model, "%s", mn_model_name(models[m]));
    p->arch = mn_model_arch(models[m]);
    p->trained_resolution = mn_model_resolution(models[m]);
    p->threads = threads = mn_runner_threads(runner[i]);
    p->macs = model_macs(models[m], p->resolution);
    p->ok = 1;
    fill_picture(rgb + (size_t)i * 224 * 224 * 3, p->resolution);
  }

  /* 2. accuracy over the cached images */
  if (images_dir)
    for (int i = 0; i < NP; i++) {
      if (!pt[i].ok) continue;
      if (evaluate(runner[i], im, n_images, &pt[i].top1, &pt[i].top5) != 0) pt[i].ok = 0;
    }

  /* 3. latency, in interleaved rounds */
  const int rounds = runs < SWEEP_ROUNDS ? runs : SWEEP_ROUNDS;
  for (int round = 0; round < rounds; round++)
    for (int i = 0; i < NP; i++) {
      if (!pt[i].ok) continue;
      const int from = (int)((long long)runs * round / rounds);
      const int to = (int)((long long)runs * (round + 1) / rounds);
      const int warm = round == 0 ? (runs / 10 > 5 ? runs / 10 : 5) : (to - from) / 5 + 2;
      const uint8_t *in = rgb + (size_t)i * 224 * 224 * 3;
      char err[MN_ERROR_MAX];
      for (int w = 0; w < warm; w++)
        if (mn_runner_classify_preprocessed(runner[i], in, 0, NULL, err) < 0) {
          fprintf(stderr, "%s: %s at %d: %s\n", prog, pt[i].model, pt[i].resolution, err);
          pt[i].ok = 0;
          break;
        }
      for (int k = from; k < to && pt[i].ok; k++) {
        double t0 = cli_now_ms();
        mn_runner_classify_preprocessed(runner[i], in, 0, NULL, err);
        times[(size_t)i * runs + k] = cli_now_ms() - t0;
      }
    }
  int measured = 0;
  for (int i = 0; i < NP; i++) {
    if (!pt[i].ok) continue;
    double *t = times + (size_t)i * runs;
    pt[i].t.min_ms = pt[i].t.max_ms = t[0];
    for (int k = 1; k < runs; k++) {
      pt[i].t.min_ms = t[k] < pt[i].t.min_ms ? t[k] : pt[i].t.min_ms;
      pt[i].t.max_ms = t[k] > pt[i].t.max_ms ? t[k] : pt[i].t.max_ms;
    }
    pt[i].t.median_ms = median(t, runs);
    measured++;
  }

  if (json) {
    printf("{\"sweep\":true,\"dtype\":\"%s\",\"threads\":%d,\"runs\":%d,\"images\":%d,\"points\":[",
           dtype, threads, runs, n_images);
    int first = 1;
    for (int i = 0; i < NP; i++) {
      const sweep_point *p = &pt[i];
      if (!p->ok) continue;
      printf("%s{\"model\":", first ? "" : ",");
      first = 0;
      cli_json_string(stdout, p->model);
      printf(",\"arch\":\"%s\",\"trained_resolution\":%d,\"alpha\":%g,\"resolution\":%d,\"dtype\":\"%s\","
             "\"threads\":%d,\"runs\":%d,\"median_ms\":%.4f,\"min_ms\":%.4f,\"max_ms\":%.4f,"
             "\"fps\":%.2f,\"macs\":%lld",
             mn_arch_name(p->arch), p->trained_resolution, p->alpha, p->resolution, dtype, p->threads, runs,
             p->t.median_ms, p->t.min_ms, p->t.max_ms, 1000.0 / p->t.median_ms,
             (long long)p->macs);
      if (p->top1 >= 0) printf(",\"top1\":%.2f,\"top5\":%.2f", p->top1, p->top5);
      printf("}");
    }
    printf("]}\n");
  } else {
    printf("# %s sweep, %s, %d thread%s, median of %d runs per point (in %d rounds)\n",
           all_archs ? "MobileNet" : mn_arch_title(mo->arch), dtype, threads, threads == 1 ? "" : "s", runs, rounds);
    printf("%-21s %5s %4s  %-52s %9s %8s %8s", "arch", "alpha", "res", "model", "median_ms", "fps", "M_MACs");
    if (images_dir) printf(" %6s %6s", "top1%", "top5%");
    printf("\n");
    for (int i = 0; i < NP; i++) {
      const sweep_point *p = &pt[i];
      if (!p->ok) continue;
      printf("%-21s %5.2f %4d  %-52s %9.3f %8.1f %8.1f", mn_arch_name(p->arch), p->alpha, p->resolution, p->model,
             p->t.median_ms, 1000.0 / p->t.median_ms, p->macs / 1e6);
      if (images_dir) printf(" %6.1f %6.1f", p->top1, p->top5);
      printf("\n");
    }
    if (images_dir)
      printf("# accuracy over %d images of %s (full pipeline: crop, resize, network)\n",
             n_images, images_dir);
  }
  fflush(stdout);
  if (!measured) {
    fprintf(stderr, "%s: --sweep: no point of the grid could be measured\n", prog);
    status = 2;
    goto out;
  }
  status = measured == NP ? 0 : 1;
#ifdef MN_BENCH_HAVE_CAIRO
  if (chart) {
    if (sweep_chart(chart, pt, NP, n_archs, images_dir != NULL, dtype, threads, runs, n_images) != 0)
      status = 2;
    else if (!json)
      fprintf(stderr, "%s: chart written to %s\n", prog, chart);
  }
#endif
out:
  for (int i = 0; i < NP; i++) mn_runner_free(runner[i]);
  for (int m = 0; m < n_models; m++) mn_model_free(models[m]), free(model_path[m]);
  free(times);
  free(rgb);
  free_images(im, n_images);
  return status;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
  cli_model_options mo;
  cli_model_options_init(&mo);
  int runs = 100, json = 0, layers = 0, sweep = 0, status = 0, adaptive = 0, busy = 0;
  int model_chosen = 0, arch_chosen = 0;
  const char *images_dir = NULL, *chart = NULL;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    int r = cli_model_option(&mo, argc, argv, &i, prog);
    if (r < 0) return 2;
    if (r > 0) {
      if (!strcmp(opt, "--model") || !strcmp(opt, "--alpha") || !strcmp(opt, "--resolution"))
        model_chosen = 1;
      if (!strcmp(opt, "--arch")) arch_chosen = 1;
      continue;
    }
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--json")) {
      json = 1;
    } else if (!strcmp(argv[i], "--layers")) {
      layers = 1;
    } else if (!strcmp(argv[i], "--adaptive")) {
      adaptive = 1;
    } else if (!strcmp(argv[i], "--busy") && i + 1 < argc) {
      if (!cli_parse_int(argv[++i], 0, 64, &busy)) {
        fprintf(stderr, "%s: --busy %s: expected a whole number from 0 to 64\n", prog, argv[i]);
        return 2;
      }
    } else if (!strcmp(argv[i], "--sweep")) {
      sweep = 1;
    } else if (!strcmp(argv[i], "--images") && i + 1 < argc) {
      images_dir = argv[++i];
    } else if (!strcmp(argv[i], "--chart") && i + 1 < argc) {
      chart = argv[++i];
    } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
      if (!cli_parse_int(argv[++i], 1, 1000000, &runs)) {
        fprintf(stderr, "%s: --runs %s: expected a whole number from 1 to 1000000\n", prog,
                argv[i]);
        return 2;
      }
    } else if (!strcmp(argv[i], "--images") || !strcmp(argv[i], "--chart") ||
               !strcmp(argv[i], "--runs") || !strcmp(argv[i], "--busy")) {
      fprintf(stderr, "%s: %s needs a value\n", prog, argv[i]);
      return 2;
    } else {
      fprintf(stderr, "%s: unknown option %s (see --help)\n", prog, argv[i]);
      return 2;
    }
  }
  if (sweep) {
    if (model_chosen || layers || adaptive || busy) {
      fprintf(stderr, "%s: --sweep runs its own alpha x resolution grid; --model, --alpha, "
                      "--resolution, --layers, --adaptive and --busy do not go with it\n", prog);
      return 2;
    }
    return run_sweep(&mo, !arch_chosen, runs, json, images_dir, chart);
  }
  if (images_dir || chart) {
    fprintf(stderr, "%s: --images and --chart go with --sweep\n", prog);
    return 2;
  }

  mn_model *model = NULL;
  mn_runner *runner = NULL;
  uint8_t *rgb = NULL;
  double *times = NULL, *layer_t = NULL;
  char err[MN_ERROR_MAX];
  int resolution;
  if (cli_load_model(&mo, &model, &resolution, prog) != 0) return 2;
  if (mn_runner_create(model, resolution, mo.threads, &runner, err) != MN_OK) {
    fprintf(stderr, "%s: %s: %s\n", prog, mn_model_name(model), err);
    status = 2;
    goto out;
  }
  const int n_layers = mn_runner_layer_times(runner, NULL, 0);
  rgb = malloc((size_t)resolution * resolution * 3);
  times = malloc((size_t)runs * sizeof *times);
  layer_t = malloc((size_t)runs * (size_t)(n_layers > 0 ? n_layers : 1) * sizeof *layer_t);
  if (!rgb || !times || !layer_t) {
    fprintf(stderr, "%s: out of memory\n", prog);
    status = 2;
    goto out;
  }
  fill_picture(rgb, resolution);
  mn_runner_set_adaptive_threads(runner, adaptive);
  timing t;
  busy_loops bl;
  if (busy_start(&bl, busy) != 0) {
    busy_stop(&bl);
    status = 2;
    goto out;
  }
  const int timed = time_runner(runner, rgb, runs, times, layer_t, n_layers, &t);
  busy_stop(&bl);
  if (timed != 0) {
    status = 2;
    goto out;
  }
  const double med = t.median_ms, lo = t.min_ms, hi = t.max_ms;
  mn_layer_info *info = calloc((size_t)(n_layers > 0 ? n_layers : 1), sizeof *info);
  double *col = malloc((size_t)runs * sizeof *col);
  if (!info || !col) {
    free(info), free(col);
    fprintf(stderr, "%s: out of memory\n", prog);
    status = 2;
    goto out;
  }
  mn_model_layers(model, resolution, info, n_layers);
  int64_t macs = 0;
  for (int l = 0; l < n_layers; l++) macs += info[l].macs;

  if (json) {
    printf("{\"model\":");
    cli_json_string(stdout, mn_model_name(model));
    printf(",\"arch\":\"%s\",\"alpha\":%g,\"resolution\":%d,\"dtype\":\"%s\",\"threads\":%d,"
           "\"runs\":%d,\"median_ms\":%.4f,\"min_ms\":%.4f,\"max_ms\":%.4f,\"fps\":%.2f,"
           "\"macs\":%lld",
           mn_arch_name(mn_model_arch(model)), mn_model_alpha(model), resolution, mn_dtype_name(mn_model_dtype(model)),
           mn_runner_threads(runner), runs, med, lo, hi, 1000.0 / med, (long long)macs);
    printf(",\"adaptive\":%s,\"busy\":%d,\"active_threads\":%d,\"runs_on_fewer_threads\":%d",
           adaptive ? "true" : "false", busy, mn_runner_active_threads(runner), t.runs_on_fewer);
  } else {
    printf("%s (%s) alpha %g %s %dx%d, %d threads, %d runs: median %.3f ms (min %.3f, max %.3f), "
           "%.1f fps, %.1f GMAC/s\n",
           mn_model_name(model), mn_arch_name(mn_model_arch(model)), mn_model_alpha(model), mn_dtype_name(mn_model_dtype(model)),
           resolution, resolution, mn_runner_threads(runner), runs, med, lo, hi, 1000.0 / med,
           macs / med / 1e6);
    if (adaptive || busy)
      printf("  %s%d busy core%s; adaptive threads %s: %d of %d runs on fewer threads, the last "
             "on %d\n", busy ? "" : "", busy, busy == 1 ? "" : "s", adaptive ? "on" : "off",
             t.runs_on_fewer, runs, mn_runner_active_threads(runner));
  }
  if (layers) {
    if (json) printf(",\"layers\":[");
    else printf("%3s  %-14s %-14s %10s %9s %9s\n", "#", "layer", "output", "MACs", "ms", "GMAC/s");
    for (int l = 0; l < n_layers; l++) {
      for (int i = 0; i < runs; i++) col[i] = layer_t[(size_t)i * n_layers + l];
      double m = median(col, runs);
      if (json) {
        printf("%s{\"type\":\"%s\",\"shape\":[%d,%d,%d],\"macs\":%lld,\"median_ms\":%.4f}",
               l ? "," : "", info[l].type, info[l].out_h, info[l].out_w, info[l].out_c,
               (long long)info[l].macs, m);
      } else {
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", info[l].out_h, info[l].out_w, info[l].out_c);
        printf("%3d  %-14s %-14s %10lld %9.4f %9.1f\n", l, info[l].type, shape,
               (long long)info[l].macs, m, m > 0 ? info[l].macs / m / 1e6 : 0.0);
      }
    }
    if (json) printf("]");
  }
  if (json) printf("}\n");
  free(info);
  free(col);

out:
  free(rgb);
  free(times);
  free(layer_t);
  mn_runner_free(runner);
  mn_model_free(model);
  return status;
}
