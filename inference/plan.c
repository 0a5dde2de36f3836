/* plan.c: one arena for a runner's tensors, from their lifetimes.
 *
 * Each buffer lives from the step that writes it to the last step that
 * reads it; two buffers may share bytes when their lifetimes do not
 * overlap. Greedy by size, as TFLite's arena planner: the largest buffers
 * are placed first, each at the lowest offset that is free for its whole
 * lifetime. A residual kept for a later ADD simply lives longer. */
#include <stdlib.h>

#include "plan.h"

#define ALIGN 64

static int by_size_desc(const void *a, const void *b) {
  const mn_buffer_req *x = *(const mn_buffer_req *const *)a, *y = *(const mn_buffer_req *const *)b;
  if (x->size != y->size) return x->size < y->size ? 1 : -1;
  return x->first - y->first;
}

static int by_offset(const void *a, const void *b) {
  const mn_buffer_req *x = *(const mn_buffer_req *const *)a, *y = *(const mn_buffer_req *const *)b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

size_t mn_plan_arena(mn_buffer_req *reqs, int n) {
  mn_buffer_req **order = malloc(sizeof *order * (size_t)(n ? n : 1));
  mn_buffer_req **live = malloc(sizeof *live * (size_t)(n ? n : 1));
  if (!order || !live) {
    free(order), free(live);
    return (size_t)-1;
  }
  int placed = 0;
  for (int i = 0; i < n; i++) order[i] = &reqs[i];
  qsort(order, (size_t)n, sizeof *order, by_size_desc);
  size_t total = 0;
  mn_buffer_req **done = order; /* order[0 .. placed) are placed */
  for (int i = 0; i < n; i++) {
    mn_buffer_req *r = order[i];
    const size_t size = (r->size + ALIGN - 1) / ALIGN * ALIGN;
    /* placed buffers whose lifetimes meet r's, by offset */
    int k = 0;
    for (int j = 0; j < placed; j++)
      if (done[j]->first <= r->last && r->first <= done[j]->last) live[k++] = done[j];
    qsort(live, (size_t)k, sizeof *live, by_offset);
    size_t at = 0;
    for (int j = 0; j < k; j++) {
      const size_t end = live[j]->offset + (live[j]->size + ALIGN - 1) / ALIGN * ALIGN;
      if (live[j]->offset >= at + size) break; /* the gap before it fits */
      if (end > at) at = end;
    }
    r->offset = at;
    if (at + size > total) total = at + size;
    placed = i + 1;
  }
  free(order);
  free(live);
  return total;
}
