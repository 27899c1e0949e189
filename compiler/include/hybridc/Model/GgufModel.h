//===- GgufModel.h - a granitehybrid GGUF file as a Granite model -*- C++ -*-===//
//
// Reads the model config from a GGUF file's metadata and presents its
// tensors under the Hugging Face names the importer uses (TensorNames.cpp),
// undoing what llama.cpp's converter changed (docs/formats.md): expert gate
// and up halves stored apart, A stored as -exp(A_log), D / the gated norm /
// the conv weight reshaped. Q and K rows are permuted per head in GGUF; with
// NoPE that leaves every q.k, and so the model, unchanged, and the rows are
// used as stored.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_MODEL_GGUFMODEL_H
#define HYBRIDC_MODEL_GGUFMODEL_H

#include "hybridc/Model/Gguf.h"
#include "hybridc/Model/ModelConfig.h"

#include <deque>

namespace hybridc {

/// The config the `granitehybrid` metadata describes. Errors name the file
/// and the key (a wrong architecture, a missing key, RoPE switched on, a
/// value the model math cannot use).
llvm::Expected<ModelConfig> ggufModelConfig(const GgufFile &file);

/// Every tensor of `file` under its Hugging Face name, with the shape the
/// config implies checked. The views live in `views` (they point into the
/// file's mapping, or decode from it when transformed); every tensor of the
/// file must be used once.
llvm::Error ggufModelTensors(const GgufFile &file, const ModelConfig &config,
                             std::deque<TensorView> &views);

} // namespace hybridc

#endif // HYBRIDC_MODEL_GGUFMODEL_H
