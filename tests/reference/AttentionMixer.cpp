//===- AttentionMixer.cpp -------------------------------------------------===//
//
// Scores and the softmax are computed in double (spec: at least fp32) so the
// reference adds no rounding of its own worth measuring.
//
//===----------------------------------------------------------------------===//

#include "AttentionMixer.h"

#include "ReferenceMath.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hybridc::reference {

AttentionMixer::AttentionMixer(const ModelConfig &config,
                               const TensorLoader &loader,
                               const std::string &prefix)
    : hidden_(config.hiddenSize), heads_(config.numHeads),
      kvHeads_(config.numKvHeads), headDim_(config.headDim),
      scale_(config.attentionMultiplier) {
  if (kvHeads_ <= 0 || heads_ % kvHeads_ != 0)
    fatal(prefix + "self_attn: num_key_value_heads must divide "
                   "num_attention_heads");
  const std::string s = prefix + "self_attn.";
  const int64_t qDim = config.qDim(), kvDim = config.kvDim();
  q_ = loadTensor(loader, s + "q_proj.weight", qDim * hidden_);
  k_ = loadTensor(loader, s + "k_proj.weight", kvDim * hidden_);
  v_ = loadTensor(loader, s + "v_proj.weight", kvDim * hidden_);
  o_ = loadTensor(loader, s + "o_proj.weight", hidden_ * qDim);
  if (config.attentionBias) {
    qBias_ = loadTensor(loader, s + "q_proj.bias", qDim);
    kBias_ = loadTensor(loader, s + "k_proj.bias", kvDim);
    vBias_ = loadTensor(loader, s + "v_proj.bias", kvDim);
    oBias_ = loadTensor(loader, s + "o_proj.bias", hidden_);
  }
  reset();
}

void AttentionMixer::storeAsCached(float *head) const {
  switch (storage_) {
  case KvStorage::F32:
    return;
  case KvStorage::Bf16:
    roundBf16(head, headDim_);
    return;
  case KvStorage::Int8:
    for (int64_t first = 0; first < headDim_; first += 32)
      roundInt8Block(head + first, std::min<int64_t>(32, headDim_ - first));
    return;
  }
}

void AttentionMixer::reset() {
  keys_.assign(kvHeads_, {});
  values_.assign(kvHeads_, {});
  cachedTokens_ = 0;
}

static const float *biasOrNull(const std::vector<float> &bias) {
  return bias.empty() ? nullptr : bias.data();
}

std::vector<float> AttentionMixer::forward(const std::vector<float> &a,
                                           int64_t T) {
  const int64_t qDim = heads_ * headDim_, kvDim = kvHeads_ * headDim_;
  const int64_t queriesPerKv = heads_ / kvHeads_;

  // Project every new token and append its keys/values to the cache first:
  // token i may attend to itself and to the earlier new tokens.
  std::vector<float> q(T * qDim), k(kvDim), v(kvDim);
  for (int64_t t = 0; t < T; ++t) {
    const float *row = &a[t * hidden_];
    linear(q_.data(), biasOrNull(qBias_), row, qDim, hidden_, &q[t * qDim]);
    linear(k_.data(), biasOrNull(kBias_), row, kvDim, hidden_, k.data());
    linear(v_.data(), biasOrNull(vBias_), row, kvDim, hidden_, v.data());
    for (int64_t j = 0; j < kvHeads_; ++j)
      for (float *head : {&k[j * headDim_], &v[j * headDim_]})
        storeAsCached(head);
    for (int64_t j = 0; j < kvHeads_; ++j) {
      keys_[j].insert(keys_[j].end(), &k[j * headDim_], &k[(j + 1) * headDim_]);
      values_[j].insert(values_[j].end(), &v[j * headDim_],
                        &v[(j + 1) * headDim_]);
    }
  }
  const int64_t firstPosition = cachedTokens_;
  cachedTokens_ += T;

  std::vector<float> heads(T * qDim), out(T * hidden_);
  std::vector<double> scores, mixed(headDim_);
  for (int64_t t = 0; t < T; ++t) {
    const int64_t visible = firstPosition + t + 1; // causal: j <= position
    for (int64_t h = 0; h < heads_; ++h) {
      const int64_t j = h / queriesPerKv;
      const float *query = &q[t * qDim + h * headDim_];
      scores.assign(visible, 0.0);
      double maxScore = -std::numeric_limits<double>::infinity();
      for (int64_t s = 0; s < visible; ++s) {
        scores[s] = dot(query, &keys_[j][s * headDim_], headDim_) * scale_;
        maxScore = std::max(maxScore, scores[s]);
      }
      double total = 0.0;
      for (double &score : scores) {
        score = std::exp(score - maxScore);
        total += score;
      }
      std::fill(mixed.begin(), mixed.end(), 0.0);
      for (int64_t s = 0; s < visible; ++s) {
        const double weight = scores[s] / total;
        const float *value = &values_[j][s * headDim_];
        for (int64_t d = 0; d < headDim_; ++d)
          mixed[d] += weight * value[d];
      }
      for (int64_t d = 0; d < headDim_; ++d)
        heads[t * qDim + h * headDim_ + d] = static_cast<float>(mixed[d]);
    }
    linear(o_.data(), biasOrNull(oBias_), &heads[t * qDim], hidden_, qDim,
           &out[t * hidden_]);
  }
  return out;
}

} // namespace hybridc::reference
