//===- Attention.cpp - causal NoPE GQA attention for decode ---------------===//
//
// out[t][h] = sum_j softmax_j(scale * q[t][h] . k[j][kv]) v[j][kv] over the
// keys j = 0 .. past + t, with kv = h / (HEADS / KV), k and v read from the
// KV cache in its element type and block layout (runtime/include/hybridc/
// kv_layout.h; KvCacheLayout.h).
//
// Online (streaming) softmax over merge blocks of KB keys, per (head,
// query): a block's scores s_j, their max bm, bsum = sum_j e^{s_j - bm} and
// bacc = sum_j e^{s_j - bm} v_j are computed together, then merged into the
// running (m, l, acc):  m' = max(m, bm), acc' = acc e^{m - m'} + bacc e^{bm - m'},
// l' = l e^{m - m'} + bsum e^{bm - m'}; finally out = acc / l. Every exponent
// is <= 0 and every block holds at least one visible key (blocks entirely past
// the causal limit are skipped), so nothing overflows and nothing divides by
// zero; scores are only ever held for one block.
//
// This file holds the decode schedule (`decode` = 1: made for T = 1,
// correct for any T); prefill uses AttentionTiles.cpp. Decode reads each
// cache element once, so it is bound by memory bandwidth at long context:
//  * The keys are cut into chunks of CK keys, each a parallel task that
//    walks its keys in order for every head (so each thread streams one
//    contiguous range of both segments, and the chunks' partial (m, l, acc)
//    are merged at the end: flash-decoding's split along the sequence).
//  * Scores take the cache's tokens as vector lanes: the K block layout puts
//    one head dim (or a pair of bf16, or four int8) of 16 tokens in one
//    vector, multiplied by one broadcast query value, so a merge block's
//    scores of the HPK query heads of a kv head are HPK x MB vectors of
//    accumulators and no horizontal sum is ever needed. bf16 pairs become
//    two exact f32 vectors with a shift and a mask; int8 keys meet the
//    query quantized the same way (blocks of 32, one scale each) in vpdpbusd
//    (u8 keys, s8 query), the i32 sums scaled per block.
//  * The weighted sum of values takes head dims as lanes: each V vector
//    (16 dims of one token, or of a pair of bf16 tokens) is loaded once for
//    the HPK heads that share it, with HPK x DV accumulators.
//
//===----------------------------------------------------------------------===//
#include "KvCacheLayout.h"

#include <algorithm>
#include <limits>

namespace hybridc::codegen {

using namespace Halide;

BuiltKernel buildAttentionDecode(const KernelSpec &spec, const TargetSpec &target) {
  const int HEADS = int(spec.size("HEADS"));
  const int KV = int(spec.size("KV"));
  const int HD = int(spec.size("HD"));
  const auto dtype = static_cast<int32_t>(spec.size("kv_dtype"));
  const float scale = float(spec.constant("scale", 1.0));
  if (HEADS <= 0 || KV <= 0 || HD <= 0 || HEADS % KV != 0)
    failKernel(spec, "HEADS, KV, HD must be positive and KV must divide HEADS");
  if (!hybridc_kv_dtype_name(dtype))
    failKernel(spec, "kv_dtype must be a KV dtype code (0 f32, 1 bf16, 2 int8)");
  const int HPK = HEADS / KV;
  const int B = HYBRIDC_KV_BLOCK_TOKENS;
  const KvBlockLayout lay(dtype, KV, HD);
  const int L = target.lanes;
  const int budget = target.wideRegisterFile() ? 24 : 12;
  // A merge block is MB cache blocks: HPK x MB x (16 / L) score vectors in
  // registers, at least 8 independent chains where the heads allow.
  const int vectorsPerBlock = std::max(1, B / L);
  const int MB = std::clamp(budget / (HPK * vectorsPerBlock), 1, 8);
  const int KB = MB * B;                    // keys per merge block
  const int CB = std::max(1, 512 / KB);     // merge blocks per task
  const int CK = CB * KB;                   // keys per task
  // The weighted values: HPK x DV vectors of head dims per pass over a
  // merge block's weights, DR = the head dims computed (whole passes).
  const int DV = std::clamp(budget / HPK, 1, std::max(1, (lay.hdp + L - 1) / L));
  const int DVL = DV * L;
  const int DR = (lay.hdp + DVL - 1) / DVL * DVL;

  ImageParam q = tokenRows("q", int64_t(HEADS) * HD);
  const KvSegmentInput kin(lay, false, "k"), vin(lay, true, "v");
  Param<int32_t> past("past");
  const Expr T = q.dim(1).extent();

  Var i("i"), jl("jl"), hh("hh"), g("g"), t("t"), d("d"), mb("mb"), ch("ch"), c("c");
  auto head = [&](const Expr &gg, const Expr &h) { return gg * HPK + h; };
  // Cache block jb, clamped to the last block holding a token of this call
  // (a merge block may reach past the cache's capacity); its slots past the
  // causal limit are masked.
  const Expr lastBlock = (past + T - 1) / B;
  auto blockAt = [&](const Expr &jb) { return min(jb, lastBlock); };
  auto keyOf = [&](const Expr &jb, const Expr &slot) { return jb * B + slot; };
  auto visible = [&](const Expr &key, const Expr &tt) { return key <= past + tt; };

  // The query, 0 past HD (K's padded dims hold 0 too, but a 0 times an
  // uninitialised q could be NaN).
  Func qz("q_padded");
  qz(d, hh, g, t) = select(d < HD, q(head(g, hh) * HD + min(d, HD - 1), t), 0.0f);

  // ---- Scores s(i, jl, hh, g, mb, t): slot i of cache block mb*MB + jl. ----
  Func sacc("score_tile");
  Func score("score");
  const Expr jbOf = mb * MB + jl;
  Int8Rows qq;
  Var qb("qb");
  RDom rs, rq;
  if (lay.int8) {
    // Query head h quantized per block of 32 dims; block qb's i32 dot with
    // the keys' u8 levels, less 128 x the query's sum of levels, times both
    // scales.
    Var hq("hq");
    qq = quantizeRows(
        [&](const Expr &dd) { return select(dd < HD, q(hq * HD + min(dd, HD - 1), t), 0.0f); },
        lay.hdp, 4, {hq, t}, "qq");
    rs = RDom(0, 4, 0, HYBRIDC_KV_SCALE_BLOCK / 4, "rs");
    const Expr quad = qb * (HYBRIDC_KV_SCALE_BLOCK / 4) + rs.y;
    sacc(i, jl, hh, g, qb, mb, t) = 0;
    sacc(i, jl, hh, g, qb, mb, t) +=
        cast<int32_t>(kin.data(lay.kIndex(g, quad * 4, i) + rs.x, blockAt(jbOf))) *
        cast<int32_t>(qq.q(rs.x, quad, head(g, hh), t));
    rq = RDom(0, lay.scaleBlocks, "rq");
    score(i, jl, hh, g, mb, t) = 0.0f;
    score(i, jl, hh, g, mb, t) +=
        cast<float>(sacc(i, jl, hh, g, rq, mb, t) - 128 * qq.sum(rq, head(g, hh), t)) *
        (kin.scales(lay.scaleIndex(g, rq * HYBRIDC_KV_SCALE_BLOCK, i), blockAt(jbOf)) *
         (qq.scale(rq, head(g, hh), t) * scale));
  } else if (lay.bf16) {
    rs = RDom(0, 2, 0, lay.hdp / 2, "rs");
    const Expr pair = kin.data(lay.kIndex(g, 2 * rs.y, i) / 2, blockAt(jbOf));
    sacc(i, jl, hh, g, mb, t) = 0.0f;
    sacc(i, jl, hh, g, mb, t) += qz(2 * rs.y + rs.x, hh, g, t) *
                                 bf16Half(pair, rs.x);
    score(i, jl, hh, g, mb, t) = sacc(i, jl, hh, g, mb, t) * scale;
  } else {
    rs = RDom(0, HD, "rs");
    sacc(i, jl, hh, g, mb, t) = 0.0f;
    sacc(i, jl, hh, g, mb, t) +=
        qz(rs, hh, g, t) * kin.data(lay.kIndex(g, rs, i), blockAt(jbOf));
    score(i, jl, hh, g, mb, t) = sacc(i, jl, hh, g, mb, t) * scale;
  }

  const float lowest = std::numeric_limits<float>::lowest();
  RDom rk(0, B, 0, MB, "rk"); // the merge block's keys: slot, cache block
  const Expr rkey = keyOf(mb * MB + rk.y, rk.x);
  Func blockMax("block_max");
  blockMax(hh, g, mb, t) = lowest;
  blockMax(hh, g, mb, t) = max(blockMax(hh, g, mb, t),
                               select(visible(rkey, t), score(rk.x, rk.y, hh, g, mb, t), lowest));
  Func prob("block_weight"); // e^{s - bm}, 0 for hidden keys
  prob(i, jl, hh, g, mb, t) =
      select(visible(keyOf(jbOf, i), t),
             softmaxWeight(score(i, jl, hh, g, mb, t) - blockMax(hh, g, mb, t)), 0.0f);
  Func blockSum("block_sum");
  blockSum(hh, g, mb, t) = 0.0f;
  blockSum(hh, g, mb, t) += prob(rk.x, rk.y, hh, g, mb, t);

  // ---- Weighted values: vacc(dl, hh, dt, g, mb, t), head dim dt*DVL + dl. ----
  Var dl("dl"), dt("dt");
  const Expr dv = min(dt * DVL + dl, lay.hdp - 1);
  Func vacc("value_tile");
  vacc(dl, hh, dt, g, mb, t) = 0.0f;
  RDom rv = lay.bf16 ? RDom(0, 2, 0, B / 2, 0, MB, "rv") : RDom(0, B, 0, MB, "rv");
  if (lay.bf16) {
    // Pair rv.y of cache block rv.z holds slots 2 rv.y (low) and 2 rv.y + 1.
    const Expr slot = 2 * rv.y + rv.x;
    const Expr pair = vin.data(lay.vIndex(g, dv, 2 * rv.y) / 2, blockAt(mb * MB + rv.z));
    vacc(dl, hh, dt, g, mb, t) += prob(slot, rv.z, hh, g, mb, t) *
                                  bf16Half(pair, rv.x);
  } else {
    const Expr blk = blockAt(mb * MB + rv.y);
    Expr w = prob(rv.x, rv.y, hh, g, mb, t);
    Expr value = cast<float>(vin.data(lay.vIndex(g, dv, rv.x), blk));
    if (lay.int8)
      w = w * vin.scales(lay.scaleIndex(g, dv, rv.x), blk);
    vacc(dl, hh, dt, g, mb, t) += w * value;
  }
  Func blockAcc("block_acc");
  blockAcc(d, hh, g, mb, t) = vacc(d % DVL, hh, d / DVL, g, mb, t);

  // ---- Each task's running (m, l, acc) over its chunk's merge blocks ----
  RDom rb(0, CB, "rb");
  const Expr mbOf = ch * CB + rb;
  rb.where(mbOf * KB <= past + t); // skip merge blocks with no visible key
  Func partial("chunk_softmax");
  partial(d, hh, g, ch, t) = Tuple(lowest, 0.0f, 0.0f);
  {
    Expr m = partial(d, hh, g, ch, t)[0], l = partial(d, hh, g, ch, t)[1],
         acc = partial(d, hh, g, ch, t)[2];
    Expr bm = blockMax(hh, g, mbOf, t);
    Expr mNew = max(m, bm);
    Expr keep = softmaxWeight(m - mNew), add = softmaxWeight(bm - mNew);
    partial(d, hh, g, ch, t) = Tuple(mNew, l * keep + blockSum(hh, g, mbOf, t) * add,
                                     acc * keep + blockAcc(d, hh, g, mbOf, t) * add);
  }

  // Merge the chunks: weights e^{m_c - M} against the largest chunk max M.
  // Chunk 0 holds key 0, visible to every query, so M is finite; a chunk a
  // query cannot see keeps m = lowest and weighs 0.
  RDom rc(0, (past + T + CK - 1) / CK, "rc");
  Func top("chunk_max");
  top(hh, g, t) = lowest;
  top(hh, g, t) = max(top(hh, g, t), partial(0, hh, g, rc, t)[0]);
  Func merged("merged");
  merged(d, hh, g, t) = Tuple(0.0f, 0.0f);
  {
    Expr w = softmaxWeight(partial(d, hh, g, rc, t)[0] - top(hh, g, t));
    merged(d, hh, g, t) = Tuple(merged(d, hh, g, t)[0] + partial(d, hh, g, rc, t)[1] * w,
                                merged(d, hh, g, t)[1] + partial(d, hh, g, rc, t)[2] * w);
  }

  Func out("attention_out");
  {
    Expr h = c / HD, dc = c % HD;
    out(c, t) = merged(dc, h % HPK, h / HPK, t)[1] / merged(dc, h % HPK, h / HPK, t)[0];
  }
  out.output_buffer().dim(0).set_bounds(0, HEADS * HD);
  out.output_buffer().dim(1).set_min(0);

  // ---------------- Schedule ----------------
  // Tasks are chunks; per merge block (rb) every kv head's scores, weights
  // and weighted values, the HPK query heads of a kv head together.
  Var lo("lo"), lv("lv");
  auto lanes = [&](auto &&stage, const Var &v) -> decltype(auto) {
    return stage.split(v, lo, lv, L).vectorize(lv).unroll(lo);
  };
  partial.compute_root().bound_extent(d, DR).vectorize(d, L);
  partial.update().reorder(d, hh, g, rb, ch, t).vectorize(d, L).parallel(ch);
  for (Func f : {top, merged}) {
    f.compute_at(out, t);
    f.update().reorder(f.args()[0], rc);
  }
  merged.bound_extent(d, DR).vectorize(d, L);
  merged.update().vectorize(d, L);
  out.vectorize(c, L, TailStrategy::GuardWithIf);
  qz.compute_root().bound_extent(d, lay.hdp);
  if (lay.int8) {
    qq.computeAt(LoopLevel::root(), L);
    qq.q.vectorize(qq.q.args()[0], 4);
  }

  LoopLevel perBlock(partial, rb);
  // Scores: per kv head g, HPK x MB x 16 / L accumulators over the head
  // dims (int8: i32 ones per scale block, then scaled into the f32 ones).
  lanes(score.compute_at(perBlock)
            .bound_extent(i, B)
            .bound_extent(jl, MB)
            .bound_extent(hh, HPK)
            .reorder(i, hh, jl, g),
        i)
      .unroll(hh)
      .unroll(jl);
  auto tile = [&](Func f, const LoopLevel &at) {
    std::vector<Var> a = f.args(); // i, jl, hh, g, ...
    f.compute_at(at).bound_extent(a[0], B).bound_extent(a[1], MB).bound_extent(a[2], HPK)
        .bound_extent(a[3], 1);
    lanes(f, a[0]).unroll(a[1]).unroll(a[2]);
  };
  if (lay.int8) {
    lanes(score.update().reorder(i, hh, jl, rq, g), i).unroll(hh).unroll(jl);
    tile(sacc, LoopLevel(score, rq));
    sacc.bound_extent(qb, 1);
    // As BlockDot: the 4-to-1 vector reduction Halide maps to vpdpbusd.
    sacc.update()
        .split(i, lo, lv, L)
        .reorder(rs.x, lv, lo, hh, jl, rs.y, qb, g)
        .atomic()
        .vectorize(rs.x)
        .vectorize(lv)
        .unroll(lo)
        .unroll(hh)
        .unroll(jl);
  } else {
    tile(sacc, LoopLevel(score, g));
    Stage step = sacc.update();
    if (lay.bf16) // one pair vector load, its two halves for two query dims
      lanes(step.reorder(i, hh, jl, rs.x, rs.y, g), i).unroll(hh).unroll(jl).unroll(rs.x);
    else
      lanes(step.reorder(i, hh, jl, rs, g), i).unroll(hh).unroll(jl);
  }
  // The merge block's max and sum: lane-wise over the slots (rfactor),
  // then across the lanes.
  for (Func f : {blockMax, blockSum}) {
    RVar ro("ro"), ri("ri");
    Var w("w");
    f.compute_at(perBlock);
    Func lanesOf = f.update().split(rk.x, ro, ri, std::min(L, B)).rfactor(ri, w);
    lanesOf.compute_at(perBlock).vectorize(w).update().vectorize(w);
  }
  lanes(prob.compute_at(perBlock).bound_extent(i, B).bound_extent(jl, MB).bound_extent(hh, HPK),
        i);
  // Weighted values: per (kv head, DV vectors of head dims), HPK x DV
  // accumulators; each V vector loaded once for the HPK heads.
  Var dto("dto"), dli("dli");
  blockAcc.compute_at(perBlock)
      .bound_extent(d, DR)
      .split(d, dto, dli, DVL)
      .reorder(dli, hh, dto, g)
      .vectorize(dli, L);
  vacc.compute_at(blockAcc, dto)
      .bound_extent(dl, DVL)
      .bound_extent(hh, HPK)
      .bound_extent(dt, 1)
      .bound_extent(g, 1);
  lanes(vacc, dl).unroll(hh);
  {
    Stage step = vacc.update();
    if (lay.bf16)
      lanes(step.reorder(dl, hh, rv.x, rv.y, rv.z, dt, g), dl).unroll(hh).unroll(rv.x);
    else
      lanes(step.reorder(dl, hh, rv.x, rv.y, dt, g), dl).unroll(hh);
  }

  BuiltKernel kernel{Pipeline(out), {q}, {past}};
  kin.appendTo(kernel.buffers, lay);
  vin.appendTo(kernel.buffers, lay);
  return kernel;
}

BuiltKernel buildAttention(const KernelSpec &spec, const TargetSpec &target) {
  return spec.size("decode") != 0 ? buildAttentionDecode(spec, target)
                                  : buildAttentionTiles(spec, target);
}

} // namespace hybridc::codegen
