/*===- cpu_check.h - does this CPU run a target's code? ---------*- C -*-===*
 *
 * The instruction sets each hybridc target's code uses, as one list read by
 * the compiler (`--target host` picks the best target this CPU runs) and by
 * every generated library when a model is opened: a library compiled for a
 * CPU level this one lacks fails to open with a message naming the missing
 * instruction set, instead of dying of an illegal instruction in its first
 * kernel. Header-only C (the runtime is C-compatible, the compiler C++).
 *
 *===--------------------------------------------------------------------===*/
#ifndef HYBRIDC_CPU_CHECK_H
#define HYBRIDC_CPU_CHECK_H

#include <string.h>
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

/* Each target's level; 0 for a name that is none of them. The levels nest:
 * x86-64-avx512 is x86-64-avx2 plus AVX-512 F/CD/BW/DQ/VL (Skylake-server),
 * x86-64-avx512-bf16 adds what Halide's Sapphire Rapids feature lets the
 * kernels use on Zen4 too: IFMA and VBMI (Cannonlake), BF16 and VNNI.
 * aarch64 (level 16, another machine altogether) is ARMv8.2-A with Advanced
 * SIMD and the dot-product extension. */
#define HYBRIDC_LEVEL_AARCH64 16
#if defined(__aarch64__)
#define HYBRIDC_HOST_IS_AARCH64 1
#else
#define HYBRIDC_HOST_IS_AARCH64 0
#endif

static inline int hybridc_target_level(const char *target) {
  if (!target)
    return 0;
  if (strcmp(target, "x86-64-avx2") == 0)
    return 1;
  if (strcmp(target, "x86-64-avx512") == 0)
    return 2;
  if (strcmp(target, "x86-64-avx512-bf16") == 0)
    return 3;
  if (strcmp(target, "aarch64") == 0)
    return HYBRIDC_LEVEL_AARCH64;
  return 0;
}

/* NULL when this CPU runs `target`'s code; else the name of the first
 * instruction set it lacks ("unknown target" for a name of no level). */
static inline const char *hybridc_cpu_missing_feature(const char *target) {
  const int level = hybridc_target_level(target);
  if (level == 0)
    return "unknown target";
#if defined(__x86_64__) || defined(__i386__)
  if (level == HYBRIDC_LEVEL_AARCH64)
    return "aarch64 (this CPU is x86-64)";
  __builtin_cpu_init(); /* may run before libgcc's constructor (a library's) */
#define HYBRIDC_NEED(feature)                                                                      \
  if (!__builtin_cpu_supports(feature))                                                            \
    return feature;
  HYBRIDC_NEED("avx2")
  HYBRIDC_NEED("fma")
  HYBRIDC_NEED("f16c")
  if (level >= 2) {
    HYBRIDC_NEED("avx512f")
    HYBRIDC_NEED("avx512cd")
    HYBRIDC_NEED("avx512bw")
    HYBRIDC_NEED("avx512dq")
    HYBRIDC_NEED("avx512vl")
  }
  if (level >= 3) {
    HYBRIDC_NEED("avx512ifma")
    HYBRIDC_NEED("avx512vbmi")
    HYBRIDC_NEED("avx512bf16")
    HYBRIDC_NEED("avx512vnni")
  }
#undef HYBRIDC_NEED
#elif defined(__aarch64__)
  if (level != HYBRIDC_LEVEL_AARCH64)
    return "x86-64 (this CPU is aarch64)";
  {
    /* The kernel's HWCAP bits (asm/hwcap.h): Advanced SIMD, dot product. */
    const unsigned long hwcap = getauxval(AT_HWCAP);
    if (!(hwcap & (1UL << 1)))
      return "asimd";
    if (!(hwcap & (1UL << 20)))
      return "asimddp";
  }
#else
  return "this machine's architecture";
#endif
  return NULL;
}

#endif /* HYBRIDC_CPU_CHECK_H */
