//===- BatchDecodeTest.cpp - decode_batch over many sessions --------------===//
//
// Against the toy model's exact reference: a batch step must give every
// session the logits and the state its own decode would, split into driver
// calls of at most max_chunk_tokens streams, and a refused or failed batch
// must leave every session byte for byte as it was.
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

namespace {

using Tokens = std::vector<int32_t>;

std::vector<uint8_t> image(hybridc_session *s) {
  std::vector<uint8_t> bytes(size_t(hybridc_rt_session_save_size(s)));
  EXPECT_EQ(hybridc_rt_session_save(s, bytes.data(), int64_t(bytes.size()), nullptr),
            HYBRIDC_OK)
      << hybridc_rt_last_error();
  return bytes;
}

class BatchTest : public ToyTest {
protected:
  // n sessions, session i fed its own random prompt of i + 1 tokens.
  void open(int n) {
    for (int i = 0; i < n; ++i) {
      hybridc_session *s = session();
      Tokens prompt = random_tokens(size_t(i + 1), 100u + unsigned(i));
      ASSERT_EQ(hybridc_rt_prefill(s, prompt.data(), int64_t(prompt.size()), nullptr,
                                   HYBRIDC_LOGITS_LAST),
                HYBRIDC_OK);
      streams.push_back(s);
      seqs.push_back(prompt);
    }
  }
  // One batch step: every session's logits row equals the reference.
  void step(const Tokens &tokens) {
    std::vector<float> logits(tokens.size() * toy::kVocab, -1.0f);
    ASSERT_EQ(hybridc_rt_decode_batch(streams.data(), tokens.data(), int64_t(tokens.size()),
                                      logits.data()),
              HYBRIDC_OK)
        << hybridc_rt_last_error();
    for (size_t i = 0; i < tokens.size(); ++i) {
      seqs[i].push_back(tokens[i]);
      EXPECT_EQ(std::vector<float>(logits.begin() + long(i * toy::kVocab),
                                   logits.begin() + long((i + 1) * toy::kVocab)),
                toy::reference(seqs[i]).back())
          << "stream " << i;
      EXPECT_EQ(hybridc_rt_session_position(streams[i]), int64_t(seqs[i].size()));
    }
  }
  std::vector<hybridc_session *> streams;
  std::vector<Tokens> seqs;
};

TEST_F(BatchTest, EveryStreamGetsItsOwnDecode) {
  open(3);
  for (int t = 0; t < 5; ++t)
    step({int32_t(t % toy::kVocab), int32_t((t + 4) % toy::kVocab), 10});
  EXPECT_EQ(toy::hooks().batch_calls.load(), 5);
  // Afterwards each continues alone exactly.
  for (size_t i = 0; i < streams.size(); ++i) {
    seqs[i].push_back(2);
    EXPECT_EQ(decode(streams[i], 2), toy::reference(seqs[i]).back());
  }
}

TEST_F(BatchTest, MoreStreamsThanAChunkRunInSeveralCalls) {
  open(int(toy::kMaxChunk) * 2 + 1);
  step(random_tokens(streams.size(), 7));
  step(random_tokens(streams.size(), 8));
  std::vector<int64_t> expected{toy::kMaxChunk, toy::kMaxChunk, 1, toy::kMaxChunk,
                                toy::kMaxChunk, 1};
  std::lock_guard<std::mutex> lock(toy::hooks().mu);
  EXPECT_EQ(toy::hooks().batch_sizes, expected);
}

TEST_F(BatchTest, TruncateRewindsABatchStep) {
  open(2);
  ASSERT_EQ(hybridc_rt_session_set_checkpoint_interval(streams[1], 1), HYBRIDC_OK);
  step({3, 4});
  step({5, 6});
  // The state from before the latest call, and an interval checkpoint.
  ASSERT_EQ(hybridc_rt_session_truncate(streams[0], int64_t(seqs[0].size()) - 1), HYBRIDC_OK)
      << hybridc_rt_last_error();
  ASSERT_EQ(hybridc_rt_session_truncate(streams[1], int64_t(seqs[1].size()) - 2), HYBRIDC_OK)
      << hybridc_rt_last_error();
  seqs[0].pop_back();
  seqs[1].resize(seqs[1].size() - 2);
  step({7, 8});
}

TEST_F(BatchTest, RefusedBatchesChangeNothing) {
  open(3);
  hybridc_model *other = nullptr;
  ASSERT_EQ(hybridc_rt_model_open(toy::file_desc(), path_.c_str(), &other), HYBRIDC_OK);
  hybridc_session *foreign = nullptr;
  ASSERT_EQ(hybridc_rt_session_create(other, &foreign), HYBRIDC_OK);
  std::vector<std::vector<uint8_t>> before;
  for (hybridc_session *s : streams)
    before.push_back(image(s));

  std::vector<float> logits(4 * toy::kVocab);
  const Tokens ok{1, 2, 3, 4};
  struct Case {
    const char *what;
    std::vector<hybridc_session *> sessions;
    Tokens tokens;
    int64_t n;
    bool nullLogits;
    const char *message;
  } cases[] = {
      {"no sessions", {}, ok, 3, false, "sessions is NULL"},
      {"no logits", streams, ok, 3, true, "logits is NULL"},
      {"n = 0", streams, ok, 0, false, "n must be >= 1"},
      {"a NULL session", {streams[0], nullptr, streams[2]}, ok, 3, false, "sessions[1] is NULL"},
      {"a session twice", {streams[0], streams[1], streams[0]}, ok, 3, false,
       "sessions[0] and sessions[2] are the same session"},
      {"two models", {streams[0], foreign, streams[1]}, ok, 3, false,
       "sessions[1] belongs to another open model"},
      {"a token out of range", streams, {1, toy::kVocab, 2}, 3, false,
       "tokens[1] = 11 is out of range"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(hybridc_rt_decode_batch(c.sessions.empty() ? nullptr : c.sessions.data(),
                                      c.tokens.data(), c.n,
                                      c.nullLogits ? nullptr : logits.data()),
              HYBRIDC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(hybridc_rt_last_error()).find(c.message), std::string::npos)
        << hybridc_rt_last_error();
  }
  for (size_t i = 0; i < streams.size(); ++i)
    EXPECT_EQ(image(streams[i]), before[i]) << "stream " << i;
  EXPECT_EQ(toy::hooks().batch_calls.load(), 0);
  hybridc_rt_session_free(foreign);
  hybridc_rt_model_close(other);
}

TEST_F(BatchTest, AFailingStreamFailsTheBatchAndChangesNoSession) {
  open(int(toy::kMaxChunk) + 2);
  for (hybridc_session *s : streams)
    ASSERT_EQ(hybridc_rt_session_set_checkpoint_interval(s, 1), HYBRIDC_OK);
  std::vector<std::vector<uint8_t>> before;
  for (hybridc_session *s : streams)
    before.push_back(image(s));
  const int64_t bytesBefore = hybridc_rt_session_state_bytes(streams[0]);
  // The failing token sits in the second driver call: the first call's
  // streams ran, yet none may commit.
  Tokens tokens(streams.size(), 1);
  tokens.back() = 9;
  toy::hooks().fail_token = 9;
  std::vector<float> logits(tokens.size() * toy::kVocab);
  EXPECT_EQ(hybridc_rt_decode_batch(streams.data(), tokens.data(), int64_t(tokens.size()),
                                    logits.data()),
            HYBRIDC_ERR_KERNEL);
  const std::string message = hybridc_rt_last_error();
  EXPECT_NE(message.find("no session changed"), std::string::npos) << message;
  EXPECT_NE(message.find("toy_kernel"), std::string::npos) << message;
  for (size_t i = 0; i < streams.size(); ++i)
    EXPECT_EQ(image(streams[i]), before[i]) << "stream " << i;
  EXPECT_EQ(hybridc_rt_session_state_bytes(streams[0]), bytesBefore);
  toy::hooks().fail_token = -1;
  step(tokens);
}

} // namespace
