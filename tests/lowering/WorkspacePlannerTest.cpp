//===- WorkspacePlannerTest.cpp - buffer reuse by liveness ----------------===//
#include "WorkspacePlanner.h"

#include <gtest/gtest.h>

using hybridc::WorkspacePlanner;

namespace {

bool overlap(int64_t a, int64_t aw, int64_t b, int64_t bw) { return a < b + bw && b < a + aw; }

TEST(WorkspacePlanner, LiveBuffersGetDisjointColumns) {
  WorkspacePlanner p;
  int a = p.add(64, 0, 3), b = p.add(296, 1, 2), c = p.add(7, 2, 5);
  p.plan();
  EXPECT_FALSE(overlap(p.offset(a), 64, p.offset(b), 296));
  EXPECT_FALSE(overlap(p.offset(a), 64, p.offset(c), 16));
  EXPECT_FALSE(overlap(p.offset(b), 296, p.offset(c), 16));
  for (int id : {a, b, c})
    EXPECT_EQ(p.offset(id) % 16, 0) << "buffers start 64-byte aligned";
}

TEST(WorkspacePlanner, DeadBuffersAreReused) {
  WorkspacePlanner p;
  // A chain x0 -> x1 -> x2 -> x3: each value dies where the next is born, so
  // two columns ranges suffice however long the chain is.
  int prev = p.add(64, 0, 1);
  std::vector<int> ids{prev};
  for (int i = 1; i < 20; ++i)
    ids.push_back(p.add(64, i, i + 1));
  p.plan();
  EXPECT_EQ(p.rowElements(), 128);
  for (size_t i = 1; i < ids.size(); ++i)
    EXPECT_NE(p.offset(ids[i]), p.offset(ids[i - 1]));
}

TEST(WorkspacePlanner, WidthsRoundUpToSixteenElements) {
  WorkspacePlanner p;
  p.add(1, 0, 0);
  p.add(17, 0, 0);
  p.plan();
  EXPECT_EQ(p.rowElements(), 16 + 32);
}

} // namespace
