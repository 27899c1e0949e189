//===- MoEGrouped.cpp - prefill experts grouped by expert ------------------===//
//
// Prefill runs the mixture of experts the way a GEMM wants it: the driver
// buckets the (token, slot) pairs of a chunk by expert (see
// codegen/lib/Lowering/MoEGrouping.cpp) into tiles of TILE rows that all
// belong to one expert, and
//
//  * moe_expert_tiles runs each tile's two expert matmuls as register-tiled
//    GEMMs over its TILE gathered token rows (each weight vector loaded is
//    used for TILE multiply-adds), output blocks outside and tiles inside,
//    so an expert's weights are read from memory once per call instead of
//    once per token that picked it, and an expert no token picked costs
//    nothing;
//  * moe_combine sums, for every token, its K rows (already scaled by their
//    gates) in slot order, so the result does not depend on the grouping.
//
// Padding rows of a tile (an expert's last, partial tile) carry gate 0 and a
// valid token id: computed, zero, never read.
//
//===----------------------------------------------------------------------===//
#include "KernelBuilders.h"

#include <algorithm>

namespace hybridc::codegen {

using namespace Halide;

BuiltKernel buildMoeExpertTiles(const KernelSpec &spec, const TargetSpec &target) {
  if (isBlockQuantized(spec.weightType))
    return buildMoeExpertTilesQuantized(spec, target);
  const int H = int(spec.size("H"));
  const int I = int(spec.size("I"));
  const int E = int(spec.size("E"));
  const int TT = int(spec.size("TILE"));
  if (H <= 0 || I <= 0 || E <= 0 || !isMoeTileRows(TT))
    failKernel(spec, "need positive H, I, E and TILE = " + std::to_string(kMoeTileRows) +
                         " or " + std::to_string(kMoeBatchTileRows));
  const LinearPacking pk = linearPacking(target, spec.weightType);
  const int L = pk.lanes, G = pk.group;
  const int NB1 = int(pk.blocks(2 * I)); // W_in blocks (2I outputs)
  const int NB2 = int(pk.blocks(H));     // W_out blocks (H outputs)
  const int KG1 = int(pk.groups(H)), KG2 = int(pk.groups(I));

  ImageParam f = tokenRows("f", H);
  ImageParam rowToken(Int(32), 1, "row_token");
  ImageParam rowGate(Float(32), 1, "row_gate");
  ImageParam tileExpert(Int(32), 1, "tile_expert");
  ImageParam wIn = packedWeight("w_in", spec.weightType, pk, 2 * I, H, E);
  ImageParam wOut = packedWeight("w_out", spec.weightType, pk, H, I, E);
  rowToken.dim(0).set_min(0);
  rowGate.dim(0).set_min(0);
  tileExpert.dim(0).set_min(0);

  const Expr T = f.dim(1).extent();
  Var r("r"), tl("tl"), g("g"), k("k"), jj("jj"), i("i"), l("l"), b("b"), o("o"), row("row");
  // The driver wrote the ids; the clamps only guarantee that a corrupt one
  // cannot address outside the buffers.
  Expr e = clamp(tileExpert(tl), 0, E - 1);
  const Expr R = rowToken.dim(0).extent();
  Expr rowOf = clamp(tl * TT + r, 0, R - 1);

  // The token rows of each tile, stored [KG][TILE][G]: for one input group
  // the TILE values (pairs, with G = 2) the register tile broadcasts are
  // adjacent.
  Func xg("xg");
  Expr token = clamp(rowToken(rowOf), 0, T - 1);
  xg(g, r, k, tl) = groupedInput([&](const Expr &h) { return f(h, token); }, g, k, H, pk);

  // u = W_in[e] x for the tile: TILE rows x VB vectors of outputs held in
  // registers (uacc) while the reduction over H runs innermost.
  // AVX-512 and NEON (32 registers): 8 x 2 accumulators; AVX2 (16): 8 x 1. Either
  // way at least 8 FMA chains are in flight (latency 4 x 2 ports).
  const int vectors = target.wideRegisterFile() ? 2 : 1;
  const int VB = std::min(vectors, NB1);
  RDom rh(0, G, 0, KG1, "rh");
  Func uacc("uacc"), u("u");
  uacc(l, b, r, tl) = 0.0f;
  uacc(l, b, r, tl) += dotTerm(wIn(rh.x, l, rh.y, e, min(b, NB1 - 1)), xg(rh.x, r, rh.y, tl));
  u(jj, r, tl) = uacc(jj % L, jj / L, r, tl);

  // The gate folds into the hidden rows, so the rows the combine sums are
  // final; stored [KG][TILE][G] like xg, the second matmul's input.
  Func hg("hg");
  auto hidden = [&](const Expr &q) {
    return rowGate(rowOf) * silu(u(q, r, tl)) * u(q + I, r, tl);
  };
  hg(g, r, k, tl) = groupedInput(hidden, g, k, I, pk);

  const int VB2 = std::min(vectors, NB2);
  RDom ri(0, G, 0, KG2, "ri");
  Func acc("acc");
  acc(l, b, r, tl) = 0.0f;
  acc(l, b, r, tl) += dotTerm(wOut(ri.x, l, ri.y, e, min(b, NB2 - 1)), hg(ri.x, r, ri.y, tl));

  Func y("y");
  y(o, row) = acc(o % L, o / L, row % TT, row / TT);
  y.output_buffer().dim(0).set_bounds(0, H);
  y.output_buffer().dim(1).set_min(0);

  // Loop order: output blocks outside, tiles inside (both matmuls). Tiles
  // are sorted by expert, so one expert's weight block (VB vectors x the
  // reduction) is read from memory once and reused from cache by all its
  // tiles, while the tiles' rows stream from cache: compute-bound, not
  // bound by re-reading each expert's weights per tile. The parallel tasks
  // are the output blocks.
  OutputTiles tiles = tileOutputs(y, o, row, L, VB2, TT);
  y.parallel(tiles.oo);

  const int JU = (2 * I + L * VB - 1) / (L * VB) * (L * VB);
  Var jo("jo"), ji("ji"), jv("jv"), jl("jl");
  // Gathered rows and hidden rows, once per call each: [KG][TILE][G] per
  // tile, a dense vector of TILE groups per input group.
  for (Func *rows : {&xg, &hg}) {
    rows->compute_root().bound_extent(g, G).bound_extent(r, TT);
    if (G > 1)
      rows->vectorize(g);
    rows->vectorize(r).parallel(tl);
  }
  hg.bound_extent(k, KG2);
  u.compute_root()
      .bound_extent(jj, JU)
      .bound_extent(r, TT)
      .split(jj, jo, ji, L * VB)
      .split(ji, jv, jl, L)
      .reorder(jl, jv, r, tl, jo)
      .vectorize(jl)
      .unroll(jv)
      .parallel(jo);
  // A fixed-size tile, constant-indexed after unrolling: it lives in
  // registers (as in linear's GEMM).
  scheduleRegisterTile(uacc, LoopLevel(u, tl), pk, VB, TT, rh.x, rh.y);
  scheduleRegisterTile(acc, LoopLevel(y, tiles.to), pk, VB2, TT, ri.x, ri.y);

  return BuiltKernel{Pipeline(y), {f, rowToken, rowGate, tileExpert, wIn, wOut}, {}};
}

BuiltKernel buildMoeCombine(const KernelSpec &spec, const TargetSpec &target) {
  const int H = int(spec.size("H"));
  const int K = int(spec.size("K"));
  if (H <= 0 || K <= 0)
    failKernel(spec, "need positive H and K");
  ImageParam y(Float(32), 2, "y");
  ImageParam rowOf(Int(32), 2, "row_of");
  y.dim(0).set_bounds(0, H);
  y.dim(1).set_min(0);
  rowOf.dim(0).set_bounds(0, K);
  rowOf.dim(1).set_min(0);
  const Expr R = y.dim(1).extent();

  Var c("c"), t("t");
  Expr sum = y(c, clamp(rowOf(0, t), 0, R - 1));
  for (int k = 1; k < K; ++k)
    sum += y(c, clamp(rowOf(k, t), 0, R - 1));
  Func out("out");
  out(c, t) = sum;
  out.output_buffer().dim(0).set_bounds(0, H);
  out.output_buffer().dim(1).set_min(0);
  scheduleRows(out, target.lanes, 8);
  return BuiltKernel{Pipeline(out), {y, rowOf}, {}};
}

} // namespace hybridc::codegen
