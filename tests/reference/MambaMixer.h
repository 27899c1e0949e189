//===- MambaMixer.h - reference Mamba2 mixer (docs/model.md) ---------*- C++ -*-===//
//
// One Mamba2 layer's mixer with its streaming state: the conv state (the last
// K-1 raw, pre-conv xBC vectors, time-major [K-1][conv_dim]) and the fp32 SSM
// state [nh][P][N]. Both start at zero and carry over between forward calls,
// so any split of a sequence into calls gives the same outputs (docs/model.md).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_REFERENCE_MAMBAMIXER_H
#define HYBRIDC_TESTS_REFERENCE_MAMBAMIXER_H

#include "ReferenceCommon.h"
#include "SsmScan.h"

#include "hybridc/Model/ModelConfig.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybridc::reference {

class MambaMixer {
public:
  /// `prefix` is the layer's name prefix, e.g. "model.layers.0.".
  MambaMixer(const ModelConfig &config, const TensorLoader &loader,
             const std::string &prefix);

  /// Mixes `numTokens` normalised hidden rows `a` [numTokens][H] that follow
  /// the tokens seen so far; returns the mixer output [numTokens][H].
  std::vector<float> forward(const std::vector<float> &a, int64_t numTokens);

  /// Zeroes the conv and SSM state (a new sequence).
  void reset();

  const std::vector<float> &convState() const { return convState_; }
  const std::vector<float> &ssmState() const { return ssmState_; }

private:
  // Spec 4.3 step 2: causal depthwise conv over concat(conv state, raw) and
  // SiLU; updates the conv state. raw and the result are [T][conv_dim].
  std::vector<float> convolve(const std::vector<float> &raw, int64_t T);

  int64_t hidden_, inner_, convDim_, heads_, headDim_, stateSize_, groups_,
      kernel_, chunkSize_;
  double eps_, dtMin_, dtMax_;

  std::vector<float> inProj_, inProjBias_;  // [rows][H], [rows] or empty
  std::vector<float> convWeight_, convBias_; // [conv_dim][K], [conv_dim] or empty
  std::vector<float> dtBias_, A_, D_;        // [nh]; A = -exp(A_log)
  std::vector<float> normWeight_;            // [d_inner]
  std::vector<float> outProj_, outProjBias_; // [H][d_inner], [H] or empty

  std::vector<float> convState_; // [K-1][conv_dim], oldest first
  std::vector<float> ssmState_;  // [nh][P][N]
};

} // namespace hybridc::reference

#endif // HYBRIDC_TESTS_REFERENCE_MAMBAMIXER_H
