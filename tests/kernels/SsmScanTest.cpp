//===- SsmScanTest.cpp - ssm_chunk and ssm_step against the recurrence ----===//
//
// The definition (docs/model.md) is the token-by-token recurrence; it is
// evaluated here in double. ssm_chunk (the SSD form) and ssm_step must both
// match it, and ssm_chunk must equal ssm_step applied token by token.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace hybridc::test;

namespace {

struct SsmShape {
  int NH, P, N, G;
};

struct SsmInputs {
  int T;
  std::vector<float> x, dt, B, C, aLog, D, dtBias, state;
};

SsmInputs randomInputs(const SsmShape &s, int T, uint32_t seed) {
  SsmInputs in;
  in.T = T;
  in.x = randomVector(size_t(T) * s.NH * s.P, seed);
  in.dt = randomVector(size_t(T) * s.NH, seed + 1, -3.f, 1.f);
  in.B = randomVector(size_t(T) * s.G * s.N, seed + 2);
  in.C = randomVector(size_t(T) * s.G * s.N, seed + 3);
  in.aLog = randomVector(size_t(s.NH), seed + 4, -1.f, 1.5f);
  in.D = randomVector(size_t(s.NH), seed + 5);
  in.dtBias = randomVector(size_t(s.NH), seed + 6, -1.f, 0.5f);
  in.state = randomVector(size_t(s.NH) * s.P * s.N, seed + 7); // non-zero start
  return in;
}

struct SsmOutputs {
  std::vector<float> y, state;
};

// Token t of `in` as a one-token input (for ssm_step).
SsmInputs tokenOf(const SsmShape &s, const SsmInputs &in, int t, const std::vector<float> &state) {
  SsmInputs one = in;
  one.T = 1;
  auto row = [&](const std::vector<float> &v, size_t width) {
    return std::vector<float>(v.begin() + t * width, v.begin() + (t + 1) * width);
  };
  one.x = row(in.x, size_t(s.NH) * s.P);
  one.dt = row(in.dt, s.NH);
  one.B = row(in.B, size_t(s.G) * s.N);
  one.C = row(in.C, size_t(s.G) * s.N);
  one.state = state;
  return one;
}

SsmOutputs runKernel(hybridc::codegen::BuiltKernel &k, const SsmShape &s, const SsmInputs &in) {
  const int T = in.T;
  auto xb = bufferFrom(in.x, {T, s.NH * s.P});
  auto dtb = bufferFrom(in.dt, {T, s.NH});
  auto bb = bufferFrom(in.B, {T, s.G * s.N});
  auto cb = bufferFrom(in.C, {T, s.G * s.N});
  auto ab = bufferFrom(in.aLog, {s.NH});
  auto db = bufferFrom(in.D, {s.NH});
  auto biasb = bufferFrom(in.dtBias, {s.NH});
  auto sb = bufferFrom(in.state, {s.NH, s.P, s.N});
  Halide::Buffer<float> *inputs[] = {&xb, &dtb, &bb, &cb, &ab, &db, &biasb, &sb};
  EXPECT_EQ(k.buffers.size(), 8u);
  for (size_t i = 0; i < 8; ++i)
    k.buffers[i].set(*inputs[i]);
  auto y = makeBuffer<float>({T, s.NH * s.P});
  auto st = makeBuffer<float>({s.NH, s.P, s.N});
  k.pipeline.realize(Halide::Realization({y, st}));
  return {toVector(y), toVector(st)};
}

// The recurrence in double; dt as the model computes it (softplus with
// threshold 20, rounded to f32, clamped).
void recurrence(const SsmShape &s, const SsmInputs &in, double dtMin, double dtMax,
                std::vector<double> &y, std::vector<double> &state) {
  const int HPG = s.NH / s.G;
  state.assign(in.state.begin(), in.state.end());
  y.assign(size_t(in.T) * s.NH * s.P, 0.0);
  for (int t = 0; t < in.T; ++t)
    for (int h = 0; h < s.NH; ++h) {
      const int g = h / HPG;
      float u = in.dt[size_t(t) * s.NH + h] + in.dtBias[h];
      float sp = u > 20.f ? u : float(std::log1p(std::exp(double(u))));
      const double dt = float(std::clamp(double(sp), dtMin, dtMax));
      const double A = float(-std::exp(double(in.aLog[h])));
      const double dA = std::exp(dt * A);
      for (int p = 0; p < s.P; ++p) {
        const double xv = in.x[(size_t(t) * s.NH + h) * s.P + p];
        double acc = 0;
        for (int n = 0; n < s.N; ++n) {
          double &S = state[(size_t(h) * s.P + p) * s.N + n];
          S = dA * S + dt * xv * in.B[(size_t(t) * s.G + g) * s.N + n];
          acc += S * in.C[(size_t(t) * s.G + g) * s.N + n];
        }
        y[(size_t(t) * s.NH + h) * s.P + p] = acc + in.D[h] * xv;
      }
    }
}

KernelSpec ssmSpec(const std::string &kind, const SsmShape &s, int Q, double dtMin,
                   double dtMax) {
  KernelSpec spec;
  spec.kind = kind;
  spec.symbol = kind + "_test";
  spec.sizes = {{"NH", s.NH}, {"P", s.P}, {"N", s.N}, {"G", s.G}};
  if (kind == "ssm_chunk")
    spec.sizes["Q"] = Q;
  if (dtMin != 0.0 || !std::isinf(dtMax))
    spec.constants = {{"dt_min", dtMin}, {"dt_max", dtMax}};
  return spec;
}

std::vector<double> widen(const std::vector<float> &v) { return {v.begin(), v.end()}; }

// Checks ssm_chunk against the recurrence and against ssm_step token by
// token, for each T in `tokenCounts` (all <= Q).
void checkShape(const SsmShape &s, int Q, const std::vector<int> &tokenCounts, uint32_t seed,
                double dtMin = 0.0, double dtMax = std::numeric_limits<double>::infinity()) {
  for (const auto &name : testTargetNames()) {
    auto target = testTarget(name);
    auto chunk = buildJit(ssmSpec("ssm_chunk", s, Q, dtMin, dtMax), target);
    auto step = buildJit(ssmSpec("ssm_step", s, Q, dtMin, dtMax), target);
    for (int T : tokenCounts) {
      SCOPED_TRACE(name + " NH=" + std::to_string(s.NH) + " P=" + std::to_string(s.P) +
                   " N=" + std::to_string(s.N) + " G=" + std::to_string(s.G) +
                   " Q=" + std::to_string(Q) + " T=" + std::to_string(T));
      SsmInputs in = randomInputs(s, T, seed += 17);
      std::vector<double> wantY, wantState;
      recurrence(s, in, dtMin, dtMax, wantY, wantState);

      SsmOutputs got = runKernel(chunk, s, in);
      EXPECT_TRUE(closeRel(got.y, wantY, kTolF32)) << "ssm_chunk y";
      EXPECT_TRUE(closeRel(got.state, wantState, kTolF32)) << "ssm_chunk state";

      // ssm_step token by token, threading the state through.
      std::vector<float> state = in.state, stepY;
      for (int t = 0; t < T; ++t) {
        SsmOutputs one = runKernel(step, s, tokenOf(s, in, t, state));
        stepY.insert(stepY.end(), one.y.begin(), one.y.end());
        state = one.state;
      }
      EXPECT_TRUE(closeRel(stepY, wantY, kTolF32)) << "ssm_step y";
      EXPECT_TRUE(closeRel(state, wantState, kTolF32)) << "ssm_step state";
      EXPECT_TRUE(closeRel(got.y, widen(stepY), kTolF32)) << "chunk vs step y";
      EXPECT_TRUE(closeRel(got.state, widen(state), kTolF32)) << "chunk vs step state";
    }
  }
}

} // namespace

TEST(SsmScan, RegistryDispatchesToTheBuilders) {
  auto target = testTarget("x86-64-avx2");
  SsmShape s{4, 8, 16, 2};
  auto inf = std::numeric_limits<double>::infinity();
  for (const char *kind : {"ssm_chunk", "ssm_step"}) {
    KernelSpec spec = ssmSpec(kind, s, 16, 0.0, inf);
    auto direct = std::string(kind) == "ssm_chunk" ? hybridc::codegen::buildSsmChunk(spec, target)
                                                   : hybridc::codegen::buildSsmStep(spec, target);
    EXPECT_EQ(hybridc::codegen::buildKernel(spec, target).arguments().size(),
              direct.arguments().size());
    EXPECT_EQ(direct.buffers.size(), 8u);
    EXPECT_EQ(direct.pipeline.outputs().size(), 2u);
  }
}

// T = 1, T < Q, T == Q; two groups.
TEST(SsmScan, TwoGroups) { checkShape({4, 8, 16, 2}, 16, {1, 5, 16}, 10); }

// Odd sizes everywhere (vectors narrower than a register, no exact tiles).
TEST(SsmScan, OddSizes) {
  checkShape({3, 5, 7, 1}, 16, {1, 2, 13}, 20);
  checkShape({4, 5, 7, 2}, 8, {1, 8}, 30);
  checkShape({2, 13, 9, 2}, 8, {3, 8}, 35);
}

// Model-like head sizes (P = 64, N = 128): full register tiles.
TEST(SsmScan, ModelHeadSizes) { checkShape({2, 64, 128, 1}, 64, {1, 17, 64}, 40); }

// A whole chunk of the models' size (Q = 256): many row tiles, so most
// sources reach their rows through a tile start (the two-factor decay), and
// the decays run far below the flush thresholds (the cumulative log-decay
// of these inputs reaches the hundreds).
TEST(SsmScan, WholeModelChunk) { checkShape({2, 64, 128, 1}, 256, {256, 203}, 60); }

// dt limited to [dt_min, dt_max].
TEST(SsmScan, ClampedStepSize) { checkShape({4, 8, 16, 2}, 16, {1, 9}, 50, 0.05, 0.4); }
