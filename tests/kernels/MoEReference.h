//===- MoEReference.h - expert weights and the mixture, in double -*- C++ -*-===//
//
// Shared by the decode (moe_experts) and prefill (moe_expert_tiles +
// moe_combine) kernel tests: random expert weights packed as the kernels
// read them, and the per-token mixture computed in double from the weights
// the kernels see (rounded to the weight type).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_KERNELS_MOEREFERENCE_H
#define HYBRIDC_TESTS_KERNELS_MOEREFERENCE_H

#include "TestUtil.h"

namespace hybridc::test {

struct ExpertShape {
  int H, I, E, K;
};

/// Random W_in [E][2I][H] and W_out [E][H][I], packed per expert like
/// `linear` (experts contiguous), plus the values the kernels see.
struct ExpertWeights {
  Halide::Buffer<> wIn, wOut;
  std::vector<float> wInSeen, wOutSeen;

  ExpertWeights(const ExpertShape &c, int lanes, WeightType type, uint32_t seed) {
    std::vector<float> in = randomVector(size_t(c.E) * 2 * c.I * c.H, seed);
    std::vector<float> out = randomVector(size_t(c.E) * c.H * c.I, seed + 1);
    std::vector<uint8_t> inBytes, outBytes;
    for (int e = 0; e < c.E; ++e) {
      codegen::packLinear(&in[size_t(e) * 2 * c.I * c.H], 2 * c.I, c.H, lanes, type, inBytes);
      codegen::packLinear(&out[size_t(e) * c.H * c.I], c.H, c.I, lanes, type, outBytes);
    }
    const int NB1 = (2 * c.I + lanes - 1) / lanes, NB2 = (c.H + lanes - 1) / lanes;
    wIn = bufferFromBytes(inBytes, codegen::halideType(type), {c.E, NB1, c.H, lanes});
    wOut = bufferFromBytes(outBytes, codegen::halideType(type), {c.E, NB2, c.I, lanes});
    wInSeen = roundedTo(in, type);
    wOutSeen = roundedTo(out, type);
  }
};

/// out[t] = sum_k gates[t][k] * W_out[e] (silu(g) * u), g, u = the halves of
/// W_in[e] f[t], e = idx[t][k]; in double.
inline std::vector<double> moeReference(const ExpertShape &c, const ExpertWeights &w, int T,
                                        const std::vector<float> &f,
                                        const std::vector<int32_t> &idx,
                                        const std::vector<float> &gates) {
  auto silu = [](double g) { return g / (1.0 + std::exp(-g)); };
  std::vector<double> want(size_t(T) * c.H, 0.0);
  std::vector<double> u(2 * c.I), h(c.I);
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < c.K; ++j) {
      int e = idx[size_t(t) * c.K + j];
      const float *wi = &w.wInSeen[size_t(e) * 2 * c.I * c.H];
      const float *wo = &w.wOutSeen[size_t(e) * c.H * c.I];
      for (int r = 0; r < 2 * c.I; ++r) {
        double s = 0;
        for (int q = 0; q < c.H; ++q)
          s += double(wi[size_t(r) * c.H + q]) * f[size_t(t) * c.H + q];
        u[r] = s;
      }
      for (int q = 0; q < c.I; ++q)
        h[q] = silu(u[q]) * u[c.I + q];
      for (int o = 0; o < c.H; ++o) {
        double s = 0;
        for (int q = 0; q < c.I; ++q)
          s += double(wo[size_t(o) * c.I + q]) * h[q];
        want[size_t(t) * c.H + o] += double(gates[size_t(t) * c.K + j]) * s;
      }
    }
  return want;
}

} // namespace hybridc::test

#endif // HYBRIDC_TESTS_KERNELS_MOEREFERENCE_H
