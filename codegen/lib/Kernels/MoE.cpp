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
  ex(k, t) = vexp(mux(k, vals) - vals[0]);
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
  if (isBlockQuantized(spec.weightType))
    return buildMoeExpertsQuantized(spec, target);
  const int H = int(spec.size("H"));
  const int I = int(spec.size("I"));
  const int E = int(spec.size("E"));
  const int K = int(spec.size("K"));
  if (H <= 0 || I <= 0 || E <= 0 || K <= 0 || K > E)
    failKernel(spec, "need positive H, I, E and 0 < K <= E");
  const LinearPacking pk = linearPacking(target, spec.weightType);
  const int L = pk.lanes, G = pk.group;
  const int NB1 = int(pk.blocks(2 * I)); // W_in blocks (2I outputs)
  const int NB2 = int(pk.blocks(H));     // W_out blocks (H outputs)
  const int KG1 = int(pk.groups(H)), KG2 = int(pk.groups(I));

  ImageParam f = tokenRows("f", H);
  ImageParam idx(Int(32), 2, "idx");
  ImageParam gates = tokenRows("gates", K);
  ImageParam wIn = packedWeight("w_in", spec.weightType, pk, 2 * I, H, E);
  ImageParam wOut = packedWeight("w_out", spec.weightType, pk, H, I, E);
  idx.dim(0).set_bounds(0, K);
  idx.dim(1).set_min(0);

  Var j("j"), i("i"), k("k"), t("t"), l("l"), b("b"), o("o"), g("g"), q("q");
  // The runtime's router produced the ids; the clamp only guarantees that a
  // corrupt id cannot address outside the weights.
  auto expert = [&](const Expr &kk) { return clamp(idx(kk, t), 0, E - 1); };

  // The token's input groups as the weights pair them (bf16 pairs rounded
  // once per call with G = 2; f itself with G = 1).
  Func fg("fg");
  fg(g, q, t) = groupedInput([&](const Expr &h) { return f(h, t); }, g, q, H, pk);

  // u over 2I rows: the hidden groups read rows [0, IR) and [I, I + IR)
  // (IR = I rounded up to whole vectors of groups), and u is computed in
  // whole groups of VB blocks, so its rows are rounded up past 2I; the
  // clamped block index keeps those loads inside W_in[e] (their values are
  // never used).
  const int GL = L / G;                          // groups per hidden vector
  const int KGR = (KG2 + GL - 1) / GL * GL;      // hidden groups, whole vectors
  const int IR = std::min(KGR * G, (I + L - 1) / L * L);
  const int VB = std::min(4, (I + IR + L - 1) / L);
  const int JU = (I + IR + L * VB - 1) / (L * VB) * (L * VB);
  RDom rh(0, G, 0, KG1, "rh");
  Func u("u");
  u(j, k, t) = 0.0f;
  u(j, k, t) += dotTerm(wIn(rh.x, j % L, rh.y, expert(k), min(j / L, NB1 - 1)), fg(rh.x, rh.y, t));

  // The gate weight folds into the hidden rows, so W_out's reduction sums
  // all K experts.
  Func hg("hg");
  auto hidden = [&](const Expr &r) {
    return gates(k, t) * silu(u(r, k, t)) * u(r + I, k, t);
  };
  hg(g, q, k, t) = groupedInput(hidden, g, q, I, pk);

  // W_out: VB2 output blocks per tile, reduced over (group, expert): for one
  // expert the VB2 blocks are VB2 independent FMA chains streaming from one
  // base address (the expert loop is outside the group loop).
  const int VB2 = std::min(4, NB2);
  RDom ro(0, G, 0, KG2, 0, K, "ro");
  Func acc("acc");
  acc(l, b, t) = 0.0f;
  acc(l, b, t) += dotTerm(wOut(ro.x, l, ro.y, expert(ro.z), min(b, NB2 - 1)),
                          hg(ro.x, ro.y, ro.z, t));

  Func out("out");
  out(o, t) = acc(o % L, o / L, t);
  out.output_buffer().dim(0).set_bounds(0, H);
  out.output_buffer().dim(1).set_min(0);

  Var oo("oo"), oi("oi"), ov("ov"), ol("ol"), jl("jl"), jbo("jbo"), jbi("jbi"), kj("kj");
  out.split(o, oo, oi, L * VB2, TailStrategy::GuardWithIf)
      .split(oi, ov, ol, L)
      .reorder(ol, ov, oo, t)
      .vectorize(ol)
      .unroll(ov)
      .parallel(oo);

  hg.compute_at(out, t).bound_extent(g, G).bound_extent(q, KGR).bound_extent(k, K);
  if (G > 1)
    hg.vectorize(g);
  hg.vectorize(q, GL);
  if (G > 1)
    fg.compute_at(out, t).bound_extent(g, G).vectorize(g);
  // W_in's block groups of all K experts in parallel. The parallel loop is
  // a wrapper's, with u computed inside each task: a parallel loop of u's
  // own (atomic, with G = 2) update would make every store a CAS loop.
  Func uTasks = u.in();
  uTasks.compute_at(out, t)
      .bound_extent(j, JU)
      .bound_extent(k, K)
      .split(j, jbo, jl, L * VB)
      .reorder(jl, jbo, k)
      .fuse(jbo, k, kj)
      .parallel(kj)
      .vectorize(jl, L);
  u.compute_at(uTasks, kj).bound_extent(j, L * VB).vectorize(j, L);
  Stage uStep = u.update();
  uStep.split(j, jbi, jl, L).reorder(rh.x, jl, jbi, rh.y, k, t);
  vectorizeDot(uStep, rh.x, jl, pk).unroll(jbi);

  acc.compute_at(out, oo).bound_extent(l, L).bound_extent(b, VB2).vectorize(l).unroll(b);
  Stage accStep = acc.update();
  accStep.reorder(ro.x, l, b, ro.y, ro.z, t);
  vectorizeDot(accStep, ro.x, l, pk).unroll(b);

  return BuiltKernel{Pipeline(out), {f, idx, gates, wIn, wOut}, {}};
}

} // namespace hybridc::codegen
