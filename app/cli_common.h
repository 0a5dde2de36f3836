/* cli_common.h: what the command-line programs share: choosing and loading
 * a model from the usual options, number parsing, JSON strings, timing. */
#ifndef MN_CLI_COMMON_H
#define MN_CLI_COMMON_H

#include <stdio.h>

#include "mobilenet/mobilenet.h"

typedef struct {
  const char *models_dir; /* --models */
  const char *model_path; /* --model, overrides arch/alpha/dtype */
  mn_arch arch;           /* --arch, default v1 */
  float alpha;            /* --alpha, default 1.0 */
  mn_dtype dtype;         /* --dtype, default f32 */
  int resolution;         /* --resolution, 0 = the model's own */
  int threads;            /* --threads, 0 = all cores */
} cli_model_options;

void cli_model_options_init(cli_model_options *o);

/* "PROG 0.1.0 (libmobilenet 0.1.0)" on stdout: --version. */
void cli_print_version(const char *prog);

/* Handles --models, --model, --arch, --alpha, --dtype, --resolution, --threads
 * (argv[*i] is the option; its value is taken from argv[*i + 1]).
 * Returns 1 when consumed, 0 when not one of these, -1 on a bad value
 * (message printed). --version prints the program's and the library's
 * version and exits 0. */
int cli_model_option(cli_model_options *o, int argc, char **argv, int *i, const char *prog);

/* Loads the model the options name; *resolution gets the run resolution. */
int cli_load_model(const cli_model_options *o, mn_model **model, int *resolution, const char *prog);

/* Strict number parsing: whole string, within [lo, hi]. */
int cli_parse_int(const char *s, int lo, int hi, int *out);
int cli_parse_float(const char *s, float lo, float hi, float *out);

/* The per-layer table and totals of a model at a resolution (text or one
 * JSON object). Returns 0, or -1 when the model cannot run at it. */
int cli_print_summary(FILE *f, const mn_model *model, int resolution, int json);

void cli_json_string(FILE *f, const char *s);
double cli_now_ms(void);

#endif
