//===- GgufTest.cpp - the GGUF loader: golden files and every bad input ---===//
#include "GgufWriter.h"
#include "TestFiles.h"

#include "hybridc/Model/Checkpoint.h"
#include "hybridc/Model/Gguf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace hybridc;
using namespace hybridc::test;

namespace {

const std::string kGolden = std::string(HYBRIDC_TEST_DATA_DIR) + "/golden";
const std::string kTinyF32 = kGolden + "/gguf/tiny-seed1/model-f32.gguf";

std::string errorOf(llvm::Error e) { return llvm::toString(std::move(e)); }

/// The error opening `doc` (written to a file) as a checkpoint, "" if none.
std::string openError(const GgufDoc &doc, const TempDir &dir) {
  const std::string path = dir.file("m.gguf");
  writeFile(path, serializeGguf(doc));
  auto ckpt = Checkpoint::open(path);
  return ckpt ? "" : errorOf(ckpt.takeError());
}

std::string openBytesError(const std::string &bytes, const TempDir &dir) {
  const std::string path = dir.file("m.gguf");
  writeFile(path, bytes);
  auto f = GgufFile::open(path);
  return f ? "" : errorOf(f.takeError());
}

#define EXPECT_HAS(haystack, needle)                                                           \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

//===--- The golden file ---===//

TEST(Gguf, GoldenFileGivesTheConfigOfItsMetadata) {
  auto ckpt = Checkpoint::open(kTinyF32);
  ASSERT_TRUE(bool(ckpt)) << errorOf(ckpt.takeError());
  const ModelConfig &c = (*ckpt)->config();
  EXPECT_TRUE((*ckpt)->isGguf());
  EXPECT_EQ(c.hiddenSize, 64);
  EXPECT_EQ(c.numLayers, 4);
  EXPECT_EQ(c.vocabSize, 512);
  ASSERT_EQ(c.layerTypes.size(), 4u);
  EXPECT_EQ(c.layerTypes[2], LayerKind::Attention);
  EXPECT_EQ(c.layerTypes[3], LayerKind::Mamba);
  EXPECT_EQ(c.numHeads, 4);
  EXPECT_EQ(c.numKvHeads, 2);
  EXPECT_EQ(c.headDim, 16);
  EXPECT_EQ(c.numExperts, 8);
  EXPECT_EQ(c.topK, 2);
  EXPECT_EQ(c.intermediateSize, 32);
  EXPECT_EQ(c.sharedIntermediateSize, 64);
  EXPECT_EQ(c.mambaHeads, 8);
  EXPECT_EQ(c.mambaHeadDim, 16);
  EXPECT_EQ(c.mambaStateSize, 16);
  EXPECT_EQ(c.mambaConvKernel, 4);
  EXPECT_TRUE(c.tieWordEmbeddings);
  EXPECT_DOUBLE_EQ(c.embeddingMultiplier, 12.0);
  EXPECT_NEAR(c.residualMultiplier, 0.22, 1e-7);
  EXPECT_NEAR(c.attentionMultiplier, 1.0 / 16, 1e-9);
  EXPECT_DOUBLE_EQ(c.logitsScaling, 1.5);
}

// Every tensor, under its Hugging Face name and after undoing the
// converter's transforms, holds what the safetensors checkpoint holds (q and
// k up to the per-head row permutation the loader keeps).
TEST(Gguf, TensorsEqualTheSafetensorsCheckpointsAfterTheTransforms) {
  auto gguf = Checkpoint::open(kTinyF32);
  auto st = Checkpoint::open(kGolden + "/tiny-seed1");
  ASSERT_TRUE(bool(gguf)) << errorOf(gguf.takeError());
  ASSERT_TRUE(bool(st)) << errorOf(st.takeError());
  for (const TensorSpec &spec : expectedTensors((*st)->config())) {
    SCOPED_TRACE(spec.name);
    const TensorView &a = (*gguf)->get(spec.name), &b = (*st)->get(spec.name);
    EXPECT_EQ(a.shape, b.shape);
    std::vector<float> x = a.toFloat(), y = b.toFloat();
    ASSERT_EQ(x.size(), y.size());
    // The converter permutes q and k rows per head: row 2i + j of a head is
    // row j * hd/2 + i of the original (the same for q and k, so q.k is
    // unchanged). Undo it to compare.
    const bool permuted = spec.name.find("q_proj") != std::string::npos ||
                          spec.name.find("k_proj") != std::string::npos;
    if (permuted) {
      const int64_t hd = 16, H = b.shape[1], heads = b.shape[0] / hd;
      std::vector<float> un(x.size());
      for (int64_t hh = 0; hh < heads; ++hh)
        for (int64_t i = 0; i < hd / 2; ++i)
          for (int64_t j = 0; j < 2; ++j)
            std::copy_n(&x[(hh * hd + 2 * i + j) * H], H, &un[(hh * hd + j * hd / 2 + i) * H]);
      x = un;
    }
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i)
      worst = std::max(worst, std::fabs(double(x[i]) - y[i]) / std::max(1.0, std::fabs(double(y[i]))));
    // A_log goes through -exp and back (one rounding each way); everything
    // else is the same bytes or a reordering of them.
    EXPECT_LE(worst, spec.name.find("A_log") != std::string::npos ? 1e-6 : 0.0);
  }
}

//===--- Quantized blocks against an independent decoding ---===//

// Q5_K, which no golden file holds: random blocks decoded bit by bit from
// the format's description, against the loader's decoder.
TEST(Gguf, Q5KBlocksDecodeAsTheFormatSays) {
  std::mt19937 rng(5);
  uint8_t block[176];
  for (uint8_t &b : block)
    b = uint8_t(rng());
  const uint16_t d = 0x3c00, dmin = 0x3800; // 1.0 and 0.5 in f16
  std::memcpy(block, &d, 2);
  std::memcpy(block + 2, &dmin, 2);
  float got[256];
  decodeElements(DType::Q5_K, block, 256, got);
  const uint8_t *sc = block + 4, *qh = block + 16, *qs = block + 48;
  auto bits = [](unsigned v, int from, int n) { return (v >> from) & ((1u << n) - 1); };
  for (int i = 0; i < 256; ++i) {
    const int sub = i / 32;                  // 8 sub-blocks of 32
    const int pair = sub / 2, inPair = sub % 2, l = i % 32;
    unsigned scale, mn;
    if (sub < 4) {
      scale = bits(sc[sub], 0, 6);
      mn = bits(sc[sub + 4], 0, 6);
    } else {
      scale = bits(sc[sub + 4], 0, 4) | (bits(sc[sub - 4], 6, 2) << 4);
      mn = bits(sc[sub + 4], 4, 4) | (bits(sc[sub], 6, 2) << 4);
    }
    const unsigned nibble = bits(qs[pair * 32 + l], inPair * 4, 4);
    const unsigned high = bits(qh[l], sub, 1);
    const float want = 1.0f * float(scale) * float(nibble + 16 * high) - 0.5f * float(mn);
    ASSERT_EQ(got[i], want) << "element " << i;
  }
}

//===--- Bad files: the file and the key or tensor are named ---===//

TEST(GgufBad, Magic) {
  TempDir dir;
  std::string bytes = serializeGguf(readGgufDoc(kTinyF32));
  bytes[0] = 'X';
  EXPECT_HAS(openBytesError(bytes, dir), "m.gguf: not a GGUF file (bad magic");
}

TEST(GgufBad, UnsupportedVersion) {
  TempDir dir;
  GgufDoc doc = readGgufDoc(kTinyF32);
  doc.version = 2;
  EXPECT_HAS(openError(doc, dir), "GGUF version 2 is not supported (only 3)");
}

TEST(GgufBad, TruncatedHeader) {
  TempDir dir;
  const std::string bytes = serializeGguf(readGgufDoc(kTinyF32));
  for (size_t cut : {size_t(3), size_t(12), size_t(40), size_t(300), size_t(1500)}) {
    SCOPED_TRACE(cut);
    std::string err = openBytesError(bytes.substr(0, cut), dir);
    EXPECT_HAS(err, "truncated");
  }
}

TEST(GgufBad, StringLongerThanTheFile) {
  TempDir dir;
  GgufDoc doc = readGgufDoc(kTinyF32);
  GgufKv &name = *doc.kv("general.architecture");
  uint64_t huge = uint64_t(1) << 40;
  std::memcpy(name.raw.data(), &huge, 8);
  EXPECT_HAS(openError(doc, dir), "metadata 'general.architecture' is 1099511627776 bytes long");
}

TEST(GgufBad, ArrayLongerThanTheFile) {
  TempDir dir;
  GgufDoc doc = readGgufDoc(kTinyF32);
  GgufKv &kv = *doc.kv("granitehybrid.attention.head_count_kv");
  ASSERT_EQ(kv.type, 9u);
  uint64_t huge = uint64_t(1) << 50;
  std::memcpy(kv.raw.data() + 4, &huge, 8);
  EXPECT_HAS(openError(doc, dir), "metadata 'granitehybrid.attention.head_count_kv'");
  EXPECT_HAS(openError(doc, dir), "cannot fit");
}

TEST(GgufBad, TensorDataOutsideTheFile) {
  TempDir dir;
  GgufDoc doc = readGgufDoc(kTinyF32);
  doc.data.resize(doc.data.size() - 100);
  std::string err = openError(doc, dir);
  EXPECT_HAS(err, "run past the end of the file");
  EXPECT_HAS(err, "tensor '");
}

TEST(GgufBad, MisalignedTensor) {
  TempDir dir;
  GgufDoc doc = readGgufDoc(kTinyF32);
  doc.tensor("output_norm.weight")->offset += 4;
  EXPECT_HAS(openError(doc, dir),
             "tensor 'output_norm.weight': data offset");
  EXPECT_HAS(openError(doc, dir), "is not a multiple of the alignment 32");
}

TEST(GgufBad, UnknownTensorType) {
  TempDir dir;
  GgufDoc doc = readGgufDoc(kTinyF32);
  doc.tensor("blk.0.ssm_in.weight")->type = 3; // Q4_1
  EXPECT_HAS(openError(doc, dir), "tensor 'blk.0.ssm_in.weight': tensor type Q4_1 (3) is not "
                                  "supported");
  doc.tensor("blk.0.ssm_in.weight")->type = 999;
  EXPECT_HAS(openError(doc, dir), "tensor type code 999 is not supported");
}

TEST(GgufBad, OverlappingAndDuplicateEntries) {
  TempDir dir;
  GgufDoc doc = readGgufDoc(kTinyF32);
  doc.tensor("output_norm.weight")->offset = doc.tensor("token_embd.weight")->offset;
  EXPECT_HAS(openError(doc, dir), "overlaps");
  doc = readGgufDoc(kTinyF32);
  doc.kvs.push_back(doc.kvs.front());
  EXPECT_HAS(openError(doc, dir), "metadata 'general.architecture' appears twice");
}

TEST(GgufBad, WrongArchitecture) {
  TempDir dir;
  GgufDoc doc = readGgufDoc(kTinyF32);
  *doc.kv("general.architecture") = kvString("general.architecture", "llama");
  EXPECT_HAS(openError(doc, dir), "architecture 'llama' is not supported (expected "
                                  "'granitehybrid'");
}

TEST(GgufBad, MissingKey) {
  TempDir dir;
  GgufDoc doc = readGgufDoc(kTinyF32);
  doc.erase("granitehybrid.ssm.state_size");
  EXPECT_HAS(openError(doc, dir), "m.gguf: metadata 'granitehybrid.ssm.state_size' is missing");
}

TEST(GgufBad, RopeEnabled) {
  TempDir dir;
  GgufDoc doc = readGgufDoc(kTinyF32);
  *doc.kv("granitehybrid.rope.scaling.finetuned") =
      kvBool("granitehybrid.rope.scaling.finetuned", true);
  EXPECT_HAS(openError(doc, dir), "RoPE is enabled");
  doc.erase("granitehybrid.rope.scaling.finetuned");
  EXPECT_HAS(openError(doc, dir), "is missing, so the model would use RoPE");
}

TEST(GgufBad, KeyOfTheWrongType) {
  TempDir dir;
  GgufDoc doc = readGgufDoc(kTinyF32);
  *doc.kv("granitehybrid.block_count") = kvString("granitehybrid.block_count", "four");
  EXPECT_HAS(openError(doc, dir), "metadata 'granitehybrid.block_count' must be an integer, got "
                                  "string");
}

TEST(GgufBad, ShapeNotMatchingTheMetadata) {
  TempDir dir;
  GgufDoc doc = readGgufDoc(kTinyF32);
  // Same bytes, other split: [296][64] read as [148][128].
  GgufTensorInfo &t = *doc.tensor("blk.0.ssm_in.weight");
  t.ne = {128, 148};
  std::string err = openError(doc, dir);
  EXPECT_HAS(err, "tensor 'model.layers.0.mamba.in_proj.weight' has shape [148, 128] but its "
                  "GGUF metadata implies [296, 64]");
}

TEST(GgufBad, MissingAndUnexpectedTensors) {
  TempDir dir;
  GgufDoc doc = readGgufDoc(kTinyF32);
  doc.tensor("blk.1.ssm_out.weight")->name = "blk.1.ssm_out.weights";
  std::string err = openError(doc, dir);
  EXPECT_HAS(err, "missing tensor 'blk.1.ssm_out.weight'");
  doc.tensor("blk.1.ssm_out.weights")->name = "blk.1.ssm_out.weight";
  GgufTensorInfo extra = *doc.tensor("output_norm.weight");
  extra.name = "blk.9.surprise";
  doc.tensors.push_back(extra); // shares bytes: overlap is checked first
  extra.offset = doc.data.size();
  doc.tensors.back() = extra;
  doc.data.resize(doc.data.size() + 64 * 4);
  EXPECT_HAS(openError(doc, dir), "unexpected tensor 'blk.9.surprise'");
}

TEST(GgufBad, PositiveA) {
  TempDir dir;
  GgufDoc doc = readGgufDoc(kTinyF32);
  GgufTensorInfo &a = *doc.tensor("blk.3.ssm_a");
  const float positive = 0.5f;
  std::memcpy(doc.data.data() + a.offset + 8, &positive, 4);
  EXPECT_HAS(openError(doc, dir), "tensor 'blk.3.ssm_a' element 2 is 0.500000: A = -exp(A_log) "
                                  "must be negative");
}

} // namespace
