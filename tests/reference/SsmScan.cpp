//===- SsmScan.cpp --------------------------------------------------------===//
//
// Inputs, outputs and the carried state are float. Inside chunkedScan the
// per-chunk intermediates (log-decays, masks, chunk states) are held in
// double: they are sums over many tokens, and keeping them exact lets the
// chunked-vs-sequential test measure the algorithms, not fp32 rounding.
//
//===----------------------------------------------------------------------===//

#include "SsmScan.h"

#include "ReferenceCommon.h"
#include "ReferenceMath.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace hybridc::reference {

namespace {

void checkSizes(const SsmShape &s, const std::vector<float> &x,
                const std::vector<float> &dt, const std::vector<float> &A,
                const std::vector<float> &B, const std::vector<float> &C,
                const std::vector<float> &D, const std::vector<float> &state) {
  auto expect = [](const char *what, size_t actual, int64_t expected) {
    if (static_cast<int64_t>(actual) != expected)
      fatal(std::string("ssm scan: ") + what + " has " +
            std::to_string(actual) + " elements, expected " +
            std::to_string(expected));
  };
  if (s.seqLen < 0 || s.heads <= 0 || s.headDim <= 0 || s.stateSize <= 0 ||
      s.groups <= 0 || s.heads % s.groups != 0)
    fatal("ssm scan: bad shape (T=" + std::to_string(s.seqLen) +
          ", nh=" + std::to_string(s.heads) + ", G=" + std::to_string(s.groups) +
          ")");
  const int64_t T = s.seqLen, nh = s.heads, P = s.headDim, N = s.stateSize,
                G = s.groups;
  expect("x", x.size(), T * nh * P);
  expect("dt", dt.size(), T * nh);
  expect("A", A.size(), nh);
  expect("B", B.size(), T * G * N);
  expect("C", C.size(), T * G * N);
  expect("D", D.size(), nh);
  expect("state", state.size(), nh * P * N);
}

} // namespace

std::vector<float> sequentialScan(const SsmShape &shape,
                                  const std::vector<float> &x,
                                  const std::vector<float> &dt,
                                  const std::vector<float> &A,
                                  const std::vector<float> &B,
                                  const std::vector<float> &C,
                                  const std::vector<float> &D,
                                  std::vector<float> &state) {
  checkSizes(shape, x, dt, A, B, C, D, state);
  const int64_t T = shape.seqLen, nh = shape.heads, P = shape.headDim,
                N = shape.stateSize, G = shape.groups;
  std::vector<float> y(T * nh * P);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t h = 0; h < nh; ++h) {
      const int64_t g = shape.groupOfHead(h);
      const float *Bt = &B[(t * G + g) * N];
      const float *Ct = &C[(t * G + g) * N];
      const double step = dt[t * nh + h];
      const double decay = std::exp(step * A[h]); // dA ∈ (0, 1]
      for (int64_t p = 0; p < P; ++p) {
        const double xv = x[(t * nh + h) * P + p];
        float *S = &state[(h * P + p) * N];
        for (int64_t n = 0; n < N; ++n)
          S[n] = static_cast<float>(decay * S[n] + step * xv * Bt[n]);
        y[(t * nh + h) * P + p] = static_cast<float>(dot(S, Ct, N) + D[h] * xv);
      }
    }
  }
  return y;
}

std::vector<float> chunkedScan(const SsmShape &shape,
                               const std::vector<float> &x,
                               const std::vector<float> &dt,
                               const std::vector<float> &A,
                               const std::vector<float> &B,
                               const std::vector<float> &C,
                               const std::vector<float> &D,
                               std::vector<float> &state, int64_t chunkSize) {
  checkSizes(shape, x, dt, A, B, C, D, state);
  if (chunkSize <= 0)
    fatal("ssm scan: chunk size must be positive, got " +
          std::to_string(chunkSize));
  const int64_t T = shape.seqLen, nh = shape.heads, P = shape.headDim,
                N = shape.stateSize, G = shape.groups, Q = chunkSize;
  const int64_t numChunks = (T + Q - 1) / Q;
  const int64_t stateElems = nh * P * N;

  // Spec 6 step 0 pads T to a multiple of Q with zero inputs and zero
  // log-decay. Such steps neither change a state (decay 1, no input) nor
  // survive in the output, so a shorter last chunk computes the same thing;
  // we use that instead of materialising the padding.
  auto chunkLength = [&](int64_t c) { return std::min(Q, T - c * Q); };

  std::vector<double> yAcc(T * nh * P, 0.0);
  // S_l (spec step 1) for every token: the log-decay from its chunk's start.
  std::vector<double> cumLogDecay(T * nh);
  // The total log-decay of each chunk (T_c) and its end state built from its
  // own inputs only (st_c, spec step 4).
  std::vector<double> chunkLogDecay(numChunks * nh);
  std::vector<double> chunkStates(numChunks * stateElems, 0.0);

  // ---- Per-chunk terms: steps 1-4. ----
  for (int64_t c = 0; c < numChunks; ++c) {
    const int64_t t0 = c * Q, len = chunkLength(c);

    // C·Bᵀ per group: [len][len], only s ≤ l is used.
    std::vector<double> CB(G * len * len, 0.0);
    for (int64_t g = 0; g < G; ++g)
      for (int64_t l = 0; l < len; ++l)
        for (int64_t s = 0; s <= l; ++s)
          CB[(g * len + l) * len + s] = dot(&C[((t0 + l) * G + g) * N],
                                            &B[((t0 + s) * G + g) * N], N);

    for (int64_t h = 0; h < nh; ++h) {
      const int64_t g = shape.groupOfHead(h);
      // a_l = dt_l·A ≤ 0 and x̄_l = dt_l·x_l.
      std::vector<double> a(len), xbar(len * P);
      for (int64_t l = 0; l < len; ++l) {
        const double step = dt[(t0 + l) * nh + h];
        a[l] = step * A[h];
        for (int64_t p = 0; p < P; ++p)
          xbar[l * P + p] = step * x[((t0 + l) * nh + h) * P + p];
      }

      // Step 1: S_l = Σ_{i≤l} a_i.
      double running = 0.0;
      for (int64_t l = 0; l < len; ++l) {
        running += a[l];
        cumLogDecay[(t0 + l) * nh + h] = running;
      }
      chunkLogDecay[c * nh + h] = running;

      // Step 2: Lmask[l][s] = exp(Σ_{i=s+1}^{l} a_i) for s ≤ l (0 above the
      // diagonal, i.e. exp(-inf)). Summed directly rather than as S_l - S_s,
      // as HF's segment_sum does, so no cancellation creeps in.
      std::vector<double> mask(len * len, 0.0);
      for (int64_t l = 0; l < len; ++l) {
        double segment = 0.0;
        mask[l * len + l] = 1.0;
        for (int64_t s = l - 1; s >= 0; --s) {
          segment += a[s + 1];
          mask[l * len + s] = std::exp(segment);
        }
      }

      // Step 3: Y_diag = ((C·Bᵀ) ∘ Lmask) · X̄.
      for (int64_t l = 0; l < len; ++l) {
        for (int64_t s = 0; s <= l; ++s) {
          const double m = CB[(g * len + l) * len + s] * mask[l * len + s];
          for (int64_t p = 0; p < P; ++p)
            yAcc[((t0 + l) * nh + h) * P + p] += m * xbar[s * P + p];
        }
      }

      // Step 4: st_c = Σ_s exp(S_last - S_s)·x̄_s ⊗ B_s; the decay from s to
      // the chunk end is exactly the last row of the mask.
      double *st = &chunkStates[c * stateElems + h * P * N];
      for (int64_t s = 0; s < len; ++s) {
        const double toEnd = mask[(len - 1) * len + s];
        const float *Bs = &B[((t0 + s) * G + g) * N];
        for (int64_t p = 0; p < P; ++p) {
          const double coef = toEnd * xbar[s * P + p];
          for (int64_t n = 0; n < N; ++n)
            st[p * N + n] += coef * Bs[n];
        }
      }
    }
  }

  // ---- Step 5: inter-chunk recurrence. ----
  // Hstart_0 = the incoming state, Hstart_{c+1} = exp(T_c)·Hstart_c + st_c;
  // Hstart_{numChunks} is the final state.
  std::vector<double> chunkStart((numChunks + 1) * stateElems);
  std::copy(state.begin(), state.end(), chunkStart.begin());
  for (int64_t c = 0; c < numChunks; ++c) {
    const double *prev = &chunkStart[c * stateElems];
    double *next = &chunkStart[(c + 1) * stateElems];
    const double *st = &chunkStates[c * stateElems];
    for (int64_t h = 0; h < nh; ++h) {
      const double decay = std::exp(chunkLogDecay[c * nh + h]);
      for (int64_t i = h * P * N; i < (h + 1) * P * N; ++i)
        next[i] = decay * prev[i] + st[i];
    }
  }

  // ---- Step 6: off-diagonal term Y_off[l] = exp(S_l)·(Hstart_c · C_l). ----
  for (int64_t c = 0; c < numChunks; ++c) {
    const int64_t t0 = c * Q, len = chunkLength(c);
    const double *H0 = &chunkStart[c * stateElems];
    for (int64_t l = 0; l < len; ++l) {
      const int64_t t = t0 + l;
      for (int64_t h = 0; h < nh; ++h) {
        const float *Ct = &C[(t * G + shape.groupOfHead(h)) * N];
        const double fromStart = std::exp(cumLogDecay[t * nh + h]);
        for (int64_t p = 0; p < P; ++p) {
          const double *row = &H0[(h * P + p) * N];
          double sum = 0.0;
          for (int64_t n = 0; n < N; ++n)
            sum += row[n] * Ct[n];
          yAcc[(t * nh + h) * P + p] += fromStart * sum;
        }
      }
    }
  }

  // ---- Step 7: D skip on the un-scaled x, then round once to float. ----
  std::vector<float> y(T * nh * P);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < nh; ++h)
      for (int64_t p = 0; p < P; ++p) {
        const int64_t i = (t * nh + h) * P + p;
        y[i] = static_cast<float>(yAcc[i] + static_cast<double>(D[h]) * x[i]);
      }

  const double *finalState = &chunkStart[numChunks * stateElems];
  for (int64_t i = 0; i < stateElems; ++i)
    state[i] = static_cast<float>(finalState[i]);
  return y;
}

} // namespace hybridc::reference
