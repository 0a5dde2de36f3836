/* image_io.h: image loading for the mobilenet-live command-line tools.
 *
 * Decodes JPEG (libjpeg-turbo's TurboJPEG API) and PNG, BMP, PGM/PPM and GIF
 * (stb_image) into packed 8-bit RGB, the way Pillow's
 * Image.open(path).convert("RGB") does, which is what the reference
 * classifications in shared/reference were made with:
 *
 *   - JPEG: accurate integer IDCT and fancy upsampling (libjpeg defaults);
 *     grayscale becomes R=G=B; CMYK/YCCK is read with Adobe polarity
 *     (inverted, as Photoshop writes it) and converted with Pillow's formula;
 *     EXIF orientation is ignored. A JPEG whose data ends early (even if only
 *     the end-of-image marker is missing) is refused, as Pillow does; a
 *     complete JPEG with corrupt entropy data that libjpeg can recover from
 *     (a libjpeg warning) is accepted, as Pillow does.
 *   - PNG: 16-bit samples keep their high byte, except 16-bit grayscale
 *     which is clipped to 255 (Pillow's I -> RGB conversion); alpha is
 *     dropped, not composited.
 *   - BMP: 1/4/8-bit palette, 16/24/32-bit, bottom-up and top-down (no RLE).
 *   - PGM/PPM: binary P5/P6 only; a maxval other than 255 is rescaled like
 *     Pillow does.
 *   - GIF: the first frame.
 * The format is detected from the first bytes, never from the file name.
 *
 * Every image is checked against IMAGE_MAX_SIDE / IMAGE_MAX_PIXELS from its
 * header before any pixel memory is allocated. Functions return 0 on success
 * or -1 with a one-line message in err ("path: cause"); err may be NULL.
 * On failure *out is left empty ({NULL, 0, 0}), so image_free() is always
 * safe. The functions keep no global state and may be called from several
 * threads at once.
 */
#ifndef MOBILENET_IMAGE_IO_H
#define MOBILENET_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IMAGE_ERROR_MAX 512
#define IMAGE_MAX_SIDE 16384
#define IMAGE_MAX_PIXELS (100u * 1000u * 1000u)

/* Packed RGB, 3 bytes per pixel, stride = 3 * width. */
typedef struct {
  uint8_t *pixels;
  int width, height;
} image_rgb;

/* 0 on success; -1 with a one-line message in err naming the file and the cause. */
int image_load_file(const char *path, image_rgb *out, char err[IMAGE_ERROR_MAX]);

/* Same from memory; name (may be NULL) is used in messages only. */
int image_load_memory(const uint8_t *data, size_t size, const char *name, image_rgb *out,
                      char err[IMAGE_ERROR_MAX]);

/* Frees the pixels and empties *img; NULL and empty images are fine. */
void image_free(image_rgb *img);

/* Writes a binary PPM (P6, maxval 255); 0 or -1 with err. Used by tests and tools. */
int image_write_ppm(const char *path, const image_rgb *img, char err[IMAGE_ERROR_MAX]);

#ifdef __cplusplus
}
#endif

#endif /* MOBILENET_IMAGE_IO_H */
