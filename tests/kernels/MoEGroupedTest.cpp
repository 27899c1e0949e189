//===- MoEGroupedTest.cpp - moe_expert_tiles + moe_combine ------------------===//
//
// The two prefill MoE kernels together, fed a bucketing computed here (a
// plain stable sort of the (token, slot) pairs by expert, tiles padded with
// gate-0 rows), against the per-token mixture computed in double.
//
//===----------------------------------------------------------------------===//
#include "MoEReference.h"

#include <numeric>

using namespace hybridc::codegen;
using namespace hybridc::test;

namespace {

using Case = ExpertShape;

/// How the router's picks are drawn.
enum class Routing { Random, OneExpertForAll, SkipOddExperts };

std::vector<int32_t> route(int T, const Case &c, Routing how, uint32_t seed) {
  std::vector<int32_t> idx(size_t(T) * c.K);
  std::mt19937 rng(seed);
  for (int t = 0; t < T; ++t) {
    std::vector<int32_t> pool;
    for (int e = 0; e < c.E; ++e)
      if (how != Routing::SkipOddExperts || e % 2 == 0 || int(pool.size()) < c.K)
        pool.push_back(e);
    std::shuffle(pool.begin(), pool.end(), rng);
    if (how == Routing::OneExpertForAll) { // expert 0 in every token's slot 0
      auto it = std::find(pool.begin(), pool.end(), 0);
      std::iter_swap(pool.begin(), it);
    }
    std::copy(pool.begin(), pool.begin() + c.K, idx.begin() + size_t(t) * c.K);
  }
  return idx;
}

struct Grouping {
  std::vector<int32_t> rowToken, tileExpert, rowOf;
  std::vector<float> rowGate;
};

Grouping group(int T, const Case &c, const std::vector<int32_t> &idx,
               const std::vector<float> &gates, int TT) {
  std::vector<int> pairs(size_t(T) * c.K);
  std::iota(pairs.begin(), pairs.end(), 0);
  std::stable_sort(pairs.begin(), pairs.end(), [&](int a, int b) { return idx[a] < idx[b]; });
  Grouping g;
  g.rowOf.assign(pairs.size(), -1);
  for (size_t p = 0; p < pairs.size();) {
    int e = idx[pairs[p]];
    size_t end = p;
    while (end < pairs.size() && idx[pairs[end]] == e)
      ++end;
    for (size_t q = p; q < end; ++q) {
      g.rowOf[pairs[q]] = int32_t(g.rowToken.size());
      g.rowToken.push_back(pairs[q] / c.K);
      g.rowGate.push_back(gates[pairs[q]]);
    }
    while (g.rowToken.size() % TT) { // pad the expert's last tile
      g.rowToken.push_back(0);
      g.rowGate.push_back(0.0f);
    }
    g.tileExpert.resize(g.rowToken.size() / TT, e);
    p = end;
  }
  return g;
}

// tile: kMoeTileRows (prefill) or kMoeBatchTileRows (decode_batch).
void run(const std::string &targetName, WeightType type, const Case &c, Routing how,
         int tile = kMoeTileRows) {
  SCOPED_TRACE(targetName + " " + weightTypeName(type) + " TILE=" + std::to_string(tile) +
               " H=" + std::to_string(c.H) + " I=" + std::to_string(c.I) +
               " E=" + std::to_string(c.E) + " K=" + std::to_string(c.K) +
               " routing=" + std::to_string(int(how)));
  TargetSpec target = testTarget(targetName);
  KernelSpec tiles;
  tiles.kind = "moe_expert_tiles";
  tiles.symbol = "test_moe_expert_tiles";
  tiles.sizes = {{"H", c.H}, {"I", c.I}, {"E", c.E}, {"TILE", tile}};
  tiles.weightType = type;
  BuiltKernel kt = buildJit(tiles, target);
  ASSERT_EQ(kt.buffers.size(), isBlockQuantized(type) ? 8u : 6u);
  KernelSpec combine;
  combine.kind = "moe_combine";
  combine.symbol = "test_moe_combine";
  combine.sizes = {{"H", c.H}, {"K", c.K}};
  BuiltKernel kc = buildJit(combine, target);
  ASSERT_EQ(kc.buffers.size(), 2u);

  const LinearPacking packing = linearPacking(target, type);
  ExpertWeights w(c, packing, type, 81 + c.H);

  for (int T : testTokenCounts()) {
    SCOPED_TRACE("T=" + std::to_string(T));
    std::vector<float> f = randomVector(size_t(T) * c.H, 83 + T);
    std::vector<float> gates = randomVector(size_t(T) * c.K, 84 + T, 0.0f, 1.0f);
    std::vector<int32_t> idx = route(T, c, how, 85 + T);
    Grouping g = group(T, c, idx, gates, tile);
    const int R = int(g.rowToken.size());

    Halide::Buffer<float> fBuf = bufferFrom(f, {T, c.H});
    Halide::Buffer<int32_t> tokBuf = bufferFrom(g.rowToken, {R});
    Halide::Buffer<float> gateBuf = bufferFrom(g.rowGate, {R});
    Halide::Buffer<int32_t> expBuf = bufferFrom(g.tileExpert, {int(g.tileExpert.size())});
    kt.buffers[0].set(fBuf);
    kt.buffers[1].set(tokBuf);
    kt.buffers[2].set(gateBuf);
    kt.buffers[3].set(expBuf);
    std::vector<Halide::Buffer<>> weights = w.arguments();
    for (size_t a = 0; a < weights.size(); ++a)
      kt.buffers[4 + a].set(weights[a]);
    Halide::Buffer<float> y = makeBuffer<float>({R, c.H});
    kt.pipeline.realize(y);

    Halide::Buffer<int32_t> rowOfBuf = bufferFrom(g.rowOf, {T, c.K});
    kc.buffers[0].set(y);
    kc.buffers[1].set(rowOfBuf);
    Halide::Buffer<float> out = makeBuffer<float>({T, c.H});
    kc.pipeline.realize(out);

    EXPECT_TRUE(closeRel(toVector(out),
                         moeReference(c, w, T, f, idx, gates, matmulInputsOf(packing, type)),
                         moeTolerance(matmulInputsOf(packing, type))));
  }
}

const std::vector<Case> kCases = {
    {7, 3, 5, 3},    // odd everything, all smaller than a vector
    {40, 21, 6, 2},  // partial blocks in both matmuls, I not a multiple of L
    {48, 40, 4, 4},  // K = E: every expert gets every token
};

class MoEGroupedTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MoEGroupedTest, RandomRoutingF32) {
  for (const Case &c : kCases)
    run(GetParam(), WeightType::F32, c, Routing::Random);
}
TEST_P(MoEGroupedTest, OneExpertTakesEveryToken) {
  run(GetParam(), WeightType::F32, kCases[1], Routing::OneExpertForAll);
}
TEST_P(MoEGroupedTest, ExpertsWithNoToken) {
  run(GetParam(), WeightType::F32, {33, 17, 9, 2}, Routing::SkipOddExperts);
}
// bf16 weights: on x86-64-avx512-bf16 the vdpbf16ps path (activations
// rounded to bf16), elsewhere widened to f32; every routing case either way.
TEST_P(MoEGroupedTest, RandomRoutingBF16) {
  for (const Case &c : kCases)
    run(GetParam(), WeightType::BF16, c, Routing::Random);
}
TEST_P(MoEGroupedTest, OneExpertTakesEveryTokenBF16) {
  run(GetParam(), WeightType::BF16, kCases[1], Routing::OneExpertForAll);
}
TEST_P(MoEGroupedTest, ExpertsWithNoTokenBF16) {
  run(GetParam(), WeightType::BF16, {33, 17, 9, 2}, Routing::SkipOddExperts);
}

// The batch driver's shorter tile, every weight type.
TEST_P(MoEGroupedTest, BatchTileEveryWeightType) {
  for (WeightType type : {WeightType::F32, WeightType::BF16, WeightType::INT8, WeightType::INT4})
    for (const Case &c : kCases)
      run(GetParam(), type, c, Routing::Random, kMoeBatchTileRows);
  run(GetParam(), WeightType::F32, kCases[1], Routing::OneExpertForAll, kMoeBatchTileRows);
}

// int8 weights (vpdpbusd with VNNI, else vpmaddwd; activations quantized
// per block), every routing.
class MoEGroupedInt8 : public MoEGroupedTest {};
TEST_P(MoEGroupedInt8, RandomRouting) {
  for (const Case &c : kCases)
    run(GetParam(), WeightType::INT8, c, Routing::Random);
  run(GetParam(), WeightType::INT8, {96, 70, 6, 3}, Routing::Random);
}
TEST_P(MoEGroupedInt8, OneExpertTakesEveryToken) {
  run(GetParam(), WeightType::INT8, kCases[1], Routing::OneExpertForAll);
}
TEST_P(MoEGroupedInt8, ExpertsWithNoToken) {
  run(GetParam(), WeightType::INT8, {33, 17, 9, 2}, Routing::SkipOddExperts);
}
INSTANTIATE_TEST_SUITE_P(Targets, MoEGroupedInt8, ::testing::ValuesIn(testTargetNames()));

// int4 weights: the same kernels reading nibble pairs.
class MoEGroupedInt4 : public MoEGroupedInt8 {};
TEST_P(MoEGroupedInt4, RandomRouting) {
  for (const Case &c : kCases)
    run(GetParam(), WeightType::INT4, c, Routing::Random);
  run(GetParam(), WeightType::INT4, {96, 70, 6, 3}, Routing::Random);
}
TEST_P(MoEGroupedInt4, ExpertsWithNoToken) {
  run(GetParam(), WeightType::INT4, {33, 17, 9, 2}, Routing::SkipOddExperts);
}
INSTANTIATE_TEST_SUITE_P(Targets, MoEGroupedInt4, ::testing::ValuesIn(testTargetNames()));

INSTANTIATE_TEST_SUITE_P(Targets, MoEGroupedTest, ::testing::ValuesIn(testTargetNames()));

} // namespace
