//===- ModelWork.cpp - per-token work of a model from its config ----------===//
//
// Only the multiply-adds and bytes that dominate are counted: the linear
// layers, attention and the scan for prefill; the matmul weights, the
// recurrent state and the KV cache for decode. Norms, biases, activations,
// the conv weights and the embedding row are each well under 1% and are left
// out so that the numbers stay easy to check by hand; so is the router's
// being stored f32 whatever the weight type (E x H per layer).
//
//===----------------------------------------------------------------------===//
#include "hybridc/Model/ModelWork.h"

#include "hybridc/kv_layout.h"

#include <cmath>
#include <cstdint>
#include <tuple>

using namespace hybridc;

namespace {

// Bytes of the f32 recurrent state and KV cache the compiled model keeps.
constexpr int64_t kStateBytes = 4;

// The counts are formed in 128 bits: every config size is below 2^31 and
// there are at most 2^16 layers (ModelConfig.cpp), so no product or sum here
// overflows; one that does not fit the 64-bit fields is an error.
using Wide = __int128;

struct LayerWeights {
  Wide mixer = 0;     // in_proj + out_proj, or q/k/v/o
  Wide ffnActive = 0; // router + top-K experts + shared MLP: what one token uses
};

LayerWeights layerWeights(const ModelConfig &c, LayerKind kind) {
  const Wide H = c.hiddenSize;
  LayerWeights w;
  if (kind == LayerKind::Mamba)
    w.mixer = Wide(c.inProjRows()) * H + H * c.mambaInner();
  else
    w.mixer = 2 * Wide(c.qDim()) * H + 2 * Wide(c.kvDim()) * H; // q and o; k and v
  // Gate and up are one [2I, H] matrix, down is [H, I]: 3·I·H per expert.
  w.ffnActive = 3 * Wide(c.sharedIntermediateSize) * H;
  if (c.numExperts > 0)
    w.ffnActive += Wide(c.numExperts) * H + Wide(c.topK) * 3 * c.intermediateSize * H;
  return w;
}

} // namespace

double ModelWork::prefillFlops(int64_t tokens, int64_t past, int64_t logitsTokens) const {
  const double n = static_cast<double>(tokens), p = static_cast<double>(past);
  // Token t (0-based) of the call attends to past + t + 1 positions.
  const double pairs = n * p + n * (n + 1) / 2;
  return 2.0 * (n * matmulMacsPerToken + static_cast<double>(logitsTokens) * lmHeadMacsPerToken +
                pairs * attentionMacsPerPosition) +
         n * scanFlopsPerToken;
}

double ModelWork::decodeBytes(double contextPositions) const {
  return static_cast<double>(decodeWeightBytesPerToken + decodeStateBytesPerToken) +
         contextPositions * decodeKvBytesPerPosition;
}

double ModelWork::expectedDistinctExperts(int64_t streams) const {
  if (numExperts == 0)
    return 0;
  const double unpicked = 1.0 - static_cast<double>(expertsPerToken) / numExperts;
  return numExperts * (1.0 - std::pow(unpicked, static_cast<double>(streams)));
}

double ModelWork::batchDecodeBytes(int64_t streams, double contextPositions) const {
  if (!expertsRecorded)
    return 0; // an older folder: the experts' share is unknown
  const double experts = static_cast<double>(moeLayers) * expertWeightBytes;
  const double shared = decodeWeightBytesPerToken - experts * expertsPerToken;
  return shared + experts * expectedDistinctExperts(streams) +
         streams * (decodeStateBytesPerToken + contextPositions * decodeKvBytesPerPosition);
}

llvm::Expected<ModelWork> hybridc::computeModelWork(const ModelConfig &c,
                                                    llvm::StringRef weightsDtype,
                                                    int32_t kvDtype) {
  if (!hybridc_kv_dtype_name(kvDtype))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "model work: unknown KV dtype %d", kvDtype);
  ModelWork w;
  const bool blocks = weightsDtype == "int8" || weightsDtype == "int4";
  if (weightsDtype == "f32")
    w.bitsPerWeight = 32;
  else if (weightsDtype == "bf16")
    w.bitsPerWeight = 16;
  else if (weightsDtype == "int8")
    w.bitsPerWeight = 8;
  else if (weightsDtype == "int4")
    w.bitsPerWeight = 4;
  else
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "model work: unknown weights dtype '%s' (f32, bf16, int8 "
                                   "or int4)",
                                   weightsDtype.str().c_str());

  const Wide mambaLayers = c.countLayers(LayerKind::Mamba);
  const Wide attentionLayers = c.countLayers(LayerKind::Attention);
  const Wide H = c.hiddenSize, bits = w.bitsPerWeight;
  Wide matmulMacs = 0;
  for (LayerKind kind : c.layerTypes) {
    LayerWeights lw = layerWeights(c, kind);
    matmulMacs += lw.mixer + lw.ffnActive;
  }
  const Wide lmHeadMacs = Wide(c.vocabSize) * H;
  // GQA shares K/V rows between query heads but every query head does its
  // own dot products: headDim for q·k and headDim for the weighted sum of v.
  const Wide attentionMacs = attentionLayers * 2 * c.qDim();

  const Wide stateElements = Wide(c.mambaHeads) * c.mambaHeadDim * c.mambaStateSize;
  const Wide scanFlops = mambaLayers * (5 * stateElements + 2 * Wide(c.convDim()) * c.mambaConvKernel);

  // A decode step runs every matmul once for its one token, lm_head included,
  // so the weights it touches are exactly the multiply-adds it does.
  const Wide decodeWeights = matmulMacs + lmHeadMacs;
  Wide decodeWeightBytes = decodeWeights * bits / 8;
  // int4 keeps lm_head and the attention K/V projections in int8.
  if (weightsDtype == "int4")
    decodeWeightBytes += (lmHeadMacs + attentionLayers * 2 * c.kvDim() * H) / 2;
  // int8 and int4 weights carry an f32 scale per block of 32 inputs.
  if (blocks)
    decodeWeightBytes += decodeWeights / 32 * 4;
  Wide expertWeightBytes = 0;
  if (c.numExperts > 0) {
    const Wide expertWeights = 3 * Wide(c.intermediateSize) * H;
    expertWeightBytes = expertWeights * bits / 8 + (blocks ? expertWeights / 32 * 4 : 0);
  }
  const Wide convState = Wide(c.mambaConvKernel - 1) * c.convDim();
  const Wide stateBytes = 2 * mambaLayers * (stateElements + convState) * kStateBytes;
  const Wide kvBytes =
      attentionLayers * 2 * c.numKvHeads * hybridc_kv_row_bytes(kvDtype, c.headDim);

  for (auto [name, value, field] :
       {std::tuple{"multiply-adds per token", matmulMacs, &ModelWork::matmulMacsPerToken},
        std::tuple{"lm_head multiply-adds", lmHeadMacs, &ModelWork::lmHeadMacsPerToken},
        std::tuple{"attention multiply-adds", attentionMacs, &ModelWork::attentionMacsPerPosition},
        std::tuple{"scan FLOPs", scanFlops, &ModelWork::scanFlopsPerToken},
        std::tuple{"decode weights", decodeWeights, &ModelWork::decodeWeightsPerToken},
        std::tuple{"decode weight bytes", decodeWeightBytes, &ModelWork::decodeWeightBytesPerToken},
        std::tuple{"state bytes", stateBytes, &ModelWork::decodeStateBytesPerToken},
        std::tuple{"KV bytes per position", kvBytes, &ModelWork::decodeKvBytesPerPosition},
        std::tuple{"bytes of one expert", expertWeightBytes, &ModelWork::expertWeightBytes}}) {
    if (value > Wide(INT64_MAX))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "model work: the config's sizes give more %s than a 64-bit "
                                     "count holds",
                                     name);
    w.*field = static_cast<int64_t>(value);
  }
  if (c.numExperts > 0) {
    w.moeLayers = c.numLayers;
    w.numExperts = c.numExperts;
    w.expertsPerToken = c.topK;
  }
  return w;
}
