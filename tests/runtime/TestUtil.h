//===- TestUtil.h - shared helpers for the runtime tests --------------------===//
#ifndef HYBRIDC_TESTS_RUNTIME_TESTUTIL_H
#define HYBRIDC_TESTS_RUNTIME_TESTUTIL_H

#include "ToyModel.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

// Opens the toy model from a fresh weights file; resets the driver hooks and
// checks after each test that the runtime kept every promise to the driver.
class ToyTest : public ::testing::Test {
protected:
  void SetUp() override {
    toy::reset_hooks();
    path_ = toy::write_weights("fixture");
    ASSERT_EQ(hybridc_rt_model_open(toy::file_desc(), path_.c_str(), &model_), HYBRIDC_OK)
        << hybridc_rt_last_error();
  }
  void TearDown() override {
    for (hybridc_session *s : sessions_)
      hybridc_rt_session_free(s);
    hybridc_rt_model_close(model_);
    EXPECT_EQ(toy::hooks().violations.load(), 0) << toy::first_violation();
  }
  hybridc_session *session() {
    hybridc_session *s = nullptr;
    EXPECT_EQ(hybridc_rt_session_create(model_, &s), HYBRIDC_OK) << hybridc_rt_last_error();
    sessions_.push_back(s);
    return s;
  }
  std::string path_;
  hybridc_model *model_ = nullptr;
  std::vector<hybridc_session *> sessions_;
};

inline std::vector<int32_t> random_tokens(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, toy::kVocab - 1);
  std::vector<int32_t> t(n);
  for (auto &x : t)
    x = dist(rng);
  return t;
}

// Logits of one decode step (asserting success).
inline std::vector<float> decode(hybridc_session *s, int32_t token) {
  std::vector<float> l(toy::kVocab, -1.0f);
  EXPECT_EQ(hybridc_rt_decode(s, token, l.data()), HYBRIDC_OK) << hybridc_rt_last_error();
  return l;
}

#endif
