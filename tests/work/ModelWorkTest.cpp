//===- ModelWorkTest.cpp - per-token work counted from the config ---------===//
#include "hybridc/Model/ModelWork.h"

#include <gtest/gtest.h>

using namespace hybridc;

namespace {

// The `small` preset of hybridc-make-model (tests/tools/make-model/MakeModel.cpp),
// spelled out field by field: generating it takes 1.7 GB.
ModelConfig smallPreset() {
  ModelConfig c;
  c.hiddenSize = 768;
  c.numLayers = 12;
  c.vocabSize = 32000;
  c.layerTypes.assign(12, LayerKind::Mamba);
  c.layerTypes[5] = c.layerTypes[11] = LayerKind::Attention;
  c.numHeads = 12;
  c.numKvHeads = 4;
  c.headDim = 64;
  c.numExperts = 32;
  c.topK = 4;
  c.intermediateSize = 384;
  c.sharedIntermediateSize = 1024;
  c.mambaHeads = 24;
  c.mambaHeadDim = 64;
  c.mambaStateSize = 128;
  c.mambaGroups = 1;
  c.mambaConvKernel = 4;
  c.mambaExpand = 2;
  c.tieWordEmbeddings = true;
  return c;
}

ModelWork workOf(const ModelConfig &c, llvm::StringRef dtype) {
  llvm::Expected<ModelWork> w = computeModelWork(c, dtype);
  EXPECT_TRUE(static_cast<bool>(w)) << (w ? "" : llvm::toString(w.takeError()));
  return w ? *w : ModelWork{};
}

TEST(ModelWork, SmallPresetMatchesTheDesignNumbers) {
  ModelWork w = workOf(smallPreset(), "bf16");
  // 111.8 M multiply-adds per prefill token (lm_head apart) and 136.3 M
  // weights per decode token (top-4 experts, lm_head included).
  EXPECT_NEAR(w.matmulMacsPerToken / 1e6, 111.8, 0.1);
  EXPECT_NEAR(w.decodeWeightsPerToken / 1e6, 136.3, 0.1);
  EXPECT_EQ(w.lmHeadMacsPerToken, 32000 * 768);
  EXPECT_EQ(w.bitsPerWeight, 16);
  EXPECT_EQ(w.decodeWeightBytesPerToken, 2 * w.decodeWeightsPerToken);
  // 2 attention layers x (q·k + p·v) x 12 heads x 64.
  EXPECT_EQ(w.attentionMacsPerPosition, 2 * 2 * 12 * 64);
  // 2 attention layers x (K + V) x 4 KV heads x 64 x 4 bytes.
  EXPECT_EQ(w.decodeKvBytesPerPosition, 2 * 2 * 256 * 4);
}

// The golden tiny model (tests/data/golden/tiny-seed1), counted by hand:
// H = 64, layers mamba, mamba, attention, mamba; 4 query heads / 2 KV heads
// of 16; 8 experts top-2 of width 32, shared MLP 64; mamba 8 heads x 16,
// d_state 16, 1 group, conv 4 (d_inner 128, conv_dim 128 + 2·16 = 160,
// in_proj rows 128 + 160 + 8 = 296); vocab 512.
TEST(ModelWork, GoldenTinyCountedByHand) {
  llvm::Expected<ModelConfig> c =
      loadModelConfig(HYBRIDC_TEST_DATA_DIR "/golden/tiny-seed1/config.json");
  ASSERT_TRUE(static_cast<bool>(c)) << llvm::toString(c.takeError());
  ModelWork w = workOf(*c, "f32");

  // mamba:     in_proj 296·64 = 18944 + out_proj 64·128 = 8192 -> 27136, x3 = 81408
  // attention: q 64·64 + k 32·64 + v 32·64 + o 64·64          -> 12288, x1
  // ffn:       router 8·64 = 512 + 2 experts x 3·32·64 = 12288
  //            + shared 3·64·64 = 12288                        -> 25088, x4 = 100352
  // total 81408 + 12288 + 100352 = 194048
  EXPECT_EQ(w.matmulMacsPerToken, 194048);
  // lm_head (tied): 512·64
  EXPECT_EQ(w.lmHeadMacsPerToken, 32768);
  EXPECT_EQ(w.decodeWeightsPerToken, 194048 + 32768);
  EXPECT_EQ(w.decodeWeightBytesPerToken, 4 * 226816);
  // one attention layer: (q·k + p·v) x 4 heads x 16
  EXPECT_EQ(w.attentionMacsPerPosition, 128);
  // per mamba layer: 5 x 8·16·16 = 10240 (state) + 2 x 160·4 = 1280 (conv), x3
  EXPECT_EQ(w.scanFlopsPerToken, 34560);
  // per mamba layer: (8·16·16 ssm + 3·160 conv) floats x 4 B = 10112, x3, read + written
  EXPECT_EQ(w.decodeStateBytesPerToken, 2 * 3 * 10112);
  // one attention layer: (K + V) x 32 floats x 4 B
  EXPECT_EQ(w.decodeKvBytesPerPosition, 256);

  // 3 tokens from position 0 attend to 1 + 2 + 3 = 6 positions; lm_head once:
  // 2·(3·194048 + 32768 + 6·128) + 3·34560
  EXPECT_DOUBLE_EQ(w.prefillFlops(3, 0, 1), 1335040.0);
  // after 5 cached tokens: 3·5 + 6 = 21 pairs
  EXPECT_DOUBLE_EQ(w.prefillFlops(3, 5, 1), 1335040.0 + 2 * 15 * 128);
  // 907264 weight bytes + 60672 state bytes + 10 positions x 256
  EXPECT_DOUBLE_EQ(w.decodeBytes(10), 970496.0);
}

// decode_batch on the golden tiny model: 4 MoE layers of 8 experts, top-2,
// each expert 3·32·64 f32 weights = 24576 bytes.
TEST(ModelWork, GoldenTinyBatchReadsTheSharedWeightsOnce) {
  llvm::Expected<ModelConfig> c =
      loadModelConfig(HYBRIDC_TEST_DATA_DIR "/golden/tiny-seed1/config.json");
  ASSERT_TRUE(static_cast<bool>(c)) << llvm::toString(c.takeError());
  ModelWork w = workOf(*c, "f32");
  EXPECT_EQ(w.moeLayers, 4);
  EXPECT_EQ(w.numExperts, 8);
  EXPECT_EQ(w.expertsPerToken, 2);
  EXPECT_EQ(w.expertWeightBytes, 24576);
  // One stream picks 2 of 8; two independent ones 8·(1 - (6/8)^2) = 3.5.
  EXPECT_DOUBLE_EQ(w.expectedDistinctExperts(1), 2.0);
  EXPECT_DOUBLE_EQ(w.expectedDistinctExperts(2), 3.5);
  EXPECT_NEAR(w.expectedDistinctExperts(1000), 8.0, 1e-9);
  // One stream reads what a decode step reads.
  EXPECT_DOUBLE_EQ(w.batchDecodeBytes(1, 10), w.decodeBytes(10));
  // Two: the non-expert weights (907264 - 4·2·24576 = 710656) once, 3.5
  // experts per layer (4·3.5·24576 = 344064), two states and KV reads.
  EXPECT_DOUBLE_EQ(w.batchDecodeBytes(2, 10), 710656.0 + 344064.0 + 2 * (60672.0 + 2560.0));
}

TEST(ModelWork, Int8ExpertBytesCarryTheirScales) {
  ModelWork int8 = workOf(smallPreset(), "int8"), int4 = workOf(smallPreset(), "int4");
  EXPECT_EQ(int8.expertWeightBytes, 3 * 384 * 768 + 3 * 384 * 768 / 32 * 4);
  EXPECT_EQ(int4.expertWeightBytes, 3 * 384 * 768 / 2 + 3 * 384 * 768 / 32 * 4);
  // A dense model has no experts to share.
  ModelConfig dense = smallPreset();
  dense.numExperts = 0;
  dense.topK = 0;
  ModelWork d = workOf(dense, "bf16");
  EXPECT_EQ(d.moeLayers, 0);
  EXPECT_DOUBLE_EQ(d.batchDecodeBytes(8, 1),
                   d.decodeWeightBytesPerToken + 8 * d.decodeBytes(1) -
                       8 * d.decodeWeightBytesPerToken);
}

TEST(ModelWork, Bf16HalvesTheWeightBytesOnly) {
  ModelWork f32 = workOf(smallPreset(), "f32"), bf16 = workOf(smallPreset(), "bf16");
  EXPECT_EQ(f32.decodeWeightBytesPerToken, 2 * bf16.decodeWeightBytesPerToken);
  EXPECT_EQ(f32.decodeStateBytesPerToken, bf16.decodeStateBytesPerToken);
  EXPECT_EQ(f32.decodeKvBytesPerPosition, bf16.decodeKvBytesPerPosition);
}

TEST(ModelWork, DenseModelHasNoRouterOrExperts) {
  ModelConfig c = smallPreset();
  ModelWork moe = workOf(c, "f32");
  c.numExperts = 0;
  c.topK = 0;
  ModelWork dense = workOf(c, "f32");
  EXPECT_EQ(moe.matmulMacsPerToken - dense.matmulMacsPerToken,
            12 * (32 * 768 + 4 * 3 * 384 * 768));
}

TEST(ModelWork, Int8ReadsAByteAndAScaleShare) {
  // One byte per weight plus an f32 scale per 32: 36 bytes per 32 weights.
  ModelWork f32 = workOf(smallPreset(), "f32"), int8 = workOf(smallPreset(), "int8");
  EXPECT_EQ(int8.decodeWeightBytesPerToken,
            f32.decodeWeightsPerToken + f32.decodeWeightsPerToken / 32 * 4);
  EXPECT_EQ(f32.decodeStateBytesPerToken, int8.decodeStateBytesPerToken);
  EXPECT_EQ(f32.matmulMacsPerToken, int8.matmulMacsPerToken);
}

TEST(ModelWork, Int4ReadsHalfAByteAndAScaleShare) {
  // Half a byte per weight plus an f32 scale per 32: 20 bytes per 32 weights,
  // except lm_head (32000 x 768) and the two attention layers' K and V
  // projections (256 x 768 each), a byte per weight.
  ModelWork f32 = workOf(smallPreset(), "f32"), int4 = workOf(smallPreset(), "int4");
  EXPECT_EQ(int4.bitsPerWeight, 4);
  const int64_t int8Kept = 32000 * 768 + 2 * 2 * 256 * 768;
  EXPECT_EQ(int4.decodeWeightBytesPerToken, f32.decodeWeightsPerToken / 2 + int8Kept / 2 +
                                                f32.decodeWeightsPerToken / 32 * 4);
  EXPECT_EQ(f32.decodeStateBytesPerToken, int4.decodeStateBytesPerToken);
}

TEST(ModelWork, UnknownDtypeIsNamed) {
  llvm::Expected<ModelWork> w = computeModelWork(smallPreset(), "int2");
  ASSERT_FALSE(static_cast<bool>(w));
  EXPECT_EQ(llvm::toString(w.takeError()),
            "model work: unknown weights dtype 'int2' (f32, bf16, int8 or int4)");
}

} // namespace

// The `htiny` preset (the Granite 4.0 H Tiny shape), counted by hand:
// H = 1536, 36 mamba + 4 attention layers, 12 / 4 heads of 128, 64 experts
// top-6 of width 512, shared MLP 1024, mamba 48 heads x 64, d_state 128,
// vocab 100352.
//   mamba:     in_proj 1536 x (2·3072 + 2·128 + 48) + out_proj 3072 x 1536
//              = 9,904,128 + 4,718,592 = 14,622,720 (x 36)
//   attention: q, o 1536 x 1536, k, v 1536 x 512 = 6,291,456 (x 4)
//   MoE:       router 1536 x 64 + 6 experts x 3 x 512 x 1536 + shared
//              3 x 1024 x 1536 = 98,304 + 14,155,776 + 4,718,592 (x 40)
//   lm_head:   1536 x 100352 = 154,140,672
TEST(ModelWork, HtinyPresetCountedByHand) {
  ModelConfig c = smallPreset();
  c.hiddenSize = 1536;
  c.numLayers = 40;
  c.vocabSize = 100352;
  c.layerTypes.assign(40, LayerKind::Mamba);
  for (int i : {5, 15, 25, 35})
    c.layerTypes[i] = LayerKind::Attention;
  c.headDim = 128;
  c.numExperts = 64;
  c.topK = 6;
  c.intermediateSize = 512;
  c.mambaHeads = 48;
  ModelWork w = workOf(c, "bf16");
  const int64_t mamba = 36 * int64_t(14622720), attention = 4 * int64_t(6291456),
                moe = 40 * int64_t(98304 + 14155776 + 4718592), lmHead = 154140672;
  EXPECT_EQ(w.matmulMacsPerToken, mamba + attention + moe);
  EXPECT_EQ(w.lmHeadMacsPerToken, lmHead);
  EXPECT_EQ(w.decodeWeightsPerToken, mamba + attention + moe + lmHead);
}
