//===- ConvTest.cpp - conv1d and conv_state against plain loops ----------===//
#include "TestUtil.h"

#include <cmath>
#include <map>

using namespace hybridc::test;

namespace {

// T is dynamic: one JIT compile per (target, sizes) serves every T.
hybridc::codegen::BuiltKernel &jitCached(const KernelSpec &spec, const std::string &targetName) {
  static std::map<std::string, hybridc::codegen::BuiltKernel> cache;
  std::string key = targetName + "/" + spec.kind;
  for (const auto &[name, value] : spec.sizes)
    key += "/" + name + "=" + std::to_string(value);
  auto it = cache.find(key);
  if (it == cache.end())
    it = cache.emplace(key, buildJit(spec, testTarget(targetName))).first;
  return it->second;
}

struct ConvCase {
  int C, K, T;
  bool bias;
};

// The window concat(state, x) in row-major [K-1+T][C].
std::vector<float> window(const std::vector<float> &state, const std::vector<float> &x) {
  std::vector<float> w(state);
  w.insert(w.end(), x.begin(), x.end());
  return w;
}

void runConv1d(const std::string &targetName, const ConvCase &cc, uint32_t seed) {
  const int C = cc.C, K = cc.K, T = cc.T;
  KernelSpec spec;
  spec.kind = "conv1d";
  spec.symbol = "conv1d_test";
  spec.sizes = {{"C", C}, {"K", K}, {"has_bias", cc.bias ? 1 : 0}};
  auto &kernel = jitCached(spec, targetName);

  auto x = randomVector(size_t(T) * C, seed, -2.f, 2.f);
  auto state = randomVector(size_t(K - 1) * C, seed + 1, -2.f, 2.f);
  auto w = randomVector(size_t(C) * K, seed + 2);
  auto bias = randomVector(size_t(C), seed + 3);

  auto xb = bufferFrom(x, {T, C});
  auto sb = makeBuffer<float>({K - 1, C});
  if (K > 1)
    std::copy(state.begin(), state.end(), sb.data());
  auto wb = bufferFrom(w, {C, K});
  auto bb = bufferFrom(bias, {C});
  kernel.buffers[0].set(xb);
  kernel.buffers[1].set(sb);
  kernel.buffers[2].set(wb);
  if (cc.bias)
    kernel.buffers[3].set(bb);
  auto out = makeBuffer<float>({T, C});
  kernel.pipeline.realize(Halide::Realization({out}));

  auto win = window(K > 1 ? state : std::vector<float>{}, x);
  std::vector<double> want(size_t(T) * C);
  for (int t = 0; t < T; ++t)
    for (int c = 0; c < C; ++c) {
      double s = cc.bias ? bias[c] : 0.0;
      for (int k = 0; k < K; ++k)
        s += double(w[size_t(c) * K + k]) * win[size_t(t + k) * C + c];
      want[size_t(t) * C + c] = s / (1.0 + std::exp(-s));
    }
  EXPECT_TRUE(closeRel(toVector(out), want, kTolF32))
      << targetName << " C=" << C << " K=" << K << " T=" << T << " bias=" << cc.bias;
}

void runConvState(const std::string &targetName, int C, int K, int T, uint32_t seed) {
  KernelSpec spec;
  spec.kind = "conv_state";
  spec.symbol = "conv_state_test";
  spec.sizes = {{"C", C}, {"K", K}};
  auto &kernel = jitCached(spec, targetName);
  auto x = randomVector(size_t(T) * C, seed);
  auto state = randomVector(size_t(K - 1) * C, seed + 1);
  auto xb = bufferFrom(x, {T, C});
  auto sb = bufferFrom(state, {K - 1, C});
  kernel.buffers[0].set(xb);
  kernel.buffers[1].set(sb);
  auto out = makeBuffer<float>({K - 1, C});
  kernel.pipeline.realize(Halide::Realization({out}));

  auto win = window(state, x);
  std::vector<float> want(win.end() - size_t(K - 1) * C, win.end());
  // A copy: exact equality.
  EXPECT_EQ(toVector(out), want) << targetName << " C=" << C << " K=" << K << " T=" << T;
}

} // namespace

// The registry hands both kinds to these builders (same ABI: buffers in order).
TEST(Conv1d, RegistryDispatchesToTheBuilders) {
  auto target = testTarget("x86-64-avx2");
  KernelSpec spec;
  spec.kind = "conv1d";
  spec.symbol = "conv1d_test";
  spec.sizes = {{"C", 8}, {"K", 4}, {"has_bias", 1}};
  EXPECT_EQ(hybridc::codegen::buildKernel(spec, target).arguments().size(),
            hybridc::codegen::buildConv1d(spec, target).arguments().size());
  spec.kind = "conv_state";
  EXPECT_EQ(hybridc::codegen::buildKernel(spec, target).arguments().size(),
            hybridc::codegen::buildConvState(spec, target).arguments().size());
}

TEST(Conv1d, MatchesPlainLoops) {
  const ConvCase cases[] = {{13, 4, 1, true},  {13, 4, 3, false}, {40, 4, 17, true},
                            {64, 4, 64, true}, {7, 2, 5, true},   {33, 3, 2, true},
                            {16, 1, 9, true}};
  uint32_t seed = 100;
  for (const auto &name : testTargetNames())
    for (const auto &cc : cases)
      runConv1d(name, cc, seed += 10);
}

TEST(Conv1d, TokenCountsOfTheSuite) {
  uint32_t seed = 500;
  for (const auto &name : testTargetNames())
    for (int T : testTokenCounts())
      runConv1d(name, {29, 4, T, true}, seed += 10);
}

TEST(ConvState, LastRowsOfTheWindow) {
  uint32_t seed = 900;
  for (const auto &name : testTargetNames())
    for (int T : {1, 2, 3, 4, 17}) {
      runConvState(name, 13, 4, T, seed += 10); // T < K-1, == K-1 and beyond
      runConvState(name, 48, 4, T, seed += 10);
      runConvState(name, 5, 2, T, seed += 10);
    }
}
