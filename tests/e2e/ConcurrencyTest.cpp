//===- ConcurrencyTest.cpp - sessions in threads, models side by side -----===//
#include "E2eSupport.h"

#include <gtest/gtest.h>

#include <thread>

using namespace hybridc::e2e;

namespace {

/// Prefill of `tokens` minus the last 20 (all rows), then 20 decodes.
std::vector<float> runSequence(const Library &lib, void *session,
                               const std::vector<int32_t> &tokens, std::string &error) {
  const int64_t V = lib.vocab(), prompt = static_cast<int64_t>(tokens.size()) - 20;
  std::vector<float> out(tokens.size() * V);
  if (lib.prefill(session, tokens.data(), prompt, out.data(), kLogitsAll) != kOk) {
    error = std::string("prefill: ") + lib.lastError();
    return {};
  }
  for (size_t i = prompt; i < tokens.size(); ++i)
    if (lib.decode(session, tokens[i], out.data() + i * V) != kOk) {
      error = std::string("decode: ") + lib.lastError();
      return {};
    }
  return out;
}

// One model, several sessions on their own threads at the same time (each
// with its own worker threads): all give the results of a lone session,
// bit for bit (same thread count, so the same summation order).
TEST(tiny_f32_avx512_Threads, ConcurrentSessionsGiveIdenticalResults) {
  auto lib = loadLibrary(outDir("tiny_f32_avx512"));
  ASSERT_TRUE(lib);
  if (!cpuRuns(lib->manifest().target))
    GTEST_SKIP() << "this CPU cannot run " << lib->manifest().target << " code";
  auto tokens = randomTokens(120, lib->vocab(), 51);
  void *model = nullptr;
  ASSERT_EQ(lib->modelOpen(lib->weightsPath().c_str(), &model), kOk) << lib->lastError();

  auto runOne = [&](std::vector<float> &out, std::string &error, int rounds) {
    void *session = nullptr;
    if (lib->sessionCreate(model, &session) != kOk ||
        lib->sessionSetThreads(session, 2) != kOk) {
      error = std::string("session: ") + lib->lastError();
      return;
    }
    for (int r = 0; r < rounds && error.empty(); ++r) {
      std::vector<float> got = runSequence(*lib, session, tokens, error);
      if (r > 0 && got != out)
        error = "round " + std::to_string(r) + " differs from round 0";
      out = std::move(got);
      lib->sessionReset(session);
    }
    lib->sessionFree(session);
  };

  std::vector<float> baseline;
  std::string baselineError;
  runOne(baseline, baselineError, 1);
  ASSERT_EQ(baselineError, "");

  constexpr int kThreads = 4;
  std::vector<std::vector<float>> results(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] { runOne(results[t], errors[t], 3); });
  for (auto &th : threads)
    th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
    EXPECT_TRUE(results[t] == baseline) << "thread " << t << " differs from a lone session";
  }
  lib->modelClose(model);

  // And the shared result is the right one.
  auto ref = makeVariantReference("tiny_f32_avx512");
  ASSERT_TRUE(ref);
  auto want = ref->forward(tokens);
  expectClose("tiny_f32_avx512 lone session (tol 1e-4)", baseline, want.data(), tokens.size(),
              lib->vocab(), 1e-4);
}

/// Runs `a` and `b` concurrently, each on its own thread, and compares each
/// with its own reference.
void runSideBySide(const char *variantA, const char *variantB) {
  auto a = loadLibrary(outDir(variantA));
  auto b = loadLibrary(outDir(variantB));
  ASSERT_TRUE(a && b);
  if (!cpuRuns(a->manifest().target) || !cpuRuns(b->manifest().target))
    GTEST_SKIP() << "this CPU cannot run both libraries' code";
  auto tokens = randomTokens(80, a->vocab(), 52);
  std::vector<float> gotA, gotB;
  std::string errA, errB;
  auto run = [&](const Library &lib, std::vector<float> &out, std::string &err) {
    void *model = nullptr, *session = nullptr;
    if (lib.modelOpen(lib.weightsPath().c_str(), &model) != kOk ||
        lib.sessionCreate(model, &session) != kOk) {
      err = lib.lastError();
      return;
    }
    out = runSequence(lib, session, tokens, err);
    lib.sessionFree(session);
    lib.modelClose(model);
  };
  std::thread ta([&] { run(*a, gotA, errA); });
  std::thread tb([&] { run(*b, gotB, errB); });
  ta.join();
  tb.join();
  ASSERT_EQ(errA, "");
  ASSERT_EQ(errB, "");
  auto refA = makeVariantReference(variantA), refB = makeVariantReference(variantB);
  ASSERT_TRUE(refA && refB);
  auto wantA = refA->forward(tokens), wantB = refB->forward(tokens);
  expectClose(std::string(variantA) + " beside " + variantB + " (tol 1e-4)", gotA,
              wantA.data(), tokens.size(), a->vocab(), 1e-4);
  expectClose(std::string(variantB) + " beside " + variantA + " (tol 1e-4)", gotB,
              wantB.data(), tokens.size(), b->vocab(), 1e-4);
}

// Two different compiled models (prefixes tinyapi and tiny2) in one process.
TEST(SideBySide, TwoCompiledModelsInOneProcess) {
  runSideBySide("tiny_api", "tiny_f32_avx2");
}

// Two libraries with the same prefix (seeds 1 and 2): RTLD_LOCAL keeps each
// one's symbols and weights apart, so each matches its own checkpoint.
TEST(SideBySide, SamePrefixDifferentWeights) { runSideBySide("tiny_api", "tiny_seed2"); }

} // namespace
