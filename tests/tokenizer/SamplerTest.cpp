//===- SamplerTest.cpp - the sampler against hand-computed distributions --===//
//
// Hand-built logits whose distributions are worked out here with std::exp
// (not with the sampler's code): greedy is argmax, each filter keeps exactly
// the tokens it should, draws follow the probabilities (within 5 standard
// deviations over 40000 draws), a seed repeats its tokens, bad parameters
// and logits are refused by name.
//
//===----------------------------------------------------------------------===//
#include "hybridc/runtime_abi.h"
#include "hybridc/text_abi.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace {

hybridc_rt_sampler_params params(float temperature) {
  hybridc_rt_sampler_params p = hybridc_rt_sampler_default_params();
  p.temperature = temperature;
  p.seed = 1234;
  return p;
}

struct Sampler {
  explicit Sampler(int32_t vocab, const hybridc_rt_sampler_params &p) {
    EXPECT_EQ(hybridc_rt_sampler_create(vocab, &p, &s), HYBRIDC_OK) << hybridc_rt_last_error();
  }
  ~Sampler() { hybridc_rt_sampler_free(s); }
  int32_t sample(const std::vector<float> &logits) {
    int32_t t = -1;
    EXPECT_EQ(hybridc_rt_sampler_sample(s, logits.data(), &t), HYBRIDC_OK) << hybridc_rt_last_error();
    return t;
  }
  hybridc_rt_sampler *s = nullptr;
};

/// Draws `n` tokens and checks each token's frequency against `want` (a
/// probability per id; 0 must never come).
void expectDistribution(Sampler &s, const std::vector<float> &logits,
                        const std::vector<double> &want, int n = 40000) {
  std::vector<int> count(want.size(), 0);
  for (int i = 0; i < n; ++i) {
    int32_t t = s.sample(logits);
    ASSERT_GE(t, 0);
    ASSERT_LT(size_t(t), want.size());
    ++count[size_t(t)];
  }
  for (size_t id = 0; id < want.size(); ++id) {
    if (want[id] == 0) {
      EXPECT_EQ(count[id], 0) << "token " << id << " is filtered out but was drawn";
      continue;
    }
    const double expected = n * want[id];
    const double sigma = std::sqrt(n * want[id] * (1 - want[id]));
    EXPECT_NEAR(count[id], expected, 5 * sigma + 1) << "token " << id;
  }
}

/// softmax(logits / temperature) over `keep` (the others 0).
std::vector<double> softmax(const std::vector<float> &logits, double temperature,
                            const std::vector<bool> &keep) {
  std::vector<double> p(logits.size(), 0);
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i)
    if (keep[i])
      sum += p[i] = std::exp(logits[i] / temperature);
  for (double &x : p)
    x /= sum;
  return p;
}

// Probabilities 0.1, 0.2, 0.3, 0.4 at temperature 1.
const std::vector<float> kTenths = {std::log(1.0f), std::log(2.0f), std::log(3.0f), std::log(4.0f)};

TEST(Sampler, GreedyIsArgmaxLowestIdOnTies) {
  Sampler s(5, params(0));
  EXPECT_EQ(s.sample({0.5f, 2.0f, -1.0f, 2.0f, 1.0f}), 1);
  EXPECT_EQ(s.sample({-5.0f, -3.0f, -4.0f, -INFINITY, -3.5f}), 1);
  EXPECT_EQ(s.sample({0, 0, 0, 0, 0}), 0);
}

TEST(Sampler, TemperatureOne) {
  Sampler s(4, params(1));
  expectDistribution(s, kTenths, {0.1, 0.2, 0.3, 0.4});
}

TEST(Sampler, TemperatureScalesTheLogits) {
  Sampler half(4, params(0.5f));
  expectDistribution(half, kTenths, softmax(kTenths, 0.5, {true, true, true, true}));
  Sampler hot(4, params(3));
  expectDistribution(hot, kTenths, softmax(kTenths, 3, {true, true, true, true}));
}

TEST(Sampler, TopK) {
  hybridc_rt_sampler_params p = params(1);
  p.top_k = 2;
  Sampler s(4, p);
  expectDistribution(s, kTenths, {0, 0, 3.0 / 7, 4.0 / 7});
  // Equal logits: the lower ids stay.
  p.top_k = 2;
  Sampler ties(5, p);
  expectDistribution(ties, {1, 1, 1, 1, 0}, {0.5, 0.5, 0, 0, 0}, 4000);
}

TEST(Sampler, TopP) {
  hybridc_rt_sampler_params p = params(1);
  p.top_p = 0.45f; // 0.4 < 0.45: 0.3 joins it
  Sampler two(4, p);
  expectDistribution(two, kTenths, {0, 0, 3.0 / 7, 4.0 / 7});
  p.top_p = 0.35f; // 0.4 alone is enough
  Sampler one(4, p);
  expectDistribution(one, kTenths, {0, 0, 0, 1}, 2000);
  p.top_p = 0.95f;
  Sampler all(4, p);
  expectDistribution(all, kTenths, {0.1, 0.2, 0.3, 0.4});
}

TEST(Sampler, MinP) {
  hybridc_rt_sampler_params p = params(1);
  p.min_p = 0.6f; // keeps p >= 0.24: 0.3 and 0.4
  Sampler s(4, p);
  expectDistribution(s, kTenths, {0, 0, 3.0 / 7, 4.0 / 7});
  p.min_p = 1.0f; // exactly as likely as the most likely token stays: inclusive
  Sampler edge(3, p);
  expectDistribution(edge, {0.0f, 0.0f, -10.0f}, {0.5, 0.5, 0}, 4000);
}

TEST(Sampler, FiltersTogether) {
  // top-k 3 leaves 0.2, 0.3, 0.4; min-p 0.6 and top-p 0.99 are measured on
  // that distribution (2/9, 3/9, 4/9): min-p keeps 3/9 and 4/9.
  hybridc_rt_sampler_params p = params(1);
  p.top_k = 3;
  p.min_p = 0.6f;
  p.top_p = 0.99f;
  Sampler s(4, p);
  expectDistribution(s, kTenths, {0, 0, 3.0 / 7, 4.0 / 7});
}

TEST(Sampler, RepetitionPenalty) {
  hybridc_rt_sampler_params p = params(0);
  p.repeat_penalty = 2.5f;
  p.repeat_last_n = 2;
  Sampler s(3, p);
  // Token 1 (logit 2) in the history: 2 / 2.5 = 0.8 < 1 (token 0).
  const int32_t one[1] = {1};
  ASSERT_EQ(hybridc_rt_sampler_accept(s.s, one, 1), HYBRIDC_OK);
  EXPECT_EQ(s.sample({1.0f, 2.0f, -1.0f}), 0);
  // A negative logit is multiplied: -0.1 x 2.5 = -0.25 < -0.2.
  Sampler neg(3, p);
  const int32_t two[1] = {2};
  ASSERT_EQ(hybridc_rt_sampler_accept(neg.s, two, 1), HYBRIDC_OK);
  EXPECT_EQ(neg.sample({-0.2f, -0.3f, -0.1f}), 0);
  // Only the last repeat_last_n tokens count: 1 then 0, 0 pushes it out.
  Sampler window(3, p);
  const int32_t history[3] = {1, 0, 0};
  ASSERT_EQ(hybridc_rt_sampler_accept(window.s, history, 3), HYBRIDC_OK);
  EXPECT_EQ(window.sample({1.0f, 2.0f, -1.0f}), 1);
  // A token repeated in the window is penalized once: 2 / 2.5 = 0.8, not 0.32.
  Sampler once(3, p);
  const int32_t twice[2] = {1, 1};
  ASSERT_EQ(hybridc_rt_sampler_accept(once.s, twice, 2), HYBRIDC_OK);
  EXPECT_EQ(once.sample({0.7f, 2.0f, -1.0f}), 1);
  // The sampled token joins the history.
  Sampler own(3, p);
  EXPECT_EQ(own.sample({1.0f, 2.0f, -1.0f}), 1);
  EXPECT_EQ(own.sample({1.0f, 2.0f, -1.0f}), 0);
}

TEST(Sampler, SameSeedSameTokens) {
  std::vector<float> logits(1000);
  for (size_t i = 0; i < logits.size(); ++i)
    logits[i] = float(std::sin(double(i) * 0.37) * 3);
  auto run = [&](uint64_t seed) {
    hybridc_rt_sampler_params p = params(0.9f);
    p.seed = seed;
    p.top_p = 0.9f;
    p.repeat_penalty = 1.1f;
    Sampler s(1000, p);
    std::vector<int32_t> out;
    for (int i = 0; i < 200; ++i)
      out.push_back(s.sample(logits));
    EXPECT_EQ(hybridc_rt_sampler_reset(s.s), HYBRIDC_OK);
    std::vector<int32_t> again;
    for (int i = 0; i < 200; ++i)
      again.push_back(s.sample(logits));
    EXPECT_EQ(again, out) << "reset restarts the generator and the history";
    return out;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(Sampler, BadParametersAreNamed) {
  const std::pair<std::function<void(hybridc_rt_sampler_params &)>, const char *> cases[] = {
      {[](auto &p) { p.temperature = -1; }, "temperature must be >= 0"},
      {[](auto &p) { p.temperature = NAN; }, "temperature must be >= 0"},
      {[](auto &p) { p.top_k = -2; }, "top_k must be >= 0"},
      {[](auto &p) { p.top_p = 0; }, "top_p must be in (0, 1]"},
      {[](auto &p) { p.top_p = 1.5f; }, "top_p must be in (0, 1]"},
      {[](auto &p) { p.min_p = -0.1f; }, "min_p must be in [0, 1]"},
      {[](auto &p) { p.repeat_penalty = 0; }, "repeat_penalty must be > 0"},
      {[](auto &p) { p.repeat_last_n = -1; }, "repeat_last_n must be in"},
  };
  for (const auto &[edit, needle] : cases) {
    hybridc_rt_sampler_params p = hybridc_rt_sampler_default_params();
    edit(p);
    hybridc_rt_sampler *s = reinterpret_cast<hybridc_rt_sampler *>(1);
    EXPECT_EQ(hybridc_rt_sampler_create(10, &p, &s), HYBRIDC_ERR_INVALID_ARGUMENT) << needle;
    EXPECT_EQ(s, nullptr);
    EXPECT_NE(std::string(hybridc_rt_last_error()).find(needle), std::string::npos)
        << hybridc_rt_last_error();
  }
  hybridc_rt_sampler *s = nullptr;
  EXPECT_EQ(hybridc_rt_sampler_create(0, nullptr, &s), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hybridc_rt_sampler_create(10, nullptr, nullptr), HYBRIDC_ERR_INVALID_ARGUMENT);
}

TEST(Sampler, BadLogitsAndTokensAreRefused) {
  Sampler s(3, params(1));
  int32_t t = -1;
  const std::vector<float> nan = {0, NAN, 1}, inf = {0, 1, INFINITY},
                           none = {-INFINITY, -INFINITY, -INFINITY};
  EXPECT_EQ(hybridc_rt_sampler_sample(s.s, nan.data(), &t), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("logits[1] is NaN"), std::string::npos);
  EXPECT_EQ(hybridc_rt_sampler_sample(s.s, inf.data(), &t), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("logits[2] is +inf"), std::string::npos);
  EXPECT_EQ(hybridc_rt_sampler_sample(s.s, none.data(), &t), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(t, -1);
  EXPECT_EQ(hybridc_rt_sampler_sample(s.s, nullptr, &t), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hybridc_rt_sampler_sample(nullptr, nan.data(), &t), HYBRIDC_ERR_INVALID_ARGUMENT);
  const int32_t bad[2] = {1, 3};
  EXPECT_EQ(hybridc_rt_sampler_accept(s.s, bad, 2), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("tokens[1] = 3"), std::string::npos);
  EXPECT_EQ(hybridc_rt_sampler_accept(s.s, nullptr, 1), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hybridc_rt_sampler_reset(nullptr), HYBRIDC_ERR_INVALID_ARGUMENT);
  // Some -inf logits are fine: those tokens never come.
  expectDistribution(s, {0, -INFINITY, 0}, {0.5, 0, 0.5}, 4000);
}

} // namespace
