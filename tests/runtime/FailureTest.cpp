//===- FailureTest.cpp - a failed call leaves the session exactly as before ===//
#include "TestUtil.h"

#include <functional>
#include <thread>

namespace {

// Runs `fail` on a session holding a 6-token prefix, expects `status` with
// `fragment` in the message, then checks the session continues exactly like
// one that never saw the failed call (position, logits of later calls).
void expect_rollback(ToyTest *t, hybridc_session *s, int status, const std::string &fragment,
                     const std::function<int(hybridc_session *)> &fail) {
  std::vector<int32_t> prefix = random_tokens(6, 99);
  ASSERT_EQ(hybridc_rt_prefill(s, prefix.data(), 6, nullptr, HYBRIDC_LOGITS_LAST), HYBRIDC_OK);
  int64_t bytes = hybridc_rt_session_state_bytes(s);

  EXPECT_EQ(fail(s), status);
  std::string msg = hybridc_rt_last_error();
  EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
  EXPECT_EQ(hybridc_rt_session_position(s), 6);
  EXPECT_EQ(hybridc_rt_session_state_bytes(s), bytes);

  // Continue with a prefill spanning several chunks, then decodes.
  std::vector<int32_t> more = random_tokens(9, 100);
  std::vector<int32_t> all = prefix;
  all.insert(all.end(), more.begin(), more.end());
  auto want = toy::reference(all);
  std::vector<float> flat(more.size() * toy::kVocab);
  ASSERT_EQ(hybridc_rt_prefill(s, more.data(), int64_t(more.size()), flat.data(),
                               HYBRIDC_LOGITS_ALL),
            HYBRIDC_OK)
      << hybridc_rt_last_error();
  for (size_t i = 0; i < more.size(); ++i)
    EXPECT_EQ(std::vector<float>(flat.begin() + long(i * toy::kVocab),
                                 flat.begin() + long((i + 1) * toy::kVocab)),
              want[6 + i])
        << "row " << i;
  all.push_back(2);
  EXPECT_EQ(decode(s, 2), toy::reference(all).back());
  (void)t;
}

TEST_F(ToyTest, TokenOutOfRangeNamesIndexAndValue) {
  expect_rollback(this, session(), HYBRIDC_ERR_INVALID_ARGUMENT, "tokens[2] = 11",
                  [](hybridc_session *s) {
                    int32_t bad[] = {1, 2, toy::kVocab, 3};
                    float l[toy::kVocab];
                    return hybridc_rt_prefill(s, bad, 4, l, HYBRIDC_LOGITS_LAST);
                  });
  expect_rollback(this, session(), HYBRIDC_ERR_INVALID_ARGUMENT, "tokens[0] = -1",
                  [](hybridc_session *s) {
                    int32_t bad[] = {-1};
                    return hybridc_rt_prefill(s, bad, 1, nullptr, HYBRIDC_LOGITS_LAST);
                  });
  expect_rollback(this, session(), HYBRIDC_ERR_INVALID_ARGUMENT, "token 11",
                  [](hybridc_session *s) { return hybridc_rt_decode(s, toy::kVocab, nullptr); });
  EXPECT_EQ(toy::hooks().prefill_calls.load() + toy::hooks().decode_calls.load(), 3 * (2 + 3 + 1))
      << "invalid calls must not reach the driver";
}

TEST_F(ToyTest, BadCountsFlagsAndNullPointers) {
  expect_rollback(this, session(), HYBRIDC_ERR_INVALID_ARGUMENT, "n must be >= 1 (got 0)",
                  [](hybridc_session *s) {
                    int32_t t[] = {1};
                    return hybridc_rt_prefill(s, t, 0, nullptr, HYBRIDC_LOGITS_LAST);
                  });
  expect_rollback(this, session(), HYBRIDC_ERR_INVALID_ARGUMENT, "got -3",
                  [](hybridc_session *s) {
                    int32_t t[] = {1};
                    return hybridc_rt_prefill(s, t, -3, nullptr, HYBRIDC_LOGITS_LAST);
                  });
  expect_rollback(this, session(), HYBRIDC_ERR_INVALID_ARGUMENT, "tokens is NULL",
                  [](hybridc_session *s) {
                    return hybridc_rt_prefill(s, nullptr, 2, nullptr, HYBRIDC_LOGITS_LAST);
                  });
  expect_rollback(this, session(), HYBRIDC_ERR_INVALID_ARGUMENT, "flags",
                  [](hybridc_session *s) {
                    int32_t t[] = {1};
                    return hybridc_rt_prefill(s, t, 1, nullptr, 7);
                  });
  int32_t t[] = {1};
  EXPECT_EQ(hybridc_rt_prefill(nullptr, t, 1, nullptr, HYBRIDC_LOGITS_LAST),
            HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("session is NULL"), std::string::npos);
  EXPECT_EQ(hybridc_rt_decode(nullptr, 1, nullptr), HYBRIDC_ERR_INVALID_ARGUMENT);
  hybridc_session *s = nullptr;
  EXPECT_EQ(hybridc_rt_session_create(nullptr, &s), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hybridc_rt_session_create(model_, nullptr), HYBRIDC_ERR_INVALID_ARGUMENT);
  hybridc_rt_session_free(nullptr);
}

TEST_F(ToyTest, CapacityFailureRollsBack) {
  hybridc_session *s = session();
  ASSERT_EQ(hybridc_rt_session_set_max_tokens(s, 16), HYBRIDC_OK);
  expect_rollback(this, s, HYBRIDC_ERR_CAPACITY, "cap of 16", [](hybridc_session *s) {
    std::vector<int32_t> t = random_tokens(11, 4);
    return hybridc_rt_prefill(s, t.data(), 11, nullptr, HYBRIDC_LOGITS_ALL);
  });
}

TEST_F(ToyTest, KernelFailureInThirdChunkRollsBack) {
  hybridc_session *s = session();
  expect_rollback(this, s, HYBRIDC_ERR_KERNEL, "kernel 'toy_kernel' failed with Halide status -42",
                  [](hybridc_session *s) {
                    // Chunks of 4: tokens 8..11 are the third chunk. The token
                    // value 10 occurs only there.
                    std::vector<int32_t> t = {0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 1, 2, 3};
                    toy::hooks().fail_token = 10;
                    int before = toy::hooks().prefill_calls;
                    std::vector<float> l(t.size() * toy::kVocab);
                    int st = hybridc_rt_prefill(s, t.data(), int64_t(t.size()), l.data(),
                                                HYBRIDC_LOGITS_ALL);
                    EXPECT_EQ(toy::hooks().prefill_calls - before, 3) << "failed in chunk 3";
                    toy::hooks().fail_token = -1;
                    return st;
                  });
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("tokens [8, 12)"), std::string::npos)
      << "the runtime's message says which chunk failed";
}

TEST_F(ToyTest, KernelFailureInDecodeRollsBack) {
  expect_rollback(this, session(), HYBRIDC_ERR_KERNEL, "toy_kernel", [](hybridc_session *s) {
    toy::hooks().fail_token = 9;
    float l[toy::kVocab];
    int st = hybridc_rt_decode(s, 9, l);
    toy::hooks().fail_token = -1;
    return st;
  });
}

TEST_F(ToyTest, HalideErrorIsAttributedToItsKernel) {
  expect_rollback(this, session(), HYBRIDC_ERR_KERNEL,
                  "kernel 'toy_kernel2' failed with Halide status -42: toy: buffer 'x'",
                  [](hybridc_session *s) {
                    toy::hooks().halide_error_token = 8;
                    std::vector<int32_t> t = {1, 8};
                    int st = hybridc_rt_prefill(s, t.data(), 2, nullptr, HYBRIDC_LOGITS_LAST);
                    toy::hooks().halide_error_token = -1;
                    return st;
                  });
}

TEST_F(ToyTest, ParallelTaskFailureRollsBack) {
  hybridc_session *s = session();
  ASSERT_EQ(hybridc_rt_session_set_threads(s, 4), HYBRIDC_OK);
  expect_rollback(this, s, HYBRIDC_ERR_KERNEL, "kernel 'toy_logits' failed with Halide status -9",
                  [](hybridc_session *s) {
                    toy::hooks().task_fail_token = 7;
                    std::vector<int32_t> t = {1, 2, 3, 4, 5, 7};
                    std::vector<float> l(t.size() * toy::kVocab);
                    int st = hybridc_rt_prefill(s, t.data(), 6, l.data(), HYBRIDC_LOGITS_ALL);
                    toy::hooks().task_fail_token = -1;
                    return st;
                  });
}

TEST_F(ToyTest, LastErrorIsPerThread) {
  EXPECT_EQ(hybridc_rt_decode(nullptr, 1, nullptr), HYBRIDC_ERR_INVALID_ARGUMENT);
  std::string here = hybridc_rt_last_error();
  std::string there = "unset";
  std::thread([&] { there = hybridc_rt_last_error(); }).join();
  EXPECT_EQ(there, "");
  EXPECT_FALSE(here.empty());
  // Success does not clear it: it is the last *failed* call's message.
  hybridc_session *s = session();
  decode(s, 1);
  EXPECT_EQ(std::string(hybridc_rt_last_error()), here);
}

} // namespace
