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

#include <cmath>

using namespace hybridc;

namespace {

// Bytes of the f32 recurrent state and KV cache the compiled model keeps.
constexpr int64_t kStateBytes = 4;

struct LayerWeights {
  int64_t mixer = 0;       // in_proj + out_proj, or q/k/v/o
  int64_t ffnActive = 0;   // router + top-K experts + shared MLP: what one token uses
};

LayerWeights layerWeights(const ModelConfig &c, LayerKind kind) {
  const int64_t H = c.hiddenSize;
  LayerWeights w;
  if (kind == LayerKind::Mamba)
    w.mixer = c.inProjRows() * H + H * c.mambaInner();
  else
    w.mixer = 2 * c.qDim() * H + 2 * c.kvDim() * H; // q and o; k and v
  // Gate and up are one [2I, H] matrix, down is [H, I]: 3·I·H per expert.
  w.ffnActive = 3 * c.sharedIntermediateSize * H;
  if (c.numExperts > 0)
    w.ffnActive += c.numExperts * H + c.topK * 3 * c.intermediateSize * H;
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
                                                    llvm::StringRef weightsDtype) {
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

  const int64_t mambaLayers = c.countLayers(LayerKind::Mamba);
  const int64_t attentionLayers = c.countLayers(LayerKind::Attention);
  for (LayerKind kind : c.layerTypes) {
    LayerWeights lw = layerWeights(c, kind);
    w.matmulMacsPerToken += lw.mixer + lw.ffnActive;
  }
  w.lmHeadMacsPerToken = c.vocabSize * c.hiddenSize;
  // GQA shares K/V rows between query heads but every query head does its
  // own dot products: headDim for q·k and headDim for the weighted sum of v.
  w.attentionMacsPerPosition = attentionLayers * 2 * c.qDim();

  const int64_t stateElements = c.mambaHeads * c.mambaHeadDim * c.mambaStateSize;
  w.scanFlopsPerToken =
      mambaLayers * (5 * stateElements + 2 * c.convDim() * c.mambaConvKernel);

  // A decode step runs every matmul once for its one token, lm_head included,
  // so the weights it touches are exactly the multiply-adds it does.
  w.decodeWeightsPerToken = w.matmulMacsPerToken + w.lmHeadMacsPerToken;
  w.decodeWeightBytesPerToken = w.decodeWeightsPerToken * w.bitsPerWeight / 8;
  // int4 keeps lm_head and the attention K/V projections in int8.
  if (weightsDtype == "int4")
    w.decodeWeightBytesPerToken +=
        (w.lmHeadMacsPerToken + attentionLayers * 2 * c.kvDim() * c.hiddenSize) / 2;
  // int8 and int4 weights carry an f32 scale per block of 32 inputs.
  if (blocks)
    w.decodeWeightBytesPerToken += w.decodeWeightsPerToken / 32 * 4;
  if (c.numExperts > 0) {
    w.moeLayers = c.numLayers;
    w.numExperts = c.numExperts;
    w.expertsPerToken = c.topK;
    const int64_t expertWeights = 3 * c.intermediateSize * c.hiddenSize;
    w.expertWeightBytes =
        expertWeights * w.bitsPerWeight / 8 + (blocks ? expertWeights / 32 * 4 : 0);
  }
  const int64_t convState = (c.mambaConvKernel - 1) * c.convDim();
  w.decodeStateBytesPerToken = 2 * mambaLayers * (stateElements + convState) * kStateBytes;
  w.decodeKvBytesPerPosition = attentionLayers * 2 * c.kvDim() * kStateBytes;
  return w;
}
