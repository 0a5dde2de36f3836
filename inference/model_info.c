/* model_info.c: what a model is, read off its graph: the architecture
 * (MobileNet v1, v2, v3-small, v3-large, v3-large-minimalistic, or another
 * graph of the same operators) and the width multiplier alpha, from the
 * channel counts the architecture scales by alpha. */
#include <math.h>
#include <string.h>

#include "engine.h"
#include "ops/ops.h"
#include "tflite.h"

static const char *const arch_names[MN_ARCH_COUNT] = {
    "mobilenet-like", "v1", "v2", "v3-small", "v3-large", "v3-large-minimalistic"};
static const char *const arch_titles[MN_ARCH_COUNT] = {
    "MobileNet-like", "MobileNet v1", "MobileNet v2", "MobileNet v3-small", "MobileNet v3-large",
    "MobileNet v3-large-min"};

const char *mn_arch_name(mn_arch arch) {
  return arch >= 0 && arch < MN_ARCH_COUNT ? arch_names[arch] : "unknown";
}

const char *mn_arch_title(mn_arch arch) {
  return arch >= 0 && arch < MN_ARCH_COUNT ? arch_titles[arch] : "MobileNet";
}

int mn_arch_parse(const char *text, mn_arch *out) {
  for (int a = 0; a < MN_ARCH_COUNT; a++)
    if (strcmp(text, arch_names[a]) == 0) {
      *out = (mn_arch)a;
      return 1;
    }
  if (!strcmp(text, "v3") || !strcmp(text, "v3-large-min")) {
    *out = !strcmp(text, "v3") ? MN_ARCH_V3_LARGE : MN_ARCH_V3_LARGE_MINIMALISTIC;
    return 1;
  }
  return 0;
}

const float *mn_alphas(void) {
  static const float alphas[MN_ALPHA_COUNT] = {0.25f, 0.35f, 0.5f, 0.75f, 1.0f, 1.3f, 1.4f};
  return alphas;
}

int mn_alpha_known(double alpha) {
  for (int i = 0; i < MN_ALPHA_COUNT; i++)
    if (fabs(alpha - (double)mn_alphas()[i]) < 1e-6) return 1;
  return 0;
}

/* The published width multipliers; a measured ratio within 6 % of one is it. */
static float snap_alpha(float ratio) {
  const float *known = mn_alphas();
  for (int i = 0; i < MN_ALPHA_COUNT; i++)
    if (fabsf(ratio / known[i] - 1.0f) < 0.06f) return known[i];
  return roundf(ratio * 100.0f) / 100.0f;
}

static int out_channels(const mn_model *m, const mn_node *n) {
  return m->values[n->out].rank ? m->values[n->out].shape[m->values[n->out].rank - 1] : 0;
}

void mn_graph_identify(mn_model *m) {
  int n_dw = 0, n_add = 0, hswish = 0, se = 0, first_conv = -1, after_last_dw = -1;
  for (int i = 0; i < m->n_nodes; i++) {
    const mn_node *n = &m->nodes[i];
    if (n->cls == &mn_op_dwconv) {
      n_dw++;
      after_last_dw = -1;
    } else if (n->cls == &mn_op_conv) {
      if (first_conv < 0) first_conv = i;
      /* the projection after the last depthwise layer, not a squeeze-excite
       * convolution (those give 1x1 maps) */
      const mn_value *o = &m->values[n->out];
      if (after_last_dw < 0 && n_dw > 0 && o->rank == 4 && o->shape[1] > 1) after_last_dw = i;
    }
    if (n->tfl_code == TFL_OP_ADD) n_add++;
    if (n->tfl_code == TFL_OP_HARD_SWISH) hswish = 1;
    /* squeeze-excite: a MUL of a map by a per-channel vector */
    if (n->tfl_code == TFL_OP_MUL && n->in[1] >= 0 && !m->values[n->in[1]].is_const &&
        !m->values[n->in[0]].is_const)
      se = 1;
  }
  m->arch = MN_ARCH_OTHER;
  if (n_add == 0 && n_dw == 13 && !hswish) m->arch = MN_ARCH_V1;
  else if (n_add > 0 && n_dw == 17 && !hswish && !se) m->arch = MN_ARCH_V2;
  else if ((hswish || se) && n_dw == 11) m->arch = MN_ARCH_V3_SMALL;
  else if ((hswish || se) && n_dw == 15) m->arch = MN_ARCH_V3_LARGE;
  else if (!hswish && !se && n_add > 0 && n_dw == 15) m->arch = MN_ARCH_V3_LARGE_MINIMALISTIC;

  /* alpha: the channels the architecture scales, over their count at alpha 1 */
  float ratio = 1.0f;
  const int last_proj = after_last_dw >= 0 ? out_channels(m, &m->nodes[after_last_dw]) : 0;
  switch (m->arch) {
    case MN_ARCH_V2: ratio = last_proj / 320.0f; break;
    case MN_ARCH_V3_SMALL: ratio = last_proj / 96.0f; break;
    case MN_ARCH_V3_LARGE:
    case MN_ARCH_V3_LARGE_MINIMALISTIC: ratio = last_proj / 160.0f; break;
    default: /* v1 and the others: the first convolution has 32 alpha filters */
      ratio = first_conv >= 0 ? out_channels(m, &m->nodes[first_conv]) / 32.0f : 1.0f;
      break;
  }
  m->alpha = ratio > 0.0f ? snap_alpha(ratio) : 1.0f;
}
