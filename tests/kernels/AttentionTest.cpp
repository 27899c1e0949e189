//===- AttentionTest.cpp - causal GQA attention against plain loops -------===//
#include "TestUtil.h"

#include <cmath>
#include <limits>

using namespace hybridc::test;

namespace {

struct AttnShape {
  int HEADS, KV, HD;
};

KernelSpec attentionSpec(const AttnShape &s, double scale, bool decode, bool bf16 = false) {
  KernelSpec spec;
  spec.kind = "attention";
  spec.symbol = "attention_test";
  spec.sizes = {{"HEADS", s.HEADS}, {"KV", s.KV}, {"HD", s.HD}, {"decode", decode ? 1 : 0},
                {"bf16", bf16 ? 1 : 0}};
  spec.constants = {{"scale", scale}};
  return spec;
}

// The bf16 kernel's error bound, relative to max |v|. Its q, k and v are
// bf16 (the reference rounds them the same way, and products of bf16 values
// are exact in f32), and so are its softmax weights: each weight w_j within
// 2^-9 relative, and the output sum_j w_j v_j / sum_j w_j (the sum of the
// rounded weights) a convex combination of the v_j, it moves by at most
// 2^-9 * max_j |v_j - out| <= 2^-8 * max |v|.
constexpr double kBf16WeightBound = 1.0 / 256;

// Runs T queries after `past` cached tokens against a cache of L rows; rows
// past + T .. L-1 are NaN, so reading any of them shows in the output.
// With `bf16` the reference sees q, k and v rounded to bf16.
void runCase(hybridc::codegen::BuiltKernel &kernel, const AttnShape &s, double scale, int T,
             int past, int L, uint32_t seed, bool bf16) {
  SCOPED_TRACE("HEADS=" + std::to_string(s.HEADS) + " KV=" + std::to_string(s.KV) +
               " HD=" + std::to_string(s.HD) + " T=" + std::to_string(T) +
               " past=" + std::to_string(past) + " L=" + std::to_string(L));
  const int qw = s.HEADS * s.HD, kw = s.KV * s.HD;
  auto q = randomVector(size_t(T) * qw, seed, -2.f, 2.f);
  auto k = randomVector(size_t(L) * kw, seed + 1, -2.f, 2.f);
  auto v = randomVector(size_t(L) * kw, seed + 2, -1.f, 1.f);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (size_t i = size_t(past + T) * kw; i < k.size(); ++i)
    k[i] = v[i] = nan;
  auto seen = [&](std::vector<float> x) {
    if (bf16)
      for (float &e : x)
        e = roundBF16(e);
    return x;
  };

  auto qb = bufferFrom(q, {T, qw});
  auto kb = bufferFrom(k, {L, kw});
  auto vb = bufferFrom(v, {L, kw});
  kernel.buffers[0].set(qb);
  kernel.buffers[1].set(kb);
  kernel.buffers[2].set(vb);
  kernel.scalars[0].set(past);
  auto out = makeBuffer<float>({T, qw});
  kernel.pipeline.realize(Halide::Realization({out}));

  const std::vector<float> qs = seen(q), ks = seen(k), vs = seen(v);
  std::vector<double> want(size_t(T) * qw, 0.0);
  const int hpk = s.HEADS / s.KV;
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < s.HEADS; ++h) {
      const int g = h / hpk, visible = past + t + 1;
      std::vector<double> sc(visible);
      double mx = -INFINITY, total = 0;
      for (int j = 0; j < visible; ++j) {
        double dot = 0;
        for (int d = 0; d < s.HD; ++d)
          dot += double(qs[size_t(t) * qw + h * s.HD + d]) * ks[size_t(j) * kw + g * s.HD + d];
        sc[j] = dot * scale;
        mx = std::max(mx, sc[j]);
      }
      for (double &x : sc)
        total += (x = std::exp(x - mx));
      for (int j = 0; j < visible; ++j)
        for (int d = 0; d < s.HD; ++d)
          want[size_t(t) * qw + h * s.HD + d] += sc[j] / total * vs[size_t(j) * kw + g * s.HD + d];
    }
  if (!bf16) {
    EXPECT_TRUE(closeRel(toVector(out), want, kTolF32));
    return;
  }
  // v lies in [-1, 1]; f32 rounding on top of the bound.
  const std::vector<float> got = toVector(out);
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::isnan(got[i]) ? INFINITY : std::fabs(got[i] - want[i]));
  EXPECT_LE(worst, kBf16WeightBound + kTolF32);
}

// Both schedules (the decode one is made for T = 1 but correct for any T),
// and the bf16 prefill on targets with bf16 dot products.
void checkShape(const AttnShape &s, double scale, uint32_t seed) {
  for (const auto &name : testTargetNames())
    for (int variant : {0, 1, 2}) {
      const bool decode = variant == 1, bf16 = variant == 2;
      if (bf16 && !testTarget(name).bf16Dot)
        continue;
      SCOPED_TRACE(name + (decode ? " decode" : bf16 ? " bf16 prefill" : " prefill"));
      auto kernel = buildJit(attentionSpec(s, scale, decode, bf16), testTarget(name));
      // (T, past, L): prefill, decode, continuation, a cache longer than
      // used, spans of several key blocks (64 to 256 keys per block), of
      // several query tiles (8 or 16 queries), a tile's queries seeing
      // different numbers of blocks, and decode over several chunks of keys
      // (256 or 512 per parallel task) with the last one partly filled.
      const int cases[][3] = {{1, 0, 1},   {5, 0, 5},     {17, 0, 20},  {1, 9, 10},
                              {3, 7, 12},  {1, 70, 80},   {40, 90, 131}, {70, 3, 73},
                              {1, 600, 610}, {2, 517, 519}, {33, 480, 513}};
      for (const auto &c : cases)
        runCase(kernel, s, scale, c[0], c[1], c[2], seed += 7, bf16);
    }
}

} // namespace

TEST(Attention, RegistryDispatchesToTheBuilder) {
  auto target = testTarget("x86-64-avx2");
  KernelSpec spec = attentionSpec({4, 2, 8}, 0.5, false);
  auto direct = hybridc::codegen::buildAttention(spec, target);
  EXPECT_EQ(hybridc::codegen::buildKernel(spec, target).arguments().size(),
            direct.arguments().size());
  EXPECT_EQ(direct.buffers.size(), 3u);
  EXPECT_EQ(direct.scalars.size(), 1u); // past
}

TEST(Attention, GroupedQueryHeads) { checkShape({4, 2, 8}, 0.35, 1); }

TEST(Attention, OddSizes) {
  checkShape({3, 1, 6}, 0.4, 100);  // HD = 6, three query heads per kv head
  checkShape({2, 2, 13}, 0.3, 200); // no sharing, odd head dim
}

TEST(Attention, ModelHeadDim) { checkShape({4, 1, 64}, 0.125, 300); }

// The golden model's shape: the head dim is exactly one avx512 vector and two
// query heads share each kv head.
TEST(Attention, HeadDimOfOneVectorWithSharedKvHeads) { checkShape({4, 2, 16}, 0.0625, 400); }
