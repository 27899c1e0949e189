//===- SsmScan.cpp - Mamba2 selective scan: chunked SSD and one-token step ===//
//
// ssm_chunk: T <= Q tokens of one chunk in the state-space-duality form of
// docs/model.md, per head h (group g = h / (NH/G)):
//   dt = clamp(softplus(dt_raw + dt_bias)), A = -exp(A_log), a_t = dt_t*A,
//   S_l = sum_{i<=l} a_i                         (serial scan, in f64)
//   y[l]  = sum_{s<=l} (C_l.B_s) exp(S_l - S_s) dt_s x_s      (diagonal block)
//         + exp(S_l) (state_in . C_l)                          (off-diagonal)
//         + D x_l
//   state_out = exp(S_{T-1}) state_in + sum_s exp(S_{T-1} - S_s) dt_s x_s (x) B_s
// ssm_step: the T == 1 recurrence of docs/model.md, for decode.
//
// Accuracy: the cumulative log-decay is accumulated in f64, so S_l - S_s is
// exact to f32 rounding even when both are large and close (the cancellation
// the spec's segment sum exists to avoid); everything else is f32.
//
// Schedules (sizes are static except T):
//  * C.B^T per group is computed once (T x T, register tiles of rows x
//    vectors over s) and shared by the group's heads.
//  * Heads run in parallel. Per head, rows go in tiles of TL tokens; per
//    tile, the decay-weighted mask M[l][s] = (C_l.B_s) exp(S_l - S_s) dt_s
//    is built for the sources before the tile from two factors through the
//    tile's first row (T / TL exponentials per source, not one per pair)
//    and exactly for the TL x TL block inside it (zero for s > l); y is then
//    a register-tiled contraction: TL token rows x PV vectors of P held in
//    registers while the reduction runs over the N state columns
//    (off-diagonal term, against the head's transposed state), the sources
//    before the tile and the tile's own (diagonal term).
//  * state_out is a second register-tiled contraction per head: TP rows of
//    P x NV vectors of N accumulate over the T tokens.
//  * ssm_step streams the state once from memory: per head (in parallel),
//    the loop writing the head's updated P x N block and the loop reducing
//    it against C into y are fused (compute_with at the head), so the y
//    loop re-reads the head's state_in block (P*N floats) from L1/L2.
//  * Decay weights below e^-60 are flushed to zero (see decayFactor), and
//    each of the two factors below e^-43 (see splitDecayFactor).
//
//===----------------------------------------------------------------------===//
#include "KernelBuilders.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hybridc::codegen {

using namespace Halide;

namespace {

struct SsmSizes {
  int NH, P, N, G, HPG;
  float dtMin, dtMax;
  bool clampDt;
};

SsmSizes readSizes(const KernelSpec &spec) {
  SsmSizes s;
  s.NH = int(spec.size("NH"));
  s.P = int(spec.size("P"));
  s.N = int(spec.size("N"));
  s.G = int(spec.size("G"));
  if (s.NH <= 0 || s.P <= 0 || s.N <= 0 || s.G <= 0 || s.NH % s.G != 0)
    failKernel(spec, "NH, P, N, G must be positive and G must divide NH");
  s.HPG = s.NH / s.G;
  const double lo = spec.constant("dt_min", 0.0);
  const double hi = spec.constant("dt_max", std::numeric_limits<double>::infinity());
  // (0, inf) is the "no limit" default: softplus is already >= 0.
  s.clampDt = !(lo == 0.0 && std::isinf(hi) && hi > 0);
  s.dtMin = float(lo);
  s.dtMax = std::isinf(hi) ? std::numeric_limits<float>::max() : float(hi);
  return s;
}

// The largest divisor of `extent` that is at most `limit` (>= 1).
int largestDivisor(int extent, int limit) {
  for (int d = std::min(extent, limit); d > 1; --d)
    if (extent % d == 0)
      return d;
  return 1;
}

// A vector width that divides `extent`, so no loop over a static dimension
// needs a tail: a full register, or half/quarter of one, or - for small or
// awkward extents - the whole extent as one odd-width vector (LLVM splits
// it). Only the real model sizes (multiples of 16) matter for speed.
int exactVector(int extent, int lanes) {
  for (int v = lanes; v >= 4 && v >= lanes / 4; v /= 2)
    if (extent % v == 0)
      return v;
  return extent <= 4 * lanes ? extent : 1;
}

// dt = softplus(dt_raw + dt_bias) with PyTorch's threshold 20, in f64 so that
// log(1 + e^u) keeps its precision for very negative u (no log1p in Halide),
// then the optional clamp. The sum is rounded to f32 first, as the model's
// f32 activations are.
Expr stepSize(const SsmSizes &s, Expr raw, Expr bias) {
  Expr u = raw + bias;
  Expr ud = cast<double>(u);
  Expr sp = cast<float>(select(u > 20.0f, ud, log(Expr(1.0) + exp(ud))));
  return s.clampDt ? clamp(sp, s.dtMin, s.dtMax) : sp;
}

// exp(e) for a log-decay e <= 0 given in f64, as f32. Decays below e^-60
// (~1e-26, far below f32 resolution of the terms they are added to) are
// flushed to zero: long chunks routinely reach e^-90 and beyond, and the
// denormals exp would produce there slow every FMA that touches them by
// two orders of magnitude.
Expr decayFactor(Expr logDecay) {
  Expr e = cast<float>(logDecay);
  return select(e < -60.0f, 0.0f, vexp(e));
}

// One of two factors whose product is a decay: each is flushed below e^-43,
// so their product (>= e^-86) stays a normal f32 number. A decay is then
// lost only where it is below e^-43 (~2e-19), still far below f32
// resolution of the terms it is added to.
Expr splitDecayFactor(Expr logDecay) {
  Expr e = cast<float>(logDecay);
  return select(e < -43.0f, 0.0f, vexp(e));
}

// A = -exp(A_log), rounded to f32 like the model's A.
Expr decayRate(Expr aLog) { return cast<float>(-exp(cast<double>(aLog))); }

void constrainInputs(const SsmSizes &s, ImageParam &x, ImageParam &dt, ImageParam &B,
                     ImageParam &C, ImageParam &aLog, ImageParam &D, ImageParam &dtBias,
                     ImageParam &stateIn) {
  x.dim(0).set_bounds(0, s.NH * s.P);
  x.dim(1).set_min(0);
  dt.dim(0).set_bounds(0, s.NH);
  dt.dim(1).set_min(0);
  B.dim(0).set_bounds(0, s.G * s.N);
  B.dim(1).set_min(0);
  C.dim(0).set_bounds(0, s.G * s.N);
  C.dim(1).set_min(0);
  aLog.dim(0).set_bounds(0, s.NH);
  D.dim(0).set_bounds(0, s.NH);
  dtBias.dim(0).set_bounds(0, s.NH);
  stateIn.dim(0).set_bounds(0, s.N);
  stateIn.dim(1).set_bounds(0, s.P);
  stateIn.dim(2).set_bounds(0, s.NH);
}

} // namespace

BuiltKernel buildSsmChunk(const KernelSpec &spec, const TargetSpec &target) {
  const SsmSizes s = readSizes(spec);
  const int NH = s.NH, P = s.P, N = s.N, HPG = s.HPG;
  // Q only bounds T (the driver cuts prefill into chunks of Q tokens); the
  // f64 cumulative decay keeps any T accurate, so nothing is sized by it.
  if (spec.size("Q") <= 0)
    failKernel(spec, "Q must be positive");
  const int lanes = target.lanes;
  // Accumulator registers one register tile may use (16 or 32 vector
  // registers; the rest hold the operands).
  const int accRegs = target.wideRegisterFile() ? 24 : 12;
  // y's tile is smaller on a 32-register target: its loop also keeps PV
  // vectors of x and a broadcast live, and with 24 accumulators LLVM
  // spilled them (y_acc 1.49 ms per 256-token call against 1.17 ms with
  // 16, small's sizes, 2 threads).
  const int yAccRegs = target.wideRegisterFile() ? 16 : 12;

  // y's register tile: TL tokens x PT = PV*VP of P (VP-wide vectors).
  const int VP = exactVector(P, lanes);
  const int PV = largestDivisor(P / VP, target.wideRegisterFile() ? 4 : 2);
  const int PT = PV * VP;
  const int TL = std::clamp(yAccRegs / PV, 1, 8);

  ImageParam x(Float(32), 2, "x"), dtRaw(Float(32), 2, "dt"), B(Float(32), 2, "B"),
      C(Float(32), 2, "C"), aLog(Float(32), 1, "A_log"), D(Float(32), 1, "D"),
      dtBias(Float(32), 1, "dt_bias"), stateIn(Float(32), 3, "state_in");
  constrainInputs(s, x, dtRaw, B, C, aLog, D, dtBias, stateIn);

  const Expr T = x.dim(1).extent();
  Var c("c"), t("t"), h("h"), p("p"), n("n"), l("l"), sv("s"), g("g"), j("j");

  // Token-indexed inputs with the token clamped: register tiles over tokens
  // are rounded up past T, and the rows they compute there (never stored)
  // must still read inside the buffers.
  auto tok = [&](Expr i) { return min(i, T - 1); };
  auto xs = [&](Expr ch, Expr i) { return x(ch, tok(i)); };
  auto Bs = [&](Expr ch, Expr i) { return B(ch, tok(i)); };
  auto Cs = [&](Expr ch, Expr i) { return C(ch, tok(i)); };

  // --- Per (head, token) scalars: tiny, computed once up front. ---
  Func dt("dt_value");
  dt(h, t) = stepSize(s, dtRaw(h, tok(t)), dtBias(h));
  Func cum("cum_log_decay"); // S_t in f64
  cum(h, t) = cast<double>(dt(h, t)) * cast<double>(decayRate(aLog(h)));
  RDom rt(1, max(T - 1, 0), "rt");
  cum(h, rt) += cum(h, rt - 1);
  Func lastCum("last_cum");
  lastCum(h) = cum(h, T - 1);
  // exp(S_l): scales the off-diagonal term of token l.
  Func fromStart("from_start");
  fromStart(h, t) = decayFactor(cum(h, t));
  // exp(S_{T-1} - S_s) dt_s: weight of token s in the chunk-end state.
  Func toEnd("to_end");
  toEnd(h, t) = decayFactor(lastCum(h) - cum(h, t)) * dt(h, t);
  Func wholeChunk("whole_chunk"); // exp(S_{T-1})
  wholeChunk(h) = decayFactor(lastCum(h));

  // --- C.B^T per group, shared by the group's heads. ---
  Func bT("b_transposed"); // bT(s, gn) = B[s][gn]: token-contiguous for CB
  bT(sv, j) = Bs(j, sv);
  RDom rn(0, N, "rn");
  Func cbAcc("cb_acc");
  cbAcc(sv, l, g) = 0.0f;
  cbAcc(sv, l, g) += Cs(g * N + rn, l) * bT(sv, g * N + rn);
  Func cb("cb");
  cb(sv, l, g) = cbAcc(sv, l, g);

  // --- Per head: the decay-weighted C.B^T, in two parts. ---
  // Rows come in tiles of TL tokens starting at b = (l / TL) * TL. Sources
  // before the tile (s < b) take their decay as a product of two factors
  // through b, exp(S_l - S_s) = exp(S_l - S_b) * exp(S_b - S_s), both <= 1:
  // T * T / TL exponentials per head instead of T * T / 2, and the T x b
  // mask costs two multiplies per element. Sources inside the tile
  // (b <= s <= l) take the exact exponential of their difference.
  auto tileStart = [&](Expr row) { return (row / TL) * TL; };
  Func intoTile("decay_into_tile"); // exp(S_b - S_s) dt_s for tile tb
  intoTile(sv, j, h) = splitDecayFactor(min(cum(h, j * TL) - cum(h, sv), Expr(0.0))) * dt(h, sv);
  Func inTile("decay_in_tile"); // exp(S_l - S_b)
  inTile(l, h) = splitDecayFactor(cum(h, l) - cum(h, tileStart(l)));
  Func maskBefore("mask_before_tile"); // M(s, l, h) for s < b
  maskBefore(sv, l, h) = cb(sv, l, h / HPG) * intoTile(sv, l / TL, h) * inTile(l, h);
  Func maskTile("mask_in_tile"); // M(b + j, l, h), zero past l
  {
    Expr src = tileStart(l) + j;
    maskTile(j, l, h) = select(
        src <= l, cb(src, l, h / HPG) * decayFactor(cum(h, l) - cum(h, src)) * dt(h, src), 0.0f);
  }
  Func stT("state_transposed"); // stT(p, n, h) = state_in[h][p][n]
  stT(p, n, h) = stateIn(n, p, h);
  // The head's x rows, contiguous: in x a head's T rows are NH * P floats
  // apart, one page each at model sizes, which the tiles re-read per tile.
  Func xHead("x_head");
  xHead(p, sv, h) = xs(h * P + p, sv);

  // --- y = off-diagonal + diagonal + D x. ---
  RDom rs(0, T, "rs");
  // The diagonal term is causal: a tile's rows read the sources before the
  // tile (one loop bound for the whole tile, as l / TL is the same for all
  // its rows) and then its own TL sources, masked.
  RDom rd(0, T, "rd");
  rd.where(rd < tileStart(l));
  RDom rj(0, TL, "rj");
  Func yAcc("y_acc"); // yAcc(p, l, h)
  yAcc(p, l, h) = 0.0f;
  yAcc(p, l, h) += stT(p, rn, h) * (Cs((h / HPG) * N + rn, l) * fromStart(h, l));
  yAcc(p, l, h) += maskBefore(rd, l, h) * xHead(p, rd, h);
  yAcc(p, l, h) += maskTile(rj, l, h) * xHead(p, tileStart(l) + rj, h);
  Func y("y");
  y(c, t) = yAcc(c % P, t, c / P) + D(c / P) * x(c, t);

  // --- state_out = exp(S_{T-1}) state_in + sum_s toEnd_s x_s (x) B_s. ---
  Func xw("x_weighted"); // xw(p, s, h) = toEnd_s x_s[p]
  xw(p, sv, h) = toEnd(h, sv) * xs(h * P + p, sv);
  Func stAcc("state_acc");
  stAcc(n, p, h) = 0.0f;
  stAcc(n, p, h) += xw(p, rs, h) * Bs((h / HPG) * N + n, rs);
  Func stOut("state_out");
  stOut(n, p, h) = wholeChunk(h) * stateIn(n, p, h) + stAcc(n, p, h);

  y.output_buffer().dim(0).set_bounds(0, NH * P);
  y.output_buffer().dim(1).set_min(0);
  stOut.output_buffer().dim(0).set_bounds(0, N);
  stOut.output_buffer().dim(1).set_bounds(0, P);
  stOut.output_buffer().dim(2).set_bounds(0, NH);

  // ---------------- Schedule ----------------
  for (Func f : {dt, fromStart, toEnd, wholeChunk, lastCum})
    f.compute_root();
  cum.compute_root(); // the scan runs over t, heads are independent
  bT.compute_root();

  const int vecS = lanes; // token vectors: T is dynamic, guard the tail
  {
    // Register tiles of CL rows x CS vectors of sources accumulate over the
    // N state columns (one dependent chain per vector would leave the FMA
    // units idle). The region is rounded up to whole tiles: the rows and
    // sources past T read clamped tokens and are never used.
    const int CL = 4, CS = 2;
    Var lo("lo"), li("li"), so("so"), si("si"), sw("sw");
    cb.compute_root()
        .split(l, lo, li, CL, TailStrategy::RoundUp)
        .split(sv, so, si, vecS * CS, TailStrategy::RoundUp)
        .split(si, sw, si, vecS)
        .reorder(si, sw, li, so, lo, g)
        .vectorize(si)
        .unroll(sw)
        .unroll(li)
        .parallel(lo);
    cbAcc.compute_at(cb, so).split(sv, sw, si, vecS).vectorize(si).unroll(sw).unroll(l);
    cbAcc.update()
        .split(sv, sw, si, vecS)
        .reorder(si, sw, l, rn)
        .vectorize(si)
        .unroll(sw)
        .unroll(l);
  }

  // y: heads in parallel; per head, tiles of TL tokens x PT = PV*VP of P.
  {
    Var hy("hy"), py("py"), to("to"), ti("ti"), po("po"), pi("pi"), pv("pv"), pvi("pvi");
    y.split(c, hy, py, P)
        .split(t, to, ti, TL, TailStrategy::GuardWithIf)
        .split(py, po, pi, PT)
        .split(pi, pv, pvi, VP)
        .reorder(pvi, pv, ti, po, to, hy)
        .vectorize(pvi)
        .parallel(hy);
    // Per tile of rows: the factors into it, then its part of the mask,
    // in buffers allocated once per head (not per tile).
    intoTile.store_at(y, hy).compute_at(y, to).vectorize(sv, vecS, TailStrategy::GuardWithIf);
    inTile.store_at(y, hy).compute_at(y, to);
    maskBefore.store_at(y, hy).compute_at(y, to).vectorize(sv, vecS, TailStrategy::GuardWithIf);
    maskTile.store_at(y, hy).compute_at(y, to);
    stT.compute_at(y, hy);
    xHead.compute_at(y, hy).vectorize(p, VP);
    // The accumulator tile lives in registers: all its loops are unrolled
    // except the reduction, which runs outermost.
    // A constant-size tile (the last one of a chunk may be shorter) lives on
    // the stack, and its fully unrolled accesses are promoted to registers.
    yAcc.compute_at(y, po)
        .bound_storage(l, TL)
        .split(p, pv, pvi, VP)
        .vectorize(pvi)
        .unroll(pv)
        .unroll(l);
    for (int u = 0; u < 3; ++u) {
      RVar r = u == 0 ? RVar(rn) : u == 1 ? RVar(rd) : RVar(rj);
      yAcc.update(u).split(p, pv, pvi, VP).reorder(pvi, pv, l, r).vectorize(pvi).unroll(pv).unroll(
          l);
    }
  }

  // state_out: heads in parallel; tiles of TP rows of P x NT = NV*VN of N.
  const int VN = exactVector(N, lanes);
  const int NV = largestDivisor(N / VN, 2);
  const int NT = NV * VN;
  const int TP = largestDivisor(P, std::max(1, accRegs / NV));
  {
    Var no("no"), ni("ni"), nv("nv"), nvi("nvi"), po("po"), pi("pi");
    stOut.split(n, no, ni, NT)
        .split(ni, nv, nvi, VN)
        .split(p, po, pi, TP)
        .reorder(nvi, nv, pi, no, po, h)
        .vectorize(nvi)
        .parallel(h);
    xw.compute_at(stOut, h);
    stAcc.compute_at(stOut, no).split(n, nv, nvi, VN).vectorize(nvi).unroll(nv).unroll(p);
    stAcc.update()
        .split(n, nv, nvi, VN)
        .reorder(nvi, nv, p, rs)
        .vectorize(nvi)
        .unroll(nv)
        .unroll(p);
  }

  return BuiltKernel{Pipeline({y, stOut}), {x, dtRaw, B, C, aLog, D, dtBias, stateIn}, {}};
}

BuiltKernel buildSsmStep(const KernelSpec &spec, const TargetSpec &target) {
  const SsmSizes s = readSizes(spec);
  const int NH = s.NH, P = s.P, N = s.N, HPG = s.HPG;

  ImageParam x(Float(32), 2, "x"), dtRaw(Float(32), 2, "dt"), B(Float(32), 2, "B"),
      C(Float(32), 2, "C"), aLog(Float(32), 1, "A_log"), D(Float(32), 1, "D"),
      dtBias(Float(32), 1, "dt_bias"), stateIn(Float(32), 3, "state_in");
  constrainInputs(s, x, dtRaw, B, C, aLog, D, dtBias, stateIn);
  // Decode: exactly one token.
  for (ImageParam *ip : {&x, &dtRaw, &B, &C})
    ip->dim(1).set_extent(1);

  Var c("c"), t("t"), h("h"), p("p"), n("n");
  Func dt("dt_value");
  dt(h) = stepSize(s, dtRaw(h, 0), dtBias(h));
  Func dA("decay");
  dA(h) = vexp(dt(h) * decayRate(aLog(h)));

  // The updated state, recomputed where each consumer needs it (the second
  // time from cache: both consumers run inside one head iteration).
  auto updated = [&](Expr nn, Expr pp, Expr hh) {
    return dA(hh) * stateIn(nn, pp, hh) + (dt(hh) * x(hh * P + pp, 0)) * B((hh / HPG) * N + nn, 0);
  };
  Func stOut("state_out");
  Var sp("c"); // state_out's P dimension: named "c" to line up with y's loops
  stOut(n, sp, h) = updated(n, sp, h);

  RDom rn(0, N, "rn");
  // dot(c) = state_out[h][p] . C_g for channel c = h*P + p. Indexed by the
  // flat channel (not by (p, h)) so that y needs exactly one point of it
  // per channel: bounds inference cannot see through the fused loop index
  // c % P, c / P and would otherwise compute every row per row.
  Func dot("y_dot");
  dot(c) = 0.0f;
  dot(c) += updated(rn, c % P, c / P) * C(((c / P) / HPG) * N + rn, 0);
  Func y("y");
  y(c, t) = dot(c) + D(c / P) * x(c, t);

  y.output_buffer().dim(0).set_bounds(0, NH * P);
  y.output_buffer().dim(1).set_bounds(0, 1);
  stOut.output_buffer().dim(0).set_bounds(0, N);
  stOut.output_buffer().dim(1).set_bounds(0, P);
  stOut.output_buffer().dim(2).set_bounds(0, NH);

  // ---------------- Schedule ----------------
  dt.compute_root();
  dA.compute_root();
  const int VN = exactVector(N, target.lanes);
  // One pass over the state from memory: the loops of y and state_out are
  // fused at the head (compute_with), so y's dot products re-read the
  // head's state_in block from L1/L2 right after state_out's loop used it.
  // compute_with needs identically named loops, so both nests are brought
  // to the same shape: y's (c, t) and state_out's (c = p, h) are each fused
  // into one index "c.row" over NH*P rows (t has extent 1) and split back
  // into (head, p). (Fusing one level deeper, at the row, is what we'd
  // like, but Halide 14's bounds inference then computes the dot for every
  // row at each row.)
  Var u("u"), row("row"), head("head"), pr("p");
  y.fuse(c, t, row).split(row, head, pr, P).parallel(head);
  stOut.fuse(sp, h, row).split(row, head, pr, P).reorder(n, pr, head).vectorize(n, VN).parallel(
      head);
  stOut.compute_with(y, head);
  dot.compute_at(y, pr);
  if (VN > 1 && N % VN == 0) {
    // VN independent partial sums, reduced across lanes once per row.
    RVar ro("ro"), ri("ri");
    Func partial = dot.update().split(rn, ro, ri, VN).rfactor(ri, u);
    partial.compute_at(y, pr).vectorize(u).update().vectorize(u);
  }

  return BuiltKernel{Pipeline({y, stOut}), {x, dtRaw, B, C, aLog, D, dtBias, stateIn}, {}};
}

} // namespace hybridc::codegen
