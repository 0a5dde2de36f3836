/* softmax.c: float32 softmax with a vector exp. */
#include "simd.h"

/* ---- softmax ---------------------------------------------------------------
 * exp in float vectors (Cephes' expf: exp(x) = 2^n exp(r), |r| <= ln2 / 2,
 * degree-6 polynomial, ~1 ulp); the sum in double. Within 1e-6 relative of
 * the double-precision reference (tests/test_kernels.c). */

static inline vf exp_vf(vf x) {
  /* 2^n stays normal: anything below gives e^-87 (1.6e-38), 0 in all but name */
  x = select_vf(x < -87.0f, (vf){0} - 87.0f, x);
  x = select_vf(x > 88.0f, (vf){0} + 88.0f, x);
  const vf magic = (vf){0} + 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
  const vf n = (x * 1.44269504088896341f + magic) - magic;
  const vf r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  vf p = (vf){0} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const vi e = (__builtin_convertvector(n, vi) + 127) << 23;
  return p * (vf)e;
}

void k_f32_softmax(const float *in, int n, float beta, float *out) {
  float mx = in[0];
  for (int i = 1; i < n; i++) mx = in[i] > mx ? in[i] : mx;
  double sum = 0.0;
  int i = 0;
  for (; i + VW <= n; i += VW) {
    const vf v = exp_vf(((*(const vf_u *)(in + i)) - mx) * beta);
    *(vf_u *)(out + i) = v;
    for (int j = 0; j < VW; j++) sum += v[j];
  }
  for (; i < n; i++) sum += out[i] = (float)exp((double)beta * (in[i] - mx));
  const float inv = (float)(1.0 / sum);
  for (i = 0; i + VW <= n; i += VW) *(vf_u *)(out + i) = *(const vf_u *)(out + i) * inv;
  for (; i < n; i++) out[i] *= inv;
}
