//===- ConfigTest.cpp - config.json parsing and its errors ----------------===//
#include "TestFiles.h"

#include "hybridc/Model/ModelConfig.h"

#include <gtest/gtest.h>

using namespace hybridc;
using namespace hybridc::test;

namespace {

std::string goldenConfig() { return readFile(goldenDir() + "/config.json"); }

/// Parses `text`, expecting failure; returns the message.
std::string parseError(const std::string &text) {
  llvm::Expected<ModelConfig> c = parseModelConfig(text, "m/config.json");
  EXPECT_FALSE(static_cast<bool>(c)) << "expected an error";
  return c ? std::string() : errorMessage(c.takeError());
}

TEST(Config, GoldenParsesWithEveryField) {
  llvm::Expected<ModelConfig> c = parseModelConfig(goldenConfig(), "config.json");
  ASSERT_TRUE(static_cast<bool>(c)) << errorMessage(c.takeError());
  EXPECT_EQ(c->hiddenSize, 64);
  EXPECT_EQ(c->numLayers, 4);
  ASSERT_EQ(c->layerTypes.size(), 4u);
  EXPECT_EQ(c->layerTypes[2], LayerKind::Attention);
  EXPECT_EQ(c->countLayers(LayerKind::Mamba), 3);
  EXPECT_EQ(c->numKvHeads, 2);
  EXPECT_EQ(c->headDim, 16);
  EXPECT_EQ(c->numExperts, 8);
  EXPECT_EQ(c->topK, 2);
  EXPECT_EQ(c->mambaHeadDim, 16);
  EXPECT_EQ(c->convDim(), 128 + 2 * 16);
  EXPECT_EQ(c->inProjRows(), 2 * 128 + 2 * 16 + 8);
  EXPECT_DOUBLE_EQ(c->attentionMultiplier, 0.0625);
  EXPECT_DOUBLE_EQ(c->logitsScaling, 1.5);
  EXPECT_DOUBLE_EQ(c->rmsNormEps, 1e-5);
  EXPECT_TRUE(c->tieWordEmbeddings);
}

TEST(Config, HuggingFaceDefaultsApplyToAbsentFields) {
  std::string text = goldenConfig();
  for (const char *field : {"\"num_key_value_heads\": 2,", "\"rms_norm_eps\": 1e-05,",
                            "\"mamba_d_head\": 16,", "\"tie_word_embeddings\": true,"})
    text = replaceOnce(text, field, "");
  llvm::Expected<ModelConfig> c = parseModelConfig(text, "config.json");
  ASSERT_TRUE(static_cast<bool>(c)) << errorMessage(c.takeError());
  EXPECT_EQ(c->numKvHeads, 4);      // None -> num_attention_heads
  EXPECT_DOUBLE_EQ(c->rmsNormEps, 1e-6);
  EXPECT_EQ(c->mambaHeadDim, 16);   // "auto" -> expand * hidden / heads
  EXPECT_FALSE(c->tieWordEmbeddings);
}

TEST(Config, LayersBlockTypeIsAnAlias) {
  std::string text = replaceOnce(goldenConfig(), "\"layer_types\"", "\"layers_block_type\"");
  llvm::Expected<ModelConfig> c = parseModelConfig(text, "config.json");
  ASSERT_TRUE(static_cast<bool>(c)) << errorMessage(c.takeError());
  EXPECT_EQ(c->layerTypes[2], LayerKind::Attention);
}

TEST(Config, NotJson) {
  std::string msg = parseError("{\"hidden_size\": 64,");
  EXPECT_NE(msg.find("m/config.json: not valid JSON"), std::string::npos) << msg;
}

TEST(Config, MissingRequiredField) {
  std::string msg = parseError(replaceOnce(goldenConfig(), "\"hidden_size\": 64,", ""));
  EXPECT_NE(msg.find("m/config.json: field 'hidden_size': missing"), std::string::npos)
      << msg;
}

TEST(Config, MalformedField) {
  std::string msg = parseError(
      replaceOnce(goldenConfig(), "\"mamba_d_state\": 16", "\"mamba_d_state\": \"16\""));
  EXPECT_NE(msg.find("field 'mamba_d_state': expected an integer"), std::string::npos)
      << msg;
}

TEST(Config, WrongModelType) {
  std::string msg = parseError(replaceOnce(goldenConfig(), "\"granitemoehybrid\"", "\"llama\""));
  EXPECT_NE(msg.find("field 'model_type'"), std::string::npos) << msg;
}

TEST(Config, RopeIsRejectedAsUnsupported) {
  std::string msg = parseError(replaceOnce(goldenConfig(), "\"nope\"", "\"rope\""));
  EXPECT_NE(msg.find("field 'position_embedding_type': \"rope\" is not supported"),
            std::string::npos)
      << msg;
}

TEST(Config, ExpandOtherThanTwoIsRejected) {
  std::string msg =
      parseError(replaceOnce(goldenConfig(), "\"mamba_expand\": 2", "\"mamba_expand\": 4"));
  EXPECT_NE(msg.find("field 'mamba_expand': only 2 is supported, got 4"), std::string::npos)
      << msg;
}

TEST(Config, KvHeadsMustDivideHeads) {
  std::string msg = parseError(
      replaceOnce(goldenConfig(), "\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3"));
  EXPECT_NE(msg.find("field 'num_key_value_heads': 3 does not divide num_attention_heads 4"),
            std::string::npos)
      << msg;
}

TEST(Config, MambaHeadDimMustMatchInnerSize) {
  std::string msg =
      parseError(replaceOnce(goldenConfig(), "\"mamba_d_head\": 16", "\"mamba_d_head\": 8"));
  EXPECT_NE(msg.find("field 'mamba_d_head'"), std::string::npos) << msg;
}

TEST(Config, GroupsMustDivideMambaHeads) {
  std::string msg =
      parseError(replaceOnce(goldenConfig(), "\"mamba_n_groups\": 1", "\"mamba_n_groups\": 3"));
  EXPECT_NE(msg.find("field 'mamba_n_groups': 3 does not divide mamba_n_heads 8"),
            std::string::npos)
      << msg;
}

TEST(Config, TopKMustNotExceedExperts) {
  std::string msg = parseError(
      replaceOnce(goldenConfig(), "\"num_experts_per_tok\": 2", "\"num_experts_per_tok\": 9"));
  EXPECT_NE(msg.find("field 'num_experts_per_tok': must be in [1, num_local_experts = 8]"),
            std::string::npos)
      << msg;
}

TEST(Config, LayerTypesLengthMustMatchLayerCount) {
  std::string msg = parseError(
      replaceOnce(goldenConfig(), "\"num_hidden_layers\": 4", "\"num_hidden_layers\": 5"));
  EXPECT_NE(msg.find("field 'layer_types': has 4 entries but num_hidden_layers is 5"),
            std::string::npos)
      << msg;
}

TEST(Config, UnknownLayerType) {
  std::string msg = parseError(replaceOnce(goldenConfig(), "\"attention\",", "\"mlp\","));
  EXPECT_NE(msg.find("field 'layer_types': entry 2"), std::string::npos) << msg;
}

TEST(Config, NonPositiveSize) {
  std::string msg =
      parseError(replaceOnce(goldenConfig(), "\"vocab_size\": 512", "\"vocab_size\": 0"));
  EXPECT_NE(msg.find("field 'vocab_size': must be positive"), std::string::npos) << msg;
}

// Sizes are kernel extents and bound token ids, both 32-bit: a larger one
// is refused by name (it used to overflow the model's work counts: found
// by the config fuzz target, tests/fuzz/corpus/config).
TEST(Config, SizeBeyondThirtyTwoBitsIsRejected) {
  std::string msg = parseError(
      replaceOnce(goldenConfig(), "\"vocab_size\": 512", "\"vocab_size\": 8742050752483615664"));
  EXPECT_NE(msg.find("field 'vocab_size': must be at most 2147483647 (kernel extents and token "
                     "ids are 32-bit), got 8742050752483615664"),
            std::string::npos)
      << msg;
  msg = parseError(
      replaceOnce(goldenConfig(), "\"num_local_experts\": 8", "\"num_local_experts\": 4294967296"));
  EXPECT_NE(msg.find("field 'num_local_experts': must be in [0, 2147483647]"), std::string::npos)
      << msg;
}

// The "auto" Mamba head size is derived before validation: from a size out
// of range it is not derived at all (it used to overflow: config fuzz target).
TEST(Config, AutoMambaHeadDimFromAHugeHiddenSizeIsRejectedByName) {
  std::string text = replaceOnce(goldenConfig(), "\"mamba_d_head\": 16", "\"mamba_d_head\": \"auto\"");
  text = replaceOnce(text, "\"hidden_size\": 64", "\"hidden_size\": 8453020034946098072");
  std::string msg = parseError(text);
  EXPECT_NE(msg.find("field 'hidden_size': must be at most 2147483647"), std::string::npos) << msg;
}

TEST(Config, LayerCountIsBoundedBeforeTheLayerListIsSized) {
  std::string msg = parseError(replaceOnce(
      goldenConfig(), "\"num_hidden_layers\": 4", "\"num_hidden_layers\": 4000000000000"));
  EXPECT_NE(msg.find("field 'num_hidden_layers': must be at most 65536, got 4000000000000"),
            std::string::npos)
      << msg;
}

TEST(Config, DerivedDimensionsMustFitThirtyTwoBits) {
  // 65536 heads of 65536: q_proj would have 2^32 rows.
  std::string text = replaceOnce(goldenConfig(), "\"num_attention_heads\": 4",
                                 "\"num_attention_heads\": 65536, \"head_dim\": 65536");
  text = replaceOnce(text, "\"num_key_value_heads\": 2", "\"num_key_value_heads\": 65536");
  std::string msg = parseError(text);
  EXPECT_NE(msg.find("field 'head_dim': num_attention_heads * head_dim = 65536 * 65536 must be "
                     "at most 2147483647"),
            std::string::npos)
      << msg;
  // An SSM state of 2^30 per group: in_proj's rows pass 2^31.
  msg = parseError(replaceOnce(goldenConfig(), "\"mamba_d_state\": 16",
                               "\"mamba_d_state\": 1073741824"));
  EXPECT_NE(msg.find("field 'mamba_d_state': the Mamba in_proj has"), std::string::npos) << msg;
}

TEST(Config, UnsupportedActivation) {
  std::string msg =
      parseError(replaceOnce(goldenConfig(), "\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\""));
  EXPECT_NE(msg.find("field 'hidden_act'"), std::string::npos) << msg;
}

TEST(Config, MissingFileNamesThePath) {
  llvm::Expected<ModelConfig> c = loadModelConfig("/nonexistent/config.json");
  ASSERT_FALSE(static_cast<bool>(c));
  std::string msg = errorMessage(c.takeError());
  EXPECT_NE(msg.find("/nonexistent/config.json: cannot read"), std::string::npos) << msg;
}

} // namespace
