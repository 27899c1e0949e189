//===- Embed.cpp - out[t] = table[token_t] * multiplier -------------------===//
//
// A gather of T rows: each row is a contiguous copy (widened from bf16 when
// the table is bf16) vectorized over H, tokens in parallel.
//
//===----------------------------------------------------------------------===//
#include "KernelBuilders.h"

namespace hybridc::codegen {

using namespace Halide;

BuiltKernel buildEmbed(const KernelSpec &spec, const TargetSpec &target) {
  const int V = int(spec.size("V"));
  const int H = int(spec.size("H"));
  const float multiplier = float(spec.constant("multiplier", 1.0));
  if (V <= 0 || H <= 0)
    failKernel(spec, "V and H must be positive");
  const int L = target.lanes;

  ImageParam tokens(Int(32), 1, "tokens");
  ImageParam table(halideType(spec.weightType), 2, "table");
  tokens.dim(0).set_min(0);
  table.dim(0).set_bounds(0, H).set_stride(1);
  table.dim(1).set_bounds(0, V).set_stride(H);

  Var h("h"), t("t");
  // The runtime validates token ids first; the clamp is the last line of
  // defence so a bad id can never read outside the table.
  Expr row = clamp(tokens(t), 0, V - 1);
  Expr v = cast<float>(table(h, row));
  if (multiplier != 1.0f)
    v *= multiplier;
  Func out("out");
  out(h, t) = v;
  out.output_buffer().dim(0).set_bounds(0, H);
  out.output_buffer().dim(1).set_min(0);

  // Rows are independent: a plain row-wise copy.
  scheduleRows(out, L, 4);
  return BuiltKernel{Pipeline(out), {tokens, table}, {}};
}

} // namespace hybridc::codegen
