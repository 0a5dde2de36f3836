/* flatbuf.c: bounds-checked FlatBuffers accessors (see flatbuf.h). */
#include "flatbuf.h"

#include <stdio.h>
#include <string.h>

void fb_init(fb_buffer *fb, const uint8_t *data, size_t size) {
  fb->data = data;
  fb->size = size;
  fb->failed = false;
  fb->what[0] = '\0';
}

static void fail(fb_buffer *fb, const char *what, uint64_t pos) {
  if (!fb->failed)
    snprintf(fb->what, sizeof fb->what, "%s at byte %llu", what, (unsigned long long)pos);
  fb->failed = true;
}

/* True when [pos, pos + len) lies inside the buffer. */
static bool in_bounds(const fb_buffer *fb, uint64_t pos, uint64_t len) {
  return pos <= fb->size && len <= fb->size - pos;
}

static uint16_t rd16(const fb_buffer *fb, uint64_t pos) {
  uint16_t v;
  memcpy(&v, fb->data + pos, 2);
  return v;
}

static uint32_t rd32(const fb_buffer *fb, uint64_t pos) {
  uint32_t v;
  memcpy(&v, fb->data + pos, 4);
  return v;
}

fb_table fb_root(fb_buffer *fb, const char *ident) {
  if (!in_bounds(fb, 0, 8)) {
    fail(fb, "file shorter than a flatbuffer header", 0);
    return 0;
  }
  if (ident && memcmp(fb->data + 4, ident, 4) != 0) {
    fail(fb, "missing file identifier", 4);
    return 0;
  }
  uint32_t root = rd32(fb, 0);
  if (root < 8 || !in_bounds(fb, root, 4)) {
    fail(fb, "root table offset out of bounds", 0);
    return 0;
  }
  return root;
}

/* Position of a field's inline data, or 0 when absent or invalid. */
static uint64_t field_pos(fb_buffer *fb, fb_table t, int field, uint32_t width) {
  if (t == 0 || fb->failed) return 0;
  if (!in_bounds(fb, t, 4)) {
    fail(fb, "table out of bounds", t);
    return 0;
  }
  int32_t soff;
  uint32_t raw = rd32(fb, t);
  memcpy(&soff, &raw, 4);
  int64_t vt = (int64_t)t - (int64_t)soff;
  if (vt < 0 || !in_bounds(fb, (uint64_t)vt, 4)) {
    fail(fb, "vtable out of bounds", t);
    return 0;
  }
  uint16_t vt_size = rd16(fb, (uint64_t)vt);
  uint16_t tbl_size = rd16(fb, (uint64_t)vt + 2);
  if (vt_size < 4 || (vt_size & 1) || !in_bounds(fb, (uint64_t)vt, vt_size) ||
      !in_bounds(fb, t, tbl_size)) {
    fail(fb, "malformed vtable", (uint64_t)vt);
    return 0;
  }
  uint32_t slot = 4u + 2u * (uint32_t)field;
  if (field < 0 || slot + 2 > vt_size) return 0; /* field newer than the writer: absent */
  uint16_t off = rd16(fb, (uint64_t)vt + slot);
  if (off == 0) return 0;
  if ((uint32_t)off + width > tbl_size) {
    fail(fb, "field outside its table", t);
    return 0;
  }
  return (uint64_t)t + off;
}

bool fb_has(fb_buffer *fb, fb_table t, int field) { return field_pos(fb, t, field, 1) != 0; }

uint8_t fb_u8(fb_buffer *fb, fb_table t, int field, uint8_t def) {
  uint64_t p = field_pos(fb, t, field, 1);
  return p ? fb->data[p] : def;
}

int8_t fb_i8(fb_buffer *fb, fb_table t, int field, int8_t def) {
  uint64_t p = field_pos(fb, t, field, 1);
  return p ? (int8_t)fb->data[p] : def;
}

uint32_t fb_u32(fb_buffer *fb, fb_table t, int field, uint32_t def) {
  uint64_t p = field_pos(fb, t, field, 4);
  return p ? rd32(fb, p) : def;
}

int32_t fb_i32(fb_buffer *fb, fb_table t, int field, int32_t def) {
  uint64_t p = field_pos(fb, t, field, 4);
  if (!p) return def;
  int32_t v;
  memcpy(&v, fb->data + p, 4);
  return v;
}

uint64_t fb_u64(fb_buffer *fb, fb_table t, int field, uint64_t def) {
  uint64_t p = field_pos(fb, t, field, 8);
  if (!p) return def;
  uint64_t v;
  memcpy(&v, fb->data + p, 8);
  return v;
}

float fb_f32(fb_buffer *fb, fb_table t, int field, float def) {
  uint64_t p = field_pos(fb, t, field, 4);
  if (!p) return def;
  float v;
  memcpy(&v, fb->data + p, 4);
  return v;
}

/* Follows the uoffset stored at a field; 0 when absent or invalid. */
static uint64_t deref(fb_buffer *fb, fb_table t, int field) {
  uint64_t p = field_pos(fb, t, field, 4);
  if (!p) return 0;
  uint64_t target = p + rd32(fb, p);
  if (!in_bounds(fb, target, 4)) {
    fail(fb, "reference out of bounds", p);
    return 0;
  }
  return target;
}

fb_table fb_table_field(fb_buffer *fb, fb_table t, int field) {
  return (fb_table)deref(fb, t, field);
}

static fb_vector vector_at(fb_buffer *fb, uint64_t pos, uint32_t elem_size) {
  fb_vector v = {0, 0};
  if (!pos) return v;
  uint32_t count = rd32(fb, pos);
  if (!in_bounds(fb, pos + 4, (uint64_t)count * elem_size)) {
    fail(fb, "vector longer than the file", pos);
    return v;
  }
  v.pos = (uint32_t)(pos + 4);
  v.count = count;
  return v;
}

fb_vector fb_vector_field(fb_buffer *fb, fb_table t, int field, uint32_t elem_size) {
  return vector_at(fb, deref(fb, t, field), elem_size);
}

bool fb_string_field(fb_buffer *fb, fb_table t, int field, char *out, size_t out_size) {
  fb_vector v = vector_at(fb, deref(fb, t, field), 1);
  if (out_size) out[0] = '\0';
  if (!v.pos) return false;
  size_t n = v.count < out_size - 1 ? v.count : out_size - 1;
  memcpy(out, fb->data + v.pos, n);
  out[n] = '\0';
  return true;
}

static bool element_ok(fb_buffer *fb, fb_vector v, uint32_t i) {
  if (fb->failed) return false;
  if (i >= v.count) {
    fail(fb, "vector index out of range", v.pos);
    return false;
  }
  return true;
}

fb_table fb_vector_table(fb_buffer *fb, fb_vector v, uint32_t i) {
  if (!element_ok(fb, v, i)) return 0;
  uint64_t p = (uint64_t)v.pos + 4ull * i;
  uint64_t target = p + rd32(fb, p);
  if (!in_bounds(fb, target, 4)) {
    fail(fb, "table reference out of bounds", p);
    return 0;
  }
  return (fb_table)target;
}

int32_t fb_vector_i32(fb_buffer *fb, fb_vector v, uint32_t i) {
  if (!element_ok(fb, v, i)) return 0;
  int32_t x;
  memcpy(&x, fb->data + v.pos + 4ull * i, 4);
  return x;
}

int64_t fb_vector_i64(fb_buffer *fb, fb_vector v, uint32_t i) {
  if (!element_ok(fb, v, i)) return 0;
  int64_t x;
  memcpy(&x, fb->data + v.pos + 8ull * i, 8);
  return x;
}

float fb_vector_f32(fb_buffer *fb, fb_vector v, uint32_t i) {
  if (!element_ok(fb, v, i)) return 0;
  float x;
  memcpy(&x, fb->data + v.pos + 4ull * i, 4);
  return x;
}
