//===- MoETest.cpp - moe_router and moe_experts -----------------------------===//
#include "MoEReference.h"

#include <numeric>

using namespace hybridc::codegen;
using namespace hybridc::test;

namespace {

//===--- router ---===//

void runRouter(const std::string &targetName, int E, int K, bool ties) {
  SCOPED_TRACE(targetName + " E=" + std::to_string(E) + " K=" + std::to_string(K) +
               (ties ? " ties" : ""));
  TargetSpec target = testTarget(targetName);
  KernelSpec spec;
  spec.kind = "moe_router";
  spec.symbol = "test_moe_router";
  spec.sizes = {{"E", E}, {"K", K}};
  BuiltKernel k = buildJit(spec, target);
  ASSERT_EQ(k.buffers.size(), 1u);

  for (int T : testTokenCounts()) {
    SCOPED_TRACE("T=" + std::to_string(T));
    std::vector<float> logits = randomVector(size_t(T) * E, 61 + T, -4.0f, 4.0f);
    if (ties) // a handful of distinct values: many equal logits per token
      for (float &v : logits)
        v = std::round(v);
    Halide::Buffer<float> lBuf = bufferFrom(logits, {T, E});
    k.buffers[0].set(lBuf);
    Halide::Buffer<int32_t> idx = makeBuffer<int32_t>({T, K});
    Halide::Buffer<float> gates = makeBuffer<float>({T, K});
    k.pipeline.realize(Halide::Realization({idx, gates}));

    std::vector<double> wantGates(size_t(T) * K);
    for (int t = 0; t < T; ++t) {
      const float *row = &logits[size_t(t) * E];
      std::vector<int> order(E);
      std::iota(order.begin(), order.end(), 0);
      // Larger logit first; equal logits: lower expert id first.
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return row[a] > row[b]; });
      double den = 0;
      for (int j = 0; j < K; ++j)
        den += std::exp(double(row[order[j]]) - row[order[0]]);
      for (int j = 0; j < K; ++j) {
        EXPECT_EQ(idx(j, t), order[j]) << "token " << t << " rank " << j;
        wantGates[size_t(t) * K + j] = std::exp(double(row[order[j]]) - row[order[0]]) / den;
      }
    }
    EXPECT_TRUE(closeRel(toVector(gates), wantGates, kTolF32));
  }
}

class MoERouterTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MoERouterTest, TopK) {
  runRouter(GetParam(), 5, 3, false);
  runRouter(GetParam(), 64, 6, false);
}
TEST_P(MoERouterTest, TiesPickLowerIdFirst) { runRouter(GetParam(), 9, 4, true); }
TEST_P(MoERouterTest, KEqualsE) { runRouter(GetParam(), 3, 3, false); }

INSTANTIATE_TEST_SUITE_P(Targets, MoERouterTest, ::testing::ValuesIn(testTargetNames()));

//===--- experts ---===//

void runExperts(const std::string &targetName, WeightType type, const ExpertShape &c) {
  SCOPED_TRACE(targetName + (type == WeightType::BF16 ? " bf16" : " f32") +
               " H=" + std::to_string(c.H) + " I=" + std::to_string(c.I) +
               " E=" + std::to_string(c.E) + " K=" + std::to_string(c.K));
  TargetSpec target = testTarget(targetName);
  KernelSpec spec;
  spec.kind = "moe_experts";
  spec.symbol = "test_moe_experts";
  spec.sizes = {{"H", c.H}, {"I", c.I}, {"E", c.E}, {"K", c.K}};
  spec.weightType = type;
  BuiltKernel k = buildJit(spec, target);
  ASSERT_EQ(k.buffers.size(), isBlockQuantized(type) ? 7u : 5u);
  const LinearPacking packing = linearPacking(target, type);
  ExpertWeights w(c, packing, type, 71 + c.H);

  for (int T : testTokenCounts()) {
    SCOPED_TRACE("T=" + std::to_string(T));
    std::vector<float> f = randomVector(size_t(T) * c.H, 73 + T);
    std::vector<float> gates = randomVector(size_t(T) * c.K, 74 + T, 0.0f, 1.0f);
    // Distinct experts per token, as the router produces.
    std::vector<int32_t> idx(size_t(T) * c.K);
    std::mt19937 rng(75 + T);
    for (int t = 0; t < T; ++t) {
      std::vector<int32_t> perm(c.E);
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      std::copy(perm.begin(), perm.begin() + c.K, idx.begin() + size_t(t) * c.K);
    }
    Halide::Buffer<float> fBuf = bufferFrom(f, {T, c.H}), gBuf = bufferFrom(gates, {T, c.K});
    Halide::Buffer<int32_t> iBuf = bufferFrom(idx, {T, c.K});
    k.buffers[0].set(fBuf);
    k.buffers[1].set(iBuf);
    k.buffers[2].set(gBuf);
    std::vector<Halide::Buffer<>> weights = w.arguments();
    for (size_t a = 0; a < weights.size(); ++a)
      k.buffers[3 + a].set(weights[a]);
    Halide::Buffer<float> out = makeBuffer<float>({T, c.H});
    k.pipeline.realize(out);
    EXPECT_TRUE(closeRel(toVector(out),
                         moeReference(c, w, T, f, idx, gates, matmulInputsOf(packing, type)),
                         moeTolerance(matmulInputsOf(packing, type))));
  }
}

const std::vector<ExpertShape> kExperts = {
    {7, 3, 5, 3},   // odd everything, all smaller than a vector
    {40, 21, 6, 2}, // partial blocks in both matmuls, I not a multiple of L
};

class MoEExpertsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MoEExpertsTest, F32) {
  for (const ExpertShape &c : kExperts)
    runExperts(GetParam(), WeightType::F32, c);
}
TEST_P(MoEExpertsTest, BF16) {
  for (const ExpertShape &c : kExperts)
    runExperts(GetParam(), WeightType::BF16, c);
}
TEST_P(MoEExpertsTest, Int8) {
  for (const ExpertShape &c : kExperts)
    runExperts(GetParam(), WeightType::INT8, c);
  runExperts(GetParam(), WeightType::INT8, {96, 70, 6, 3}); // several scale blocks, a partial one
}
TEST_P(MoEExpertsTest, Int4) {
  for (const ExpertShape &c : kExperts)
    runExperts(GetParam(), WeightType::INT4, c);
  runExperts(GetParam(), WeightType::INT4, {96, 70, 6, 3});
}

INSTANTIATE_TEST_SUITE_P(Targets, MoEExpertsTest, ::testing::ValuesIn(testTargetNames()));

} // namespace
