/* u8_gemm_vnni.c: uint8 GEMM micro-kernel for AVX-512 VNNI (vpdpbusd),
 * bit-exact with mn_u8_gemm_ref.
 *
 * vpdpbusd multiplies unsigned bytes by signed bytes, four at a time, into
 * int32. With s = w - 128 (a signed byte) and d = 128 - w_zp:
 *   sum (a - a_zp)(w - w_zp) = dot(a, s) + d * sum(a) - a_zp * sum(s) - k * a_zp * d
 * The last two terms and the bias are folded into one constant per column
 * at packing time; sum(a) is computed per row with vpsadbw.
 *
 * Panel layout (MN_U8_PACK_S8X4, nr = 32): nr int32 column constants, then
 * ceil(k / 4) groups of nr x 4 signed bytes (zero past k and past n).
 */
#include <immintrin.h>
#include <string.h>

#include "kernels.h"
#include "requant_x86.h"

#define MR 8
#define NR 32

/* vpdpbusd accumulates in place; through the intrinsic GCC 12 copies every
 * accumulator out and back around each instruction (two extra moves per
 * multiply), so the instruction is written out. */
#define DPBUSD(acc, a, b) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b))

void mn_u8_gemm_8x32c4__avx512vnni(int mr, int nc, int k, const uint8_t *a, size_t a_stride,
                                   const void *panel, uint8_t *c, size_t c_stride,
                                   const mn_requant *rq);

/* Sum of n bytes. */
static inline int32_t row_sum(const uint8_t *p, int n) {
  __m512i s = _mm512_setzero_si512();
  int i = 0;
  for (; i + 64 <= n; i += 64) s = _mm512_add_epi64(s, _mm512_sad_epu8(_mm512_loadu_si512(p + i), _mm512_setzero_si512()));
  if (i < n) {
    __mmask64 m = _bzhi_u64(~0ull, (unsigned)(n - i));
    s = _mm512_add_epi64(s, _mm512_sad_epu8(_mm512_maskz_loadu_epi8(m, p + i), _mm512_setzero_si512()));
  }
  return (int32_t)_mm512_reduce_add_epi64(s);
}

void mn_u8_gemm_8x32c4__avx512vnni(int mr, int nc, int k, const uint8_t *a, size_t a_stride,
                                   const void *panel, uint8_t *c, size_t c_stride,
                                   const mn_requant *rq_in) {
  /* a local copy: byte stores may alias *rq_in (see requantize_row) */
  const mn_requant rq_copy = *rq_in, *rq = &rq_copy;
  const uint8_t *ap[MR];
  for (int i = 0; i < MR; i++) ap[i] = a + (size_t)(i < mr ? i : mr - 1) * a_stride;
  const int32_t *colc = panel;
  const int8_t *w = (const int8_t *)(colc + NR);

  /* Sixteen named accumulators (not an array): with an array GCC keeps them
   * in memory around the asm statements. */
  __m512i a00 = _mm512_setzero_si512(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00,
          a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00, a60 = a00, a61 = a00,
          a70 = a00, a71 = a00;
  const uint8_t *p0 = ap[0], *p1 = ap[1], *p2 = ap[2], *p3 = ap[3], *p4 = ap[4], *p5 = ap[5],
                *p6 = ap[6], *p7 = ap[7];
#define ROW(P, A0, A1, OFF)                                                                    \
  do {                                                                                          \
    int32_t q_;                                                                                 \
    memcpy(&q_, (P) + (OFF), 4);                                                                \
    const __m512i av_ = _mm512_set1_epi32(q_);                                                  \
    DPBUSD(A0, av_, b0);                                                                        \
    DPBUSD(A1, av_, b1);                                                                        \
  } while (0)
  const int groups = k / 4;
  for (int g = 0; g < groups; g++) {
    const __m512i b0 = _mm512_loadu_si512(w), b1 = _mm512_loadu_si512(w + 64);
    w += NR * 4;
    const int off = 4 * g;
    ROW(p0, a00, a01, off);
    ROW(p1, a10, a11, off);
    ROW(p2, a20, a21, off);
    ROW(p3, a30, a31, off);
    ROW(p4, a40, a41, off);
    ROW(p5, a50, a51, off);
    ROW(p6, a60, a61, off);
    ROW(p7, a70, a71, off);
  }
  if (k % 4) { /* the last, partial group: never read past the row */
    const __m512i b0 = _mm512_loadu_si512(w), b1 = _mm512_loadu_si512(w + 64);
    uint8_t tail[MR][4] = {{0}};
    for (int i = 0; i < MR; i++) /* bytes, not memcpy: a call per row for 1-3 bytes */
      for (int b = 0; b < k % 4; b++) tail[i][b] = ap[i][4 * groups + b];
    ROW(tail[0], a00, a01, 0);
    ROW(tail[1], a10, a11, 0);
    ROW(tail[2], a20, a21, 0);
    ROW(tail[3], a30, a31, 0);
    ROW(tail[4], a40, a41, 0);
    ROW(tail[5], a50, a51, 0);
    ROW(tail[6], a60, a61, 0);
    ROW(tail[7], a70, a71, 0);
  }
#undef ROW
  const __m512i acc[MR][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31},
                              {a40, a41}, {a50, a51}, {a60, a61}, {a70, a71}};

  const __m512i c0 = _mm512_loadu_si512(colc), c1 = _mm512_loadu_si512(colc + 16);
  const int32_t d = 128 - rq->w_zp;
  int32_t sums[MR];
  if (mr == MR && a_stride == (size_t)k && k % 8 == 0 && k <= 64) {
    /* short rows back to back (pointwise layers with few channels): the
     * eight rows are 8k contiguous bytes, k/8 vectors; one vpsadbw each gives
     * sums of 8 bytes, k/8 per row (a horizontal reduction per row cost more
     * than the multiply-adds of such a tile) */
    uint64_t part[64];
    for (int v = 0; v < k / 8; v++)
      _mm512_storeu_si512(part + 8 * v, _mm512_sad_epu8(_mm512_loadu_si512(a + 64 * v),
                                                        _mm512_setzero_si512()));
    for (int i = 0; i < MR; i++) {
      uint64_t t = 0;
      for (int j = 0; j < k / 8; j++) t += part[i * (k / 8) + j];
      sums[i] = (int32_t)t;
    }
  } else {
    for (int i = 0; i < mr; i++) sums[i] = row_sum(ap[i], k);
  }
  if (rq->scales) { /* float multipliers, one per column */
    for (int i = 0; i < mr; i++) {
      const __m512i rs = _mm512_set1_epi32(d * sums[i]);
      uint8_t q[NR];
      _mm_storeu_si128((__m128i *)q, mn_requantize16_avx512_fp32(
                                         _mm512_add_epi32(_mm512_add_epi32(acc[i][0], c0), rs),
                                         rq->scales, rq));
      _mm_storeu_si128((__m128i *)(q + 16), mn_requantize16_avx512_fp32(
                                                _mm512_add_epi32(_mm512_add_epi32(acc[i][1], c1), rs),
                                                rq->scales + 16, rq));
      memcpy(c + (size_t)i * c_stride, q, (size_t)nc);
    }
    return;
  }
  for (int i = 0; i < mr; i++) {
    const __m512i rs = _mm512_set1_epi32(d * sums[i]);
    __m128i q0 = mn_requantize16_avx512(_mm512_add_epi32(_mm512_add_epi32(acc[i][0], c0), rs), rq);
    uint8_t *out = c + (size_t)i * c_stride;
    if (nc == NR) {
      __m128i q1 = mn_requantize16_avx512(_mm512_add_epi32(_mm512_add_epi32(acc[i][1], c1), rs), rq);
      _mm_storeu_si128((__m128i *)out, q0);
      _mm_storeu_si128((__m128i *)(out + 16), q1);
    } else {
      _mm_mask_storeu_epi8(out, (__mmask16)_bzhi_u32(0xffffu, (unsigned)(nc < 16 ? nc : 16)), q0);
      if (nc > 16) { /* the second half only when it holds columns */
        __m128i q1 =
            mn_requantize16_avx512(_mm512_add_epi32(_mm512_add_epi32(acc[i][1], c1), rs), rq);
        _mm_mask_storeu_epi8(out + 16, (__mmask16)_bzhi_u32(0xffffu, (unsigned)(nc - 16)), q1);
      }
    }
  }
}
