/* isa.c: picks the instruction-set level at run time, so one binary runs on
 * any x86-64 machine and uses the widest vectors the CPU has. */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

const char *mn_isa_name(mn_isa isa) {
  switch (isa) {
    case MN_ISA_AVX512VNNI: return "avx512vnni";
    case MN_ISA_AVX512: return "avx512";
    case MN_ISA_AVX2: return "avx2";
    default: return "generic";
  }
}

static mn_isa cpu_level(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("fma"))
    return __builtin_cpu_supports("avx512vnni") ? MN_ISA_AVX512VNNI : MN_ISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return MN_ISA_AVX2;
#endif
  return MN_ISA_GENERIC;
}

mn_isa mn_isa_detect(void) {
  mn_isa best = cpu_level();
  const char *force = getenv("MOBILENET_ISA");
  if (force && *force) {
    mn_isa want = best;
    if (strcmp(force, "generic") == 0) want = MN_ISA_GENERIC;
    else if (strcmp(force, "avx2") == 0) want = MN_ISA_AVX2;
    else if (strcmp(force, "avx512") == 0) want = MN_ISA_AVX512;
    else if (strcmp(force, "avx512vnni") == 0) want = MN_ISA_AVX512VNNI;
    if (want < best) best = want; /* only ever lower: a higher level would crash */
  }
  return best;
}

const mn_kernels *mn_kernels_for(mn_isa isa) {
#if defined(__x86_64__)
  if (isa == MN_ISA_AVX512VNNI) return &mn_kernels__avx512vnni;
  if (isa == MN_ISA_AVX512) return &mn_kernels__avx512;
  if (isa == MN_ISA_AVX2) return &mn_kernels__avx2;
#else
  (void)isa;
#endif
  return &mn_kernels__generic;
}
