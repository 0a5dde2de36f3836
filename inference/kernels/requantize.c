/* requantize.c: 8-bit requantization of rows of int32 accumulators (both arithmetics of kernels.h). */
#include "simd.h"

/* ---- uint8: requantization of a row of accumulators ----------------------- */

/* Same arithmetic as mn_requantize, in vectors of VW lanes: the product is
 * clamped to +-2^30 first (far outside [0, 255]) so the truncation fits
 * int32, then rounded half away from zero from the exact remainder. */
typedef double vd __attribute__((vector_size(VW * 8)));
typedef int64_t vl __attribute__((vector_size(VW * 8)));

static inline vi select_vi(vi m, vi a, vi b) { return (a & m) | (b & ~m); }
static inline vd select_vd(vl m, vd a, vd b) { return (vd)(((vl)a & m) | ((vl)b & ~m)); }

/* Per-channel (fp32) requantization of n accumulators whose first is
 * channel 0 of the scales' period (a multiple of VW, or at least n). */
void k_requantize_row_fp32(const int32_t *restrict acc, int n, const mn_requant *rq,
                                uint8_t *restrict out) {
  const float *restrict sc = rq->scales;
  const int period = rq->period;
  const float lo = (float)(rq->qmin - rq->out_zp), hi = (float)(rq->qmax - rq->out_zp);
  const int32_t zp = rq->out_zp;
  (void)lo, (void)hi, (void)zp; /* the scalar tail reads rq */
  int i = 0, j = 0;
#if defined(__AVX2__) && VW == 8
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  const __m256i vzp = _mm256_set1_epi32(zp);
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(acc + i))),
                             _mm256_loadu_ps(sc + j));
    v = _mm256_min_ps(_mm256_max_ps(v, vlo), vhi);
    const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), vzp);
    const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64((__m128i *)(out + i), _mm_packus_epi16(w16, w16));
    j = j + 8 >= period ? 0 : j + 8;
  }
#elif defined(__AVX512F__) && VW == 16
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  const __m512i vzp = _mm512_set1_epi32(zp);
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_loadu_si512(acc + i)), _mm512_loadu_ps(sc + j));
    v = _mm512_min_ps(_mm512_max_ps(v, vlo), vhi);
    _mm_storeu_si128((__m128i *)(out + i),
                     _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), vzp)));
    j = j + 16 >= period ? 0 : j + 16;
  }
#endif
  for (; i < n; i++) {
    out[i] = mn_requantize_fp32(acc[i], sc[j], rq);
    j = j + 1 >= period ? 0 : j + 1;
  }
}

void k_requantize_row(const int32_t *restrict acc, int n, const mn_requant *rq_in,
                           uint8_t *restrict out) {
  /* a local copy: byte stores may alias *rq_in, which would reload and
   * re-broadcast every constant per vector */
  const mn_requant rq_copy = *rq_in, *rq = &rq_copy;
  if (rq->scales) {
    k_requantize_row_fp32(acc, n, rq, out);
    return;
  }
  const double mult = rq->mult;
  const int32_t zp = rq->out_zp, qmin = rq->qmin, qmax = rq->qmax;
  const vd vm = (vd){0} + mult, big = (vd){0} + 1073741824.0, half = (vd){0} + 0.5;
  const vi vzp = (vi){0} + zp, vqmin = (vi){0} + qmin, vqmax = (vi){0} + qmax;
  int i = 0;
#if defined(__AVX512F__) && VW == 16
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128((__m128i *)(out + i),
                     mn_requantize16_avx512(_mm512_loadu_si512(acc + i), rq));
#elif defined(__AVX2__) && VW == 8
  for (; i + 8 <= n; i += 8)
    _mm_storel_epi64((__m128i *)(out + i),
                     mn_requantize8_avx2(_mm256_loadu_si256((const __m256i *)(acc + i)), rq));
#endif
  for (; i + VW <= n; i += VW) {
    vd v = __builtin_convertvector(*(const vi_u *)(acc + i), vd) * vm;
    v = select_vd(v < -big, -big, v);
    v = select_vd(v > big, big, v);
    vi t = __builtin_convertvector(v, vi);
    vd f = v - __builtin_convertvector(t, vd);
    vi r = t - __builtin_convertvector(f >= half, vi) + __builtin_convertvector(f <= -half, vi);
    r += vzp;
    r = select_vi(r < vqmin, vqmin, r);
    r = select_vi(r > vqmax, vqmax, r);
    *(vu8_u *)(out + i) = __builtin_convertvector(r, vu8);
  }
  for (; i < n; i++) {
    double v = (double)acc[i] * mult;
    v = v < -1073741824.0 ? -1073741824.0 : v;
    v = v > 1073741824.0 ? 1073741824.0 : v;
    int32_t t = (int32_t)v;
    double f = v - (double)t;
    int32_t r = t + (f >= 0.5) - (f <= -0.5) + zp;
    r = r < qmin ? qmin : r;
    r = r > qmax ? qmax : r;
    out[i] = (uint8_t)r;
  }
}
