//===- ProbeKernels.cpp - ISA-specific loops of the machine-limit probes --===//
//
// The accumulators are spelled out one by one (through the REP macros)
// rather than kept in arrays: at -O2 GCC does not always unroll a loop over
// an accumulator array, and accumulators in memory would measure the
// store-to-load latency instead of the FMA units.
//
//===----------------------------------------------------------------------===//
#include "ProbeKernels.h"

#include <immintrin.h>
#include <type_traits>

using namespace hybridc::probe;

#define REP8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define REP12(X) REP8(X) X(8) X(9) X(10) X(11)
#define REP16(X) REP12(X) X(12) X(13) X(14) X(15)

namespace {

// Enough independent chains to cover latency x throughput of the FMA/dot
// units on current cores (4-6 cycles x 2 per cycle), with registers to spare:
// 16 of AVX-512's 32 zmm, 12 of AVX2's 16 ymm.
constexpr int kZmmChains = 16;
constexpr int kYmmChains = 12;
constexpr int kScalarChains = 8;

// The recurrence c = c * a + b converges to b / (1 - a) = 1: the values stay
// normal (no denormal slow path) and never overflow, however long it runs.
constexpr float kDecay = 0.999f, kInput = 0.001f;

// Horizontal sums through memory: GCC 12's _mm512_reduce_add_* trip its own
// -Wuninitialized (on _mm256_undefined_*), and speed does not matter here.
// Integer lanes are added as unsigned: the dot-product probes' sums wrap
// (their value only keeps the loop alive), and signed overflow is undefined.
template <typename T, int N> T sumLanes(const T (&lanes)[N]) {
  if constexpr (std::is_integral_v<T>) {
    std::make_unsigned_t<T> sum = 0;
    for (T v : lanes)
      sum += static_cast<std::make_unsigned_t<T>>(v);
    return static_cast<T>(sum);
  } else {
    T sum = 0;
    for (T v : lanes)
      sum += v;
    return sum;
  }
}

// ---- read bandwidth --------------------------------------------------------

__attribute__((target("avx512f"))) uint64_t sumAvx512(const uint8_t *p, size_t bytes) {
#define DECL(i) __m512i s##i = _mm512_setzero_si512();
  REP8(DECL)
#undef DECL
  for (size_t off = 0; off < bytes; off += kSumBlockBytes) {
#define STEP(i) s##i = _mm512_add_epi32(s##i, _mm512_load_si512(p + off + 64 * (i)));
    REP8(STEP)
#undef STEP
  }
  __m512i t = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(s0, s1), _mm512_add_epi32(s2, s3)),
                               _mm512_add_epi32(_mm512_add_epi32(s4, s5), _mm512_add_epi32(s6, s7)));
  alignas(64) uint32_t lanes[16];
  _mm512_store_si512(lanes, t);
  return sumLanes(lanes);
}

__attribute__((target("avx2"))) uint64_t sumAvx2(const uint8_t *p, size_t bytes) {
#define DECL(i) __m256i s##i = _mm256_setzero_si256();
  REP8(DECL)
#undef DECL
  for (size_t off = 0; off < bytes; off += 256) {
#define STEP(i)                                                                                    \
  s##i = _mm256_add_epi32(s##i, _mm256_load_si256(reinterpret_cast<const __m256i *>(p + off) + (i)));
    REP8(STEP)
#undef STEP
  }
  __m256i t = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(s0, s1), _mm256_add_epi32(s2, s3)),
                               _mm256_add_epi32(_mm256_add_epi32(s4, s5), _mm256_add_epi32(s6, s7)));
  alignas(32) uint32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i *>(lanes), t);
  return sumLanes(lanes);
}

uint64_t sumScalar(const uint8_t *p, size_t bytes) {
  const uint64_t *w = reinterpret_cast<const uint64_t *>(p);
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i < bytes / 8; i += 4) {
    s0 += w[i];
    s1 += w[i + 1];
    s2 += w[i + 2];
    s3 += w[i + 3];
  }
  return s0 + s1 + s2 + s3;
}

// ---- fp32 FMA --------------------------------------------------------------

__attribute__((target("avx512f"))) float fmaAvx512(int64_t n) {
  const __m512 a = _mm512_set1_ps(kDecay), b = _mm512_set1_ps(kInput);
#define DECL(i) __m512 c##i = _mm512_set1_ps(static_cast<float>(i));
  REP16(DECL)
#undef DECL
  for (int64_t k = 0; k < n; ++k) {
#define STEP(i) c##i = _mm512_fmadd_ps(c##i, a, b);
    REP16(STEP)
#undef STEP
  }
  __m512 t = _mm512_setzero_ps();
#define ADD(i) t = _mm512_add_ps(t, c##i);
  REP16(ADD)
#undef ADD
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, t);
  return sumLanes(lanes);
}

__attribute__((target("avx2,fma"))) float fmaAvx2(int64_t n) {
  const __m256 a = _mm256_set1_ps(kDecay), b = _mm256_set1_ps(kInput);
#define DECL(i) __m256 c##i = _mm256_set1_ps(static_cast<float>(i));
  REP12(DECL)
#undef DECL
  for (int64_t k = 0; k < n; ++k) {
#define STEP(i) c##i = _mm256_fmadd_ps(c##i, a, b);
    REP12(STEP)
#undef STEP
  }
  __m256 t = _mm256_setzero_ps();
#define ADD(i) t = _mm256_add_ps(t, c##i);
  REP12(ADD)
#undef ADD
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, t);
  return sumLanes(lanes);
}

float fmaScalar(int64_t n) {
#define DECL(i) float c##i = static_cast<float>(i);
  REP8(DECL)
#undef DECL
  for (int64_t k = 0; k < n; ++k) {
#define STEP(i) c##i = c##i * kDecay + kInput;
    REP8(STEP)
#undef STEP
  }
  return c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7;
}

// ---- bf16 and int8 dot products ---------------------------------------------

__attribute__((target("avx512bf16,avx512f"))) float dotBf16(int64_t n) {
  // Products of 0.5 * 0.001 keep the sums small and normal; rounding stalls
  // their growth long before float's range matters.
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.5f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(kInput), _mm512_set1_ps(kInput));
#define DECL(i) __m512 c##i = _mm512_set1_ps(static_cast<float>(i));
  REP16(DECL)
#undef DECL
  for (int64_t k = 0; k < n; ++k) {
#define STEP(i) c##i = _mm512_dpbf16_ps(c##i, a, b);
    REP16(STEP)
#undef STEP
  }
  __m512 t = _mm512_setzero_ps();
#define ADD(i) t = _mm512_add_ps(t, c##i);
  REP16(ADD)
#undef ADD
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, t);
  return sumLanes(lanes);
}

__attribute__((target("avx512vnni,avx512f"))) int32_t dotInt8(int64_t n) {
  // Integer vector adds wrap by definition, so any run length is fine.
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
#define DECL(i) __m512i c##i = _mm512_set1_epi32(i);
  REP16(DECL)
#undef DECL
  for (int64_t k = 0; k < n; ++k) {
#define STEP(i) c##i = _mm512_dpbusd_epi32(c##i, a, b);
    REP16(STEP)
#undef STEP
  }
  __m512i t = _mm512_setzero_si512();
#define ADD(i) t = _mm512_add_epi32(t, c##i);
  REP16(ADD)
#undef ADD
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, t);
  return sumLanes(lanes);
}

// int8 products without VNNI: vpmaddwd sums two i16 products per i32 lane
// (the weights' bytes widened), then vpaddd accumulates them, the pair the
// int8 kernels run per vector on such targets. Each chain multiplies its own
// accumulator (read as i16 pairs): with a loop-invariant operand pair the
// compiler computes the product once and the loop measures vpaddd alone.
__attribute__((target("avx512bw,avx512f"))) int32_t maddInt8Avx512(int64_t n) {
  const __m512i b = _mm512_set1_epi16(3);
#define DECL(i) __m512i c##i = _mm512_set1_epi32(i);
  REP16(DECL)
#undef DECL
  for (int64_t k = 0; k < n; ++k) {
#define STEP(i) c##i = _mm512_add_epi32(c##i, _mm512_madd_epi16(c##i, b));
    REP16(STEP)
#undef STEP
  }
  __m512i t = _mm512_setzero_si512();
#define ADD(i) t = _mm512_add_epi32(t, c##i);
  REP16(ADD)
#undef ADD
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, t);
  return sumLanes(lanes);
}

__attribute__((target("avx2"))) int32_t maddInt8Avx2(int64_t n) {
  const __m256i b = _mm256_set1_epi16(3);
#define DECL(i) __m256i c##i = _mm256_set1_epi32(i);
  REP12(DECL)
#undef DECL
  for (int64_t k = 0; k < n; ++k) {
#define STEP(i) c##i = _mm256_add_epi32(c##i, _mm256_madd_epi16(c##i, b));
    REP12(STEP)
#undef STEP
  }
  __m256i t = _mm256_setzero_si256();
#define ADD(i) t = _mm256_add_epi32(t, c##i);
  REP12(ADD)
#undef ADD
  alignas(32) int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i *>(lanes), t);
  return sumLanes(lanes);
}

} // namespace

VectorIsa hybridc::probe::hostVectorIsa() {
  if (__builtin_cpu_supports("avx512f"))
    return VectorIsa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return VectorIsa::Avx2;
  return VectorIsa::Scalar;
}

const char *hybridc::probe::vectorIsaName(VectorIsa isa) {
  switch (isa) {
  case VectorIsa::Avx512:
    return "avx512";
  case VectorIsa::Avx2:
    return "avx2";
  case VectorIsa::Scalar:
    break;
  }
  return "scalar";
}

uint64_t hybridc::probe::sumWords(const void *data, size_t bytes, VectorIsa isa) {
  const uint8_t *p = static_cast<const uint8_t *>(data);
  switch (isa) {
  case VectorIsa::Avx512:
    return sumAvx512(p, bytes);
  case VectorIsa::Avx2:
    return sumAvx2(p, bytes);
  case VectorIsa::Scalar:
    break;
  }
  return sumScalar(p, bytes);
}

float hybridc::probe::fp32FmaLoop(int64_t iterations, VectorIsa isa) {
  switch (isa) {
  case VectorIsa::Avx512:
    return fmaAvx512(iterations);
  case VectorIsa::Avx2:
    return fmaAvx2(iterations);
  case VectorIsa::Scalar:
    break;
  }
  return fmaScalar(iterations);
}

int64_t hybridc::probe::fp32FlopsPerIteration(VectorIsa isa) {
  switch (isa) {
  case VectorIsa::Avx512:
    return kZmmChains * 16 * 2;
  case VectorIsa::Avx2:
    return kYmmChains * 8 * 2;
  case VectorIsa::Scalar:
    break;
  }
  return kScalarChains * 2;
}

bool hybridc::probe::hasBf16Dot() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
}

float hybridc::probe::bf16DotLoop(int64_t iterations) { return dotBf16(iterations); }

// Each vdpbf16ps lane multiplies-and-adds 2 pairs: 16 lanes x 2 x 2 FLOPs.
int64_t hybridc::probe::bf16FlopsPerIteration() { return kZmmChains * 16 * 2 * 2; }

bool hybridc::probe::hasInt8Dot() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni");
}

int32_t hybridc::probe::int8DotLoop(int64_t iterations) { return dotInt8(iterations); }

// Each vpdpbusd lane multiplies-and-adds 4 byte pairs: 16 lanes x 4 x 2 ops.
int64_t hybridc::probe::int8OpsPerIteration() { return kZmmChains * 16 * 4 * 2; }

bool hybridc::probe::hasInt8Madd(VectorIsa isa) {
  if (isa == VectorIsa::Avx512)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  return isa == VectorIsa::Avx2 && __builtin_cpu_supports("avx2");
}

int32_t hybridc::probe::int8MaddLoop(int64_t iterations, VectorIsa isa) {
  return isa == VectorIsa::Avx512 ? maddInt8Avx512(iterations) : maddInt8Avx2(iterations);
}

// Each vpmaddwd lane multiplies-and-adds 2 pairs: lanes x 2 x 2 ops.
int64_t hybridc::probe::int8MaddOpsPerIteration(VectorIsa isa) {
  return isa == VectorIsa::Avx512 ? kZmmChains * 16 * 2 * 2 : kYmmChains * 8 * 2 * 2;
}
