/* consumer.c: a program a user of the installed library would write, built by
 * install_check.py with nothing but `pkg-config --cflags --libs mobilenet`
 * against the installed tree. With a model file it classifies a synthetic
 * image and prints the best class; without one it prints the model-less API.
 *
 * Usage: consumer [MODEL.tflite]   Exit status 0 on success. */
#include <mobilenet/mobilenet.h>

#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
  char err[MN_ERROR_MAX];
  mn_model *model = NULL;
  mn_runner *runner = NULL;
  mn_result top[5];
  static uint8_t pixels[64 * 48 * 3];
  int n, status = 1;

  printf("dtypes: %s %s %s\n", mn_dtype_name(MN_DTYPE_F32), mn_dtype_name(MN_DTYPE_U8),
         mn_dtype_name(MN_DTYPE_I8));
  if (argc < 2)
    return 0;
  if (mn_model_load(argv[1], &model, err) != MN_OK) {
    fprintf(stderr, "consumer: %s\n", err);
    return 1;
  }
  if (mn_runner_create(model, mn_model_resolution(model), 1, &runner, err) != MN_OK) {
    fprintf(stderr, "consumer: %s\n", err);
    goto out;
  }
  for (size_t i = 0; i < sizeof pixels; i++)
    pixels[i] = (uint8_t)(i * 7);
  mn_image image = { pixels, 64, 48, 64 * 3, MN_PIXEL_RGB };
  n = mn_runner_classify(runner, &image, 5, top, err);
  if (n <= 0) {
    fprintf(stderr, "consumer: %s\n", n < 0 ? err : "no result");
    goto out;
  }
  printf("top-1: class %d score %.4f\n", top[0].class_index, top[0].score);
  status = 0;
out:
  mn_runner_free(runner);
  mn_model_free(model);
  return status;
}
