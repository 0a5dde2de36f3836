/* tflite_writer.c: see tflite_writer.h.
 *
 * A flatbuffer is written back to front, as the official builders do: an
 * object is placed before (at a lower address than) the objects it refers
 * to, so every offset points forward. Positions are kept as distances from
 * the end of the buffer, which do not move while it grows at the front.
 * Slot numbers are those of tensorflow/lite/schema/schema.fbs. */
#include "tflite_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- flatbuffer builder ----------------------------------------------------------- */

typedef struct {
  uint8_t *buf; /* data occupies buf[cap - len, cap) */
  size_t cap, len;
  int failed;
} fbb;

typedef uint32_t fb_ref; /* distance of an object from the end of the buffer */

static void fbb_reserve(fbb *b, size_t n) {
  if (b->len + n <= b->cap) return;
  size_t cap = b->cap ? b->cap : 1024;
  while (cap < b->len + n) cap *= 2;
  uint8_t *nb = malloc(cap);
  if (!nb) {
    b->failed = 1;
    return;
  }
  if (b->len) memcpy(nb + cap - b->len, b->buf + b->cap - b->len, b->len);
  free(b->buf);
  b->buf = nb, b->cap = cap;
}

/* Zero bytes so that after n more bytes the position is aligned to a. */
static void fbb_align(fbb *b, size_t n, size_t a) {
  size_t pad = (a - (b->len + n) % a) % a;
  fbb_reserve(b, pad);
  if (b->failed) return;
  b->len += pad;
  if (pad) memset(b->buf + b->cap - b->len, 0, pad);
}

static fb_ref fbb_push(fbb *b, const void *p, size_t n) {
  fbb_reserve(b, n);
  if (b->failed) return 0;
  b->len += n;
  if (n) memcpy(b->buf + b->cap - b->len, p, n);
  return (fb_ref)b->len;
}

static uint8_t *at(fbb *b, fb_ref r) { return b->buf + b->cap - r; }

/* A vector of n elements of size elem, aligned to align. */
static fb_ref fbb_vector(fbb *b, const void *data, uint32_t n, size_t elem, size_t align) {
  /* the elements start aligned, the length just before them */
  fbb_align(b, n * elem, align > 4 ? align : 4);
  fbb_push(b, data, n * elem);
  return fbb_push(b, &n, 4);
}

static fb_ref fbb_string(fbb *b, const char *s) {
  uint32_t n = (uint32_t)strlen(s);
  fbb_align(b, n + 1, 4);
  fbb_push(b, "", 1);
  fbb_push(b, s, n);
  fbb_align(b, 4, 4);
  return fbb_push(b, &n, 4);
}

/* A vector of references to objects written before. */
static fb_ref fbb_refs(fbb *b, const fb_ref *refs, uint32_t n) {
  fbb_align(b, 4 * (size_t)n + 4, 4);
  for (uint32_t i = n; i-- > 0;) {
    fbb_reserve(b, 4);
    if (b->failed) return 0;
    b->len += 4;
    uint32_t off = (uint32_t)b->len - refs[i];
    memcpy(at(b, (fb_ref)b->len), &off, 4);
  }
  return fbb_push(b, &n, 4);
}

/* Tables: fields gathered, then written in one go. */
typedef struct {
  int slot;
  int size;     /* 1, 4 or 8 bytes; 0 = reference */
  uint64_t value;
  fb_ref ref;
} fb_field;

typedef struct {
  fb_field f[16];
  int n;
} fb_table_draft;

static void tf_scalar(fb_table_draft *t, int slot, int size, uint64_t v) {
  t->f[t->n++] = (fb_field){slot, size, v, 0};
}
static void tf_i32(fb_table_draft *t, int slot, int32_t v) { tf_scalar(t, slot, 4, (uint32_t)v); }
static void tf_i8(fb_table_draft *t, int slot, int v) { tf_scalar(t, slot, 1, (uint8_t)v); }
static void tf_f32(fb_table_draft *t, int slot, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  tf_scalar(t, slot, 4, u);
}
static void tf_ref(fb_table_draft *t, int slot, fb_ref r) { t->f[t->n++] = (fb_field){slot, 0, 0, r}; }

static fb_ref fbb_table(fbb *b, const fb_table_draft *t) {
  /* fields, last first, each aligned to its size (references: 4) */
  uint32_t pos[16];
  int max_slot = -1;
  for (int i = t->n; i-- > 0;) {
    const fb_field *f = &t->f[i];
    const int size = f->size ? f->size : 4;
    fbb_align(b, (size_t)size, (size_t)size);
    if (f->size) {
      fbb_push(b, &f->value, (size_t)size); /* little-endian: the low bytes */
    } else {
      fbb_reserve(b, 4);
      if (b->failed) return 0;
      b->len += 4;
      uint32_t off = (uint32_t)b->len - f->ref;
      memcpy(at(b, (fb_ref)b->len), &off, 4);
    }
    pos[i] = (uint32_t)b->len;
    if (f->slot > max_slot) max_slot = f->slot;
  }
  fbb_align(b, 4, 4);
  int32_t placeholder = 0;
  const fb_ref table = fbb_push(b, &placeholder, 4);
  /* the vtable just before the table */
  const int n_slots = max_slot + 1;
  uint16_t vt[2 + 16] = {0};
  vt[0] = (uint16_t)(4 + 2 * n_slots);
  vt[1] = (uint16_t)(table - (t->n ? pos[0] : table) + 4);
  uint32_t lowest = table;
  for (int i = 0; i < t->n; i++) {
    vt[2 + t->f[i].slot] = (uint16_t)(table - pos[i]);
    const int size = t->f[i].size ? t->f[i].size : 4;
    if (pos[i] - (uint32_t)size < lowest) lowest = pos[i] - (uint32_t)size;
  }
  vt[1] = (uint16_t)(table - lowest);
  const fb_ref vtable = fbb_push(b, vt, (size_t)vt[0]);
  if (b->failed) return 0;
  /* soffset: table position minus vtable position (the vtable is before it) */
  const int32_t soff = (int32_t)(vtable - table);
  memcpy(at(b, table), &soff, 4);
  return table;
}

/* ---- the TFLite graph ---------------------------------------------------------------- */

typedef struct {
  int type, rank, shape[4];
  uint8_t *data;
  size_t bytes;
  int quantized, n_scales, dim;
  float *scales;
  int64_t *zps;
} tw_tensor_def;

typedef struct {
  int code, deprecated_only;
  int n_in, in[4], out;
  tw_options o;
} tw_op_def;

struct tw_graph {
  tw_tensor_def t[256];
  int n_t;
  tw_op_def op[128];
  int n_op;
  int input, output;
};

tw_graph *tw_new(void) { return calloc(1, sizeof(tw_graph)); }

void tw_free(tw_graph *g) {
  if (!g) return;
  for (int i = 0; i < g->n_t; i++) {
    free(g->t[i].data);
    free(g->t[i].scales);
    free(g->t[i].zps);
  }
  free(g);
}

int tw_tensor(tw_graph *g, int type, int rank, const int *shape, const void *data, size_t bytes,
              const tw_quant *q) {
  tw_tensor_def *t = &g->t[g->n_t];
  memset(t, 0, sizeof *t);
  t->type = type, t->rank = rank;
  for (int i = 0; i < rank && i < 4; i++) t->shape[i] = shape[i];
  if (data) {
    t->data = malloc(bytes ? bytes : 1);
    memcpy(t->data, data, bytes);
    t->bytes = bytes;
  }
  if (q && q->n > 0) {
    t->quantized = 1, t->n_scales = q->n, t->dim = q->dim;
    t->scales = malloc(sizeof(float) * (size_t)q->n);
    t->zps = calloc((size_t)q->n, sizeof(int64_t));
    memcpy(t->scales, q->scales, sizeof(float) * (size_t)q->n);
    if (q->zero_points) memcpy(t->zps, q->zero_points, sizeof(int64_t) * (size_t)q->n);
  }
  return g->n_t++;
}

static void add_op(tw_graph *g, int code, int dep, int n_in, const int *inputs, int output,
                   const tw_options *o) {
  tw_op_def *op = &g->op[g->n_op++];
  memset(op, 0, sizeof *op);
  op->code = code, op->deprecated_only = dep;
  op->n_in = n_in;
  for (int i = 0; i < n_in && i < 4; i++) op->in[i] = inputs[i];
  op->out = output;
  if (o) op->o = *o;
}

void tw_op(tw_graph *g, int code, int n_in, const int *inputs, int output, const tw_options *o) {
  add_op(g, code, 0, n_in, inputs, output, o);
}

void tw_op_deprecated_code(tw_graph *g, int code, int n_in, const int *inputs, int output,
                           const tw_options *o) {
  add_op(g, code, 1, n_in, inputs, output, o);
}

void tw_io(tw_graph *g, int input, int output) { g->input = input, g->output = output; }

/* The options table of an operator (NULL ref when it has none). */
static fb_ref write_options(fbb *b, const tw_op_def *op) {
  const tw_options *o = &op->o;
  fb_table_draft t = {.n = 0};
  const int stride = o->stride ? o->stride : 1, stride_h = o->stride_h ? o->stride_h : stride;
  const int dil = o->dilation ? o->dilation : 1;
  switch (op->code) {
    case TFL_OP_CONV_2D:
      tf_i8(&t, 0, o->padding), tf_i32(&t, 1, stride), tf_i32(&t, 2, stride_h);
      tf_i8(&t, 3, o->activation), tf_i32(&t, 4, dil), tf_i32(&t, 5, dil);
      break;
    case TFL_OP_DEPTHWISE_CONV_2D:
      tf_i8(&t, 0, o->padding), tf_i32(&t, 1, stride), tf_i32(&t, 2, stride_h);
      tf_i32(&t, 3, o->depth_multiplier ? o->depth_multiplier : 1), tf_i8(&t, 4, o->activation);
      tf_i32(&t, 5, dil), tf_i32(&t, 6, dil);
      break;
    case TFL_OP_AVERAGE_POOL_2D:
      tf_i8(&t, 0, o->padding), tf_i32(&t, 1, stride), tf_i32(&t, 2, stride_h);
      tf_i32(&t, 3, o->filter_w), tf_i32(&t, 4, o->filter_h), tf_i8(&t, 5, o->activation);
      break;
    case TFL_OP_FULLY_CONNECTED:
    case TFL_OP_ADD:
    case TFL_OP_SUB:
    case TFL_OP_MUL:
      tf_i8(&t, 0, o->activation);
      break;
    case TFL_OP_MEAN:
      tf_i8(&t, 0, o->keep_dims);
      break;
    case TFL_OP_SOFTMAX:
      tf_f32(&t, 0, o->beta ? o->beta : 1.0f);
      break;
    default:
      return 0;
  }
  return fbb_table(b, &t);
}

uint8_t *tw_finish(tw_graph *g, size_t *size) {
  fbb b = {0};
  /* operator codes: one per distinct code (and writing style) */
  int codes[128], dep[128], n_codes = 0, op_code_index[128];
  for (int i = 0; i < g->n_op; i++) {
    int k = 0;
    while (k < n_codes && !(codes[k] == g->op[i].code && dep[k] == g->op[i].deprecated_only)) k++;
    if (k == n_codes) codes[n_codes] = g->op[i].code, dep[n_codes++] = g->op[i].deprecated_only;
    op_code_index[i] = k;
  }
  /* buffers: 0 is the empty one; then one per constant tensor */
  fb_ref buffers[257];
  int buffer_of[256];
  int n_buf = 0;
  {
    fb_table_draft t = {.n = 0};
    buffers[n_buf++] = fbb_table(&b, &t);
  }
  for (int i = 0; i < g->n_t; i++) {
    buffer_of[i] = 0;
    if (!g->t[i].data) continue;
    fb_table_draft t = {.n = 0};
    tf_ref(&t, 0, fbb_vector(&b, g->t[i].data, (uint32_t)g->t[i].bytes, 1, 16));
    buffer_of[i] = n_buf;
    buffers[n_buf++] = fbb_table(&b, &t);
  }
  fb_ref tensors[256];
  for (int i = 0; i < g->n_t; i++) {
    const tw_tensor_def *d = &g->t[i];
    fb_ref q = 0;
    if (d->quantized) {
      fb_table_draft qt = {.n = 0};
      tf_ref(&qt, 2, fbb_vector(&b, d->scales, (uint32_t)d->n_scales, 4, 4));
      tf_ref(&qt, 3, fbb_vector(&b, d->zps, (uint32_t)d->n_scales, 8, 8));
      tf_i32(&qt, 6, d->dim);
      q = fbb_table(&b, &qt);
    }
    char name[32];
    snprintf(name, sizeof name, "t%d", i);
    const fb_ref shape = fbb_vector(&b, d->shape, (uint32_t)d->rank, 4, 4);
    const fb_ref nm = fbb_string(&b, name);
    fb_table_draft t = {.n = 0};
    tf_ref(&t, 0, shape);
    tf_i8(&t, 1, d->type);
    tf_i32(&t, 2, buffer_of[i]);
    tf_ref(&t, 3, nm);
    if (q) tf_ref(&t, 4, q);
    tensors[i] = fbb_table(&b, &t);
  }
  fb_ref ops[128];
  for (int i = 0; i < g->n_op; i++) {
    const tw_op_def *op = &g->op[i];
    const fb_ref opt = write_options(&b, op);
    const int32_t out = op->out;
    const fb_ref ins = fbb_vector(&b, op->in, (uint32_t)op->n_in, 4, 4);
    const fb_ref outs = fbb_vector(&b, &out, 1, 4, 4);
    fb_table_draft t = {.n = 0};
    tf_i32(&t, 0, op_code_index[i]);
    tf_ref(&t, 1, ins);
    tf_ref(&t, 2, outs);
    if (opt) tf_ref(&t, 4, opt);
    ops[i] = fbb_table(&b, &t);
  }
  const int32_t gin = g->input, gout = g->output;
  fb_table_draft sg = {.n = 0};
  tf_ref(&sg, 0, fbb_refs(&b, tensors, (uint32_t)g->n_t));
  tf_ref(&sg, 1, fbb_vector(&b, &gin, 1, 4, 4));
  tf_ref(&sg, 2, fbb_vector(&b, &gout, 1, 4, 4));
  tf_ref(&sg, 3, fbb_refs(&b, ops, (uint32_t)g->n_op));
  const fb_ref subgraph = fbb_table(&b, &sg);
  fb_ref opcodes[128];
  for (int k = 0; k < n_codes; k++) {
    fb_table_draft t = {.n = 0};
    tf_i8(&t, 0, codes[k] < 127 ? codes[k] : 127); /* the deprecated byte saturates at 127 */
    if (!dep[k]) tf_i32(&t, 3, codes[k]);
    opcodes[k] = fbb_table(&b, &t);
  }
  const fb_ref codes_v = fbb_refs(&b, opcodes, (uint32_t)n_codes);
  const fb_ref subgraphs_v = fbb_refs(&b, &subgraph, 1);
  const fb_ref buffers_v = fbb_refs(&b, buffers, (uint32_t)n_buf);
  const fb_ref desc = fbb_string(&b, "mobilenet-live test graph");
  fb_table_draft model = {.n = 0};
  tf_i32(&model, 0, 3);
  tf_ref(&model, 1, codes_v);
  tf_ref(&model, 2, subgraphs_v);
  tf_ref(&model, 3, desc);
  tf_ref(&model, 4, buffers_v);
  const fb_ref root = fbb_table(&b, &model);
  /* header: root offset, then the file identifier */
  fbb_align(&b, 8, 8);
  fbb_push(&b, "TFL3", 4);
  fbb_reserve(&b, 4);
  if (b.failed) {
    free(b.buf);
    return NULL;
  }
  b.len += 4;
  const uint32_t root_off = (uint32_t)b.len - root;
  memcpy(at(&b, (fb_ref)b.len), &root_off, 4);
  uint8_t *out = malloc(b.len);
  if (out) memcpy(out, b.buf + b.cap - b.len, b.len);
  *size = b.len;
  free(b.buf);
  return out;
}
