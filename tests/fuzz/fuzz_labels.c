/* fuzz_labels.c: libFuzzer target for the label file reader
 * (mn_model_load_labels, the imagenet_labels.txt beside a model).
 *
 * A tiny float classifier of 1001 classes is written once with the tests'
 * TFLite writer and loaded; every input is then read as its label file and,
 * when accepted, every label is read back and one image classified (the
 * labels are copied into the results). Built with -Dfuzz=true and run by
 * scripts/fuzz. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mobilenet/mobilenet.h>

#include "tflite_writer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { CLASSES = 1001 };
static mn_model *model;
static mn_runner *runner;

/* input [1,32,32,3] -> 32x32 average pool -> 1x1 conv to 1001 -> [1,1001] */
static void make_model(void) {
  static float w[CLASSES * 3], b[CLASSES];
  for (int i = 0; i < CLASSES * 3; i++) w[i] = (float)((i * 37) % 101 - 50) / 50.0f;
  tw_graph *g = tw_new();
  const int in = tw_tensor(g, TFL_FLOAT32, 4, (int[]){1, 32, 32, 3}, NULL, 0, NULL);
  const int pooled = tw_tensor(g, TFL_FLOAT32, 4, (int[]){1, 1, 1, 3}, NULL, 0, NULL);
  const int wt = tw_tensor(g, TFL_FLOAT32, 4, (int[]){CLASSES, 1, 1, 3}, w, sizeof w, NULL);
  const int bt = tw_tensor(g, TFL_FLOAT32, 1, (int[]){CLASSES}, b, sizeof b, NULL);
  const int conv = tw_tensor(g, TFL_FLOAT32, 4, (int[]){1, 1, 1, CLASSES}, NULL, 0, NULL);
  const int shape = tw_tensor(g, TFL_INT32, 1, (int[]){2}, (int[]){1, CLASSES}, 8, NULL);
  const int out = tw_tensor(g, TFL_FLOAT32, 2, (int[]){1, CLASSES}, NULL, 0, NULL);
  tw_op(g, TFL_OP_AVERAGE_POOL_2D, 1, (int[]){in}, pooled,
        &(tw_options){.padding = TFL_PAD_VALID, .stride = 1, .filter_w = 32, .filter_h = 32});
  tw_op(g, TFL_OP_CONV_2D, 3, (int[]){pooled, wt, bt}, conv,
        &(tw_options){.padding = TFL_PAD_VALID, .stride = 1});
  tw_op(g, TFL_OP_RESHAPE, 2, (int[]){conv, shape}, out, NULL);
  tw_io(g, in, out);
  size_t size;
  uint8_t *file = tw_finish(g, &size);
  const int fd = memfd_create("fuzz-labels-model", MFD_CLOEXEC);
  char path[64], err[MN_ERROR_MAX];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  if (fd < 0 || !file || write(fd, file, size) != (ssize_t)size) abort();
  if (mn_model_load(path, &model, err) != MN_OK ||
      mn_runner_create(model, 32, 1, &runner, err) != MN_OK) {
    fprintf(stderr, "fuzz_labels: %s\n", err);
    abort();
  }
  free(file);
  tw_free(g);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  make_model();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int fd = -1;
  if (fd < 0 && (fd = memfd_create("fuzz-labels", MFD_CLOEXEC)) < 0) abort();
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) abort();
  char path[64], err[MN_ERROR_MAX];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  if (mn_model_load_labels(model, path, err) != MN_OK) return 0;
  size_t total = 0;
  for (int c = 0; c < mn_model_num_classes(model); c++) {
    const char *label = mn_model_class_label(model, c);
    if (label) total += strlen(label);
  }
  static uint8_t pixels[32 * 32 * 3];
  pixels[0] = (uint8_t)total;
  mn_result top[5];
  if (mn_runner_classify_preprocessed(runner, pixels, 5, top, err) != 5) abort();
  for (int i = 0; i < 5; i++)
    if (memchr(top[i].label, '\0', sizeof top[i].label) == NULL) abort();
  return 0;
}
