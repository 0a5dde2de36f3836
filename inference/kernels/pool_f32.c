/* pool_f32.c: float32 global average pool (v3's squeeze-excite pools and
 * every MobileNet's last pool). */
#include "simd.h"

/* Channels [c0, c1) averaged over `pixels` rows of c floats. Blocks of four
 * channel vectors keep their sums in registers, in float: partial sums of
 * up to CHUNK pixels, added into running sums, so the rounding grows with
 * CHUNK + pixels / CHUNK terms rather than with pixels (v3's first
 * squeeze-excite pool has 16384 pixels at 512x512); within 1e-6 relative of
 * the double reference for MobileNet's 49-196 pixels. Then one division. */
enum { CHUNK = 128 };
void k_f32_avgpool(const float *in, int pixels, int c, float *out, float lo, float hi, int c0,
                   int c1) {
  const vf vlo = (vf){0} + lo, vhi = (vf){0} + hi, n = (vf){0} + (float)pixels;
  int j = c0;
  for (; j + 4 * VW <= c1; j += 4 * VW) {
    vf s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    const float *p = in + j;
    for (int q0 = 0; q0 < pixels; q0 += CHUNK) {
      const int q1 = pixels - q0 < CHUNK ? pixels : q0 + CHUNK;
      vf u0 = {0}, u1 = {0}, u2 = {0}, u3 = {0};
      for (int q = q0; q < q1; q++, p += c) {
        u0 += *(const vf_u *)p, u1 += *(const vf_u *)(p + VW);
        u2 += *(const vf_u *)(p + 2 * VW), u3 += *(const vf_u *)(p + 3 * VW);
      }
      s0 += u0, s1 += u1, s2 += u2, s3 += u3;
    }
    *(vf_u *)(out + j) = clamp_vf(s0 / n, vlo, vhi);
    *(vf_u *)(out + j + VW) = clamp_vf(s1 / n, vlo, vhi);
    *(vf_u *)(out + j + 2 * VW) = clamp_vf(s2 / n, vlo, vhi);
    *(vf_u *)(out + j + 3 * VW) = clamp_vf(s3 / n, vlo, vhi);
  }
  for (; j + VW <= c1; j += VW) {
    vf s = {0};
    const float *p = in + j;
    for (int q0 = 0; q0 < pixels; q0 += CHUNK) {
      const int q1 = pixels - q0 < CHUNK ? pixels : q0 + CHUNK;
      vf u = {0};
      for (int q = q0; q < q1; q++, p += c) u += *(const vf_u *)p;
      s += u;
    }
    *(vf_u *)(out + j) = clamp_vf(s / n, vlo, vhi);
  }
  for (; j < c1; j++) {
    float s = 0.0f;
    for (int q0 = 0; q0 < pixels; q0 += CHUNK) {
      const int q1 = pixels - q0 < CHUNK ? pixels : q0 + CHUNK;
      float u = 0.0f;
      for (int q = q0; q < q1; q++) u += in[(size_t)q * c + j];
      s += u;
    }
    const float v = s / (float)pixels;
    out[j] = v < lo ? lo : v > hi ? hi : v;
  }
}
