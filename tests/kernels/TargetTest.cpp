//===- TargetTest.cpp - --target names -------------------------------------===//
#include "hybridc/Codegen/KernelSpec.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace hybridc::codegen;

TEST(Targets, ExplicitTargetsHaveFixedFeatures) {
  std::string error;
  auto avx2 = resolveTarget("x86-64-avx2", error);
  ASSERT_TRUE(avx2.has_value()) << error;
  EXPECT_EQ(avx2->lanes, 8);
  EXPECT_NE(avx2->halideTarget.find("avx2"), std::string::npos);
  EXPECT_EQ(avx2->halideTarget.find("avx512"), std::string::npos);
  EXPECT_NE(avx2->halideTarget.find("user_context"), std::string::npos);
  auto avx512 = resolveTarget("x86-64-avx512", error);
  ASSERT_TRUE(avx512.has_value()) << error;
  EXPECT_EQ(avx512->lanes, 16);
  EXPECT_NE(avx512->halideTarget.find("avx512_skylake"), std::string::npos);
}

TEST(Targets, UnknownTargetIsAnErrorListingTheKnownOnes) {
  std::string error;
  EXPECT_FALSE(resolveTarget("arm64", error).has_value());
  EXPECT_NE(error.find("unknown target 'arm64'"), std::string::npos) << error;
  EXPECT_NE(error.find("x86-64-avx512"), std::string::npos) << error;
}

TEST(Targets, Bf16TargetUsesSapphireRapidsFeaturesOnlyForBf16) {
  std::string error;
  auto t = resolveTarget("x86-64-avx512-bf16", error);
  ASSERT_TRUE(t.has_value()) << error;
  EXPECT_EQ(t->lanes, 16);
  EXPECT_TRUE(t->bf16Dot);
  EXPECT_NE(t->halideTarget.find("avx512_sapphirerapids"), std::string::npos);
  // The driver is control code: it must not be compiled for a CPU with
  // AVX512-FP16 / AMX either.
  EXPECT_EQ(t->llvmCpu, "skylake-avx512");
}

TEST(Targets, HostIsTheBestNamedTargetThisCpuRuns) {
  std::string error;
  auto host = resolveTarget("host", error);
  ASSERT_TRUE(host.has_value()) << error;
  EXPECT_NE(host->name, "host");
  EXPECT_TRUE(cpuSupports(*host)) << host->name;
  // No named target after it in the table (best last) runs here too.
  std::vector<std::string> names = knownTargets();
  auto at = std::find(names.begin(), names.end(), host->name);
  ASSERT_NE(at, names.end());
  for (auto it = at + 1; it != names.end() && *it != "host"; ++it)
    EXPECT_FALSE(cpuSupports(*resolveTarget(*it, error))) << *it;
}

TEST(Targets, Aarch64IsNeonWithDotProductCrossCompiled) {
  std::string error;
  auto t = resolveTarget("aarch64", error);
  ASSERT_TRUE(t.has_value()) << error;
  EXPECT_EQ(t->lanes, 4);
  EXPECT_EQ(t->vectorRegisters, 32);
  EXPECT_TRUE(t->wideRegisterFile());
  EXPECT_EQ(t->halideTarget.rfind("arm-64-linux-arm_dot_prod", 0), 0u) << t->halideTarget;
  EXPECT_NE(t->halideTarget.find("user_context"), std::string::npos);
  EXPECT_EQ(t->llvmTriple, "aarch64-linux-gnu");
  EXPECT_NE(t->llvmFeatures.find("+dotprod"), std::string::npos);
  EXPECT_EQ(t->cc, "aarch64-linux-gnu-gcc");
  EXPECT_TRUE(t->crossCompiled());
  // No bf16 or int8 dot instructions of x86's: bf16 widens to f32 (no
  // pairs), int8 blocks are summed two products per lane.
  EXPECT_FALSE(t->bf16Dot);
  EXPECT_EQ(linearPacking(*t, WeightType::BF16).group, 1);
  EXPECT_EQ(linearPacking(*t, WeightType::INT8).group, 2);
  EXPECT_EQ(linearPacking(*t, WeightType::F32).lanes, 4);
  // An x86 process never runs it, and `host` never picks it.
  EXPECT_FALSE(cpuSupports(*t));
  EXPECT_NE(resolveTarget("host", error)->name, "aarch64");
  auto x86 = resolveTarget("x86-64-avx2", error);
  EXPECT_FALSE(x86->crossCompiled());
  EXPECT_EQ(x86->cc, "cc");
  EXPECT_FALSE(x86->wideRegisterFile());
}

TEST(Targets, EveryTargetRunsHere) {
  // Not a failure: the kernel and e2e tests of a target this CPU cannot run
  // are skipped; this names them in the test report. Cross targets (another
  // machine altogether) run under qemu in the e2e tests and are not counted.
  std::string skipped;
  std::string error;
  for (const std::string &name : knownTargets())
    if (name != "host" && !resolveTarget(name, error)->crossCompiled() &&
        !cpuSupports(*resolveTarget(name, error)))
      skipped += " " + name;
  if (!skipped.empty())
    GTEST_SKIP() << "this CPU cannot run code for:" << skipped
                 << " (their kernel tests run only where it can)";
}

TEST(Targets, WeightTypeNamesRoundTrip) {
  for (WeightType w : {WeightType::F32, WeightType::BF16})
    EXPECT_EQ(parseWeightType(weightTypeName(w)), w);
  EXPECT_FALSE(parseWeightType("f16").has_value());
}
