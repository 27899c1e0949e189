//===- GatedRmsNorm.cpp - Mamba2 gated RMSNorm (docs/model.md) ----------===//
//
// q = y * silu(z); out = w * q / sqrt(mean over each block of GS contiguous
// channels of q^2 + eps). The gate is applied before the norm and the mean
// is per group (the mamba_ssm / llama.cpp convention; the same as HF for one
// group).
//
// Schedule: token blocks in parallel; per (token, group) q is materialised
// once (it is read twice: for the sum of squares and for the output), the
// sum of squares is reduced with one vector of partial sums (rfactor) and
// the output is a vectorised sweep.
//
//===----------------------------------------------------------------------===//
#include "KernelBuilders.h"

#include <algorithm>

namespace hybridc::codegen {

using namespace Halide;

BuiltKernel buildGatedRmsNorm(const KernelSpec &spec, const TargetSpec &target) {
  const int D = int(spec.size("D"));
  const int GS = int(spec.size("GS"));
  // eps is added to an f32 value in HF and llama.cpp, so it is rounded first.
  const float eps = float(spec.constant("eps", 1e-5));
  if (D <= 0 || GS <= 0 || D % GS != 0)
    failKernel(spec, "GS must divide D (D=" + std::to_string(D) + ", GS=" +
                          std::to_string(GS) + ")");
  const int lanes = target.lanes;

  ImageParam y = tokenRows("y", D);
  ImageParam z = tokenRows("z", D);
  ImageParam w(Float(32), 1, "w");
  w.dim(0).set_bounds(0, D);

  Var c("c"), t("t"), g("g"), u("u");
  Func q("gated");
  q(c, t) = y(c, t) * (z(c, t) / (1.0f + vexp(-z(c, t))));

  RDom r(0, GS, "r");
  Func sumSq("sum_sq");
  sumSq(g, t) = 0.0f;
  sumSq(g, t) += q(g * GS + r, t) * q(g * GS + r, t);

  Func out("gated_rms_norm_out");
  Expr inv = 1.0f / sqrt(sumSq(c / GS, t) / float(GS) + eps);
  out(c, t) = w(c) * (q(c, t) * inv);

  out.output_buffer().dim(0).set_bounds(0, D);
  out.output_buffer().dim(1).set_min(0);

  // Loops: token blocks (parallel) > token > group > channel vector. The
  // channel split by GS is exact, so c / GS is the loop's group index.
  const int vec = GS >= lanes ? lanes : GS;
  const int tokensPerTask = std::clamp(16384 / D, 1, 64);
  Var to("to"), ti("ti"), ci("ci"), cv("cv"), cvi("cvi");
  out.split(c, g, ci, GS)
      .split(ci, cv, cvi, vec, GS % vec == 0 ? TailStrategy::RoundUp : TailStrategy::ShiftInwards)
      .vectorize(cvi)
      .split(t, to, ti, tokensPerTask, TailStrategy::GuardWithIf)
      .reorder(cvi, cv, g, ti, to)
      .parallel(to);

  q.compute_at(out, g).vectorize(c, vec, TailStrategy::GuardWithIf);
  sumSq.compute_at(out, g);
  if (GS % vec == 0 && vec > 1) {
    // vec independent partial sums: vectorised and off the FMA latency chain.
    RVar ro("ro"), ri("ri");
    Func partial = sumSq.update().split(r, ro, ri, vec).rfactor(ri, u);
    partial.compute_at(out, g).vectorize(u).update().vectorize(u);
  }

  return BuiltKernel{Pipeline(out), {y, z, w}, {}};
}

} // namespace hybridc::codegen
