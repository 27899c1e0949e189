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

  ExpertWeights(const ExpertShape &c, const codegen::LinearPacking &packing, WeightType type,
                uint32_t seed) {
    std::vector<float> in = randomVector(size_t(c.E) * 2 * c.I * c.H, seed);
    std::vector<float> out = randomVector(size_t(c.E) * c.H * c.I, seed + 1);
    wIn = packedWeightBuffer(in.data(), 2 * c.I, c.H, packing, type, c.E);
    wOut = packedWeightBuffer(out.data(), c.H, c.I, packing, type, c.E);
    wInSeen = roundedTo(in, type);
    wOutSeen = roundedTo(out, type);
  }
};

/// out[t] = sum_k gates[t][k] * W_out[e] (silu(g) * u), g, u = the halves of
/// W_in[e] f[t], e = idx[t][k]; in double. With `bf16Inputs` both matmuls'
/// inputs are rounded to bf16 first, f and the gated hidden row
/// gates * silu(g) * u, as the kernels round them for vdpbf16ps.
inline std::vector<double> moeReference(const ExpertShape &c, const ExpertWeights &w, int T,
                                        const std::vector<float> &fIn,
                                        const std::vector<int32_t> &idx,
                                        const std::vector<float> &gates,
                                        bool bf16Inputs = false) {
  const std::vector<float> f = bf16Inputs ? roundedTo(fIn, WeightType::BF16) : fIn;
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
      const double gate = gates[size_t(t) * c.K + j];
      for (int q = 0; q < c.I; ++q) {
        h[q] = gate * silu(u[q]) * u[c.I + q];
        if (bf16Inputs)
          h[q] = roundBF16(float(h[q]));
      }
      for (int o = 0; o < c.H; ++o) {
        double s = 0;
        for (int q = 0; q < c.I; ++q)
          s += double(wo[size_t(o) * c.I + q]) * h[q];
        want[size_t(t) * c.H + o] += s;
      }
    }
  return want;
}

/// The tolerance of the mixture kernels against moeReference. With bf16
/// inputs the hidden row is rounded from the kernel's f32 u, which differs
/// from the double reference's in its last bits: a value that close to a
/// bf16 rounding boundary rounds the other way, moving the output by one
/// bf16 step (2^-8 relative) of that value times a weight. Seen: 4.4e-5 of
/// the output's maximum; allowed: 2^-12 (a wrong kernel is off by > 1e-2).
inline double moeTolerance(const codegen::LinearPacking &packing) {
  return packing.group > 1 ? 1.0 / 4096 : kTolF32;
}

} // namespace hybridc::test

#endif // HYBRIDC_TESTS_KERNELS_MOEREFERENCE_H
