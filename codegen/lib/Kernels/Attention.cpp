//===- Attention.cpp - causal NoPE GQA attention for decode ---------------===//
//
// out[t][h] = sum_j softmax_j(scale * q[t][h] . k[j][kv]) v[j][kv] over the
// keys j = 0 .. past + t, with kv = h / (HEADS / KV), k and v read from the
// KV cache in its element type and block layout (runtime/include/hybridc/
// kv_layout.h; KvCacheLayout.h).
//
// This file holds the decode schedule (`decode` = 1: made for T = 1,
// correct for any T); prefill uses AttentionTiles.cpp. Decode reads each
// cache element once per token, so at long context it is a stream of the
// cache, and a core streams at its limit only if it spends few instructions
// per byte (one core alone reads about half the machine's bandwidth here).
//
// The keys are cut into chunks, and each (kv head, chunk) is a parallel
// task (flash-decoding's split along the sequence): a task streams one
// contiguous range of its head's K segment, then of its V segment
// (kv_layout.h keeps each head's cache in one place), and the threads take
// contiguous ranges of tasks. A task makes three passes over its chunk, K
// and V each read once:
//   1. scores s_j of every query head for the chunk's keys, into a buffer
//      of chunk x heads floats (L2-resident);
//   2. their max m, the weights e^{s_j - m} (0 for hidden keys) and their
//      sum l: one exponential per key and head, no rescaling per block;
//   3. acc = sum_j e^{s_j - m} v_j.
// The chunks' (m, l, acc) are merged at the end against the largest m:
//   out = sum_c e^{m_c - M} acc_c / sum_c e^{m_c - M} l_c.
// Every exponent is <= 0; chunk 0 holds key 0, visible to every query, so M
// is finite and the denominator at least 1.
//
// Scores take the cache's tokens as vector lanes: the K block layout puts
// one head dim (or a pair of bf16, or four int8) of 16 tokens in one vector,
// multiplied by one broadcast query value, so a tile of the HPK query heads
// of a kv head times MB cache blocks is HPK x MB vectors of accumulators and
// no horizontal sum is needed. bf16 pairs become two exact f32 vectors with
// a shift and a mask; int8 keys meet the query quantized the same way
// (blocks of 32, one scale each) in vpdpbusd (u8 keys, s8 query), the i32
// sums scaled per block. The weighted sum takes head dims as lanes: each V
// vector (16 dims of a token, or of a pair of bf16 tokens) is loaded once
// for the HPK heads that share it, with HPK x DV accumulators.
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
  // A score tile is MB cache blocks: HPK x MB x (16 / L) vectors of
  // accumulators, at least 8 independent chains where the heads allow.
  const int vectorsPerBlock = std::max(1, B / L);
  // bf16 pairs also need the two halves of each loaded vector in registers:
  // half the tile, or the accumulators spill.
  const int perAccumulator = lay.bf16 ? 2 : 1;
  const int MB = std::clamp(budget / (HPK * vectorsPerBlock * perAccumulator), 1, 8);
  // The weighted values: HPK x DV vectors of head dims per pass over the
  // chunk's weights, DR = the head dims computed (whole passes).
  const int DV = std::clamp(budget / HPK, 1, std::max(1, (lay.hdp + L - 1) / L));
  const int DVL = DV * L;
  const int DR = (lay.hdp + DVL - 1) / DVL * DVL;

  ImageParam q = tokenRows("q", int64_t(HEADS) * HD);
  const KvSegmentInput kin(lay, false, "k"), vin(lay, true, "v");
  Param<int32_t> past("past");
  const Expr T = q.dim(1).extent();

  // Chunks of CB cache blocks (a multiple of the tile), at least 32 blocks
  // (512 keys, so a chunk's work dwarfs its merge) and at most 256 chunks
  // (the chunks' partial results stay a few MB at a million keys).
  const Expr blocks = (past + T + B - 1) / B;
  const Expr CB = (max(32, (blocks + 255) / 256) + MB - 1) / MB * MB;
  const Expr chunks = (blocks + CB - 1) / CB;

  Var i("i"), jb("jb"), jl("jl"), jt("jt"), hh("hh"), g("g"), t("t"), d("d"), ch("ch"),
      c("c");
  auto head = [&](const Expr &gg, const Expr &h) { return gg * HPK + h; };
  // Cache block jb clamped to the last block holding a token of this call
  // (a tile may reach past the cache's capacity); its slots past the causal
  // limit are masked.
  const Expr lastBlock = blocks - 1;
  auto blockAt = [&](const Expr &b) { return min(b, lastBlock); };
  auto visible = [&](const Expr &b, const Expr &slot, const Expr &tt) {
    return b * B + slot <= past + tt;
  };

  // The query, 0 past HD (K's padded dims hold 0 too, but a 0 times an
  // uninitialised q could be NaN).
  Func qz("q_padded");
  qz(d, hh, g, t) = select(d < HD, q(head(g, hh) * HD + min(d, HD - 1), t), 0.0f);

  // ---- 1. Scores s(i, jb, hh, g, t): slot i of cache block jb, scaled. ----
  // The register tile sacc(i, jl, hh, g, jt, t) holds blocks jt*MB + jl.
  Func sacc("score_tile"), score("score");
  const Expr jbOf = jt * MB + jl;
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
    Func dot("score_dot");
    dot(i, jl, hh, g, qb, jt, t) = 0;
    dot(i, jl, hh, g, qb, jt, t) +=
        cast<int32_t>(kin.data(lay.kIndex(quad * 4, i) + rs.x, blockAt(jbOf), g)) *
        cast<int32_t>(qq.q(rs.x, quad, head(g, hh), t));
    rq = RDom(0, lay.scaleBlocks, "rq");
    sacc(i, jl, hh, g, jt, t) = 0.0f;
    sacc(i, jl, hh, g, jt, t) +=
        cast<float>(dot(i, jl, hh, g, rq, jt, t) - 128 * qq.sum(rq, head(g, hh), t)) *
        (kin.scales(lay.scaleIndex(rq * HYBRIDC_KV_SCALE_BLOCK, i), blockAt(jbOf), g) *
         qq.scale(rq, head(g, hh), t));
    sacc.update().reorder(i, hh, jl, rq, g, jt);
    // As BlockDot: the 4-to-1 vector reduction Halide maps to vpdpbusd.
    Var lo("lo"), lv("lv");
    dot.compute_at(sacc, rq)
        .bound_extent(i, B)
        .bound_extent(jl, MB)
        .bound_extent(hh, HPK)
        .bound_extent(g, 1)
        .bound_extent(qb, 1)
        .bound_extent(jt, 1)
        .split(i, lo, lv, std::min(L, B))
        .vectorize(lv)
        .unroll(lo)
        .unroll(hh)
        .unroll(jl);
    dot.update()
        .split(i, lo, lv, std::min(L, B))
        .reorder(rs.x, lv, lo, hh, jl, rs.y, qb, g, jt)
        .atomic()
        .vectorize(rs.x)
        .vectorize(lv)
        .unroll(lo)
        .unroll(hh)
        .unroll(jl);
  } else if (lay.bf16) {
    // Pair rs.y of K's head dims: dims 2 rs.y (low half) and 2 rs.y + 1.
    rs = RDom(0, 2, 0, lay.hdp / 2, "rs");
    const Expr pair = kin.data(lay.kIndex(2 * rs.y, i) / 2, blockAt(jbOf), g);
    sacc(i, jl, hh, g, jt, t) = 0.0f;
    sacc(i, jl, hh, g, jt, t) += qz(2 * rs.y + rs.x, hh, g, t) * bf16Half(pair, rs.x);
  } else {
    rs = RDom(0, HD, "rs");
    sacc(i, jl, hh, g, jt, t) = 0.0f;
    sacc(i, jl, hh, g, jt, t) += qz(rs, hh, g, t) * kin.data(lay.kIndex(rs, i), blockAt(jbOf), g);
  }
  score(i, jb, hh, g, t) = sacc(i, jb % MB, hh, g, jb / MB, t) * scale;

  // ---- 2. The chunk's max, weights and their sum. ----
  const float lowest = std::numeric_limits<float>::lowest();
  RDom rj(0, CB, "rj"); // the chunk's blocks
  const Expr rjb = ch * CB + rj;
  Func maxLanes("chunk_max_lanes"); // per slot lane, over the chunk's blocks
  maxLanes(i, hh, g, ch, t) = lowest;
  maxLanes(i, hh, g, ch, t) =
      max(maxLanes(i, hh, g, ch, t),
          select(visible(rjb, i, t), score(i, rjb, hh, g, t), lowest));
  RDom ri(0, B, "ri");
  Func chunkMax("chunk_max");
  chunkMax(hh, g, ch, t) = lowest;
  chunkMax(hh, g, ch, t) = max(chunkMax(hh, g, ch, t), maxLanes(ri, hh, g, ch, t));
  // e^{s - m} of slot i of the chunk's block r (0 for hidden keys):
  // indexed within the chunk, so no key needs a division to find its chunk.
  Var r("r");
  Func prob("weight");
  prob(i, r, hh, g, ch, t) =
      select(visible(ch * CB + r, i, t),
             softmaxWeight(score(i, ch * CB + r, hh, g, t) - chunkMax(hh, g, ch, t)), 0.0f);
  Func sumLanes("chunk_sum_lanes");
  sumLanes(i, hh, g, ch, t) = 0.0f;
  sumLanes(i, hh, g, ch, t) += prob(i, rj, hh, g, ch, t);
  Func chunkSum("chunk_sum");
  chunkSum(hh, g, ch, t) = 0.0f;
  chunkSum(hh, g, ch, t) += sumLanes(ri, hh, g, ch, t);

  // ---- 3. Weighted values: vacc(dl, hh, dt, g, ch, t), head dim dt*DVL + dl. ----
  Var dl("dl"), dt("dt");
  const Expr dv = min(dt * DVL + dl, lay.hdp - 1);
  Func vacc("value_tile");
  vacc(dl, hh, dt, g, ch, t) = 0.0f;
  RDom rv = lay.bf16 ? RDom(0, 2, 0, B / 2, 0, CB, "rv") : RDom(0, B, 0, CB, "rv");
  if (lay.bf16) {
    // Pair rv.y of V's block rv.z holds slots 2 rv.y (low) and 2 rv.y + 1.
    const Expr b = ch * CB + rv.z;
    const Expr pair = vin.data(lay.vIndex(dv, 2 * rv.y) / 2, blockAt(b), g);
    vacc(dl, hh, dt, g, ch, t) += prob(2 * rv.y + rv.x, rv.z, hh, g, ch, t) * bf16Half(pair, rv.x);
  } else {
    const Expr b = ch * CB + rv.y;
    Expr wt = prob(rv.x, rv.y, hh, g, ch, t);
    const Expr value = cast<float>(vin.data(lay.vIndex(dv, rv.x), blockAt(b), g));
    if (lay.int8)
      wt = wt * vin.scales(lay.scaleIndex(dv, rv.x), blockAt(b), g);
    vacc(dl, hh, dt, g, ch, t) += wt * value;
  }
  Func chunkAcc("chunk_acc");
  chunkAcc(d, hh, g, ch, t) = vacc(d % DVL, hh, d / DVL, g, ch, t);

  // The chunks' partial softmax results, one parallel task each.
  Func partial("chunk_softmax");
  partial(d, hh, g, ch, t) =
      Tuple(chunkMax(hh, g, ch, t), chunkSum(hh, g, ch, t), chunkAcc(d, hh, g, ch, t));

  // Merge the chunks: weights e^{m_c - M} against the largest chunk max M.
  // A chunk a query cannot see keeps m = lowest and weighs 0.
  RDom rc(0, chunks, "rc");
  Func top("chunk_top");
  top(hh, g, t) = lowest;
  top(hh, g, t) = max(top(hh, g, t), partial(0, hh, g, rc, t)[0]);
  Func merged("merged");
  merged(d, hh, g, t) = Tuple(0.0f, 0.0f);
  {
    Expr wc = softmaxWeight(partial(d, hh, g, rc, t)[0] - top(hh, g, t));
    merged(d, hh, g, t) = Tuple(merged(d, hh, g, t)[0] + partial(d, hh, g, rc, t)[1] * wc,
                                merged(d, hh, g, t)[1] + partial(d, hh, g, rc, t)[2] * wc);
  }

  Func out("attention_out");
  {
    Expr h = c / HD, dc = c % HD;
    out(c, t) = merged(dc, h % HPK, h / HPK, t)[1] / merged(dc, h % HPK, h / HPK, t)[0];
  }
  out.output_buffer().dim(0).set_bounds(0, HEADS * HD);
  out.output_buffer().dim(1).set_min(0);

  // ---------------- Schedule ----------------
  Var lo("lo"), lv("lv");
  const int SL = std::min(L, B); // slot lanes per vector
  auto lanes = [&](auto &&stage, const Var &v, int width) -> decltype(auto) {
    return stage.split(v, lo, lv, width).vectorize(lv).unroll(lo);
  };
  // One task per (kv head, chunk): its three passes run inside it.
  Var gch("gch");
  partial.compute_root()
      .bound_extent(d, DR)
      .reorder(d, hh, g, ch, t)
      .vectorize(d, L)
      .fuse(g, ch, gch)
      .parallel(gch);
  const LoopLevel task(partial, gch);
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

  // 1. The chunk's scores, tile by tile: per kv head g and tile jt of MB
  // blocks, HPK x MB x 16 / L accumulators over the head dims.
  Var jto("jto"), jtl("jtl");
  score.compute_at(task)
      .bound_extent(i, B)
      .bound_extent(hh, HPK)
      .split(jb, jto, jtl, MB)
      .reorder(i, hh, jtl, jto, g);
  lanes(score, i, SL).unroll(hh).unroll(jtl);
  sacc.compute_at(score, jto)
      .bound_extent(i, B)
      .bound_extent(jl, MB)
      .bound_extent(hh, HPK)
      .bound_extent(g, 1)
      .bound_extent(jt, 1);
  lanes(sacc, i, SL).unroll(hh).unroll(jl);
  if (lay.int8)
    lanes(sacc.update(), i, SL).unroll(hh).unroll(jl);
  else if (lay.bf16) { // one pair vector load, its two halves for two query dims
    lanes(sacc.update().reorder(i, hh, jl, rs.x, rs.y, g, jt), i, SL)
        .unroll(hh)
        .unroll(jl)
        .unroll(rs.x);
  }
  else
    lanes(sacc.update().reorder(i, hh, jl, rs, g, jt), i, SL).unroll(hh).unroll(jl);

  // 2. Max, weights and sum: lane-wise over the chunk's blocks (one vector
  // per block and head), then across the 16 lanes once per chunk.
  for (Func f : {maxLanes, sumLanes}) {
    f.compute_at(task).bound_extent(i, B).bound_extent(hh, HPK);
    lanes(f, i, SL);
    lanes(f.update().reorder(i, rj, hh, g), i, SL);
  }
  for (Func f : {chunkMax, chunkSum})
    f.compute_at(task);
  prob.compute_at(task).bound_extent(i, B).bound_extent(hh, HPK).reorder(i, r, hh, g);
  lanes(prob, i, SL);

  // 3. Per (kv head, DV vectors of head dims), HPK x DV accumulators over
  // the chunk's keys.
  Var dto("dto"), dli("dli");
  chunkAcc.compute_at(task)
      .bound_extent(d, DR)
      .split(d, dto, dli, DVL)
      .reorder(dli, hh, dto, g)
      .vectorize(dli, L);
  vacc.compute_at(chunkAcc, dto)
      .bound_extent(dl, DVL)
      .bound_extent(hh, HPK)
      .bound_extent(dt, 1)
      .bound_extent(g, 1)
      .bound_extent(ch, 1);
  lanes(vacc, dl, L).unroll(hh);
  {
    Stage step = vacc.update();
    if (lay.bf16) {
      lanes(step.reorder(dl, hh, rv.x, rv.y, rv.z, dt, g), dl, L).unroll(hh).unroll(rv.x);
    }
    else
      lanes(step.reorder(dl, hh, rv.x, rv.y, dt, g), dl, L).unroll(hh);
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
