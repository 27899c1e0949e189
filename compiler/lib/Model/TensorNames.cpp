//===- TensorNames.cpp - the tensors a Granite 4.0 H config implies -------===//
//
// Names and PyTorch-order shapes of docs/model.md. The importer, the
// checkpoint validator and the reference model all derive from this one list.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Model/Checkpoint.h"

using namespace hybridc;

std::string hybridc::lmHeadTensorName(const ModelConfig &c) {
  return c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
}

std::vector<TensorSpec> hybridc::expectedTensors(const ModelConfig &c) {
  std::vector<TensorSpec> specs;
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    specs.push_back({std::move(name), std::move(shape)});
  };
  const int64_t H = c.hiddenSize;
  add("model.embed_tokens.weight", {c.vocabSize, H});
  for (int64_t i = 0; i < c.numLayers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    add(p + "input_layernorm.weight", {H});
    if (c.layerTypes[i] == LayerKind::Mamba) {
      const int64_t dIn = c.mambaInner(), nh = c.mambaHeads;
      add(p + "mamba.in_proj.weight", {c.inProjRows(), H});
      if (c.mambaProjBias)
        add(p + "mamba.in_proj.bias", {c.inProjRows()});
      add(p + "mamba.conv1d.weight", {c.convDim(), 1, c.mambaConvKernel});
      if (c.mambaConvBias)
        add(p + "mamba.conv1d.bias", {c.convDim()});
      add(p + "mamba.dt_bias", {nh});
      add(p + "mamba.A_log", {nh});
      add(p + "mamba.D", {nh});
      add(p + "mamba.norm.weight", {dIn});
      add(p + "mamba.out_proj.weight", {H, dIn});
      if (c.mambaProjBias)
        add(p + "mamba.out_proj.bias", {H});
    } else {
      const int64_t q = c.qDim(), kv = c.kvDim();
      for (auto [proj, rows] : {std::pair<const char *, int64_t>{"q_proj", q},
                                {"k_proj", kv},
                                {"v_proj", kv}}) {
        add(p + "self_attn." + proj + ".weight", {rows, H});
        if (c.attentionBias)
          add(p + "self_attn." + proj + ".bias", {rows});
      }
      add(p + "self_attn.o_proj.weight", {H, q});
      if (c.attentionBias)
        add(p + "self_attn.o_proj.bias", {H});
    }
    add(p + "post_attention_layernorm.weight", {H});
    if (c.numExperts > 0) {
      const int64_t E = c.numExperts, I = c.intermediateSize;
      add(p + "block_sparse_moe.router.layer.weight", {E, H});
      add(p + "block_sparse_moe.input_linear.weight", {E, 2 * I, H});
      add(p + "block_sparse_moe.output_linear.weight", {E, H, I});
    }
    const int64_t S = c.sharedIntermediateSize;
    add(p + "shared_mlp.input_linear.weight", {2 * S, H});
    add(p + "shared_mlp.output_linear.weight", {H, S});
  }
  add("model.norm.weight", {H});
  if (!c.tieWordEmbeddings)
    add("lm_head.weight", {c.vocabSize, H});
  return specs;
}
