//===- Linear.cpp - y = scale * (x . W^T + bias) on pre-packed weights ----===//
//
// The weight arrives packed as W[NB][IN][L] (NB = ceil(OUT/L), L = the
// target's f32 lanes, rows past OUT zero), so for one input element the L
// outputs of a block are one contiguous vector load and the reduction over IN
// for a block streams one contiguous IN*L run of memory.
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
    throw CompileError("kernel " + spec.symbol + " (linear): " + what);
}
} // namespace

BuiltKernel buildLinear(const KernelSpec &spec, const TargetSpec &target) {
  const int IN = int(spec.size("IN"));
  const int OUT = int(spec.size("OUT"));
  const bool hasBias = spec.size("has_bias") != 0;
  const bool decode = spec.size("decode") != 0;
  const float scale = float(spec.constant("scale", 1.0));
  const int L = target.lanes;
  check(IN > 0 && OUT > 0, spec, "IN and OUT must be positive");
  check(L > 0, spec, "target lanes must be positive");
  const int NB = (OUT + L - 1) / L;

  ImageParam x = tokenRows("x", IN);
  ImageParam w(halideType(spec.weightType), 3, "w");
  ImageParam bias(Float(32), 1, "bias");

  // Static sizes let Halide drop bounds arithmetic and know the packed
  // weight is dense; only T (x's dim 1) stays dynamic.
  w.dim(0).set_bounds(0, L).set_stride(1);
  w.dim(1).set_bounds(0, IN).set_stride(L);
  w.dim(2).set_bounds(0, NB).set_stride(L * IN);
  if (hasBias)
    bias.dim(0).set_bounds(0, OUT);

  Var o("o"), t("t"), l("l"), b("b");
  Var oo("oo"), oi("oi"), ol("ol"), ov("ov"), og("og"), to("to"), ti("ti"), tile("tile");
  const Expr T = x.dim(1).extent();

  // Weight as f32 (bf16 widens exactly). The block index is clamped so that
  // register tiles rounded up past the last block read valid memory; those
  // lanes are never stored.
  auto wf = [&](const Expr &lane, const Expr &i, const Expr &blk) {
    return cast<float>(w(lane, i, min(blk, NB - 1)));
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
        int64_t(NB) * IN * L * (spec.weightType == WeightType::BF16 ? 2 : 4);
    const bool small = weightBytes < 256 * 1024;
    if (NB < 16 && !small)
      S = std::max(1, std::min(8, IN / 512));
    const int M = IN / (S * U); // full unrolled steps per slice
    const int mainEnd = S * M * U;

    Var u("u"), s("s"), sb("sb");
    Func part("part");
    RDom rm(0, std::max(M, 1), "rm");
    RDom rp(0, U, 0, S, "rp");
    RDom rt(mainEnd, std::max(IN - mainEnd, 1), "rt");
    acc(l, b, t) = 0.0f;
    if (M > 0) {
      // Element i = (s*M + m)*U + u: the U accumulators of one step read U
      // adjacent weight rows, so each slice still streams contiguously.
      Expr i = (s * M + rm) * U + u;
      part(l, u, s, b, t) = 0.0f;
      part(l, u, s, b, t) += x(i, t) * wf(l, i, b);
      acc(l, b, t) += part(l, rp.x, rp.y, b, t);
    }
    if (mainEnd < IN)
      acc(l, b, t) += x(rt, t) * wf(l, rt, b);
    defineOut();

    out.split(o, oo, ol, L, TailStrategy::GuardWithIf).vectorize(ol).reorder(ol, oo, t);
    // Group blocks so each parallel task streams tens of KB, not a few.
    // With S > 1 the parallel work is the sliced reduction; the per-block
    // sums left for out are a few vector adds, not worth a parallel loop.
    if (NB >= 64)
      out.split(oo, og, oo, 4, TailStrategy::GuardWithIf).parallel(og);
    else if (S == 1 && !small)
      out.parallel(oo);

    acc.compute_at(out, oo).bound_extent(l, L).vectorize(l);
    for (int k = 0; k < acc.num_update_definitions(); ++k)
      acc.update(k).vectorize(l);
    if (M > 0) {
      part.bound_extent(l, L).bound_extent(u, U).bound_extent(s, S);
      part.vectorize(l).unroll(u);
      part.update().reorder(l, u, rm, s, b, t).vectorize(l).unroll(u);
      if (S > 1) {
        // The slices of all blocks of a token in parallel, then the blocks'
        // sums (out's parallel loop) read them back.
        part.compute_at(out, t);
        part.update().fuse(s, b, sb).parallel(sb);
      } else {
        part.compute_at(out, oo);
      }
    }
  } else {
    // --- GEMM: register tile of TT rows x VB vectors. ---
    // AVX2 has 16 vector registers: 6x2 accumulators + 2 weights + 1
    // broadcast. AVX-512 has 32: 8x3 + 3 + 1 (8x3 measured ~5% faster on
    // prefill than 8x2: 24 FMAs per 11 loads instead of 16 per 10). Either
    // way at least 12 FMA chains are in flight, more than FMA latency x
    // issue width (4 x 2).
    const int TT = L >= 16 ? 8 : 6;
    const int VB = std::min(L >= 16 ? 3 : 2, NB);
    // x is first re-laid out as xt[T/TT][IN][TT]: the TT rows of a tile are
    // adjacent for each input element, so the inner loop's TT broadcasts are
    // constant offsets from one pointer (instead of TT clamped row
    // addresses). Rows past T (the last tile's padding) repeat the last row:
    // in bounds, and never stored. The copy costs T*IN, the GEMM T*IN*OUT.
    Var tt("tt"), tb("tb"), i("i");
    Func xt("xt");
    xt(tt, i, tb) = x(i, clamp(tb * TT + tt, 0, T - 1));
    RDom r(0, IN, "r");
    Func acc4("acc4");
    acc4(l, b, tt, tb) = 0.0f;
    acc4(l, b, tt, tb) += xt(tt, r, tb) * wf(l, r, b);
    acc(l, b, t) = acc4(l, b, t % TT, t / TT);
    defineOut();

    out.split(o, oo, oi, L * VB, TailStrategy::GuardWithIf)
        .split(t, to, ti, TT, TailStrategy::GuardWithIf)
        .split(oi, ov, ol, L)
        .reorder(ol, ov, ti, to, oo)
        .vectorize(ol)
        .unroll(ov)
        .fuse(to, oo, tile)
        .parallel(tile);
    xt.compute_root().bound_extent(tt, TT).vectorize(tt).parallel(tb);
    // A fixed-size tile: always TT x VB x L (partial tiles compute the full
    // tile), so the accumulators are constant-indexed and stay in registers.
    scheduleRegisterTile(acc4, LoopLevel(out, tile), L, VB, TT, r);
  }

  BuiltKernel k{Pipeline(out), {x, w}, {}};
  if (hasBias)
    k.buffers.push_back(bias);
  return k;
}

} // namespace hybridc::codegen
