//===- ModelConfig.h - Granite 4.0 hybrid model configuration ---*- C++ -*-===//
//
// The hyper-parameters of a GraniteMoeHybrid checkpoint (docs/model.md), read
// from a Hugging Face `config.json` with Hugging Face's defaults for absent
// fields, plus the quantities derived from them.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_MODEL_MODELCONFIG_H
#define HYBRIDC_MODEL_MODELCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace hybridc {

enum class LayerKind { Mamba, Attention };

llvm::StringRef layerKindName(LayerKind kind);

struct ModelConfig {
  // Model width, depth and vocabulary.
  int64_t hiddenSize = 4096;
  int64_t numLayers = 32;
  int64_t vocabSize = 32000;
  std::vector<LayerKind> layerTypes; // one per layer

  // Attention (NoPE, grouped-query).
  int64_t numHeads = 32;
  int64_t numKvHeads = 32;
  int64_t headDim = 128; // hidden / heads unless `head_dim` is given
  bool attentionBias = false;

  // Granite multipliers. `logitsScaling` divides the logits.
  double embeddingMultiplier = 1.0;
  double attentionMultiplier = 1.0;
  double residualMultiplier = 1.0;
  double logitsScaling = 1.0;
  double rmsNormEps = 1e-6;

  // Feed-forward: mixture of experts (numExperts == 0: dense) + shared MLP.
  int64_t numExperts = 8;
  int64_t topK = 2;
  int64_t intermediateSize = 11008;       // per expert
  int64_t sharedIntermediateSize = 1024;  // shared MLP

  // Mamba2 mixer.
  int64_t mambaHeads = 128;
  int64_t mambaHeadDim = 64;
  int64_t mambaStateSize = 256;
  int64_t mambaGroups = 1;
  int64_t mambaConvKernel = 4;
  int64_t mambaExpand = 2;
  int64_t mambaChunkSize = 256;
  bool mambaConvBias = true;
  bool mambaProjBias = false;
  double timeStepMin = 0.0; // time_step_limit[0]: clamp of dt after softplus
  double timeStepMax = std::numeric_limits<double>::infinity();

  bool tieWordEmbeddings = false;
  int64_t maxPositionEmbeddings = 2048; // nominal only: NoPE has no limit
  std::string hiddenAct = "silu";

  // Derived sizes (docs/model.md, notation).
  int64_t mambaInner() const { return mambaExpand * hiddenSize; }
  int64_t convDim() const { return mambaInner() + 2 * mambaGroups * mambaStateSize; }
  int64_t inProjRows() const { return mambaInner() + convDim() + mambaHeads; }
  int64_t qDim() const { return numHeads * headDim; }
  int64_t kvDim() const { return numKvHeads * headDim; }
  int64_t countLayers(LayerKind kind) const;
};

/// Parses and validates the text of a config.json. `fileName` only names the
/// file in error messages, which also name the offending field.
llvm::Expected<ModelConfig> parseModelConfig(llvm::StringRef jsonText,
                                             llvm::StringRef fileName);

/// How validateModelConfig reports a bad field: (field, what is wrong).
using ConfigFail = std::function<llvm::Error(llvm::StringRef, const llvm::Twine &)>;

/// Checks the relations between the fields that the model math relies on
/// (positive sizes, heads dividing, expand 2, ...); parseModelConfig and the
/// GGUF reader both end with it. `fail` words the error.
llvm::Error validateModelConfig(const ModelConfig &config, const ConfigFail &fail);

/// Reads and parses `path` (a config.json).
llvm::Expected<ModelConfig> loadModelConfig(llvm::StringRef path);

} // namespace hybridc

#endif // HYBRIDC_MODEL_MODELCONFIG_H
