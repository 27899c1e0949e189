//===- GatedRmsNormTest.cpp - gated_rms_norm against plain loops ---------===//
#include "TestUtil.h"

#include <cmath>
#include <map>

using namespace hybridc::test;

namespace {

// T is dynamic: one JIT compile per (target, sizes) serves every T.
hybridc::codegen::BuiltKernel &jitCached(const KernelSpec &spec, const std::string &targetName) {
  static std::map<std::string, hybridc::codegen::BuiltKernel> cache;
  std::string key = targetName;
  for (const auto &[name, value] : spec.sizes)
    key += "/" + name + "=" + std::to_string(value);
  auto it = cache.find(key);
  if (it == cache.end())
    it = cache.emplace(key, buildJit(spec, testTarget(targetName))).first;
  return it->second;
}

void runGatedNorm(const std::string &targetName, int D, int GS, int T, uint32_t seed) {
  const float eps = 1e-5f;
  KernelSpec spec;
  spec.kind = "gated_rms_norm";
  spec.symbol = "gated_rms_norm_test";
  spec.sizes = {{"D", D}, {"GS", GS}};
  spec.constants = {{"eps", eps}};
  auto &kernel = jitCached(spec, targetName);

  auto y = randomVector(size_t(T) * D, seed, -3.f, 3.f);
  auto z = randomVector(size_t(T) * D, seed + 1, -4.f, 4.f);
  auto w = randomVector(size_t(D), seed + 2, 0.5f, 1.5f);
  auto yb = bufferFrom(y, {T, D});
  auto zb = bufferFrom(z, {T, D});
  auto wb = bufferFrom(w, {D});
  kernel.buffers[0].set(yb);
  kernel.buffers[1].set(zb);
  kernel.buffers[2].set(wb);
  auto out = makeBuffer<float>({T, D});
  kernel.pipeline.realize(Halide::Realization({out}));

  std::vector<double> want(size_t(T) * D);
  for (int t = 0; t < T; ++t)
    for (int g = 0; g < D / GS; ++g) {
      std::vector<double> q(GS);
      double ss = 0;
      for (int i = 0; i < GS; ++i) {
        size_t idx = size_t(t) * D + size_t(g) * GS + i;
        double zv = z[idx];
        q[i] = y[idx] * (zv / (1.0 + std::exp(-zv)));
        ss += q[i] * q[i];
      }
      double inv = 1.0 / std::sqrt(ss / GS + double(eps));
      for (int i = 0; i < GS; ++i) {
        size_t c = size_t(g) * GS + i;
        want[size_t(t) * D + c] = w[c] * q[i] * inv;
      }
    }
  EXPECT_TRUE(closeRel(toVector(out), want, kTolF32))
      << targetName << " D=" << D << " GS=" << GS << " T=" << T;
}

} // namespace

TEST(GatedRmsNorm, RegistryDispatchesToTheBuilder) {
  auto target = testTarget("x86-64-avx2");
  KernelSpec spec;
  spec.kind = "gated_rms_norm";
  spec.symbol = "gated_rms_norm_test";
  spec.sizes = {{"D", 16}, {"GS", 8}};
  EXPECT_EQ(hybridc::codegen::buildKernel(spec, target).arguments().size(),
            hybridc::codegen::buildGatedRmsNorm(spec, target).arguments().size());
}

TEST(GatedRmsNorm, OneGroup) {
  uint32_t seed = 1;
  for (const auto &name : testTargetNames())
    for (int T : testTokenCounts()) {
      runGatedNorm(name, 64, 64, T, seed += 10);
      runGatedNorm(name, 13, 13, T, seed += 10);
    }
}

TEST(GatedRmsNorm, SeveralGroups) {
  uint32_t seed = 300;
  for (const auto &name : testTargetNames())
    for (int T : {1, 5, 33}) {
      runGatedNorm(name, 96, 48, T, seed += 10); // G = 2
      runGatedNorm(name, 26, 13, T, seed += 10); // G = 2, odd group width
      runGatedNorm(name, 40, 10, T, seed += 10); // G = 4, group < one vector
      runGatedNorm(name, 120, 40, T, seed += 10); // width not a multiple of lanes
    }
}
