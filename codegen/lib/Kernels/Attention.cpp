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
  // block's scores and weights stay in L1 (8 vectors: 32768 keys of context
  // 2.07 -> 1.81 ms against 4).
  const int KB = 8 * lanes;

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

  // The keys are cut into chunks of BPC blocks, each reduced on its own by
  // a parallel task (kv head, chunk) to a running (m, l, acc), m and l
  // replicated across d; the chunks are merged at the end. One task per kv
  // head would leave a long context to as many tasks as kv heads, each
  // streaming its whole K/V prefix alone: too few for the cores and for the
  // memory system's parallelism (flash-decoding's split).
  const int BPC = 4;
  const int CK = BPC * KB; // keys per chunk
  Var ch("ch");
  RDom rb(0, BPC, "rb");
  Expr blk = ch * BPC + rb;
  rb.where(blk * KB <= last(t)); // skip blocks with no visible key
  Func partial("chunk_softmax");
  partial(d, h, ch, t) = Tuple(lowest, 0.0f, 0.0f);
  {
    Expr m = partial(d, h, ch, t)[0], l = partial(d, h, ch, t)[1],
         acc = partial(d, h, ch, t)[2];
    Expr bm = blockMax(blk, h, t);
    Expr mNew = max(m, bm);
    Expr keep = softmaxWeight(m - mNew), add = softmaxWeight(bm - mNew);
    partial(d, h, ch, t) = Tuple(mNew, l * keep + blockSum(blk, h, t) * add,
                                 acc * keep + blockAcc(d, blk, h, t) * add);
  }

  // Merge the chunks: weights e^{m_c - M} against the largest chunk max M.
  // Chunk 0 holds key 0, visible to every query, so M is finite; a chunk a
  // query cannot see keeps m = lowest and weighs 0.
  RDom rc(0, (past + T + CK - 1) / CK, "rc");
  Func top("chunk_max");
  top(h, t) = lowest;
  top(h, t) = max(top(h, t), partial(0, h, rc, t)[0]);
  Func merged("merged");
  merged(d, h, t) = Tuple(0.0f, 0.0f);
  {
    Expr w = softmaxWeight(partial(d, h, rc, t)[0] - top(h, t));
    merged(d, h, t) = Tuple(merged(d, h, t)[0] + partial(d, h, rc, t)[1] * w,
                            merged(d, h, t)[1] + partial(d, h, rc, t)[2] * w);
  }

  Func out("attention_out");
  out(c, t) = merged(c % HD, c / HD, t)[1] / merged(c % HD, c / HD, t)[0];
  out.output_buffer().dim(0).set_bounds(0, HEADS * HD);
  out.output_buffer().dim(1).set_min(0);

  // ---------------- Schedule ----------------
  // Tasks are (kv head, chunk): the HPK query heads sharing a kv head walk
  // the chunk's keys together, block by block, so each block of K and V
  // rows is loaded once and reused from L1 by all of them (GQA). The merge
  // is a few vector operations per chunk, done per query on the caller.
  Var dd("dd"), dv("dv"), g("g"), hq("hq"), task("task");
  const int V = std::max(VD, 1);
  partial.compute_root();
  partial.update()
      .split(d, dd, dv, V)
      .reorder(dv, dd, h, rb, ch, t)
      .parallel(ch);
  if (VD > 1) {
    partial.vectorize(d, VD);
    partial.update().vectorize(dv);
  }
  for (Func f : {top, merged}) {
    f.compute_at(out, t);
    f.update().reorder(f.args()[0], rc);
  }
  if (VD > 1) {
    merged.vectorize(d, VD);
    merged.update().vectorize(d, VD);
    out.vectorize(c, VD, TailStrategy::GuardWithIf);
  }

  // Per block (at the chunk's loop over blocks).
  LoopLevel perBlock(partial, rb);
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
  // The weighted values: for each key, the HPK heads x HD/VD vectors of one
  // kv head are independent accumulators (unrolled), so the FMAs pipeline
  // instead of waiting on one chain per vector (which bound this kernel to
  // a fifth of the memory bandwidth at long context); V's vectors are
  // loaded once per key for all HPK heads.
  blockAcc.compute_at(perBlock);
  {
    Var gv("gv"), hv("hv"), dd("dd"), dv("dv");
    Stage step = blockAcc.update();
    step.split(h, gv, hv, HPK).split(d, dd, dv, V).reorder(dv, dd, hv, rj, gv);
    if (VD > 1) {
      blockAcc.vectorize(d, VD);
      step.vectorize(dv);
    }
    if (HPK * (HD / V) <= 24)
      step.unroll(dd).unroll(hv);
  }

  BuiltKernel kernel{Pipeline(out), {q, k, v}, {past}};
  return kernel;
}

BuiltKernel buildAttention(const KernelSpec &spec, const TargetSpec &target) {
  return spec.size("decode") != 0 ? buildAttentionDecode(spec, target)
                                  : buildAttentionTiles(spec, target);
}

} // namespace hybridc::codegen
