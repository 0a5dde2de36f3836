/* reference.c: plain reference kernels (the fast kernels are tested against
 * them) and the small kernels that need no vector variant. Written for
 * clarity: TFLite weight layouts, float64 accumulation for float. */
#include <math.h>

#include "kernels.h"

void mn_requantize_row(const int32_t *acc, int n, const mn_requant *rq, uint8_t *out) {
  for (int i = 0; i < n; i++) out[i] = mn_requantize_at(acc[i], rq, i);
}

static float clampf(float v, float lo, float hi) { return mn_f32_act(v, lo, hi); }

void mn_f32_conv_ref(const mn_conv_geom *g, const float *in, const float *w_ohwi,
                     const float *bias, float *out, float lo, float hi) {
  for (int y = 0; y < g->out_h; y++)
    for (int x = 0; x < g->out_w; x++)
      for (int o = 0; o < g->out_c; o++) {
        double acc = bias[o];
        for (int ky = 0; ky < g->kh; ky++)
          for (int kx = 0; kx < g->kw; kx++) {
            int iy = y * g->stride - g->pad_top + ky, ix = x * g->stride - g->pad_left + kx;
            if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) continue;
            for (int c = 0; c < g->in_c; c++)
              acc += (double)in[((size_t)iy * g->in_w + ix) * g->in_c + c] *
                     w_ohwi[(((size_t)o * g->kh + ky) * g->kw + kx) * g->in_c + c];
          }
        out[((size_t)y * g->out_w + x) * g->out_c + o] = clampf((float)acc, lo, hi);
      }
}

void mn_f32_dwconv_ref(const mn_conv_geom *g, const float *in, const float *w, const float *bias,
                       float *out, float lo, float hi) {
  for (int y = 0; y < g->out_h; y++)
    for (int x = 0; x < g->out_w; x++)
      for (int c = 0; c < g->in_c; c++) {
        double acc = bias[c];
        for (int ky = 0; ky < g->kh; ky++)
          for (int kx = 0; kx < g->kw; kx++) {
            int iy = y * g->stride - g->pad_top + ky, ix = x * g->stride - g->pad_left + kx;
            if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) continue;
            acc += (double)in[((size_t)iy * g->in_w + ix) * g->in_c + c] *
                   w[((size_t)ky * g->kw + kx) * g->in_c + c];
          }
        out[((size_t)y * g->out_w + x) * g->in_c + c] = clampf((float)acc, lo, hi);
      }
}

void mn_u8_conv_ref(const mn_conv_geom *g, const uint8_t *in, const uint8_t *w_ohwi,
                    int32_t w_zp, const int32_t *bias, uint8_t *out, const mn_requant *rq) {
  for (int y = 0; y < g->out_h; y++)
    for (int x = 0; x < g->out_w; x++)
      for (int o = 0; o < g->out_c; o++) {
        int32_t acc = bias[o];
        for (int ky = 0; ky < g->kh; ky++)
          for (int kx = 0; kx < g->kw; kx++) {
            int iy = y * g->stride - g->pad_top + ky, ix = x * g->stride - g->pad_left + kx;
            if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) continue;
            for (int c = 0; c < g->in_c; c++)
              acc += ((int32_t)in[((size_t)iy * g->in_w + ix) * g->in_c + c] - rq->in_zp) *
                     ((int32_t)w_ohwi[(((size_t)o * g->kh + ky) * g->kw + kx) * g->in_c + c] -
                      w_zp);
          }
        out[((size_t)y * g->out_w + x) * g->out_c + o] = mn_requantize_at(acc, rq, o);
      }
}

void mn_u8_dwconv_ref(const mn_conv_geom *g, const uint8_t *in, const uint8_t *w, int32_t w_zp,
                      const int32_t *bias, uint8_t *out, const mn_requant *rq) {
  for (int y = 0; y < g->out_h; y++)
    for (int x = 0; x < g->out_w; x++)
      for (int c = 0; c < g->in_c; c++) {
        int32_t acc = bias[c];
        for (int ky = 0; ky < g->kh; ky++)
          for (int kx = 0; kx < g->kw; kx++) {
            int iy = y * g->stride - g->pad_top + ky, ix = x * g->stride - g->pad_left + kx;
            if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) continue;
            acc += ((int32_t)in[((size_t)iy * g->in_w + ix) * g->in_c + c] - rq->in_zp) *
                   ((int32_t)w[((size_t)ky * g->kw + kx) * g->in_c + c] - w_zp);
          }
        out[((size_t)y * g->out_w + x) * g->in_c + c] = mn_requantize_at(acc, rq, c);
      }
}

void mn_f32_avgpool(const float *in, int pixels, int c, float *out, float lo, float hi, int c0,
                    int c1) {
  /* Pixels outside, channels inside: contiguous reads. Sums in double, in
   * blocks of channels that fit on the stack. */
  double sum[256];
  for (int b0 = c0; b0 < c1; b0 += 256) {
    const int n = c1 - b0 < 256 ? c1 - b0 : 256;
    for (int j = 0; j < n; j++) sum[j] = 0.0;
    for (int p = 0; p < pixels; p++) {
      const float *row = in + (size_t)p * c + b0;
      for (int j = 0; j < n; j++) sum[j] += row[j];
    }
    for (int j = 0; j < n; j++) out[b0 + j] = clampf((float)(sum[j] / pixels), lo, hi);
  }
}

/* TFLite's integer average: rounded integer division of the window sum. */
void mn_u8_avgpool(const uint8_t *in, int pixels, int c, uint8_t *out, int32_t qmin, int32_t qmax,
                   int c0, int c1) {
  int32_t sum[256];
  for (int b0 = c0; b0 < c1; b0 += 256) {
    const int n = c1 - b0 < 256 ? c1 - b0 : 256;
    for (int j = 0; j < n; j++) sum[j] = 0;
    for (int p = 0; p < pixels; p++) {
      const uint8_t *row = in + (size_t)p * c + b0;
      for (int j = 0; j < n; j++) sum[j] += row[j];
    }
    for (int j = 0; j < n; j++) {
      int32_t v = (sum[j] + pixels / 2) / pixels;
      out[b0 + j] = (uint8_t)(v < qmin ? qmin : v > qmax ? qmax : v);
    }
  }
}

void mn_f32_softmax(const float *in, int n, float beta, float *out) {
  double mx = in[0];
  for (int i = 1; i < n; i++) mx = in[i] > mx ? in[i] : mx;
  double e[1024]; /* one exp per value when it fits (classifiers: 1000 or 1001) */
  const int cache = n <= 1024;
  double sum = 0.0;
  for (int i = 0; i < n; i++) {
    double v = exp((double)beta * (in[i] - mx));
    if (cache) e[i] = v;
    sum += v;
  }
  for (int i = 0; i < n; i++)
    out[i] = (float)((cache ? e[i] : exp((double)beta * (in[i] - mx))) / sum);
}

void mn_u8_softmax(const uint8_t *in, int n, float beta, float in_scale, float out_scale,
                   int32_t out_zp, uint8_t *out) {
  int mx = in[0], mn = in[0];
  for (int i = 1; i < n; i++) {
    mx = in[i] > mx ? in[i] : mx;
    mn = in[i] < mn ? in[i] : mn;
  }
  double e[256]; /* exp of every difference that occurs, as the reference computes it */
  for (int d = 0; d <= mx - mn; d++) e[d] = exp((double)beta * (double)in_scale * (double)(-d));
  double sum = 0.0;
  for (int i = 0; i < n; i++) sum += e[mx - in[i]]; /* in element order, as the reference */
  uint8_t q_of[256]; /* the output byte of each difference: one division per value, not per class */
  for (int d = 0; d <= mx - mn; d++) {
    double p = e[d] / sum / (double)out_scale;
    long q = lround(p) + out_zp;
    q_of[d] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
  }
  for (int i = 0; i < n; i++) out[i] = q_of[mx - in[i]];
}

void mn_f32_unary_ref(mn_unary op, const float *in, size_t n, float *out) {
  for (size_t i = 0; i < n; i++) {
    const float x = in[i];
    float y;
    switch (op) {
      case MN_UNARY_HARD_SWISH: y = mn_f32_hswish(x); break;
      case MN_UNARY_RELU: y = x < 0.0f ? 0.0f : x; break;
      case MN_UNARY_RELU6: y = x < 0.0f ? 0.0f : x > 6.0f ? 6.0f : x; break;
      default: y = 1.0f / (1.0f + expf(-x)); break;
    }
    out[i] = y;
  }
}

void mn_u8_lut_ref(const uint8_t *in, size_t n, const uint8_t lut[256], uint8_t *out) {
  for (size_t i = 0; i < n; i++) out[i] = lut[in[i]];
}

static size_t operand_index(size_t i, int period) {
  return period == 0 ? i : period == 1 ? 0 : i % (size_t)period;
}

void mn_f32_binary_ref(mn_binary op, const float *a, const float *b, size_t n, int period,
                       float lo, float hi, float *out) {
  for (size_t i = 0; i < n; i++) {
    const float x = a[i], y = b[operand_index(i, period)];
    const float v = op == MN_BINARY_ADD ? x + y : op == MN_BINARY_SUB ? x - y : x * y;
    out[i] = clampf(v, lo, hi);
  }
}

void mn_u8_binary_ref(const mn_q8_binary *p, const uint8_t *a, const uint8_t *b, size_t n,
                      int period, uint8_t *out) {
  for (size_t i = 0; i < n; i++) out[i] = mn_q8_binary_ref(p, a[i], b[operand_index(i, period)]);
}
