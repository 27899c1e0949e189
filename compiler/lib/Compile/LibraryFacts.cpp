//===- LibraryFacts.cpp - the manifest's description, from the IR ---------===//
#include "LibraryFacts.h"

#include "mlir/Pass/Pass.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <set>

using namespace hybridc;
using namespace mlir;

llvm::json::Object hybridc::modelFacts(const ModelConfig &c) {
  llvm::json::Array kinds;
  for (LayerKind k : c.layerTypes)
    kinds.push_back(layerKindName(k).str());
  return llvm::json::Object{
      {"vocab_size", c.vocabSize},
      {"hidden_size", c.hiddenSize},
      {"num_layers", c.numLayers},
      {"layer_types", std::move(kinds)},
      {"mamba_layers", c.countLayers(LayerKind::Mamba)},
      {"attention_layers", c.countLayers(LayerKind::Attention)},
      {"num_heads", c.numHeads},
      {"num_kv_heads", c.numKvHeads},
      {"head_dim", c.headDim},
      {"num_experts", c.numExperts},
      {"experts_per_token", c.topK},
      {"intermediate_size", c.intermediateSize},
      {"shared_intermediate_size", c.sharedIntermediateSize},
      {"mamba_heads", c.mambaHeads},
      {"mamba_head_dim", c.mambaHeadDim},
      {"mamba_state_size", c.mambaStateSize},
      {"mamba_groups", c.mambaGroups},
      {"mamba_conv_kernel", c.mambaConvKernel},
      {"mamba_chunk_size", c.mambaChunkSize},
      {"tie_word_embeddings", c.tieWordEmbeddings},
  };
}

std::map<std::string, TensorKind> hybridc::tensorKinds(const std::vector<PackedWeight> &plan,
                                                       codegen::WeightType modelType) {
  std::map<std::string, TensorKind> kinds;
  std::map<std::string, std::set<std::string>> dtypes;
  for (const PackedWeight &w : plan) {
    llvm::StringRef name(w.tensor);
    name.consume_front("model.");
    if (name.consume_front("layers.")) {
      int64_t layer;
      name.consumeInteger(10, layer);
      name.consume_front(".");
    }
    name.consume_back(".weight");
    name.consume_back(".layer"); // the router's
    // (Shape, element and scales do not depend on the packing.)
    const codegen::StoredWeight stored = codegen::storedWeight(w.layout, modelType, {});
    // The embedding table read as a matmul: the tied lm_head.
    std::string kind = name == "embed_tokens" && stored.shape == codegen::WeightShape::Linear
                           ? "lm_head (tied to embed_tokens)"
                           : name.str();
    TensorKind &k = kinds[kind];
    k.bytes += w.bytes;
    if (stored.scales)
      continue; // a matrix's block scales: its bytes, not a tensor of its own
    ++k.tensors;
    dtypes[kind].insert(codegen::weightTypeName(stored.element));
  }
  for (auto &[kind, set] : dtypes)
    kinds[kind].dtype = llvm::join(set, ",");
  return kinds;
}

void hybridc::appendPassNames(OpPassManager &pm, std::vector<std::string> &names) {
  // hybridc's pipelines are flat (module passes only), so the passes are
  // the top-level ones.
  for (Pass &p : pm.getPasses())
    names.push_back(p.getArgument().str());
}

std::string hybridc::pipelineText(OpPassManager &pm) {
  std::string text;
  llvm::raw_string_ostream os(text);
  pm.printAsTextualPipeline(os);
  return text;
}
