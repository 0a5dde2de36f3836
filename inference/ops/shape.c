/* shape.c: RESHAPE and SQUEEZE (the output shares the input's storage) and
 * PAD (height and width, zeros or the zero point). */
#include <stdlib.h>
#include <string.h>

#include "ops.h"

/* ---- RESHAPE, SQUEEZE ------------------------------------------------------------ */

typedef struct {
  int squeeze;                 /* SQUEEZE: drop dims of 1 (all, or those listed) */
  int n_dims, dims[TFL_MAX_RANK]; /* RESHAPE target; one may be -1 */
  int n_squeeze, squeeze_dims[TFL_MAX_RANK];
} reshape_state;

static int reshape_infer(const mn_model *m, const mn_node *n, mn_dims *dims, char *err,
                         size_t size) {
  (void)m;
  const reshape_state *s = n->state;
  const mn_dims *in = &dims[n->in[0]];
  const size_t count = mn_dims_count(in);
  int d[4] = {1, 1, 1, 1}, rank = 0;
  if (s->squeeze) {
    const int src[4] = {in->n, in->h, in->w, in->c};
    for (int k = 0; k < 4; k++) {
      int drop = 0;
      if (s->n_squeeze <= 0) drop = src[k] == 1;
      for (int j = 0; j < s->n_squeeze; j++)
        drop |= (s->squeeze_dims[j] < 0 ? s->squeeze_dims[j] + 4 : s->squeeze_dims[j]) == k;
      if (!drop) d[rank++] = src[k];
    }
  } else {
    size_t known = 1;
    int unknown = -1;
    rank = s->n_dims;
    for (int k = 0; k < rank; k++) {
      if (s->dims[k] == -1) unknown = k;
      else known *= (size_t)s->dims[k];
      d[k] = s->dims[k];
    }
    if (unknown >= 0 && known > 0 && count % known == 0) d[unknown] = (int)(count / known);
  }
  int full[4] = {1, 1, 1, 1};
  for (int k = 0; k < rank; k++) full[4 - rank + k] = d[k];
  const mn_dims o = {full[0], full[1], full[2], full[3]};
  if (mn_dims_count(&o) != count) {
    snprintf(err, size, "reshapes %zu values into %zu", count, mn_dims_count(&o));
    return -1;
  }
  dims[n->out] = o;
  return 0;
}

static void reshape_run(const mn_exec *x, const mn_node *n, int ith, int nth) {
  (void)x, (void)n, (void)ith, (void)nth; /* same storage, same bytes */
}

static void reshape_describe(const mn_model *m, const mn_node *n, const mn_dims *dims,
                             mn_layer_info *info) {
  (void)m, (void)dims;
  const reshape_state *s = n->state;
  snprintf(info->type, sizeof info->type, "%s", s->squeeze ? "squeeze" : "reshape");
}

const mn_op_class mn_op_reshape = {"reshape", reshape_infer, reshape_run, reshape_describe, NULL,
                                   NULL, NULL, NULL};

int mn_build_reshape(mn_builder *b) {
  const tfl_op *op = &b->tfl->ops[b->op];
  const tfl_tensor *in = mn_build_input(b, 0), *out = mn_build_output(b);
  if (!in || in->data) return mn_build_fail(b, "reshapes a constant");
  if (in->type != out->type || in->scale != out->scale || in->zero_point != out->zero_point)
    return mn_build_fail(b, "changes the type or quantization of the values");
  reshape_state *s = calloc(1, sizeof *s);
  if (!s) return mn_build_fail(b, "out of memory");
  if (op->code == TFL_OP_SQUEEZE) {
    s->squeeze = 1;
    s->n_squeeze = op->n_squeeze;
    if (op->n_squeeze > TFL_MAX_RANK) {
      free(s);
      return mn_build_fail(b, "squeezes more than %d dimensions", TFL_MAX_RANK);
    }
    for (int i = 0; i < op->n_squeeze; i++) s->squeeze_dims[i] = op->squeeze_dims[i];
  } else {
    /* the target: the shape operand when constant, else the declared output */
    const tfl_tensor *shape = mn_build_input(b, 1);
    if (shape && shape->data && shape->type == TFL_INT32 && shape->rank == 1 &&
        shape->elements >= 1 && shape->elements <= TFL_MAX_RANK) {
      s->n_dims = (int)shape->elements;
      for (int i = 0; i < s->n_dims; i++) memcpy(&s->dims[i], shape->data + 4 * i, 4);
    } else {
      s->n_dims = out->rank;
      memcpy(s->dims, out->shape, sizeof s->dims);
    }
    int unknown = 0;
    for (int i = 0; i < s->n_dims; i++) {
      unknown += s->dims[i] == -1;
      if (s->dims[i] < -1 || s->dims[i] == 0 || unknown > 1) {
        const int bad = s->dims[i];
        free(s);
        return mn_build_fail(b, "target shape has dimension %d = %d", i, bad);
      }
    }
  }
  mn_node *n = mn_build_node(b, &mn_op_reshape, 1);
  n->state = s;
  b->m->values[n->out].alias_of = b->m->values[n->in[0]].alias_of;
  return 0;
}

/* ---- PAD ---------------------------------------------------------------------------- */

typedef struct {
  int top, bottom, left, right;
  uint8_t fill; /* 8-bit: the zero point */
} pad_state;

static int pad_infer(const mn_model *m, const mn_node *n, mn_dims *dims, char *err, size_t size) {
  (void)m, (void)err, (void)size;
  const pad_state *s = n->state;
  mn_dims o = dims[n->in[0]];
  o.h += s->top + s->bottom;
  o.w += s->left + s->right;
  dims[n->out] = o;
  return 0;
}

static void pad_run(const mn_exec *x, const mn_node *n, int ith, int nth) {
  const pad_state *s = n->state;
  const mn_dims *in = &x->dims[n->in[0]], *out = &x->dims[n->out];
  const size_t elem = x->model->values[n->out].type == MN_VAL_F32 ? sizeof(float) : 1;
  const size_t pix = (size_t)in->c * elem, row_out = (size_t)out->w * pix;
  const uint8_t *src = x->ptr[n->in[0]];
  uint8_t *dst = x->ptr[n->out];
  int a, b;
  mn_split(out->h, ith, nth, &a, &b);
  for (int y = a; y < b; y++) {
    uint8_t *o = dst + (size_t)y * row_out;
    const int iy = y - s->top;
    if (iy < 0 || iy >= in->h) {
      memset(o, elem == 1 ? s->fill : 0, row_out);
      continue;
    }
    memset(o, elem == 1 ? s->fill : 0, (size_t)s->left * pix);
    memcpy(o + (size_t)s->left * pix, src + (size_t)iy * in->w * pix, (size_t)in->w * pix);
    memset(o + (size_t)(s->left + in->w) * pix, elem == 1 ? s->fill : 0, (size_t)s->right * pix);
  }
}

static void pad_describe(const mn_model *m, const mn_node *n, const mn_dims *dims,
                         mn_layer_info *info) {
  (void)m, (void)n, (void)dims;
  snprintf(info->type, sizeof info->type, "pad");
}

const mn_op_class mn_op_pad = {"pad", pad_infer, pad_run, pad_describe, NULL, NULL, NULL, NULL};

int mn_build_pad(mn_builder *b) {
  const tfl_tensor *in = mn_build_input(b, 0), *pads = mn_build_input(b, 1),
                   *out = mn_build_output(b);
  if (mn_build_check_activation(b, in, "input") || mn_build_check_activation(b, out, "output"))
    return -1;
  if (in->type != out->type || in->scale != out->scale || in->zero_point != out->zero_point)
    return mn_build_fail(b, "changes the type or quantization of the values");
  if (!pads || !pads->data || pads->type != TFL_INT32 || pads->elements != 8 || in->rank != 4)
    return mn_build_fail(b, "paddings are not a constant int32 [4, 2] over a 4-D input");
  int32_t p[8];
  memcpy(p, pads->data, sizeof p);
  for (int i = 0; i < 8; i++)
    if (p[i] < 0 || p[i] > 64) return mn_build_fail(b, "padding %d is out of range 0..64", p[i]);
  if (p[0] || p[1] || p[6] || p[7])
    return mn_build_fail(b, "pads the batch or channel dimension");
  pad_state *s = calloc(1, sizeof *s);
  if (!s) return mn_build_fail(b, "out of memory");
  *s = (pad_state){p[2], p[3], p[4], p[5], (uint8_t)mn_q8_zero_point(in)};
  mn_node *n = mn_build_node(b, &mn_op_pad, 1);
  n->state = s;
  return 0;
}
