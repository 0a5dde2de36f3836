/* fuzz_model.c: libFuzzer target for the model loader and the runner.
 *
 * Every input is a candidate .tflite file: it is loaded (flatbuffer reader,
 * graph builder, weight packing), described (mn_model_layers) and, when
 * the engine accepts it, run once at its own resolution (at most 64, to
 * keep each input fast) on one thread. A crash, a sanitizer report, a leak
 * or a hang (libFuzzer's -timeout) is a bug: a file must either load and
 * run or be refused with a message.
 *
 * Structure-aware mutations: a real model is mostly weights, and a byte
 * changed there is just another weight. Half of the mutations therefore
 * change only bytes outside the file's large constant buffers (found with
 * the engine's bounds-checked flatbuffer reader): shapes, strides, scales,
 * zero points, operator options, offsets. That is how a zero point of
 * 2147439616 in a working uint8 model was found (issue 13).
 * Built with -Dfuzz=true and run by scripts/fuzz. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mobilenet/mobilenet.h>

#include "flatbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

typedef struct {
  uint32_t begin, end;
} region;

static uint32_t next_random(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return *state >> 8;
}

/* The byte ranges of the model's buffers of 256 bytes or more (weights). */
static int weight_regions(const uint8_t *data, size_t size, region *out, int max) {
  fb_buffer fb;
  fb_init(&fb, data, size);
  const fb_table root = fb_root(&fb, "TFL3");
  if (fb.failed) return -1;
  const fb_vector buffers = fb_vector_field(&fb, root, 4, 4);
  int n = 0;
  for (uint32_t i = 0; i < buffers.count && n < max && !fb.failed; i++) {
    const fb_table b = fb_vector_table(&fb, buffers, i);
    const fb_vector bytes = fb_vector_field(&fb, b, 0, 1);
    if (!fb.failed && bytes.count >= 256) out[n++] = (region){bytes.pos, bytes.pos + bytes.count};
  }
  return n;
}

static int in_regions(const region *r, int n, uint32_t pos) {
  for (int i = 0; i < n; i++)
    if (pos >= r[i].begin && pos < r[i].end) return 1;
  return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
  static region regions[1024];
  uint32_t rnd = seed;
  const int n = (next_random(&rnd) & 1) || size < 64 ? -1 : weight_regions(data, size, regions, 1024);
  if (n <= 0) return LLVMFuzzerMutate(data, size, max_size);
  /* values the kernels must not trust blindly */
  static const uint32_t words[] = {0u, 1u, 0xffffffffu, 0x7fffffffu, 0x80000000u, 255u, 256u,
                                   0x7f800000u /* inf */, 0x7fc00000u /* NaN */,
                                   0x0da24260u /* 1e-30 */, 0x7149f2cau /* 1e30 */,
                                   0xbf800000u /* -1 */, 65536u};
  const int changes = 1 + (int)(next_random(&rnd) % 4);
  for (int c = 0; c < changes; c++) {
    uint32_t pos = 0;
    int tries = 0;
    do pos = next_random(&rnd) % (uint32_t)size;
    while (in_regions(regions, n, pos) && ++tries < 64);
    if (tries >= 64) break;
    switch (next_random(&rnd) % 4) {
      case 0: data[pos] ^= (uint8_t)(1u << (next_random(&rnd) % 8)); break;
      case 1: data[pos] = (uint8_t)next_random(&rnd); break;
      default:
        pos &= ~3u; /* flatbuffer scalars are aligned */
        if (pos + 4 <= size && !in_regions(regions, n, pos)) {
          const uint32_t w = words[next_random(&rnd) % (sizeof words / sizeof words[0])];
          memcpy(data + pos, &w, 4);
        }
    }
  }
  return size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int fd = -1; /* the loader takes a path: one in-memory file, rewritten */
  if (fd < 0 && (fd = memfd_create("fuzz-model", MFD_CLOEXEC)) < 0) abort();
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) abort();
  char path[64], err[MN_ERROR_MAX];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  mn_model *model = NULL;
  if (mn_model_load(path, &model, err) != MN_OK) return 0;
  mn_layer_info info[16];
  mn_model_layers(model, mn_model_resolution(model), info, 16);
  const int res = mn_model_resolution(model) < 64 ? mn_model_resolution(model) : 64;
  mn_runner *runner = NULL;
  if (mn_runner_create(model, res, 1, &runner, err) == MN_OK) {
    uint8_t *rgb = malloc((size_t)res * res * 3);
    if (rgb) {
      for (int i = 0; i < res * res * 3; i++) rgb[i] = (uint8_t)(i * 37);
      mn_result top[5];
      mn_runner_classify_preprocessed(runner, rgb, 5, top, err);
    }
    free(rgb);
    mn_runner_free(runner);
  }
  mn_model_free(model);
  return 0;
}
