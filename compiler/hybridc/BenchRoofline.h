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
  double prefillSeconds = 0;
  double decodeSeconds = 0;
};

struct Roofline {
  std::optional<double> prefillGflops;
  std::optional<double> decodeGBPerS;
  std::optional<double> prefillFraction; // of the peak named peakUsed
  std::optional<double> decodeFraction;  // of the read bandwidth
  std::string peakUsed;                  // "fp32", "fp32 avx2", "bf16" or "int8"; "" without limits
  /// Why a figure or fraction is missing, or which fallback was taken; "" if none.
  std::string note;
};

/// `limits` is null when they were not measured; `noLimitsReason` then says why.
Roofline computeRoofline(const Manifest &manifest, const std::optional<MachineLimits> &limits,
                         const std::string &noLimitsReason, const BenchTimes &times);

} // namespace hybridc

#endif // HYBRIDC_TOOL_BENCHROOFLINE_H
