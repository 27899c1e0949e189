//===- ElementwiseTest.cpp - swiglu and residual_add ------------------------===//
#include "TestUtil.h"

using namespace hybridc::codegen;
using namespace hybridc::test;

namespace {

double silu(double g) { return g / (1.0 + std::exp(-g)); }

void runSwiglu(const std::string &targetName, int S, float range) {
  SCOPED_TRACE(targetName + " S=" + std::to_string(S) + " range=" + std::to_string(range));
  TargetSpec target = testTarget(targetName);
  KernelSpec spec;
  spec.kind = "swiglu";
  spec.symbol = "test_swiglu";
  spec.sizes = {{"S", S}};
  BuiltKernel k = buildJit(spec, target);
  ASSERT_EQ(k.buffers.size(), 1u);
  for (int T : testTokenCounts()) {
    SCOPED_TRACE("T=" + std::to_string(T));
    std::vector<float> u = randomVector(size_t(T) * 2 * S, 41 + T, -range, range);
    Halide::Buffer<float> uBuf = bufferFrom(u, {T, 2 * S});
    k.buffers[0].set(uBuf);
    Halide::Buffer<float> out = makeBuffer<float>({T, S});
    k.pipeline.realize(out);
    std::vector<double> want(size_t(T) * S);
    for (int t = 0; t < T; ++t)
      for (int s = 0; s < S; ++s)
        want[size_t(t) * S + s] =
            silu(u[size_t(t) * 2 * S + s]) * double(u[size_t(t) * 2 * S + S + s]);
    // silu's exp is a vectorizable polynomial (~2^-18 relative error).
    EXPECT_TRUE(closeRel(toVector(out), want, kTolF32));
  }
}

void runResidual(const std::string &targetName, int H, float mult) {
  SCOPED_TRACE(targetName + " H=" + std::to_string(H));
  TargetSpec target = testTarget(targetName);
  KernelSpec spec;
  spec.kind = "residual_add";
  spec.symbol = "test_residual_add";
  spec.sizes = {{"H", H}};
  if (mult != 1.0f)
    spec.constants["multiplier"] = mult;
  BuiltKernel k = buildJit(spec, target);
  ASSERT_EQ(k.buffers.size(), 2u);
  for (int T : testTokenCounts()) {
    SCOPED_TRACE("T=" + std::to_string(T));
    std::vector<float> x = randomVector(size_t(T) * H, 51 + T), b = randomVector(size_t(T) * H, 52);
    Halide::Buffer<float> xBuf = bufferFrom(x, {T, H}), bBuf = bufferFrom(b, {T, H});
    k.buffers[0].set(xBuf);
    k.buffers[1].set(bBuf);
    Halide::Buffer<float> out = makeBuffer<float>({T, H});
    k.pipeline.realize(out);
    std::vector<double> want(x.size());
    for (size_t n = 0; n < x.size(); ++n)
      want[n] = double(x[n]) + double(mult) * b[n];
    EXPECT_TRUE(closeRel(toVector(out), want, 1e-6));
  }
}

class ElementwiseTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ElementwiseTest, Swiglu) {
  runSwiglu(GetParam(), 7, 4.0f);
  runSwiglu(GetParam(), 40, 4.0f);
  runSwiglu(GetParam(), 13, 120.0f); // saturated sigmoid on both sides
}
TEST_P(ElementwiseTest, ResidualAdd) {
  runResidual(GetParam(), 7, 0.22f);
  runResidual(GetParam(), 33, 1.0f);
}

INSTANTIATE_TEST_SUITE_P(Targets, ElementwiseTest, ::testing::ValuesIn(testTargetNames()));

} // namespace
