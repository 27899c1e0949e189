//===- MoEQuantized.cpp - the mixture's kernels, int8 / int4 experts -----===//
//
// moe_experts (decode) and moe_expert_tiles (prefill) as MoE.cpp and
// MoEGrouped.cpp compute them, with the int8 or int4 weights of KernelSpec.h
// and the block dot product of LinearQuantized.cpp: the token rows are quantized per
// block of 32 inputs once per call, and so are the hidden rows (gate *
// silu(g) * u, per token and expert, or per tile row) before the down
// projection; each block's integer sum (vpdpbusd, or vpmaddwd without
// VNNI) is scaled into an f32 accumulator in the block's epilogue.
//
//===----------------------------------------------------------------------===//
#include "KernelBuilders.h"

#include <algorithm>

namespace hybridc::codegen {

using namespace Halide;

namespace {

void checkSpec(const KernelSpec &spec, bool ok) {
  if (!ok)
    failKernel(spec, "need positive H, I, E and a valid K or TILE");
}

} // namespace

BuiltKernel buildMoeExpertsQuantized(const KernelSpec &spec, const TargetSpec &target) {
  const int H = int(spec.size("H")), I = int(spec.size("I"));
  const int E = int(spec.size("E")), K = int(spec.size("K"));
  checkSpec(spec, H > 0 && I > 0 && E > 0 && K > 0 && K <= E);
  const LinearPacking pk = linearPacking(target, spec.weightType);
  const int L = pk.lanes, G = pk.group;
  const int NB1 = int(pk.blocks(2 * I)), NB2 = int(pk.blocks(H));
  const int SB1 = int(pk.scaleBlocks(H)), SB2 = int(pk.scaleBlocks(I));

  ImageParam f = tokenRows("f", H);
  ImageParam idx(Int(32), 2, "idx");
  ImageParam gates = tokenRows("gates", K);
  ImageParam wIn = packedWeight("w_in", spec.weightType, pk, 2 * I, H, E);
  ImageParam sIn = packedScales("w_in_scale", pk, 2 * I, H, E);
  ImageParam wOut = packedWeight("w_out", spec.weightType, pk, H, I, E);
  ImageParam sOut = packedScales("w_out_scale", pk, H, I, E);
  idx.dim(0).set_bounds(0, K);
  idx.dim(1).set_min(0);

  Var j("j"), k("k"), t("t"), l("l"), b("b"), o("o"), blk("blk");
  auto expert = [&](const Expr &kk) { return clamp(idx(kk, t), 0, E - 1); };
  BlockDot dot(spec.weightType, pk, "rr");

  // u = W_in[e] f over 2I rows (rounded up to whole VB-vector groups; the
  // clamped block index keeps those loads inside W_in[e]).
  Int8Rows fq = quantizeRows([&](const Expr &h) { return f(h, t); }, H, G, {t}, "fq");
  const int VB = std::min(4, NB1);
  const int JU = (2 * I + L * VB - 1) / (L * VB) * (L * VB);
  auto inBlock = [&](const Expr &jj) { return min(jj / L, NB1 - 1); };
  Func iu("u_block_dot"), u("u");
  iu(j, k, blk, t) = 0;
  iu(j, k, blk, t) += dot.weight(wIn, j % L, blk, {expert(k), inBlock(j)}) *
                      cast<int32_t>(fq.q(dot.rr.x, dot.group(blk), t));
  RDom rb1(0, SB1, "rb1");
  u(j, k, t) = 0.0f;
  u(j, k, t) += dot.unbiased(iu(j, k, rb1, t), fq.sum(rb1, t)) *
                (sIn(j % L, rb1, expert(k), inBlock(j)) * fq.scale(rb1, t));

  // The gated hidden rows, quantized per (token, expert) row.
  Int8Rows hq = quantizeRows(
      [&](const Expr &r) { return gates(k, t) * silu(u(r, k, t)) * u(r + I, k, t); }, I, G,
      {k, t}, "hq");

  // W_out: VB2 output vectors per task, reduced over (expert, block).
  const int VB2 = std::min(4, NB2);
  RDom ro(0, SB2, 0, K, "ro");
  Func io("out_block_dot"), acc("acc");
  io(l, b, blk, k, t) = 0;
  io(l, b, blk, k, t) += dot.weight(wOut, l, blk, {expert(k), min(b, NB2 - 1)}) *
                         cast<int32_t>(hq.q(dot.rr.x, dot.group(blk), k, t));
  acc(l, b, t) = 0.0f;
  acc(l, b, t) += dot.unbiased(io(l, b, ro.x, ro.y, t), hq.sum(ro.x, ro.y, t)) *
                  (sOut(l, ro.x, expert(ro.y), min(b, NB2 - 1)) * hq.scale(ro.x, ro.y, t));

  Func out("out");
  out(o, t) = acc(o % L, o / L, t);
  out.output_buffer().dim(0).set_bounds(0, H);
  out.output_buffer().dim(1).set_min(0);

  // ---- Schedule ----
  Var oo("oo"), oi("oi"), ov("ov"), ol("ol"), jl("jl"), jbo("jbo"), jbi("jbi"), kj("kj");
  out.split(o, oo, oi, L * VB2, TailStrategy::GuardWithIf)
      .split(oi, ov, ol, L)
      .reorder(ol, ov, oo, t)
      .vectorize(ol)
      .unroll(ov)
      .parallel(oo);
  fq.computeAt(LoopLevel(out, t), L);
  fq.q.vectorize(fq.q.args()[0], G);
  hq.computeAt(LoopLevel(out, t), L);
  hq.q.bound_extent(hq.q.args()[2], K).vectorize(hq.q.args()[0], G);
  // W_in's vector groups of all K experts in parallel, through a wrapper
  // (a parallel loop of an atomic update would make its stores CAS loops).
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
  u.update().split(j, jbi, jl, L).reorder(jl, jbi, rb1, k, t).vectorize(jl).unroll(jbi);
  iu.compute_at(u, rb1).bound_extent(j, L * VB).vectorize(j, L);
  {
    Stage step = iu.update();
    step.split(j, jbi, jl, L);
    dot.schedule(step, jl, {jbi}, {k, blk, t}).unroll(jbi);
  }
  acc.compute_at(out, oo).bound_extent(l, L).bound_extent(b, VB2).vectorize(l).unroll(b);
  acc.update().reorder(l, b, ro.x, ro.y, t).vectorize(l).unroll(b);
  io.compute_at(acc, ro.x).bound_extent(l, L).bound_extent(b, VB2).vectorize(l).unroll(b);
  dot.schedule(io.update(), l, {b}, {blk, k, t}).unroll(b);

  return BuiltKernel{Pipeline(out), {f, idx, gates, wIn, sIn, wOut, sOut}, {}};
}

BuiltKernel buildMoeExpertTilesQuantized(const KernelSpec &spec, const TargetSpec &target) {
  const int H = int(spec.size("H")), I = int(spec.size("I")), E = int(spec.size("E"));
  const int TT = int(spec.size("TILE"));
  checkSpec(spec, H > 0 && I > 0 && E > 0 && isMoeTileRows(TT));
  const LinearPacking pk = linearPacking(target, spec.weightType);
  const int L = pk.lanes, G = pk.group;
  const int NB1 = int(pk.blocks(2 * I)), NB2 = int(pk.blocks(H));
  const int SB1 = int(pk.scaleBlocks(H)), SB2 = int(pk.scaleBlocks(I));

  ImageParam f = tokenRows("f", H);
  ImageParam rowToken(Int(32), 1, "row_token");
  ImageParam rowGate(Float(32), 1, "row_gate");
  ImageParam tileExpert(Int(32), 1, "tile_expert");
  ImageParam wIn = packedWeight("w_in", spec.weightType, pk, 2 * I, H, E);
  ImageParam sIn = packedScales("w_in_scale", pk, 2 * I, H, E);
  ImageParam wOut = packedWeight("w_out", spec.weightType, pk, H, I, E);
  ImageParam sOut = packedScales("w_out_scale", pk, H, I, E);
  rowToken.dim(0).set_min(0);
  rowGate.dim(0).set_min(0);
  tileExpert.dim(0).set_min(0);

  const Expr T = f.dim(1).extent();
  const Expr R = rowToken.dim(0).extent();
  Var r("r"), tl("tl"), jj("jj"), l("l"), b("b"), o("o"), row("row"), blk("blk");
  Expr e = clamp(tileExpert(tl), 0, E - 1);
  Expr rowOf = clamp(tl * TT + r, 0, R - 1);
  Expr token = clamp(rowToken(rowOf), 0, T - 1);
  BlockDot dot(spec.weightType, pk, "rr");

  // The tile rows, quantized per row and block (q stored [KG][TILE][G]).
  Int8Rows xq = quantizeRows([&](const Expr &h) { return f(h, token); }, H, G, {r, tl}, "xq");

  // u = W_in[e] x per tile: TILE rows x one vector, an i32 tile per block
  // and the f32 tile across blocks (two vectors wide, the 32 accumulators
  // spill: 9.9 against 5.7 ms for 512 tokens of `small`'s experts).
  const int VB = 1;
  auto inBlock = [&](const Expr &bb) { return min(bb, NB1 - 1); };
  Func iu("u_block_dot"), uacc("uacc"), u("u");
  iu(l, b, r, blk, tl) = 0;
  iu(l, b, r, blk, tl) += dot.weight(wIn, l, blk, {e, inBlock(b)}) *
                          cast<int32_t>(xq.q(dot.rr.x, dot.group(blk), r, tl));
  RDom rb1(0, SB1, "rb1");
  uacc(l, b, r, tl) = 0.0f;
  uacc(l, b, r, tl) += dot.unbiased(iu(l, b, r, rb1, tl), xq.sum(rb1, r, tl)) *
                       (sIn(l, rb1, e, inBlock(b)) * xq.scale(rb1, r, tl));
  u(jj, r, tl) = uacc(jj % L, jj / L, r, tl);

  // Gated hidden rows, quantized per tile row.
  Int8Rows hq = quantizeRows(
      [&](const Expr &q) { return rowGate(rowOf) * silu(u(q, r, tl)) * u(q + I, r, tl); }, I, G,
      {r, tl}, "hq");

  const int VB2 = 1;
  Func io("y_block_dot"), acc("acc");
  io(l, b, r, blk, tl) = 0;
  io(l, b, r, blk, tl) += dot.weight(wOut, l, blk, {e, min(b, NB2 - 1)}) *
                          cast<int32_t>(hq.q(dot.rr.x, dot.group(blk), r, tl));
  RDom rb2(0, SB2, "rb2");
  acc(l, b, r, tl) = 0.0f;
  acc(l, b, r, tl) += dot.unbiased(io(l, b, r, rb2, tl), hq.sum(rb2, r, tl)) *
                      (sOut(l, rb2, e, min(b, NB2 - 1)) * hq.scale(rb2, r, tl));

  Func y("y");
  y(o, row) = acc(o % L, o / L, row % TT, row / TT);
  y.output_buffer().dim(0).set_bounds(0, H);
  y.output_buffer().dim(1).set_min(0);

  // ---- Schedule (as MoEGrouped.cpp: output blocks outside, tiles inside) ----
  OutputTiles tiles = tileOutputs(y, o, row, L, VB2, TT);
  y.parallel(tiles.oo);
  for (Int8Rows *rows : {&xq, &hq}) {
    rows->computeAt(LoopLevel::root(), L);
    Var g = rows->q.args()[0], kq = rows->q.args()[1];
    rows->q.reorder_storage(g, r, kq, tl).bound_extent(r, TT).vectorize(g, G).parallel(tl);
    for (Func *fn : {&rows->amax, &rows->scale, &rows->sum})
      fn->bound_extent(r, TT).parallel(tl);
  }
  const int JU = (2 * I + L * VB - 1) / (L * VB) * (L * VB);
  Var jo("jo"), ji("ji"), jv("jv"), jl("jl");
  u.compute_root()
      .bound_extent(jj, JU)
      .bound_extent(r, TT)
      .split(jj, jo, ji, L * VB)
      .split(ji, jv, jl, L)
      .reorder(jl, jv, r, tl, jo)
      .vectorize(jl)
      .unroll(jv)
      .parallel(jo);
  auto tile = [&](Func total, Func step, const LoopLevel &at, int vectors, const RVar &rb) {
    total.compute_at(at)
        .bound_extent(l, L)
        .bound_extent(b, vectors)
        .bound_extent(r, TT)
        .reorder(l, b, r, tl)
        .vectorize(l)
        .unroll(b)
        .unroll(r);
    total.update().reorder(l, b, r, rb, tl).vectorize(l).unroll(b).unroll(r);
    step.compute_at(total, rb)
        .bound_extent(l, L)
        .bound_extent(b, vectors)
        .bound_extent(r, TT)
        .reorder(l, b, r, blk, tl)
        .vectorize(l)
        .unroll(b)
        .unroll(r);
    dot.schedule(step.update(), l, {b, r}, {blk, tl}).unroll(b).unroll(r);
  };
  tile(uacc, iu, LoopLevel(u, tl), VB, rb1);
  tile(acc, io, LoopLevel(y, tiles.to), VB2, rb2);

  return BuiltKernel{Pipeline(y),
                     {f, rowToken, rowGate, tileExpert, wIn, sIn, wOut, sOut},
                     {}};
}

} // namespace hybridc::codegen
