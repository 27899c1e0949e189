//===- LinearQuantized.cpp - linear with int8 / int4 weights -------------===//
//
// The int8 and int4 layouts of KernelSpec.h: weights u8 = q + 128 packed
// W[NB][KG][L][G] (int4: nibbles u4 = q + 8, two groups per byte lane), one
// f32 scale per (row, block of 32 inputs). The activations are quantized to
// int8 per token and block (max |x| / 127) once per call, so each block's
// dot product is integer work:
//   y = sum_blk  d_w d_x (sum_i u_w q_x - offset sum_i q_x)
// where vpdpbusd (u8 x s8, four products summed into each i32 lane, G = 4)
// does the inner sum, 8 instructions per block of 32 inputs and 16 rows, and
// the block's epilogue converts it to f32, removes the offset (128 or 8) and
// scales it into f32 accumulators. Halide 14 emits vpdpbusd for a 4-to-1
// vector reduction of i32(u8) * i32(i8) (BlockDot); int4 nibbles are one
// vpandd or one shift-and-mask away from such a u8 vector. Without VNNI
// (G = 2) the same 2-to-1 reduction becomes vpmaddwd on the bytes widened
// to i16 (vpmovzxbw on load) and a broadcast i16 pair of activations, then
// vpaddd into the i32 lane: 16 instructions per block and 8 rows on AVX2.
//
// Schedules as linear's (Linear.cpp): GEMV (decode = 1) with VB output
// vectors per step as independent chains; GEMM with a register tile of TT
// rows x VB vectors, now two tiles deep (the block's i32 sums and the f32
// totals): 4 x 4 on AVX-512 (512 x 768 x 3352: 2.8-3.0 ms, against 3.1 for
// 3 x 4, 3.3 for 6 x 2, 3.8 for 4 x 3 and 3.9 for 2 x 8; bf16 dot products
// take 3.4 ms there).
//
//===----------------------------------------------------------------------===//
#include "KernelBuilders.h"

#include <algorithm>

namespace hybridc::codegen {

using namespace Halide;

BuiltKernel buildLinearQuantized(const KernelSpec &spec, const TargetSpec &target) {
  const int IN = int(spec.size("IN"));
  const int OUT = int(spec.size("OUT"));
  const bool hasBias = spec.size("has_bias") != 0;
  const bool decode = spec.size("decode") != 0;
  const float scale = float(spec.constant("scale", 1.0));
  if (IN <= 0 || OUT <= 0)
    failKernel(spec, "IN and OUT must be positive");
  const LinearPacking pk = linearPacking(target, spec.weightType);
  const int L = pk.lanes, G = pk.group;
  const int NB = int(pk.blocks(OUT)), SB = int(pk.scaleBlocks(IN));

  ImageParam x = tokenRows("x", IN);
  ImageParam w = packedWeight("w", spec.weightType, pk, OUT, IN);
  ImageParam ws = packedScales("w_scale", pk, OUT, IN);
  ImageParam bias(Float(32), 1, "bias");
  if (hasBias)
    bias.dim(0).set_bounds(0, OUT);
  const Expr T = x.dim(1).extent();

  Var o("o"), t("t"), l("l"), b("b"), blk("blk"), tt("tt"), tb("tb");
  BlockDot dot(spec.weightType, pk, "rr"); // one block: pairs of groups of G
  RDom rb(0, SB, "rb");
  auto wAt = [&](const Expr &lane, const Expr &blkIdx) {
    return dot.weight(w, lane, blk, {min(blkIdx, NB - 1)});
  };

  Func acc("acc"), out("out");
  auto defineOut = [&]() {
    Expr v = acc(o % L, o / L, t);
    if (hasBias)
      v += bias(o);
    if (scale != 1.0f)
      v *= scale;
    out(o, t) = v;
    out.output_buffer().dim(0).set_bounds(0, OUT);
    out.output_buffer().dim(1).set_min(0);
  };

  Func iacc("block_dot"), facc("total");
  Var oo("oo"), ol("ol"), og("og"), ov("ov"), tile("tile");
  if (decode) {
    // --- GEMV: VB output vectors per task step, each an i32 chain. ---
    const int VB = std::min(4, NB);
    Int8Rows xq = quantizeRows([&](const Expr &i) { return x(i, t); }, IN, G, {t}, "xq");
    iacc(l, b, blk, t) = 0;
    iacc(l, b, blk, t) += wAt(l, b) * cast<int32_t>(xq.q(dot.rr.x, dot.group(blk), t));
    facc(l, b, t) = 0.0f;
    facc(l, b, t) += dot.unbiased(iacc(l, b, rb, t), xq.sum(rb, t)) *
                     (ws(l, rb, min(b, NB - 1)) * xq.scale(rb, t));
    acc(l, b, t) = facc(l, b, t);
    defineOut();

    out.split(o, oo, ol, L, TailStrategy::GuardWithIf)
        .split(oo, og, ov, VB, TailStrategy::GuardWithIf)
        .reorder(ol, ov, og, t)
        .vectorize(ol)
        .unroll(ov);
    if (NB > VB)
      out.parallel(og);
    xq.computeAt(LoopLevel::root(), L);
    xq.q.vectorize(xq.q.args()[0], G);
    facc.compute_at(out, og).bound_extent(l, L).bound_extent(b, VB).vectorize(l).unroll(b);
    facc.update().reorder(l, b, rb).vectorize(l).unroll(b);
    iacc.compute_at(facc, rb).bound_extent(l, L).bound_extent(b, VB).vectorize(l).unroll(b);
    dot.schedule(iacc.update(), l, {b}, {}).unroll(b);
  } else {
    // --- GEMM: TT rows x VB vectors, i32 per block and f32 in total. ---
    const int TT = target.wideRegisterFile() ? 4 : 3;
    const int VB = std::min(target.wideRegisterFile() ? 4 : 2, NB);
    // Rows of a tile adjacent per group (see Linear.cpp's xt), quantized.
    Expr row = clamp(tb * TT + tt, 0, T - 1);
    Int8Rows xq = quantizeRows([&](const Expr &i) { return x(i, row); }, IN, G, {tt, tb}, "xq");
    iacc(l, b, tt, blk, tb) = 0;
    iacc(l, b, tt, blk, tb) +=
        wAt(l, b) * cast<int32_t>(xq.q(dot.rr.x, dot.group(blk), tt, tb));
    facc(l, b, tt, tb) = 0.0f;
    facc(l, b, tt, tb) += dot.unbiased(iacc(l, b, tt, rb, tb), xq.sum(rb, tt, tb)) *
                          (ws(l, rb, min(b, NB - 1)) * xq.scale(rb, tt, tb));
    acc(l, b, t) = facc(l, b, t % TT, t / TT);
    defineOut();

    OutputTiles tiles = tileOutputs(out, o, t, L, VB, TT);
    out.fuse(tiles.to, tiles.oo, tile).parallel(tile);
    xq.computeAt(LoopLevel::root(), L);
    Var qg = xq.q.args()[0], qk = xq.q.args()[1];
    xq.q.reorder_storage(qg, tt, qk, tb).bound_extent(tt, TT).vectorize(qg, G);
    for (Func *f : {&xq.amax, &xq.scale, &xq.sum})
      f->bound_extent(tt, TT).parallel(tb);
    facc.compute_at(out, tile)
        .bound_extent(l, L)
        .bound_extent(b, VB)
        .bound_extent(tt, TT)
        .reorder(l, b, tt, tb)
        .vectorize(l)
        .unroll(b)
        .unroll(tt);
    facc.update().reorder(l, b, tt, rb, tb).vectorize(l).unroll(b).unroll(tt);
    iacc.compute_at(facc, rb)
        .bound_extent(l, L)
        .bound_extent(b, VB)
        .bound_extent(tt, TT)
        .reorder(l, b, tt, blk, tb)
        .vectorize(l)
        .unroll(b)
        .unroll(tt);
    dot.schedule(iacc.update(), l, {b, tt}, {blk, tb}).unroll(b).unroll(tt);
  }

  BuiltKernel built{Pipeline(out), {x, w, ws}, {}};
  if (hasBias)
    built.buffers.push_back(bias);
  return built;
}

} // namespace hybridc::codegen
