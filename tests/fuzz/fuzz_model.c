/* fuzz_model.c: libFuzzer target for the model loader and the runner.
 *
 * Every input is a candidate .tflite file: it is loaded (flatbuffer reader,
 * graph builder, weight packing), described (mn_model_layers) and, when
 * the engine accepts it, run once at its own resolution (at most 64, to
 * keep each input fast) on one thread. A crash, a sanitizer report, a leak
 * or a hang (libFuzzer's -timeout) is a bug: a file must either load and
 * run or be refused with a message. Built with -Dfuzz=true and run by scripts/fuzz. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mobilenet/mobilenet.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
