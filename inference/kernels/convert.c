/* convert.c: bytes to float32 (the float models' input; 8-bit layers in exact float) and float accumulators back to bytes. */
#include "simd.h"

/* ---- float input from bytes ------------------------------------------------
 * q = (v - 127.5) * (1 / 127.5) is off by one ulp for half the bytes; one
 * correction step with an exact residual (fused multiply-add) gives the
 * correctly rounded quotient for every byte (tests/test_kernels.c checks
 * all 256). Without FMA hardware the division itself is used. */

void k_f32_from_u8(const uint8_t *in, size_t n, float *out) {
  size_t i = 0;
#if defined(__FMA__) && (VW == 16 || VW == 8)
  /* written out: GCC 12 turns a byte-to-float vector conversion into scalar code */
#if VW == 16
#define LOAD_BYTES_AS_F32(p) (vf) _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p))))
#define FNMADD(a, b, c) (vf) _mm512_fnmadd_ps((__m512)(a), (__m512)(b), (__m512)(c))
#define FMADD(a, b, c) (vf) _mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c))
#else
#define LOAD_BYTES_AS_F32(p) (vf) _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p))))
#define FNMADD(a, b, c) (vf) _mm256_fnmadd_ps((__m256)(a), (__m256)(b), (__m256)(c))
#define FMADD(a, b, c) (vf) _mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c))
#endif
  const vf r = (vf){0} + 1.0f / 127.5f, c = (vf){0} + 127.5f;
  for (; i + VW <= n; i += VW) {
    const vf d = LOAD_BYTES_AS_F32(in + i) - c;
    const vf q = d * r;
    /* d - q * 127.5 is exact in one rounding: q is within an ulp of d / 127.5 */
    const vf res = FNMADD(q, c, d);
    *(vf_u *)(out + i) = FMADD(res, r, q);
  }
#undef LOAD_BYTES_AS_F32
#undef FNMADD
#undef FMADD
#endif
  for (; i < n; i++) out[i] = ((float)in[i] - 127.5f) / 127.5f;
}

/* ---- uint8 layers in exact float arithmetic ------------------------------- */

void k_f32_from_u8_minus(const uint8_t *in, size_t n, int32_t zp, float *out) {
  size_t i = 0;
#if VW == 16 && defined(__AVX512F__)
  const __m512i vz = _mm512_set1_epi32(zp);
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, _mm512_cvtepi32_ps(_mm512_sub_epi32(
                                  _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(in + i))), vz)));
#elif VW == 8 && defined(__AVX2__)
  const __m256i vz = _mm256_set1_epi32(zp);
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtepi32_ps(_mm256_sub_epi32(
                                  _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(in + i))), vz)));
#endif
  for (; i < n; i++) out[i] = (float)((int32_t)in[i] - zp);
}

/* acc holds integers below 2^24 in magnitude (the caller checks), so the
 * conversion to int32 is exact and the bytes are those of the int32 path. */
void k_u8_requantize_f32(const float *acc, size_t n, const mn_requant *rq_in, uint8_t *out) {
  const mn_requant rq_copy = *rq_in, *rq = &rq_copy; /* see k_requantize_row */
  int32_t buf[256];
  /* float multipliers repeat with their period: chunks start at channel 0 */
  const size_t chunk = rq->scales ? (size_t)(256 / rq->period * rq->period) : 256;
  for (size_t i0 = 0; i0 < n; i0 += chunk) {
    const int m = n - i0 < chunk ? (int)(n - i0) : (int)chunk;
    int j = 0;
    for (; j + VW <= m; j += VW)
      *(vi_u *)(buf + j) = __builtin_convertvector(*(const vf_u *)(acc + i0 + j), vi);
    for (; j < m; j++) buf[j] = (int32_t)acc[i0 + j];
    k_requantize_row(buf, m, rq, out + i0);
  }
}
