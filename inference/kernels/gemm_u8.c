/* gemm_u8.c: 8-bit GEMM micro-kernels: vpmaddwd tiles (AVX2; AVX-512 without VNNI) and the portable int32 tile. */
#include "simd.h"

/* ---- uint8 GEMM tile on vpmaddwd (AVX2; AVX-512 without VNNI) --------------
 * Weights packed MN_U8_PACK_I16X2: pairs of k as int16 (q - w_zp); A bytes are
 * widened to int16 once per 64 k in a small buffer, and each pair of a row
 * is broadcast from it as one 32-bit value. vpmaddwd multiplies the pairs
 * and adds them into int32 (|a w| <= 255 * 255: no overflow), exactly:
 *   sum a (w - w_zp) - a_zp sum (w - w_zp) + bias = sum (a - a_zp)(w - w_zp) + bias
 * with the last two terms in the panel's column constants. */
#ifdef U8_MADD_GEMM
#if VW == 16
typedef __m512i vmi;
#define VMI_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define VMI_BCAST32(p) _mm512_set1_epi32(load_i32(p))
#define VMI_ZERO() _mm512_setzero_si512()
#define VMI_MADD(a, b) _mm512_madd_epi16(a, b)
#define VMI_ADD(a, b) _mm512_add_epi32(a, b)
#define VMI_WIDEN16(dst, src) \
  _mm512_store_si512((void *)(dst), _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(src))))
#define VMI_REQUANT_STORE(dst, v, rq) _mm_storeu_si128((__m128i *)(dst), mn_requantize16_avx512(v, rq))
#define VMI_REQUANT_STORE_FP32(dst, v, sc, rq) \
  _mm_storeu_si128((__m128i *)(dst), mn_requantize16_avx512_fp32(v, sc, rq))
#else
typedef __m256i vmi;
#define VMI_LOAD(p) _mm256_loadu_si256((const __m256i *)(p))
#define VMI_BCAST32(p) _mm256_set1_epi32(load_i32(p))
#define VMI_ZERO() _mm256_setzero_si256()
#define VMI_MADD(a, b) _mm256_madd_epi16(a, b)
#define VMI_ADD(a, b) _mm256_add_epi32(a, b)
#define VMI_WIDEN16(dst, src) \
  _mm256_store_si256((__m256i *)(dst), _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(src))))
#define VMI_REQUANT_STORE(dst, v, rq) _mm_storel_epi64((__m128i *)(dst), mn_requantize8_avx2(v, rq))
#define VMI_REQUANT_STORE_FP32(dst, v, sc, rq) \
  _mm_storel_epi64((__m128i *)(dst), mn_requantize8_avx2_fp32(v, sc, rq))
#endif
static inline int32_t load_i32(const void *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}
#define MADD_KC 64       /* k values widened per step */

void MADD_NAME(int mr, int nc, int k, const uint8_t *a, size_t a_stride, const void *panel_v,
               uint8_t *c, size_t c_stride, const mn_requant *rq_in);
void MADD_NAME(int mr, int nc, int k, const uint8_t *a, size_t a_stride, const void *panel_v,
               uint8_t *c, size_t c_stride, const mn_requant *rq_in) {
  const mn_requant rq_copy = *rq_in, *rq = &rq_copy; /* see k_requantize_row */
  const uint8_t *ap[MADD_ROWS];
  for (int i = 0; i < MADD_ROWS; i++) ap[i] = a + (size_t)(i < mr ? i : mr - 1) * a_stride;
  const int32_t *colc = panel_v;
  const int16_t *w = (const int16_t *)(colc + MADD_NR);
  vmi acc[MADD_ROWS][2];
  for (int i = 0; i < MADD_ROWS; i++) acc[i][0] = acc[i][1] = VMI_ZERO();
  int16_t wide[MADD_ROWS][MADD_KC] __attribute__((aligned(64)));
  for (int k0 = 0; k0 < k; k0 += MADD_KC) {
    const int kc = k - k0 < MADD_KC ? k - k0 : MADD_KC;
    for (int i = 0; i < MADD_ROWS; i++) {
      if (kc == MADD_KC) {
        for (int q = 0; q < MADD_KC; q += VW * 2) VMI_WIDEN16(&wide[i][q], ap[i] + k0 + q);
      } else { /* the tail (all of k in the narrow layers of v2/v3): never read past the
                  row; 8 bytes at a time, then bytes; the odd slot meets zero weights */
        int q = 0;
        for (; q + 8 <= kc; q += 8)
          _mm_store_si128((__m128i *)&wide[i][q],
                          _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(ap[i] + k0 + q))));
        for (; q < kc; q++) wide[i][q] = ap[i][k0 + q];
        wide[i][kc] = 0;
      }
    }
    const int pairs = (kc + 1) / 2;
    for (int pi = 0; pi < pairs; pi++) {
      const vmi w0 = VMI_LOAD(w), w1 = VMI_LOAD(w + 2 * VW);
      w += 2 * MADD_NR;
      _Pragma("GCC unroll 8") for (int i = 0; i < MADD_ROWS; i++) {
        const vmi av = VMI_BCAST32(&wide[i][2 * pi]);
        acc[i][0] = VMI_ADD(acc[i][0], VMI_MADD(av, w0));
        acc[i][1] = VMI_ADD(acc[i][1], VMI_MADD(av, w1));
      }
    }
  }
  const vmi c0 = VMI_LOAD(colc), c1 = VMI_LOAD(colc + VW);
  for (int i = 0; i < mr; i++) {
    uint8_t q[MADD_NR];
    if (rq->scales) { /* float multipliers, one per column */
      VMI_REQUANT_STORE_FP32(q, VMI_ADD(acc[i][0], c0), rq->scales, rq);
      if (nc > VW) VMI_REQUANT_STORE_FP32(q + VW, VMI_ADD(acc[i][1], c1), rq->scales + VW, rq);
    } else {
      VMI_REQUANT_STORE(q, VMI_ADD(acc[i][0], c0), rq);
      if (nc > VW) VMI_REQUANT_STORE(q + VW, VMI_ADD(acc[i][1], c1), rq);
    }
    if (nc == MADD_NR) memcpy(c + (size_t)i * c_stride, q, MADD_NR); /* a fixed-size store */
    else memcpy(c + (size_t)i * c_stride, q, (size_t)nc);
  }
}
#endif

/* ---- uint8 GEMM tile: up to MN_U8_GEMM_MR rows x MN_U8_GEMM_NR columns ----
 * int32 products, the portable path (levels without VNNI). */

#define UNV (MN_U8_GEMM_NR / VW)

void U8_GEMM_NAME(int mr, int nc, int k, const uint8_t *a, size_t a_stride, const void *panel_v,
                  uint8_t *c, size_t c_stride, const mn_requant *rq);
void U8_GEMM_NAME(int mr, int nc, int k, const uint8_t *a, size_t a_stride, const void *panel_v,
                  uint8_t *c, size_t c_stride, const mn_requant *rq) {
  const int32_t *panel = panel_v;
  const uint8_t *ap[MN_U8_GEMM_MR];
  for (int i = 0; i < MN_U8_GEMM_MR; i++)
    ap[i] = a + (size_t)(i < mr ? i : mr - 1) * a_stride;
  const int32_t zp = rq->in_zp;
  vi acc[MN_U8_GEMM_MR][UNV];
  for (int j = 0; j < UNV; j++) {
    vi b = *(const vi_u *)(panel + j * VW);
    for (int i = 0; i < MN_U8_GEMM_MR; i++) acc[i][j] = b;
  }
  const int32_t *w = panel + MN_U8_GEMM_NR;
  for (int p = 0; p < k; p++) {
    vi b[UNV];
    for (int j = 0; j < UNV; j++) b[j] = *(const vi_u *)(w + j * VW);
    w += MN_U8_GEMM_NR;
    for (int i = 0; i < MN_U8_GEMM_MR; i++) {
      int32_t av = (int32_t)ap[i][p] - zp;
      for (int j = 0; j < UNV; j++) acc[i][j] += b[j] * av;
    }
  }
  for (int i = 0; i < mr; i++) {
    int32_t row[MN_U8_GEMM_NR];
    uint8_t q[MN_U8_GEMM_NR];
    memcpy(row, acc[i], sizeof row);
    k_requantize_row(row, MN_U8_GEMM_NR, rq, q);
    memcpy(c + (size_t)i * c_stride, q, (size_t)nc);
  }
}
