/* image_io.c: image loading for the command-line tools (see image_io.h).
 *
 * JPEG goes through libjpeg-turbo's TurboJPEG API (2.1), everything else
 * through stb_image (Debian's libstb, which already contains the stb_image
 * implementation, so STB_IMAGE_IMPLEMENTATION is not defined here; its
 * STBI_MALLOC/STBI_FREE are malloc/free, so stb's buffers are freed with
 * free()).
 *
 * Behaviour chosen to match Pillow 9.4 (Image.open(f).convert("RGB")),
 * checked against it pixel for pixel:
 *
 * JPEG
 *   - Flags: TJFLAG_ACCURATEDCT (the ISLOW IDCT, libjpeg's default and
 *     Pillow's) and no TJFLAG_FASTUPSAMPLE (fancy upsampling, as Pillow).
 *     TJFLAG_LIMITSCANS refuses progressive files with more than 500 scans
 *     (a CPU-exhaustion trick; no real file has that many).
 *   - Grayscale JPEGs are decoded straight to TJPF_RGB: libjpeg replicates
 *     the gray value into R, G and B.
 *   - CMYK and YCCK JPEGs can only be decoded to TJPF_CMYK. TurboJPEG
 *     returns the values as stored in the file (YCCK converted to CMYK but
 *     never inverted). Photoshop (and libjpeg/TurboJPEG's own compressor, with
 *     its Adobe APP14 marker) store inverted CMYK, 255 = no ink, and Pillow
 *     assumes that polarity for every 4-component JPEG ("CMYK;I"). So with
 *     c, k the values TurboJPEG returns: C = 255 - c, K = 255 - k, and
 *     Pillow's cmyk2rgb: R = k - MULDIV255(C, k), i.e. about c * k / 255.
 *   - Errors and warnings. tjDecompress2() returns -1 both for a fatal
 *     error and for a libjpeg warning, in which case the image has been
 *     decoded completely (tjGetErrorCode() says TJERR_WARNING). When a JPEG
 *     ends early, libjpeg's memory source warns "Premature end of JPEG file",
 *     inserts an end-of-image marker and fills the rest of the image with
 *     gray. Pillow refuses such a file ("image file is truncated"), even when
 *     only the final end-of-image marker is missing, and so do we: after a
 *     warning, jpeg_reaches_eoi() walks the marker structure; if the data
 *     ends before an EOI marker the file is refused as truncated. Any other
 *     warning (e.g. "Corrupt JPEG data: bad Huffman code" in a complete file)
 *     is ignored, as Pillow does: libjpeg has produced the whole image.
 *   - tjDecompressHeader3() in 2.1 returns 0 WITHOUT filling in the size for
 *     a "tables-only" datastream, which is what a JPEG cut right after its
 *     first bytes looks like, so the size is preset to 0 and checked.
 *   - tjDecompressHeader3() also returns -1 for a mere warning in the
 *     headers (e.g. "Warning: unknown JFIF revision number", "extraneous
 *     bytes before marker"), and fails with "Could not determine subsampling
 *     type" for sampling factors outside TurboJPEG's list (e.g. 3x1). In both
 *     cases size and colourspace have been filled in, libjpeg (and Pillow)
 *     decode the image, and so do we.
 *   - EXIF orientation is ignored, as Pillow's open() does.
 *
 * PNG/BMP/GIF (stb_image, first frame for GIF)
 *   - 8-bit data and 16-bit colour are the same as Pillow (16-bit keeps the
 *     high byte). 16-bit grayscale PNG is mode "I" in Pillow, whose
 *     conversion to RGB clips to 255 instead of scaling; we do the same.
 *     Alpha is dropped (not composited), as convert("RGB") does.
 *   - 16-bit BMP: stb_image widens 5/6-bit fields by bit replication,
 *     Pillow by v * 255 / 31 (or 63); bmp16_to_pillow() redoes Pillow's.
 *   - stb_image refuses RLE-compressed BMP (Pillow reads RLE8). Known
 *     difference: transparent GIF pixels (stb: black; Pillow: the palette
 *     colour at that index).
 *   - stb_image checks no PNG CRC and no zlib checksum: png_check_crcs()
 *     checks every chunk's CRC (Pillow refuses damaged PNGs too).
 *   - stb_image reads missing data at the end of a BMP or GIF as zeros:
 *     bmp_complete() and gif_complete() refuse truncated files (Pillow
 *     too; Pillow does read a GIF whose last block terminator is missing).
 *   - stb_image checks only its own, larger limits, so stbi_info is called
 *     first and the size checked before stbi_load allocates anything.
 *     stb_image's inflate may still grow its buffer past the expected size
 *     for a crafted PNG (up to about 1000x the file size) before failing.
 *
 * PGM/PPM (binary P5/P6)
 *   - The header is parsed here (size checked, and the file must hold all
 *     the pixel data: stb_image 2.27 leaves missing bytes uninitialised).
 *     8-bit samples are read by stb_image; 16-bit ones here, because stb
 *     2.27 returns them byte-swapped.
 *   - maxval 255: the bytes as they are. Any other maxval is rescaled like
 *     Pillow 9.4's PpmDecoder: min(out, round(v / maxval * out)) with
 *     round half to even; out = 255, except for 16-bit PGM (Pillow mode "I":
 *     out = 65535, or the raw value if maxval is 65535) whose I -> RGB
 *     conversion then clips to 255.
 *   - ASCII P1-P3 and bitmap P4 are refused (stb_image reads P5/P6 only).
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* open, fstat, read */
#endif

#include "image_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb/stb_image.h>
#include <turbojpeg.h>

/* Largest file read by image_load_file (a 16-bit PPM at the pixel limit is
 * 600 MB). */
#define IMAGE_MAX_FILE_BYTES ((size_t)1 << 30)

#define SUPPORTED_LIST "JPEG, PNG, BMP, PPM, GIF"

typedef enum { FMT_UNKNOWN, FMT_JPEG, FMT_PNG, FMT_BMP, FMT_GIF, FMT_PNM } image_format;

static const char *format_name(image_format f)
{
  switch (f) {
    case FMT_JPEG: return "JPEG";
    case FMT_PNG: return "PNG";
    case FMT_BMP: return "BMP";
    case FMT_GIF: return "GIF";
    case FMT_PNM: return "PPM";
    default: return "image";
  }
}

/* Writes "name: message" to err (if not NULL), on one line. */
static void set_error(char *err, const char *name, const char *fmt, ...)
{
  if (!err) return;
  int n = snprintf(err, IMAGE_ERROR_MAX, "%s: ", name ? name : "<memory>");
  if (n < 0) n = 0;
  if (n < IMAGE_ERROR_MAX - 1) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, (size_t)(IMAGE_ERROR_MAX - n), fmt, ap);
    va_end(ap);
  }
  for (char *p = err; *p; p++)
    if ((unsigned char)*p < 0x20) *p = ' ';
}

/* Refuses sizes the tools cannot handle, before anything is allocated. */
static int check_size(const char *name, long long w, long long h, char *err)
{
  if (w <= 0 || h <= 0) {
    set_error(err, name, "image has no pixels (%lldx%lld)", w, h);
    return -1;
  }
  if (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE) {
    set_error(err, name, "image %lldx%lld exceeds the %d-pixel limit", w, h, IMAGE_MAX_SIDE);
    return -1;
  }
  if ((unsigned long long)w * (unsigned long long)h > IMAGE_MAX_PIXELS) {
    set_error(err, name, "image %lldx%lld exceeds the limit of %u pixels", w, h,
              (unsigned)IMAGE_MAX_PIXELS);
    return -1;
  }
  return 0;
}

/* The most pixels a compressed file can describe per byte of it, with room
 * to spare: deflate (PNG) expands at most 1032:1 and a 1-bit PNG holds 8
 * pixels a byte (8256); LZW (GIF) about 1400; a Huffman-coded JPEG needs a
 * bit per 8x8 block (512), an arithmetic-coded one a little less. A GIF's
 * declared screen is where a file lies most cheaply: its frames may cover a
 * single pixel and the decoder fills the rest, 400 MB for a 35-byte file. */
#define IMAGE_MAX_PIXELS_PER_BYTE 16384ull

/* Refuses a compressed image whose declared size its file cannot describe,
 * before anything is allocated. */
static int check_plausible(const char *name, const char *what, long long w, long long h,
                           size_t size, char *err)
{
  if ((unsigned long long)w * (unsigned long long)h <= (unsigned long long)size * IMAGE_MAX_PIXELS_PER_BYTE)
    return 0;
  set_error(err, name, "%s declares %lldx%lld pixels, more than its %zu bytes can describe",
            what, w, h, size);
  return -1;
}

static image_format detect_format(const uint8_t *d, size_t n)
{
  static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) return FMT_JPEG;
  if (n >= 8 && memcmp(d, png_sig, 8) == 0) return FMT_PNG;
  if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) return FMT_GIF;
  if (n >= 2 && d[0] == 'B' && d[1] == 'M') return FMT_BMP;
  if (n >= 2 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6') return FMT_PNM;
  return FMT_UNKNOWN;
}

/* ---- JPEG --------------------------------------------------------------- */

/* 1 if following the marker structure of a JPEG (after SOI) reaches an EOI
 * marker within the data, 0 if the data ends first (a truncated file).
 * Entropy-coded data runs up to the next marker other than RSTn (0xFF 0x00
 * is a stuffed byte); between segments, bytes other than 0xFF are skipped as
 * libjpeg does. A malformed segment length counts as "reaches EOI": the file
 * is then corrupt rather than truncated, and libjpeg reports it. */
static int jpeg_reaches_eoi(const uint8_t *d, size_t n)
{
  size_t i = 2;
  for (;;) {
    while (i < n && d[i] != 0xff) i++;
    while (i < n && d[i] == 0xff) i++;
    if (i >= n) return 0;
    uint8_t m = d[i++];
    if (m == 0xd9) return 1;
    if (m == 0x00 || m == 0x01 || m == 0xd8 || (m >= 0xd0 && m <= 0xd7)) continue;
    if (n - i < 2) return 0;
    size_t len = (size_t)d[i] << 8 | d[i + 1];
    if (len < 2) return 1;
    if (n - i < len) return 0;
    i += len;
    if (m != 0xda) continue;
    for (;;) { /* entropy-coded data after SOS */
      while (i < n && d[i] != 0xff) i++;
      size_t j = i;
      while (j < n && d[j] == 0xff) j++;
      if (j >= n) return 0;
      if (d[j] == 0x00 || (d[j] >= 0xd0 && d[j] <= 0xd7)) {
        i = j + 1;
        continue;
      }
      break; /* a marker: d[i] is its first 0xFF */
    }
  }
}

/* MULDIV255 of Pillow's Convert.c: a * b / 255, rounded. */
static inline unsigned muldiv255(unsigned a, unsigned b)
{
  unsigned t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

/* In place, 4 bytes per pixel (as TurboJPEG returns, inverted) to 3. */
static void inverted_cmyk_to_rgb(uint8_t *buf, size_t npixels)
{
  for (size_t p = 0; p < npixels; p++) {
    const uint8_t *in = buf + 4 * p;
    uint8_t *o = buf + 3 * p; /* never ahead of in */
    unsigned nk = in[3];      /* 255 - K */
    unsigned r = nk - muldiv255(255u - in[0], nk);
    unsigned g = nk - muldiv255(255u - in[1], nk);
    unsigned b = nk - muldiv255(255u - in[2], nk);
    o[0] = (uint8_t)r;
    o[1] = (uint8_t)g;
    o[2] = (uint8_t)b;
  }
}

static int load_jpeg(const uint8_t *data, size_t size, const char *name, image_rgb *out, char *err)
{
  int status = -1;
  uint8_t *pixels = NULL;
  tjhandle tj = tjInitDecompress();
  if (!tj) {
    set_error(err, name, "cannot initialise TurboJPEG: %s", tjGetErrorStr2(NULL));
    goto done;
  }
  if (size > ULONG_MAX) {
    set_error(err, name, "JPEG file too large (%zu bytes)", size);
    goto done;
  }

  int w = 0, h = 0, subsamp = -2, colorspace = -2;
  if (tjDecompressHeader3(tj, data, (unsigned long)size, &w, &h, &subsamp, &colorspace) != 0) {
    /* Not an error when the header was read but libjpeg warned (e.g. about
     * an unknown JFIF revision or extraneous bytes), or when TurboJPEG 2.1
     * does not know the sampling factors: it has filled in everything else
     * by then, and libjpeg (and Pillow) decode such files. */
    int usable = w > 0 && h > 0 && colorspace >= 0 &&
                 (tjGetErrorCode(tj) == TJERR_WARNING || subsamp == -1);
    if (!usable) {
      set_error(err, name, "%s JPEG: %s", jpeg_reaches_eoi(data, size) ? "corrupt" : "truncated",
                tjGetErrorStr2(tj));
      goto done;
    }
  }
  if (w == 0 && h == 0) { /* tables-only datastream: no frame header */
    set_error(err, name, "%s JPEG: no image in the data",
              jpeg_reaches_eoi(data, size) ? "corrupt" : "truncated");
    goto done;
  }
  if (check_size(name, w, h, err) != 0 || check_plausible(name, "JPEG", w, h, size, err) != 0)
    goto done;

  int cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  size_t npixels = (size_t)w * (size_t)h;
  pixels = malloc(npixels * (cmyk ? 4 : 3));
  if (!pixels) {
    set_error(err, name, "out of memory for a %dx%d image", w, h);
    goto done;
  }
  if (tjDecompress2(tj, data, (unsigned long)size, pixels, w, 0, h, cmyk ? TJPF_CMYK : TJPF_RGB,
                    TJFLAG_ACCURATEDCT | TJFLAG_LIMITSCANS) != 0) {
    int warning = tjGetErrorCode(tj) == TJERR_WARNING;
    int complete = jpeg_reaches_eoi(data, size);
    if (!warning || !complete) {
      set_error(err, name, "%s JPEG: %s", complete ? "corrupt" : "truncated", tjGetErrorStr2(tj));
      goto done;
    }
    /* A warning in a complete file: the image is decoded; Pillow too. */
  }
  if (cmyk) {
    inverted_cmyk_to_rgb(pixels, npixels);
    uint8_t *shrunk = realloc(pixels, npixels * 3);
    if (shrunk) pixels = shrunk;
  }
  out->pixels = pixels;
  out->width = w;
  out->height = h;
  pixels = NULL;
  status = 0;
done:
  free(pixels);
  if (tj) tjDestroy(tj);
  return status;
}

/* ---- PGM/PPM header ----------------------------------------------------- */

typedef struct {
  int channels;     /* 1 (P5) or 3 (P6) */
  long long width, height;
  long maxval;
  size_t data_offset;
} pnm_header;

/* Reads one decimal header field, skipping whitespace and # comments.
 * -1 if missing or not a number, -2 if it has more than 10 digits. */
static long long pnm_field(const uint8_t *d, size_t n, size_t *pos)
{
  size_t i = *pos;
  for (;;) {
    while (i < n && (d[i] == ' ' || (d[i] >= '\t' && d[i] <= '\r'))) i++;
    if (i < n && d[i] == '#') {
      while (i < n && d[i] != '\n' && d[i] != '\r') i++;
      continue;
    }
    break;
  }
  if (i >= n || d[i] < '0' || d[i] > '9') return -1;
  long long v = 0;
  int digits = 0;
  while (i < n && d[i] >= '0' && d[i] <= '9') {
    if (++digits <= 10) v = v * 10 + (d[i] - '0');
    i++;
  }
  *pos = i;
  return digits > 10 ? -2 : v;
}

/* Parses a binary PGM/PPM header; the pixel data follows the single
 * whitespace byte after maxval. */
static int pnm_parse(const uint8_t *d, size_t n, const char *name, pnm_header *hdr, char *err)
{
  if (d[1] != '5' && d[1] != '6') {
    set_error(err, name, "unsupported PNM type P%c (only binary PGM P5 and PPM P6)", d[1]);
    return -1;
  }
  hdr->channels = d[1] == '5' ? 1 : 3;
  size_t pos = 2;
  long long v[3];
  for (int k = 0; k < 3; k++) {
    v[k] = pnm_field(d, n, &pos);
    if (v[k] == -1) {
      set_error(err, name, "corrupt PPM: %s", pos >= n ? "header ends early" : "bad header field");
      return -1;
    }
    if (v[k] == -2) {
      if (k == 2) set_error(err, name, "corrupt PPM: maxval of more than 10 digits");
      else set_error(err, name, "image %s of more than 10 digits exceeds the %d-pixel limit",
                     k == 0 ? "width" : "height", IMAGE_MAX_SIDE);
      return -1;
    }
  }
  hdr->width = v[0];
  hdr->height = v[1];
  if (check_size(name, v[0], v[1], err) != 0) return -1;
  if (v[2] < 1 || v[2] > 65535) {
    set_error(err, name, "corrupt PPM: maxval %lld not in 1..65535", v[2]);
    return -1;
  }
  hdr->maxval = (long)v[2];
  if (pos >= n) {
    set_error(err, name, "truncated PPM: no pixel data");
    return -1;
  }
  hdr->data_offset = pos + 1;
  size_t need = (size_t)hdr->width * (size_t)hdr->height * (size_t)hdr->channels *
                (hdr->maxval > 255 ? 2u : 1u);
  if (n - hdr->data_offset < need) {
    set_error(err, name, "truncated PPM: %zu of %zu bytes of pixel data", n - hdr->data_offset,
              need);
    return -1;
  }
  return 0;
}

/* Pillow's PpmDecoder: min(out_max, round(v / maxval * out_max)), with
 * Python's round (half to even) on the same double arithmetic. */
static unsigned pil_rescale(unsigned v, unsigned maxval, unsigned out_max)
{
  double x = (double)v / (double)maxval * (double)out_max;
  double f = (double)(unsigned long)x; /* x >= 0: truncation = floor */
  double frac = x - f;
  unsigned long r = (unsigned long)f;
  if (frac > 0.5 || (frac == 0.5 && (r & 1))) r++;
  return r > out_max ? out_max : (unsigned)r;
}

/* ---- stb_image formats -------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

/* stb_image reads missing bytes at the end of a BMP or GIF as zeros and
 * returns an image; Pillow refuses such files ("image file is truncated").
 * These check that the data the header announces is all there. Anything
 * they do not understand counts as complete and is left to stb_image. */
static int bmp_complete(const uint8_t *d, size_t n)
{
  if (n < 18) return 0;
  uint32_t offset = le32(d + 10), header = le32(d + 14), bpp, compression = 0;
  long long w, h;
  if (header == 12) { /* OS/2 BITMAPCOREHEADER */
    if (n < 26) return 0;
    w = le16(d + 18);
    h = le16(d + 20);
    bpp = le16(d + 24);
  } else {
    if (n < 34) return 0;
    w = (int32_t)le32(d + 18);
    h = (int32_t)le32(d + 22);
    bpp = le16(d + 28);
    compression = le32(d + 30);
  }
  /* RLE: stb_image refuses it with its own message. Every other value it
   * reads as uncompressed rows (bmp_compression_known refuses the unknown). */
  if (compression == 1 || compression == 2) return 1;
  if (w <= 0 || w > IMAGE_MAX_SIDE || h == 0 || bpp == 0 || bpp > 32) return 1;
  if (h < 0) h = -h;
  /* Rows are padded to 4 bytes; the last row's padding may be missing. */
  unsigned long long row = ((unsigned long long)w * bpp + 7) / 8;
  unsigned long long stride = ((unsigned long long)w * bpp + 31) / 32 * 4;
  return (unsigned long long)n >= offset + stride * (unsigned long long)(h - 1) + row;
}

/* The BMP compression field is one stb_image and Pillow know (none, RLE8,
 * RLE4, bit fields, alpha bit fields); stb_image reads any other value as
 * uncompressed rows, 87 megapixels of zeros from a 37-byte file. 1 when
 * known (or no field), else 0 with the value in *value. */
static int bmp_compression_known(const uint8_t *d, size_t n, uint32_t *value)
{
  if (n < 34 || le32(d + 14) < 40) return 1;
  *value = le32(d + 30);
  return *value <= 3 || *value == 6;
}

/* Skips GIF data sub-blocks from *i; 0 if the data ends first. */
static int gif_skip_blocks(const uint8_t *d, size_t n, size_t *i)
{
  for (;;) {
    if (*i >= n) return 0;
    size_t len = d[(*i)++];
    if (len == 0) return 1;
    *i += len;
  }
}

/* 1 if the first image of a GIF (the one decoded) is all there. */
static int gif_complete(const uint8_t *d, size_t n)
{
  if (n < 13) return 0;
  size_t i = 13;
  if (d[10] & 0x80) i += 3 * ((size_t)2 << (d[10] & 7)); /* global colour table */
  for (;;) {
    if (i >= n) return 0;
    uint8_t b = d[i++];
    if (b == 0x21) { /* extension: label, sub-blocks */
      i++;
      if (!gif_skip_blocks(d, n, &i)) return 0;
    } else if (b == 0x2c) { /* image descriptor */
      if (n - i < 9) return 0;
      uint8_t flags = d[i + 8];
      i += 9;
      if (flags & 0x80) i += 3 * ((size_t)2 << (flags & 7)); /* local colour table */
      i++;                                                   /* LZW minimum code size */
      return gif_skip_blocks(d, n, &i);
    } else {
      return 1; /* trailer or garbage: stb_image reports it */
    }
  }
}

static uint32_t be32(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* CRC-32 of PNG (zlib's polynomial), 4 bits at a time. */
static uint32_t crc32_png(const uint8_t *p, size_t n)
{
  static const uint32_t t[16] = {
      0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
      0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
      0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu};
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    c = (c >> 4) ^ t[c & 15];
    c = (c >> 4) ^ t[c & 15];
  }
  return c ^ 0xffffffffu;
}

/* stb_image checks neither the chunk CRCs nor zlib's Adler-32, so it turns
 * a damaged PNG into a damaged image; Pillow refuses one (bad CRC, or the
 * checksum of the compressed data). The CRC of every chunk up to IEND is
 * checked here. A chunk whose length runs past the end of the data is
 * refused too: stb_image allocates a chunk's declared length before reading
 * it (2 GB for a 100-byte file). 0; -1 (bad CRC) or -2 (cut off) with the
 * name of the chunk in bad[5]. */
static int png_check_crcs(const uint8_t *d, size_t n, char bad[5])
{
  size_t i = 8;
  while (n - i >= 8) {
    uint32_t len = be32(d + i);
    for (int k = 0; k < 4; k++) {
      uint8_t c = d[i + 4 + (size_t)k];
      bad[k] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
    }
    bad[4] = '\0';
    if (n - i < 12 || len > 0x7fffffffu || n - i - 12 < len) return -2;
    if (crc32_png(d + i + 4, 4 + (size_t)len) != be32(d + i + 8 + len)) return -1;
    if (memcmp(d + i + 4, "IEND", 4) == 0) return 0;
    i += 12 + (size_t)len;
  }
  return 0;
}

/* stb_image widens the 5- and 6-bit fields of a 16-bit BMP by bit
 * replication, Pillow ("BGR;15", "BGR;16") as v * 255 / 31 (or 63),
 * truncated. The field is recovered from stb's byte (its top bits) and
 * widened again like Pillow, for the two layouts Pillow reads. */
static void bmp16_to_pillow(const uint8_t *d, size_t n, uint8_t *rgb, size_t npixels)
{
  if (n < 54 || d[28] != 16 || d[29] != 0) return;
  uint32_t header = le32(d + 14), compression = le32(d + 30);
  int green_bits;
  if (compression == 0) {
    green_bits = 5;
  } else if (compression == 3 && header >= 40 && n >= 66) {
    uint32_t r = le32(d + 54), g = le32(d + 58), b = le32(d + 62);
    if (r == 0xf800 && g == 0x07e0 && b == 0x001f) green_bits = 6;
    else if (r == 0x7c00 && g == 0x03e0 && b == 0x001f) green_bits = 5;
    else return;
  } else {
    return;
  }
  uint8_t five[256], green[256];
  for (unsigned v = 0; v < 256; v++) {
    five[v] = (uint8_t)((v >> 3) * 255 / 31);
    green[v] = green_bits == 6 ? (uint8_t)((v >> 2) * 255 / 63) : five[v];
  }
  for (size_t p = 0; p < npixels; p++) {
    uint8_t *o = rgb + 3 * p;
    o[0] = five[o[0]];
    o[1] = green[o[1]];
    o[2] = five[o[2]];
  }
}

static int load_stb(const uint8_t *data, size_t size, const char *name, image_format fmt,
                    image_rgb *out, char *err)
{
  int status = -1;
  uint8_t *rgb = NULL;
  uint16_t *wide = NULL;
  uint8_t *lut = NULL;
  const char *what = format_name(fmt);
  pnm_header pnm = {0, 0, 0, 0, 0};

  if (size > INT_MAX) {
    set_error(err, name, "%s file too large (%zu bytes)", what, size);
    goto done;
  }
  int len = (int)size;
  int w = 0, h = 0, comp = 0;
  if (fmt == FMT_PNM) {
    if (pnm_parse(data, size, name, &pnm, err) != 0) goto done;
    w = (int)pnm.width;
    h = (int)pnm.height;
  } else {
    /* The size from the header first: stb_image's info refuses large PNGs
     * with a misleading "unknown image type". */
    if (fmt == FMT_PNG && size >= 24 && memcmp(data + 12, "IHDR", 4) == 0 &&
        check_size(name, be32(data + 16), be32(data + 20), err) != 0)
      goto done;
    if (fmt == FMT_GIF && size >= 10 && check_size(name, le16(data + 6), le16(data + 8), err) != 0)
      goto done;
    if (!stbi_info_from_memory(data, len, &w, &h, &comp)) {
      set_error(err, name, "corrupt %s: %s", what, stbi_failure_reason());
      goto done;
    }
    /* stb_image 2.27's info gives a top-down BMP's height negative. */
    if (fmt == FMT_BMP && h < 0 && h != INT_MIN) h = -h;
    if (check_size(name, w, h, err) != 0) goto done;
    if ((fmt == FMT_PNG || fmt == FMT_GIF) && check_plausible(name, what, w, h, size, err) != 0)
      goto done;
  }
  size_t npixels = (size_t)w * (size_t)h;
  char chunk[5];
  const int png_bad = fmt == FMT_PNG ? png_check_crcs(data, size, chunk) : 0;
  if (png_bad) {
    set_error(err, name, png_bad == -1 ? "corrupt PNG: bad CRC in chunk %s"
                                       : "truncated PNG: chunk %s runs past the end of the data",
              chunk);
    goto done;
  }
  uint32_t compression = 0;
  if (fmt == FMT_BMP && !bmp_compression_known(data, size, &compression)) {
    set_error(err, name, "unsupported BMP compression %u", (unsigned)compression);
    goto done;
  }
  if ((fmt == FMT_BMP && !bmp_complete(data, size)) ||
      (fmt == FMT_GIF && !gif_complete(data, size))) {
    set_error(err, name, "truncated %s: the data ends before the end of the image", what);
    goto done;
  }

  /* 16-bit samples, reduced to 8 bits through a table. */
  const uint8_t *be16 = NULL; /* big-endian samples of a 16-bit PNM */
  int ch = 1;
  if (fmt == FMT_PNM && pnm.maxval > 255) {
    /* stb_image 2.27 returns 16-bit PNM samples byte-swapped: read them here
     * (pnm_parse has checked that they are all there). */
    be16 = data + pnm.data_offset;
    ch = pnm.channels;
  } else if (fmt == FMT_PNG && comp == 1 && stbi_is_16_bit_from_memory(data, len)) {
    int lw = 0, lh = 0, lcomp = 0;
    wide = stbi_load_16_from_memory(data, len, &lw, &lh, &lcomp, 1);
    if (!wide || lw != w || lh != h) {
      set_error(err, name, "corrupt %s: %s", what, wide ? "size changed" : stbi_failure_reason());
      goto done;
    }
  } else {
    int lw = 0, lh = 0, lcomp = 0;
    rgb = stbi_load_from_memory(data, len, &lw, &lh, &lcomp, 3);
    if (!rgb || lw != w || lh != h) {
      set_error(err, name, "corrupt %s: %s", what, rgb ? "size changed" : stbi_failure_reason());
      goto done;
    }
  }

  if (wide || be16) {
    lut = malloc(65536);
    rgb = malloc(npixels * 3);
    if (!lut || !rgb) {
      set_error(err, name, "out of memory for a %dx%d image", w, h);
      goto done;
    }
    for (unsigned v = 0; v < 65536; v++) {
      unsigned r;
      if (wide || (ch == 1 && pnm.maxval == 65535)) r = v; /* Pillow mode I: clipped */
      else if (ch == 1) r = pil_rescale(v, (unsigned)pnm.maxval, 65535);
      else r = pil_rescale(v, (unsigned)pnm.maxval, 255);
      lut[v] = (uint8_t)(r > 255 ? 255 : r);
    }
    for (size_t p = 0; p < npixels; p++) {
      uint8_t *o = rgb + 3 * p;
      for (int c = 0; c < 3; c++) {
        size_t k = p * (size_t)ch + (size_t)(ch == 3 ? c : 0);
        unsigned v = wide ? wide[k] : (unsigned)be16[2 * k] << 8 | be16[2 * k + 1];
        o[c] = lut[v];
      }
    }
  } else if (fmt == FMT_BMP) {
    bmp16_to_pillow(data, size, rgb, npixels);
  } else if (fmt == FMT_PNM && pnm.maxval != 255) {
    uint8_t small[256];
    for (unsigned v = 0; v < 256; v++)
      small[v] = (uint8_t)pil_rescale(v, (unsigned)pnm.maxval, 255);
    for (size_t i = 0; i < npixels * 3; i++) rgb[i] = small[rgb[i]];
  }

  out->pixels = rgb;
  out->width = w;
  out->height = h;
  rgb = NULL;
  status = 0;
done:
  free(rgb); /* stbi_image_free() is free() */
  free(wide);
  free(lut);
  return status;
}

/* ---- public ------------------------------------------------------------- */

int image_load_memory(const uint8_t *data, size_t size, const char *name, image_rgb *out,
                      char err[IMAGE_ERROR_MAX])
{
  if (!name) name = "<memory>";
  if (!out) {
    set_error(err, name, "invalid argument: no output image");
    return -1;
  }
  out->pixels = NULL;
  out->width = out->height = 0;
  if (!data && size > 0) {
    set_error(err, name, "invalid argument: no data");
    return -1;
  }
  if (size == 0) {
    set_error(err, name, "empty file");
    return -1;
  }
  image_format fmt = detect_format(data, size);
  switch (fmt) {
    case FMT_JPEG: return load_jpeg(data, size, name, out, err);
    case FMT_PNG:
    case FMT_BMP:
    case FMT_GIF:
    case FMT_PNM: return load_stb(data, size, name, fmt, out, err);
    default: set_error(err, name, "not a supported image (" SUPPORTED_LIST ")"); return -1;
  }
}

/* Reads a whole file (regular or not) of at most IMAGE_MAX_FILE_BYTES. */
static int read_file(const char *path, uint8_t **data, size_t *size, char *err)
{
  int status = -1;
  uint8_t *buf = NULL;
  size_t cap = 0, len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    set_error(err, path, "cannot open: %s", strerror(errno));
    goto done;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    set_error(err, path, "cannot stat: %s", strerror(errno));
    goto done;
  }
  if (S_ISDIR(st.st_mode)) {
    set_error(err, path, "is a directory");
    goto done;
  }
  if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > IMAGE_MAX_FILE_BYTES) {
    set_error(err, path, "file too large (%lld bytes, limit %zu)", (long long)st.st_size,
              IMAGE_MAX_FILE_BYTES);
    goto done;
  }
  /* One byte more than the size, to see the end without another realloc. */
  cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
  buf = malloc(cap);
  if (!buf) {
    set_error(err, path, "out of memory for %zu bytes", cap);
    goto done;
  }
  for (;;) {
    if (len == cap) {
      if (cap > IMAGE_MAX_FILE_BYTES) {
        set_error(err, path, "file too large (limit %zu bytes)", IMAGE_MAX_FILE_BYTES);
        goto done;
      }
      size_t ncap = cap * 2 > IMAGE_MAX_FILE_BYTES + 1 ? IMAGE_MAX_FILE_BYTES + 1 : cap * 2;
      uint8_t *nbuf = realloc(buf, ncap);
      if (!nbuf) {
        set_error(err, path, "out of memory for %zu bytes", ncap);
        goto done;
      }
      buf = nbuf;
      cap = ncap;
    }
    ssize_t r = read(fd, buf + len, cap - len);
    if (r < 0) {
      if (errno == EINTR) continue;
      set_error(err, path, "read error: %s", strerror(errno));
      goto done;
    }
    if (r == 0) break;
    len += (size_t)r;
  }
  *data = buf;
  *size = len;
  buf = NULL;
  status = 0;
done:
  free(buf);
  if (fd >= 0) close(fd);
  return status;
}

int image_load_file(const char *path, image_rgb *out, char err[IMAGE_ERROR_MAX])
{
  if (out) {
    out->pixels = NULL;
    out->width = out->height = 0;
  }
  if (!path || !out) {
    set_error(err, path ? path : "<null>", "invalid argument: %s",
              path ? "no output image" : "no path");
    return -1;
  }
  uint8_t *data = NULL;
  size_t size = 0;
  if (read_file(path, &data, &size, err) != 0) return -1;
  int status = image_load_memory(data, size, path, out, err);
  free(data);
  return status;
}

void image_free(image_rgb *img)
{
  if (!img) return;
  free(img->pixels);
  img->pixels = NULL;
  img->width = img->height = 0;
}

int image_write_ppm(const char *path, const image_rgb *img, char err[IMAGE_ERROR_MAX])
{
  int status = -1;
  FILE *f = NULL;
  if (!path) {
    set_error(err, "<null>", "invalid argument: no path");
    goto done;
  }
  if (!img || !img->pixels) {
    set_error(err, path, "invalid argument: no image");
    goto done;
  }
  if (check_size(path, img->width, img->height, err) != 0) goto done;
  f = fopen(path, "wb");
  if (!f) {
    set_error(err, path, "cannot create: %s", strerror(errno));
    goto done;
  }
  size_t bytes = (size_t)img->width * (size_t)img->height * 3;
  if (fprintf(f, "P6\n%d %d\n255\n", img->width, img->height) < 0 ||
      fwrite(img->pixels, 1, bytes, f) != bytes) {
    set_error(err, path, "write error: %s", strerror(errno));
    goto done;
  }
  FILE *closing = f;
  f = NULL;
  if (fclose(closing) != 0) {
    set_error(err, path, "write error: %s", strerror(errno));
    goto done;
  }
  status = 0;
done:
  if (f) fclose(f);
  return status;
}
