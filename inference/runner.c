/* runner.c: runs a model's graph at one resolution.
 *
 * At creation the runner infers every tensor's dimensions, groups the nodes
 * into steps (a depthwise node and the pointwise node that alone reads it
 * become one banded step), and plans one arena from the tensors' lifetimes;
 * an inference allocates nothing. The whole graph runs in one OpenMP
 * parallel region: every step splits its work by thread index and a barrier
 * separates the steps (no fork/join per node).
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ops/ops.h"
#include "plan.h"
#include "threads_governor.h"


typedef enum { STEP_NODE, STEP_DW_PW } step_kind;

#define MAX_FOLLOWERS 4

typedef struct {
  step_kind kind;
  int node;      /* the node, or the depthwise node of a pair */
  int node2;     /* the pointwise node of a pair */
  int band_rows; /* depthwise output rows per band */
  /* elementwise nodes run on the pixels each thread has just written (a
   * residual ADD after a projection, a hard-swish after a convolution):
   * no pass of their own over memory, no barrier */
  int followers[MAX_FOLLOWERS];
  int n_followers;
} mn_step;

struct mn_runner {
  const mn_model *model;
  int size, threads;
  int n_out;         /* output values at this resolution (a classifier: its classes) */
  mn_dims *dims;     /* per value */
  void **ptr;        /* per value: its storage */
  void **scratch;    /* per node: its scratch, or NULL */
  uint8_t *arena;
  uint8_t *rgb;      /* preprocessed input, size x size x 3 */
  mn_step *steps;
  int n_steps;
  /* Depthwise + pointwise pairs run band by band (see run_dw_pw_bands):
   * each thread has band_bytes of its own for the depthwise output. */
  size_t band_bytes;
  void *bands;
  int band_threads;  /* threads bands was sized for */
  mn_threads_governor gov; /* threads per inference, up to threads */
  int adaptive;      /* the governor may use fewer (mn_runner_set_adaptive_threads) */
  int last_threads;  /* threads of the last inference */
  float *scores;     /* probabilities of the last run */
  double *layer_ms;  /* per node: time of the last run */
};

static void *aligned_buffer(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
  memset(p, 0, bytes ? bytes : 64);
  return p;
}

void mn_runner_free(mn_runner *r) {
  if (!r) return;
  free(r->dims);
  free(r->ptr);
  free(r->scratch);
  free(r->arena);
  free(r->rgb);
  free(r->steps);
  free(r->bands);
  free(r->scores);
  free(r->layer_ms);
  free(r);
}

static int default_threads(void) {
  int n = omp_get_num_procs();
  return n > 0 ? n : 1;
}

static size_t value_bytes(const mn_model *m, const mn_dims *dims, int v) {
  const size_t elem = m->values[v].type == MN_VAL_Q8 ? 1 : 4;
  return mn_dims_count(&dims[v]) * elem;
}

/* ---- steps ---------------------------------------------------------------------
 * A depthwise layer's output is read once, by the pointwise layer after it.
 * Run together over bands of rows, that output lives only in a band buffer
 * of ~BAND_BYTES that stays in the core's cache, instead of going out to L2 /
 * L3 and back (3.2 MB per layer at v1 1.0/224 f32), and the pair needs one
 * barrier instead of two. */
enum {
  BAND_BYTES = 48 * 1024,
  /* Every band streams all of the pointwise weights, so only pairs whose
   * weights are small take bands. Measured on a Zen 5 (1 MB L2): one thread
   * runs as fast with or without bands (v1 1.0/224 f32 and u8), the layers
   * being compute-bound, but with two threads the pairs save a barrier each:
   * v1 0.25/128 f32 0.093 -> 0.091 ms, u8 0.082 -> 0.079 ms; with all pairs
   * banded, 1.0/224 f32 lost 9 % (1 MB of weights streamed per band).
   * BENCHMARKS.md has the table. */
  BAND_WEIGHTS_MAX = 64 * 1024
};

/* The node that reads value v, when exactly one unfused node does. */
static int sole_reader(const mn_model *m, int v, int after) {
  int reader = -1;
  for (int i = after + 1; i < m->n_nodes; i++) {
    const mn_node *n = &m->nodes[i];
    if (n->fused) continue;
    for (int k = 0; k < 3; k++)
      if (n->in[k] >= 0 && m->values[n->in[k]].alias_of == m->values[v].alias_of) {
        if (reader >= 0 && reader != i) return -1;
        reader = i;
      }
  }
  return reader;
}

/* Node k can run as a follower of a step whose nodes are [first, last] and
 * whose output (with the outputs of the followers before it) is in
 * `written`: elementwise, reading one of them, its other inputs complete
 * before the step began. */
static int can_follow(const mn_model *m, const mn_dims *dims, int k, int first,
                      const int *written, int n_written) {
  const mn_node *n = &m->nodes[k];
  if (n->fused || !n->cls->run_pixels || n->out == m->output) return 0;
  /* pixel for pixel: the same map as the step's output */
  const mn_dims *a = &dims[n->out], *b = &dims[written[0]];
  if (a->n != b->n || a->h != b->h || a->w != b->w) return 0;
  int reads_step = 0;
  for (int j = 0; j < 3; j++) {
    const int v = n->in[j];
    if (v < 0 || m->values[v].is_const) continue;
    int from_step = 0;
    for (int w = 0; w < n_written; w++) from_step |= m->values[v].alias_of == m->values[written[w]].alias_of;
    if (from_step) {
      const mn_dims *d = &dims[v];
      if (d->h != a->h || d->w != a->w || d->c != a->c) return 0; /* read broadcast */
      reads_step = 1;
      continue;
    }
    const int p = m->values[v].producer;
    if (p >= first) return 0; /* not complete before the step */
  }
  /* a broadcast operand is fine only when complete: checked above; the
   * step's output must be read full-size, pixel for pixel */
  return reads_step;
}

static void attach_followers(const mn_model *m, const mn_dims *dims, mn_step *s, int first,
                             int last) {
  if (!m->nodes[first].cls->pixel_share) return;
  int written[1 + MAX_FOLLOWERS], n_written = 0;
  written[n_written++] = m->nodes[last].out;
  for (int k = last + 1; k < m->n_nodes && s->n_followers < MAX_FOLLOWERS; k++) {
    if (m->nodes[k].fused) continue;
    if (!can_follow(m, dims, k, first, written, n_written)) break;
    s->followers[s->n_followers++] = k;
    written[n_written++] = m->nodes[k].out;
  }
}

static int plan_steps(mn_runner *r) {
  const mn_model *m = r->model;
  r->steps = calloc((size_t)m->n_nodes + 1, sizeof *r->steps);
  if (!r->steps) return -1;
  const int no_bands = getenv("MOBILENET_NO_BANDS") != NULL; /* for comparisons */
  const int no_followers = getenv("MOBILENET_NO_FUSION") != NULL;
  r->band_bytes = 0;
  for (int i = 0; i < m->n_nodes; i++) {
    const mn_node *n = &m->nodes[i];
    if (n->fused) continue;
    mn_step *s = &r->steps[r->n_steps++];
    *s = (mn_step){STEP_NODE, i, -1, 0, {0}, 0};
    int last = i; /* the step's last node */
    mn_dw_info dw;
    size_t wbytes;
    if (no_bands || !mn_dwconv_info(n, &dw) || n->out == m->output) goto followers;
    const int j = sole_reader(m, n->out, i);
    if (j < 0 || !mn_conv_is_pointwise(m, &m->nodes[j], &wbytes) || wbytes > BAND_WEIGHTS_MAX)
      goto followers;
    /* every node between the two must not need the depthwise output */
    int between = 0;
    for (int k = i + 1; k < j; k++) between |= !m->nodes[k].fused;
    if (between) goto followers;
    const mn_dims *d = &r->dims[n->out];
    const size_t row = value_bytes(m, r->dims, n->out) / (size_t)d->h;
    int rows = (int)(BAND_BYTES / row);
    const int min_rows = (32 + d->w - 1) / d->w; /* >= 32 pixels for the GEMM tiles */
    rows = rows < min_rows ? min_rows : rows;
    rows = rows < 1 ? 1 : rows > d->h ? d->h : rows;
    *s = (mn_step){STEP_DW_PW, i, j, rows, {0}, 0};
    if ((size_t)rows * row > r->band_bytes) r->band_bytes = (size_t)rows * row;
    last = j; /* the pointwise node is in this step */
  followers:
    if (!no_followers) attach_followers(m, r->dims, s, i, last);
    if (s->n_followers) last = s->followers[s->n_followers - 1];
    i = last;
  }
  r->band_bytes = (r->band_bytes + 63) / 64 * 64;
  return 0;
}

/* Band buffers for the current thread count, made when the runner is
 * created and when its thread count grows, never during an inference:
 * 0, or -1 when memory ran out. */
static int ensure_bands(mn_runner *r) {
  if (!r->band_bytes || r->band_threads >= r->threads) return 0;
  void *bands = aligned_buffer(r->band_bytes * (size_t)r->threads);
  if (!bands) return -1;
  free(r->bands);
  r->bands = bands;
  r->band_threads = r->threads;
  return 0;
}

/* ---- memory ------------------------------------------------------------------- */

/* Storage of every value and scratch of every node from one arena. A banded
 * depthwise output has no storage unless the bands cannot run: it gets its
 * place anyway, so the fallback never allocates. */
static int plan_memory(mn_runner *r) {
  const mn_model *m = r->model;
  const int nv = m->n_values, nn = m->n_nodes;
  int *first = malloc(sizeof(int) * (size_t)nv), *last = malloc(sizeof(int) * (size_t)nv);
  int *step_of = malloc(sizeof(int) * (size_t)(nn ? nn : 1));
  mn_buffer_req *req = calloc((size_t)(nv + nn), sizeof *req);
  int *owner = malloc(sizeof(int) * (size_t)(nv + nn)); /* value, or -1 - node for scratch */
  int rc = -1;
  if (!first || !last || !step_of || !req || !owner) goto out;
  for (int v = 0; v < nv; v++) first[v] = INT32_MAX, last[v] = -1;
  for (int i = 0; i < nn; i++) step_of[i] = -1;
  for (int s = 0; s < r->n_steps; s++) {
    step_of[r->steps[s].node] = s;
    if (r->steps[s].node2 >= 0) step_of[r->steps[s].node2] = s;
    for (int f = 0; f < r->steps[s].n_followers; f++) step_of[r->steps[s].followers[f]] = s;
  }
  /* lifetimes, per storage root; the input is written before step 0 */
  first[m->values[m->input].alias_of] = -1;
  for (int i = 0; i < nn; i++) {
    const mn_node *n = &m->nodes[i];
    if (n->fused) continue;
    const int s = step_of[i];
    const int o = m->values[n->out].alias_of;
    first[o] = s < first[o] ? s : first[o];
    last[o] = s > last[o] ? s : last[o];
    for (int k = 0; k < 3; k++) {
      if (n->in[k] < 0 || m->values[n->in[k]].is_const) continue;
      const int v = m->values[n->in[k]].alias_of;
      last[v] = s > last[v] ? s : last[v];
    }
  }
  last[m->values[m->output].alias_of] = r->n_steps; /* read after the last step */
  int n_req = 0;
  for (int v = 0; v < nv; v++) {
    if (m->values[v].alias_of != v || last[v] < 0 || m->values[v].is_const) continue;
    if (v == m->input && m->values[v].type == MN_VAL_Q8) continue; /* the rgb bytes themselves */
    req[n_req] = (mn_buffer_req){value_bytes(m, r->dims, v) + 64, first[v], last[v], 0};
    owner[n_req++] = v;
  }
  for (int i = 0; i < nn; i++) {
    const mn_node *n = &m->nodes[i];
    if (n->fused || !n->cls->scratch) continue;
    const size_t bytes = n->cls->scratch(m, n, r->dims);
    if (!bytes) continue;
    req[n_req] = (mn_buffer_req){bytes, step_of[i], step_of[i], 0};
    owner[n_req++] = -1 - i;
  }
  const size_t total = mn_plan_arena(req, n_req);
  if (total == (size_t)-1 || !(r->arena = aligned_buffer(total))) goto out;
  for (int k = 0; k < n_req; k++) {
    if (owner[k] >= 0) r->ptr[owner[k]] = r->arena + req[k].offset;
    else r->scratch[-1 - owner[k]] = r->arena + req[k].offset;
  }
  if (m->values[m->input].type == MN_VAL_Q8) r->ptr[m->input] = r->rgb;
  for (int v = 0; v < nv; v++) r->ptr[v] = r->ptr[m->values[v].alias_of];
  rc = 0;
out:
  free(first);
  free(last);
  free(step_of);
  free(req);
  free(owner);
  return rc;
}

mn_status mn_runner_create(const mn_model *m, int size, int threads, mn_runner **out,
                           char err[MN_ERROR_MAX]) {
  *out = NULL;
  if (size < MN_MIN_RESOLUTION || size > MN_MAX_RESOLUTION) {
    snprintf(err, MN_ERROR_MAX, "resolution %d out of range (%d..%d)", size, MN_MIN_RESOLUTION,
             MN_MAX_RESOLUTION);
    return MN_ERR_ARGUMENT;
  }
  if (threads > MN_MAX_THREADS) {
    snprintf(err, MN_ERROR_MAX, "threads %d out of range (1..%d)", threads, MN_MAX_THREADS);
    return MN_ERR_ARGUMENT;
  }
  mn_runner *r = calloc(1, sizeof *r);
  if (!r) goto oom;
  r->model = m;
  r->size = size;
  r->threads = threads > 0 ? threads : default_threads();
  r->adaptive = 1;
  mn_gov_init(&r->gov, r->threads, r->adaptive);
  r->dims = calloc((size_t)m->n_values, sizeof *r->dims);
  r->ptr = calloc((size_t)m->n_values, sizeof *r->ptr);
  r->scratch = calloc((size_t)m->n_nodes + 1, sizeof *r->scratch);
  r->layer_ms = calloc((size_t)m->n_nodes + 1, sizeof *r->layer_ms);
  r->rgb = aligned_buffer((size_t)size * size * 3 + 64);
  if (!r->dims || !r->ptr || !r->scratch || !r->layer_ms || !r->rgb) goto oom;
  if (mn_graph_infer(m, size, r->dims, err, MN_ERROR_MAX) != 0) {
    mn_runner_free(r);
    return MN_ERR_ARGUMENT;
  }
  r->n_out = (int)mn_dims_count(&r->dims[m->output]);
  if (!(r->scores = calloc((size_t)r->n_out, sizeof *r->scores))) goto oom;
  if (plan_steps(r) != 0 || plan_memory(r) != 0 || ensure_bands(r) != 0) goto oom;
  *out = r;
  return MN_OK;
oom:
  mn_runner_free(r);
  snprintf(err, MN_ERROR_MAX, "out of memory for a runner at %dx%d", size, size);
  return MN_ERR_MEMORY;
}

int mn_runner_resolution(const mn_runner *r) { return r->size; }
int mn_runner_threads(const mn_runner *r) { return r->threads; }
const mn_model *mn_runner_model(const mn_runner *r) { return r->model; }

mn_status mn_runner_set_threads(mn_runner *r, int threads, char err[MN_ERROR_MAX]) {
  if (threads > MN_MAX_THREADS) {
    snprintf(err, MN_ERROR_MAX, "threads %d out of range (1..%d)", threads, MN_MAX_THREADS);
    return MN_ERR_ARGUMENT;
  }
  const int old = r->threads;
  r->threads = threads > 0 ? threads : default_threads();
  if (ensure_bands(r) != 0) {
    snprintf(err, MN_ERROR_MAX, "out of memory for %d threads (kept %d)", r->threads, old);
    r->threads = old;
    return MN_ERR_MEMORY;
  }
  mn_gov_init(&r->gov, r->threads, r->adaptive);
  r->last_threads = 0;
  return MN_OK;
}

void mn_runner_set_adaptive_threads(mn_runner *r, int on) {
  r->adaptive = on != 0;
  mn_gov_init(&r->gov, r->threads, r->adaptive);
  r->last_threads = 0; /* until the next inference: what it will use */
}

int mn_runner_active_threads(const mn_runner *r) {
  return r->last_threads ? r->last_threads : mn_gov_next(&r->gov);
}

/* ---- running ---------------------------------------------------------------------- */

/* The followers of step s on output pixels [p0, p0 + n); thread 0 adds
 * their time to ms. */
static void run_followers(const mn_model *m, const mn_exec *x, const mn_step *s, size_t p0,
                          size_t n, int ith, double *ms) {
  for (int f = 0; f < s->n_followers; f++) {
    const double t0 = ith == 0 ? omp_get_wtime() : 0.0;
    const mn_node *fn = &m->nodes[s->followers[f]];
    fn->cls->run_pixels(x, fn, p0, n);
    if (ith == 0) ms[f] += (omp_get_wtime() - t0) * 1e3;
  }
}

/* The depthwise node and the pointwise node of step s over thread ith's
 * output rows, a band at a time: the depthwise rows go to the thread's band
 * buffer and the GEMM turns them into the pointwise rows. Adds thread 0's
 * time of each to ms[0] and ms[1]. */
static void run_dw_pw_bands(const mn_runner *r, const mn_exec *x, const mn_step *s, int ith,
                            int nth, double ms[2], double *fms) {
  const mn_model *m = r->model;
  const mn_node *dw = &m->nodes[s->node], *pw = &m->nodes[s->node2];
  const mn_dims *d = &r->dims[dw->out];
  const size_t out_row = value_bytes(m, r->dims, pw->out) / (size_t)d->h;
  void *band = (char *)r->bands + r->band_bytes * (size_t)ith;
  int a, b;
  mn_split(d->h, ith, nth, &a, &b);
  for (int y0 = a; y0 < b; y0 += s->band_rows) {
    const int n = b - y0 < s->band_rows ? b - y0 : s->band_rows;
    const double t0 = ith == 0 ? omp_get_wtime() : 0.0;
    mn_dwconv_run_rows(x, dw, y0, n, band);
    const double t1 = ith == 0 ? omp_get_wtime() : 0.0;
    mn_conv_run_pixels(x, pw, band, n * d->w, (char *)x->ptr[pw->out] + (size_t)y0 * out_row);
    if (ith == 0) {
      const double t2 = omp_get_wtime();
      ms[0] += (t1 - t0) * 1e3, ms[1] += (t2 - t1) * 1e3;
    }
    run_followers(r->model, x, s, (size_t)y0 * d->w, (size_t)n * d->w, ith, fms);
  }
}

/* Runs the graph on r->rgb and fills r->scores. */
static void run_network(mn_runner *r) {
  const mn_model *m = r->model;
  const mn_exec x = {m, m->kernels, r->ptr, r->dims, r->scratch};
  const int bands = r->band_bytes && r->bands && r->band_threads >= r->threads;
  const int pixels = r->size * r->size * 3;
  memset(r->layer_ms, 0, sizeof(double) * (size_t)m->n_nodes);
  const int threads = mn_gov_next(&r->gov);
  const double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
  {
    const int ith = omp_get_thread_num(), nth = omp_get_num_threads();
    if (m->values[m->input].type == MN_VAL_F32) { /* float models take [-1, 1] */
      int a, b;
      mn_split(pixels, ith, nth, &a, &b);
      m->kernels->f32_from_u8(r->rgb + a, (size_t)(b - a), (float *)r->ptr[m->input] + a);
#pragma omp barrier
    }
    double t0 = omp_get_wtime();
    for (int k = 0; k < r->n_steps; k++) {
      const mn_step *s = &r->steps[k];
      double fms[MAX_FOLLOWERS] = {0.0};
      if (s->kind == STEP_DW_PW && bands) {
        double ms[2] = {0.0, 0.0};
        run_dw_pw_bands(r, &x, s, ith, nth, ms, fms);
#pragma omp barrier
        if (ith == 0) {
          const double t1 = omp_get_wtime();
          double f_total = 0.0;
          for (int f = 0; f < s->n_followers; f++)
            r->layer_ms[s->followers[f]] = fms[f], f_total += fms[f];
          r->layer_ms[s->node] = ms[0]; /* the barrier's wait goes to the pointwise node */
          r->layer_ms[s->node2] = (t1 - t0) * 1e3 - ms[0] - f_total;
          t0 = t1;
        }
        continue;
      }
      const mn_node *n = &m->nodes[s->node];
      n->cls->run(&x, n, ith, nth);
      const mn_node *last = n;
      if (s->kind == STEP_DW_PW) { /* no band buffers: one node after the other */
#pragma omp barrier
        last = &m->nodes[s->node2];
        last->cls->run(&x, last, ith, nth);
      }
      if (s->n_followers) {
        size_t p0, np;
        if (last->cls->pixel_share && last->cls->pixel_share(&x, last, ith, nth, &p0, &np)) {
          run_followers(m, &x, s, p0, np, ith, fms);
        } else { /* the producer's threads shared its pixels: after it, split anew */
          const mn_dims *d = &r->dims[last->out];
          int a, b;
#pragma omp barrier
          mn_split(d->n * d->h * d->w, ith, nth, &a, &b);
          run_followers(m, &x, s, (size_t)a, (size_t)(b - a), ith, fms);
        }
      }
#pragma omp barrier
      if (ith == 0) {
        const double t1 = omp_get_wtime();
        double f_total = 0.0;
        for (int f = 0; f < s->n_followers; f++)
          r->layer_ms[s->followers[f]] = fms[f], f_total += fms[f];
        r->layer_ms[s->node] = (t1 - t0) * 1e3 - f_total;
        t0 = t1;
      }
    }
  }
  mn_gov_record(&r->gov, (omp_get_wtime() - start) * 1e3);
  r->last_threads = threads;
  const void *out = r->ptr[m->output];
  const mn_value *ov = &m->values[m->output];
  if (ov->type == MN_VAL_F32) {
    memcpy(r->scores, out, (size_t)r->n_out * sizeof(float));
  } else {
    const uint8_t *q = out;
    for (int i = 0; i < r->n_out; i++) r->scores[i] = ov->scale * (float)((int32_t)q[i] - ov->zp);
  }
  if (m->logits) mn_f32_softmax(r->scores, r->n_out, 1.0f, r->scores);
}

/* Short label: the first name of the class description. */
static void short_label(const mn_model *m, int class_index, char *out) {
  const char *full = mn_model_class_label(m, class_index);
  if (!full) {
    snprintf(out, MN_LABEL_MAX, "class %d", class_index);
    return;
  }
  size_t n = strcspn(full, ",");
  if (n >= MN_LABEL_MAX) n = MN_LABEL_MAX - 1;
  memcpy(out, full, n);
  out[n] = '\0';
}

static int finish(mn_runner *r, int k, mn_result *top) {
  int classes[64];
  float scores[64];
  if (k > 64) k = 64;
  int n = mn_topk(r->scores, r->n_out, k, classes, scores);
  for (int i = 0; i < n; i++) {
    top[i].class_index = classes[i];
    top[i].score = scores[i];
    short_label(r->model, classes[i], top[i].label);
  }
  return n;
}

int mn_runner_classify_preprocessed(mn_runner *r, const uint8_t *rgb, int k, mn_result *top,
                                    char err[MN_ERROR_MAX]) {
  if (!rgb || k < 0 || (k > 0 && !top)) {
    snprintf(err, MN_ERROR_MAX, "mn_runner_classify: bad arguments");
    return -MN_ERR_ARGUMENT;
  }
  if (rgb != r->rgb) memcpy(r->rgb, rgb, (size_t)r->size * r->size * 3);
  run_network(r);
  return finish(r, k, top);
}

int mn_runner_classify(mn_runner *r, const mn_image *image, int k, mn_result *top,
                       char err[MN_ERROR_MAX]) {
  if (k < 0 || (k > 0 && !top)) {
    snprintf(err, MN_ERROR_MAX, "mn_runner_classify: bad arguments");
    return -MN_ERR_ARGUMENT;
  }
  mn_status st = mn_preprocess(image, r->size, r->rgb, err);
  if (st != MN_OK) return -(int)st;
  run_network(r);
  return finish(r, k, top);
}

const float *mn_runner_scores(const mn_runner *r, int *count) {
  if (count) *count = r->n_out;
  return r->scores;
}

const void *mn_runner_output(const mn_runner *r, mn_val_type *type, int *count, float *scale,
                             int32_t *zp) {
  const mn_value *v = &r->model->values[r->model->output];
  *type = v->type;
  *count = r->n_out;
  *scale = v->scale;
  *zp = v->zp;
  return r->ptr[r->model->output];
}

int mn_runner_layer_times(const mn_runner *r, double *ms, int max) {
  for (int i = 0; i < r->model->n_nodes && i < max; i++) ms[i] = r->layer_ms[i];
  return r->model->n_nodes;
}
