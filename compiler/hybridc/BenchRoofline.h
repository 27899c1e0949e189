//===- BenchRoofline.h - bench speeds as fractions of the machine -*- C++ -*-===//
//
// Prefill is compute-bound, so its FLOP rate is set against the compute
// peak that matches the kernels' arithmetic; decode is memory-bound, so its
// byte rate is set against the read bandwidth. Both come from the model's
// work (manifest) and the limits measured in the same run.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TOOL_BENCHROOFLINE_H
#define HYBRIDC_TOOL_BENCHROOFLINE_H

#include "hybridc/Run/MachineLimits.h"
#include "hybridc/Run/Manifest.h"

#include <cstdint>
#include <optional>
#include <string>

namespace hybridc {

/// What the bench timed.
struct BenchTimes {
  int64_t promptTokens = 0;
  int64_t generatedTokens = 0;
  double prefillSeconds = 0; // 0: not measured (a saved session was loaded)
  double decodeSeconds = 0;
  int64_t batchStreams = 0; // decode_batch streams, 0: not measured
  double batchSeconds = 0;  // generatedTokens steps of all the streams
};

struct Roofline {
  std::optional<double> prefillGflops;
  std::optional<double> decodeGBPerS;
  std::optional<double> prefillFraction; // of the peak named peakUsed
  std::optional<double> decodeFraction;  // of the read bandwidth
  /// decode_batch: the bytes its steps read (non-expert weights once, the
  /// expected distinct experts once, each stream's state and KV rows), as a
  /// rate and a fraction of the read bandwidth; and the speed-up over one
  /// stream the bytes allow at the same bandwidth (streams x one stream's
  /// bytes / a batch step's bytes).
  std::optional<double> batchGBPerS;
  std::optional<double> batchFraction;
  std::optional<double> batchSpeedupBound;
  std::optional<double> batchDistinctExperts; // per MoE layer and step, uniform routing
  std::string peakUsed;                  // "fp32", "fp32 avx2", "bf16" or "int8"; "" without limits
  /// Why a figure or fraction is missing, or which fallback was taken; "" if none.
  std::string note;
};

/// `limits` is null when they were not measured; `noLimitsReason` then says why.
Roofline computeRoofline(const Manifest &manifest, const std::optional<MachineLimits> &limits,
                         const std::string &noLimitsReason, const BenchTimes &times);

} // namespace hybridc

#endif // HYBRIDC_TOOL_BENCHROOFLINE_H
