//===- WeightsFileTest.cpp - packed weights: bytes, hash, errors ----------===//
//
// The payload is packed on several threads; these tests pin what must not
// depend on that: every tensor's bytes at its planned offset, and the header
// hash a serial pass over the plan computes (the library compares it).
//
//===----------------------------------------------------------------------===//
#include "WeightsFile.h"

#include "TestFiles.h"

#include "hybridc/Model/Checkpoint.h"
#include "hybridc/runtime_abi.h"

#include <cstring>
#include <gtest/gtest.h>

using namespace hybridc;
using namespace hybridc::test;

namespace {

/// The documented payload hash, written out independently: per entry in plan
/// order its offset, then its bytes 8 at a time plus a length-tagged tail.
class ReferenceHash {
public:
  void word(uint64_t w) {
    h ^= w * 0x9E3779B97F4A7C15ull;
    h = ((h << 31) | (h >> 33)) * 0xBF58476D1CE4E5B9ull;
  }
  void bytes(const uint8_t *p, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      word(w);
    }
    uint64_t tail = 0;
    std::memcpy(&tail, p + i, n - i);
    word(tail ^ (uint64_t(n) << 56));
  }
  uint64_t value() const { return h ^ (h >> 29); }

private:
  uint64_t h = 0x6879627269646321ull;
};

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
      plan.push_back({tensors[i]->name, "f32", offset, bytes});
      offset = (offset + bytes + 63) / 64 * 64;
    }
  return offset;
}

TEST(WeightsFile, EveryTensorAtItsOffsetAndTheSerialHash) {
  std::unique_ptr<Checkpoint> ckpt = golden();
  ASSERT_TRUE(ckpt);
  std::vector<PackedWeight> plan;
  int64_t payload = planAll(*ckpt, plan);
  ASSERT_GT(plan.size(), 8u) << "enough tensors to pack several at once";
  TempDir dir;
  llvm::Expected<uint64_t> hash =
      writeWeightsFile(dir.file("m.weights"), *ckpt, plan, payload, codegen::WeightType::F32,
                       codegen::LinearPacking{16, 1}, "golden");
  ASSERT_TRUE(static_cast<bool>(hash)) << errorMessage(hash.takeError());

  std::string file = readFile(dir.file("m.weights"));
  ASSERT_EQ(file.size(), size_t(HYBRIDC_WEIGHTS_HEADER_BYTES + payload));
  hybridc_weights_header header;
  std::memcpy(&header, file.data(), sizeof header);
  EXPECT_EQ(std::memcmp(header.magic, HYBRIDC_WEIGHTS_MAGIC, 8), 0);
  EXPECT_EQ(header.payload_bytes, uint64_t(payload));
  EXPECT_STREQ(header.model_name, "golden");
  EXPECT_EQ(header.model_hash, *hash);

  ReferenceHash want;
  const uint8_t *base = reinterpret_cast<const uint8_t *>(file.data()) + HYBRIDC_WEIGHTS_HEADER_BYTES;
  for (const PackedWeight &e : plan) {
    // Read after packing: the released checkpoint pages come back from the file.
    std::vector<float> values = ckpt->get(e.tensor).toFloat();
    ASSERT_EQ(std::memcmp(base + e.offset, values.data(), size_t(e.bytes)), 0) << e.tensor;
    want.word(uint64_t(e.offset));
    want.bytes(base + e.offset, size_t(e.bytes));
  }
  EXPECT_EQ(*hash, want.value());
}

TEST(WeightsFile, TheFirstBadEntryInPlanOrderIsReported) {
  std::unique_ptr<Checkpoint> ckpt = golden();
  ASSERT_TRUE(ckpt);
  std::vector<PackedWeight> plan;
  int64_t payload = planAll(*ckpt, plan);
  ASSERT_GT(plan.size(), 12u);
  plan[5].layout = "zigzag";
  plan[11].bytes += 4;
  TempDir dir;
  llvm::Expected<uint64_t> hash =
      writeWeightsFile(dir.file("m.weights"), *ckpt, plan, payload, codegen::WeightType::F32,
                       codegen::LinearPacking{16, 1}, "golden");
  ASSERT_FALSE(static_cast<bool>(hash));
  EXPECT_EQ(errorMessage(hash.takeError()),
            "weight '" + plan[5].tensor + "': unknown layout 'zigzag'");

  plan[5].layout = "f32";
  hash = writeWeightsFile(dir.file("m.weights"), *ckpt, plan, payload, codegen::WeightType::F32,
                          codegen::LinearPacking{16, 1}, "golden");
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
      writeWeightsFile("/nonexistent-dir/m.weights", *ckpt, plan, payload,
                       codegen::WeightType::F32, codegen::LinearPacking{16, 1}, "golden");
  ASSERT_FALSE(static_cast<bool>(hash));
  EXPECT_NE(errorMessage(hash.takeError()).find("/nonexistent-dir/m.weights: cannot create"),
            std::string::npos);
}

} // namespace
