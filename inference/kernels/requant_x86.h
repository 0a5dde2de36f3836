/* requant_x86.h: vector requantization with intrinsics, the same arithmetic
 * as mn_requantize (double product, clamp to +-2^30, exact truncation, then
 * round half away from zero from the remainder). Used by the kernels
 * compiled for AVX2 and AVX-512; GCC's vector extensions scalarise the
 * double-to-int mask conversions, so this is written out. */
#ifndef MN_REQUANT_X86_H
#define MN_REQUANT_X86_H

#include <immintrin.h>

#include "kernels.h"

#if defined(__AVX512F__)
/* XNNPACK's fp32 requantization of 16 accumulators with 16 multipliers
 * (mn_requantize_fp32): product, clamp to the output range less the zero
 * point, round half to even (vcvtps2dq), add the zero point. */
static inline __m128i mn_requantize16_avx512_fp32(__m512i acc, const float *scales,
                                                  const mn_requant *rq) {
  __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(scales));
  v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps((float)(rq->qmin - rq->out_zp))),
                    _mm512_set1_ps((float)(rq->qmax - rq->out_zp)));
  return _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(rq->out_zp)));
}

/* 16 int32 accumulators -> 16 bytes, the exact double computation. */
static __attribute__((noinline, cold)) __m128i mn_requantize16_avx512_exact(__m512i acc,
                                                                          const mn_requant *rq) {
  const __m512d mult = _mm512_set1_pd(rq->mult);
  const __m512d big = _mm512_set1_pd(1073741824.0), half = _mm512_set1_pd(0.5);
  const __m512d nbig = _mm512_set1_pd(-1073741824.0), nhalf = _mm512_set1_pd(-0.5);
  const __m256i one = _mm256_set1_epi32(1);
  __m256i r[2];
  for (int h = 0; h < 2; h++) {
    __m256i part = h ? _mm512_extracti64x4_epi64(acc, 1) : _mm512_castsi512_si256(acc);
    __m512d v = _mm512_mul_pd(_mm512_cvtepi32_pd(part), mult);
    v = _mm512_min_pd(_mm512_max_pd(v, nbig), big);
    __m256i t = _mm512_cvttpd_epi32(v);
    __m512d f = _mm512_sub_pd(v, _mm512_cvtepi32_pd(t));
    t = _mm256_mask_add_epi32(t, _mm512_cmp_pd_mask(f, half, _CMP_GE_OQ), t, one);
    r[h] = _mm256_mask_sub_epi32(t, _mm512_cmp_pd_mask(f, nhalf, _CMP_LE_OQ), t, one);
  }
  __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(r[0]), r[1], 1);
  q = _mm512_add_epi32(q, _mm512_set1_epi32(rq->out_zp));
  q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(rq->qmin)),
                       _mm512_set1_epi32(rq->qmax));
  return _mm512_cvtusepi32_epi8(q);
}

/* The same result from a float32 product, falling back to the double path
 * for the whole vector when any lane could round differently. The product is
 * clamped to [qmin - zp, qmax - zp] first (within +-255): rounding is
 * monotone, so clamping before rounding to integer bounds gives the same
 * result as clamping after, and leaves only |v| <= 255.
 * There the float product differs from the double one by at most 5.3e-5
 * (float conversion of acc and of mult and the product, each within 2^-24
 * relative of 255, and t below, within half an ulp of 256), so only a value
 * within 2^-13 (1.2e-4, over 2x that) of a half-integer can round the other
 * way (a clamped value is an integer bound, never near a tie); away from
 * ties rounding is continuous. t = v + copysign(0.5, v) is then within 2^-13
 * of an integer. About one vector in 250 takes the slow path (measured on
 * MobileNet v1 1.0: 3.6 % with a 2^-10 window, which cost 15 % of the time). */
static inline __m128i mn_requantize16_avx512(__m512i acc, const mn_requant *rq) {
  __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps((float)rq->mult));
  /* round and clamp commute for integer bounds: clamping v to the output
   * range (qmin - zp .. qmax - zp, inside +-255) first leaves nothing to
   * clamp after rounding */
  v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps((float)(rq->qmin - rq->out_zp))),
                    _mm512_set1_ps((float)(rq->qmax - rq->out_zp)));
  /* (v & sign) | 0.5 = copysign(0.5, v), one ternary-logic op */
  const __m512 half = _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
      _mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000u), _mm512_set1_epi32(0x3f000000),
      0xea)); /* A & B | C */
  const __m512 t = _mm512_add_ps(v, half);
  const __m512 off = _mm512_sub_ps(t, _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT));
  const __mmask16 near_tie = _mm512_cmp_ps_mask(_mm512_abs_ps(off), _mm512_set1_ps(0x1p-13f),
                                                _CMP_LT_OQ);
  if (__builtin_expect(near_tie != 0, 0)) return mn_requantize16_avx512_exact(acc, rq);
  return _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvttps_epi32(t), _mm512_set1_epi32(rq->out_zp)));
}
#endif

#if defined(__AVX2__)
/* XNNPACK's fp32 requantization of 8 accumulators with 8 multipliers
 * (mn_requantize_fp32); the bytes in the low half. */
static inline __m128i mn_requantize8_avx2_fp32(__m256i acc, const float *scales,
                                               const mn_requant *rq) {
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(scales));
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps((float)(rq->qmin - rq->out_zp))),
                    _mm256_set1_ps((float)(rq->qmax - rq->out_zp)));
  const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(rq->out_zp));
  const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  return _mm_packus_epi16(w16, w16);
}

/* 8 int32 accumulators -> 8 bytes (low half of the result), exactly. */
static __attribute__((noinline, cold)) __m128i mn_requantize8_avx2_exact(__m256i acc,
                                                                       const mn_requant *rq) {
  const __m256d mult = _mm256_set1_pd(rq->mult);
  const __m256d big = _mm256_set1_pd(1073741824.0), half = _mm256_set1_pd(0.5);
  const __m256d nbig = _mm256_set1_pd(-1073741824.0), nhalf = _mm256_set1_pd(-0.5);
  __m128i r[2];
  for (int h = 0; h < 2; h++) {
    __m128i part = h ? _mm256_extracti128_si256(acc, 1) : _mm256_castsi256_si128(acc);
    __m256d v = _mm256_mul_pd(_mm256_cvtepi32_pd(part), mult);
    v = _mm256_min_pd(_mm256_max_pd(v, nbig), big);
    __m128i t = _mm256_cvttpd_epi32(v);
    __m256d f = _mm256_sub_pd(v, _mm256_cvtepi32_pd(t));
    /* compare masks are all-ones lanes of 64 bits; take one 32-bit half of each */
    __m256i up = _mm256_castpd_si256(_mm256_cmp_pd(f, half, _CMP_GE_OQ));
    __m256i dn = _mm256_castpd_si256(_mm256_cmp_pd(f, nhalf, _CMP_LE_OQ));
    const __m256i pick = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    __m128i up32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(up, pick));
    __m128i dn32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(dn, pick));
    r[h] = _mm_add_epi32(_mm_sub_epi32(t, up32), dn32); /* mask lanes are -1 */
  }
  __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(r[0]), r[1], 1);
  q = _mm256_add_epi32(q, _mm256_set1_epi32(rq->out_zp));
  q = _mm256_min_epi32(_mm256_max_epi32(q, _mm256_set1_epi32(rq->qmin)),
                       _mm256_set1_epi32(rq->qmax));
  /* values are 0..255: pack to 16 then 8 bits without saturation surprises */
  __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
  __m128i w16 = _mm_packus_epi32(lo, hi);
  return _mm_packus_epi16(w16, w16);
}

/* The float fast path of mn_requantize16_avx512 (same bounds, same window)
 * with AVX2 compares. */
static inline __m128i mn_requantize8_avx2(__m256i acc, const mn_requant *rq) {
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps((float)rq->mult));
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps((float)(rq->qmin - rq->out_zp))),
                    _mm256_set1_ps((float)(rq->qmax - rq->out_zp)));
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 t = _mm256_add_ps(v, _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(0.5f)));
  const __m256 off = _mm256_sub_ps(t, _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  const __m256 near = _mm256_cmp_ps(_mm256_andnot_ps(sign, off), _mm256_set1_ps(0x1p-13f), _CMP_LT_OQ);
  if (__builtin_expect(_mm256_movemask_ps(near) != 0, 0)) return mn_requantize8_avx2_exact(acc, rq);
  const __m256i q = _mm256_add_epi32(_mm256_cvttps_epi32(t), _mm256_set1_epi32(rq->out_zp));
  /* 0..255 already: pack to 16 then 8 bits */
  const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  return _mm_packus_epi16(w16, w16);
}
#endif

#endif
