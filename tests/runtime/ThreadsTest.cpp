//===- ThreadsTest.cpp - the parallel-for hook and concurrent sessions -----===//
#include "TestUtil.h"

#include <chrono>
#include <cstring>
#include <set>
#include <thread>

extern "C" int halide_do_par_for(void *user_context,
                                 int (*task)(void *, int, uint8_t *), int min, int size,
                                 uint8_t *closure);
extern "C" void halide_error(void *user_context, const char *msg);

namespace {

struct Counts {
  std::vector<std::atomic<int>> hits;
  int min;
  int fail_at = INT32_MIN;
  int fail_code = 0;
  std::mutex mu;
  std::set<std::thread::id> threads;
  explicit Counts(int min_, int size) : hits(size_t(size)), min(min_) {}
};

int count_task(void *uc, int i, uint8_t *closure) {
  auto *c = reinterpret_cast<Counts *>(closure);
  c->hits[size_t(i - c->min)]++;
  {
    std::lock_guard<std::mutex> lock(c->mu);
    c->threads.insert(std::this_thread::get_id());
  }
  return i == c->fail_at ? c->fail_code : 0;
}

hybridc_call_ctx make_ctx(hybridc_session *s, int threads) {
  hybridc_call_ctx ctx;
  std::memset(&ctx, 0, sizeof ctx);
  ctx.session = s;
  ctx.num_threads = threads;
  return ctx;
}

class ParFor : public ToyTest, public ::testing::WithParamInterface<int> {};

TEST_P(ParFor, RunsEveryTaskExactlyOnce) {
  hybridc_session *s = session();
  ASSERT_EQ(hybridc_rt_session_set_threads(s, GetParam()), HYBRIDC_OK);
  hybridc_call_ctx ctx = make_ctx(s, GetParam());
  const int sizes[] = {0, 1, 2, 3, 7, 1000};
  for (int round = 0; round < 3; ++round) // the pool is reused between loops
    for (int size : sizes) {
      Counts c(-5, size);
      ASSERT_EQ(halide_do_par_for(&ctx, count_task, -5, size, reinterpret_cast<uint8_t *>(&c)),
                0);
      for (int i = 0; i < size; ++i)
        ASSERT_EQ(c.hits[size_t(i)].load(), 1) << "size " << size << " task " << i;
      if (GetParam() == 1) {
        EXPECT_LE(c.threads.size(), 1u) << "one thread means the caller only";
      }
    }
}

TEST_P(ParFor, PropagatesATaskError) {
  hybridc_session *s = session();
  ASSERT_EQ(hybridc_rt_session_set_threads(s, GetParam()), HYBRIDC_OK);
  hybridc_call_ctx ctx = make_ctx(s, GetParam());
  Counts c(0, 200);
  c.fail_at = 17;
  c.fail_code = -3;
  EXPECT_EQ(halide_do_par_for(&ctx, count_task, 0, 200, reinterpret_cast<uint8_t *>(&c)), -3);
  for (int i = 0; i < 200; ++i)
    EXPECT_LE(c.hits[size_t(i)].load(), 1);
  EXPECT_EQ(c.hits[17].load(), 1);
  // The pool keeps working after a failed loop.
  Counts ok(0, 50);
  EXPECT_EQ(halide_do_par_for(&ctx, count_task, 0, 50, reinterpret_cast<uint8_t *>(&ok)), 0);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(ok.hits[size_t(i)].load(), 1);
}

struct Nested {
  hybridc_call_ctx *ctx;
  std::atomic<int> inner_hits{0};
};

int inner_task(void *, int, uint8_t *closure) {
  reinterpret_cast<Nested *>(closure)->inner_hits++;
  return 0;
}

int outer_task(void *uc, int, uint8_t *closure) {
  return halide_do_par_for(uc, inner_task, 0, 10, closure);
}

TEST_P(ParFor, NestedLoopsRunSeriallyInsideTasks) {
  hybridc_session *s = session();
  ASSERT_EQ(hybridc_rt_session_set_threads(s, GetParam()), HYBRIDC_OK);
  hybridc_call_ctx ctx = make_ctx(s, GetParam());
  Nested n;
  n.ctx = &ctx;
  EXPECT_EQ(halide_do_par_for(&ctx, outer_task, 0, 8, reinterpret_cast<uint8_t *>(&n)), 0);
  EXPECT_EQ(n.inner_hits.load(), 80);
}

// Idle workers spin for a while after a loop and then sleep; the caller
// spins, then sleeps, while it waits for them. Gaps between loops from none to
// well past the spin window, and loops that need fewer workers than the pool
// has, exercise every hand-over (a lost wake-up hangs the test).
TEST_P(ParFor, LoopsAfterShortAndLongPausesAllRun) {
  hybridc_session *s = session();
  ASSERT_EQ(hybridc_rt_session_set_threads(s, GetParam()), HYBRIDC_OK);
  hybridc_call_ctx ctx = make_ctx(s, GetParam());
  const int gaps_us[] = {0, 0, 20, 150, 0, 400, 3, 1000, 0, 60};
  const int sizes[] = {2, 3, 5, 64};
  for (int round = 0; round < 40; ++round) {
    int size = sizes[round % 4];
    Counts c(0, size);
    ASSERT_EQ(halide_do_par_for(&ctx, count_task, 0, size, reinterpret_cast<uint8_t *>(&c)), 0);
    for (int i = 0; i < size; ++i)
      ASSERT_EQ(c.hits[size_t(i)].load(), 1) << "round " << round << " task " << i;
    std::this_thread::sleep_for(std::chrono::microseconds(gaps_us[round % 10]));
  }
}

// A task that outlasts the caller's spin: the caller must sleep and be woken.
int slow_task(void *, int i, uint8_t *) {
  if (i == 1)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return 0;
}

TEST_P(ParFor, CallerWaitsForASlowWorker) {
  hybridc_session *s = session();
  ASSERT_EQ(hybridc_rt_session_set_threads(s, GetParam()), HYBRIDC_OK);
  hybridc_call_ctx ctx = make_ctx(s, GetParam());
  for (int round = 0; round < 5; ++round)
    ASSERT_EQ(halide_do_par_for(&ctx, slow_task, 0, 2, nullptr), 0);
}

// Each participant starts on its own contiguous share of the indices; one
// that is held up (here task 0 waits, bounded, for every other task to have
// run) must not hold up the rest of its share: the others take it.
struct Stalled {
  std::atomic<int> done{0};
  std::atomic<bool> sawEveryOther{false};
  int size;
};

int stall_first_task(void *, int i, uint8_t *closure) {
  auto *st = reinterpret_cast<Stalled *>(closure);
  if (i == 0) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (st->done.load() < st->size - 1 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    st->sawEveryOther = st->done.load() == st->size - 1;
  }
  st->done++;
  return 0;
}

TEST_P(ParFor, OthersTakeTheTasksOfAParticipantThatIsHeldUp) {
  if (GetParam() == 1)
    GTEST_SKIP() << "one thread: nobody to take them";
  hybridc_session *s = session();
  ASSERT_EQ(hybridc_rt_session_set_threads(s, GetParam()), HYBRIDC_OK);
  hybridc_call_ctx ctx = make_ctx(s, GetParam());
  Stalled st;
  st.size = 400;
  ASSERT_EQ(halide_do_par_for(&ctx, stall_first_task, 0, st.size, reinterpret_cast<uint8_t *>(&st)),
            0);
  EXPECT_EQ(st.done.load(), st.size);
  EXPECT_TRUE(st.sawEveryOther.load()) << "the held-up share waited for its own participant";
}

INSTANTIATE_TEST_SUITE_P(Threads, ParFor, ::testing::Values(1, 4));

// Four tasks that each wait (bounded) for all four to have started: passes
// only if the pool really runs them on four threads at once.
struct Rendezvous {
  std::atomic<int> arrived{0};
};

int rendezvous_task(void *, int, uint8_t *closure) {
  auto *r = reinterpret_cast<Rendezvous *>(closure);
  r->arrived++;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (r->arrived.load() < 4)
    if (std::chrono::steady_clock::now() > deadline)
      return 1;
  return 0;
}

TEST_F(ToyTest, FourThreadsRunConcurrently) {
  hybridc_session *s = session();
  ASSERT_EQ(hybridc_rt_session_set_threads(s, 4), HYBRIDC_OK);
  hybridc_call_ctx ctx = make_ctx(s, 4);
  Rendezvous r;
  EXPECT_EQ(halide_do_par_for(&ctx, rendezvous_task, 0, 4, reinterpret_cast<uint8_t *>(&r)), 0);
}

TEST_F(ToyTest, ParForWithoutSessionRunsOnCaller) {
  Counts c(3, 5);
  EXPECT_EQ(halide_do_par_for(nullptr, count_task, 3, 5, reinterpret_cast<uint8_t *>(&c)), 0);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(c.hits[size_t(i)].load(), 1);
  EXPECT_EQ(c.threads.size(), 1u);
}

TEST_F(ToyTest, HalideErrorFirstOneWinsAndNeverAborts) {
  hybridc_call_ctx ctx = make_ctx(nullptr, 1);
  halide_error(&ctx, "first");
  halide_error(&ctx, "second");
  EXPECT_EQ(ctx.status, HYBRIDC_ERR_KERNEL);
  EXPECT_STREQ(ctx.message, "halide: first");
  hybridc_rt_kernel_failed(&ctx, "k", -1);
  EXPECT_STREQ(ctx.message, "kernel 'k' failed with Halide status -1: first");
  hybridc_rt_kernel_failed(&ctx, "other", -2); // first failure wins
  EXPECT_STREQ(ctx.message, "kernel 'k' failed with Halide status -1: first");
  halide_error(nullptr, "no context"); // goes to the thread's last error
  EXPECT_STREQ(hybridc_rt_last_error(), "no context");
  std::string longmsg(1000, 'x');
  hybridc_call_ctx ctx2 = make_ctx(nullptr, 1);
  halide_error(&ctx2, longmsg.c_str());
  EXPECT_EQ(std::strlen(ctx2.message), sizeof ctx2.message - 1) << "truncated, terminated";
}

TEST_F(ToyTest, SessionsRunConcurrentlyOnDifferentThreads) {
  constexpr int kSessions = 4;
  std::vector<hybridc_session *> ss;
  for (int i = 0; i < kSessions; ++i) {
    ss.push_back(session());
    ASSERT_EQ(hybridc_rt_session_set_threads(ss.back(), 1 + i % 3), HYBRIDC_OK);
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kSessions; ++i)
    threads.emplace_back([&, i] {
      std::vector<int32_t> t = random_tokens(150, unsigned(1000 + i));
      auto want = toy::reference(t);
      size_t pos = 0;
      while (pos < t.size()) {
        size_t step = std::min<size_t>(t.size() - pos, 1 + (pos * 7 + size_t(i)) % 9);
        std::vector<float> l(step * toy::kVocab);
        if (hybridc_rt_prefill(ss[size_t(i)], t.data() + pos, int64_t(step), l.data(),
                               HYBRIDC_LOGITS_ALL) != HYBRIDC_OK) {
          mismatches++;
          return;
        }
        for (size_t k = 0; k < step; ++k)
          if (!std::equal(want[pos + k].begin(), want[pos + k].end(),
                          l.begin() + long(k * toy::kVocab)))
            mismatches++;
        pos += step;
      }
    });
  for (auto &th : threads)
    th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

} // namespace
