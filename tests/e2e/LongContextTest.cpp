//===- LongContextTest.cpp - a context longer than every tile and chunk ---===//
//
// The tiny model at 20000 tokens, with each KV dtype, against the
// reference fed the same tokens (its K and V rows stored as the library
// stores them): the scan runs 78 chunks of 256, prefill 40 calls of 512
// tokens whose attention tiles see up to 20000 keys, decode splits the keys
// over 40 chunks of 512 per kv head. Then what a long session must keep
// doing: fork, save and load (the image the size `hybridc inspect
// --context` names), truncate to a position between checkpoints.
//
//===----------------------------------------------------------------------===//
#include "E2eSupport.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

using namespace hybridc::e2e;

namespace {

constexpr int64_t kTokens = 20000;
constexpr int64_t kTail = 64;          // rows compared at the end: 48 prefilled, 16 decoded
constexpr int64_t kDecoded = 16;
constexpr int64_t kInterval = 4096;    // checkpoint interval
constexpr int64_t kRewindTo = 17000;   // between the checkpoints at 16384 and 20480
constexpr int64_t kAfterRewind = 8;

struct LongVariant {
  const char *name;
  double tolerance;
};

class LongContext : public ::testing::TestWithParam<LongVariant> {};

// Runs `fn`, printing how long it took (the reference's quadratic attention
// is most of this test's time).
template <typename Fn> void timed(const char *what, Fn fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  std::printf("[long-context] %s: %.1f s\n", what,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

TEST_P(LongContext, MatchesTheReferenceAndKeepsItsSessionOperations) {
  const LongVariant &v = GetParam();
  std::unique_ptr<Library> lib = loadLibrary(outDir(v.name));
  ASSERT_TRUE(lib);
  if (!cpuRuns(lib->manifest().target))
    GTEST_SKIP() << "this CPU cannot run " << lib->manifest().target << " code";
  const int64_t V = lib->vocab();
  const std::vector<int32_t> tokens = randomTokens(kTokens + kAfterRewind, int32_t(V), 2024);

  // The library: one prefill up to the tail, the tail's rows, then decode.
  Runner run(*lib);
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(lib->sessionSetCheckpointInterval(run.session(), kInterval), kOk);
  std::vector<float> got;
  timed("library", [&] {
    const int64_t head = kTokens - kTail;
    ASSERT_FALSE(run.prefillLast(tokens.data(), head).empty());
    got = run.prefillAll(tokens.data() + head, kTail - kDecoded);
    for (int64_t i = kTokens - kDecoded; i < kTokens; ++i) {
      std::vector<float> row = run.decode(tokens[size_t(i)]);
      got.insert(got.end(), row.begin(), row.end());
    }
  });
  ASSERT_EQ(int64_t(got.size()), kTail * V);

  // The reference on the same tokens, plus the ones after the rewind.
  auto ref = makeVariantReference(v.name);
  ASSERT_TRUE(ref);
  std::vector<float> want;
  timed("reference", [&] {
    want = ref->forward(std::vector<int32_t>(tokens.begin(), tokens.end()));
  });
  ASSERT_EQ(int64_t(want.size()), (kTokens + kAfterRewind) * V);
  expectClose(std::string(v.name) + " last 64 of 20000 tokens", got,
              want.data() + (kTokens - kTail) * V, kTail, V, v.tolerance);

  // Fork: the copy continues bit-identically.
  void *fork = nullptr;
  ASSERT_EQ(lib->sessionFork(run.session(), &fork), kOk) << lib->lastError();
  std::vector<float> a(static_cast<size_t>(V));
  // Save: the image the plan names; a new session loads it and continues
  // as the original does.
  const int64_t size = lib->sessionSaveSize(run.session());
  const hybridc::MemoryPlan &plan = lib->manifest().description->memory;
  EXPECT_EQ(size, plan.sessionAt(kTokens, kInterval).imageBytes);
  std::vector<uint8_t> image(static_cast<size_t>(size));
  int64_t written = 0;
  ASSERT_EQ(lib->sessionSave(run.session(), image.data(), size, &written), kOk)
      << lib->lastError();
  EXPECT_EQ(written, size);
  Runner loaded(*lib);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(lib->sessionLoad(loaded.session(), image.data(), size), kOk) << lib->lastError();
  EXPECT_EQ(lib->sessionPosition(loaded.session()), kTokens);
  for (int64_t i = kTokens; i < kTokens + 4; ++i) {
    const int32_t t = tokens[size_t(i)];
    ASSERT_EQ(lib->decode(fork, t, a.data()), kOk) << lib->lastError();
    std::vector<float> original = run.decode(t), copied = loaded.decode(t);
    EXPECT_EQ(0, std::memcmp(a.data(), original.data(), a.size() * sizeof(float)))
        << "fork differs at position " << i;
    EXPECT_EQ(0, std::memcmp(copied.data(), original.data(), a.size() * sizeof(float)))
        << "loaded image differs at position " << i;
  }
  lib->sessionFree(fork);

  // Truncate between checkpoints, then the tokens after it again: the
  // reference's rows at those positions.
  ASSERT_EQ(lib->sessionTruncate(run.session(), kRewindTo), kOk) << lib->lastError();
  std::vector<float> rewound;
  for (int64_t i = kRewindTo; i < kRewindTo + kAfterRewind; ++i) {
    std::vector<float> row = run.decode(tokens[size_t(i)]);
    rewound.insert(rewound.end(), row.begin(), row.end());
  }
  expectClose(std::string(v.name) + " truncated to 17000, decoded 8", rewound,
              want.data() + kRewindTo * V, kAfterRewind, V, v.tolerance);
}

// f32 KV: the f32 tolerance of CompiledModelTest.cpp. bf16 KV likewise
// (its reference rounds the rows too). int8: decode quantizes the query,
// measured within 5.5e-4 there: 1e-3.
INSTANTIATE_TEST_SUITE_P(Dtypes, LongContext,
                         ::testing::Values(LongVariant{"tiny_f32_avx512", kF32Tol},
                                           LongVariant{"tiny_kv_bf16", kF32Tol},
                                           LongVariant{"tiny_kv_int8", 1e-3}),
                         [](const auto &info) { return std::string(info.param.name); });

} // namespace
