/* cli_common.c: see cli_common.h. */
#include "cli_common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cli_model_options_init(cli_model_options *o) {
  memset(o, 0, sizeof *o);
  o->arch = MN_ARCH_V1;
  o->alpha = 1.0f;
  o->dtype = MN_DTYPE_F32;
}

int cli_parse_int(const char *s, int lo, int hi, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return 0;
  *out = (int)v;
  return 1;
}

int cli_parse_float(const char *s, float lo, float hi, float *out) {
  char *end;
  errno = 0;
  float v = strtof(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi)) return 0;
  *out = v;
  return 1;
}

void cli_print_version(const char *prog) {
  printf("%s %s (libmobilenet %s)\n", prog, MN_PROGRAMS_VERSION, mn_version());
}

int cli_model_option(cli_model_options *o, int argc, char **argv, int *i, const char *prog) {
  const char *opt = argv[*i];
  static const char *const known[] = {"--models", "--model", "--alpha", "--dtype",
                                      "--resolution", "--threads", "--arch"};
  int which = -1;
  if (!strcmp(opt, "--version")) { /* every program's, like --help */
    cli_print_version(prog);
    exit(0);
  }
  for (int k = 0; k < 7; k++)
    if (!strcmp(opt, known[k])) which = k;
  if (which < 0) return 0;
  if (*i + 1 >= argc) {
    fprintf(stderr, "%s: %s needs a value\n", prog, opt);
    return -1;
  }
  const char *v = argv[++*i];
  switch (which) {
    case 0: o->models_dir = v; return 1;
    case 1: o->model_path = v; return 1;
    case 2:
      if (!cli_parse_float(v, 0.01f, 4.0f, &o->alpha)) {
        fprintf(stderr, "%s: --alpha %s: expected a width multiplier such as 0.25, 0.5, 0.75 or 1.0\n",
                prog, v);
        return -1;
      }
      return 1;
    case 3:
      if (!mn_dtype_parse(v, &o->dtype)) {
        fprintf(stderr, "%s: --dtype %s: expected f32, u8 or i8\n", prog, v);
        return -1;
      }
      return 1;
    case 6:
      if (!mn_arch_parse(v, &o->arch) || o->arch == MN_ARCH_OTHER) {
        fprintf(stderr, "%s: --arch %s: expected v1, v2, v3-small or v3-large\n", prog, v);
        return -1;
      }
      return 1;
    case 4:
      if (!cli_parse_int(v, MN_MIN_RESOLUTION, MN_MAX_RESOLUTION, &o->resolution)) {
        fprintf(stderr, "%s: --resolution %s: expected a whole number from %d to %d\n", prog, v,
                MN_MIN_RESOLUTION, MN_MAX_RESOLUTION);
        return -1;
      }
      return 1;
    default:
      if (!cli_parse_int(v, 1, MN_MAX_THREADS, &o->threads)) {
        fprintf(stderr, "%s: --threads %s: expected a whole number from 1 to %d\n", prog, v,
                MN_MAX_THREADS);
        return -1;
      }
      return 1;
  }
}

int cli_load_model(const cli_model_options *o, mn_model **model, int *resolution,
                   const char *prog) {
  char err[MN_ERROR_MAX], dir[4096], path[4200];
  const char *file = o->model_path;
  if (!file) {
    mn_models_dir(o->models_dir, dir, sizeof dir);
    if (mn_models_find(dir, o->arch, o->alpha, o->dtype, o->resolution, path, sizeof path, err) !=
        MN_OK) {
      fprintf(stderr, "%s: %s\n", prog, err);
      return -1;
    }
    file = path;
  }
  if (mn_model_load(file, model, err) != MN_OK) {
    fprintf(stderr, "%s: %s\n", prog, err);
    return -1;
  }
  *resolution = o->resolution > 0 ? o->resolution : mn_model_resolution(*model);
  return 0;
}

void cli_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

double cli_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int cli_print_summary(FILE *f, const mn_model *model, int resolution, int json) {
  mn_layer_info layers[256];
  int n = mn_model_layers(model, resolution, layers, 256);
  if (n < 0) return -1;
  if (n > 256) n = 256;
  int64_t params = 0, macs = 0;
  for (int i = 0; i < n; i++) params += layers[i].params, macs += layers[i].macs;
  if (json) {
    fprintf(f, "{\"model\":");
    cli_json_string(f, mn_model_name(model));
    fprintf(f, ",\"arch\":\"%s\"", mn_arch_name(mn_model_arch(model)));
    fprintf(f, ",\"alpha\":%g,\"resolution\":%d,\"dtype\":\"%s\",\"params\":%lld,\"macs\":%lld,"
               "\"layers\":[",
            mn_model_alpha(model), resolution, mn_dtype_name(mn_model_dtype(model)),
            (long long)params, (long long)macs);
    for (int i = 0; i < n; i++)
      fprintf(f, "%s{\"type\":\"%s\",\"shape\":[%d,%d,%d],\"params\":%lld,\"macs\":%lld}",
              i ? "," : "", layers[i].type, layers[i].out_h, layers[i].out_w, layers[i].out_c,
              (long long)layers[i].params, (long long)layers[i].macs);
    fprintf(f, "]}\n");
    return 0;
  }
  fprintf(f, "%s: %s, alpha %g, %s, at %dx%d\n", mn_model_name(model),
          mn_arch_title(mn_model_arch(model)), mn_model_alpha(model),
          mn_dtype_name(mn_model_dtype(model)), resolution, resolution);
  fprintf(f, "%3s  %-14s %-16s %12s %14s\n", "#", "layer", "output", "params", "MACs");
  for (int i = 0; i < n; i++) {
    char shape[32];
    snprintf(shape, sizeof shape, "%dx%dx%d", layers[i].out_h, layers[i].out_w, layers[i].out_c);
    fprintf(f, "%3d  %-14s %-16s %12lld %14lld\n", i, layers[i].type, shape,
            (long long)layers[i].params, (long long)layers[i].macs);
  }
  fprintf(f, "total: %.3f M parameters, %.1f M multiply-adds\n", params / 1e6, macs / 1e6);
  return 0;
}
