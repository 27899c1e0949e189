//===- Checkpoint.h - a Granite 4.0 H model: HF folder or GGUF --*- C++ -*-===//
//
// Opens a folder holding config.json and either model.safetensors or shards
// listed in model.safetensors.index.json, or a GGUF file, and checks that
// the tensors are exactly those the config implies, with the right shapes.
// Either way the tensors go by their Hugging Face names, so the importer
// never knows which format they came from.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_MODEL_CHECKPOINT_H
#define HYBRIDC_MODEL_CHECKPOINT_H

#include "hybridc/Model/Gguf.h"
#include "hybridc/Model/ModelConfig.h"
#include "hybridc/Model/Safetensors.h"

#include "llvm/ADT/StringMap.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace hybridc {

/// A tensor the config requires, with its expected shape.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
};

/// Every tensor a checkpoint with this config must hold (docs/model.md),
/// in model order. A tied lm_head is not listed (it may still be present).
std::vector<TensorSpec> expectedTensors(const ModelConfig &config);

/// The name of the tensor the lm_head reads: lm_head.weight, or the
/// embedding when the embeddings are tied.
std::string lmHeadTensorName(const ModelConfig &config);

class Checkpoint {
public:
  /// `path` is a model folder or a `.gguf` file.
  static llvm::Expected<std::unique_ptr<Checkpoint>> open(llvm::StringRef path);

  /// The folder or GGUF file opened.
  const std::string &directory() const { return dir_; }
  bool isGguf() const { return gguf_ != nullptr; }
  const ModelConfig &config() const { return config_; }
  /// A tensor by name; null when absent.
  const TensorView *find(llvm::StringRef name) const;
  /// A tensor the config requires (validated by open(), so never null).
  const TensorView &get(llvm::StringRef name) const;
  /// Every tensor the checkpoint's files hold.
  std::vector<const TensorView *> allTensors() const;

private:
  Checkpoint() = default;
  llvm::Error loadTensorFiles();
  llvm::Error openGguf();
  llvm::Error validateTensors() const;

  std::string dir_;
  std::string configSource_ = "config.json"; // what the config was read from, for messages
  ModelConfig config_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::unique_ptr<GgufFile> gguf_;
  std::deque<TensorView> ggufViews_; // the GGUF tensors under their HF names
  llvm::StringMap<const TensorView *> tensors_;
};

} // namespace hybridc

#endif // HYBRIDC_MODEL_CHECKPOINT_H
