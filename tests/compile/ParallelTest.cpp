//===- ParallelTest.cpp - compile tasks on threads and in child processes -===//
#include "Parallel.h"

#include "TestFiles.h"

#include <atomic>
#include <csignal>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>
#include <vector>

using namespace hybridc;
using namespace hybridc::test;

namespace {

TEST(ParallelFor, RunsEveryIndexOnceOnItsWorkers) {
  for (unsigned threads : {1u, 2u, 4u})
    for (size_t n : {size_t(0), size_t(1), size_t(3), size_t(200)}) {
      std::vector<std::atomic<int>> hits(n);
      std::atomic<bool> badWorker{false};
      parallelFor(n, threads, [&](size_t i, unsigned worker) {
        hits[i]++;
        if (worker >= threads)
          badWorker = true;
        return true;
      });
      for (size_t i = 0; i < n; ++i)
        EXPECT_EQ(hits[i].load(), 1) << "threads " << threads << " n " << n << " index " << i;
      EXPECT_FALSE(badWorker.load());
    }
}

TEST(ParallelFor, EveryIndexBelowAFailureRuns) {
  for (unsigned threads : {1u, 3u}) {
    std::vector<std::atomic<int>> hits(100);
    parallelFor(100, threads, [&](size_t i, unsigned) {
      hits[i]++;
      return i != 40;
    });
    for (size_t i = 0; i <= 40; ++i)
      EXPECT_EQ(hits[i].load(), 1) << "index " << i;
    if (threads == 1) {
      for (size_t i = 41; i < 100; ++i)
        EXPECT_EQ(hits[i].load(), 0) << "serial: nothing after the failure";
    }
  }
}

TEST(TaskThreads, StaysWithinTasksAndLimit) {
  EXPECT_EQ(taskThreads(0), 1u);
  EXPECT_EQ(taskThreads(1), 1u);
  EXPECT_LE(taskThreads(1000, 3), 3u);
  EXPECT_GE(taskThreads(1000, 3), 1u);
}

TEST(ChildProcesses, RunEveryTaskInItsOwnProcess) {
  TempDir dir;
  const pid_t parent = ::getpid();
  std::vector<ChildOutcome> out = runInChildProcesses(9, 3, [&](size_t i) -> std::string {
    if (::getpid() == parent)
      return "ran in the parent";
    std::ofstream(dir.file("task" + std::to_string(i))) << i;
    return "";
  });
  ASSERT_EQ(out.size(), 9u);
  for (size_t i = 0; i < 9; ++i) {
    EXPECT_TRUE(out[i].started);
    EXPECT_FALSE(out[i].failed()) << out[i].error;
    EXPECT_EQ(readFile(dir.file("task" + std::to_string(i))), std::to_string(i));
  }
}

TEST(ChildProcesses, ReportTaskErrorsAndStartNothingAfterAFailure) {
  std::vector<ChildOutcome> out = runInChildProcesses(10, 1, [](size_t i) -> std::string {
    return i == 3 || i == 7 ? "task " + std::to_string(i) + " failed" : "";
  });
  for (size_t i = 0; i < 3; ++i)
    EXPECT_FALSE(out[i].failed());
  EXPECT_EQ(out[3].error, "task 3 failed");
  EXPECT_FALSE(out[3].processFailed);
  for (size_t i = 4; i < 10; ++i)
    EXPECT_FALSE(out[i].started) << "index " << i;
}

TEST(ChildProcesses, LowestFailureIsKeptWhenSeveralRunAtOnce) {
  std::vector<ChildOutcome> out = runInChildProcesses(6, 4, [](size_t i) -> std::string {
    if (i == 1)
      ::usleep(100 * 1000); // fails last, but is the first in order
    return i == 1 || i == 2 ? "failed " + std::to_string(i) : "";
  });
  size_t first = 0;
  while (first < out.size() && !out[first].failed())
    ++first;
  EXPECT_EQ(first, 1u);
  EXPECT_EQ(out[1].error, "failed 1");
}

TEST(ChildProcesses, ACrashIsReportedForItsTaskOnly) {
  std::vector<ChildOutcome> out = runInChildProcesses(3, 2, [](size_t i) -> std::string {
    if (i == 1)
      std::raise(SIGKILL);
    return "";
  });
  EXPECT_FALSE(out[0].failed());
  EXPECT_TRUE(out[1].processFailed);
  EXPECT_NE(out[1].error.find("killed by signal 9"), std::string::npos) << out[1].error;
}

TEST(ChildProcesses, LongErrorsAreCutNotOverflowed) {
  std::vector<ChildOutcome> out =
      runInChildProcesses(2, 2, [](size_t) { return std::string(100000, 'e'); });
  for (const ChildOutcome &o : out) {
    EXPECT_FALSE(o.processFailed);
    EXPECT_GT(o.error.size(), 1000u);
    EXPECT_LT(o.error.size(), 100000u);
  }
}

} // namespace
