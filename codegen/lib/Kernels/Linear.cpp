//===- Linear.cpp - y = scale * (x . W^T + bias) on pre-packed weights ----===//
//
// The weight arrives packed as W[NB][KG][L][G] (NB = ceil(OUT/L), L = the
// target's f32 lanes, G inputs per lane, KG = ceil(IN/G), zero past OUT and
// IN; KernelSpec.h), so for one input group the L outputs of a block are one
// contiguous vector load and the reduction over IN for a block streams one
// contiguous run of memory. With G = 2 (bf16 weights on a target with
// vdpbf16ps) the activations are rounded to bf16 and each vdpbf16ps
// multiplies a vector of weight pairs by one broadcast activation pair.
//
// Two schedules, chosen by the spec's `decode` size:
//  * decode=1 (T == 1, GEMV): memory-bound. Each output block is reduced by
//    U independent vector accumulators (hides FMA latency), blocks run in
//    parallel; when there are too few blocks to feed the cores, IN is also
//    cut into S slices reduced in parallel and summed afterwards (an
//    explicit rfactor).
//  * decode=0 (GEMM): TT token rows x VB output vectors are held in
//    registers while the reduction over IN runs innermost (per input
//    element: VB weight loads, TT broadcasts, TT*VB FMAs); the tiles over
//    (output blocks, token tiles) run in parallel, token tiles innermost so
//    consecutive tiles of one thread reuse the weight block from L2.
//
// Every output store is guarded: out has exactly OUT columns and T rows even
// when the padded weight rows or the register tiles reach past them.
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
} // namespace

BuiltKernel buildLinear(const KernelSpec &spec, const TargetSpec &target) {
  if (isBlockQuantized(spec.weightType))
    return buildLinearQuantized(spec, target);
  const int IN = int(spec.size("IN"));
  const int OUT = int(spec.size("OUT"));
  const bool hasBias = spec.size("has_bias") != 0;
  const bool decode = spec.size("decode") != 0;
  const float scale = float(spec.constant("scale", 1.0));
  const LinearPacking pk = linearPacking(target, spec.weightType);
  const int L = pk.lanes, G = pk.group;
  check(IN > 0 && OUT > 0, spec, "IN and OUT must be positive");
  check(L > 0, spec, "target lanes must be positive");
  const int NB = int(pk.blocks(OUT));
  const int KG = int(pk.groups(IN));

  ImageParam x = tokenRows("x", IN);
  ImageParam w = packedWeight("w", spec.weightType, pk, OUT, IN);
  ImageParam bias(Float(32), 1, "bias");
  if (hasBias)
    bias.dim(0).set_bounds(0, OUT);

  Var o("o"), t("t"), l("l"), b("b"), g("g"), k("k");
  Var oo("oo"), ol("ol"), og("og"), tile("tile");
  const Expr T = x.dim(1).extent();

  // The packed weight; the block index is clamped so that register tiles
  // rounded up past the last block read valid memory (those lanes are never
  // stored).
  auto wAt = [&](const Expr &gg, const Expr &lane, const Expr &kk, const Expr &blk) {
    return w(gg, lane, kk, min(blk, NB - 1));
  };

  Func acc("acc");
  Func out("out");
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

  if (decode) {
    // --- GEMV: U accumulators per block, optionally S slices of IN. ---
    const int U = 4;
    int S = 1;
    // Fewer than 16 blocks cannot keep the cores streaming; slice IN, but
    // keep slices of at least 512 elements so the extra pass stays cheap.
    // A matrix of a few hundred KB (a router) runs on the calling thread:
    // it streams in less time than waking a worker takes.
    const int64_t weightBytes =
        int64_t(NB) * KG * L * G * (spec.weightType == WeightType::BF16 ? 2 : 4);
    const bool small = weightBytes < 256 * 1024;
    if (NB < 16 && !small)
      S = std::max(1, std::min(8, IN / 512));
    const int M = KG / (S * U); // full unrolled steps per slice
    const int mainEnd = S * M * U;

    // The activation groups as the weights pair them: with G = 2 rounded to
    // bf16 once per call (T * IN values), not once per use.
    Func xg("xg");
    xg(g, k, t) = groupedInput([&](const Expr &i) { return x(i, t); }, g, k, IN, pk);

    Var u("u"), s("s"), sb("sb");
    Func part("part");
    RDom rm(0, G, 0, std::max(M, 1), "rm");
    RDom rp(0, U, 0, S, "rp");
    RDom rt(0, G, mainEnd, std::max(KG - mainEnd, 1), "rt");
    acc(l, b, t) = 0.0f;
    if (M > 0) {
      // Group j = (s*M + m)*U + u: the U accumulators of one step read U
      // adjacent weight groups, so each slice still streams contiguously.
      Expr j = (s * M + rm.y) * U + u;
      part(l, u, s, b, t) = 0.0f;
      part(l, u, s, b, t) += dotTerm(wAt(rm.x, l, j, b), xg(rm.x, j, t));
      acc(l, b, t) += part(l, rp.x, rp.y, b, t);
    }
    if (mainEnd < KG)
      acc(l, b, t) += dotTerm(wAt(rt.x, l, rt.y, b), xg(rt.x, rt.y, t));
    defineOut();

    out.split(o, oo, ol, L, TailStrategy::GuardWithIf).vectorize(ol).reorder(ol, oo, t);
    // Group blocks so each parallel task streams tens of KB, not a few.
    // With S > 1 the parallel work is the sliced reduction; the per-block
    // sums left for out are a few vector adds, not worth a parallel loop.
    if (NB >= 64)
      out.split(oo, og, oo, 4, TailStrategy::GuardWithIf).parallel(og);
    else if (S == 1 && !small)
      out.parallel(oo);

    if (G > 1)
      xg.compute_root().bound_extent(g, G).vectorize(g);
    acc.compute_at(out, oo).bound_extent(l, L).vectorize(l);
    if (M > 0)
      acc.update(0).vectorize(l);
    if (mainEnd < KG) {
      Stage tail = acc.update(acc.num_update_definitions() - 1);
      tail.reorder(rt.x, l, rt.y, b, t);
      vectorizeDot(tail, rt.x, l, pk);
    }
    if (M > 0) {
      part.bound_extent(l, L).bound_extent(u, U); // one slice where it is computed
      part.vectorize(l).unroll(u);
      Stage step = part.update();
      step.reorder(rm.x, l, u, rm.y, s, b, t);
      vectorizeDot(step, rm.x, l, pk).unroll(u);
      if (S > 1) {
        // The slices of all blocks of a token in parallel, then the blocks'
        // sums (out's parallel loop) read them back. The parallel loop is a
        // wrapper's, part computed inside each task: a parallel loop of
        // part's own (atomic, with G = 2) update would make every store a
        // CAS loop.
        Func slices = part.in();
        slices.compute_at(out, t)
            .bound_extent(l, L)
            .bound_extent(u, U)
            .bound_extent(s, S)
            .reorder(l, u, s, b)
            .fuse(s, b, sb)
            .parallel(sb)
            .vectorize(l);
        part.compute_at(slices, sb);
      } else {
        part.compute_at(out, oo);
      }
    }
  } else {
    // --- GEMM: register tile of TT rows x VB vectors. ---
    // AVX2 has 16 vector registers: 6x2 accumulators + 2 weights + 1
    // broadcast. AVX-512 and NEON have 32: 8x3 + 3 + 1 (8x3 measured ~5% faster on
    // prefill than 8x2: 24 FMAs per 11 loads instead of 16 per 10). Either
    // way at least 12 FMA chains are in flight, more than FMA latency x
    // issue width (4 x 2). The same tile serves vdpbf16ps (G = 2): each
    // broadcast is then one activation pair.
    const int TT = target.wideRegisterFile() ? 8 : 6;
    const int VB = std::min(target.wideRegisterFile() ? 3 : 2, NB);
    // x is first re-laid out as xt[T/TT][KG][TT][G]: the TT rows of a tile
    // are adjacent for each input group, so the inner loop's TT broadcasts
    // are constant offsets from one pointer (instead of TT clamped row
    // addresses), and with G = 2 each is one 32-bit bf16 pair. Rows past T
    // (the last tile's padding) repeat the last row: in bounds, and never
    // stored. The copy costs T*IN, the GEMM T*IN*OUT.
    Var tt("tt"), tb("tb");
    Func xt("xt");
    Expr row = clamp(tb * TT + tt, 0, T - 1);
    xt(g, tt, k, tb) = groupedInput([&](const Expr &i) { return x(i, row); }, g, k, IN, pk);
    RDom r(0, G, 0, KG, "r");
    Func acc4("acc4");
    acc4(l, b, tt, tb) = 0.0f;
    acc4(l, b, tt, tb) += dotTerm(wAt(r.x, l, r.y, b), xt(r.x, tt, r.y, tb));
    acc(l, b, t) = acc4(l, b, t % TT, t / TT);
    defineOut();

    OutputTiles tiles = tileOutputs(out, o, t, L, VB, TT);
    out.fuse(tiles.to, tiles.oo, tile).parallel(tile);
    xt.compute_root().bound_extent(g, G).bound_extent(tt, TT);
    if (G > 1)
      xt.vectorize(g); // with tt: one dense vector of TT pairs per group
    xt.vectorize(tt).parallel(tb);
    // A fixed-size tile: always TT x VB x L (partial tiles compute the full
    // tile), so the accumulators are constant-indexed and stay in registers.
    scheduleRegisterTile(acc4, LoopLevel(out, tile), pk, VB, TT, r.x, r.y);
  }

  BuiltKernel built{Pipeline(out), {x, w}, {}};
  if (hasBias)
    built.buffers.push_back(bias);
  return built;
}

} // namespace hybridc::codegen
