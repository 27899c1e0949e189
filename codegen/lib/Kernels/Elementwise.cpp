//===- Elementwise.cpp - swiglu and residual_add --------------------------===//
//
// Memory-bound streams: vectorized along the row (a guarded tail keeps the
// stores inside the row), a few rows per parallel task.
//
//===----------------------------------------------------------------------===//
#include "KernelBuilders.h"

namespace hybridc::codegen {

using namespace Halide;

BuiltKernel buildSwiglu(const KernelSpec &spec, const TargetSpec &target) {
  const int S = int(spec.size("S"));
  if (S <= 0)
    failKernel(spec, "S must be positive");
  ImageParam u = tokenRows("u", 2 * S);

  Var s("s"), t("t");
  Func out("out");
  // First half is the gate, second half the up projection (docs/model.md).
  out(s, t) = silu(u(s, t)) * u(s + S, t);
  out.output_buffer().dim(0).set_bounds(0, S);
  out.output_buffer().dim(1).set_min(0);
  scheduleRows(out, target.lanes, 4);
  return BuiltKernel{Pipeline(out), {u}, {}};
}

BuiltKernel buildResidualAdd(const KernelSpec &spec, const TargetSpec &target) {
  const int H = int(spec.size("H"));
  const float multiplier = float(spec.constant("multiplier", 1.0));
  if (H <= 0)
    failKernel(spec, "H must be positive");
  ImageParam x = tokenRows("x", H);
  ImageParam b = tokenRows("b", H);

  Var h("h"), t("t");
  Func out("out");
  out(h, t) = multiplier == 1.0f ? x(h, t) + b(h, t) : x(h, t) + multiplier * b(h, t);
  out.output_buffer().dim(0).set_bounds(0, H);
  out.output_buffer().dim(1).set_min(0);
  scheduleRows(out, target.lanes, 4);
  return BuiltKernel{Pipeline(out), {x, b}, {}};
}

} // namespace hybridc::codegen
