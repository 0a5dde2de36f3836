/* mobilenet-classify: classifies image files (or every image in folders)
 * with a MobileNet and prints the top-k classes, as text or JSON lines. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_common.h"
#include "image_io.h"

static const char *prog = "mobilenet-classify";

static void usage(FILE *f) {
  fprintf(f,
          "Usage: %s [options] IMAGE|DIR...\n"
          "Classifies JPEG, PNG, BMP, PPM or GIF images with MobileNet v1, v2 or v3.\n\n"
          "  --models DIR       models folder (default: $MOBILENET_MODELS or\n"
          "                     ~/.local/share/mobilenet-live/models)\n"
          "  --model FILE       a .tflite file (overrides --arch/--alpha/--dtype)\n"
          "  --arch A           v1, v2, v3-small or v3-large (default v1)\n"
          "  --alpha A          width multiplier, e.g. 0.25, 0.5, 0.75, 1.0 (default 1.0)\n"
          "  --dtype D          f32, u8 or i8: float32, uint8 or int8 model (default f32)\n"
          "  --resolution R     input size %d..%d (default: the model's own)\n"
          "  --top K            classes per image (default 5): always K, best score\n"
          "                     first, equal scores (e.g. a uint8 model's zeros) by class\n"
          "                     number\n"
          "  --threads N        threads at most (default: all cores; fewer while other\n"
          "                     work keeps cores busy and fewer run faster)\n"
          "  --labels FILE      label file (default: imagenet_labels.txt beside the model)\n"
          "  --json             one JSON object per image\n"
          "  --summary          per-layer table with parameters and multiply-adds\n"
          "  --info             print the model's arch, alpha, resolution, dtype, classes\n"
          "  --help             this text\n"
          "  --version          the version\n",
          prog, MN_MIN_RESOLUTION, MN_MAX_RESOLUTION);
}

typedef struct {
  char **items;
  int count, cap;
} path_list;

static int push(path_list *l, const char *p) {
  if (l->count == l->cap) {
    int cap = l->cap ? l->cap * 2 : 64;
    char **n = realloc(l->items, (size_t)cap * sizeof *n);
    if (!n) return -1;
    l->items = n, l->cap = cap;
  }
  if (!(l->items[l->count] = strdup(p))) return -1;
  l->count++;
  return 0;
}

static int is_image_name(const char *name) {
  static const char *const ext[] = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".gif"};
  const char *dot = strrchr(name, '.');
  if (!dot) return 0;
  for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
    if (!strcasecmp(dot, ext[i])) return 1;
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds a file, or a folder's image files in name order. */
static int add_path(path_list *l, const char *p) {
  struct stat sb;
  if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) return push(l, p); /* errors reported later */
  DIR *d = opendir(p);
  if (!d) return push(l, p);
  int first = l->count;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || !is_image_name(e->d_name)) continue;
    char full[4096];
    snprintf(full, sizeof full, "%s%s%s", p, p[strlen(p) - 1] == '/' ? "" : "/", e->d_name);
    if (push(l, full) != 0) {
      closedir(d);
      return -1;
    }
  }
  closedir(d);
  qsort(l->items + first, (size_t)(l->count - first), sizeof *l->items, cmp_str);
  return 0;
}

static void progress(int done, int total) {
  const int width = 30;
  int fill = total ? done * width / total : width;
  fprintf(stderr, "\r[");
  for (int i = 0; i < width; i++) fputc(i < fill ? '#' : ' ', stderr);
  fprintf(stderr, "] %d/%d", done, total);
  if (done == total) fputc('\n', stderr);
  fflush(stderr);
}

static void print_result(const char *file, const mn_model *model, int resolution, double ms,
                         const mn_result *top, int n, int json) {
  if (json) {
    printf("{\"file\":");
    cli_json_string(stdout, file);
    printf(",\"model\":");
    cli_json_string(stdout, mn_model_name(model));
    printf(",\"arch\":\"%s\",\"alpha\":%g,\"resolution\":%d,\"dtype\":\"%s\",\"ms\":%.3f,"
           "\"top\":[",
           mn_arch_name(mn_model_arch(model)), mn_model_alpha(model), resolution,
           mn_dtype_name(mn_model_dtype(model)), ms);
    for (int i = 0; i < n; i++) {
      printf("%s{\"class\":%d,\"label\":", i ? "," : "", top[i].class_index);
      cli_json_string(stdout, top[i].label);
      printf(",\"score\":%.6f}", top[i].score);
    }
    printf("]}\n");
    return;
  }
  printf("%s (%.1f ms)\n", file, ms);
  /* Exactly the K asked for, as in --json: a uint8 model's exact zeros past
   * its few likely classes are listed too (lowest class index first), so
   * that the text and the JSON say the same and scripts can count lines. */
  for (int i = 0; i < n; i++)
    printf("  %5.1f%%  %s (%d)\n", top[i].score * 100.0, top[i].label, top[i].class_index);
}

static void print_error(const char *file, const char *msg, int json) {
  fprintf(stderr, "%s: %s\n", prog, msg);
  if (json) {
    printf("{\"file\":");
    cli_json_string(stdout, file);
    printf(",\"error\":");
    cli_json_string(stdout, msg);
    printf("}\n");
  }
}

int main(int argc, char **argv) {
  cli_model_options mo;
  cli_model_options_init(&mo);
  int top_k = 5, json = 0, summary = 0, info = 0;
  const char *labels = NULL;
  path_list inputs = {0};
  int status = 0;

  for (int i = 1; i < argc; i++) {
    int r = cli_model_option(&mo, argc, argv, &i, prog);
    if (r < 0) return 2;
    if (r > 0) continue;
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--summary")) {
      summary = 1;
    } else if (!strcmp(a, "--info")) {
      info = 1;
    } else if (!strcmp(a, "--top") || !strcmp(a, "--labels")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", prog, a);
        return 2;
      }
      if (!strcmp(a, "--labels")) {
        labels = argv[++i];
      } else if (!cli_parse_int(argv[++i], 1, 1000, &top_k)) {
        fprintf(stderr, "%s: --top %s: expected a whole number from 1 to 1000\n", prog, argv[i]);
        return 2;
      }
    } else if (a[0] == '-' && a[1] == '-') {
      fprintf(stderr, "%s: unknown option %s (see --help)\n", prog, a);
      return 2;
    } else if (add_path(&inputs, a) != 0) {
      fprintf(stderr, "%s: out of memory\n", prog);
      return 2;
    }
  }
  if (!inputs.count && !summary && !info) {
    usage(stderr);
    return 2;
  }

  mn_model *model = NULL;
  mn_runner *runner = NULL;
  mn_result *top = calloc((size_t)top_k, sizeof *top);
  char err[MN_ERROR_MAX];
  int resolution = 0;
  if (!top || cli_load_model(&mo, &model, &resolution, prog) != 0) {
    status = 2;
    goto out;
  }
  if (labels && mn_model_load_labels(model, labels, err) != MN_OK) {
    fprintf(stderr, "%s: %s\n", prog, err);
    status = 2;
    goto out;
  }
  if (info)
    printf("arch=%s alpha=%g resolution=%d dtype=%s classes=%d outputs=%s\n",
           mn_arch_name(mn_model_arch(model)), mn_model_alpha(model), mn_model_resolution(model),
           mn_dtype_name(mn_model_dtype(model)), mn_model_num_classes(model),
           mn_model_outputs_logits(model) ? "logits" : "probabilities");
  if (summary && cli_print_summary(stdout, model, resolution, json) != 0) {
    fprintf(stderr, "%s: %s cannot run at %dx%d\n", prog, mn_model_name(model), resolution,
            resolution);
    status = 2;
    goto out;
  }
  if (!inputs.count) goto out;
  if (mn_runner_create(model, resolution, mo.threads, &runner, err) != MN_OK) {
    fprintf(stderr, "%s: %s: %s\n", prog, mn_model_name(model), err);
    status = 2;
    goto out;
  }

  const int show_progress = inputs.count > 1 && isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO);
  for (int i = 0; i < inputs.count; i++) {
    const char *file = inputs.items[i];
    image_rgb img = {0};
    char ierr[IMAGE_ERROR_MAX];
    if (image_load_file(file, &img, ierr) != 0) {
      print_error(file, ierr, json);
      status = 1;
    } else {
      mn_image im = {img.pixels, img.width, img.height, (size_t)img.width * 3, MN_PIXEL_RGB};
      double t0 = cli_now_ms();
      int n = mn_runner_classify(runner, &im, top_k, top, err);
      double ms = cli_now_ms() - t0;
      if (n < 0) {
        char msg[MN_ERROR_MAX + 64];
        snprintf(msg, sizeof msg, "%s: %s", file, err);
        print_error(file, msg, json);
        status = 1;
      } else {
        print_result(file, model, resolution, ms, top, n, json);
      }
      image_free(&img);
    }
    if (show_progress) progress(i + 1, inputs.count);
  }

out:
  mn_runner_free(runner);
  mn_model_free(model);
  free(top);
  for (int i = 0; i < inputs.count; i++) free(inputs.items[i]);
  free(inputs.items);
  return status;
}
