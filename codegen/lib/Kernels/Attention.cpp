//===- Attention.cpp - causal NoPE GQA attention (docs/model.md) ---------------===//
//
// out[t][h] = sum_j softmax_j(scale * q[t][h] . k[j][kv]) v[j][kv] over the
// keys j = 0 .. past + t, with kv = h / (HEADS / KV). k and v hold L >= past+T
// rows (rows past past+T-1 are never read).
//
// Online (streaming) softmax over blocks of KB keys, per (head, query):
// a block's scores s_j, their max bm, bsum = sum_j e^{s_j - bm} and
// bacc = sum_j e^{s_j - bm} v_j are computed together, then merged into the
// running (m, l, acc):  m' = max(m, bm), acc' = acc e^{m - m'} + bacc e^{bm - m'},
// l' = l e^{m - m'} + bsum e^{bm - m'}; finally out = acc / l. Every exponent
// is <= 0 and every block holds at least one visible key (blocks entirely past
// the causal limit are skipped), so nothing overflows and nothing divides by
// zero; scores are only ever held for one block of one (head, query).
//
// This file holds the decode schedule (`decode` = 1: made for T = 1,
// correct for any T); prefill uses AttentionTiles.cpp. Tasks are (kv head,
// block of 8 queries): the kv head's HPK query heads and the block's queries
// walk the keys together, block by block. Per block: each score is a dot
// product of HD-contiguous vectors (lane-wise products, one horizontal sum
// per key); the weighted sum of values runs over the block's keys with the HD
// accumulators in registers. The running state is one HD vector wide (m and
// l are kept per lane, which costs nothing and keeps the merge vectorised).
//
//===----------------------------------------------------------------------===//
#include "KernelBuilders.h"

#include <algorithm>
#include <limits>

namespace hybridc::codegen {

using namespace Halide;

namespace {

// A vector width that divides `extent` (see SsmScan.cpp): a register, half
// or a quarter of one, or the whole extent as one odd-width vector.
int exactVector(int extent, int lanes) {
  for (int v = lanes; v >= 4 && v >= lanes / 4; v /= 2)
    if (extent % v == 0)
      return v;
  return extent <= 4 * lanes ? extent : 1;
}


} // namespace

BuiltKernel buildAttentionDecode(const KernelSpec &spec, const TargetSpec &target) {
  const int HEADS = int(spec.size("HEADS"));
  const int KV = int(spec.size("KV"));
  const int HD = int(spec.size("HD"));
  const float scale = float(spec.constant("scale", 1.0));
  if (HEADS <= 0 || KV <= 0 || HD <= 0 || HEADS % KV != 0)
    throw CompileError("kernel " + spec.symbol +
                       " (attention): HEADS, KV, HD must be positive and KV must divide HEADS");
  const int HPK = HEADS / KV;
  const int lanes = target.lanes;
  // Keys per block: enough to amortise the merge, few enough that the
  // block's scores and weights stay in L1.
  const int KB = 4 * lanes;

  ImageParam q = tokenRows("q", HEADS * HD);
  ImageParam k = tokenRows("k", KV * HD);
  ImageParam v = tokenRows("v", KV * HD);
  Param<int32_t> past("past");

  const Expr T = q.dim(1).extent();
  Var c("c"), t("t"), h("h"), d("d"), j("j"), u("u"), b("b");

  // Query t sees keys 0 .. past + t. Key rows are clamped to that limit so
  // the padded tail of the last block reads a valid (and masked) row.
  auto last = [&](Expr tt) { return past + tt; };
  auto visible = [&](Expr jj, Expr tt) { return jj <= last(tt); };
  // Query rows are clamped too: a task's last query tile may reach past T
  // (its extra rows are computed on valid data and never stored).
  auto keyRow = [&](Expr jj, Expr tt) { return min(jj, last(min(tt, T - 1))); };
  auto queryRow = [&](Expr tt) { return min(tt, T - 1); };
  auto kvCol = [&](Expr hh, Expr dd) { return (hh / HPK) * HD + dd; };

  // Score of key j for (h, t): lane-wise partial products over HD in VD-wide
  // chunks, then one horizontal sum.
  const int VD = exactVector(HD, lanes);
  const int chunks = HD / std::max(VD, 1);
  Func part("score_lanes");
  {
    Expr acc = 0.0f;
    for (int o = 0; o < chunks; ++o)
      acc = acc + q(h * HD + o * VD + u, queryRow(t)) * k(kvCol(h, o * VD + u), keyRow(j, t));
    part(u, j, h, t) = acc;
  }
  RDom ru(0, VD, "ru");
  Func score("score");
  score(j, h, t) = 0.0f;
  score(j, h, t) += part(ru, j, h, t);

  const float lowest = std::numeric_limits<float>::lowest();
  RDom rj(0, KB, "rj");
  Expr key = b * KB + rj;
  Func blockMax("block_max");
  blockMax(b, h, t) = lowest;
  blockMax(b, h, t) = max(blockMax(b, h, t),
                          select(visible(key, t), score(key, h, t) * scale, lowest));
  Func prob("block_weight"); // e^{s_j - bm}, 0 for hidden keys
  prob(j, h, t) = select(visible(j, t), softmaxWeight(score(j, h, t) * scale - blockMax(j / KB, h, t)),
                         0.0f);
  Func blockSum("block_sum");
  blockSum(b, h, t) = 0.0f;
  blockSum(b, h, t) += prob(key, h, t);
  Func blockAcc("block_acc");
  blockAcc(d, b, h, t) = 0.0f;
  blockAcc(d, b, h, t) += prob(key, h, t) * v(kvCol(h, d), keyRow(key, t));

  // Running state over blocks: (m, l, acc), m and l replicated across d.
  RDom rb(0, (past + T + KB - 1) / KB, "rb");
  rb.where(rb * KB <= last(t)); // skip blocks with no visible key
  Func state("online_softmax");
  state(d, h, t) = Tuple(lowest, 0.0f, 0.0f);
  {
    Expr m = state(d, h, t)[0], l = state(d, h, t)[1], acc = state(d, h, t)[2];
    Expr bm = blockMax(rb, h, t);
    Expr mNew = max(m, bm);
    Expr keep = softmaxWeight(m - mNew), add = softmaxWeight(bm - mNew);
    state(d, h, t) = Tuple(mNew, l * keep + blockSum(rb, h, t) * add,
                           acc * keep + blockAcc(d, rb, h, t) * add);
  }

  Func out("attention_out");
  out(c, t) = state(c % HD, c / HD, t)[2] / state(c % HD, c / HD, t)[1];
  out.output_buffer().dim(0).set_bounds(0, HEADS * HD);
  out.output_buffer().dim(1).set_min(0);

  // ---------------- Schedule ----------------
  // Tasks are (kv head, block of TQ queries): the HPK query heads sharing a
  // kv head and TQ consecutive queries walk its keys together, block by
  // block, so each block of K and V rows is loaded once and reused from L1
  // by HPK * TQ (head, query) rows (GQA and query tiling). One query per
  // task would stream the whole K/V prefix from L2/L3 for every query,
  // which at long context bounds attention by cache bandwidth.
  const int TQ = 8;
  Var ho("ho"), di("di"), g("g"), hq("hq"), to("to"), ti("ti"), gt("gt");
  out.split(c, ho, di, HD)
      .split(ho, g, hq, HPK)
      .split(t, to, ti, TQ, TailStrategy::GuardWithIf)
      .reorder(di, hq, ti, g, to)
      .fuse(g, to, gt)
      .parallel(gt);
  if (VD > 1)
    out.vectorize(di, VD);

  // The merge loops over blocks outermost: a block's scores and weights are
  // computed once (at rb) for the task's heads and queries and then merged
  // into every vector of d. A query whose causal limit ends before the
  // block skips the merge (the RDom's predicate).
  state.compute_at(out, gt);
  {
    Var dd("dd"), dv("dv");
    state.update().split(d, dd, dv, std::max(VD, 1)).reorder(dv, dd, h, t, rb);
    if (VD > 1) {
      state.vectorize(d, VD);
      state.update().vectorize(dv);
    }
  }

  // Per block (at the state's loop over blocks).
  LoopLevel perBlock(state, rb);
  score.compute_at(perBlock);
  part.compute_at(score, j);
  if (VD > 1) {
    part.vectorize(u, VD);
    score.update().atomic().vectorize(ru, VD);
  }
  // The block max and sum reduce KB = 4 vectors each lane-wise (rfactor),
  // then across the lanes; KB is a multiple of the lanes, so no tail.
  for (Func f : {blockMax, blockSum}) {
    RVar rjo("rjo"), rji("rji");
    Var w("w");
    f.compute_at(perBlock);
    Func lanesOf = f.update().split(rj, rjo, rji, lanes).rfactor(rji, w);
    lanesOf.compute_at(perBlock).vectorize(w).update().vectorize(w);
  }
  prob.compute_at(perBlock).vectorize(j, lanes, TailStrategy::GuardWithIf);
  blockAcc.compute_at(perBlock);
  if (VD > 1) {
    blockAcc.vectorize(d, VD);
    // Not reorder(d, rj) first: with that order Halide 14's AOT bounds
    // inference widened the V load to a (2*HD - 1)-wide ramp, asserting
    // rows wider than the cache (seen for HD == lanes, two heads per kv).
    blockAcc.update().vectorize(d, VD);
  }

  BuiltKernel kernel{Pipeline(out), {q, k, v}, {past}};
  return kernel;
}

BuiltKernel buildAttention(const KernelSpec &spec, const TargetSpec &target) {
  return spec.size("decode") != 0 ? buildAttentionDecode(spec, target)
                                  : buildAttentionTiles(spec, target);
}

} // namespace hybridc::codegen
