//===- TargetTest.cpp - --target names -------------------------------------===//
#include "hybridc/Codegen/KernelSpec.h"

#include <gtest/gtest.h>

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
