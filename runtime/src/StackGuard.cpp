//===- StackGuard.cpp - a stack canary of the library's own on aarch64 ----===//
//
// Debian builds libpcre2-8.a with -fstack-protector-strong. On aarch64 the
// canary its functions compare against is the variable __stack_chk_guard,
// which glibc defines in the dynamic loader (ld-linux-aarch64.so.1), so
// linking PCRE2 into a model library would add that loader to the library's
// dependencies. A hidden definition here binds those references inside the
// library instead; it is seeded from the kernel's random bytes before any
// function of the library can run. (On x86-64 the canary lives in the
// thread's TLS block and needs nothing.)
//
//===----------------------------------------------------------------------===//
#if defined(__aarch64__)

#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>

extern "C" {
__attribute__((visibility("hidden"))) uintptr_t __stack_chk_guard = 0x5d3b8e1f2ca9476bull;
}

// Never itself guarded: it changes the canary it would check on return.
__attribute__((constructor, no_stack_protector)) static void hybridc_rt_seed_stack_guard(void) {
  // AT_RANDOM: 16 random bytes the kernel gives every process; glibc takes
  // its own canary from the first eight, this one from the last eight.
  const uint8_t *random = (const uint8_t *)getauxval(AT_RANDOM);
  if (random) {
    uintptr_t guard;
    memcpy(&guard, random + 8, sizeof guard);
    guard &= ~(uintptr_t)0xff; // a zero low byte stops string overflows
    __stack_chk_guard = guard;
  }
}

#endif
