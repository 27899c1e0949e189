//===- RmsNorm.cpp - out = w * x / sqrt(mean(x^2) + eps) * scale ----------===//
//
// Per token: one vectorized pass for the sum of squares (2 vectors of
// accumulators so the add chain is not latency-bound, a scalar tail for
// H % 2L), then one vectorized pass for the scaled product. Tokens are
// independent and run in parallel.
//
//===----------------------------------------------------------------------===//
#include "KernelBuilders.h"

namespace hybridc::codegen {

using namespace Halide;

BuiltKernel buildRmsNorm(const KernelSpec &spec, const TargetSpec &target) {
  const int H = int(spec.size("H"));
  const float eps = float(spec.constant("eps", 1e-5));
  const float scale = float(spec.constant("scale", 1.0));
  if (H <= 0)
    failKernel(spec, "H must be positive");
  const int L = target.lanes;
  const int W2 = 2 * L;       // accumulator lanes: two native vectors
  const int M = H / W2;       // full accumulator steps
  const int mainEnd = M * W2; // elements past this go through the scalar tail

  ImageParam x = tokenRows("x", H);
  ImageParam w(Float(32), 1, "w");
  w.dim(0).set_bounds(0, H);

  Var h("h"), t("t"), l("l");
  Func part("part"), ss("ss"), inv("inv"), out("out");
  RDom rm(0, std::max(M, 1), "rm");
  RDom rl(0, W2, "rl");
  RDom rt(mainEnd, std::max(H - mainEnd, 1), "rt");
  ss(t) = 0.0f;
  if (M > 0) {
    part(l, t) = 0.0f;
    Expr v = x(rm * W2 + l, t);
    part(l, t) += v * v;
    ss(t) += part(rl, t);
  }
  if (mainEnd < H) {
    Expr v = x(rt, t);
    ss(t) += v * v;
  }
  // The mean is taken in f32 like the reference implementation; the output
  // scale folds into the per-token factor.
  inv(t) = scale / sqrt(ss(t) / float(H) + eps);
  out(h, t) = x(h, t) * inv(t) * w(h);
  out.output_buffer().dim(0).set_bounds(0, H);
  out.output_buffer().dim(1).set_min(0);

  Var ti = scheduleRows(out, L, 2);
  ss.compute_at(out, ti);
  inv.compute_at(out, ti); // one sqrt and divide per token, not per element
  if (M > 0) {
    part.compute_at(out, ti).bound_extent(l, W2).vectorize(l);
    part.update().reorder(l, rm).vectorize(l);
  }
  return BuiltKernel{Pipeline(out), {x, w}, {}};
}

} // namespace hybridc::codegen
