//===- MachineLimits.h - this machine's read bandwidth and peaks -*- C++ -*-===//
//
// Small built-in microbenchmarks that `hybridc bench` runs before the model,
// with the bench's thread count, so that a measured speed can be stated as a
// fraction of what this machine did in the same run: on shared machines the
// absolute numbers move by more than the optimisations being measured.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_RUN_MACHINELIMITS_H
#define HYBRIDC_RUN_MACHINELIMITS_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>

namespace hybridc {

struct MachineLimits {
  int32_t threads = 0;
  /// Best of several passes of all threads summing a large buffer (GB = 1e9 B).
  double readGBPerS = 0;
  /// Independent fp32 FMA chains on the widest vector unit (AVX-512 / AVX2).
  double fp32Gflops = 0;
  /// The same on 256-bit vectors, where the widest unit is AVX-512: the peak
  /// an x86-64-avx2 library can reach here (absent where AVX2 is the widest:
  /// fp32Gflops is that peak).
  std::optional<double> fp32Avx2Gflops;
  /// AVX-512 BF16 `vdpbf16ps`, 2 FLOPs per multiply-add; absent without it.
  std::optional<double> bf16Gflops;
  /// AVX-512 VNNI `vpdpbusd`, 2 ops per multiply-add; absent without it.
  std::optional<double> int8Gops;
  /// int8 products through `vpmaddwd` + `vpaddd` (2 ops per multiply-add),
  /// the int8 kernels of targets without VNNI: on the widest vectors that
  /// have it, and on 256-bit ones where that is AVX-512 (the peak of an
  /// x86-64-avx2 library).
  std::optional<double> int8MaddGops;
  std::optional<double> int8MaddAvx2Gops;
};

struct ProbeOptions {
  int32_t threads = 1;
  /// The read-bandwidth buffer: 1 GiB is far beyond any cache. Smaller
  /// buffers finish sooner and, once they fit a cache, overstate bandwidth.
  size_t readBytes = size_t(1) << 30;
  /// Length of one compute-probe pass: long enough for clock ramps and
  /// AVX-512 power-licence switches to settle.
  double computeSeconds = 0.08;
};

/// The number of online CPUs (at least 1): the default thread count.
int32_t onlineCpus();

/// Measures the limits (about a second with the default options). The probes
/// run in a child process so that their buffer never counts in the caller's
/// peak resident memory, and an unexpected CPU fault in a probe becomes an
/// error instead of a crash. Call it while the process has one thread: it
/// forks.
llvm::Expected<MachineLimits> measureMachineLimits(const ProbeOptions &options);

} // namespace hybridc

#endif // HYBRIDC_RUN_MACHINELIMITS_H
