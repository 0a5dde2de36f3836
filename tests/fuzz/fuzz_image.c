/* fuzz_image.c: libFuzzer target for the image decoders (app/image_io.c).
 *
 * Every input is a candidate image file of any format (JPEG, PNG, BMP, PPM,
 * GIF): it is decoded from memory and, when accepted, preprocessed by the
 * engine (central crop and resize to 64x64) the way mobilenet-classify does.
 * A file must decode or be refused with a message; a crash, a sanitizer
 * report, a leak, a hang or a huge allocation (libFuzzer's -rss_limit_mb,
 * -malloc_limit_mb) is a bug. Built with -Dfuzz=true and run by scripts/fuzz. */
#include <stdint.h>
#include <stdlib.h>

#include <mobilenet/mobilenet.h>

#include "image_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  image_rgb img = {NULL, 0, 0};
  char err[IMAGE_ERROR_MAX], merr[MN_ERROR_MAX];
  if (image_load_memory(data, size, "fuzz", &img, err) != 0) return 0;
  /* a decoded image is what the rest of the program trusts */
  if (!img.pixels || img.width < 1 || img.height < 1 || img.width > IMAGE_MAX_SIDE ||
      img.height > IMAGE_MAX_SIDE)
    abort();
  static uint8_t rgb[64 * 64 * 3];
  const mn_image im = {img.pixels, img.width, img.height, (size_t)img.width * 3, MN_PIXEL_RGB};
  if (mn_preprocess(&im, 64, rgb, merr) != MN_OK) abort();
  image_free(&img);
  return 0;
}
