//===- ProbeKernels.h - the inner loops of the machine-limit probes -*- C++ -*-===//
//
// Each loop is compiled for one instruction set with a target attribute and
// picked at run time, so the binary stays baseline x86-64 while the probes
// use the widest registers the CPU has. Every loop returns a value computed
// from all its accumulators: the caller keeps it, so the compiler cannot
// drop the work.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_RUN_PROBEKERNELS_H
#define HYBRIDC_RUN_PROBEKERNELS_H

#include <cstddef>
#include <cstdint>

namespace hybridc::probe {

/// The widest vector ISA the running CPU supports for the fp32 loops.
enum class VectorIsa { Scalar, Avx2, Avx512 };
VectorIsa hostVectorIsa();
const char *vectorIsaName(VectorIsa isa);

/// `bytes` must be a multiple of kSumBlockBytes and `data` 64-byte aligned.
constexpr size_t kSumBlockBytes = 512;
/// Reads every byte of [data, data + bytes) once (a sum of 32-bit words).
uint64_t sumWords(const void *data, size_t bytes, VectorIsa isa);

/// `iterations` rounds of independent fp32 FMA chains.
float fp32FmaLoop(int64_t iterations, VectorIsa isa);
/// Floating-point operations (2 per multiply-add) of one round.
int64_t fp32FlopsPerIteration(VectorIsa isa);

/// AVX-512 BF16 `vdpbf16ps` rounds; only where hasBf16Dot().
bool hasBf16Dot();
float bf16DotLoop(int64_t iterations);
int64_t bf16FlopsPerIteration();

/// AVX-512 VNNI `vpdpbusd` rounds; only where hasInt8Dot().
bool hasInt8Dot();
int32_t int8DotLoop(int64_t iterations);
int64_t int8OpsPerIteration();

/// int8 products as targets without VNNI compute them: `vpmaddwd` (two i16
/// products per i32 lane) plus `vpaddd`, on 256-bit (Avx2) or 512-bit
/// (Avx512, needs AVX-512 BW) vectors; only where hasInt8Madd(isa).
bool hasInt8Madd(VectorIsa isa);
int32_t int8MaddLoop(int64_t iterations, VectorIsa isa);
int64_t int8MaddOpsPerIteration(VectorIsa isa);

} // namespace hybridc::probe

#endif // HYBRIDC_RUN_PROBEKERNELS_H
