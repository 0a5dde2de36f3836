/* table.c: the kernel table of one instruction-set level. */
#include "simd.h"

const mn_kernels ISA_NAME(mn_kernels) = {
    .isa = CAT(MN_ISA_, MN_ISA_ENUM),
    .f32_gemm = {STR(GEMM_NAME), MR, NR, GEMM_NAME, GEMM_ROW_NAME},
    .f32_gemm_narrow = {STR(GEMM_NARROW_NAME), MN_GEMM_NARROW_MR, 8, GEMM_NARROW_NAME,
                        GEMM_NARROW_ROW_NAME},
#ifdef GEMM_24_NAME
    .f32_gemm_24 = {STR(GEMM_24_NAME), 4, 24, GEMM_24_NAME, GEMM_24_ROW_NAME},
#endif
#if VW == 16
    .f32_gemm_mid = {STR(GEMM_MID_NAME), 16, 16, GEMM_MID_NAME, GEMM_MID_ROW_NAME},
#else
    .f32_gemm_mid = {STR(GEMM_NAME), MR, NR, GEMM_NAME, GEMM_ROW_NAME},
#endif
    .f32_conv1p_for = k_f32_conv1p_for,
    .f32_dwconv = k_f32_dwconv,
    .f32_dwconv_padded = k_f32_dwconv_padded,
    .u8_dwconv = k_u8_dwconv,
    .u8_dwconv_padded = k_u8_dwconv_padded,
    .lanes = VW,
#if defined(__AVX512VNNI__)
    .u8_gemm = {"mn_u8_gemm_8x32c4__avx512vnni", 8, 32, MN_U8_PACK_S8X4,
                mn_u8_gemm_8x32c4__avx512vnni},
#elif defined(U8_MADD_GEMM)
    .u8_gemm = {STR(MADD_NAME), MADD_ROWS, MADD_NR, MN_U8_PACK_I16X2, MADD_NAME},
#else
    .u8_gemm = {STR(U8_GEMM_NAME), MN_U8_GEMM_MR, MN_U8_GEMM_NR, MN_U8_PACK_I32, U8_GEMM_NAME},
#endif
    .f32_from_u8 = k_f32_from_u8,
    .f32_softmax = k_f32_softmax,
    .f32_avgpool = k_f32_avgpool,
    .f32_from_u8_minus = k_f32_from_u8_minus,
    .u8_requantize_f32 = k_u8_requantize_f32,
    .f32_unary = k_f32_unary,
    .u8_lut = k_u8_lut,
    .f32_gemv = k_f32_gemv,
    .f32_binary = k_f32_binary,
    .u8_binary = k_u8_binary,
};
