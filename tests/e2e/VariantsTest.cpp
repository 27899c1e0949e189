//===- VariantsTest.cpp - every CPU variant of one library ----------------===//
//
// tiny_int8_multi is one library of x86-64-avx2, x86-64-avx512 and
// x86-64-avx512-bf16 with int8 weights (three weights layouts: groups of 2
// bytes without VNNI, 4 with it, 8 or 16 lanes). Each variant this CPU
// runs, forced with HYBRIDC_CPU, must open as itself and follow the
// reference at the int8 tolerance; unforced, the best one opens. (The
// Compiled suite runs the whole battery on the library as it opens.)
//
//===----------------------------------------------------------------------===//
#include "E2eSupport.h"

#include "llvm/ADT/StringRef.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace hybridc::e2e {
namespace {

constexpr const char *kMulti = "tiny_int8_multi";

std::vector<std::string> listedTargets(const Library &lib) {
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(lib.manifest().target).split(parts, ',');
  return std::vector<std::string>(parts.begin(), parts.end());
}

/// Sets HYBRIDC_CPU for one scope.
struct ForcedCpu {
  explicit ForcedCpu(const std::string &target) { setenv("HYBRIDC_CPU", target.c_str(), 1); }
  ~ForcedCpu() { unsetenv("HYBRIDC_CPU"); }
};

TEST(tiny_int8_multi_Variants, EachVariantThisCpuRunsFollowsTheReference) {
  std::unique_ptr<Library> lib = loadLibrary(outDir(kMulti));
  ASSERT_TRUE(lib);
  const std::vector<std::string> targets = listedTargets(*lib);
  ASSERT_EQ(targets, (std::vector<std::string>{"x86-64-avx2", "x86-64-avx512",
                                               "x86-64-avx512-bf16"}));
  const Variant v = int8Dot(kMulti, true);
  auto ref = makeVariantReference(v);
  ASSERT_TRUE(ref);
  const std::vector<int32_t> tokens = randomTokens(21, int32_t(lib->vocab()), 77);
  const std::vector<float> want = ref->forward(tokens);
  const int64_t certain = rowsBeforeRoutingTie(ref->routingMargins(), v.routingTieMargin);
  int ran = 0;
  for (const std::string &target : targets) {
    if (!cpuRuns(target))
      continue;
    ForcedCpu forced(target);
    Runner run(*lib);
    ASSERT_TRUE(run.ok()) << target;
    EXPECT_STREQ(lib->modelTarget(run.model()), target.c_str());
    std::vector<float> got = run.prefillAll(tokens.data(), int64_t(tokens.size()));
    ASSERT_FALSE(got.empty()) << target;
    expectClose(std::string(kMulti) + " forced to " + target, got, want.data(),
                int64_t(tokens.size()), lib->vocab(), v.tolerance, certain);
    ++ran;
  }
  EXPECT_GE(ran, 1) << "x86-64-avx2 runs on every CPU hybridc supports";
}

TEST(tiny_int8_multi_Variants, UnforcedTheBestVariantThisCpuRunsOpens) {
  std::unique_ptr<Library> lib = loadLibrary(outDir(kMulti));
  ASSERT_TRUE(lib);
  std::string best;
  for (const std::string &target : listedTargets(*lib)) // listed by level
    if (cpuRuns(target))
      best = target;
  Runner run(*lib);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(std::string(lib->modelTarget(run.model())), best);
}

TEST(tiny_int8_multi_Variants, AVariantTheLibraryLacksIsRefusedAtOpen) {
  std::unique_ptr<Library> lib = loadLibrary(outDir(kMulti));
  ASSERT_TRUE(lib);
  ForcedCpu forced("aarch64");
  void *model = nullptr;
  std::string weights = lib->weightsPath();
  EXPECT_EQ(lib->modelOpen(weights.c_str(), &model), kCpu);
  EXPECT_EQ(model, nullptr);
  EXPECT_EQ(std::string(lib->lastError()),
            "model_open: HYBRIDC_CPU=aarch64 names no variant of 'tinymulti' (it holds "
            "x86-64-avx2, x86-64-avx512, x86-64-avx512-bf16)");
}

} // namespace
} // namespace hybridc::e2e
