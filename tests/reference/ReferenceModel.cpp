//===- ReferenceModel.cpp -------------------------------------------------===//

#include "ReferenceModel.h"

#include "AttentionMixer.h"
#include "FeedForward.h"
#include "MambaMixer.h"
#include "ReferenceMath.h"

#include "hybridc/Model/Checkpoint.h"

#include <limits>

namespace hybridc::reference {

/// One decoder block (docs/model.md): pre-norm mixer and pre-norm FFN, each branch
/// scaled by residual_multiplier before its residual add.
struct ReferenceModel::Layer {
  LayerKind kind;
  std::vector<float> inputNorm; // input_layernorm, before the mixer
  std::vector<float> ffnNorm;   // post_attention_layernorm, before the FFN
  std::unique_ptr<MambaMixer> mamba;
  std::unique_ptr<AttentionMixer> attention;
  std::unique_ptr<FeedForward> ffn;
};

ReferenceModel::ReferenceModel(
    const ModelConfig &config,
    std::function<std::vector<float>(const std::string &tensorName)>
        loadTensorFn)
    : config_(config) {
  const TensorLoader &loader = loadTensorFn;
  const int64_t H = config_.hiddenSize, V = config_.vocabSize;
  if (static_cast<int64_t>(config_.layerTypes.size()) != config_.numLayers)
    fatal("layer_types has " + std::to_string(config_.layerTypes.size()) +
          " entries for " + std::to_string(config_.numLayers) + " layers");

  const std::string embeddingName = "model.embed_tokens.weight";
  embedding_ = loadTensor(loader, embeddingName, V * H);
  finalNorm_ = loadTensor(loader, "model.norm.weight", H);
  const std::string lmHeadName = lmHeadTensorName(config_);
  if (lmHeadName == embeddingName) {
    lmHead_ = &embedding_;
  } else {
    lmHeadOwned_ = loadTensor(loader, lmHeadName, V * H);
    lmHead_ = &lmHeadOwned_;
  }

  for (int64_t i = 0; i < config_.numLayers; ++i) {
    const std::string prefix = "model.layers." + std::to_string(i) + ".";
    auto layer = std::make_unique<Layer>();
    layer->kind = config_.layerTypes[i];
    layer->inputNorm = loadTensor(loader, prefix + "input_layernorm.weight", H);
    if (layer->kind == LayerKind::Mamba)
      layer->mamba = std::make_unique<MambaMixer>(config_, loader, prefix);
    else
      layer->attention =
          std::make_unique<AttentionMixer>(config_, loader, prefix);
    layer->ffnNorm =
        loadTensor(loader, prefix + "post_attention_layernorm.weight", H);
    layer->ffn = std::make_unique<FeedForward>(config_, loader, prefix);
    layers_.push_back(std::move(layer));
  }
}

ReferenceModel::~ReferenceModel() = default;

void ReferenceModel::setLmHead(std::vector<float> weight) {
  const int64_t want = config_.vocabSize * config_.hiddenSize;
  if (static_cast<int64_t>(weight.size()) != want)
    fatal("lm_head replacement has " + std::to_string(weight.size()) + " values, not " +
          std::to_string(want));
  lmHeadOwned_ = std::move(weight);
  lmHead_ = &lmHeadOwned_;
}

void ReferenceModel::setKvStorage(KvStorage storage) {
  for (auto &layer : layers_)
    if (layer->attention)
      layer->attention->setKvStorage(storage);
}

void ReferenceModel::reset() {
  for (auto &layer : layers_) {
    if (layer->mamba)
      layer->mamba->reset();
    if (layer->attention)
      layer->attention->reset();
  }
  position_ = 0;
}

std::vector<float> ReferenceModel::forward(const std::vector<int32_t> &tokens) {
  const int64_t T = static_cast<int64_t>(tokens.size());
  const int64_t H = config_.hiddenSize, V = config_.vocabSize;
  if (T < 1)
    fatal("forward() needs at least one token");
  const float eps = static_cast<float>(config_.rmsNormEps);
  const double residualScale = config_.residualMultiplier;
  MatmulInputRounding rounding(matmulRounding_);
  routingMargins_.assign(T, std::numeric_limits<double>::infinity());

  // Spec 4.1: embedding rows × embedding_multiplier.
  std::vector<float> x(T * H);
  for (int64_t t = 0; t < T; ++t) {
    const int64_t id = tokens[t];
    if (id < 0 || id >= V)
      fatal("token id " + std::to_string(id) + " outside the vocabulary [0, " +
            std::to_string(V) + ")");
    for (int64_t i = 0; i < H; ++i)
      x[t * H + i] = static_cast<float>(embedding_[id * H + i] *
                                        config_.embeddingMultiplier);
  }

  auto normRows = [&](const std::vector<float> &in,
                      const std::vector<float> &weight) {
    std::vector<float> out(in.size());
    for (int64_t t = 0; t < T; ++t)
      rmsNorm(&in[t * H], weight.data(), H, eps, &out[t * H]);
    return out;
  };
  auto addScaled = [&](const std::vector<float> &branch) {
    for (int64_t i = 0; i < T * H; ++i)
      x[i] = static_cast<float>(x[i] + residualScale * branch[i]);
  };

  // Spec 4.2, layer by layer over all new tokens at once.
  for (auto &layer : layers_) {
    std::vector<float> a = normRows(x, layer->inputNorm);
    addScaled(layer->mamba ? layer->mamba->forward(a, T)
                           : layer->attention->forward(a, T));
    std::vector<float> f = normRows(x, layer->ffnNorm);
    addScaled(layer->ffn->forward(f, T, &routingMargins_));
  }
  position_ += T;

  // Spec 4.7: final norm, lm_head, ÷ logits_scaling.
  std::vector<float> normed = normRows(x, finalNorm_);
  for (int64_t t = 0; t < T; ++t)
    roundMatmulInputs(&normed[t * H], H);
  std::vector<float> logits(T * V);
  const double inverseScale = 1.0 / config_.logitsScaling;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t v = 0; v < V; ++v)
      logits[t * V + v] = static_cast<float>(
          dot(&(*lmHead_)[v * H], &normed[t * H], H) * inverseScale);
  return logits;
}

} // namespace hybridc::reference
