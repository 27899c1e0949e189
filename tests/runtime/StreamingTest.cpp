//===- StreamingTest.cpp - prefill/decode results, chunking, KV growth ----===//
#include "TestUtil.h"

#include <unistd.h>

namespace {

using Rows = std::vector<std::vector<float>>;

Rows split_rows(const std::vector<float> &flat) {
  Rows rows;
  for (size_t i = 0; i < flat.size(); i += toy::kVocab)
    rows.emplace_back(flat.begin() + long(i), flat.begin() + long(i + toy::kVocab));
  return rows;
}

TEST_F(ToyTest, PrefillOfEveryLengthEqualsTokenByTokenDecode) {
  for (int n = 1; n <= 13; ++n) {
    std::vector<int32_t> t = random_tokens(size_t(n), unsigned(n));
    Rows want = toy::reference(t);

    hybridc_session *by_token = session();
    for (int i = 0; i < n; ++i)
      EXPECT_EQ(decode(by_token, t[size_t(i)]), want[size_t(i)]) << "n " << n << " i " << i;

    hybridc_session *all = session();
    std::vector<float> flat(size_t(n) * toy::kVocab, -1.0f);
    ASSERT_EQ(hybridc_rt_prefill(all, t.data(), n, flat.data(), HYBRIDC_LOGITS_ALL), HYBRIDC_OK)
        << hybridc_rt_last_error();
    EXPECT_EQ(split_rows(flat), want) << "n " << n;
    EXPECT_EQ(hybridc_rt_session_position(all), n);

    hybridc_session *last = session();
    std::vector<float> l(toy::kVocab, -1.0f);
    ASSERT_EQ(hybridc_rt_prefill(last, t.data(), n, l.data(), HYBRIDC_LOGITS_LAST), HYBRIDC_OK);
    EXPECT_EQ(l, want.back()) << "n " << n;

    // Without logits nothing is computed, but the state moves on the same.
    hybridc_session *none = session();
    ASSERT_EQ(hybridc_rt_prefill(none, t.data(), n, nullptr, HYBRIDC_LOGITS_ALL), HYBRIDC_OK);
    std::vector<int32_t> t2 = t;
    t2.push_back(3);
    EXPECT_EQ(decode(none, 3), toy::reference(t2).back()) << "n " << n;
  }
}

TEST_F(ToyTest, PrefillSplitsIntoChunksOfAtMostMaxChunk) {
  hybridc_session *s = session();
  std::vector<int32_t> t = random_tokens(10, 7);
  ASSERT_EQ(hybridc_rt_prefill(s, t.data(), 10, nullptr, HYBRIDC_LOGITS_LAST), HYBRIDC_OK);
  std::lock_guard<std::mutex> lock(toy::hooks().mu);
  EXPECT_EQ(toy::hooks().chunk_sizes, (std::vector<int64_t>{4, 4, 2}));
}

TEST_F(ToyTest, AnyMixOfPrefillAndDecodeGivesTheSameLogits) {
  std::vector<int32_t> t = random_tokens(60, 11);
  Rows want = toy::reference(t);
  hybridc_session *s = session();
  size_t pos = 0;
  const size_t steps[] = {3, 1, 9, 4, 1, 5, 8, 2, 7};
  for (size_t step : steps) {
    std::vector<float> flat(step * toy::kVocab);
    ASSERT_EQ(hybridc_rt_prefill(s, t.data() + pos, int64_t(step), flat.data(),
                                 HYBRIDC_LOGITS_ALL),
              HYBRIDC_OK);
    Rows got = split_rows(flat);
    for (size_t i = 0; i < step; ++i)
      EXPECT_EQ(got[i], want[pos + i]) << "position " << pos + i;
    pos += step;
    EXPECT_EQ(decode(s, t[pos]), want[pos]);
    ++pos;
  }
  EXPECT_EQ(hybridc_rt_session_position(s), int64_t(pos));
}

TEST_F(ToyTest, KvCacheGrowsByDoublingAndKeepsHistory) {
  hybridc_session *s = session();
  std::vector<int32_t> t = random_tokens(700, 3);
  Rows want = toy::reference(t);
  size_t pos = 0;
  while (pos < t.size()) {
    size_t step = std::min<size_t>(t.size() - pos, 1 + pos % 29);
    std::vector<float> l(toy::kVocab);
    ASSERT_EQ(hybridc_rt_prefill(s, t.data() + pos, int64_t(step), l.data(),
                                 HYBRIDC_LOGITS_LAST),
              HYBRIDC_OK);
    pos += step;
    ASSERT_EQ(l, want[pos - 1]) << "position " << pos - 1;
  }
  std::lock_guard<std::mutex> lock(toy::hooks().mu);
  const std::vector<int64_t> &caps = toy::hooks().capacities;
  ASSERT_GE(caps.size(), 5u) << "expected several relocations";
  for (size_t i = 1; i < caps.size(); ++i)
    EXPECT_EQ(caps[i], 2 * caps[i - 1]) << "amortised doubling";
  EXPECT_GE(caps.back(), 700);
}

TEST_F(ToyTest, CapLimitsTokensWithClearError) {
  hybridc_session *s = session();
  ASSERT_EQ(hybridc_rt_session_set_max_tokens(s, 10), HYBRIDC_OK);
  std::vector<int32_t> t = random_tokens(12, 5);
  Rows want = toy::reference(t);
  ASSERT_EQ(hybridc_rt_prefill(s, t.data(), 8, nullptr, HYBRIDC_LOGITS_LAST), HYBRIDC_OK);
  std::vector<float> l(toy::kVocab);
  EXPECT_EQ(hybridc_rt_prefill(s, t.data() + 8, 3, l.data(), HYBRIDC_LOGITS_LAST),
            HYBRIDC_ERR_CAPACITY);
  std::string msg = hybridc_rt_last_error();
  EXPECT_NE(msg.find("cap of 10"), std::string::npos) << msg;
  EXPECT_NE(msg.find("position 8"), std::string::npos) << msg;
  EXPECT_EQ(hybridc_rt_session_position(s), 8);
  EXPECT_EQ(decode(s, t[8]), want[8]);
  EXPECT_EQ(decode(s, t[9]), want[9]);
  EXPECT_EQ(hybridc_rt_decode(s, t[10], l.data()), HYBRIDC_ERR_CAPACITY);
  EXPECT_EQ(hybridc_rt_session_position(s), 10);
  {
    std::lock_guard<std::mutex> lock(toy::hooks().mu);
    for (int64_t c : toy::hooks().capacities)
      EXPECT_LE(c, hybridc_kv_round_tokens(10))
          << "the KV cache never grows past the block holding the cap";
  }
  // Below the position: rejected; raising or removing the cap lets it go on.
  EXPECT_EQ(hybridc_rt_session_set_max_tokens(s, 9), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hybridc_rt_session_set_max_tokens(s, -1), HYBRIDC_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(hybridc_rt_session_set_max_tokens(s, 0), HYBRIDC_OK);
  EXPECT_EQ(decode(s, t[10]), want[10]);
}

TEST_F(ToyTest, ResetStartsAnEmptySequence) {
  hybridc_session *s = session();
  std::vector<int32_t> t = random_tokens(9, 21);
  ASSERT_EQ(hybridc_rt_prefill(s, t.data(), 9, nullptr, HYBRIDC_LOGITS_LAST), HYBRIDC_OK);
  ASSERT_EQ(hybridc_rt_session_reset(s), HYBRIDC_OK);
  EXPECT_EQ(hybridc_rt_session_position(s), 0);
  EXPECT_EQ(hybridc_rt_session_state_bytes(s), 2 * toy::kStateBytes);
  std::vector<int32_t> u = random_tokens(6, 22);
  std::vector<float> l(toy::kVocab);
  ASSERT_EQ(hybridc_rt_prefill(s, u.data(), 6, l.data(), HYBRIDC_LOGITS_LAST), HYBRIDC_OK);
  EXPECT_EQ(l, toy::reference(u).back());
  EXPECT_EQ(hybridc_rt_session_reset(nullptr), HYBRIDC_ERR_INVALID_ARGUMENT);
}

// The state, the state before the latest call, the history (4 bytes a
// token) and the KV rows in use.
TEST_F(ToyTest, StateBytesCountsStatesHistoryAndKvRowsInUse) {
  hybridc_session *s = session();
  EXPECT_EQ(hybridc_rt_session_state_bytes(s), 2 * toy::kStateBytes);
  std::vector<int32_t> t = random_tokens(5, 1);
  ASSERT_EQ(hybridc_rt_prefill(s, t.data(), 5, nullptr, HYBRIDC_LOGITS_LAST), HYBRIDC_OK);
  EXPECT_EQ(hybridc_rt_session_state_bytes(s),
            2 * toy::kStateBytes + 5 * 4 + toy::kvBytes(5));
  decode(s, 1);
  EXPECT_EQ(hybridc_rt_session_state_bytes(s),
            2 * toy::kStateBytes + 6 * 4 + toy::kvBytes(6));
  EXPECT_EQ(hybridc_rt_session_state_bytes(nullptr), -1);
  EXPECT_EQ(hybridc_rt_session_position(nullptr), -1);
}

TEST_F(ToyTest, DecodeUsesTheDecodeDriver) {
  hybridc_session *s = session();
  decode(s, 2);
  EXPECT_EQ(hybridc_rt_decode(s, 3, nullptr), HYBRIDC_OK); // logits optional
  EXPECT_EQ(toy::hooks().decode_calls.load(), 2);
  EXPECT_EQ(toy::hooks().prefill_calls.load(), 0);
  EXPECT_EQ(decode(s, 4), toy::reference({2, 3, 4}).back());
}

TEST_F(ToyTest, ThreadCountsArePerSessionWithModelDefault) {
  hybridc_session *a = session();
  decode(a, 1);
  EXPECT_EQ(toy::hooks().last_threads.load(), int(sysconf(_SC_NPROCESSORS_ONLN)));
  ASSERT_EQ(hybridc_rt_model_set_threads(model_, 3), HYBRIDC_OK);
  hybridc_session *b = session();
  decode(b, 1);
  EXPECT_EQ(toy::hooks().last_threads.load(), 3);
  decode(a, 1); // created before: keeps its own count
  EXPECT_EQ(toy::hooks().last_threads.load(), int(sysconf(_SC_NPROCESSORS_ONLN)));
  ASSERT_EQ(hybridc_rt_session_set_threads(a, 5), HYBRIDC_OK);
  EXPECT_EQ(decode(a, 2), toy::reference({1, 1, 2}).back());
  EXPECT_EQ(toy::hooks().last_threads.load(), 5);
  EXPECT_EQ(hybridc_rt_session_set_threads(a, 0), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("got 0"), std::string::npos);
  EXPECT_EQ(hybridc_rt_session_set_threads(nullptr, 2), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hybridc_rt_model_set_threads(model_, 0), HYBRIDC_ERR_INVALID_ARGUMENT);
}

} // namespace
