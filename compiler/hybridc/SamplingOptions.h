//===- SamplingOptions.h - the sampler's command-line options ---*- C++ -*-===//
//
// --temperature, --top-k, --top-p, --min-p, --repeat-penalty,
// --repeat-last-n and --seed, as `hybridc run` and `hybridc chat` take them:
// each checked with a message in words, none given meaning greedy.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TOOL_SAMPLINGOPTIONS_H
#define HYBRIDC_TOOL_SAMPLINGOPTIONS_H

#include "hybridc/Run/LibraryText.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>

namespace hybridc {

struct SamplingOptions {
  std::optional<float> temperature, topP, minP, repeatPenalty;
  std::optional<int32_t> topK, repeatLastN;
  std::optional<uint64_t> seed;

  /// Registers the options on `cmd`, bound to this object.
  void addTo(CLI::App *cmd);
  /// Whether any was given (none: greedy, as argmax).
  bool given() const {
    return temperature || topP || minP || repeatPenalty || topK || repeatLastN || seed;
  }
  /// The given values over the sampler's defaults.
  SamplerSettings settings() const;
};

} // namespace hybridc

#endif // HYBRIDC_TOOL_SAMPLINGOPTIONS_H
