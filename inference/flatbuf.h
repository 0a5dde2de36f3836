/* flatbuf.h: bounds-checked reading of FlatBuffers binaries.
 *
 * Every accessor takes the whole buffer and checks each offset, length and
 * alignment against it before reading, so a crafted or truncated file can
 * only produce an error, never an out-of-bounds read. Tables, vectors and
 * strings are plain byte positions (uint32) into the buffer.
 */
#ifndef MN_FLATBUF_H
#define MN_FLATBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  const uint8_t *data;
  size_t size;
  bool failed;       /* set by any accessor that met an invalid offset */
  char what[128];    /* what the first failure was */
} fb_buffer;

/* A table position; 0 means "absent" (position 0 holds the root offset and
 * can never be a table). */
typedef uint32_t fb_table;

typedef struct {
  uint32_t pos;   /* position of the first element */
  uint32_t count; /* number of elements */
} fb_vector;

void fb_init(fb_buffer *fb, const uint8_t *data, size_t size);

/* Root table of the buffer; checks the 4-byte file identifier when ident is not NULL. */
fb_table fb_root(fb_buffer *fb, const char *ident);

/* Scalars of a table field: the default when the field is absent. */
uint8_t fb_u8(fb_buffer *fb, fb_table t, int field, uint8_t def);
int8_t fb_i8(fb_buffer *fb, fb_table t, int field, int8_t def);
int32_t fb_i32(fb_buffer *fb, fb_table t, int field, int32_t def);
uint32_t fb_u32(fb_buffer *fb, fb_table t, int field, uint32_t def);
uint64_t fb_u64(fb_buffer *fb, fb_table t, int field, uint64_t def);
float fb_f32(fb_buffer *fb, fb_table t, int field, float def);
bool fb_has(fb_buffer *fb, fb_table t, int field);

/* Referenced objects; absent fields give an empty vector / 0 table / NULL. */
fb_table fb_table_field(fb_buffer *fb, fb_table t, int field);
fb_vector fb_vector_field(fb_buffer *fb, fb_table t, int field, uint32_t elem_size);
/* A string field copied (truncated) into out; returns false when absent. */
bool fb_string_field(fb_buffer *fb, fb_table t, int field, char *out, size_t out_size);

/* Elements of a vector (index checked against count). */
fb_table fb_vector_table(fb_buffer *fb, fb_vector v, uint32_t i);
int32_t fb_vector_i32(fb_buffer *fb, fb_vector v, uint32_t i);
int64_t fb_vector_i64(fb_buffer *fb, fb_vector v, uint32_t i);
float fb_vector_f32(fb_buffer *fb, fb_vector v, uint32_t i);

#endif
