//===- FeedForwardTest.cpp - MoE routing ----------------------------------===//

#include "FeedForward.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace hybridc::reference;

TEST(MoeRoutingTest, TopKByLogitWithLowerIdFirstOnTies) {
  ExpertChoice choice = routeTopK({1.0f, 3.0f, -2.0f, 3.0f, 0.5f}, 3);
  ASSERT_EQ(choice.experts.size(), 3u);
  EXPECT_EQ(choice.experts[0], 1);
  EXPECT_EQ(choice.experts[1], 3);
  EXPECT_EQ(choice.experts[2], 0);
  // Softmax over the selected logits only: e^3, e^3, e^1.
  const double total = 2 * std::exp(3.0) + std::exp(1.0);
  EXPECT_NEAR(choice.gates[0], std::exp(3.0) / total, 1e-7);
  EXPECT_NEAR(choice.gates[1], std::exp(3.0) / total, 1e-7);
  EXPECT_NEAR(choice.gates[2], std::exp(1.0) / total, 1e-7);
}

TEST(MoeRoutingTest, GatesAreRenormalisedFullSoftmax) {
  std::vector<float> logits = {0.3f, -1.2f, 2.5f, 0.9f, -0.4f, 1.7f};
  ExpertChoice choice = routeTopK(logits, 2);
  ASSERT_EQ(choice.experts, (std::vector<int64_t>{2, 5}));
  // Same as softmax over all experts, then renormalising the chosen two.
  double full[6], sum = 0.0;
  for (int e = 0; e < 6; ++e)
    sum += full[e] = std::exp(double(logits[e]));
  const double kept = full[2] / sum + full[5] / sum;
  EXPECT_NEAR(choice.gates[0], full[2] / sum / kept, 1e-7);
  EXPECT_NEAR(choice.gates[1], full[5] / sum / kept, 1e-7);
}
