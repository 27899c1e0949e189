//===- SsmScanTest.cpp - chunked SSD scan vs the sequential recurrence ----===//
//
// Tolerance: the two algorithms round differently (per-step decays
// multiplied into an fp32 state vs exponentials of summed log-decays held in
// double), so they agree to a few fp32 ulps of the output's scale. We check
// max|chunked - sequential| <= 1e-5 · max|sequential| per tensor. Element-wise
// relative error is the wrong measure: outputs are sums of terms of both
// signs, and an element that cancels to near zero has a meaningless relative
// error. 1e-5 is ~100 fp32 ulps: loose enough for these rounding differences
// over ~100 steps, tight enough that a 0.1% error in one decay fails
// (DetectsWrongDecay shows it).
//
//===----------------------------------------------------------------------===//

#include "SsmScan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <random>
#include <string>

using namespace hybridc::reference;

namespace {

constexpr double kRelativeTolerance = 1e-5;

struct ScanInputs {
  SsmShape shape;
  std::vector<float> x, dt, A, B, C, D, state;
};

ScanInputs randomInputs(const SsmShape &shape, bool nonZeroState,
                        unsigned seed) {
  std::mt19937 rng(seed);
  auto uniform = [&](float lo, float hi, int64_t count) {
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(count);
    for (float &e : v)
      e = dist(rng);
    return v;
  };
  const int64_t T = shape.seqLen, nh = shape.heads, P = shape.headDim,
                N = shape.stateSize, G = shape.groups;
  ScanInputs in;
  in.shape = shape;
  in.x = uniform(-1.0f, 1.0f, T * nh * P);
  // dt after softplus, and A < 0: per-step log-decays dt·A in [-1.6, -0.005],
  // from nearly no decay to strong decay within a chunk.
  in.dt = uniform(0.01f, 0.8f, T * nh);
  in.A = uniform(-2.0f, -0.5f, nh);
  in.B = uniform(-1.0f, 1.0f, T * G * N);
  in.C = uniform(-1.0f, 1.0f, T * G * N);
  in.D = uniform(-1.0f, 1.0f, nh);
  in.state = nonZeroState ? uniform(-2.0f, 2.0f, nh * P * N)
                          : std::vector<float>(nh * P * N, 0.0f);
  return in;
}

double maxAbs(const std::vector<float> &v) {
  double m = 0.0;
  for (float e : v)
    m = std::max(m, std::fabs(static_cast<double>(e)));
  return m;
}

/// max|actual - expected| / max|expected|.
double relativeError(const std::vector<float> &actual,
                     const std::vector<float> &expected) {
  EXPECT_EQ(actual.size(), expected.size());
  double diff = 0.0;
  for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i)
    diff = std::max(diff, std::fabs(static_cast<double>(actual[i]) - expected[i]));
  double scale = maxAbs(expected);
  return scale > 0.0 ? diff / scale : diff;
}

struct ScanCase {
  const char *name;
  int64_t T, nh, P, N, G, chunk;
  bool nonZeroState;
};

// Names the case in gtest's failure messages instead of a byte dump.
void PrintTo(const ScanCase &c, std::ostream *os) { *os << c.name; }

class ChunkedVsSequential : public ::testing::TestWithParam<ScanCase> {};

TEST_P(ChunkedVsSequential, OutputsAndFinalStateMatch) {
  const ScanCase &c = GetParam();
  SsmShape shape{c.T, c.nh, c.P, c.N, c.G};
  ScanInputs in = randomInputs(shape, c.nonZeroState, 1234u + c.T * 7 + c.chunk);

  std::vector<float> seqState = in.state;
  std::vector<float> seqY =
      sequentialScan(shape, in.x, in.dt, in.A, in.B, in.C, in.D, seqState);
  std::vector<float> chunkState = in.state;
  std::vector<float> chunkY = chunkedScan(shape, in.x, in.dt, in.A, in.B, in.C,
                                          in.D, chunkState, c.chunk);

  // The comparison means something only if the values are not trivially 0
  // and the state actually moved.
  ASSERT_GT(maxAbs(seqY), 0.1);
  ASSERT_GT(relativeError(seqState, in.state), 1e-3);

  const double yErr = relativeError(chunkY, seqY);
  const double stateErr = relativeError(chunkState, seqState);
  std::printf("[ ssm scan ] %s: output rel err %.3g, final state rel err %.3g\n",
              c.name, yErr, stateErr);
  EXPECT_LE(yErr, kRelativeTolerance);
  EXPECT_LE(stateErr, kRelativeTolerance);
}

INSTANTIATE_TEST_SUITE_P(
    SsmScanTest, ChunkedVsSequential,
    ::testing::Values(
        // name, T, nh, P, N, G, chunk, non-zero initial state
        ScanCase{"TNotMultipleOfChunk", 37, 4, 8, 16, 1, 8, true},
        ScanCase{"TMultipleOfChunk", 64, 4, 8, 16, 1, 16, false},
        ScanCase{"TLessThanChunk", 5, 4, 8, 16, 1, 16, true},
        ScanCase{"SingleToken", 1, 4, 8, 16, 1, 8, true},
        ScanCase{"SingleTokenZeroState", 1, 4, 8, 16, 1, 8, false},
        ScanCase{"ChunkOfOne", 23, 4, 8, 16, 1, 1, true},
        ScanCase{"ChunkOfSeven", 50, 4, 8, 16, 1, 7, true},
        ScanCase{"TwoGroups", 50, 4, 8, 16, 2, 7, true},
        ScanCase{"TwoGroupsChunk32", 33, 8, 4, 8, 2, 32, true},
        ScanCase{"ThreeGroupsLong", 100, 6, 4, 8, 3, 32, true},
        ScanCase{"ChunkLargerThanT", 20, 4, 8, 16, 1, 256, true}),
    [](const ::testing::TestParamInfo<ScanCase> &info) {
      return std::string(info.param.name);
    });

// One token from a zero state has a closed form:
// state = dt·x ⊗ B, y = dt·x·(B·C) + D·x.
TEST(SsmScanTest, SingleTokenClosedForm) {
  SsmShape shape{1, 2, 3, 4, 1};
  ScanInputs in = randomInputs(shape, false, 7u);
  for (int chunked = 0; chunked < 2; ++chunked) {
    std::vector<float> state = in.state;
    std::vector<float> y =
        chunked ? chunkedScan(shape, in.x, in.dt, in.A, in.B, in.C, in.D,
                              state, 4)
                : sequentialScan(shape, in.x, in.dt, in.A, in.B, in.C, in.D,
                                 state);
    double bc = 0.0;
    for (int n = 0; n < 4; ++n)
      bc += static_cast<double>(in.B[n]) * in.C[n];
    for (int h = 0; h < 2; ++h)
      for (int p = 0; p < 3; ++p) {
        const double x = in.x[h * 3 + p], dt = in.dt[h];
        EXPECT_NEAR(y[h * 3 + p], dt * x * bc + in.D[h] * x, 1e-6)
            << (chunked ? "chunked" : "sequential") << " h=" << h << " p=" << p;
        for (int n = 0; n < 4; ++n)
          EXPECT_NEAR(state[(h * 3 + p) * 4 + n], dt * x * in.B[n], 1e-6);
      }
  }
}

// Head h must read group h / (nh/G): with group 0's B zeroed, heads 0 and 1
// of 4 (G = 2) get no input, so their state stays zero and y = D·x; heads 2
// and 3 (group 1) do not.
TEST(SsmScanTest, HeadsReadTheirContiguousGroup) {
  SsmShape shape{6, 4, 3, 5, 2};
  ScanInputs in = randomInputs(shape, false, 99u);
  for (int64_t t = 0; t < shape.seqLen; ++t)
    for (int64_t n = 0; n < shape.stateSize; ++n)
      in.B[(t * 2 + 0) * shape.stateSize + n] = 0.0f;
  for (int chunked = 0; chunked < 2; ++chunked) {
    std::vector<float> state = in.state;
    std::vector<float> y =
        chunked ? chunkedScan(shape, in.x, in.dt, in.A, in.B, in.C, in.D,
                              state, 4)
                : sequentialScan(shape, in.x, in.dt, in.A, in.B, in.C, in.D,
                                 state);
    const int64_t P = shape.headDim, N = shape.stateSize;
    for (int64_t h = 0; h < 4; ++h) {
      double stateMag = 0.0, nonSkip = 0.0;
      for (int64_t i = 0; i < P * N; ++i)
        stateMag = std::max(stateMag, std::fabs(double(state[h * P * N + i])));
      for (int64_t t = 0; t < shape.seqLen; ++t)
        for (int64_t p = 0; p < P; ++p) {
          const int64_t i = (t * 4 + h) * P + p;
          nonSkip = std::max(nonSkip,
                             std::fabs(double(y[i]) - double(in.D[h]) * in.x[i]));
        }
      if (h < 2) {
        EXPECT_EQ(stateMag, 0.0) << "head " << h;
        EXPECT_LE(nonSkip, 1e-6) << "head " << h;
      } else {
        EXPECT_GT(stateMag, 1e-2) << "head " << h;
        EXPECT_GT(nonSkip, 1e-2) << "head " << h;
      }
    }
  }
}

// Splitting a sequence into calls that carry the state (as the model does)
// equals one call.
TEST(SsmScanTest, ContinuationAcrossCalls) {
  const int64_t T = 45, split = 17;
  SsmShape whole{T, 4, 8, 16, 1};
  ScanInputs in = randomInputs(whole, true, 5u);
  std::vector<float> seqState = in.state;
  std::vector<float> seqY =
      sequentialScan(whole, in.x, in.dt, in.A, in.B, in.C, in.D, seqState);

  auto slice = [](const std::vector<float> &v, int64_t perToken, int64_t from,
                  int64_t to) {
    return std::vector<float>(v.begin() + from * perToken,
                              v.begin() + to * perToken);
  };
  std::vector<float> state = in.state, y;
  for (auto [from, to] : {std::pair<int64_t, int64_t>{0, split}, {split, T}}) {
    SsmShape part{to - from, 4, 8, 16, 1};
    std::vector<float> partY = chunkedScan(
        part, slice(in.x, 32, from, to), slice(in.dt, 4, from, to), in.A,
        slice(in.B, 16, from, to), slice(in.C, 16, from, to), in.D, state, 8);
    y.insert(y.end(), partY.begin(), partY.end());
  }
  EXPECT_LE(relativeError(y, seqY), kRelativeTolerance);
  EXPECT_LE(relativeError(state, seqState), kRelativeTolerance);
}

// The tolerance is tight enough to notice a slightly wrong decay: scaling A
// by 1.001 in one of the two runs must exceed it.
TEST(SsmScanTest, DetectsWrongDecay) {
  SsmShape shape{37, 4, 8, 16, 1};
  ScanInputs in = randomInputs(shape, true, 11u);
  std::vector<float> wrongA = in.A;
  for (float &a : wrongA)
    a *= 1.001f;
  std::vector<float> s1 = in.state, s2 = in.state;
  std::vector<float> good =
      sequentialScan(shape, in.x, in.dt, in.A, in.B, in.C, in.D, s1);
  std::vector<float> bad =
      chunkedScan(shape, in.x, in.dt, wrongA, in.B, in.C, in.D, s2, 8);
  const double err = relativeError(bad, good);
  std::printf("[ ssm scan ] A x 1.001 gives rel err %.3g\n", err);
  EXPECT_GT(err, 10 * kRelativeTolerance);
}

} // namespace
