/* plan.h: the memory plan of a runner (plan.c). */
#ifndef MN_PLAN_H
#define MN_PLAN_H

#include <stddef.h>

typedef struct {
  size_t size;      /* bytes */
  int first, last;  /* steps that write it first and read it last */
  size_t offset;    /* assigned: 64-byte aligned offset in the arena */
} mn_buffer_req;

/* Assigns offsets so that buffers alive at the same time never overlap;
 * returns the arena size, or (size_t)-1 when memory ran out. */
size_t mn_plan_arena(mn_buffer_req *reqs, int n);

#endif
