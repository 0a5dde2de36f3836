/* mobilenet-bench: times one MobileNet inference (network only, input
 * already preprocessed, as the peer benchmarks do) and prints the median,
 * min and max latency and frames per second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"

static const char *prog = "mobilenet-bench";

static void usage(FILE *f) {
  fprintf(f,
          "Usage: %s [options]\n"
          "Times MobileNet v1 inference on this machine.\n\n"
          "  --models DIR / --model FILE / --alpha A / --dtype f32|u8\n"
          "                     choose the model as mobilenet-classify does\n"
          "  --resolution R     input size %d..%d (default: the model's own)\n"
          "  --threads N        threads (default: all cores)\n"
          "  --runs N           timed runs after warm-up (default 100)\n"
          "  --layers           also print the median time of every layer\n"
          "  --json             one JSON object\n"
          "  --help             this text\n",
          prog, MN_MIN_RESOLUTION, MN_MAX_RESOLUTION);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv) {
  cli_model_options mo;
  cli_model_options_init(&mo);
  int runs = 100, json = 0, layers = 0, status = 0;
  for (int i = 1; i < argc; i++) {
    int r = cli_model_option(&mo, argc, argv, &i, prog);
    if (r < 0) return 2;
    if (r > 0) continue;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--json")) {
      json = 1;
    } else if (!strcmp(argv[i], "--layers")) {
      layers = 1;
    } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
      if (!cli_parse_int(argv[++i], 1, 1000000, &runs)) {
        fprintf(stderr, "%s: --runs %s: expected a whole number from 1 to 1000000\n", prog,
                argv[i]);
        return 2;
      }
    } else {
      fprintf(stderr, "%s: unknown option %s (see --help)\n", prog, argv[i]);
      return 2;
    }
  }

  mn_model *model = NULL;
  mn_runner *runner = NULL;
  uint8_t *rgb = NULL;
  double *times = NULL, *layer_t = NULL;
  char err[MN_ERROR_MAX];
  int resolution;
  if (cli_load_model(&mo, &model, &resolution, prog) != 0) return 2;
  if (mn_runner_create(model, resolution, mo.threads, &runner, err) != MN_OK) {
    fprintf(stderr, "%s: %s: %s\n", prog, mn_model_name(model), err);
    status = 2;
    goto out;
  }
  const int n_layers = mn_runner_layer_times(runner, NULL, 0);
  rgb = malloc((size_t)resolution * resolution * 3);
  times = malloc((size_t)runs * sizeof *times);
  layer_t = malloc((size_t)runs * (size_t)n_layers * sizeof *layer_t);
  if (!rgb || !times || !layer_t) {
    fprintf(stderr, "%s: out of memory\n", prog);
    status = 2;
    goto out;
  }
  /* A fixed, non-trivial picture (so no path sees only zeros). */
  for (int i = 0; i < resolution * resolution * 3; i++) rgb[i] = (uint8_t)((i * 7919u) >> 3);

  const int warmup = runs / 10 > 5 ? runs / 10 : 5;
  for (int i = 0; i < warmup; i++) mn_runner_classify_preprocessed(runner, rgb, 0, NULL, err);
  for (int i = 0; i < runs; i++) {
    double t0 = cli_now_ms();
    mn_runner_classify_preprocessed(runner, rgb, 0, NULL, err);
    times[i] = cli_now_ms() - t0;
    mn_runner_layer_times(runner, layer_t + (size_t)i * n_layers, n_layers);
  }
  double lo = times[0], hi = times[0];
  for (int i = 1; i < runs; i++) {
    lo = times[i] < lo ? times[i] : lo;
    hi = times[i] > hi ? times[i] : hi;
  }
  double med = median(times, runs);
  mn_layer_info *info = calloc((size_t)n_layers, sizeof *info);
  double *col = malloc((size_t)runs * sizeof *col);
  if (!info || !col) {
    free(info), free(col);
    fprintf(stderr, "%s: out of memory\n", prog);
    status = 2;
    goto out;
  }
  mn_model_layers(model, resolution, info, n_layers);
  int64_t macs = 0;
  for (int l = 0; l < n_layers; l++) macs += info[l].macs;

  if (json) {
    printf("{\"model\":");
    cli_json_string(stdout, mn_model_name(model));
    printf(",\"alpha\":%g,\"resolution\":%d,\"dtype\":\"%s\",\"threads\":%d,\"runs\":%d,"
           "\"median_ms\":%.4f,\"min_ms\":%.4f,\"max_ms\":%.4f,\"fps\":%.2f,\"macs\":%lld",
           mn_model_alpha(model), resolution, mn_dtype_name(mn_model_dtype(model)),
           mn_runner_threads(runner), runs, med, lo, hi, 1000.0 / med, (long long)macs);
  } else {
    printf("%s alpha %g %s %dx%d, %d threads, %d runs: median %.3f ms (min %.3f, max %.3f), "
           "%.1f fps, %.1f GMAC/s\n",
           mn_model_name(model), mn_model_alpha(model), mn_dtype_name(mn_model_dtype(model)),
           resolution, resolution, mn_runner_threads(runner), runs, med, lo, hi, 1000.0 / med,
           macs / med / 1e6);
  }
  if (layers) {
    if (json) printf(",\"layers\":[");
    else printf("%3s  %-14s %-14s %10s %9s %9s\n", "#", "layer", "output", "MACs", "ms", "GMAC/s");
    for (int l = 0; l < n_layers; l++) {
      for (int i = 0; i < runs; i++) col[i] = layer_t[(size_t)i * n_layers + l];
      double m = median(col, runs);
      if (json) {
        printf("%s{\"type\":\"%s\",\"shape\":[%d,%d,%d],\"macs\":%lld,\"median_ms\":%.4f}",
               l ? "," : "", info[l].type, info[l].out_h, info[l].out_w, info[l].out_c,
               (long long)info[l].macs, m);
      } else {
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", info[l].out_h, info[l].out_w, info[l].out_c);
        printf("%3d  %-14s %-14s %10lld %9.4f %9.1f\n", l, info[l].type, shape,
               (long long)info[l].macs, m, m > 0 ? info[l].macs / m / 1e6 : 0.0);
      }
    }
    if (json) printf("]");
  }
  if (json) printf("}\n");
  free(info);
  free(col);

out:
  free(rgb);
  free(times);
  free(layer_t);
  mn_runner_free(runner);
  mn_model_free(model);
  return status;
}
