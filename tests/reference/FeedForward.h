//===- FeedForward.h - reference MoE + shared MLP (docs/model.md) -*- C++ -*-===//
//
// The FFN part of every decoder layer: a top-k mixture of SwiGLU experts
// plus the always-present shared SwiGLU MLP; the shared MLP alone when the
// model has no experts (num_local_experts == 0). Stateless.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_REFERENCE_FEEDFORWARD_H
#define HYBRIDC_TESTS_REFERENCE_FEEDFORWARD_H

#include "ReferenceCommon.h"

#include "hybridc/Model/ModelConfig.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybridc::reference {

/// The experts a router picks for one token and their gates.
struct ExpertChoice {
  std::vector<int64_t> experts; // k ids, by descending logit
  std::vector<float> gates;     // softmax over the k selected logits
};

/// Top-k by raw router logits; equal logits keep the lower expert id first.
/// Gates are the softmax over the selected logits only (docs/model.md).
ExpertChoice routeTopK(const std::vector<float> &routerLogits, int64_t k);

class FeedForward {
public:
  FeedForward(const ModelConfig &config, const TensorLoader &loader,
              const std::string &prefix);

  /// f [numTokens][H] -> MoE(f) + SharedMLP(f), [numTokens][H]. With
  /// `routingMargin` ([numTokens]), each token's entry is lowered to the gap
  /// between its k-th and (k+1)-th router logit when that is smaller (how
  /// close the top-k choice came to picking another expert).
  std::vector<float> forward(const std::vector<float> &f, int64_t numTokens,
                             std::vector<double> *routingMargin = nullptr) const;

private:
  // W_out · (SiLU(gate) ⊙ up) with u = W_in·x, gate = u[0:width],
  // up = u[width:2·width]; accumulates scale·result into `out` (double).
  void swiglu(const float *inWeight, const float *outWeight, int64_t width,
              const float *x, double scale, double *out) const;

  int64_t hidden_, numExperts_, topK_, expertWidth_, sharedWidth_;
  std::vector<float> router_;        // [E][H]
  std::vector<float> expertIn_;      // [E][2I][H], gate rows first
  std::vector<float> expertOut_;     // [E][H][I]
  std::vector<float> sharedIn_;      // [2S][H], gate rows first
  std::vector<float> sharedOut_;     // [H][S]
};

} // namespace hybridc::reference

#endif // HYBRIDC_TESTS_REFERENCE_FEEDFORWARD_H
