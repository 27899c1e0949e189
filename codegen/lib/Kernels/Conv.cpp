//===- Conv.cpp - Mamba2 causal depthwise conv1d and its carried state ----===//
//
// conv1d:     out[t][c] = silu(bias[c] + sum_k w[c][k] * xs[t+k][c]),
//             xs = concat(state[K-1][C], x[T][C]) along time (docs/model.md).
// conv_state: the last K-1 rows of the same concatenation (docs/model.md).
//
// Both are streaming, memory-bound ops: vectors run over channels (the
// contiguous dimension of every operand), conv1d's token blocks run in
// parallel. The concatenation is never materialised: each tap reads the
// state or x through a select on the row index.
//
//===----------------------------------------------------------------------===//
#include "KernelBuilders.h"

#include <algorithm>

namespace hybridc::codegen {

using namespace Halide;

namespace {

void check(bool ok, const KernelSpec &spec, const std::string &what) {
  if (!ok)
    failKernel(spec, what);
}

// Vector width over a static channel count: a full register when there are
// enough channels, else all of them in one (odd-width) vector.
int channelVector(int channels, int lanes) { return channels >= lanes ? lanes : channels; }

// Row i of concat(state, x): rows [0, K-1) come from the state, the rest from
// x. Both indices are clamped so that bounds inference, which looks at both
// arms of the select, never asks for rows outside either buffer.
Expr window(const ImageParam &state, const ImageParam &x, int K, Expr c, Expr i) {
  Expr T = x.dim(1).extent();
  Expr fromX = x(c, clamp(i - (K - 1), 0, T - 1));
  if (K == 1)
    return fromX; // no history: the state buffer is empty and never read
  return select(i < K - 1, state(c, clamp(i, 0, K - 2)), fromX);
}

} // namespace

BuiltKernel buildConv1d(const KernelSpec &spec, const TargetSpec &target) {
  const int C = int(spec.size("C"));
  const int K = int(spec.size("K"));
  const bool hasBias = spec.sizes.count("has_bias") && spec.size("has_bias") != 0;
  check(C > 0, spec, "C must be positive");
  check(K >= 1, spec, "K must be at least 1");
  const int lanes = target.lanes;

  ImageParam x = tokenRows("x", C);
  ImageParam state(Float(32), 2, "state");
  ImageParam w(Float(32), 2, "w");
  ImageParam bias(Float(32), 1, "bias");

  // Static channel counts let Halide drop bounds arithmetic; T stays dynamic.
  state.dim(0).set_bounds(0, C);
  state.dim(1).set_bounds(0, K - 1);
  w.dim(0).set_bounds(0, K);
  w.dim(1).set_bounds(0, C);
  if (hasBias)
    bias.dim(0).set_bounds(0, C);

  Var c("c"), t("t");
  // Tap K-1 multiplies the current token (row t + K-1 of the window). The
  // taps are unrolled at build time: K is tiny (4 in Granite).
  Expr acc = hasBias ? bias(c) : Expr(0.0f);
  for (int k = 0; k < K; ++k)
    acc = acc + w(k, c) * window(state, x, K, c, t + k);
  Func out("conv1d_out");
  out(c, t) = acc / (1.0f + vexp(-acc)); // SiLU

  out.output_buffer().dim(0).set_bounds(0, C);
  out.output_buffer().dim(1).set_min(0);

  // Tokens are cut into blocks of roughly 64K multiply-adds so that a
  // parallel task amortises its dispatch; inside a block the channel vector
  // is the outer loop so the K weight vectors (strided loads from w[C][K])
  // are loaded once and reused across the block's tokens.
  const int vec = channelVector(C, lanes);
  const int tokensPerTask = std::clamp(65536 / std::max(1, C * K), 1, 64);
  Var co("co"), ci("ci"), to("to"), ti("ti");
  out.split(t, to, ti, tokensPerTask, TailStrategy::GuardWithIf)
      .split(c, co, ci, vec, C % vec == 0 ? TailStrategy::RoundUp : TailStrategy::ShiftInwards)
      .reorder(ci, ti, co, to)
      .vectorize(ci)
      .parallel(to);

  BuiltKernel k{Pipeline(out), {x, state, w}, {}};
  if (hasBias)
    k.buffers.push_back(bias);
  return k;
}

BuiltKernel buildConvState(const KernelSpec &spec, const TargetSpec &target) {
  const int C = int(spec.size("C"));
  const int K = int(spec.size("K"));
  check(C > 0, spec, "C must be positive");
  // With K = 1 there is no history to keep: the state would be empty.
  check(K >= 2, spec, "K must be at least 2 (K = 1 carries no state)");

  ImageParam x = tokenRows("x", C);
  ImageParam stateIn(Float(32), 2, "state_in");
  stateIn.dim(0).set_bounds(0, C);
  stateIn.dim(1).set_bounds(0, K - 1);

  Var c("c"), j("j");
  // Output row j is window row T + j; when T < K-1 the first rows still come
  // from the old state.
  Expr T = x.dim(1).extent();
  Func out("conv_state_out");
  out(c, j) = window(stateIn, x, K, c, T + j);

  out.output_buffer().dim(0).set_bounds(0, C);
  out.output_buffer().dim(1).set_bounds(0, K - 1);

  // K-1 rows of C floats: one vectorised sweep, too small to parallelise.
  const int vec = channelVector(C, target.lanes);
  Var co("co"), ci("ci");
  out.split(c, co, ci, vec, C % vec == 0 ? TailStrategy::RoundUp : TailStrategy::ShiftInwards)
      .vectorize(ci);

  return BuiltKernel{Pipeline(out), {x, stateIn}, {}};
}

} // namespace hybridc::codegen
