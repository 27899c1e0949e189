//===- WeightsFileTest.cpp - packed weights: bytes, hash, errors ----------===//
//
// The payload is packed on several threads; these tests pin what must not
// depend on that: every tensor's bytes at its planned offset, and the header
// hash of the whole payload (the library compares it).
//
//===----------------------------------------------------------------------===//
#include "WeightsFile.h"

#include "TestFiles.h"

#include "hybridc/Codegen/WeightPacking.h"
#include "hybridc/Model/Checkpoint.h"
#include "hybridc/payload_hash.h"
#include "hybridc/runtime_abi.h"

#include <cstring>
#include <gtest/gtest.h>

using namespace hybridc;
using namespace hybridc::test;

namespace {

/// The documented payload hash (docs/formats.md), written out
/// independently: word i of the whole payload mixed into lane i mod 4, the
/// last block zero-padded, then the byte count and the four lanes folded.
uint64_t referenceHash(const uint8_t *p, size_t n) {
  const uint64_t K1 = 0x9E3779B97F4A7C15ull, K2 = 0xBF58476D1CE4E5B9ull;
  const uint64_t S = 0x6879627269646321ull;
  auto mix = [&](uint64_t x, uint64_t w) {
    x ^= w * K1;
    return ((x << 31) | (x >> 33)) * K2;
  };
  uint64_t lane[4];
  for (int i = 0; i < 4; ++i)
    lane[i] = S + uint64_t(i) * K1;
  std::vector<uint8_t> padded(p, p + n);
  padded.resize((n + 31) / 32 * 32, 0);
  for (size_t w = 0; w < padded.size() / 8; ++w) {
    uint64_t word = 0;
    for (int b = 7; b >= 0; --b)
      word = word << 8 | padded[w * 8 + size_t(b)];
    lane[w % 4] = mix(lane[w % 4], word);
  }
  uint64_t v = mix(S, n);
  for (uint64_t l : lane)
    v = mix(v, l);
  return v ^ (v >> 29);
}

std::unique_ptr<Checkpoint> golden() {
  auto ckpt = Checkpoint::open(goldenDir());
  EXPECT_TRUE(static_cast<bool>(ckpt)) << errorMessage(ckpt.takeError());
  return ckpt ? std::move(*ckpt) : nullptr;
}

/// Every tensor of the checkpoint as plain f32 (some twice, as a tied
/// embedding is), 64-byte aligned; returns the payload size.
int64_t planAll(const Checkpoint &ckpt, std::vector<PackedWeight> &plan) {
  int64_t offset = 0;
  std::vector<const TensorView *> tensors = ckpt.allTensors();
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < tensors.size(); i += pass ? 5 : 1) {
      int64_t bytes = tensors[i]->numElements() * 4;
      plan.push_back({tensors[i]->name, hybrid::WeightLayout::f32, offset, bytes});
      offset = (offset + bytes + 63) / 64 * 64;
    }
  return offset;
}

std::vector<WeightsLayout> oneLayout(const std::vector<PackedWeight> &plan) {
  return {{0, &plan, codegen::LinearPacking{16, 1}}};
}

TEST(WeightsFile, EveryTensorAtItsOffsetAndThePayloadHash) {
  std::unique_ptr<Checkpoint> ckpt = golden();
  ASSERT_TRUE(ckpt);
  std::vector<PackedWeight> plan;
  int64_t payload = planAll(*ckpt, plan);
  ASSERT_GT(plan.size(), 8u) << "enough tensors to pack several at once";
  TempDir dir;
  llvm::Expected<uint64_t> hash =
      writeWeightsFile(dir.file("m.weights"), *ckpt, oneLayout(plan), payload,
                       codegen::WeightType::F32, "golden");
  ASSERT_TRUE(static_cast<bool>(hash)) << errorMessage(hash.takeError());

  std::string file = readFile(dir.file("m.weights"));
  ASSERT_EQ(file.size(), size_t(HYBRIDC_WEIGHTS_HEADER_BYTES + payload));
  hybridc_weights_header header;
  std::memcpy(&header, file.data(), sizeof header);
  EXPECT_EQ(std::memcmp(header.magic, HYBRIDC_WEIGHTS_MAGIC, 8), 0);
  EXPECT_EQ(header.payload_bytes, uint64_t(payload));
  EXPECT_STREQ(header.model_name, "golden");
  EXPECT_EQ(header.model_hash, *hash);

  const uint8_t *base = reinterpret_cast<const uint8_t *>(file.data()) + HYBRIDC_WEIGHTS_HEADER_BYTES;
  for (const PackedWeight &e : plan) {
    // Read after packing: the released checkpoint pages come back from the file.
    std::vector<float> values = ckpt->get(e.tensor).toFloat();
    ASSERT_EQ(std::memcmp(base + e.offset, values.data(), size_t(e.bytes)), 0) << e.tensor;
  }
  EXPECT_EQ(*hash, referenceHash(base, size_t(payload)));
  // Any byte counts, padding included.
  std::string altered = file;
  altered[HYBRIDC_WEIGHTS_HEADER_BYTES + size_t(payload) - 1] ^= 1;
  EXPECT_NE(referenceHash(reinterpret_cast<const uint8_t *>(altered.data()) +
                              HYBRIDC_WEIGHTS_HEADER_BYTES,
                          size_t(payload)),
            *hash);
}

// A library of two CPU variants that pack differently: each layout at its
// own offset, packed its own way, zeros between them, one hash over all.
TEST(WeightsFile, EachLayoutAtItsOffsetPackedItsWay) {
  std::unique_ptr<Checkpoint> ckpt = golden();
  ASSERT_TRUE(ckpt);
  const TensorView *matrix = nullptr;
  for (const TensorView *t : ckpt->allTensors())
    if (t->shape.size() == 2 && t->shape[0] % 16 != 0 && !matrix)
      matrix = t; // rows not a multiple of either lane count: padding differs
  if (!matrix)
    for (const TensorView *t : ckpt->allTensors())
      if (t->shape.size() == 2 && !matrix)
        matrix = t;
  ASSERT_TRUE(matrix);
  const codegen::LinearPacking avx2{8, 1}, avx512{16, 1};
  auto planFor = [&](const codegen::LinearPacking &p) {
    const int64_t bytes = p.blocks(matrix->shape[0]) * p.groups(matrix->shape[1]) * p.lanes * 4;
    return std::vector<PackedWeight>{{matrix->name, hybrid::WeightLayout::linear, 0, bytes}};
  };
  std::vector<PackedWeight> planA = planFor(avx2), planB = planFor(avx512);
  const int64_t offsetB =
      (planA[0].bytes + HYBRIDC_WEIGHTS_LAYOUT_ALIGN - 1) / HYBRIDC_WEIGHTS_LAYOUT_ALIGN *
      HYBRIDC_WEIGHTS_LAYOUT_ALIGN;
  const int64_t payload = offsetB + planB[0].bytes;
  TempDir dir;
  llvm::Expected<uint64_t> hash = writeWeightsFile(
      dir.file("m.weights"), *ckpt, {{0, &planA, avx2}, {offsetB, &planB, avx512}}, payload,
      codegen::WeightType::F32, "golden");
  ASSERT_TRUE(static_cast<bool>(hash)) << errorMessage(hash.takeError());
  std::string file = readFile(dir.file("m.weights"));
  ASSERT_EQ(file.size(), size_t(HYBRIDC_WEIGHTS_HEADER_BYTES + payload));
  const uint8_t *base = reinterpret_cast<const uint8_t *>(file.data()) + HYBRIDC_WEIGHTS_HEADER_BYTES;
  std::vector<float> w = matrix->toFloat();
  for (auto [offset, packing] : {std::pair{int64_t(0), avx2}, std::pair{offsetB, avx512}}) {
    std::vector<uint8_t> expected;
    codegen::packLinear(w.data(), matrix->shape[0], matrix->shape[1], packing,
                        codegen::WeightType::F32, expected);
    EXPECT_EQ(std::memcmp(base + offset, expected.data(), expected.size()), 0)
        << packing.lanes << " lanes";
  }
  for (int64_t i = planA[0].bytes; i < offsetB; ++i)
    ASSERT_EQ(base[i], 0) << "byte " << i << " between the layouts";
  EXPECT_EQ(*hash, referenceHash(base, size_t(payload)));
}

// The streaming hash the compiler, the runtime and `hybridc verify` share
// gives the documented value however the bytes are split into calls.
TEST(WeightsFile, PayloadHashOfAnySplitIsTheDocumentedOne) {
  std::vector<uint8_t> bytes(1000);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = uint8_t(i * 131 + 7);
  for (size_t n : {size_t(0), size_t(1), size_t(31), size_t(32), size_t(33), size_t(1000)})
    for (size_t step : {size_t(1), size_t(5), size_t(32), size_t(1000)}) {
      hybridc_payload_hash h;
      hybridc_payload_hash_init(&h);
      for (size_t at = 0; at < n; at += step)
        hybridc_payload_hash_update(&h, bytes.data() + at, std::min(step, n - at));
      EXPECT_EQ(hybridc_payload_hash_final(&h), referenceHash(bytes.data(), n))
          << n << " bytes in calls of " << step;
    }
}

TEST(WeightsFile, TheFirstBadEntryInPlanOrderIsReported) {
  std::unique_ptr<Checkpoint> ckpt = golden();
  ASSERT_TRUE(ckpt);
  std::vector<PackedWeight> plan;
  int64_t payload = planAll(*ckpt, plan);
  ASSERT_GT(plan.size(), 12u);
  // An edited plan may pair a tensor with a layout of another rank.
  ASSERT_NE(ckpt->get(plan[5].tensor).shape.size(), 3u);
  plan[5].layout = hybrid::WeightLayout::experts;
  plan[11].bytes += 4;
  TempDir dir;
  llvm::Expected<uint64_t> hash =
      writeWeightsFile(dir.file("m.weights"), *ckpt, oneLayout(plan), payload,
                       codegen::WeightType::F32, "golden");
  ASSERT_FALSE(static_cast<bool>(hash));
  EXPECT_EQ(errorMessage(hash.takeError()),
            "weight '" + plan[5].tensor + "' (experts): the layout packs 3-D tensors, this one is " +
                std::to_string(ckpt->get(plan[5].tensor).shape.size()) + "-D");

  plan[5].layout = hybrid::WeightLayout::f32;
  hash = writeWeightsFile(dir.file("m.weights"), *ckpt, oneLayout(plan), payload,
                          codegen::WeightType::F32, "golden");
  ASSERT_FALSE(static_cast<bool>(hash));
  std::string msg = errorMessage(hash.takeError());
  EXPECT_NE(msg.find("weight '" + plan[11].tensor + "' (f32): packed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the lowering planned"), std::string::npos) << msg;
}

TEST(WeightsFile, AnUnwritablePathIsNamed) {
  std::unique_ptr<Checkpoint> ckpt = golden();
  ASSERT_TRUE(ckpt);
  std::vector<PackedWeight> plan;
  int64_t payload = planAll(*ckpt, plan);
  llvm::Expected<uint64_t> hash =
      writeWeightsFile("/nonexistent-dir/m.weights", *ckpt, oneLayout(plan), payload,
                       codegen::WeightType::F32, "golden");
  ASSERT_FALSE(static_cast<bool>(hash));
  EXPECT_NE(errorMessage(hash.takeError()).find("/nonexistent-dir/m.weights: cannot create"),
            std::string::npos);
}

} // namespace
