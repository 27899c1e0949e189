//===- AttentionTiles.cpp - prefill attention as register-tiled GEMMs -----===//
//
// The same causal NoPE GQA attention as Attention.cpp (KernelSpec.h), laid
// out for many queries at once. A parallel task is (kv head g, tile of TQ =
// one or two vectors of consecutive queries); its rows are the HPK query
// heads of g times the TQ queries, and every vector holds one head's L
// consecutive queries. Per
// block of KB keys (online softmax, Attention.cpp's merge):
//
//   S[j][h][t]  = scale * sum_d K[j][d] Q[t][h][d]  a GEMM: JT keys x HPK
//                 query vectors of accumulators, K[j][d] broadcast, Q
//                 transposed once per task so that it is the vector operand;
//   max, e^(S - max), sum over j: lane-wise (one vector per key), no
//                 horizontal reduction anywhere;
//   O[d][h][t] += sum_j V[j][d] P[j][h][t]          a GEMM: DT values of d x
//                 HPK query vectors of accumulators, V[j][d] broadcast.
//
// So each K and V element loaded is used by HPK * TQ multiply-adds from
// registers, the block's scores stay in L1, and the only data reordering is
// transposing Q in and O out once per task. The kernel is for prefill; with
// one query (decode) all but one lane would idle, so decode has its own
// schedule (Attention.cpp).
//
// With `bf16` = 1 (targets with vdpbf16ps) both GEMMs multiply bf16 pairs
// into f32 accumulators, twice the multiply-adds of an FMA per instruction:
// Q and K are rounded to bf16 and paired along d (Q transposed with the
// pair innermost, d padded with 0 to even), the block's weights e^(S - max)
// and V are rounded to bf16 and paired along the keys (V transposed per
// block, two keys' values of one d side by side). Maxima, exponentials and
// the running state stay f32, and the block's weight sum adds the rounded
// weights, so each output is still a convex combination of (bf16) values.
//
//===----------------------------------------------------------------------===//
#include "KvCacheLayout.h"

#include <algorithm>
#include <limits>

namespace hybridc::codegen {

using namespace Halide;

BuiltKernel buildAttentionTiles(const KernelSpec &spec, const TargetSpec &target) {
  const int HEADS = int(spec.size("HEADS"));
  const int KV = int(spec.size("KV"));
  const int HD = int(spec.size("HD"));
  const float scale = float(spec.constant("scale", 1.0));
  const auto dtype = static_cast<int32_t>(spec.size("kv_dtype"));
  if (HEADS <= 0 || KV <= 0 || HD <= 0 || HEADS % KV != 0)
    failKernel(spec, "HEADS, KV, HD must be positive and KV must divide HEADS");
  if (!hybridc_kv_dtype_name(dtype))
    failKernel(spec, "kv_dtype must be a KV dtype code (0 f32, 1 bf16, 2 int8)");
  const KvBlockLayout lay(dtype, KV, HD);
  const int HPK = HEADS / KV;
  const bool bf16 = spec.size("bf16") != 0;
  if (bf16 && !target.bf16Dot)
    failKernel(spec, "bf16 needs a target with bf16 dot products (vdpbf16ps)");
  const int L = target.lanes;
  // Register tiles: JT keys (scores) or DT values of d (output) by the
  // HPK x QV query vectors, about 24 accumulators (AVX-512 has 32
  // registers, as has NEON; the rest hold the vector operands and a
  // broadcast), about 12 on AVX2 (16 registers). Two query vectors per head where the tile still
  // spans 4 keys: each K and V element is then used by twice the queries,
  // which halves the K/V traffic of a long context (the whole prefix is
  // read once per task).
  const int budget = target.wideRegisterFile() ? 24 : 12;
  const int QV = budget / (2 * HPK) >= 4 ? 2 : 1;
  const int TQ = QV * L; // queries per task
  const int JT = std::max(1, std::min(8, budget / (HPK * QV)));
  const int DT = JT;
  // Keys per block, whole score tiles: the per-block merge (two exps per
  // output element) is amortised over more keys, while the block's scores
  // (KB x HPK x QV vectors) still fit in L1 and the partly masked last
  // block costs little. 16384 tokens, 12/4 heads of 64: KB 64 -> 256 took
  // 2022 -> 1391 ms; 512 was slower again (1584 ms). With bf16 the GEMMs
  // take half the time and the merge's share grows: 512 keys (whole pairs
  // of keys) beat 256 by 3% at 8192 and 32768 tokens, 1024 was slower.
  const int KT = bf16 ? 2 * JT : JT;
  const int KB = ((bf16 ? 512 : 256) + KT - 1) / KT * KT;
  const int DR = (HD + DT - 1) / DT * DT; // d rounded up to whole tiles
  const int HP = (HD + 1) / 2;            // pairs of d (bf16)

  ImageParam q = tokenRows("q", HEADS * HD);
  const KvSegmentInput kin(lay, false, "k"), vin(lay, true, "v");
  Param<int32_t> past("past");
  const Expr T = q.dim(1).extent();

  // Queries are (tile, lane): t = tile * TQ + lane. Rows past T (the last
  // tile's padding) read query T - 1 and are never stored. Keys are read
  // from rows 0 .. past + T - 1 only (clamped), whatever the causal mask
  // then keeps.
  Var lane("lane"), tile("tile"), hq("hq"), g("g"), d("d"), j("j"), b("b");
  Var jj("jj"), jt("jt"), dd("dd"), dt("dt"), c("c"), t("t");
  auto query = [&](const Expr &tl, const Expr &ln) { return tl * TQ + ln; };
  auto keyRow = [&](const Expr &key) { return min(key, past + T - 1); };
  auto visible = [&](const Expr &key, const Expr &tl, const Expr &ln) {
    return key <= past + query(tl, ln);
  };

  // bf16 operands: pair element p of pair i is element 2i + p.
  Var p("p");
  auto toBf16 = [](const Expr &x) { return cast(BFloat(16), x); };

  // Q transposed per task: qt(lane, d, hq, tile, g), queries innermost; with
  // bf16 qt(p, lane, i, hq, tile, g) holds d = 2i + p (0 past HD), pairs
  // innermost, the vector operand of vdpbf16ps.
  Func qt("q_transposed");
  auto qAt = [&](const Expr &dq) {
    return q((g * HPK + hq) * HD + dq, min(query(tile, lane), T - 1));
  };
  if (bf16) {
    Expr dq = 2 * d + p;
    qt(p, lane, d, hq, tile, g) = toBf16(select(dq < HD, qAt(min(dq, HD - 1)), 0.0f));
  } else {
    qt(lane, d, hq, tile, g) = qAt(d);
  }
  // The cache's K and V of kv head g as f32 (kv_layout.h: the blocks'
  // element type, dequantized for int8).
  auto kAt = [&](const Expr &dd, const Expr &key) { return kvValue(lay, kin, false, g, dd, key); };
  auto vAt = [&](const Expr &dd, const Expr &key) { return kvValue(lay, vin, true, g, dd, key); };
  // bf16: the block's keys kb(d, j, g) rounded (exact for a bf16 cache; 0
  // at d = HD when HD is odd), so each pair is one 32-bit broadcast.
  Func kb("k_bf16");
  kb(d, j, g) = toBf16(select(d < HD, kAt(min(d, HD - 1), keyRow(j)), 0.0f));
  // f32 products with a bf16 or int8 cache: the block's keys and values
  // converted once per task (an f32 cache is read as it is).
  const bool staged = !bf16 && dtype != HYBRIDC_KV_F32;
  Func kf("k_f32"), vf("v_f32");
  kf(d, j, g) = kAt(d, keyRow(j));
  vf(d, j, g) = vAt(d, keyRow(j));
  auto kF32 = [&](const Expr &dd, const Expr &key) { return staged ? kf(dd, key, g) : kAt(dd, keyRow(key)); };
  auto vF32 = [&](const Expr &dd, const Expr &key) { return staged ? vf(dd, key, g) : vAt(dd, keyRow(key)); };

  // Scores, one JT-key tile at a time.
  RDom rd = bf16 ? RDom(0, 2, 0, HP, "rd") : RDom(0, HD, "rd");
  Func sacc("score_tile");
  sacc(lane, hq, jj, jt, tile, g) = 0.0f;
  if (bf16)
    sacc(lane, hq, jj, jt, tile, g) += dotTerm(qt(rd.x, lane, rd.y, hq, tile, g),
                                               kb(2 * rd.y + rd.x, jt * JT + jj, g));
  else
    sacc(lane, hq, jj, jt, tile, g) += qt(lane, rd, hq, tile, g) * kF32(rd, jt * JT + jj);
  Func score("score");
  score(lane, hq, j, tile, g) = sacc(lane, hq, j % JT, j / JT, tile, g) * scale;

  const float lowest = std::numeric_limits<float>::lowest();
  RDom rj(0, KB, "rj");
  Expr key = b * KB + rj;
  Func blockMax("block_max");
  blockMax(lane, hq, b, tile, g) = lowest;
  blockMax(lane, hq, b, tile, g) =
      max(blockMax(lane, hq, b, tile, g),
          select(visible(key, tile, lane), score(lane, hq, key, tile, g), lowest));
  Func prob("block_weight"); // e^{s_j - bm}, 0 for hidden keys
  prob(lane, hq, j, tile, g) =
      select(visible(j, tile, lane),
             softmaxWeight(score(lane, hq, j, tile, g) - blockMax(lane, hq, j / KB, tile, g)),
             0.0f);
  // bf16: the weights rounded, probb(p, lane, hq, i, tile, g) of key 2i + p
  // (a vector operand), and the block's values vb(p, d, i, g) of keys 2i and
  // 2i + 1 side by side (a broadcast pair).
  Func probb("block_weight_bf16"), vb("v_bf16");
  probb(p, lane, hq, j, tile, g) = toBf16(prob(lane, hq, 2 * j + p, tile, g));
  vb(p, d, j, g) = toBf16(vAt(d, keyRow(2 * j + p)));
  auto weight = [&](const Expr &key) -> Expr {
    return bf16 ? cast<float>(probb(key % 2, lane, hq, key / 2, tile, g))
                : prob(lane, hq, key, tile, g);
  };
  Func blockSum("block_sum");
  blockSum(lane, hq, b, tile, g) = 0.0f;
  blockSum(lane, hq, b, tile, g) += weight(key);

  // The block's weighted values, one DT-wide tile of d at a time (d past HD
  // reads column HD - 1: computed, never stored).
  Func pacc("value_tile");
  Expr dv = min(dt * DT + dd, HD - 1);
  RDom rv(0, 2, 0, KB / 2, "rv"); // bf16: (pair element, pair of the block)
  pacc(lane, hq, dd, dt, b, tile, g) = 0.0f;
  if (bf16)
    pacc(lane, hq, dd, dt, b, tile, g) +=
        dotTerm(probb(rv.x, lane, hq, b * (KB / 2) + rv.y, tile, g),
                vb(rv.x, dv, b * (KB / 2) + rv.y, g));
  else
    pacc(lane, hq, dd, dt, b, tile, g) += prob(lane, hq, key, tile, g) * vF32(dv, key);
  Func blockAcc("block_acc");
  blockAcc(lane, hq, d, b, tile, g) = pacc(lane, hq, d % DT, d / DT, b, tile, g);

  // Running (m, l, acc) over the blocks the tile's last query can see.
  Expr tileLastKey = past + min(query(tile, TQ - 1), T - 1);
  RDom rb(0, (past + T + KB - 1) / KB, "rb");
  rb.where(rb * KB <= tileLastKey);
  Func state("online_softmax");
  state(lane, hq, d, tile, g) = Tuple(lowest, 0.0f, 0.0f);
  {
    Expr m = state(lane, hq, d, tile, g)[0], l = state(lane, hq, d, tile, g)[1],
         acc = state(lane, hq, d, tile, g)[2];
    Expr bm = blockMax(lane, hq, rb, tile, g);
    Expr mNew = max(m, bm);
    Expr keepOld = softmaxWeight(m - mNew), addNew = softmaxWeight(bm - mNew);
    state(lane, hq, d, tile, g) =
        Tuple(mNew, l * keepOld + blockSum(lane, hq, rb, tile, g) * addNew,
              acc * keepOld + blockAcc(lane, hq, d, rb, tile, g) * addNew);
  }

  Func out("attention_out");
  {
    Expr h = c / HD, dc = c % HD;
    out(c, t) = state(t % TQ, h % HPK, dc, t / TQ, h / HPK)[2] /
                state(t % TQ, h % HPK, dc, t / TQ, h / HPK)[1];
  }
  out.output_buffer().dim(0).set_bounds(0, HEADS * HD);
  out.output_buffer().dim(1).set_min(0);

  // ---------------- Schedule ----------------
  // Tasks (kv head, query tile) in parallel; the output is written from the
  // task's state, transposed back (queries were the lanes).
  Var ho("ho"), di("di"), gg("gg"), hh("hh"), to("to"), ti("ti"), task("task");
  const int VD = std::min(HD, target.lanes);
  out.split(c, ho, di, HD)
      .split(ho, gg, hh, HPK)
      .split(t, to, ti, TQ, TailStrategy::GuardWithIf)
      .reorder(di, hh, ti, to, gg)
      .fuse(to, gg, task)
      .parallel(task)
      .vectorize(di, VD, TailStrategy::GuardWithIf);

  // Every stage is vectors of L queries; the QV vectors of a head are an
  // unrolled loop (lanes() below), so the register tiles hold all of them.
  Var lo("lo"), lv("lv");
  auto lanes = [&](auto &&stage) -> decltype(auto) {
    return stage.split(lane, lo, lv, L).vectorize(lv).unroll(lo);
  };
  lanes(state.compute_at(out, task).bound_extent(lane, TQ).bound_extent(d, DR));
  // The next block's K and V rows are prefetched while this one computes: a
  // long prefix streams from DRAM, 256 of every 1024 bytes of each row
  // (one kv head), which the hardware prefetchers follow poorly (512
  // queries after 32256 tokens: 249 -> 237 ms).
  lanes(state.update().reorder(lane, d, hq, rb))
      .prefetch(kin.data, rb, rb, 1)
      .prefetch(vin.data, rb, rb, 1);
  // bf16 pairs: the stores of a pair's two halves (stride 2) are adjacent,
  // which lets Halide merge them into one dense store of an interleaving.
  if (bf16)
    lanes(qt.compute_at(out, task).bound_extent(p, 2).bound_extent(lane, TQ))
        .reorder(lv, p, lo, d, hq)
        .unroll(p);
  else
    lanes(qt.compute_at(out, task).bound_extent(lane, TQ));

  // Per block (at the state's loop over blocks): scores, max, weights, sum
  // and weighted values.
  LoopLevel perBlock(state, rb);
  lanes(score.compute_at(perBlock)
            .bound_extent(lane, TQ)
            .split(j, jt, jj, JT)
            .reorder(lane, hq, jj, jt))
      .unroll(hq)
      .unroll(jj);
  lanes(sacc.compute_at(score, jt)
            .bound_extent(lane, TQ)
            .bound_extent(hq, HPK)
            .bound_extent(jj, JT))
      .unroll(hq)
      .unroll(jj);
  if (bf16) // as vectorizeDot: the pair reduction is vdpbf16ps
    lanes(sacc.update().reorder(rd.x, lane, hq, jj, rd.y, jt).atomic().vectorize(rd.x))
        .unroll(hq)
        .unroll(jj);
  else
    lanes(sacc.update().reorder(lane, hq, jj, rd, jt)).unroll(hq).unroll(jj);
  for (Func f : {blockMax, blockSum}) {
    lanes(f.compute_at(perBlock).bound_extent(lane, TQ));
    lanes(f.update().reorder(lane, hq, rj));
  }
  if (bf16) {
    // The weights are computed once, straight into their rounded pairs; the
    // block's K and V once per block for all HPK x TQ queries.
    lanes(probb.compute_at(perBlock).bound_extent(p, 2).bound_extent(lane, TQ))
        .reorder(lv, p, lo, hq, j)
        .unroll(p);
    kb.compute_at(perBlock).bound_extent(d, 2 * HP).vectorize(d, L, TailStrategy::GuardWithIf);
    Var dO("dO"), dI("dI");
    vb.compute_at(perBlock)
        .bound_extent(p, 2)
        .split(d, dO, dI, L, TailStrategy::GuardWithIf)
        .reorder(dI, p, dO, j)
        .vectorize(dI)
        .unroll(p);
  } else {
    lanes(prob.compute_at(perBlock).bound_extent(lane, TQ));
    if (staged)
      for (Func f : {kf, vf})
        f.compute_at(perBlock).bound_extent(d, HD).vectorize(d, L, TailStrategy::GuardWithIf);
  }
  lanes(blockAcc.compute_at(perBlock)
            .bound_extent(lane, TQ)
            .bound_extent(d, DR)
            .split(d, dt, dd, DT)
            .reorder(lane, hq, dd, dt))
      .unroll(hq)
      .unroll(dd);
  lanes(pacc.compute_at(blockAcc, dt)
            .bound_extent(lane, TQ)
            .bound_extent(hq, HPK)
            .bound_extent(dd, DT))
      .unroll(hq)
      .unroll(dd);
  if (bf16)
    lanes(pacc.update().reorder(rv.x, lane, hq, dd, rv.y, dt).atomic().vectorize(rv.x))
        .unroll(hq)
        .unroll(dd);
  else
    lanes(pacc.update().reorder(lane, hq, dd, rj, dt)).unroll(hq).unroll(dd);

  BuiltKernel kernel{Pipeline(out), {q}, {past}};
  kin.appendTo(kernel.buffers, lay);
  vin.appendTo(kernel.buffers, lay);
  return kernel;
}

} // namespace hybridc::codegen
