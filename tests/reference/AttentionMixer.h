//===- AttentionMixer.h - reference NoPE GQA attention (docs/model.md) -*- C++ -*-===//
//
// One attention layer's mixer with its K/V cache, [kv][t][hd] each, growing
// without bound (NoPE: no position tables, so no limit). Query head h reads
// kv head h / (heads / kv); scores are scaled by attention_multiplier (which
// replaces 1/sqrt(hd)); the causal mask spans the whole cached sequence.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_REFERENCE_ATTENTIONMIXER_H
#define HYBRIDC_TESTS_REFERENCE_ATTENTIONMIXER_H

#include "ReferenceCommon.h"
#include "ReferenceMath.h"

#include "hybridc/Model/ModelConfig.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybridc::reference {

class AttentionMixer {
public:
  AttentionMixer(const ModelConfig &config, const TensorLoader &loader,
                 const std::string &prefix);

  /// Attends `numTokens` new rows `a` [numTokens][H] (appended to the cache)
  /// over everything cached; returns [numTokens][H].
  std::vector<float> forward(const std::vector<float> &a, int64_t numTokens);

  /// Empties the K/V cache.
  void reset();

  /// Tokens held in the cache.
  int64_t cachedTokens() const { return cachedTokens_; }

  /// Stores the rows appended from now on as `storage` says.
  void setKvStorage(KvStorage storage) { storage_ = storage; }

private:
  /// One kv head's new K or V row [hd] as the cache stores it, in place.
  void storeAsCached(float *head) const;

  int64_t hidden_, heads_, kvHeads_, headDim_;
  double scale_;

  std::vector<float> q_, k_, v_, o_;             // projection weights
  std::vector<float> qBias_, kBias_, vBias_, oBias_; // empty without bias

  // keys_[j] / values_[j]: kv head j's cache, [t][hd] (so [kv][t][hd] overall).
  std::vector<std::vector<float>> keys_, values_;
  int64_t cachedTokens_ = 0;
  KvStorage storage_ = KvStorage::F32;
};

} // namespace hybridc::reference

#endif // HYBRIDC_TESTS_REFERENCE_ATTENTIONMIXER_H
