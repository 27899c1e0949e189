//===- RmsNormTest.cpp - rms_norm -------------------------------------------===//
#include "TestUtil.h"

using namespace hybridc::codegen;
using namespace hybridc::test;

namespace {

void runRmsNorm(const std::string &targetName, int H, double eps, double scale) {
  SCOPED_TRACE(targetName + " H=" + std::to_string(H));
  TargetSpec target = testTarget(targetName);
  KernelSpec spec;
  spec.kind = "rms_norm";
  spec.symbol = "test_rms_norm";
  spec.sizes = {{"H", H}};
  spec.constants = {{"eps", eps}};
  if (scale != 1.0)
    spec.constants["scale"] = scale;
  BuiltKernel k = buildJit(spec, target);
  ASSERT_EQ(k.buffers.size(), 2u);

  std::vector<float> w = randomVector(size_t(H), 31 + H, 0.5f, 1.5f);
  for (int T : testTokenCounts()) {
    SCOPED_TRACE("T=" + std::to_string(T));
    std::vector<float> x = randomVector(size_t(T) * H, 32 + T, -3.0f, 3.0f);
    Halide::Buffer<float> xBuf = bufferFrom(x, {T, H}), wBuf = bufferFrom(w, {H});
    k.buffers[0].set(xBuf);
    k.buffers[1].set(wBuf);
    Halide::Buffer<float> out = makeBuffer<float>({T, H});
    k.pipeline.realize(out);
    std::vector<double> want(size_t(T) * H);
    for (int t = 0; t < T; ++t) {
      double ss = 0;
      for (int h = 0; h < H; ++h)
        ss += double(x[size_t(t) * H + h]) * x[size_t(t) * H + h];
      double inv = scale / std::sqrt(ss / H + eps);
      for (int h = 0; h < H; ++h)
        want[size_t(t) * H + h] = double(w[h]) * x[size_t(t) * H + h] * inv;
    }
    EXPECT_TRUE(closeRel(toVector(out), want, kTolF32));
  }
}

class RmsNormTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RmsNormTest, OddSizes) {
  runRmsNorm(GetParam(), 7, 1e-6, 1.0);   // tail only (H < 2L)
  runRmsNorm(GetParam(), 45, 1e-5, 1.0);  // vector steps + tail
  runRmsNorm(GetParam(), 64, 1e-5, 0.25); // whole vector steps, output scale
}
TEST_P(RmsNormTest, ModelWidth) { runRmsNorm(GetParam(), 1536, 1e-5, 1.0); }

INSTANTIATE_TEST_SUITE_P(Targets, RmsNormTest, ::testing::ValuesIn(testTargetNames()));

} // namespace
