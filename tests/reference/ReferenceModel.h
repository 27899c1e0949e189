//===- ReferenceModel.h - plain C++ reference forward pass ------*- C++ -*-===//
//
// The Granite 4.0 hybrid forward pass of docs/model.md,
// written for clarity, used only by tests to judge the compiler's output.
// Streaming: the model holds every layer's recurrent state (Mamba conv + SSM
// state, attention K/V cache); each forward() call continues the sequence, so
// one call over n tokens, n calls of one token, or any split in between give
// the same logits.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_REFERENCE_REFERENCEMODEL_H
#define HYBRIDC_TESTS_REFERENCE_REFERENCEMODEL_H

#include "ReferenceCommon.h"
#include "ReferenceMath.h"

#include "hybridc/Model/ModelConfig.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hybridc::reference {

class AttentionMixer;
class FeedForward;
class MambaMixer;

class ReferenceModel {
public:
  /// Loads every tensor the config implies (names of docs/model.md) once, through
  /// `loadTensor`, as float. The lm_head reads hybridc::lmHeadTensorName(
  /// config); when that is the embedding (tied), it is not loaded twice.
  /// Missing or mis-sized tensors end the process with a message.
  /// config.mambaChunkSize is the SSD chunk length used for prefill, so a
  /// test may override it.
  ReferenceModel(const ModelConfig &config,
                 std::function<std::vector<float>(const std::string &tensorName)>
                     loadTensor);
  ~ReferenceModel();
  ReferenceModel(const ReferenceModel &) = delete;
  ReferenceModel &operator=(const ReferenceModel &) = delete;

  /// Feeds `tokens` (n >= 1) after those seen since the last reset() and
  /// returns the logits of every new position, row-major [n][vocab], already
  /// divided by logits_scaling.
  std::vector<float> forward(const std::vector<int32_t> &tokens);

  /// Forgets the sequence: zero conv/SSM states, empty K/V caches.
  void reset();

  /// From now on round the inputs of every product with a weight matrix as
  /// `mode` says (see MatmulRounding), as a library whose kernels multiply
  /// bf16 pairs or int8 blocks does.
  void setMatmulRounding(MatmulRounding mode) { matmulRounding_ = mode; }

  /// Stores every attention layer's K and V rows appended from now on as a
  /// library with that KV dtype does (KvStorage).
  void setKvStorage(KvStorage storage);

  /// Uses `weight` ([vocab][hidden]) as lm_head from now on, also where the
  /// model ties it to the embedding table: a library may store the two in
  /// different types (int8 lm_head, bf16 table).
  void setLmHead(std::vector<float> weight);

  /// Per token of the last forward() call, the smallest gap over the layers
  /// between the k-th and (k+1)-th router logit (+inf without experts):
  /// where it is tiny, the expert choice is a coin toss for any rounding.
  const std::vector<double> &routingMargins() const { return routingMargins_; }

  /// Tokens consumed since construction or the last reset().
  int64_t position() const { return position_; }

  const ModelConfig &config() const { return config_; }

private:
  struct Layer;

  ModelConfig config_;
  std::vector<float> embedding_;   // [V][H]
  std::vector<float> finalNorm_;   // [H]
  std::vector<float> lmHeadOwned_; // [V][H]; empty when tied
  const std::vector<float> *lmHead_ = nullptr;
  std::vector<std::unique_ptr<Layer>> layers_;
  int64_t position_ = 0;
  MatmulRounding matmulRounding_ = MatmulRounding::None;
  std::vector<double> routingMargins_;
};

} // namespace hybridc::reference

#endif // HYBRIDC_TESTS_REFERENCE_REFERENCEMODEL_H
