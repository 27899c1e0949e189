//===- EmbedTest.cpp - embed ------------------------------------------------===//
#include "TestUtil.h"

using namespace hybridc::codegen;
using namespace hybridc::test;

namespace {

void runEmbed(const std::string &targetName, WeightType type, int V, int H, float mult) {
  SCOPED_TRACE(targetName + " V=" + std::to_string(V) + " H=" + std::to_string(H) +
               (type == WeightType::BF16 ? " bf16" : " f32"));
  TargetSpec target = testTarget(targetName);
  KernelSpec spec;
  spec.kind = "embed";
  spec.symbol = "test_embed";
  spec.sizes = {{"V", V}, {"H", H}};
  spec.constants = {{"multiplier", mult}};
  spec.weightType = type;
  BuiltKernel k = buildJit(spec, target);
  ASSERT_EQ(k.buffers.size(), 2u);

  std::vector<float> table = randomVector(size_t(V) * H, 21 + H);
  std::vector<uint8_t> bytes;
  packPlain(table.data(), int64_t(table.size()), type, bytes);
  Halide::Buffer<> tBuf = bufferFromBytes(bytes, halideType(type), {V, H});
  std::vector<float> seen = roundedTo(table, type);

  for (int T : testTokenCounts()) {
    SCOPED_TRACE("T=" + std::to_string(T));
    std::vector<int32_t> tokens = randomInts(size_t(T), 22 + T, 0, V - 1);
    if (T >= 3) { // out-of-range ids are clamped, never read out of bounds
      tokens[0] = -5;
      tokens[2] = V + 3;
    }
    Halide::Buffer<int32_t> tokBuf = bufferFrom(tokens, {T});
    k.buffers[0].set(tokBuf);
    k.buffers[1].set(tBuf);
    Halide::Buffer<float> out = makeBuffer<float>({T, H});
    k.pipeline.realize(out);
    std::vector<double> want(size_t(T) * H);
    for (int t = 0; t < T; ++t) {
      int row = std::min(std::max(tokens[t], 0), V - 1);
      for (int h = 0; h < H; ++h)
        want[size_t(t) * H + h] = double(seen[size_t(row) * H + h]) * mult;
    }
    EXPECT_TRUE(closeRel(toVector(out), want, 1e-6));
  }
}

class EmbedTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EmbedTest, F32) {
  runEmbed(GetParam(), WeightType::F32, 11, 7, 12.0f);
  runEmbed(GetParam(), WeightType::F32, 50, 40, 1.0f);
}
TEST_P(EmbedTest, BF16) { runEmbed(GetParam(), WeightType::BF16, 11, 37, 3.5f); }

INSTANTIATE_TEST_SUITE_P(Targets, EmbedTest, ::testing::ValuesIn(testTargetNames()));

} // namespace
