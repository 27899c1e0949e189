//===- AttentionTest.cpp - causal GQA attention against plain loops -------===//
//
// The attention kernels read K and V from a KV cache segment in its element
// type and block layout (kv_layout.h), built here by KvSegment's plain
// loops; the oracle attends in double over the values the segment holds.
//
//===----------------------------------------------------------------------===//
#include "KvSegment.h"
#include "TestUtil.h"

#include <cmath>
#include <limits>

using namespace hybridc::test;

namespace {

struct AttnShape {
  int HEADS, KV, HD;
};

const int32_t kDtypes[] = {HYBRIDC_KV_F32, HYBRIDC_KV_BF16, HYBRIDC_KV_INT8};

KernelSpec attentionSpec(const AttnShape &s, double scale, bool decode, bool bf16 = false,
                         int32_t kvDtype = HYBRIDC_KV_F32) {
  KernelSpec spec;
  spec.kind = "attention";
  spec.symbol = "attention_test";
  spec.sizes = {{"HEADS", s.HEADS}, {"KV", s.KV},     {"HD", s.HD},
                {"decode", decode ? 1 : 0}, {"bf16", bf16 ? 1 : 0}, {"kv_dtype", kvDtype}};
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

// Decode against an int8 cache quantizes each query head like the keys
// (blocks of 32, round to nearest even), as the oracle does too; what is
// left is f32 summation order and the scale products' rounding.
constexpr double kInt8DecodeTol = 1e-4;

// The views a kernel of this dtype takes (KernelSpec.h), in ABI order.
void bindCache(hybridc::codegen::BuiltKernel &kernel, int first, KvSegment &seg, int32_t dtype,
               bool isV) {
  switch (dtype) {
  case HYBRIDC_KV_F32:
    kernel.buffers[first].set(seg.view(Halide::Float(32)));
    return;
  case HYBRIDC_KV_BF16:
    kernel.buffers[first].set(seg.view(Halide::UInt(32)));
    return;
  default:
    kernel.buffers[first].set(seg.view(isV ? Halide::Int(8) : Halide::UInt(8)));
    kernel.buffers[first + 1].set(seg.view(Halide::Float(32)));
  }
}

// Runs T queries after `past` cached tokens against segments of capacity L
// tokens. The last block's slots after past + T are zeros (as kv_append
// leaves them) and every block after it is NaN bytes, so reading any of them
// shows in the output.
void runCase(hybridc::codegen::BuiltKernel &kernel, const AttnShape &s, double scale, int T,
             int past, int L, uint32_t seed, bool bf16, bool decode, int32_t dtype) {
  SCOPED_TRACE("HEADS=" + std::to_string(s.HEADS) + " KV=" + std::to_string(s.KV) +
               " HD=" + std::to_string(s.HD) + " T=" + std::to_string(T) +
               " past=" + std::to_string(past) + " L=" + std::to_string(L) +
               " kv_dtype=" + hybridc_kv_dtype_name(dtype));
  const int qw = s.HEADS * s.HD, kw = s.KV * s.HD, n = past + T;
  auto q = randomVector(size_t(T) * qw, seed, -2.f, 2.f);
  auto k = randomVector(size_t(n) * kw, seed + 1, -2.f, 2.f);
  auto v = randomVector(size_t(n) * kw, seed + 2, -1.f, 1.f);
  KvSegment kseg(dtype, s.KV, s.HD, L), vseg(dtype, s.KV, s.HD, L);
  const int64_t usedBlocks = hybridc_kv_round_tokens(n) / HYBRIDC_KV_BLOCK_TOKENS;
  kseg.fillFrom(usedBlocks, 0xFF);
  vseg.fillFrom(usedBlocks, 0xFF);
  for (int j = 0; j < n; ++j) {
    kseg.store(false, j, &k[size_t(j) * kw]);
    vseg.store(true, j, &v[size_t(j) * kw]);
  }

  auto qb = bufferFrom(q, {T, qw});
  kernel.buffers[0].set(qb);
  const int perCache = dtype == HYBRIDC_KV_INT8 ? 2 : 1;
  bindCache(kernel, 1, kseg, dtype, false);
  bindCache(kernel, 1 + perCache, vseg, dtype, true);
  kernel.scalars[0].set(past);
  auto out = makeBuffer<float>({T, qw});
  kernel.pipeline.realize(Halide::Realization({out}));

  // What the kernel multiplies: the stored keys and values; with bf16
  // products q, k and v rounded to bf16; decoding an int8 cache, the query
  // quantized as the keys are.
  auto seenQuery = [&](int t, int h) {
    std::vector<float> x(&q[size_t(t) * qw + h * s.HD], &q[size_t(t) * qw + (h + 1) * s.HD]);
    if (bf16)
      return roundedTo(x, WeightType::BF16);
    if (decode && dtype == HYBRIDC_KV_INT8)
      return blockSeen(x.data(), s.HD);
    return x;
  };
  auto seen = [&](float x) { return bf16 ? roundBF16(x) : x; };
  std::vector<double> want(size_t(T) * qw, 0.0);
  const int hpk = s.HEADS / s.KV;
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < s.HEADS; ++h) {
      const int g = h / hpk, visible = past + t + 1;
      const std::vector<float> qs = seenQuery(t, h);
      std::vector<double> sc(visible);
      double mx = -INFINITY, total = 0;
      for (int j = 0; j < visible; ++j) {
        double dot = 0;
        for (int d = 0; d < s.HD; ++d)
          dot += double(qs[size_t(d)]) * seen(kseg.value(false, j, g, d));
        sc[j] = dot * scale;
        mx = std::max(mx, sc[j]);
      }
      for (double &x : sc)
        total += (x = std::exp(x - mx));
      for (int j = 0; j < visible; ++j)
        for (int d = 0; d < s.HD; ++d)
          want[size_t(t) * qw + h * s.HD + d] += sc[j] / total * seen(vseg.value(true, j, g, d));
    }
  if (!bf16) {
    EXPECT_TRUE(closeRel(toVector(out), want,
                         decode && dtype == HYBRIDC_KV_INT8 ? kInt8DecodeTol : kTolF32));
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
// and the bf16 prefill on targets with bf16 dot products, for every KV
// dtype.
void checkShape(const AttnShape &s, double scale, uint32_t seed) {
  for (const auto &name : testTargetNames())
    for (int32_t dtype : kDtypes)
      for (int variant : {0, 1, 2}) {
        const bool decode = variant == 1, bf16 = variant == 2;
        if (bf16 && !testTarget(name).bf16Dot)
          continue;
        SCOPED_TRACE(name + (decode ? " decode" : bf16 ? " bf16 prefill" : " prefill"));
        auto kernel = buildJit(attentionSpec(s, scale, decode, bf16, dtype), testTarget(name));
        // (T, past, L): prefill, decode, continuation, a cache longer than
        // used, spans of several key blocks (64 to 512 keys per block), of
        // several query tiles (8 or 16 queries), a tile's queries seeing
        // different numbers of blocks, and decode over several tasks of
        // keys (512 per parallel task) with the last one partly filled, a
        // partly filled last cache block and one exactly full.
        const int cases[][3] = {{1, 0, 1},     {5, 0, 5},     {17, 0, 20},  {1, 9, 10},
                                {3, 7, 12},    {1, 70, 80},   {40, 90, 131}, {70, 3, 73},
                                {1, 600, 610}, {2, 517, 519}, {33, 480, 513}, {1, 1200, 1300},
                                {1, 1535, 1536}};
        for (const auto &c : cases)
          runCase(kernel, s, scale, c[0], c[1], c[2], seed += 7, bf16, decode, dtype);
      }
}

} // namespace

TEST(Attention, RegistryDispatchesToTheBuilder) {
  auto target = testTarget("x86-64-avx2");
  for (int32_t dtype : kDtypes) {
    KernelSpec spec = attentionSpec({4, 2, 8}, 0.5, false, false, dtype);
    auto direct = hybridc::codegen::buildAttention(spec, target);
    EXPECT_EQ(hybridc::codegen::buildKernel(spec, target).arguments().size(),
              direct.arguments().size());
    // q, then K and V: one view each, two (levels, scales) for int8.
    EXPECT_EQ(direct.buffers.size(), dtype == HYBRIDC_KV_INT8 ? 5u : 3u);
    EXPECT_EQ(direct.scalars.size(), 1u); // past
  }
}

TEST(Attention, RejectsAnUnknownKvDtype) {
  EXPECT_THROW(hybridc::codegen::buildAttention(attentionSpec({4, 2, 8}, 0.5, true, false, 7),
                                                testTarget("x86-64-avx2")),
               Halide::CompileError);
}

TEST(Attention, GroupedQueryHeads) { checkShape({4, 2, 8}, 0.35, 1); }

TEST(Attention, OddSizes) {
  checkShape({3, 1, 6}, 0.4, 100);  // HD = 6, three query heads per kv head
  checkShape({2, 2, 13}, 0.3, 200); // no sharing, odd head dim
}

TEST(Attention, ModelHeadDim) { checkShape({4, 1, 64}, 0.125, 300); }

// The `small` and Granite 4.0 H Tiny shape: three query heads per kv head.
TEST(Attention, ThreeQueryHeadsPerKvHead) { checkShape({12, 4, 64}, 0.02, 500); }

// The golden model's shape: the head dim is exactly one avx512 vector and two
// query heads share each kv head.
TEST(Attention, HeadDimOfOneVectorWithSharedKvHeads) { checkShape({4, 2, 16}, 0.0625, 400); }
