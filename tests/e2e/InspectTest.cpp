//===- InspectTest.cpp - `hybridc inspect`'s figures against the runtime ---===//
//
// The memory plan a library's description states (the manifest section
// `hybridc inspect` prints) must be what its sessions then report and
// allocate: session_state_bytes of an empty session, then after N tokens
// (KV blocks and token history) and with kept checkpoints, as the plan at N
// tokens (`hybridc inspect --context N`) states them.
//
//===----------------------------------------------------------------------===//
#include "E2eSupport.h"

#include "hybridc/Run/Manifest.h"
#include "hybridc/kv_layout.h"
#include "hybridc/runtime_abi.h"

#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

using namespace hybridc;
using namespace hybridc::e2e;

namespace {

class Inspect : public ::testing::TestWithParam<const char *> {};

TEST_P(Inspect, MemoryPlanIsWhatTheRuntimeReports) {
  std::unique_ptr<Library> lib = loadLibrary(outDir(GetParam()));
  ASSERT_TRUE(lib);
  if (!cpuRuns(lib->manifest().target))
    GTEST_SKIP() << "this CPU cannot run " << lib->manifest().target << " code";
  ASSERT_TRUE(lib->manifest().description.has_value());
  const MemoryPlan &plan = lib->manifest().description->memory;
  ASSERT_GT(plan.stateBytes, 0);
  ASSERT_GT(plan.kvBytesPerToken(), 0);

  Runner run(*lib);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(lib->sessionStateBytes(run.session()), plan.emptySessionStateBytes());
  EXPECT_EQ(lib->sessionStateBytes(run.session()), plan.reportedStateBytes(0));

  // The plan at N tokens, term by term, against what the session reports:
  // the two states, the kept checkpoints, 4 bytes of history a token and
  // the KV blocks in use (whole blocks of 16 tokens: 7 tokens hold one, 40
  // hold three).
  auto expectPlanned = [&](void *session, int64_t tokens, int64_t interval) {
    const SessionMemory s = plan.sessionAt(tokens, interval);
    ASSERT_EQ(lib->sessionPosition(session), tokens);
    const int64_t reported = lib->sessionStateBytes(session);
    EXPECT_EQ(reported, plan.reportedStateBytes(tokens, interval))
        << tokens << " tokens, checkpoint interval " << interval;
    EXPECT_EQ(reported, (2 + s.checkpoints) * plan.stateBytes +
                            tokens * static_cast<int64_t>(sizeof(int32_t)) + s.kvInUseBytes)
        << tokens << " tokens, checkpoint interval " << interval;
    // Its state image, the size the plan names.
    EXPECT_EQ(lib->sessionSaveSize(session), s.imageBytes)
        << tokens << " tokens, checkpoint interval " << interval;
    // Resident KV: the blocks in use, each segment within one more page.
    EXPECT_GE(s.kvBytes, s.kvInUseBytes);
    EXPECT_LT(s.kvBytes, s.kvInUseBytes + plan.kvSegments * 4096 + 1);
  };
  const std::vector<int32_t> prompt = randomTokens(7, lib->vocab(), 5);
  ASSERT_FALSE(run.prefillLast(prompt.data(), 7).empty());
  expectPlanned(run.session(), 7, 0);
  EXPECT_EQ(plan.sessionAt(7).kvInUseBytes, HYBRIDC_KV_BLOCK_TOKENS * plan.kvBytesPerToken());
  const std::vector<int32_t> more = randomTokens(33, lib->vocab(), 6);
  ASSERT_FALSE(run.prefillLast(more.data(), 33).empty());
  expectPlanned(run.session(), 40, 0);
  EXPECT_EQ(plan.sessionAt(40).kvInUseBytes, 3 * HYBRIDC_KV_BLOCK_TOKENS * plan.kvBytesPerToken());

  // Interval 4 from the start, positions 0 -> 7 -> 13: checkpoints at 4, 8
  // and 12, whatever the calls' sizes.
  Runner kept(*lib);
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(lib->sessionSetCheckpointInterval(kept.session(), 4), kOk);
  ASSERT_FALSE(kept.prefillLast(prompt.data(), 7).empty());
  ASSERT_FALSE(kept.prefillLast(more.data(), 6).empty());
  expectPlanned(kept.session(), 13, 4);
  EXPECT_EQ(plan.sessionAt(13, 4).checkpoints, 3);

  // The weights file holds the header and the stated payload.
  if (!lib->weightsPath().empty()) {
    uint64_t fileBytes = 0;
    ASSERT_FALSE(llvm::sys::fs::file_size(lib->weightsPath(), fileBytes));
    EXPECT_EQ(static_cast<int64_t>(fileBytes),
              plan.weightsBytes + static_cast<int64_t>(HYBRIDC_WEIGHTS_HEADER_BYTES));
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, Inspect,
                         ::testing::Values("tiny_api", "tiny_int4_avx2", "tiny_bf16dot"),
                         [](const auto &info) { return std::string(info.param); });

// The stored type of each kind of tensor in an int4 library: int4 matrices,
// int8 for lm_head and the attention K/V projections, bf16 embedding rows,
// f32 for the router, norms and SSM parameters.
TEST(InspectTensorKinds, Int4LibraryNamesEachKindsType) {
  std::unique_ptr<Library> lib = loadLibrary(outDir("tiny_int4_avx2"));
  ASSERT_TRUE(lib);
  ASSERT_TRUE(lib->manifest().description.has_value());
  const auto &kinds = lib->manifest().description->tensorKinds;
  auto dtypeOf = [&](const std::string &kind) {
    auto it = kinds.find(kind);
    return it == kinds.end() ? std::string("(missing)") : it->second.dtype;
  };
  EXPECT_EQ(dtypeOf("mamba.in_proj"), "int4");
  EXPECT_EQ(dtypeOf("block_sparse_moe.input_linear"), "int4");
  EXPECT_EQ(dtypeOf("self_attn.q_proj"), "int4");
  EXPECT_EQ(dtypeOf("self_attn.k_proj"), "int8");
  EXPECT_EQ(dtypeOf("lm_head (tied to embed_tokens)"), "int8");
  EXPECT_EQ(dtypeOf("embed_tokens"), "bf16");
  EXPECT_EQ(dtypeOf("block_sparse_moe.router"), "f32");
  EXPECT_EQ(dtypeOf("mamba.A_log"), "f32");
  // Every planned byte belongs to a kind, within the payload.
  int64_t bytes = 0;
  for (const auto &[kind, k] : kinds)
    bytes += k.bytes;
  EXPECT_GT(bytes, 0);
  EXPECT_LE(bytes, lib->manifest().description->memory.weightsBytes);
}

} // namespace
