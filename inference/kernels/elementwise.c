/* elementwise.c: unary and binary elementwise operators, float32 and 8-bit. */
#include "simd.h"

/* ---- elementwise ------------------------------------------------------------ */

void k_f32_unary(mn_unary op, const float *in, size_t n, float *out) {
  const vf zero = (vf){0}, six = zero + 6.0f;
  size_t i = 0;
  switch (op) {
    case MN_UNARY_HARD_SWISH:
      for (; i + VW <= n; i += VW) {
        const vf x = *(const vf_u *)(in + i);
        *(vf_u *)(out + i) = hswish_vf(x);
      }
      break;
    case MN_UNARY_RELU:
      for (; i + VW <= n; i += VW) {
        const vf x = *(const vf_u *)(in + i);
        *(vf_u *)(out + i) = select_vf(x < zero, zero, x);
      }
      break;
    case MN_UNARY_RELU6:
      for (; i + VW <= n; i += VW) *(vf_u *)(out + i) = clamp_vf(*(const vf_u *)(in + i), zero, six);
      break;
    default:
      break;
  }
  mn_f32_unary_ref(op, in + i, n - i, out + i);
}

/* A 256-byte table in 16-byte shuffles (pshufb looks up 16 entries and
 * gives 0 where the index byte is negative): step j looks up x - 16 j in
 * table j XOR table j-1, so the lookups that land (those with 0 <= x - 16 j
 * < 128) XOR to exactly table[x]. From step 9 on the subtraction
 * saturates so that the bytes which wrapped stay negative. XNNPACK's x8-lut
 * does the same; about 3 instructions per 16 bytes per step, against a
 * load and a store per byte. */
#if defined(__AVX2__)
#if defined(__AVX512BW__) && VW == 16
typedef __m512i vlut;
#define LUT_BCAST(p) _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(p)))
#define LUT_XOR _mm512_xor_si512
#define LUT_SHUF _mm512_shuffle_epi8
#define LUT_SUB _mm512_sub_epi8
#define LUT_SUBS _mm512_subs_epi8
#define LUT_SET1 _mm512_set1_epi8
#define LUT_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define LUT_STORE(p, v) _mm512_storeu_si512((void *)(p), v)
#else
typedef __m256i vlut;
#define LUT_BCAST(p) _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(p)))
#define LUT_XOR _mm256_xor_si256
#define LUT_SHUF _mm256_shuffle_epi8
#define LUT_SUB _mm256_sub_epi8
#define LUT_SUBS _mm256_subs_epi8
#define LUT_SET1 _mm256_set1_epi8
#define LUT_LOAD(p) _mm256_loadu_si256((const __m256i *)(p))
#define LUT_STORE(p, v) _mm256_storeu_si256((__m256i *)(p), v)
#endif
static size_t u8_lut_shuffles(const uint8_t *in, size_t n, const uint8_t lut[256], uint8_t *out) {
  vlut t[16];
  vlut prev = LUT_BCAST(lut);
  t[0] = prev;
  for (int j = 1; j < 16; j++) {
    const vlut cur = LUT_BCAST(lut + 16 * j);
    t[j] = LUT_XOR(prev, cur);
    if (j >= 8) t[j] = LUT_XOR(t[j], t[j - 8]);
    prev = cur;
  }
  const vlut sixteen = LUT_SET1(16);
  size_t i = 0;
  for (; i + sizeof(vlut) <= n; i += sizeof(vlut)) {
    vlut x = LUT_LOAD(in + i), y = LUT_SHUF(t[0], x);
    _Pragma("GCC unroll 8") for (int j = 1; j <= 8; j++) {
      x = LUT_SUB(x, sixteen);
      y = LUT_XOR(y, LUT_SHUF(t[j], x));
    }
    _Pragma("GCC unroll 8") for (int j = 9; j < 16; j++) {
      x = LUT_SUBS(x, sixteen);
      y = LUT_XOR(y, LUT_SHUF(t[j], x));
    }
    LUT_STORE(out + i, y);
  }
  return i;
}
#endif

void k_u8_lut(const uint8_t *in, size_t n, const uint8_t lut[256], uint8_t *out) {
  size_t i = 0;
#if defined(__AVX2__)
  i = u8_lut_shuffles(in, n, lut, out);
#endif
  for (; i + 4 <= n; i += 4) {
    out[i] = lut[in[i]], out[i + 1] = lut[in[i + 1]];
    out[i + 2] = lut[in[i + 2]], out[i + 3] = lut[in[i + 3]];
  }
  for (; i < n; i++) out[i] = lut[in[i]];
}

/* Binary operators in whole vectors: plain loops the compiler vectorises at
 * the level's width (no modulo: a per-channel operand repeats per pixel). */
#define F32_BINARY_LOOPS(EXPR)                                                                  \
  do {                                                                                          \
    if (period == 0) {                                                                          \
      for (size_t i = 0; i < n; i++) {                                                          \
        const float x = a[i], y = b[i], v = (EXPR);                                             \
        out[i] = v < lo ? lo : v > hi ? hi : v;                                                 \
      }                                                                                         \
    } else if (period == 1) {                                                                   \
      const float y = b[0];                                                                     \
      for (size_t i = 0; i < n; i++) {                                                          \
        const float x = a[i], v = (EXPR);                                                       \
        out[i] = v < lo ? lo : v > hi ? hi : v;                                                 \
      }                                                                                         \
    } else {                                                                                    \
      for (size_t p = 0; p < n; p += (size_t)period)                                            \
        for (int c = 0; c < period; c++) {                                                     \
          const float x = a[p + c], y = b[c], v = (EXPR);                                       \
          out[p + c] = v < lo ? lo : v > hi ? hi : v;                                           \
        }                                                                                       \
    }                                                                                           \
  } while (0)

void k_f32_binary(mn_binary op, const float *restrict a, const float *restrict b, size_t n,
                       int period, float lo, float hi, float *restrict out) {
  if (op == MN_BINARY_ADD) F32_BINARY_LOOPS(x + y);
  else if (op == MN_BINARY_SUB) F32_BINARY_LOOPS(x - y);
  else F32_BINARY_LOOPS(x * y);
}

/* mn_q8_binary_ref in vectors: int32 lanes for ADD / SUB (the products fit:
 * |q mult| < 2^29), float lanes for MUL with rounding half to even by the
 * magic number 1.5 * 2^23 (|v| <= 255). */
static inline uint8_t q8_add1(int32_t acc, uint32_t shift, int32_t zp, int32_t qmin, int32_t qmax) {
  int32_t v = (acc >> shift) + zp;
  v = v < qmin ? qmin : v;
  return (uint8_t)(v > qmax ? qmax : v);
}

static inline uint8_t q8_mul1(int32_t prod, float scale, float flo, float fhi, int32_t zp) {
  float f = (float)prod * scale;
  f = f < flo ? flo : f;
  f = f > fhi ? fhi : f;
  const float r = (f + 12582912.0f) - 12582912.0f;
  return (uint8_t)((int32_t)r + zp);
}

void k_u8_binary(const mn_q8_binary *pp, const uint8_t *restrict a, const uint8_t *restrict b,
                      size_t n, int period, uint8_t *restrict out) {
  const mn_q8_binary p = *pp;
  const float flo = (float)(p.qmin - p.out_zp), fhi = (float)(p.qmax - p.out_zp);
  if (p.op == MN_BINARY_MUL) {
    if (period == 0)
      for (size_t i = 0; i < n; i++)
        out[i] = q8_mul1((a[i] - p.a_zp) * (b[i] - p.b_zp), p.scale, flo, fhi, p.out_zp);
    else if (period == 1)
      for (size_t i = 0; i < n; i++)
        out[i] = q8_mul1((a[i] - p.a_zp) * (b[0] - p.b_zp), p.scale, flo, fhi, p.out_zp);
    else
      for (size_t q = 0; q < n; q += (size_t)period)
        for (int c = 0; c < period; c++)
          out[q + c] = q8_mul1((a[q + c] - p.a_zp) * (b[c] - p.b_zp), p.scale, flo, fhi, p.out_zp);
    return;
  }
  if (period == 0)
    for (size_t i = 0; i < n; i++)
      out[i] = q8_add1(p.bias + a[i] * p.a_mult + b[i] * p.b_mult, p.shift, p.out_zp, p.qmin, p.qmax);
  else if (period == 1) {
    const int32_t bias = p.bias + b[0] * p.b_mult;
    for (size_t i = 0; i < n; i++)
      out[i] = q8_add1(bias + a[i] * p.a_mult, p.shift, p.out_zp, p.qmin, p.qmax);
  } else {
    for (size_t q = 0; q < n; q += (size_t)period)
      for (int c = 0; c < period; c++)
        out[q + c] = q8_add1(p.bias + a[q + c] * p.a_mult + b[c] * p.b_mult, p.shift, p.out_zp,
                             p.qmin, p.qmax);
  }
}
