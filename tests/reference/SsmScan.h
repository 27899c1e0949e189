//===- SsmScan.h - the Mamba2 selective scan, two ways ----------*- C++ -*-===//
//
// Spec 4.3 steps 4-7 (state update and output, after dt has been softplus'ed
// and clamped) computed token by token, and the same result computed with the
// chunked state-space-duality (SSD) algorithm of docs/model.md. The first is
// the definition; the second is what prefill uses, and the tests check that
// the two agree.
//
// Layouts (row-major, float):
//   x     [T][nh][P]   the un-scaled SSM input (dt is applied inside)
//   dt    [T][nh]      step sizes, already softplus'ed and clamped
//   A     [nh]         already -exp(A_log), so A < 0
//   B, C  [T][G][N]
//   D     [nh]         skip coefficients
//   state [nh][P][N]   in: the state before token 0; out: after token T-1
//   y     [T][nh][P]   the returned output
// Head h reads group h / (nh / G) of B and C (contiguous blocks, docs/model.md).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_REFERENCE_SSMSCAN_H
#define HYBRIDC_TESTS_REFERENCE_SSMSCAN_H

#include <cstdint>
#include <vector>

namespace hybridc::reference {

struct SsmShape {
  int64_t seqLen = 0;    // T
  int64_t heads = 0;     // nh
  int64_t headDim = 0;   // P
  int64_t stateSize = 0; // N
  int64_t groups = 1;    // G; must divide nh

  int64_t headsPerGroup() const { return heads / groups; }
  int64_t groupOfHead(int64_t h) const { return h / headsPerGroup(); }
};

/// Token-by-token recurrence (docs/model.md):
///   S_h ← exp(dt_h·A_h)·S_h + dt_h·x_h ⊗ B_g
///   y_h = S_h·C_g + D_h·x_h
/// Returns y; updates `state` in place.
std::vector<float> sequentialScan(const SsmShape &shape,
                                  const std::vector<float> &x,
                                  const std::vector<float> &dt,
                                  const std::vector<float> &A,
                                  const std::vector<float> &B,
                                  const std::vector<float> &C,
                                  const std::vector<float> &D,
                                  std::vector<float> &state);

/// The same result by the chunked SSD algorithm (docs/model.md) with chunks
/// of `chunkSize` tokens: within-chunk cumulative log-decay, segsum mask,
/// diagonal blocks (C·Bᵀ ∘ L)·X̄, chunk-end states, the inter-chunk state
/// recurrence starting from `state`, the off-diagonal term and the D skip.
/// Returns y; sets `state` to the state after the last token.
std::vector<float> chunkedScan(const SsmShape &shape,
                               const std::vector<float> &x,
                               const std::vector<float> &dt,
                               const std::vector<float> &A,
                               const std::vector<float> &B,
                               const std::vector<float> &C,
                               const std::vector<float> &D,
                               std::vector<float> &state, int64_t chunkSize);

} // namespace hybridc::reference

#endif // HYBRIDC_TESTS_REFERENCE_SSMSCAN_H
