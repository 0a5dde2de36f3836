/* pool_f32.c: float32 global average pool (v3's squeeze-excite pools and
 * every MobileNet's last pool). */
#include "simd.h"

/* Channels [c0, c1) averaged over `pixels` rows of c floats. Blocks of four
 * channel vectors keep their sums in registers over all pixels (float sums
 * in pixel order, as XNNPACK's pooling adds them: within 1e-6 relative of
 * the double reference for MobileNet's 49-196 pixels), then one division. */
void k_f32_avgpool(const float *in, int pixels, int c, float *out, float lo, float hi, int c0,
                   int c1) {
  const vf vlo = (vf){0} + lo, vhi = (vf){0} + hi, n = (vf){0} + (float)pixels;
  int j = c0;
  for (; j + 4 * VW <= c1; j += 4 * VW) {
    vf s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    const float *p = in + j;
    for (int q = 0; q < pixels; q++, p += c) {
      s0 += *(const vf_u *)p, s1 += *(const vf_u *)(p + VW);
      s2 += *(const vf_u *)(p + 2 * VW), s3 += *(const vf_u *)(p + 3 * VW);
    }
    *(vf_u *)(out + j) = clamp_vf(s0 / n, vlo, vhi);
    *(vf_u *)(out + j + VW) = clamp_vf(s1 / n, vlo, vhi);
    *(vf_u *)(out + j + 2 * VW) = clamp_vf(s2 / n, vlo, vhi);
    *(vf_u *)(out + j + 3 * VW) = clamp_vf(s3 / n, vlo, vhi);
  }
  for (; j + VW <= c1; j += VW) {
    vf s = {0};
    const float *p = in + j;
    for (int q = 0; q < pixels; q++, p += c) s += *(const vf_u *)p;
    *(vf_u *)(out + j) = clamp_vf(s / n, vlo, vhi);
  }
  for (; j < c1; j++) {
    float s = 0.0f;
    for (int q = 0; q < pixels; q++) s += in[(size_t)q * c + j];
    const float v = s / (float)pixels;
    out[j] = v < lo ? lo : v > hi ? hi : v;
  }
}
