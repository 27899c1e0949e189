//===- StateTest.cpp - save/load, fork, checkpoints and truncate ----------===//
//
// Against the toy model's exact reference: whatever a session went through,
// its next logits must equal those of a fresh session fed the same
// effective token sequence, and every refused call must leave it unchanged.
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <cstring>
#include <thread>

namespace {

using Tokens = std::vector<int32_t>;

std::vector<uint8_t> save(hybridc_session *s) {
  const int64_t size = hybridc_rt_session_save_size(s);
  EXPECT_GT(size, 0) << hybridc_rt_last_error();
  std::vector<uint8_t> image(size_t(size > 0 ? size : 0), 0xAB);
  int64_t written = -1;
  EXPECT_EQ(hybridc_rt_session_save(s, image.data(), size, &written), HYBRIDC_OK)
      << hybridc_rt_last_error();
  EXPECT_EQ(written, size);
  return image;
}

void prefill(hybridc_session *s, const Tokens &t) {
  ASSERT_EQ(hybridc_rt_prefill(s, t.data(), int64_t(t.size()), nullptr, HYBRIDC_LOGITS_LAST),
            HYBRIDC_OK)
      << hybridc_rt_last_error();
}

// The logits `s` gives for `probe` next equal the reference's after `seq`,
// probed on a fork so `s` itself is left as it was.
void expectContinues(hybridc_session *s, const Tokens &seq, int32_t probe, const char *what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(hybridc_rt_session_position(s), int64_t(seq.size()));
  hybridc_session *copy = nullptr;
  ASSERT_EQ(hybridc_rt_session_fork(s, &copy), HYBRIDC_OK) << hybridc_rt_last_error();
  Tokens next = seq;
  next.push_back(probe);
  EXPECT_EQ(decode(copy, probe), toy::reference(next).back());
  hybridc_rt_session_free(copy);
}

TEST_F(ToyTest, ModelTargetNamesTheCompiledVariant) {
  EXPECT_STREQ(hybridc_rt_model_target(model_), "x86-64-avx2");
  EXPECT_EQ(hybridc_rt_model_target(nullptr), nullptr);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("model is NULL"), std::string::npos);
}

TEST_F(ToyTest, SaveTwiceGivesTheSameBytesAndLoadContinuesExactly) {
  hybridc_session *a = session();
  ASSERT_EQ(hybridc_rt_session_set_checkpoint_interval(a, 3), HYBRIDC_OK);
  Tokens t = random_tokens(10, 1);
  prefill(a, Tokens(t.begin(), t.begin() + 7));
  for (size_t i = 7; i < t.size(); ++i)
    decode(a, t[i]);
  std::vector<uint8_t> first = save(a), second = save(a);
  EXPECT_EQ(first, second);
  // 88-byte header, two states, 10 history tokens, 3 checkpoints, 2 KV
  // segments of one block of 16 tokens.
  EXPECT_EQ(first.size(), 88 + 2 * 16 + 10 * 4 + 3 * (8 + 16) + 2 * 16 * 8u);

  hybridc_session *b = session();
  decode(b, 4); // whatever b held is replaced
  ASSERT_EQ(hybridc_rt_session_load(b, first.data(), int64_t(first.size())), HYBRIDC_OK)
      << hybridc_rt_last_error();
  EXPECT_EQ(save(b), first);
  EXPECT_EQ(hybridc_rt_session_state_bytes(b), hybridc_rt_session_state_bytes(a));
  expectContinues(b, t, 5, "loaded");
  // The loaded checkpoints and history work: rewind before the latest call.
  ASSERT_EQ(hybridc_rt_session_truncate(b, 4), HYBRIDC_OK) << hybridc_rt_last_error();
  expectContinues(b, Tokens(t.begin(), t.begin() + 4), 2, "loaded, then truncated to 4");
}

TEST_F(ToyTest, EmptySessionSavesAndLoads) {
  hybridc_session *a = session();
  std::vector<uint8_t> image = save(a);
  EXPECT_EQ(image.size(), 88 + 2 * 16u);
  hybridc_session *b = session();
  prefill(b, {1, 2, 3});
  ASSERT_EQ(hybridc_rt_session_load(b, image.data(), int64_t(image.size())), HYBRIDC_OK);
  expectContinues(b, {}, 6, "empty image");
}

class RefusedLoad : public ToyTest {
protected:
  // `target` holds a sequence; a load of `image` must fail with `status`, a
  // message containing `what`, and leave `target` as it was.
  void expectRefused(const std::vector<uint8_t> &image, int status, const char *what) {
    SCOPED_TRACE(what);
    hybridc_session *target = session();
    const Tokens seq{3, 1, 4, 1, 5};
    prefill(target, seq);
    const std::vector<uint8_t> before = save(target);
    EXPECT_EQ(hybridc_rt_session_load(target, image.data(), int64_t(image.size())), status);
    EXPECT_NE(std::string(hybridc_rt_last_error()).find(what), std::string::npos)
        << hybridc_rt_last_error();
    EXPECT_EQ(save(target), before);
    expectContinues(target, seq, 2, "after the refused load");
  }
  std::vector<uint8_t> image() {
    hybridc_session *s = session();
    prefill(s, random_tokens(9, 3));
    return save(s);
  }
};

TEST_F(RefusedLoad, TruncatedImages) {
  std::vector<uint8_t> full = image();
  for (size_t keep : {size_t(1), size_t(10), size_t(87), size_t(88), full.size() - 1}) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + long(keep));
    expectRefused(cut, HYBRIDC_ERR_FORMAT, keep < 88 ? "header" : "truncated or corrupt");
  }
  std::vector<uint8_t> longer = full;
  longer.push_back(0);
  expectRefused(longer, HYBRIDC_ERR_FORMAT, "does not match its header");
}

TEST_F(RefusedLoad, CorruptedImages) {
  const std::vector<uint8_t> full = image();
  // A flipped bit anywhere outside the fields checked by name is caught by
  // the checksum: the states, the history, the KV rows, the checksum itself.
  for (size_t at : {size_t(24), size_t(88), size_t(88 + 16 + 3), size_t(88 + 32 + 5),
                    full.size() - 1}) {
    std::vector<uint8_t> bad = full;
    bad[at] ^= 0x10;
    expectRefused(bad, HYBRIDC_ERR_FORMAT, "checksum");
  }
  std::vector<uint8_t> magic = full;
  magic[0] = 'X';
  expectRefused(magic, HYBRIDC_ERR_FORMAT, "bad magic");
  std::vector<uint8_t> version = full;
  version[8] = 1; // an image from before KV dtypes
  expectRefused(version, HYBRIDC_ERR_FORMAT, "format version 1");
  // An image of a library that keeps its KV cache in another element type
  // (the same weights, so the same model hash).
  std::vector<uint8_t> dtype = full;
  dtype[80] = HYBRIDC_KV_INT8;
  expectRefused(dtype, HYBRIDC_ERR_FORMAT, "KV cache is int8 in blocks of 16 tokens; model 'toy' keeps it f32");
  std::vector<uint8_t> position = full;
  position[32] ^= 1; // 9 -> 8 tokens: the size no longer matches
  expectRefused(position, HYBRIDC_ERR_FORMAT, "does not match its header");
}

TEST_F(RefusedLoad, ImageOfAnotherModel) {
  std::vector<uint8_t> other = image();
  other[16] ^= 0xFF; // the model hash
  expectRefused(other, HYBRIDC_ERR_FORMAT, "another model");
}

TEST_F(RefusedLoad, ImageOfAnotherModelsLayout) {
  // Same hash, another layout: the state-bytes field.
  std::vector<uint8_t> other = image();
  other[56] = 32;
  expectRefused(other, HYBRIDC_ERR_FORMAT, "state layout");
}

TEST_F(ToyTest, SaveIntoASmallBufferFailsAndWritesNothingPast) {
  hybridc_session *s = session();
  prefill(s, {1, 2});
  const int64_t size = hybridc_rt_session_save_size(s);
  std::vector<uint8_t> small(size_t(size - 1), 0x5A);
  int64_t written = 77;
  EXPECT_EQ(hybridc_rt_session_save(s, small.data(), size - 1, &written), HYBRIDC_ERR_CAPACITY);
  EXPECT_EQ(written, 0);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("the image needs"), std::string::npos);
  EXPECT_EQ(small, std::vector<uint8_t>(size_t(size - 1), 0x5A));
  EXPECT_EQ(hybridc_rt_session_save(nullptr, small.data(), size, &written),
            HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hybridc_rt_session_save(s, nullptr, size, &written), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hybridc_rt_session_save_size(nullptr), -1);
  EXPECT_EQ(hybridc_rt_session_load(nullptr, small.data(), 1), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hybridc_rt_session_load(s, nullptr, 1), HYBRIDC_ERR_INVALID_ARGUMENT);
}

TEST_F(ToyTest, LoadPastTheTokenCapIsRefused) {
  hybridc_session *a = session();
  prefill(a, random_tokens(12, 4));
  std::vector<uint8_t> image = save(a);
  hybridc_session *b = session();
  ASSERT_EQ(hybridc_rt_session_set_max_tokens(b, 8), HYBRIDC_OK);
  EXPECT_EQ(hybridc_rt_session_load(b, image.data(), int64_t(image.size())),
            HYBRIDC_ERR_CAPACITY);
  EXPECT_EQ(hybridc_rt_session_position(b), 0);
}

TEST_F(ToyTest, ForkedSessionsContinueIndependently) {
  hybridc_session *a = session();
  ASSERT_EQ(hybridc_rt_session_set_checkpoint_interval(a, 4), HYBRIDC_OK);
  Tokens t = random_tokens(11, 5);
  prefill(a, t);
  hybridc_session *b = nullptr;
  ASSERT_EQ(hybridc_rt_session_fork(a, &b), HYBRIDC_OK) << hybridc_rt_last_error();
  sessions_.push_back(b);
  EXPECT_EQ(save(a), save(b));
  EXPECT_EQ(hybridc_rt_session_state_bytes(a), hybridc_rt_session_state_bytes(b));
  // Different continuations: neither sees the other's tokens.
  Tokens ta = t, tb = t;
  for (int i = 0; i < 6; ++i) {
    ta.push_back(int32_t(i % toy::kVocab));
    tb.push_back(int32_t((3 * i + 2) % toy::kVocab));
    EXPECT_EQ(decode(a, ta.back()), toy::reference(ta).back());
    EXPECT_EQ(decode(b, tb.back()), toy::reference(tb).back());
  }
  // The fork has the checkpoints too: rewind it before the latest call.
  ASSERT_EQ(hybridc_rt_session_truncate(b, 9), HYBRIDC_OK) << hybridc_rt_last_error();
  expectContinues(b, Tokens(tb.begin(), tb.begin() + 9), 1, "fork truncated to 9");
  expectContinues(a, ta, 1, "source after the fork's truncate");

  hybridc_session *none = reinterpret_cast<hybridc_session *>(1);
  EXPECT_EQ(hybridc_rt_session_fork(nullptr, &none), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(none, nullptr);
  EXPECT_EQ(hybridc_rt_session_fork(a, nullptr), HYBRIDC_ERR_INVALID_ARGUMENT);
}

TEST_F(ToyTest, ForkAndSaveFromManyThreadsAtOnce) {
  hybridc_session *src = session();
  Tokens t = random_tokens(20, 6);
  prefill(src, t);
  const std::vector<uint8_t> want = save(src);
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      hybridc_session *copy = nullptr;
      if (i % 2) {
        if (hybridc_rt_session_fork(src, &copy) != HYBRIDC_OK)
          return;
      } else {
        if (hybridc_rt_session_create(model_, &copy) != HYBRIDC_OK)
          return;
        std::vector<uint8_t> image(want.size());
        if (hybridc_rt_session_save(src, image.data(), int64_t(image.size()), nullptr) !=
                HYBRIDC_OK ||
            image != want ||
            hybridc_rt_session_load(copy, image.data(), int64_t(image.size())) != HYBRIDC_OK)
          return;
      }
      Tokens next = t;
      next.push_back(int32_t(i % toy::kVocab));
      std::vector<float> l(toy::kVocab);
      ok[size_t(i)] = hybridc_rt_decode(copy, next.back(), l.data()) == HYBRIDC_OK &&
                      l == toy::reference(next).back();
      hybridc_rt_session_free(copy);
    });
  for (std::thread &th : threads)
    th.join();
  EXPECT_EQ(ok, std::vector<int>(8, 1));
}

TEST_F(ToyTest, TruncateInsideTheLatestCallAlwaysWorks) {
  // Speculative decoding: k draft tokens in one prefill with all logits,
  // keep the accepted ones.
  Tokens prompt = random_tokens(6, 7), draft = random_tokens(5, 8);
  for (int64_t accepted = 0; accepted <= 5; ++accepted) {
    hybridc_session *s = session();
    prefill(s, prompt);
    std::vector<float> logits(draft.size() * toy::kVocab);
    ASSERT_EQ(hybridc_rt_prefill(s, draft.data(), int64_t(draft.size()), logits.data(),
                                 HYBRIDC_LOGITS_ALL),
              HYBRIDC_OK);
    ASSERT_EQ(hybridc_rt_session_truncate(s, 6 + accepted), HYBRIDC_OK) << hybridc_rt_last_error();
    Tokens seq = prompt;
    seq.insert(seq.end(), draft.begin(), draft.begin() + accepted);
    expectContinues(s, seq, 9, ("accepted " + std::to_string(accepted)).c_str());
  }
}

TEST_F(ToyTest, RefusedTruncatesChangeNothing) {
  hybridc_session *s = session();
  Tokens t = random_tokens(9, 9);
  prefill(s, Tokens(t.begin(), t.begin() + 5));
  prefill(s, Tokens(t.begin() + 5, t.end()));
  const std::vector<uint8_t> before = save(s);
  struct Case {
    int64_t position;
    const char *what;
  };
  for (Case c : {Case{10, "outside [0, 9]"}, Case{-1, "outside [0, 9]"},
                 Case{4, "before every kept state"}, Case{0, "before every kept state"}}) {
    SCOPED_TRACE(c.position);
    EXPECT_EQ(hybridc_rt_session_truncate(s, c.position), HYBRIDC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(hybridc_rt_last_error()).find(c.what), std::string::npos)
        << hybridc_rt_last_error();
    EXPECT_EQ(save(s), before);
  }
  EXPECT_EQ(hybridc_rt_session_truncate(nullptr, 0), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hybridc_rt_session_truncate(s, 9), HYBRIDC_OK); // where it is: nothing to do
  EXPECT_EQ(save(s), before);
  expectContinues(s, t, 3, "after the refused truncates");
  EXPECT_EQ(hybridc_rt_session_set_checkpoint_interval(s, -1), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hybridc_rt_session_set_checkpoint_interval(nullptr, 1), HYBRIDC_ERR_INVALID_ARGUMENT);
}

TEST_F(ToyTest, IntervalCheckpointsReachAnyPositionAndCountInStateBytes) {
  hybridc_session *s = session();
  ASSERT_EQ(hybridc_rt_session_set_checkpoint_interval(s, 5), HYBRIDC_OK);
  Tokens t = random_tokens(23, 10);
  prefill(s, Tokens(t.begin(), t.begin() + 12)); // checkpoints at 5, 10
  for (size_t i = 12; i < 23; ++i)
    decode(s, t[i]); // 15, 20
  const int64_t kv = toy::kvBytes(23);
  EXPECT_EQ(hybridc_rt_session_state_bytes(s), toy::kStateBytes * (2 + 4) + 23 * 4 + kv);
  for (int64_t p : {21, 17, 15, 11, 6, 0}) {
    hybridc_session *copy = nullptr;
    ASSERT_EQ(hybridc_rt_session_fork(s, &copy), HYBRIDC_OK);
    toy::hooks().chunk_sizes.clear();
    ASSERT_EQ(hybridc_rt_session_truncate(copy, p), HYBRIDC_OK) << hybridc_rt_last_error();
    // Re-fed: the tokens after the nearest checkpoint only (fewer than 5).
    int64_t refed = 0;
    for (int64_t n : toy::hooks().chunk_sizes)
      refed += n;
    EXPECT_EQ(refed, p % 5) << "position " << p;
    expectContinues(copy, Tokens(t.begin(), t.begin() + p), 4,
                    ("truncated to " + std::to_string(p)).c_str());
    hybridc_rt_session_free(copy);
  }
  ASSERT_EQ(hybridc_rt_session_truncate(s, 12), HYBRIDC_OK);
  // The checkpoints after 12 are gone; 5 and 10 are kept.
  EXPECT_EQ(hybridc_rt_session_state_bytes(s),
            toy::kStateBytes * (2 + 2) + 12 * 4 + toy::kvBytes(12));
}

TEST_F(ToyTest, AFailedCallKeepsTheCheckpointsAndTheHistory) {
  hybridc_session *s = session();
  ASSERT_EQ(hybridc_rt_session_set_checkpoint_interval(s, 2), HYBRIDC_OK);
  prefill(s, {1, 2, 3});
  const std::vector<uint8_t> before = save(s);
  toy::hooks().fail_token = 7;
  Tokens bad{4, 5, 6, 7, 8};
  EXPECT_EQ(hybridc_rt_prefill(s, bad.data(), 5, nullptr, HYBRIDC_LOGITS_LAST),
            HYBRIDC_ERR_KERNEL);
  toy::hooks().fail_token = -1;
  EXPECT_EQ(save(s), before);
  ASSERT_EQ(hybridc_rt_session_truncate(s, 1), HYBRIDC_OK) << hybridc_rt_last_error();
  expectContinues(s, {1}, 0, "after the failure, truncated to 1");
}

TEST_F(ToyTest, ResetForgetsHistoryAndCheckpoints) {
  hybridc_session *s = session();
  ASSERT_EQ(hybridc_rt_session_set_checkpoint_interval(s, 2), HYBRIDC_OK);
  prefill(s, random_tokens(7, 11));
  ASSERT_EQ(hybridc_rt_session_reset(s), HYBRIDC_OK);
  EXPECT_EQ(hybridc_rt_session_state_bytes(s), 2 * toy::kStateBytes);
  EXPECT_EQ(hybridc_rt_session_truncate(s, 0), HYBRIDC_OK);
  prefill(s, {5, 6});
  ASSERT_EQ(hybridc_rt_session_truncate(s, 1), HYBRIDC_OK);
  expectContinues(s, {5}, 1, "after reset");
}

// Random interleavings of every operation (decode_batch included) always
// match a fresh session fed the same effective tokens.
TEST_F(ToyTest, RandomInterleavingsMatchTheReference) {
  for (unsigned seed = 0; seed < 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    hybridc_session *s = session();
    const int64_t interval = int64_t(rng() % 4) * 3; // 0, 3, 6, 9
    ASSERT_EQ(hybridc_rt_session_set_checkpoint_interval(s, interval), HYBRIDC_OK);
    Tokens seq;
    int64_t callStart = 0; // where the latest call began
    for (int step = 0; step < 30; ++step) {
      switch (rng() % 7) {
      case 0:
      case 1: { // prefill of 1..9 tokens, all logits checked
        Tokens t = random_tokens(1 + rng() % 9, rng());
        std::vector<float> l(t.size() * toy::kVocab);
        callStart = int64_t(seq.size());
        ASSERT_EQ(hybridc_rt_prefill(s, t.data(), int64_t(t.size()), l.data(),
                                     HYBRIDC_LOGITS_ALL),
                  HYBRIDC_OK);
        for (size_t i = 0; i < t.size(); ++i) {
          seq.push_back(t[i]);
          ASSERT_EQ(std::vector<float>(l.begin() + long(i * toy::kVocab),
                                       l.begin() + long((i + 1) * toy::kVocab)),
                    toy::reference(seq).back());
        }
        break;
      }
      case 2: { // decode
        const int32_t tok = int32_t(rng() % toy::kVocab);
        callStart = int64_t(seq.size());
        seq.push_back(tok);
        ASSERT_EQ(decode(s, tok), toy::reference(seq).back());
        break;
      }
      case 3: { // truncate to a position that is always reachable
        const int64_t lo = interval > 0 ? 0 : callStart;
        const int64_t p = lo + int64_t(rng() % uint64_t(int64_t(seq.size()) - lo + 1));
        ASSERT_EQ(hybridc_rt_session_truncate(s, p), HYBRIDC_OK) << hybridc_rt_last_error();
        seq.resize(size_t(p));
        callStart = std::min(callStart, p);
        break;
      }
      case 4: { // continue on a fork, drop the original
        hybridc_session *copy = nullptr;
        ASSERT_EQ(hybridc_rt_session_fork(s, &copy), HYBRIDC_OK);
        sessions_.push_back(copy);
        s = copy;
        break;
      }
      case 5: { // save, load into a fresh session, continue there
        std::vector<uint8_t> image = save(s);
        hybridc_session *loaded = session();
        ASSERT_EQ(hybridc_rt_session_set_checkpoint_interval(loaded, interval), HYBRIDC_OK);
        ASSERT_EQ(hybridc_rt_session_load(loaded, image.data(), int64_t(image.size())),
                  HYBRIDC_OK);
        s = loaded;
        break;
      }
      case 6: { // decode_batch beside a companion session with its own tokens
        hybridc_session *other = session();
        Tokens own = random_tokens(1 + rng() % 5, rng());
        prefill(other, own);
        hybridc_session *both[2] = {other, s};
        const int32_t tokens[2] = {int32_t(rng() % toy::kVocab), int32_t(rng() % toy::kVocab)};
        std::vector<float> l(2 * toy::kVocab);
        callStart = int64_t(seq.size());
        ASSERT_EQ(hybridc_rt_decode_batch(both, tokens, 2, l.data()), HYBRIDC_OK)
            << hybridc_rt_last_error();
        own.push_back(tokens[0]);
        seq.push_back(tokens[1]);
        ASSERT_EQ(std::vector<float>(l.begin(), l.begin() + toy::kVocab),
                  toy::reference(own).back());
        ASSERT_EQ(std::vector<float>(l.begin() + toy::kVocab, l.end()), toy::reference(seq).back());
        break;
      }
      }
    }
    expectContinues(s, seq, 1, "at the end");
  }
}

} // namespace
