/* test_image_io.c: Check tests of app/image_io.c.
 *
 * Self-contained part: images are made in memory (TurboJPEG's compressor,
 * stb_image_write, and tiny PNG/BMP/GIF/PPM writers below) and written to a
 * temporary folder, so that messages can be checked for the file name.
 * The references marked "Pillow" were produced by Pillow 9.4
 * (Image.open(f).convert("RGB")), which is what the project's reference
 * classifications use.
 *
 * If $MOBILENET_SHARED (default: MN_DEFAULT_SHARED if the build defines it,
 * else ../shared relative to the current folder) exists, every photo in
 * images/photos and the 500 JPEGs in images/imagenet-sample are decoded too
 * and compared with hashes of Pillow's pixels.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb/stb_image_write.h>
#include <turbojpeg.h>

#include "../app/image_io.h"

static char tmpdir[256];
static char shared_dir[4096];

/* ---- helpers ------------------------------------------------------------ */

typedef struct {
  uint8_t *data;
  size_t size, cap;
} buffer;

static void buf_put(buffer *b, const void *p, size_t n)
{
  if (b->size + n > b->cap) {
    b->cap = (b->size + n) * 2 + 64;
    b->data = realloc(b->data, b->cap);
    ck_assert_ptr_nonnull(b->data);
  }
  if (n) memcpy(b->data + b->size, p, n);
  b->size += n;
}
static void buf_u8(buffer *b, unsigned v)
{
  uint8_t c = (uint8_t)v;
  buf_put(b, &c, 1);
}
static void buf_le16(buffer *b, unsigned v)
{
  buf_u8(b, v & 255);
  buf_u8(b, (v >> 8) & 255);
}
static void buf_le32(buffer *b, uint32_t v)
{
  buf_le16(b, v & 0xffff);
  buf_le16(b, v >> 16);
}
static void buf_be32(buffer *b, uint32_t v)
{
  buf_u8(b, v >> 24);
  buf_u8(b, (v >> 16) & 255);
  buf_u8(b, (v >> 8) & 255);
  buf_u8(b, v & 255);
}

/* $MOBILENET_IMAGE_CORPUS=DIR keeps a copy of every image file written here
 * (all formats, damaged ones too) in DIR: the seed corpus of scripts/fuzz. */
static const char *corpus_dir;

/* Writes data to tmpdir/name; returns the path (static, per call slot). */
static const char *write_tmp(const char *name, const void *data, size_t size)
{
  static char paths[8][512];
  static int slot;
  char *path = paths[slot++ % 8];
  snprintf(path, 512, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot create %s", path);
  if (size) ck_assert_uint_eq(fwrite(data, 1, size, f), size);
  ck_assert_int_eq(fclose(f), 0);
  if (corpus_dir && size <= 256 * 1024) {
    char copy[600];
    snprintf(copy, sizeof copy, "%s/%d-%s", corpus_dir, (int)getpid(), name);
    FILE *c = fopen(copy, "wb");
    if (c) {
      if (size) fwrite(data, 1, size, c);
      fclose(c);
    }
  }
  return path;
}

/* The file must be refused, with a message naming it (and containing
 * `cause` if not NULL); the same bytes from memory too. */
static void expect_refused(const char *name, const void *data, size_t size, const char *cause)
{
  const char *path = write_tmp(name, data, size);
  image_rgb img = {(uint8_t *)1, 7, 7};
  char err[IMAGE_ERROR_MAX] = "";
  ck_assert_msg(image_load_file(path, &img, err) == -1, "%s was accepted", path);
  ck_assert_msg(strstr(err, path) != NULL, "message does not name the file: %s", err);
  ck_assert_msg(!cause || strstr(err, cause), "expected \"%s\" in: %s", cause, err);
  ck_assert_msg(strchr(err, '\n') == NULL, "message on several lines: %s", err);
  ck_assert_ptr_null(img.pixels);
  ck_assert_int_eq(img.width, 0);
  ck_assert_int_eq(img.height, 0);
  image_free(&img);

  err[0] = '\0';
  ck_assert_int_eq(image_load_memory(data, size, "in-memory.img", &img, err), -1);
  ck_assert_msg(strstr(err, "in-memory.img") != NULL, "message does not name the buffer: %s", err);
  ck_assert_ptr_null(img.pixels);
}

/* Loads from memory; must not crash; if accepted the image must be sane. */
static int load_any(const uint8_t *data, size_t size, image_rgb *img)
{
  char err[IMAGE_ERROR_MAX] = "";
  int rc = image_load_memory(data, size, "fuzz.img", img, err);
  if (rc == 0) {
    ck_assert_ptr_nonnull(img->pixels);
    ck_assert(img->width > 0 && img->width <= IMAGE_MAX_SIDE);
    ck_assert(img->height > 0 && img->height <= IMAGE_MAX_SIDE);
    unsigned sum = 0; /* touch every byte (ASan/valgrind) */
    for (size_t i = 0; i < (size_t)img->width * (size_t)img->height * 3; i++) sum += img->pixels[i];
    (void)sum;
  } else {
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err, "fuzz.img: ") == err, "bad message: %s", err);
    ck_assert_ptr_null(img->pixels);
  }
  return rc;
}

static void load_ok(const char *path, image_rgb *img)
{
  char err[IMAGE_ERROR_MAX] = "";
  int rc = image_load_file(path, img, err);
  ck_assert_msg(rc == 0, "%s refused: %s", path, err);
  ck_assert_ptr_nonnull(img->pixels);
}

static void load_mem_ok(const uint8_t *data, size_t size, image_rgb *img)
{
  char err[IMAGE_ERROR_MAX] = "";
  int rc = image_load_memory(data, size, "mem", img, err);
  ck_assert_msg(rc == 0, "refused: %s", err);
}

static void expect_pixels(const image_rgb *img, int w, int h, const uint8_t *rgb)
{
  ck_assert_int_eq(img->width, w);
  ck_assert_int_eq(img->height, h);
  for (int i = 0; i < w * h * 3; i++)
    ck_assert_msg(img->pixels[i] == rgb[i], "pixel %d (%d,%d) channel %d: %d, expected %d", i / 3,
                  i / 3 % w, i / 3 / w, i % 3, img->pixels[i], rgb[i]);
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}
#define FNV_START 0xcbf29ce484222325ull

/* A smooth test picture, w x h RGB. */
static uint8_t *make_rgb(int w, int h)
{
  uint8_t *p = malloc((size_t)w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *o = p + 3 * ((size_t)y * w + x);
      o[0] = (uint8_t)(x * 255 / (w - 1));
      o[1] = (uint8_t)(y * 255 / (h - 1));
      o[2] = (uint8_t)(128 + (x - y) / 2);
    }
  return p;
}

static uint8_t *tj_compress(const uint8_t *px, int w, int h, int pf, int samp, int flags,
                            unsigned long *size)
{
  tjhandle tj = tjInitCompress();
  ck_assert_ptr_nonnull(tj);
  uint8_t *jpeg = NULL;
  *size = 0;
  ck_assert_msg(tjCompress2(tj, px, w, 0, h, pf, &jpeg, size, samp, 92, flags) == 0, "%s",
                tjGetErrorStr2(tj));
  tjDestroy(tj);
  uint8_t *copy = malloc(*size); /* plain malloc'd, like everything else here */
  memcpy(copy, jpeg, *size);
  tjFree(jpeg);
  return copy;
}

static uint8_t *tj_decompress(const uint8_t *jpeg, size_t size, int w, int h, int pf, int flags)
{
  tjhandle tj = tjInitDecompress();
  uint8_t *out = malloc((size_t)w * h * (size_t)tjPixelSize[pf]);
  ck_assert_msg(tjDecompress2(tj, jpeg, (unsigned long)size, out, w, 0, h, pf, flags) == 0, "%s",
                tjGetErrorStr2(tj));
  tjDestroy(tj);
  return out;
}

/* Offset of the first SOFn marker (FF C0..C2) in a JPEG. */
static size_t find_sof(const uint8_t *j, size_t n)
{
  for (size_t i = 2; i + 9 < n; i++)
    if (j[i] == 0xff && j[i + 1] >= 0xc0 && j[i + 1] <= 0xc2) return i;
  ck_abort_msg("no SOF marker");
  return 0;
}

/* ---- tiny writers ------------------------------------------------------- */

static uint32_t crc32_bitwise(const uint8_t *p, size_t n)
{
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return ~c;
}

static void png_chunk(buffer *b, const char *type, const uint8_t *data, size_t n)
{
  buf_be32(b, (uint32_t)n);
  size_t start = b->size;
  buf_put(b, type, 4);
  buf_put(b, data, n);
  buf_be32(b, crc32_bitwise(b->data + start, n + 4));
}

/* PNG with stored (uncompressed) deflate blocks; raw = scanlines, each
 * starting with its filter byte. */
static buffer png_build(uint32_t w, uint32_t h, int depth, int ctype, const uint8_t *raw,
                        size_t rawlen, const uint8_t *plte, size_t plte_len, const uint8_t *trns,
                        size_t trns_len)
{
  buffer b = {0};
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  buf_put(&b, sig, 8);
  uint8_t ihdr[13] = {(uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
                      (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h,
                      (uint8_t)depth,     (uint8_t)ctype,     0,                  0,
                      0};
  png_chunk(&b, "IHDR", ihdr, 13);
  if (plte) png_chunk(&b, "PLTE", plte, plte_len);
  if (trns) png_chunk(&b, "tRNS", trns, trns_len);
  if (raw) {
    buffer z = {0};
    buf_u8(&z, 0x78);
    buf_u8(&z, 0x01);
    size_t pos = 0;
    do {
      size_t n = rawlen - pos > 65535 ? 65535 : rawlen - pos;
      buf_u8(&z, pos + n == rawlen ? 1 : 0);
      buf_le16(&z, (unsigned)n);
      buf_le16(&z, (unsigned)~n & 0xffff);
      buf_put(&z, raw + pos, n);
      pos += n;
    } while (pos < rawlen);
    uint32_t a = 1, s = 0;
    for (size_t i = 0; i < rawlen; i++) {
      a = (a + raw[i]) % 65521;
      s = (s + a) % 65521;
    }
    buf_be32(&z, s << 16 | a);
    png_chunk(&b, "IDAT", z.data, z.size);
    free(z.data);
  }
  png_chunk(&b, "IEND", NULL, 0);
  return b;
}

/* BMP with a 40-byte header; rows given top first, as bytes of one row
 * (without padding). */
static buffer bmp_build(int w, int h, int bpp, int topdown, const uint8_t *rows, size_t row_bytes,
                        const uint8_t *palette_rgb, int ncolors, uint32_t compression,
                        const uint32_t *masks)
{
  buffer b = {0};
  size_t stride = ((size_t)w * (size_t)bpp + 31) / 32 * 4;
  uint32_t offset = 14 + 40 + (masks ? 12 : 0) + 4 * (uint32_t)ncolors;
  buf_put(&b, "BM", 2);
  buf_le32(&b, offset + (uint32_t)(stride * (size_t)h));
  buf_le32(&b, 0);
  buf_le32(&b, offset);
  buf_le32(&b, 40);
  buf_le32(&b, (uint32_t)w);
  buf_le32(&b, (uint32_t)(topdown ? -h : h));
  buf_le16(&b, 1);
  buf_le16(&b, (unsigned)bpp);
  buf_le32(&b, compression);
  buf_le32(&b, (uint32_t)(stride * (size_t)h));
  buf_le32(&b, 2835);
  buf_le32(&b, 2835);
  buf_le32(&b, (uint32_t)ncolors);
  buf_le32(&b, 0);
  if (masks)
    for (int i = 0; i < 3; i++) buf_le32(&b, masks[i]);
  for (int i = 0; i < ncolors; i++) {
    buf_u8(&b, palette_rgb[3 * i + 2]);
    buf_u8(&b, palette_rgb[3 * i + 1]);
    buf_u8(&b, palette_rgb[3 * i]);
    buf_u8(&b, 0);
  }
  static const uint8_t zeros[4] = {0};
  for (int r = 0; r < h; r++) {
    int y = topdown ? r : h - 1 - r;
    buf_put(&b, rows + (size_t)y * row_bytes, row_bytes);
    buf_put(&b, zeros, stride - row_bytes);
  }
  return b;
}

/* GIF89a with a 4-colour global palette; the LZW stream sends a clear code
 * after every two pixels so that the code width stays 3 bits. */
static buffer gif_build(int w, int h, const uint8_t pal[12], const uint8_t *index)
{
  buffer b = {0};
  buf_put(&b, "GIF89a", 6);
  buf_le16(&b, (unsigned)w);
  buf_le16(&b, (unsigned)h);
  buf_u8(&b, 0x81); /* global palette of 2^(1+1) colours */
  buf_u8(&b, 0);
  buf_u8(&b, 0);
  buf_put(&b, pal, 12);
  buf_u8(&b, 0x2c);
  buf_le16(&b, 0);
  buf_le16(&b, 0);
  buf_le16(&b, (unsigned)w);
  buf_le16(&b, (unsigned)h);
  buf_u8(&b, 0);
  buf_u8(&b, 2); /* LZW minimum code size: clear = 4, end = 5 */
  buffer lzw = {0};
  uint32_t acc = 0;
  int nbits = 0;
#define PUT_CODE(c)                   \
  do {                                \
    acc |= (uint32_t)(c) << nbits;    \
    nbits += 3;                       \
    while (nbits >= 8) {              \
      buf_u8(&lzw, acc & 255);        \
      acc >>= 8;                      \
      nbits -= 8;                     \
    }                                 \
  } while (0)
  for (int i = 0; i < w * h; i++) {
    if (i % 2 == 0) PUT_CODE(4);
    PUT_CODE(index[i]);
  }
  PUT_CODE(5);
  if (nbits) buf_u8(&lzw, acc & 255);
#undef PUT_CODE
  for (size_t pos = 0; pos < lzw.size; pos += 255) {
    size_t n = lzw.size - pos > 255 ? 255 : lzw.size - pos;
    buf_u8(&b, (unsigned)n);
    buf_put(&b, lzw.data + pos, n);
  }
  buf_u8(&b, 0);
  buf_u8(&b, 0x3b);
  free(lzw.data);
  return b;
}

static void stbw_to_buffer(void *ctx, void *data, int size)
{
  buf_put(ctx, data, (size_t)size);
}

/* ---- Pillow references (Pillow 9.4 made and decoded these) ---------------- */

static const uint8_t pil_jpeg_420[763] = {
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x03, 0x02, 0x02, 0x03, 0x02, 0x02, 0x03,
    0x03, 0x03, 0x03, 0x04, 0x03, 0x03, 0x04, 0x05, 0x08, 0x05, 0x05, 0x04, 0x04, 0x05, 0x0a, 0x07,
    0x07, 0x06, 0x08, 0x0c, 0x0a, 0x0c, 0x0c, 0x0b, 0x0a, 0x0b, 0x0b, 0x0d, 0x0e, 0x12, 0x10, 0x0d,
    0x0e, 0x11, 0x0e, 0x0b, 0x0b, 0x10, 0x16, 0x10, 0x11, 0x13, 0x14, 0x15, 0x15, 0x15, 0x0c, 0x0f,
    0x17, 0x18, 0x16, 0x14, 0x18, 0x12, 0x14, 0x15, 0x14, 0xff, 0xdb, 0x00, 0x43, 0x01, 0x03, 0x04,
    0x04, 0x05, 0x04, 0x05, 0x09, 0x05, 0x05, 0x09, 0x14, 0x0d, 0x0b, 0x0d, 0x14, 0x14, 0x14, 0x14,
    0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14,
    0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14,
    0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0xff, 0xc0,
    0x00, 0x11, 0x08, 0x00, 0x0b, 0x00, 0x0d, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11,
    0x01, 0xff, 0xc4, 0x00, 0x1f, 0x00, 0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
    0x0a, 0x0b, 0xff, 0xc4, 0x00, 0xb5, 0x10, 0x00, 0x02, 0x01, 0x03, 0x03, 0x02, 0x04, 0x03, 0x05,
    0x05, 0x04, 0x04, 0x00, 0x00, 0x01, 0x7d, 0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21,
    0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23,
    0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17,
    0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a,
    0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a,
    0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
    0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
    0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
    0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5,
    0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1,
    0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xff, 0xc4, 0x00, 0x1f, 0x01, 0x00, 0x03,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0xff, 0xc4, 0x00, 0xb5, 0x11, 0x00,
    0x02, 0x01, 0x02, 0x04, 0x04, 0x03, 0x04, 0x07, 0x05, 0x04, 0x04, 0x00, 0x01, 0x02, 0x77, 0x00,
    0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13,
    0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15,
    0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27,
    0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88,
    0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
    0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4,
    0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
    0xfa, 0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00, 0xf1,
    0x0f, 0x86, 0xbf, 0xb3, 0x66, 0x26, 0x8b, 0xfd, 0x17, 0xb8, 0xfe, 0x1a, 0xf7, 0x9f, 0x0a, 0xfc,
    0x07, 0xb6, 0x8a, 0xc6, 0x49, 0xae, 0x22, 0x64, 0x13, 0x39, 0x29, 0xb9, 0x09, 0x38, 0xf4, 0xe3,
    0x3d, 0x01, 0x15, 0xef, 0xbe, 0x17, 0xd1, 0x2c, 0x22, 0xd3, 0x24, 0x64, 0xb5, 0x8c, 0x12, 0x15,
    0x7a, 0x76, 0x24, 0x03, 0xfa, 0x1a, 0xd2, 0xf8, 0xa9, 0xab, 0x5c, 0xf8, 0x52, 0xcb, 0x40, 0x8f,
    0x4a, 0x31, 0xda, 0xa4, 0xd1, 0xca, 0xce, 0x3c, 0x94, 0x7c, 0x90, 0x57, 0x1f, 0x78, 0x1a, 0xf9,
    0x8c, 0xc7, 0x8c, 0xb1, 0x79, 0x2d, 0x4a, 0x58, 0x3c, 0x0c, 0x53, 0xa8, 0xa3, 0xce, 0xb9, 0xee,
    0xe0, 0xdc, 0x9b, 0x8a, 0xbd, 0x9a, 0x7a, 0x46, 0x13, 0xdb, 0xac, 0xa3, 0xd2, 0xe7, 0x87, 0xc2,
    0x3e, 0x28, 0xcf, 0x23, 0xc9, 0xea, 0x66, 0xb8, 0xc5, 0x27, 0x4e, 0x09, 0x5d, 0x46, 0xce, 0x5a,
    0xb5, 0x1d, 0x2e, 0xd2, 0xde, 0x4a, 0xfa, 0xed, 0x73, 0xff, 0xd9,
};
static const uint8_t pil_jpeg_420_rgb[429] = {
    0x02, 0x04, 0x00, 0x0d, 0x08, 0x0c, 0x1b, 0x08, 0x1c, 0x2e, 0x09, 0x2b, 0x48, 0x0a, 0x39, 0x5a,
    0x08, 0x50, 0x6d, 0x07, 0x75, 0x83, 0x0b, 0x91, 0x9d, 0x0f, 0xa3, 0xa8, 0x13, 0x93, 0xa5, 0x11,
    0x5f, 0xba, 0x13, 0x63, 0xe1, 0x0d, 0x95, 0x0b, 0x19, 0x0c, 0x16, 0x1d, 0x16, 0x24, 0x1d, 0x25,
    0x39, 0x1d, 0x34, 0x4e, 0x1f, 0x43, 0x63, 0x1d, 0x5b, 0x76, 0x1c, 0x80, 0x8d, 0x1f, 0x9a, 0xa1,
    0x1e, 0x9e, 0xa3, 0x13, 0x84, 0xae, 0x1a, 0x66, 0xcb, 0x24, 0x76, 0xe7, 0x1f, 0xa3, 0x0c, 0x33,
    0x14, 0x16, 0x37, 0x1c, 0x29, 0x37, 0x2a, 0x3b, 0x37, 0x38, 0x50, 0x3a, 0x47, 0x62, 0x38, 0x5e,
    0x79, 0x36, 0x86, 0x92, 0x38, 0x98, 0xb1, 0x40, 0x9a, 0xa7, 0x22, 0x73, 0xc1, 0x2e, 0x72, 0xdc,
    0x39, 0x8c, 0xec, 0x39, 0xb7, 0x0e, 0x4b, 0x1f, 0x1b, 0x4d, 0x28, 0x2c, 0x4c, 0x35, 0x40, 0x4d,
    0x44, 0x52, 0x50, 0x55, 0x64, 0x50, 0x6c, 0x78, 0x4d, 0x92, 0x93, 0x50, 0x9d, 0xb1, 0x57, 0x8d,
    0xaa, 0x39, 0x67, 0xc9, 0x43, 0x78, 0xdc, 0x48, 0x96, 0xeb, 0x50, 0xc6, 0x15, 0x62, 0x2e, 0x21,
    0x64, 0x3b, 0x35, 0x60, 0x4d, 0x47, 0x61, 0x5e, 0x58, 0x65, 0x6e, 0x69, 0x66, 0x85, 0x7b, 0x65,
    0xa6, 0x96, 0x6a, 0xa9, 0xb0, 0x6f, 0x87, 0xb9, 0x61, 0x6f, 0xd1, 0x64, 0x84, 0xde, 0x62, 0xa1,
    0xef, 0x6a, 0xd5, 0x1a, 0x76, 0x43, 0x26, 0x79, 0x4f, 0x3a, 0x75, 0x61, 0x4b, 0x75, 0x73, 0x5d,
    0x7a, 0x82, 0x6c, 0x7a, 0x97, 0x7e, 0x7a, 0xb5, 0x97, 0x81, 0xaf, 0x98, 0x6d, 0x64, 0xb2, 0x74,
    0x5f, 0xc8, 0x76, 0x84, 0xdc, 0x7a, 0xa1, 0xf3, 0x82, 0xb6, 0x1d, 0x8b, 0x5c, 0x29, 0x8e, 0x66,
    0x3d, 0x8b, 0x73, 0x50, 0x8c, 0x82, 0x63, 0x8f, 0x92, 0x73, 0x8f, 0xa5, 0x84, 0x92, 0xc1, 0x9b,
    0x9b, 0xb3, 0x9f, 0x8d, 0x5b, 0xb9, 0x96, 0x5c, 0xc4, 0x93, 0x8f, 0xe0, 0x9a, 0x9c, 0xea, 0x8d,
    0x61, 0x1e, 0xa3, 0x6e, 0x2b, 0xa5, 0x76, 0x3f, 0xa3, 0x7f, 0x52, 0xa4, 0x8d, 0x67, 0xa5, 0xa0,
    0x76, 0xa7, 0xae, 0x87, 0xaa, 0xbe, 0xa1, 0xb5, 0xac, 0xa2, 0xa5, 0x58, 0xbb, 0xab, 0x5d, 0xc6,
    0xa6, 0x97, 0xeb, 0xb8, 0xa3, 0xec, 0xa2, 0x41, 0x1d, 0xba, 0x75, 0x2c, 0xc1, 0x7f, 0x3d, 0xbd,
    0x84, 0x53, 0xbe, 0x94, 0x66, 0xbd, 0xaa, 0x79, 0xc0, 0xb2, 0x8f, 0xca, 0xae, 0x8a, 0xb2, 0x7e,
    0xaa, 0xba, 0x61, 0xc2, 0xbc, 0x6e, 0xd8, 0xbd, 0xa8, 0xf1, 0xc5, 0xa8, 0xf2, 0xbc, 0x50, 0x1f,
    0xd6, 0x84, 0x2f, 0xdc, 0x8d, 0x41, 0xd6, 0x92, 0x57, 0xd6, 0xa1, 0x6e, 0xd4, 0xbc, 0x82, 0xd8,
    0xb5, 0x94, 0xdd, 0x8c, 0x96, 0xcd, 0x65, 0xb2, 0xcf, 0x65, 0xcc, 0xd2, 0x7a, 0xe6, 0xda, 0xa6,
    0xf0, 0xe5, 0xa5, 0xd1, 0xd9, 0x60, 0x1b, 0xed, 0x94, 0x2b, 0xef, 0x9b, 0x45, 0xeb, 0xa3, 0x5b,
    0xe5, 0xb1, 0x75, 0xe5, 0xcd, 0x8c, 0xe9, 0xb4, 0x97, 0xe6, 0x59, 0xa5, 0xe4, 0x3e, 0xc1, 0xe8,
    0x6b, 0xd3, 0xe9, 0x7c, 0xe5, 0xef, 0x7f, 0xc3, 0xeb, 0x71, 0x5e, 0xcd, 0x43,
};
static const uint8_t pil_jpeg_cmyk[418] = {
    0xff, 0xd8, 0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x02, 0x01, 0x01, 0x01, 0x01, 0x01, 0x02, 0x01, 0x01,
    0x01, 0x02, 0x02, 0x02, 0x02, 0x02, 0x04, 0x03, 0x02, 0x02, 0x02, 0x02, 0x05, 0x04, 0x04, 0x03,
    0x04, 0x06, 0x05, 0x06, 0x06, 0x06, 0x05, 0x06, 0x06, 0x06, 0x07, 0x09, 0x08, 0x06, 0x07, 0x09,
    0x07, 0x06, 0x06, 0x08, 0x0b, 0x08, 0x09, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x06, 0x08, 0x0b, 0x0c,
    0x0b, 0x0a, 0x0c, 0x09, 0x0a, 0x0a, 0x0a, 0xff, 0xc0, 0x00, 0x14, 0x08, 0x00, 0x06, 0x00, 0x07,
    0x04, 0x43, 0x11, 0x00, 0x4d, 0x11, 0x00, 0x59, 0x11, 0x00, 0x4b, 0x11, 0x00, 0xff, 0xc4, 0x00,
    0x1f, 0x00, 0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0xff, 0xc4,
    0x00, 0xb5, 0x10, 0x00, 0x02, 0x01, 0x03, 0x03, 0x02, 0x04, 0x03, 0x05, 0x05, 0x04, 0x04, 0x00,
    0x00, 0x01, 0x7d, 0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13,
    0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15,
    0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25,
    0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46,
    0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66,
    0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86,
    0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4,
    0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2,
    0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9,
    0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5,
    0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xff, 0xda, 0x00, 0x0e, 0x04, 0x43, 0x00, 0x4d, 0x00, 0x59, 0x00,
    0x4b, 0x00, 0x00, 0x3f, 0x00, 0xfb, 0xf3, 0xfe, 0x0a, 0x81, 0xff, 0x00, 0x21, 0x99, 0xff, 0x00,
    0xeb, 0xe8, 0x7f, 0xe8, 0x55, 0xf6, 0xef, 0xfc, 0x3d, 0x23, 0xe2, 0x4f, 0xfc, 0xf3, 0xbc, 0xff,
    0x00, 0xbf, 0x83, 0xfc, 0x6b, 0xf4, 0x53, 0xe3, 0xb7, 0xed, 0x3b, 0xe2, 0x3f, 0xb4, 0xbf, 0xcb,
    0x37, 0xfa, 0xcf, 0xef, 0x0f, 0x5f, 0xad, 0x7e, 0xa9, 0xfe, 0xda, 0x7f, 0xb6, 0x0f, 0x8a, 0xfe,
    0x03, 0xea, 0x12, 0xdb, 0x68, 0x8b, 0x39, 0x09, 0x30, 0x51, 0xe5, 0xb8, 0x1d, 0xf1, 0xeb, 0x5f,
    0xff, 0xd9,
};
static const uint8_t pil_jpeg_cmyk_rgb[126] = {
    0xff, 0xff, 0xff, 0xec, 0xff, 0xf7, 0xd8, 0xfe, 0xf0, 0xc6, 0xff, 0xea, 0xb4, 0xff, 0xe3, 0x9f,
    0xfe, 0xdb, 0x8d, 0xff, 0xd5, 0xfe, 0xe7, 0xf4, 0xe9, 0xe5, 0xe9, 0xd1, 0xe0, 0xde, 0xbd, 0xdd,
    0xd5, 0xa9, 0xda, 0xcb, 0x93, 0xd5, 0xc0, 0x80, 0xd2, 0xb7, 0xfe, 0xd0, 0xe8, 0xe6, 0xcb, 0xdb,
    0xcb, 0xc3, 0xcc, 0xb3, 0xbd, 0xc0, 0x9e, 0xb8, 0xb4, 0x86, 0xaf, 0xa6, 0x72, 0xaa, 0x9b, 0xfe,
    0xb9, 0xdd, 0xe1, 0xb1, 0xcc, 0xc4, 0xa8, 0xbc, 0xa9, 0x9f, 0xac, 0x93, 0x98, 0x9e, 0x7a, 0x8e,
    0x8f, 0x66, 0x86, 0x82, 0xff, 0xa3, 0xd4, 0xdf, 0x9a, 0xc1, 0xbf, 0x8f, 0xae, 0xa1, 0x84, 0x9b,
    0x88, 0x7b, 0x8b, 0x6e, 0x70, 0x79, 0x58, 0x66, 0x6a, 0xfd, 0x8b, 0xc6, 0xd9, 0x80, 0xaf, 0xb6,
    0x75, 0x9b, 0x97, 0x6b, 0x87, 0x7c, 0x60, 0x75, 0x61, 0x55, 0x64, 0x4b, 0x4b, 0x54,
};

/* ---- JPEG --------------------------------------------------------------- */

START_TEST(jpeg_rgb_decodes)
{
  const int w = 67, h = 45;
  uint8_t *src = make_rgb(w, h);
  unsigned long size;
  uint8_t *jpeg = tj_compress(src, w, h, TJPF_RGB, TJSAMP_420, 0, &size);
  const char *path = write_tmp("picture.jpg", jpeg, size);

  image_rgb img;
  load_ok(path, &img);
  ck_assert_int_eq(img.width, w);
  ck_assert_int_eq(img.height, h);
  long total = 0;
  int worst = 0;
  for (int i = 0; i < w * h * 3; i++) {
    int d = abs(img.pixels[i] - src[i]);
    total += d;
    if (d > worst) worst = d;
  }
  ck_assert_msg(worst <= 40 && total <= 2L * w * h * 3, "max diff %d, mean %.2f", worst,
                (double)total / (w * h * 3));

  /* Exactly TurboJPEG with the accurate IDCT and fancy upsampling... */
  uint8_t *ref = tj_decompress(jpeg, size, w, h, TJPF_RGB, TJFLAG_ACCURATEDCT);
  expect_pixels(&img, w, h, ref);
  /* ...which is not what the fast settings give (the test can tell). */
  uint8_t *fast = tj_decompress(jpeg, size, w, h, TJPF_RGB, TJFLAG_FASTDCT | TJFLAG_FASTUPSAMPLE);
  ck_assert(memcmp(fast, ref, (size_t)w * h * 3) != 0);

  image_rgb mem;
  load_mem_ok(jpeg, size, &mem);
  expect_pixels(&mem, w, h, img.pixels);
  image_free(&mem);
  image_free(&img);
  ck_assert_ptr_null(img.pixels);
  free(fast);
  free(ref);
  free(jpeg);
  free(src);
}
END_TEST

START_TEST(jpeg_matches_pillow)
{
  /* 13x11 4:2:0 and 7x6 Adobe CMYK, made and decoded by Pillow 9.4. */
  image_rgb img;
  load_ok(write_tmp("pil420.jpg", pil_jpeg_420, sizeof pil_jpeg_420), &img);
  expect_pixels(&img, 13, 11, pil_jpeg_420_rgb);
  image_free(&img);
  load_ok(write_tmp("pilcmyk.jpg", pil_jpeg_cmyk, sizeof pil_jpeg_cmyk), &img);
  expect_pixels(&img, 7, 6, pil_jpeg_cmyk_rgb);
  image_free(&img);
}
END_TEST

START_TEST(jpeg_progressive_decodes)
{
  const int w = 40, h = 33;
  uint8_t *src = make_rgb(w, h);
  unsigned long size;
  uint8_t *jpeg = tj_compress(src, w, h, TJPF_RGB, TJSAMP_422, TJFLAG_PROGRESSIVE, &size);
  image_rgb img;
  load_ok(write_tmp("progressive.jpg", jpeg, size), &img);
  uint8_t *ref = tj_decompress(jpeg, size, w, h, TJPF_RGB, TJFLAG_ACCURATEDCT);
  expect_pixels(&img, w, h, ref);
  image_free(&img);
  free(ref);
  free(jpeg);
  free(src);
}
END_TEST

START_TEST(jpeg_gray_is_three_equal_channels)
{
  const int w = 31, h = 17;
  uint8_t *gray = malloc((size_t)w * h);
  for (int i = 0; i < w * h; i++) gray[i] = (uint8_t)(i * 7);
  unsigned long size;
  uint8_t *jpeg = tj_compress(gray, w, h, TJPF_GRAY, TJSAMP_GRAY, 0, &size);
  image_rgb img;
  load_ok(write_tmp("gray.jpg", jpeg, size), &img);
  ck_assert_int_eq(img.width, w);
  ck_assert_int_eq(img.height, h);
  uint8_t *ref = tj_decompress(jpeg, size, w, h, TJPF_GRAY, TJFLAG_ACCURATEDCT);
  for (int i = 0; i < w * h; i++) {
    ck_assert_int_eq(img.pixels[3 * i], ref[i]);
    ck_assert_int_eq(img.pixels[3 * i + 1], ref[i]);
    ck_assert_int_eq(img.pixels[3 * i + 2], ref[i]);
  }
  image_free(&img);
  free(ref);
  free(jpeg);
  free(gray);
}
END_TEST

START_TEST(jpeg_cmyk_converted_like_pillow)
{
  /* TurboJPEG compresses TJPF_CMYK into an Adobe YCCK JPEG and gives the
   * same (stored, i.e. inverted) values back on decompression. Pillow reads
   * them as inverted CMYK: C = 255 - c, K = 255 - k, R = k - C*k/255. */
  const int w = 16, h = 16;
  uint8_t *cmyk = malloc((size_t)w * h * 4);
  for (int i = 0; i < w * h; i++) {
    int x = i % w, y = i / w;
    cmyk[4 * i] = (uint8_t)(x * 16);
    cmyk[4 * i + 1] = (uint8_t)(40 + y * 4);
    cmyk[4 * i + 2] = (uint8_t)(255 - x * 8);
    cmyk[4 * i + 3] = (uint8_t)(y < 8 ? 255 : 100 + x * 4); /* 255: no black ink */
  }
  unsigned long size;
  uint8_t *jpeg = tj_compress(cmyk, w, h, TJPF_CMYK, TJSAMP_444, 0, &size);
  image_rgb img;
  load_ok(write_tmp("ycck.jpg", jpeg, size), &img);
  ck_assert_int_eq(img.width, w);
  ck_assert_int_eq(img.height, h);
  uint8_t *dec = tj_decompress(jpeg, size, w, h, TJPF_CMYK, TJFLAG_ACCURATEDCT);
  for (int i = 0; i < w * h; i++) {
    unsigned k = dec[4 * i + 3];
    for (int c = 0; c < 3; c++) {
      unsigned t = (255u - dec[4 * i + c]) * k + 128;
      unsigned expect = k - (((t >> 8) + t) >> 8); /* Pillow's cmyk2rgb */
      ck_assert_int_eq(img.pixels[3 * i + c], expect);
    }
  }
  /* Top half: k = 255 (no black ink), so RGB is about the stored c, m, y. */
  for (int i = 0; i < w * 8; i++)
    for (int c = 0; c < 3; c++)
      ck_assert_msg(abs(img.pixels[3 * i + c] - cmyk[4 * i + c]) <= 6, "pixel %d: %d vs %d", i,
                    img.pixels[3 * i + c], cmyk[4 * i + c]);
  image_free(&img);
  free(dec);
  free(jpeg);
  free(cmyk);
}
END_TEST

START_TEST(jpeg_unusual_sampling_decodes)
{
  /* Sampling factors TurboJPEG 2.1 has no name for (luma 3x1): its header
   * function fails, libjpeg and Pillow decode the file. */
  const int w = 48, h = 16;
  uint8_t *src = make_rgb(w, h);
  unsigned long size;
  uint8_t *jpeg = tj_compress(src, w, h, TJPF_RGB, TJSAMP_444, 0, &size);
  size_t sof = find_sof(jpeg, size);
  ck_assert_int_eq(jpeg[sof + 11], 0x11);
  jpeg[sof + 11] = 0x31;
  image_rgb img;
  load_ok(write_tmp("sampling31.jpg", jpeg, size), &img);
  ck_assert_int_eq(img.width, w);
  ck_assert_int_eq(img.height, h);
  image_free(&img);
  free(jpeg);
  free(src);
}
END_TEST

START_TEST(jpeg_truncated_refused)
{
  const int w = 40, h = 30;
  uint8_t *src = make_rgb(w, h);
  unsigned long size;
  uint8_t *jpeg = tj_compress(src, w, h, TJPF_RGB, TJSAMP_420, 0, &size);
  uint8_t *prog = NULL;
  unsigned long psize;
  prog = tj_compress(src, w, h, TJPF_RGB, TJSAMP_420, TJFLAG_PROGRESSIVE, &psize);

  /* Files on disk at a few lengths: the message names the file. */
  expect_refused("cut2.jpg", jpeg, 2, NULL);
  expect_refused("cut3.jpg", jpeg, 3, "truncated JPEG");
  expect_refused("cut100.jpg", jpeg, 100, "truncated JPEG");
  expect_refused("cut_header.jpg", jpeg, size / 3, "truncated JPEG");
  expect_refused("cut_data.jpg", jpeg, size - 10, "truncated JPEG: Premature end of JPEG file");
  expect_refused("cut_end.jpg", jpeg, size - 1, "truncated JPEG");
  /* Pillow refuses a JPEG missing only its end-of-image marker too. */
  expect_refused("no_eoi.jpg", jpeg, size - 2, "truncated JPEG");
  expect_refused("prog_half.jpg", prog, psize / 2, "truncated JPEG");
  expect_refused("prog_no_eoi.jpg", prog, psize - 2, "truncated JPEG");

  /* Every prefix, from memory. */
  for (size_t n = 1; n < size; n++) {
    image_rgb img;
    ck_assert_msg(load_any(jpeg, n, &img) == -1, "baseline JPEG cut at %zu of %lu accepted", n,
                  size);
  }
  for (size_t n = 1; n < psize; n++) {
    image_rgb img;
    ck_assert_msg(load_any(prog, n, &img) == -1, "progressive JPEG cut at %zu of %lu accepted",
                  n, psize);
  }
  /* Data after the end-of-image marker is ignored. */
  uint8_t *longer = malloc(size + 100);
  memcpy(longer, jpeg, size);
  memset(longer + size, 'x', 100);
  image_rgb img;
  load_mem_ok(longer, size + 100, &img);
  image_free(&img);
  free(longer);
  free(prog);
  free(jpeg);
  free(src);
}
END_TEST

START_TEST(jpeg_corrupt_refused)
{
  const int w = 40, h = 30;
  uint8_t *src = make_rgb(w, h);
  unsigned long size;
  uint8_t *jpeg = tj_compress(src, w, h, TJPF_RGB, TJSAMP_420, 0, &size);
  size_t sof = find_sof(jpeg, size);
  uint8_t *bad = malloc(size);

  memcpy(bad, jpeg, size);
  bad[sof + 4] ^= 0xff; /* sample precision 8 -> 247 */
  expect_refused("precision.jpg", bad, size, "corrupt JPEG: Unsupported JPEG data precision 247");

  memcpy(bad, jpeg, size);
  bad[sof + 9] ^= 0xff; /* number of components 3 -> 252 */
  expect_refused("components.jpg", bad, size, "corrupt JPEG");

  memcpy(bad, jpeg, size);
  bad[sof + 1] ^= 0xff; /* SOF0 -> reserved marker 0x3f */
  expect_refused("marker.jpg", bad, size, "corrupt JPEG");

  /* Every byte flipped in turn: never a crash; accepted images are sane.
   * (A flip in the entropy-coded data gives a libjpeg warning and a
   * damaged but complete image, which Pillow accepts too.) */
  int refused = 0;
  for (size_t i = 0; i < size; i++) {
    memcpy(bad, jpeg, size);
    bad[i] ^= 0xff;
    image_rgb img;
    if (load_any(bad, size, &img) != 0) refused++;
    image_free(&img);
  }
  ck_assert_int_gt(refused, 10);
  free(bad);
  free(jpeg);
  free(src);
}
END_TEST

START_TEST(jpeg_flip_fuzz_other_kinds)
{
  /* Progressive, grayscale and CMYK JPEGs with every byte flipped. */
  const int w = 24, h = 20;
  uint8_t *src = make_rgb(w, h);
  uint8_t *cmyk = malloc((size_t)w * h * 4);
  for (int i = 0; i < w * h * 4; i++) cmyk[i] = (uint8_t)(i * 3);
  unsigned long sizes[3];
  uint8_t *jpegs[3] = {
      tj_compress(src, w, h, TJPF_RGB, TJSAMP_420, TJFLAG_PROGRESSIVE, &sizes[0]),
      tj_compress(src, w, h, TJPF_RGB, TJSAMP_GRAY, 0, &sizes[1]),
      tj_compress(cmyk, w, h, TJPF_CMYK, TJSAMP_420, 0, &sizes[2]),
  };
  for (int k = 0; k < 3; k++) {
    uint8_t *bad = malloc(sizes[k]);
    for (size_t i = 0; i < sizes[k]; i++) {
      memcpy(bad, jpegs[k], sizes[k]);
      bad[i] ^= 0xff;
      image_rgb img;
      load_any(bad, sizes[k], &img);
      image_free(&img);
    }
    free(bad);
    free(jpegs[k]);
  }
  free(cmyk);
  free(src);
}
END_TEST

/* ---- PNG ---------------------------------------------------------------- */

START_TEST(png_exact)
{
  const int w = 5, h = 3;
  uint8_t rgba[5 * 3 * 4], rgb[5 * 3 * 3], gray[5 * 3], gray_rgb[5 * 3 * 3];
  for (int i = 0; i < w * h; i++) {
    rgba[4 * i] = rgb[3 * i] = (uint8_t)(i * 17);
    rgba[4 * i + 1] = rgb[3 * i + 1] = (uint8_t)(255 - i * 9);
    rgba[4 * i + 2] = rgb[3 * i + 2] = (uint8_t)(i * i);
    rgba[4 * i + 3] = (uint8_t)(i * 16); /* alpha: dropped, not composited */
    gray[i] = (uint8_t)(i * 18);
    gray_rgb[3 * i] = gray_rgb[3 * i + 1] = gray_rgb[3 * i + 2] = gray[i];
  }
  struct {
    const char *name;
    int comp;
    const uint8_t *src;
    const uint8_t *expect;
  } cases[] = {
      {"rgb.png", 3, rgb, rgb},
      {"rgba.png", 4, rgba, rgb},
      {"gray.png", 1, gray, gray_rgb},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    buffer b = {0};
    ck_assert(stbi_write_png_to_func(stbw_to_buffer, &b, w, h, cases[c].comp, cases[c].src,
                                     w * cases[c].comp));
    image_rgb img;
    load_ok(write_tmp(cases[c].name, b.data, b.size), &img);
    expect_pixels(&img, w, h, cases[c].expect);
    image_free(&img);
    free(b.data);
  }
}
END_TEST

START_TEST(png_special_kinds_like_pillow)
{
  image_rgb img;
  /* Palette with transparency: the palette colours. */
  {
    const uint8_t plte[9] = {10, 20, 30, 200, 100, 0, 0, 0, 255};
    const uint8_t trns[2] = {0, 128};
    const uint8_t raw[] = {0, 0, 1, 2, 2, 0, 2, 1, 0, 1};
    buffer b = png_build(4, 2, 8, 3, raw, sizeof raw, plte, 9, trns, 2);
    load_ok(write_tmp("palette.png", b.data, b.size), &img);
    const uint8_t want[] = {10, 20, 30,  200, 100, 0, 0, 0, 255, 0,   0, 255,
                            0,  0,  255, 200, 100, 0, 10, 20, 30, 200, 100, 0};
    expect_pixels(&img, 4, 2, want);
    image_free(&img);
    free(b.data);
  }
  /* 2-bit grayscale: 0, 85, 170, 255. */
  {
    const uint8_t raw[] = {0, 0x1b}; /* 00 01 10 11 */
    buffer b = png_build(4, 1, 2, 0, raw, sizeof raw, NULL, 0, NULL, 0);
    load_ok(write_tmp("gray2.png", b.data, b.size), &img);
    const uint8_t want[] = {0, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255};
    expect_pixels(&img, 4, 1, want);
    image_free(&img);
    free(b.data);
  }
  /* 16-bit grayscale: Pillow's mode "I" clips to 255 on conversion. */
  {
    const uint8_t raw[] = {0, 0x00, 0x00, 0x00, 0x64, 0x00, 0xff, 0x01, 0x00, 0xff, 0xff};
    buffer b = png_build(5, 1, 16, 0, raw, sizeof raw, NULL, 0, NULL, 0);
    load_ok(write_tmp("gray16.png", b.data, b.size), &img);
    const uint8_t want[] = {0, 0, 0, 100, 100, 100, 255, 255, 255, 255, 255, 255, 255, 255, 255};
    expect_pixels(&img, 5, 1, want);
    image_free(&img);
    free(b.data);
  }
  /* 16-bit RGB: the high byte. */
  {
    const uint8_t raw[] = {0,    0x12, 0x34, 0xab, 0xcd, 0xff, 0x00,
                           0x00, 0xff, 0x80, 0x80, 0x7f, 0xff};
    buffer b = png_build(2, 1, 16, 2, raw, sizeof raw, NULL, 0, NULL, 0);
    load_ok(write_tmp("rgb16.png", b.data, b.size), &img);
    const uint8_t want[] = {0x12, 0xab, 0xff, 0x00, 0x80, 0x7f};
    expect_pixels(&img, 2, 1, want);
    image_free(&img);
    free(b.data);
  }
}
END_TEST

START_TEST(png_damaged_refused)
{
  const int w = 6, h = 4;
  uint8_t *src = make_rgb(w, h);
  buffer b = {0};
  ck_assert(stbi_write_png_to_func(stbw_to_buffer, &b, w, h, 3, src, w * 3));
  /* Cut before the final IEND chunk (12 bytes; Pillow does not need it). */
  for (size_t n = 1; n <= b.size - 12; n++) {
    image_rgb img;
    ck_assert_msg(load_any(b.data, n, &img) == -1, "PNG cut at %zu of %zu accepted", n, b.size);
  }
  expect_refused("cut.png", b.data, b.size / 2, "PNG");
  uint8_t *bad = malloc(b.size);
  memcpy(bad, b.data, b.size);
  bad[b.size - 20] ^= 0x55; /* in the compressed data: the chunk CRC no longer matches */
  expect_refused("crc.png", bad, b.size, "corrupt PNG: bad CRC in chunk IDAT");
  /* An IDAT declaring 1.9 GB in a file of a hundred bytes (scripts/fuzz found
   * it): stb_image would allocate the declared length before reading. */
  memcpy(bad, b.data, b.size);
  const size_t idat = 8 + 25; /* signature, IHDR chunk */
  ck_assert_mem_eq(bad + idat + 4, "IDAT", 4);
  bad[idat] = 0x74, bad[idat + 1] = 0x52, bad[idat + 2] = 0x4e, bad[idat + 3] = 0x53;
  expect_refused("long-idat.png", bad, b.size, "truncated PNG: chunk IDAT runs past the end");
  for (size_t i = 0; i < b.size; i++) {
    memcpy(bad, b.data, b.size);
    bad[i] ^= 0xff;
    image_rgb img;
    load_any(bad, b.size, &img);
    image_free(&img);
  }
  free(bad);
  free(b.data);
  free(src);
}
END_TEST

/* ---- BMP ---------------------------------------------------------------- */

START_TEST(bmp_exact)
{
  const int w = 5, h = 3; /* odd width: rows are padded */
  uint8_t rgb[5 * 3 * 3], bgr[5 * 3 * 3], bgrx[5 * 3 * 4], idx[5 * 3], pal_rgb[5 * 3 * 3];
  const uint8_t palette[4 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 12, 34, 56};
  for (int i = 0; i < w * h; i++) {
    rgb[3 * i] = (uint8_t)(i * 17);
    rgb[3 * i + 1] = (uint8_t)(200 - i * 3);
    rgb[3 * i + 2] = (uint8_t)(i * 11 + 1);
    bgr[3 * i] = bgrx[4 * i] = rgb[3 * i + 2];
    bgr[3 * i + 1] = bgrx[4 * i + 1] = rgb[3 * i + 1];
    bgr[3 * i + 2] = bgrx[4 * i + 2] = rgb[3 * i];
    bgrx[4 * i + 3] = 0;
    idx[i] = (uint8_t)(i % 4);
    memcpy(pal_rgb + 3 * i, palette + 3 * idx[i], 3);
  }
  image_rgb img;
  for (int topdown = 0; topdown < 2; topdown++) {
    buffer b = bmp_build(w, h, 24, topdown, bgr, (size_t)w * 3, NULL, 0, 0, NULL);
    load_ok(write_tmp(topdown ? "td24.bmp" : "bu24.bmp", b.data, b.size), &img);
    expect_pixels(&img, w, h, rgb);
    image_free(&img);
    free(b.data);

    b = bmp_build(w, h, 32, topdown, bgrx, (size_t)w * 4, NULL, 0, 0, NULL);
    load_ok(write_tmp(topdown ? "td32.bmp" : "bu32.bmp", b.data, b.size), &img);
    expect_pixels(&img, w, h, rgb);
    image_free(&img);
    free(b.data);

    b = bmp_build(w, h, 8, topdown, idx, (size_t)w, palette, 4, 0, NULL);
    load_ok(write_tmp(topdown ? "td8.bmp" : "bu8.bmp", b.data, b.size), &img);
    expect_pixels(&img, w, h, pal_rgb);
    image_free(&img);
    free(b.data);
  }
  /* 16-bit 5-6-5: Pillow widens a field as v * 255 / 31 (or 63). */
  {
    const uint16_t px[3] = {0xffff, (1 << 11) | (1 << 5) | 1, (17 << 11) | (33 << 5) | 17};
    uint8_t row[6];
    for (int i = 0; i < 3; i++) {
      row[2 * i] = (uint8_t)(px[i] & 255);
      row[2 * i + 1] = (uint8_t)(px[i] >> 8);
    }
    const uint32_t masks[3] = {0xf800, 0x07e0, 0x001f};
    buffer b = bmp_build(3, 1, 16, 0, row, 6, NULL, 0, 3, masks);
    load_ok(write_tmp("b565.bmp", b.data, b.size), &img);
    const uint8_t want[] = {255, 255, 255, 8, 4, 8, 139, 133, 139};
    expect_pixels(&img, 3, 1, want);
    image_free(&img);
    free(b.data);
  }
  /* Truncated: every prefix refused (stb_image alone would read zeros),
   * except that the padding of the last row may be missing, as in Pillow. */
  buffer b = bmp_build(w, h, 24, 0, bgr, (size_t)w * 3, NULL, 0, 0, NULL);
  for (size_t n = 1; n < b.size - 1; n++) {
    image_rgb cut;
    ck_assert_msg(load_any(b.data, n, &cut) == -1, "BMP cut at %zu of %zu accepted", n, b.size);
  }
  image_rgb unpadded;
  load_mem_ok(b.data, b.size - 1, &unpadded);
  expect_pixels(&unpadded, w, h, rgb);
  image_free(&unpadded);
  expect_refused("cut.bmp", b.data, b.size - 4, "truncated BMP");
  uint8_t *bad = malloc(b.size);
  for (size_t i = 0; i < b.size; i++) {
    memcpy(bad, b.data, b.size);
    bad[i] ^= 0xff;
    image_rgb any;
    load_any(bad, b.size, &any);
    image_free(&any);
  }
  free(bad);
  free(b.data);
}
END_TEST

/* ---- PGM/PPM ------------------------------------------------------------ */

START_TEST(ppm_exact)
{
  const int w = 7, h = 4;
  uint8_t *src = make_rgb(w, h);
  image_rgb in = {src, w, h}, img;
  char err[IMAGE_ERROR_MAX];
  char path[600];
  snprintf(path, sizeof path, "%s/written.ppm", tmpdir);
  ck_assert_msg(image_write_ppm(path, &in, err) == 0, "%s", err);
  load_ok(path, &img);
  expect_pixels(&img, w, h, src);
  image_free(&img);

  /* PGM with a comment. */
  const char pgm[] = "P5\n# made by hand\n3 2\n255\n\x00\x10\x20\x30\x40\xff";
  load_ok(write_tmp("gray.pgm", pgm, sizeof pgm - 1), &img);
  const uint8_t want_pgm[] = {0,    0,    0,    0x10, 0x10, 0x10, 0x20, 0x20, 0x20,
                              0x30, 0x30, 0x30, 0x40, 0x40, 0x40, 0xff, 0xff, 0xff};
  expect_pixels(&img, 3, 2, want_pgm);
  image_free(&img);

  /* maxval other than 255: rescaled like Pillow (values checked with it). */
  const char m2[] = "P5 3 1 2\n\x00\x01\x02";
  load_ok(write_tmp("max2.pgm", m2, sizeof m2 - 1), &img);
  const uint8_t want_m2[] = {0, 0, 0, 128, 128, 128, 255, 255, 255};
  expect_pixels(&img, 3, 1, want_m2);
  image_free(&img);

  const char m15[] = "P6 5 1 15\n\x00\x00\x00\x01\x01\x01\x07\x07\x07\x08\x08\x08\x0f\x0f\x0f";
  load_ok(write_tmp("max15.ppm", m15, sizeof m15 - 1), &img);
  const uint8_t want_m15[] = {0, 0, 0, 17, 17, 17, 119, 119, 119, 136, 136, 136, 255, 255, 255};
  expect_pixels(&img, 5, 1, want_m15);
  image_free(&img);

  const char m65535[] = "P6 5 1 65535\n"
                        "\x00\x00\x00\x00\x00\x00"
                        "\x00\x80\x00\x80\x00\x80"
                        "\x00\x81\x00\x81\x00\x81"
                        "\x80\x00\x80\x00\x80\x00"
                        "\xff\xff\xff\xff\xff\xff";
  load_ok(write_tmp("max65535.ppm", m65535, sizeof m65535 - 1), &img);
  const uint8_t want_m65535[] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 128, 128, 128, 255, 255, 255};
  expect_pixels(&img, 5, 1, want_m65535);
  image_free(&img);

  const char g65535[] = "P5 5 1 65535\n\x00\x00\x00\x64\x00\xff\x01\x00\xff\xff";
  load_ok(write_tmp("g65535.pgm", g65535, sizeof g65535 - 1), &img);
  const uint8_t want_g65535[] = {0,   0,   0,   100, 100, 100, 255, 255,
                                 255, 255, 255, 255, 255, 255, 255};
  expect_pixels(&img, 5, 1, want_g65535);
  image_free(&img);

  const char g1023[] = "P5 5 1 1023\n\x00\x00\x00\x01\x00\x03\x00\x04\x03\xff";
  load_ok(write_tmp("g1023.pgm", g1023, sizeof g1023 - 1), &img);
  const uint8_t want_g1023[] = {0, 0, 0, 64, 64, 64, 192, 192, 192, 255, 255, 255, 255, 255, 255};
  expect_pixels(&img, 5, 1, want_g1023);
  image_free(&img);

  /* Truncated, bad maxval, ASCII variants. */
  const char *head = "P6 7 4 255\n";
  size_t hl = strlen(head), total = hl + (size_t)w * h * 3;
  uint8_t *file = malloc(total);
  memcpy(file, head, hl);
  memcpy(file + hl, src, (size_t)w * h * 3);
  for (size_t n = 1; n < total; n++) {
    image_rgb cut;
    ck_assert_msg(load_any(file, n, &cut) == -1, "PPM cut at %zu accepted", n);
  }
  expect_refused("cut.ppm", file, total - 1, "truncated PPM");
  expect_refused("maxval0.ppm", "P6 1 1 0\n\x00\x00\x00", 12, "maxval");
  expect_refused("maxval70000.ppm", "P6 1 1 70000\n\x00\x00\x00\x00\x00\x00", 19, "maxval");
  expect_refused("ascii.ppm", "P3 1 1 255\n1 2 3\n", 17, "P3");
  expect_refused("nosize.ppm", "P6\n", 3, "PPM");
  expect_refused("letters.ppm", "P6 a b 255\n", 11, "PPM");
  free(file);
  free(src);
}
END_TEST

/* ---- GIF ---------------------------------------------------------------- */

START_TEST(gif_exact)
{
  const uint8_t pal[12] = {0, 0, 0, 255, 255, 255, 200, 30, 40, 1, 2, 3};
  const int w = 5, h = 3;
  uint8_t idx[15], want[45];
  for (int i = 0; i < w * h; i++) {
    idx[i] = (uint8_t)((i * 7 + i / 5) % 4);
    memcpy(want + 3 * i, pal + 3 * idx[i], 3);
  }
  buffer b = gif_build(w, h, pal, idx);
  image_rgb img;
  load_ok(write_tmp("tiny.gif", b.data, b.size), &img);
  expect_pixels(&img, w, h, want);
  image_free(&img);
  /* Cut anywhere: refused (stb_image alone would read zeros). */
  for (size_t n = 1; n < b.size - 1; n++) {
    image_rgb cut;
    ck_assert_msg(load_any(b.data, n, &cut) == -1, "GIF cut at %zu of %zu accepted", n, b.size);
  }
  expect_refused("cut.gif", b.data, b.size - 3, "truncated GIF");
  uint8_t *bad = malloc(b.size);
  for (size_t i = 0; i < b.size; i++) {
    memcpy(bad, b.data, b.size);
    bad[i] ^= 0xff;
    image_rgb any;
    load_any(bad, b.size, &any);
    image_free(&any);
  }
  free(bad);
  free(b.data);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

START_TEST(empty_text_garbage_refused)
{
  expect_refused("empty.jpg", "", 0, "empty file");
  const char text[] = "This is a text file, not a picture.\n";
  expect_refused("notes.jpg", text, sizeof text - 1,
                 "not a supported image (JPEG, PNG, BMP, PPM, GIF)");
  expect_refused("one.png", "\x89", 1, "not a supported image");

  /* Random garbage, alone and behind each magic number. */
  static const struct {
    const char *name;
    const char *magic;
    size_t len;
  } magics[] = {
      {"garbage.bin", "", 0},
      {"garbage.jpg", "\xff\xd8\xff", 3},
      {"garbage.png", "\x89PNG\r\n\x1a\n", 8},
      {"garbage.bmp", "BM", 2},
      {"garbage.gif", "GIF89a", 6},
      {"garbage.ppm", "P6", 2},
  };
  uint32_t seed = 12345;
  uint8_t data[4096];
  for (size_t m = 0; m < sizeof magics / sizeof magics[0]; m++) {
    for (int round = 0; round < 200; round++) {
      size_t len = 1 + (size_t)(round * 37 % 4000);
      for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (uint8_t)(seed >> 16);
      }
      memcpy(data, magics[m].magic, magics[m].len);
      if (len < magics[m].len) len = magics[m].len;
      image_rgb img;
      load_any(data, len, &img);
      image_free(&img);
    }
    memcpy(data, magics[m].magic, magics[m].len);
    for (size_t i = magics[m].len; i < 600; i++) data[i] = (uint8_t)(i * 131 + 7);
    expect_refused(magics[m].name, data, 600, NULL);
  }

  /* Files that are not there or not files. */
  image_rgb img;
  char err[IMAGE_ERROR_MAX];
  char path[600];
  snprintf(path, sizeof path, "%s/missing.jpg", tmpdir);
  ck_assert_int_eq(image_load_file(path, &img, err), -1);
  ck_assert_msg(strstr(err, path) && strstr(err, "No such file"), "%s", err);
  ck_assert_int_eq(image_load_file(tmpdir, &img, err), -1);
  ck_assert_msg(strstr(err, tmpdir) && strstr(err, "directory"), "%s", err);
  ck_assert_int_eq(image_load_memory(NULL, 0, "nothing", &img, err), -1);
  ck_assert_msg(strstr(err, "nothing: empty"), "%s", err);
}
END_TEST

START_TEST(oversized_refused_from_header)
{
  const char *limit = "image 40000x40000 exceeds the 16384-pixel limit";
  /* JPEG whose frame header claims 40000x40000 (its data is 16x16). */
  uint8_t *src = make_rgb(16, 16);
  unsigned long size;
  uint8_t *jpeg = tj_compress(src, 16, 16, TJPF_RGB, TJSAMP_420, 0, &size);
  size_t sof = find_sof(jpeg, size);
  jpeg[sof + 5] = 40000 >> 8;
  jpeg[sof + 6] = 40000 & 255;
  jpeg[sof + 7] = 40000 >> 8;
  jpeg[sof + 8] = 40000 & 255;
  expect_refused("huge.jpg", jpeg, size, limit);
  /* 12000x12000: each side fine, 144 million pixels too many. */
  jpeg[sof + 5] = jpeg[sof + 7] = 12000 >> 8;
  jpeg[sof + 6] = jpeg[sof + 8] = 12000 & 255;
  expect_refused("many.jpg", jpeg, size, "image 12000x12000 exceeds the limit of 100000000 pixels");
  /* 0x0 in the frame header: libjpeg's "Empty JPEG image". */
  jpeg[sof + 5] = jpeg[sof + 6] = jpeg[sof + 7] = jpeg[sof + 8] = 0;
  expect_refused("zero.jpg", jpeg, size, "corrupt JPEG");
  free(jpeg);
  free(src);

  expect_refused("huge.ppm", "P6 40000 40000 255\n", 19, limit);
  expect_refused("huge_digits.ppm", "P6 99999999999999 1 255\n", 24,
                 "image width of more than 10 digits exceeds the 16384-pixel limit");
  expect_refused("zero.ppm", "P6 0 0 255\n", 11, "no pixels");

  buffer b = png_build(40000, 40000, 8, 2, NULL, 0, NULL, 0, NULL, 0);
  expect_refused("huge.png", b.data, b.size, limit);
  free(b.data);
  b = png_build(0, 0, 8, 2, NULL, 0, NULL, 0, NULL, 0);
  expect_refused("zero.png", b.data, b.size, NULL);
  free(b.data);

  uint8_t row[3] = {0};
  b = bmp_build(1, 1, 24, 0, row, 3, NULL, 0, 0, NULL);
  b.data[18] = 40000 & 255; /* width */
  b.data[19] = 40000 >> 8;
  b.data[22] = 40000 & 255; /* height */
  b.data[23] = 40000 >> 8;
  expect_refused("huge.bmp", b.data, b.size, limit);
  memset(b.data + 18, 0, 8);
  expect_refused("zero.bmp", b.data, b.size, NULL);
  free(b.data);

  const uint8_t pal[12] = {0};
  const uint8_t idx[1] = {0};
  b = gif_build(1, 1, pal, idx);
  b.data[6] = b.data[8] = 40000 & 255;
  b.data[7] = b.data[9] = 40000 >> 8;
  expect_refused("huge.gif", b.data, b.size, limit);
  memset(b.data + 6, 0, 4);
  expect_refused("zero.gif", b.data, b.size, NULL);
  free(b.data);
}
END_TEST

/* Sizes within the limits that the file is far too small to describe: a
 * 1x1 frame on a 16384x6103 GIF screen (about 40 bytes that stb_image would
 * make 400 MB of), a 9000x9000 PNG and JPEG of a few hundred bytes. */
START_TEST(implausible_sizes_refused)
{
  const uint8_t pal[12] = {0};
  const uint8_t idx[1] = {0};
  buffer b = gif_build(1, 1, pal, idx);
  b.data[6] = 16384 & 255;
  b.data[7] = 16384 >> 8;
  b.data[8] = 6103 & 255;
  b.data[9] = 6103 >> 8;
  char want[128];
  snprintf(want, sizeof want, "GIF declares 16384x6103 pixels, more than its %zu bytes", b.size);
  expect_refused("screen.gif", b.data, b.size, want);
  free(b.data);

  b = png_build(9000, 9000, 8, 2, NULL, 0, NULL, 0, NULL, 0);
  expect_refused("tiny.png", b.data, b.size, "PNG declares 9000x9000 pixels");
  free(b.data);

  uint8_t *src = make_rgb(16, 16);
  unsigned long size;
  uint8_t *jpeg = tj_compress(src, 16, 16, TJPF_RGB, TJSAMP_420, 0, &size);
  size_t sof = find_sof(jpeg, size);
  jpeg[sof + 5] = jpeg[sof + 7] = 9000 >> 8;
  jpeg[sof + 6] = jpeg[sof + 8] = 9000 & 255;
  expect_refused("tiny.jpg", jpeg, size, "JPEG declares 9000x9000 pixels");
  /* A 37-byte BMP of 9472x9250 8-bit pixels whose compression field is no
   * known value (scripts/fuzz found it): stb_image reads it as uncompressed
   * rows of zeros, 87 megapixels of them. */
  static const uint8_t bmp37[37] = {
    'B', 'M', 0x5e, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0x44, 0, 0, 0x28, 0, 0, 0, 0, 0x25, 0, 0,
    0xde, 0xdb, 0xff, 0xff, 1, 0, 8, 0, 3, 0, 0, 0xff, 1, 0xff, 2};
  expect_refused("bitfields.bmp", bmp37, sizeof bmp37, "unsupported BMP compression 4278190083");
  free(jpeg);
  free(src);
}
END_TEST

START_TEST(write_ppm_errors)
{
  uint8_t px[3] = {1, 2, 3};
  image_rgb img = {px, 1, 1};
  char err[IMAGE_ERROR_MAX];
  char path[600];
  snprintf(path, sizeof path, "%s/no/such/folder/out.ppm", tmpdir);
  ck_assert_int_eq(image_write_ppm(path, &img, err), -1);
  ck_assert_msg(strstr(err, path) && strstr(err, "No such file"), "%s", err);
  snprintf(path, sizeof path, "%s/out.ppm", tmpdir);
  image_rgb empty = {NULL, 0, 0};
  ck_assert_int_eq(image_write_ppm(path, &empty, err), -1);
  ck_assert_msg(strstr(err, path), "%s", err);
  image_rgb zero = {px, 0, 1};
  ck_assert_int_eq(image_write_ppm(path, &zero, err), -1);
  ck_assert_int_eq(image_write_ppm(path, &img, NULL), 0); /* err may be NULL */
  image_rgb back;
  load_ok(path, &back);
  expect_pixels(&back, 1, 1, px);
  image_free(&back);
  image_free(&back); /* twice is fine */
  image_free(NULL);
}
END_TEST

/* ---- shared images ------------------------------------------------------ */

static int cmp_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted file names of a folder (without . entries); returns the count. */
static int list_dir(const char *dir, char ***names)
{
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "cannot open %s", dir);
  int n = 0, cap = 64;
  *names = malloc(sizeof(char *) * (size_t)cap);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) *names = realloc(*names, sizeof(char *) * (size_t)(cap *= 2));
    (*names)[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(*names, (size_t)n, sizeof(char *), cmp_names);
  return n;
}

/* Size and FNV-1a hash of Pillow 9.4's RGB pixels for each photo. */
static const struct {
  const char *name;
  int width, height;
  uint64_t fnv;
} photos[] = {
    {"balloon.jpg", 250, 305, 0x93a572371df0fe73ull},
    {"bee.jpg", 280, 187, 0xf9b380e6d75614b7ull},
    {"bird.bmp", 512, 343, 0x73b2f6619750f944ull},
    {"butterfly.jpg", 280, 172, 0x1af100ef5e09d331ull},
    {"cat.bmp", 512, 341, 0xd2c88116f02299d1ull},
    {"cat_1080p.jpg", 1920, 1080, 0x059ef0e5b2984b4bull},
    {"cat_720p.jpg", 1280, 720, 0x0bf203a93d0f58dcull},
    {"dragonfly.bmp", 512, 418, 0xa4cda25a0e49f7b7ull},
    {"elephant.jpg", 660, 480, 0x72e66dcdef471c09ull},
    {"grace_hopper.bmp", 512, 600, 0x6fcb0e2554cfbdcbull},
    {"grace_hopper.jpg", 517, 606, 0x1b180e85207616d5ull},
    {"grapefruit-slice.jpg", 332, 332, 0x5bfa42b684ece595ull},
    {"hot_dog.jpg", 512, 384, 0xe7387a782af5a34aull},
    {"hummingbird.jpg", 640, 533, 0x5c6bd30a1e7bfd50ull},
    {"ice-cream.jpg", 1721, 1721, 0x2e85581ee7d40b8dull},
    {"kite_and_cold.jpg", 1352, 900, 0xbf6a1d6112e6738cull},
    {"leopard.jpg", 1244, 416, 0x86c33f9ab699759aull},
    {"missvickie_potato_chips.bmp", 500, 500, 0xf29bf0d92ea99c1dull},
    {"owl.jpg", 512, 384, 0x0c38fb80c45d87baull},
    {"parrot.jpg", 512, 929, 0x7b787b1a9821a81cull},
    {"pets.jpg", 512, 430, 0x28acacb9dc019054ull},
    {"resized_cat.bmp", 224, 224, 0xd221a13c4bf0472aull},
    {"spider.jpg", 280, 206, 0x73dfd99c10850dbfull},
    {"sunflower.bmp", 512, 340, 0x8d41b430ba97e95aull},
};

START_TEST(shared_photos)
{
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/images/photos", shared_dir);
  char **names;
  int n = list_dir(dir, &names), decoded = 0, known = 0;
  for (int i = 0; i < n; i++) {
    if (strncmp(names[i], "COPYRIGHT", 9) == 0 || strcmp(names[i], "SHA256SUMS") == 0) {
      free(names[i]);
      continue;
    }
    char path[8400];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    image_rgb img;
    load_ok(path, &img);
    decoded++;
    for (size_t k = 0; k < sizeof photos / sizeof photos[0]; k++) {
      if (strcmp(photos[k].name, names[i]) != 0) continue;
      known++;
      ck_assert_msg(img.width == photos[k].width && img.height == photos[k].height,
                    "%s: %dx%d, expected %dx%d", path, img.width, img.height, photos[k].width,
                    photos[k].height);
      uint64_t h = fnv1a(FNV_START, img.pixels, (size_t)img.width * img.height * 3);
      ck_assert_msg(h == photos[k].fnv, "%s: pixels differ from Pillow's (hash %016llx)", path,
                    (unsigned long long)h);
    }
    image_free(&img);
    free(names[i]);
  }
  free(names);
  ck_assert_int_ge(decoded, 1);
  ck_assert_int_eq(known, (int)(sizeof photos / sizeof photos[0]));
}
END_TEST

START_TEST(shared_imagenet_sample)
{
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/images/imagenet-sample", shared_dir);
  char **names;
  int n = list_dir(dir, &names), jpegs = 0, gray = 0;
  uint64_t all = FNV_START; /* all pixels, in file-name order */
  tjhandle tj = tjInitDecompress();
  for (int i = 0; i < n; i++) {
    size_t len = strlen(names[i]);
    if (len < 5 || strcmp(names[i] + len - 5, ".JPEG") != 0) {
      free(names[i]);
      continue;
    }
    char path[8400];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    image_rgb img;
    load_ok(path, &img);
    jpegs++;
    all = fnv1a(all, img.pixels, (size_t)img.width * img.height * 3);

    /* Grayscale JPEGs (by their header) must come out with R=G=B. */
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long flen = ftell(f);
    rewind(f);
    uint8_t *head = malloc((size_t)flen);
    size_t got = fread(head, 1, (size_t)flen, f);
    fclose(f);
    int w = 0, h = 0, ss = 0, cs = -1;
    tjDecompressHeader3(tj, head, (unsigned long)got, &w, &h, &ss, &cs); /* may warn */
    free(head);
    if (cs == TJCS_GRAY) {
      gray++;
      ck_assert_int_eq(w, img.width);
      ck_assert_int_eq(h, img.height);
      for (size_t p = 0; p < (size_t)w * h; p++) {
        const uint8_t *px = img.pixels + 3 * p;
        ck_assert_msg(px[0] == px[1] && px[1] == px[2], "%s: gray pixel %zu not R=G=B", path, p);
      }
    }
    image_free(&img);
    free(names[i]);
  }
  tjDestroy(tj);
  free(names);
  ck_assert_int_eq(jpegs, 500);
  ck_assert_int_eq(gray, 9);
  ck_assert_msg(all == 0xa992a9c6cedfa668ull, "pixels differ from Pillow's (hash %016llx)",
                (unsigned long long)all);
}
END_TEST

/* ---- main --------------------------------------------------------------- */

static void remove_tmpdir(void)
{
  DIR *d = opendir(tmpdir);
  if (!d) return;
  struct dirent *e;
  char path[1024];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(tmpdir);
}

int main(void)
{
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/test_image_io.XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(tmpdir)) {
    perror(tmpdir);
    return 1;
  }
  /* $MOBILENET_SHARED, else the folder the build names, else ../shared. */
#ifdef MN_DEFAULT_SHARED
  const char *fallback = MN_DEFAULT_SHARED;
#else
  const char *fallback = "../shared";
#endif
  corpus_dir = getenv("MOBILENET_IMAGE_CORPUS");
  if (corpus_dir && !*corpus_dir) corpus_dir = NULL;
  const char *shared = getenv("MOBILENET_SHARED");
  snprintf(shared_dir, sizeof shared_dir, "%s", shared && *shared ? shared : fallback);

  Suite *s = suite_create("image_io");
  TCase *tc = tcase_create("jpeg");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, jpeg_rgb_decodes);
  tcase_add_test(tc, jpeg_matches_pillow);
  tcase_add_test(tc, jpeg_progressive_decodes);
  tcase_add_test(tc, jpeg_gray_is_three_equal_channels);
  tcase_add_test(tc, jpeg_cmyk_converted_like_pillow);
  tcase_add_test(tc, jpeg_unusual_sampling_decodes);
  tcase_add_test(tc, jpeg_truncated_refused);
  tcase_add_test(tc, jpeg_corrupt_refused);
  tcase_add_test(tc, jpeg_flip_fuzz_other_kinds);
  suite_add_tcase(s, tc);

  tc = tcase_create("other formats");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, png_exact);
  tcase_add_test(tc, png_special_kinds_like_pillow);
  tcase_add_test(tc, png_damaged_refused);
  tcase_add_test(tc, bmp_exact);
  tcase_add_test(tc, ppm_exact);
  tcase_add_test(tc, gif_exact);
  tcase_add_test(tc, implausible_sizes_refused);
  suite_add_tcase(s, tc);

  tc = tcase_create("bad input");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, empty_text_garbage_refused);
  tcase_add_test(tc, oversized_refused_from_header);
  tcase_add_test(tc, write_ppm_errors);
  suite_add_tcase(s, tc);

  char probe[4200];
  snprintf(probe, sizeof probe, "%s/images/photos", shared_dir);
  struct stat st;
  if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode)) {
    tc = tcase_create("shared images");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, shared_photos);
    tcase_add_test(tc, shared_imagenet_sample);
    suite_add_tcase(s, tc);
  } else {
    printf("note: %s not found (set MOBILENET_SHARED): shared image tests skipped\n", probe);
  }

  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  if (!getenv("TEST_IMAGE_IO_KEEP")) remove_tmpdir();
  else printf("test files kept in %s\n", tmpdir);
  return failed == 0 ? 0 : 1;
}
