//===- ManifestWorkTest.cpp - the `work` section of hybridc-model.json ----===//
#include "hybridc/Run/Manifest.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace hybridc;

namespace {

class ManifestWork : public ::testing::Test {
protected:
  void SetUp() override {
    llvm::SmallString<128> d;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("hybridc-manifest", d));
    dir = std::string(d);
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  void writeRaw(const std::string &text) {
    llvm::SmallString<128> p(dir);
    llvm::sys::path::append(p, kManifestFileName);
    std::error_code ec;
    llvm::raw_fd_ostream os(p, ec);
    ASSERT_FALSE(ec);
    os << text;
  }

  // weights 100, a state of 30, 2 KV segments of 128 bytes a token (f32),
  // calls of 512 tokens, a workspace of 7 + 3 per token.
  static MemoryPlan plan() {
    MemoryPlan p;
    p.weightsBytes = 100;
    p.stateBytes = 30;
    p.kvSegments = 2;
    p.kvRowBytes = 128;
    p.kvDtype = HYBRIDC_KV_F32;
    p.maxChunkTokens = 512;
    p.workspaceFixedBytes = 7;
    p.workspaceBytesPerToken = 3;
    return p;
  }

  static Manifest basic() {
    Manifest m;
    m.name = "tiny";
    m.library = "libtiny.so";
    m.header = "tiny.h";
    m.weights = "tiny.weights";
    m.vocabSize = 512;
    return m;
  }

  std::string dir;
};

TEST_F(ManifestWork, RoundTrips) {
  Manifest m = basic();
  ModelWork w;
  w.bitsPerWeight = 16;
  w.matmulMacsPerToken = 1;
  w.lmHeadMacsPerToken = 2;
  w.attentionMacsPerPosition = 3;
  w.scanFlopsPerToken = 4;
  w.decodeWeightsPerToken = 5;
  w.decodeWeightBytesPerToken = 6;
  w.decodeStateBytesPerToken = 7;
  w.decodeKvBytesPerPosition = 8;
  w.moeLayers = 9;
  w.numExperts = 10;
  w.expertsPerToken = 11;
  w.expertWeightBytes = 12;
  m.work = w;
  ASSERT_FALSE(static_cast<bool>(writeManifest(dir, m)));
  llvm::Expected<Manifest> r = readManifest(dir);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  ASSERT_TRUE(r->work.has_value());
  EXPECT_EQ(r->work->bitsPerWeight, 16);
  EXPECT_EQ(r->work->matmulMacsPerToken, 1);
  EXPECT_EQ(r->work->lmHeadMacsPerToken, 2);
  EXPECT_EQ(r->work->attentionMacsPerPosition, 3);
  EXPECT_EQ(r->work->scanFlopsPerToken, 4);
  EXPECT_EQ(r->work->decodeWeightsPerToken, 5);
  EXPECT_EQ(r->work->decodeWeightBytesPerToken, 6);
  EXPECT_EQ(r->work->decodeStateBytesPerToken, 7);
  EXPECT_EQ(r->work->decodeKvBytesPerPosition, 8);
  EXPECT_EQ(r->work->moeLayers, 9);
  EXPECT_EQ(r->work->numExperts, 10);
  EXPECT_EQ(r->work->expertsPerToken, 11);
  EXPECT_EQ(r->work->expertWeightBytes, 12);
  EXPECT_TRUE(r->work->expertsRecorded);
}

// Folders compiled before the section existed must still load.
TEST_F(ManifestWork, OldManifestHasNoWork) {
  ASSERT_FALSE(static_cast<bool>(writeManifest(dir, basic())));
  llvm::Expected<Manifest> r = readManifest(dir);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  EXPECT_FALSE(r->work.has_value());
}

TEST_F(ManifestWork, MissingFieldIsNamed) {
  writeRaw(R"({"name": "tiny", "library": "libtiny.so", "header": "tiny.h",
               "weights": "", "vocab_size": 512, "work": {"bits_per_weight": 32}})");
  llvm::Expected<Manifest> r = readManifest(dir);
  ASSERT_FALSE(static_cast<bool>(r));
  std::string msg = llvm::toString(r.takeError());
  EXPECT_NE(msg.find("work.matmul_macs_per_token is missing"), std::string::npos) << msg;
}

// The expert counts came later: a work section without them loads with
// them marked as not recorded (no batch bytes), a wrong one is named.
constexpr const char *kWorkWithoutExperts =
    R"({"name": "tiny", "library": "libtiny.so", "header": "tiny.h", "weights": "",
        "vocab_size": 512, "work": {"bits_per_weight": 32, "matmul_macs_per_token": 1,
        "lm_head_macs_per_token": 1, "attention_macs_per_token_per_position": 1,
        "scan_flops_per_token": 1, "decode_weights_per_token": 1,
        "decode_weight_bytes_per_token": 4, "decode_state_bytes_per_token": 1,
        "decode_kv_bytes_per_position": 1)";

TEST_F(ManifestWork, ExpertCountsAreOptional) {
  writeRaw(std::string(kWorkWithoutExperts) + "}}");
  llvm::Expected<Manifest> r = readManifest(dir);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  ASSERT_TRUE(r->work.has_value());
  EXPECT_FALSE(r->work->expertsRecorded);
  EXPECT_EQ(r->work->batchDecodeBytes(2, 1), 0.0);

  writeRaw(std::string(kWorkWithoutExperts) + R"(, "num_experts": -2}})");
  r = readManifest(dir);
  ASSERT_FALSE(static_cast<bool>(r));
  std::string msg = llvm::toString(r.takeError());
  EXPECT_NE(msg.find("work.num_experts is not a non-negative integer"), std::string::npos) << msg;
}

// The description `hybridc inspect` prints survives the manifest, and the
// derived memory figures follow the runtime's arithmetic.
TEST_F(ManifestWork, DescriptionRoundTrips) {
  Manifest m = basic();
  LibraryDescription d;
  d.model = llvm::json::Object{{"num_layers", 4}};
  d.targets = {"x86-64-avx2", "x86-64-avx512-bf16"};
  d.variants = {{"x86-64-avx2", "int8", 0, 40}, {"x86-64-avx512-bf16", "int8", 4096, 60}};
  d.weightsDtype = "int4";
  d.matmulInputs = "int8";
  d.tensorKinds["mamba.in_proj"] = {"int4", 3, 1000};
  d.memory = plan();
  d.memory.kvDtype = HYBRIDC_KV_INT8; // not the default, so the round trip shows
  KernelUse k;
  k.symbol = "hk_linear_0";
  k.target = "x86-64-avx512-bf16";
  k.kind = "linear";
  k.weightType = "int4";
  k.sizes = {{"IN", 64}, {"OUT", 296}};
  k.layers = {0, 1, 3};
  k.others = {"lm_head"};
  k.drivers = {"prefill", "decode_batch"};
  d.kernels = {k};
  d.pipeline = {"import", "canonicalize"};
  d.pipelineText = {"builtin.module(canonicalize)"};
  m.description = d;
  ASSERT_FALSE(static_cast<bool>(writeManifest(dir, m)));
  llvm::Expected<Manifest> r = readManifest(dir);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  ASSERT_TRUE(r->description.has_value());
  const LibraryDescription &got = *r->description;
  EXPECT_EQ(got.model.getInteger("num_layers"), 4);
  EXPECT_EQ(got.targets, d.targets);
  EXPECT_EQ(got.weightsDtype, "int4");
  EXPECT_EQ(got.matmulInputs, "int8");
  ASSERT_EQ(got.tensorKinds.count("mamba.in_proj"), 1u);
  EXPECT_EQ(got.tensorKinds.at("mamba.in_proj").dtype, "int4");
  EXPECT_EQ(got.tensorKinds.at("mamba.in_proj").tensors, 3);
  EXPECT_EQ(got.tensorKinds.at("mamba.in_proj").bytes, 1000);
  ASSERT_EQ(got.kernels.size(), 1u);
  EXPECT_EQ(got.kernels[0].symbol, "hk_linear_0");
  EXPECT_EQ(got.kernels[0].target, "x86-64-avx512-bf16");
  ASSERT_EQ(got.variants.size(), 2u);
  EXPECT_EQ(got.variants[1].target, "x86-64-avx512-bf16");
  EXPECT_EQ(got.variants[1].matmulInputs, "int8");
  EXPECT_EQ(got.variants[1].weightsOffset, 4096);
  EXPECT_EQ(got.variants[1].weightsBytes, 60);
  EXPECT_EQ(got.kernels[0].sizes, k.sizes);
  EXPECT_EQ(got.kernels[0].layers, k.layers);
  EXPECT_EQ(got.kernels[0].others, k.others);
  EXPECT_EQ(got.kernels[0].drivers, k.drivers);
  EXPECT_EQ(got.pipeline, d.pipeline);
  EXPECT_EQ(got.pipelineText, d.pipelineText);
  // 2 states of 30; 2 segments x 128; 7 + 512 x 3; one state.
  EXPECT_EQ(got.memory.emptySessionStateBytes(), 60);
  EXPECT_EQ(got.memory.kvBytesPerToken(), 256);
  EXPECT_EQ(got.memory.workspaceBytes(), 7 + 512 * 3);
  EXPECT_EQ(got.memory.checkpointBytes(), 30);
  EXPECT_EQ(got.memory.weightsBytes, 100);
  EXPECT_EQ(got.memory.kvDtype, HYBRIDC_KV_INT8);
}

// A session's memory after N tokens, term by term, as the runtime allocates
// it: 4 states, each rounded up to a 64-byte line (Session.cpp); the KV
// blocks in use, each segment rounded up to 4 KiB pages (Streaming.cpp);
// the history's doubled capacity (Checkpoints.cpp); the checkpoints and the
// workspace of the largest call (Streaming.cpp).
TEST_F(ManifestWork, SessionMemoryAtTokens) {
  const MemoryPlan p = plan();
  const SessionMemory empty = p.sessionAt(0);
  EXPECT_EQ(empty.stateCopiesBytes, 4 * 64);
  EXPECT_EQ(empty.kvBytes, 0);
  EXPECT_EQ(empty.historyBytes, 0);
  EXPECT_EQ(empty.workspaceBytes, 0); // no call yet, no workspace
  EXPECT_EQ(empty.total(), 4 * 64);
  EXPECT_EQ(p.reportedStateBytes(0), p.emptySessionStateBytes());

  // 7 tokens: one block of 16 (2048 bytes a segment, one page each), a
  // history of 64, a call of 7 tokens (7 + 21 = 28 bytes, one line).
  const SessionMemory seven = p.sessionAt(7);
  EXPECT_EQ(seven.kvInUseBytes, 2 * 16 * 128);
  EXPECT_EQ(seven.kvBytes, 2 * 4096);
  EXPECT_EQ(seven.historyBytes, 64 * 4);
  EXPECT_EQ(seven.workspaceTokens, 7);
  EXPECT_EQ(seven.workspaceBytes, 64);
  EXPECT_EQ(seven.total(), 4 * 64 + 2 * 4096 + 64 * 4 + 64);
  EXPECT_EQ(p.reportedStateBytes(7), 2 * 30 + 7 * 4 + 2 * 16 * 128);

  // 1000 tokens, a checkpoint every 300: 63 blocks = 129024 bytes a segment
  // (32 pages), a history of 1024, 3 checkpoints (states of 64 and 16-byte
  // list entries), a full chunk's workspace (7 + 1536, 1600 in lines).
  const SessionMemory long_ = p.sessionAt(1000, 300);
  EXPECT_EQ(long_.kvInUseBytes, 2 * 1008 * 128);
  EXPECT_EQ(long_.kvBytes, 2 * 32 * 4096);
  EXPECT_EQ(long_.historyBytes, 1024 * 4);
  EXPECT_EQ(long_.checkpoints, 3);
  EXPECT_EQ(long_.checkpointBytes, 3 * (64 + 16));
  EXPECT_EQ(long_.workspaceTokens, 512);
  EXPECT_EQ(long_.workspaceBytes, 1600);
  EXPECT_EQ(long_.total(), 4 * 64 + 2 * 32 * 4096 + 1024 * 4 + 3 * 80 + 1600);
  EXPECT_EQ(p.reportedStateBytes(1000, 300), 30 * (2 + 3) + 1000 * 4 + 2 * 1008 * 128);
  EXPECT_EQ(p.sessionAt(1000).checkpoints, 0); // interval 0: none kept

  // A history of exactly 64 tokens stays at 64; one more doubles it.
  EXPECT_EQ(p.sessionAt(64).historyBytes, 64 * 4);
  EXPECT_EQ(p.sessionAt(65).historyBytes, 128 * 4);
  // An attention-free model maps no KV; a Mamba-free one still allocates a
  // line per state buffer.
  MemoryPlan noKv = p;
  noKv.kvSegments = 0;
  EXPECT_EQ(noKv.sessionAt(1000).kvBytes, 0);
  MemoryPlan noState = p;
  noState.stateBytes = 0;
  EXPECT_EQ(noState.sessionAt(10).stateCopiesBytes, 4 * 64);

  // The JSON names every term and the total.
  const llvm::json::Object j = sessionMemoryToJson(long_);
  EXPECT_EQ(j.getInteger("total_bytes"), long_.total());
  EXPECT_EQ(j.getInteger("kv_bytes"), long_.kvBytes);
  EXPECT_EQ(j.getInteger("checkpoints"), 3);
}

// A description from before libraries of several variants (no `variants`,
// no kernel targets) reads as one variant reading the whole payload; a
// variants list that does not match the targets is refused.
TEST_F(ManifestWork, DescriptionWithoutVariantsIsOneVariant) {
  Manifest m = basic();
  LibraryDescription d;
  d.model = llvm::json::Object{{"num_layers", 4}};
  d.targets = {"x86-64-avx512"};
  d.weightsDtype = "f32";
  d.matmulInputs = "f32";
  d.memory = plan();
  KernelUse k;
  k.symbol = "hk_linear_0";
  k.kind = "linear";
  k.weightType = "f32";
  d.kernels = {k};
  m.description = d;
  ASSERT_FALSE(static_cast<bool>(writeManifest(dir, m)));
  const std::string path = dir + "/" + kManifestFileName;
  auto edit = [&](auto change) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf = llvm::MemoryBuffer::getFile(path);
    ASSERT_TRUE(bool(buf));
    llvm::Expected<llvm::json::Value> v = llvm::json::parse((*buf)->getBuffer());
    ASSERT_TRUE(bool(v));
    llvm::json::Object *desc = v->getAsObject()->getObject("description");
    change(*desc);
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    os << *v;
  };
  edit([](llvm::json::Object &desc) {
    desc.erase("variants");
    desc.getArray("kernels")->front().getAsObject()->erase("target");
  });
  llvm::Expected<Manifest> r = readManifest(dir);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  ASSERT_EQ(r->description->variants.size(), 1u);
  EXPECT_EQ(r->description->variants[0].target, "x86-64-avx512");
  EXPECT_EQ(r->description->variants[0].matmulInputs, "f32");
  EXPECT_EQ(r->description->variants[0].weightsOffset, 0);
  EXPECT_EQ(r->description->variants[0].weightsBytes, 100);
  EXPECT_EQ(r->description->kernels[0].target, "x86-64-avx512");
  EXPECT_EQ(r->forVariant("x86-64-avx512").target, "x86-64-avx512");

  edit([](llvm::json::Object &desc) { desc["variants"] = llvm::json::Array{}; });
  r = readManifest(dir);
  ASSERT_FALSE(static_cast<bool>(r));
  EXPECT_NE(llvm::toString(r.takeError())
                .find("description.variants lists 0 variants but targets 1"),
            std::string::npos);
}

} // namespace
