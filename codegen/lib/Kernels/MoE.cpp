//===- MoE.cpp - moe_router (top-K gating) and moe_experts -----------------===//
#include "KernelBuilders.h"

#include <algorithm>
#include <limits>

namespace hybridc::codegen {

using namespace Halide;

//===----------------------------------------------------------------------===//
// moe_router: K rounds of masked argmax over E logits, then a softmax over
// the K picked logits. Work is O(T*K*E) with K, E small; it is vectorized
// across tokens (L tokens per vector, one tile per parallel task) after a
// transpose of the tile's logits, so every round reads contiguous vectors.
//===----------------------------------------------------------------------===//
BuiltKernel buildMoeRouter(const KernelSpec &spec, const TargetSpec &target) {
  const int E = int(spec.size("E"));
  const int K = int(spec.size("K"));
  if (E <= 0 || K <= 0 || K > E)
    failKernel(spec, "need 0 < K <= E (K=" + std::to_string(K) + ", E=" + std::to_string(E) + ")");
  const int L = target.lanes;

  ImageParam logits = tokenRows("logits", E);
  const Expr T = logits.dim(1).extent();

  Var e("e"), t("t"), k("k");
  // Tokens past T (the vector tile's padding) read the last token: never
  // stored, but keeps every load in bounds.
  Func lt("lt");
  lt(e, t) = logits(e, clamp(t, 0, T - 1));

  // Round j picks the largest logit not picked before. Strictly greater
  // replaces, so among equal logits the lowest expert id (seen first) wins.
  std::vector<Func> pick;
  RDom r(0, E, "r");
  for (int j = 0; j < K; ++j) {
    Func p("pick" + std::to_string(j));
    p(t) = Tuple(-1, 0.0f);
    Expr masked = cast<bool>(0);
    for (int q = 0; q < j; ++q)
      masked = masked || (r == pick[q](t)[0]);
    Expr v = lt(r, t);
    Expr better = !masked && (p(t)[0] < 0 || v > p(t)[1]);
    p(t) = Tuple(select(better, r, p(t)[0]), select(better, v, p(t)[1]));
    pick.push_back(p);
  }

  // Softmax over the picked logits, shifted by the largest (round 0).
  std::vector<Expr> idxs, vals;
  for (int j = 0; j < K; ++j) {
    idxs.push_back(pick[j](t)[0]);
    vals.push_back(pick[j](t)[1]);
  }
  Func ex("ex"), den("den");
  ex(k, t) = exp(mux(k, vals) - vals[0]);
  RDom rk(0, K, "rk");
  den(t) = 0.0f;
  den(t) += ex(rk, t);

  Func out("out");
  out(k, t) = Tuple(mux(k, idxs), ex(k, t) / den(t));
  // Halide constrains the second tuple output (gates) to the first's shape.
  out.output_buffers()[0].dim(0).set_bounds(0, K);
  out.output_buffers()[0].dim(1).set_min(0);

  Var to("to"), ti("ti");
  out.split(t, to, ti, L, TailStrategy::GuardWithIf).reorder(k, ti, to).unroll(k).parallel(to);
  // Stages over one tile of L tokens, vectorized across the tokens.
  lt.compute_at(out, to).bound_extent(t, L).reorder_storage(t, e).reorder(t, e).vectorize(t);
  for (Func &p : pick) {
    p.compute_at(out, to).bound_extent(t, L).vectorize(t);
    p.update().vectorize(t);
  }
  ex.compute_at(out, to).bound_extent(t, L).bound_extent(k, K).reorder(t, k).vectorize(t);
  den.compute_at(out, to).bound_extent(t, L).vectorize(t);
  den.update().vectorize(t);
  return BuiltKernel{Pipeline(out), {logits}, {}};
}

//===----------------------------------------------------------------------===//
// moe_experts (decode): per token, for each of its K experts e:
//   u = W_in[e] f (2I), h = gate * silu(u[:I]) * u[I:], out += W_out[e] h.
// Both matmuls read weights packed per expert like `linear` (L output lanes
// contiguous per input element) and keep a few output blocks of one expert
// as independent vector accumulators while streaming its rows. The
// parallelism is inside the matmuls (W_in blocks x experts, then W_out
// output blocks): made for T == 1, correct for any T. Prefill groups tokens
// by expert instead (MoEGrouped.cpp).
//===----------------------------------------------------------------------===//
BuiltKernel buildMoeExperts(const KernelSpec &spec, const TargetSpec &target) {
  const int H = int(spec.size("H"));
  const int I = int(spec.size("I"));
  const int E = int(spec.size("E"));
  const int K = int(spec.size("K"));
  if (H <= 0 || I <= 0 || E <= 0 || K <= 0 || K > E)
    failKernel(spec, "need positive H, I, E and 0 < K <= E");
  const int L = target.lanes;
  const int NB1 = (2 * I + L - 1) / L; // W_in blocks (2I outputs)
  const int NB2 = (H + L - 1) / L;     // W_out blocks (H outputs)

  ImageParam f = tokenRows("f", H);
  ImageParam idx(Int(32), 2, "idx");
  ImageParam gates = tokenRows("gates", K);
  ImageParam wIn = expertWeights("w_in", spec.weightType, E, 2 * I, H, L);
  ImageParam wOut = expertWeights("w_out", spec.weightType, E, H, I, L);
  idx.dim(0).set_bounds(0, K);
  idx.dim(1).set_min(0);

  Var j("j"), i("i"), k("k"), t("t"), l("l"), b("b"), o("o");
  // The runtime's router produced the ids; the clamp only guarantees that a
  // corrupt id cannot address outside the weights.
  auto expert = [&](const Expr &kk) { return clamp(idx(kk, t), 0, E - 1); };

  // u over 2I rows: h reads rows [0, IR) and [I, I + IR) (IR = I rounded up
  // to whole vectors), and u is computed in whole groups of VB blocks, so
  // its rows are rounded up past 2I; the clamped block index keeps those
  // loads inside W_in[e] (their values are never used).
  const int IR = (I + L - 1) / L * L;
  const int VB = std::min(4, (I + IR + L - 1) / L);
  const int JU = (I + IR + L * VB - 1) / (L * VB) * (L * VB);
  RDom rh(0, H, "rh");
  Func u("u");
  u(j, k, t) = 0.0f;
  u(j, k, t) += f(rh, t) * cast<float>(wIn(j % L, rh, min(j / L, NB1 - 1), expert(k)));

  // The gate weight folds into h, so W_out's reduction sums all K experts.
  Func h("h");
  h(i, k, t) = gates(k, t) * silu(u(i, k, t)) * u(i + I, k, t);

  // W_out: VB2 output blocks per tile, reduced over (i, expert): for one
  // expert the VB2 blocks are VB2 independent FMA chains streaming from one
  // base address (the expert loop is outside the i loop).
  const int VB2 = std::min(4, NB2);
  RDom ro(0, I, 0, K, "ro");
  Func acc("acc");
  acc(l, b, t) = 0.0f;
  acc(l, b, t) += h(ro.x, ro.y, t) * cast<float>(wOut(l, ro.x, min(b, NB2 - 1), expert(ro.y)));

  Func out("out");
  out(o, t) = acc(o % L, o / L, t);
  out.output_buffer().dim(0).set_bounds(0, H);
  out.output_buffer().dim(1).set_min(0);

  Var oo("oo"), oi("oi"), ov("ov"), ol("ol"), jb("jb"), jl("jl"), jbo("jbo"), jbi("jbi"),
      kj("kj");
  out.split(o, oo, oi, L * VB2, TailStrategy::GuardWithIf)
      .split(oi, ov, ol, L)
      .reorder(ol, ov, oo, t)
      .vectorize(ol)
      .unroll(ov)
      .parallel(oo);

  h.compute_at(out, t).bound_extent(i, IR).bound_extent(k, K).vectorize(i, L);
  u.compute_at(out, t).bound_extent(j, JU).bound_extent(k, K).vectorize(j, L);
  u.update()
      .split(j, jb, jl, L)
      .split(jb, jbo, jbi, VB)
      .reorder(jl, jbi, rh, jbo, k, t)
      .vectorize(jl)
      .unroll(jbi)
      .fuse(jbo, k, kj) // W_in's block groups of all K experts at once
      .parallel(kj);

  acc.compute_at(out, oo).bound_extent(l, L).bound_extent(b, VB2).vectorize(l).unroll(b);
  acc.update().reorder(l, b, ro.x, ro.y, t).vectorize(l).unroll(b);

  return BuiltKernel{Pipeline(out), {f, idx, gates, wIn, wOut}, {}};
}

} // namespace hybridc::codegen
