//===- KvAppendTest.cpp - rows into a KV cache segment, against plain loops -===//
//
// kv_append must leave every byte of the segment as KvSegment's plain loops
// do: the new rows in place (bf16 rounded, int8 quantized exactly as the
// weight packer quantizes), the slots after them in their block zeroed, and
// every other byte as it was.
//
//===----------------------------------------------------------------------===//
#include "KvSegment.h"
#include "TestUtil.h"

using namespace hybridc::test;

namespace {

KernelSpec appendSpec(int kv, int hd, int32_t dtype, bool isV) {
  KernelSpec spec;
  spec.kind = "kv_append";
  spec.symbol = "kv_append_test";
  spec.sizes = {{"KV", kv}, {"HD", hd}, {"dtype", dtype}, {"v", isV ? 1 : 0}};
  return spec;
}

// The zeros kv_append writes after its last row, token by token: the
// stored form of a zero row (int8 K: level 128, scale 0).
void zeroTail(KvSegment &seg, bool isV, int kv, int hd, int64_t end) {
  std::vector<float> zeros(size_t(kv) * hd, 0.0f);
  for (int64_t t = end; t % HYBRIDC_KV_BLOCK_TOKENS != 0; ++t)
    seg.store(isV, t, zeros.data());
}

void checkAppend(int kv, int hd, int32_t dtype, bool isV, int past, int T, uint32_t seed) {
  SCOPED_TRACE("KV=" + std::to_string(kv) + " HD=" + std::to_string(hd) + " " +
               hybridc_kv_dtype_name(dtype) + (isV ? " V" : " K") + " past=" +
               std::to_string(past) + " T=" + std::to_string(T));
  const int64_t capacity = hybridc_kv_round_tokens(past + T) + HYBRIDC_KV_BLOCK_TOKENS;
  // Earlier rows, then garbage everywhere else: only [past, end) and the
  // tail of its last block may change.
  KvSegment got(dtype, kv, hd, capacity, 0xA5), want(dtype, kv, hd, capacity, 0xA5);
  auto old = randomVector(size_t(past) * kv * hd, seed, -3.f, 3.f);
  for (int t = 0; t < past; ++t) {
    got.store(isV, t, &old[size_t(t) * kv * hd]);
    want.store(isV, t, &old[size_t(t) * kv * hd]);
  }
  auto rows = randomVector(size_t(T) * kv * hd, seed + 1, -3.f, 3.f);
  for (int t = 0; t < T; ++t)
    if (t % 5 == 2) // an all-zero row: int8's scale 0
      std::fill(&rows[size_t(t) * kv * hd], &rows[size_t(t + 1) * kv * hd], 0.0f);
  for (int t = 0; t < T; ++t)
    want.store(isV, past + t, &rows[size_t(t) * kv * hd]);
  zeroTail(want, isV, kv, hd, past + T);

  for (const auto &name : testTargetNames()) {
    SCOPED_TRACE(name);
    KvSegment seg = got;
    auto kernel = buildJit(appendSpec(kv, hd, dtype, isV), testTarget(name));
    auto x = bufferFrom(rows, {T, kv * hd});
    kernel.buffers[0].set(x);
    kernel.scalars[0].set(past);
    const Halide::Type type = dtype == HYBRIDC_KV_F32    ? Halide::Float(32)
                              : dtype == HYBRIDC_KV_BF16 ? Halide::BFloat(16)
                                                         : Halide::UInt(8);
    std::vector<Halide::Buffer<>> outs{seg.view(type)};
    if (dtype == HYBRIDC_KV_INT8)
      outs.push_back(seg.view(Halide::Float(32)));
    kernel.pipeline.realize(Halide::Realization(outs));
    size_t first = seg.size();
    for (size_t i = 0; i < seg.size(); ++i)
      if (seg.bytes()[i] != want.bytes()[i]) {
        first = i;
        break;
      }
    EXPECT_EQ(first, seg.size()) << "first differing byte " << first << " (block "
                                 << first / size_t(seg.blockBytes()) << "): got "
                                 << int(seg.bytes()[first % seg.size()]) << ", want "
                                 << int(want.bytes()[first % seg.size()]);
  }
}

} // namespace

TEST(KvAppend, EveryDtypeAndCache) {
  uint32_t seed = 1;
  for (int32_t dtype : {HYBRIDC_KV_F32, HYBRIDC_KV_BF16, HYBRIDC_KV_INT8})
    for (bool isV : {false, true})
      // (past, T): a prefill from nothing, one decode step, a call ending a
      // block exactly, one starting mid-block and spanning several.
      for (auto [past, T] : {std::pair{0, 5}, {7, 1}, {3, 13}, {21, 40}, {16, 16}})
        checkAppend(4, 64, dtype, isV, past, T, seed += 3);
}

TEST(KvAppend, PaddedHeadDims) {
  // HD 13: bf16 pads to 14, int8 to one block of 32; HD 40: int8 pads to 64.
  uint32_t seed = 50;
  for (int hd : {13, 40})
    for (int32_t dtype : {HYBRIDC_KV_F32, HYBRIDC_KV_BF16, HYBRIDC_KV_INT8})
      for (bool isV : {false, true})
        checkAppend(2, hd, dtype, isV, 9, 11, seed += 3);
}

TEST(KvAppend, RejectsAnUnknownDtype) {
  EXPECT_THROW(hybridc::codegen::buildKernel(appendSpec(2, 16, 3, false), testTarget("x86-64-avx2")),
               Halide::CompileError);
}
