//===- KernelBuilders.h - Halide pipelines per kernel kind ------*- C++ -*-===//
//
// Internal to codegen/lib/Kernels (includes Halide.h; never include it from
// a translation unit that sees MLIR or LLVM 19 headers). One builder per
// kernel kind of KernelSpec.h, each in its own file with its schedules.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CODEGEN_KERNELS_KERNELBUILDERS_H
#define HYBRIDC_CODEGEN_KERNELS_KERNELBUILDERS_H

#include "hybridc/Codegen/KernelSpec.h"
#include "hybridc/Codegen/WeightPacking.h"

#include <Halide.h>

#include <vector>

namespace hybridc::codegen {

/// A kernel's pipeline and its inputs in ABI order: buffers, then scalars.
/// The outputs (ABI order after the inputs) are the pipeline's outputs.
struct BuiltKernel {
  Halide::Pipeline pipeline;
  std::vector<Halide::ImageParam> buffers;
  std::vector<Halide::Param<int32_t>> scalars;

  std::vector<Halide::Argument> arguments() const {
    std::vector<Halide::Argument> args(buffers.begin(), buffers.end());
    args.insert(args.end(), scalars.begin(), scalars.end());
    return args;
  }
};

/// Builds the pipeline of `spec` for `target` (the schedule depends on the
/// target's vector width). Reports a bad spec through Halide::CompileError.
BuiltKernel buildKernel(const KernelSpec &spec, const TargetSpec &target);

/// The Halide type of a weight type (int8 weights are stored as u8 = q + 128,
/// int4 weights as bytes of two nibbles q + 8).
inline Halide::Type halideType(WeightType type) {
  switch (type) {
  case WeightType::BF16:
    return Halide::BFloat(16);
  case WeightType::INT8:
  case WeightType::INT4:
    return Halide::UInt(8);
  case WeightType::F32:
    break;
  }
  return Halide::Float(32);
}

/// Reports a bad spec: a CompileError naming the kernel and its kind.
[[noreturn]] inline void failKernel(const KernelSpec &spec, const std::string &what) {
  throw Halide::CompileError("kernel " + spec.symbol + " (" + spec.kind + "): " + what);
}

/// e^x for f32 that vectorizes: Halide's exp() on x86 is a call to libm's
/// expf for every lane (scalar code inside vector loops), while
/// Internal::halide_exp is its own range-reduced degree-7 polynomial in IR
/// (within an ulp or two of expf; 0 below the smallest normal exponent, inf
/// above the largest) that becomes vector code.
inline Halide::Expr vexp(const Halide::Expr &x) { return Halide::Internal::halide_exp(x); }

/// e^x for a softmax exponent x <= 0, tiny results flushed to zero: e^-80
/// is far below f32 resolution next to the block maximum's weight of 1, and
/// it keeps the running sums free of denormals.
inline Halide::Expr softmaxWeight(const Halide::Expr &x) {
  return Halide::select(x < -80.0f, 0.0f, vexp(x));
}

/// silu(g) = g * sigmoid(g). fast_exp is a cheaper polynomial (about 2^-18
/// relative error); its argument is clamped because it is undefined near
/// overflow and underflow; at +-80 the sigmoid is already 0 or 1 to f32
/// precision.
inline Halide::Expr silu(const Halide::Expr &g) {
  return g / (1.0f + Halide::fast_exp(Halide::clamp(-g, -80.0f, 80.0f)));
}

/// An f32 input of `width` columns per token, [T][width]: the static
/// width lets Halide drop bounds arithmetic; the token count stays dynamic.
inline Halide::ImageParam tokenRows(const char *name, int64_t width) {
  Halide::ImageParam p(Halide::Float(32), 2, name);
  p.dim(0).set_bounds(0, static_cast<int>(width));
  p.dim(1).set_min(0);
  return p;
}

/// The schedule of a row-wise kernel out(c, t): `lanes`-wide vectors along
/// c with a guarded tail (out has exactly its declared columns) and
/// `rowsPerTask` tokens per parallel task (one row alone is too little work
/// for a task). Returns the per-token loop variable, for compute_at.
inline Halide::Var scheduleRows(Halide::Func &out, int lanes, int rowsPerTask) {
  Halide::Var c = out.args()[0], t = out.args()[1];
  Halide::Var co("co"), ci("ci"), to("to"), ti("ti");
  out.split(c, co, ci, lanes, Halide::TailStrategy::GuardWithIf)
      .vectorize(ci)
      .split(t, to, ti, rowsPerTask, Halide::TailStrategy::GuardWithIf)
      .reorder(ci, co, ti, to)
      .parallel(to);
  return ti;
}

/// A weight packed by packLinear, W[NB][KG][L][G], as the ImageParam
/// w(g, l, k, b); with `experts` > 0 the experts' matrices packed by
/// packExperts, W[NB][E][KG][L][G], as w(g, l, k, e, b). Static sizes let
/// Halide drop bounds arithmetic and know the layout is dense. For int4 the
/// k dimension holds pairs of groups (KG / 2), see BlockDot.
inline Halide::ImageParam packedWeight(const char *name, WeightType type,
                                       const LinearPacking &p, int64_t out, int64_t in,
                                       int experts = 0) {
  const int L = p.lanes, G = p.group;
  const int KG = int(p.storedGroups(in)), NB = int(p.blocks(out));
  const int block = G * L * KG; // one block of L outputs
  Halide::ImageParam w(halideType(type), experts > 0 ? 5 : 4, name);
  w.dim(0).set_bounds(0, G).set_stride(1);
  w.dim(1).set_bounds(0, L).set_stride(G);
  w.dim(2).set_bounds(0, KG).set_stride(G * L);
  if (experts > 0) {
    w.dim(3).set_bounds(0, experts).set_stride(block);
    w.dim(4).set_bounds(0, NB).set_stride(block * experts);
  } else {
    w.dim(3).set_bounds(0, NB).set_stride(block);
  }
  return w;
}

/// The int8 / int4 scales of a weight packed like packedWeight: S[NB][SB][L] as
/// s(l, blk, b), or for experts S[NB][E][SB][L] as s(l, blk, e, b).
inline Halide::ImageParam packedScales(const char *name, const LinearPacking &p, int64_t out,
                                       int64_t in, int experts = 0) {
  const int L = p.lanes, SB = int(p.scaleBlocks(in)), NB = int(p.blocks(out));
  Halide::ImageParam s(Halide::Float(32), experts > 0 ? 4 : 3, name);
  s.dim(0).set_bounds(0, L).set_stride(1);
  s.dim(1).set_bounds(0, SB).set_stride(L);
  if (experts > 0) {
    s.dim(2).set_bounds(0, experts).set_stride(L * SB);
    s.dim(3).set_bounds(0, NB).set_stride(L * SB * experts);
  } else {
    s.dim(2).set_bounds(0, NB).set_stride(L * SB);
  }
  return s;
}

/// Activation rows quantized as the int8 matmuls multiply them (KernelSpec.h):
/// per block of kQuantBlock inputs, scale = max |x| / 127 and q = round(x /
/// scale) (to nearest even; 0 where the block is all zero or past `in`).
/// `q(g, k, rest...)` is input k*G + g as i8 (G: the packing's group, the
/// inputs one dot-product lane sums), `scale(blk, rest...)` and
/// `sum(blk, rest...)` (of the block's q, i32) are per block.
struct Int8Rows {
  Halide::Func q, scale, sum;
  Halide::Func amax; // max |x| per block, which scale reads
  Halide::RDom r;    // the block's elements, reduced by amax and sum
  /// Computes all four at `at`; the block reductions run as vector
  /// reductions over `lanes` elements at a time (a max or a sum across one
  /// vector per step, not 32 scalar steps).
  void computeAt(const Halide::LoopLevel &at, int lanes) {
    for (Halide::Func *f : {&amax, &scale, &sum, &q})
      f->compute_at(at);
    for (Halide::Func *f : {&amax, &sum}) {
      Halide::RVar ro, ri;
      f->update().split(r.x, ro, ri, lanes).atomic().vectorize(ri);
    }
  }
};

/// Quantizes `row(i)` (input i < in of the row picked by `rest`).
template <typename Row>
Int8Rows quantizeRows(const Row &row, int64_t in, int G, const std::vector<Halide::Var> &rest,
                      const std::string &name) {
  using namespace Halide;
  const int B = kQuantBlock;
  Var g(name + "_g"), k(name + "_k"), blk(name + "_blk");
  auto args = [&](std::vector<Expr> head) {
    head.insert(head.end(), rest.begin(), rest.end());
    return head;
  };
  auto value = [&](const Expr &i) { return select(i < int(in), row(min(i, int(in) - 1)), 0.0f); };
  RDom r(0, B, name + "_r");
  Int8Rows out{Func(name + "_q"), Func(name + "_scale"), Func(name + "_sum"),
               Func(name + "_amax"), r};
  Func &amax = out.amax;
  amax(args({blk})) = 0.0f;
  amax(args({blk})) = max(amax(args({blk})), abs(value(blk * B + r)));
  out.scale(args({blk})) = amax(args({blk})) / 127.0f;
  Expr i = k * G + g, s = out.scale(args({i / B}));
  out.q(args({g, k})) =
      cast<int8_t>(select(s > 0, clamp(round(value(i) / s), -127.0f, 127.0f), 0.0f));
  out.sum(args({blk})) = 0;
  out.sum(args({blk})) += cast<int32_t>(out.q(args({r % G, (blk * B + r) / G})));
  return out;
}

/// The integer dot product of one scale block of int8 or int4 weights with
/// an Int8Rows block: the reduction `rr` runs over the G inputs of a group
/// (rr.x, vectorized into the dot-product instruction), which of a pair of
/// groups (rr.y, to be unrolled) and the block's pairs (rr.z), so group
/// `group(blk)` of the activations meets `weight(...)`. G is the packing's
/// group: 4 where vpdpbusd sums four u8 x s8 products into an i32 lane, 2
/// where vpmaddwd sums two i16 products (the weights' bytes widened on load,
/// the activations' pair broadcast). Pairs of groups, because int4 packs
/// groups 2j and 2j + 1 into the low and high nibbles of one byte lane: with
/// rr.y a constant after unrolling, a nibble is one mask or one shift of the
/// vector both groups share. int8 reads its byte as it is.
struct BlockDot {
  WeightType type;
  int G;
  Halide::RDom rr;
  BlockDot(WeightType t, const LinearPacking &p, const std::string &name)
      : type(t), G(p.group), rr(0, p.group, 0, 2, 0, kQuantBlock / (2 * p.group), name) {}
  /// The offset of the stored unsigned weights: u8 = q + 128, u4 = q + 8.
  int offset() const { return type == WeightType::INT4 ? 8 : 128; }
  /// The activation group of this reduction step in block `blk`.
  Halide::Expr group(const Halide::Expr &blk) const {
    return blk * (kQuantBlock / G) + rr.z * 2 + rr.y;
  }
  /// The unsigned weight (i32) of input rr.x of group(blk) for output lane
  /// `lane` of w(g, lane, k, rest...) (packedWeight).
  Halide::Expr weight(const Halide::ImageParam &w, const Halide::Expr &lane,
                      const Halide::Expr &blk, const std::vector<Halide::Expr> &rest) const {
    using namespace Halide;
    const Expr pair = blk * (kQuantBlock / (2 * G)) + rr.z;
    std::vector<Expr> at{rr.x, lane, type == WeightType::INT4 ? pair : group(blk)};
    at.insert(at.end(), rest.begin(), rest.end());
    Expr byte = w(at);
    if (type == WeightType::INT4)
      byte = select(rr.y == 0, byte & cast<uint8_t>(15), byte >> cast<uint8_t>(4));
    return cast<int32_t>(byte);
  }
  /// One block's sum of products, with the weight offset removed: the
  /// block's i32 dot product `dot` less offset() times the block's sum of q.
  Halide::Expr unbiased(const Halide::Expr &dot, const Halide::Expr &qSum) const {
    return Halide::cast<float>(dot - offset() * qSum);
  }
  /// The schedule of a block dot product's update: `rest` are the loops
  /// between the lanes and the reduction (vectors, rows: unrolled by the
  /// caller), then the pair loops, then `outer`.
  Halide::Stage schedule(Halide::Stage step, const Halide::Var &lane,
                         const std::vector<Halide::VarOrRVar> &inner,
                         const std::vector<Halide::VarOrRVar> &outer) const {
    std::vector<Halide::VarOrRVar> order{rr.x, lane};
    order.insert(order.end(), inner.begin(), inner.end());
    order.push_back(rr.y);
    order.push_back(rr.z);
    order.insert(order.end(), outer.begin(), outer.end());
    step.reorder(order);
    // As vectorizeDot: the G-to-1 vector reduction Halide maps to vpdpbusd
    // (G = 4, accumulating in place) or to vpmaddwd and an add (G = 2).
    step.atomic().vectorize(rr.x).vectorize(lane).unroll(rr.y);
    return step;
  }
};

/// Element k*G + g of an activation row `x(i)` (i < in) as the packed
/// matmul multiplies it: rounded to bf16 where the packing pairs bf16 inputs
/// (the operands of vdpbf16ps), else f32 as it is; 0 past `in`, where the
/// packed weight is 0 too (a clamped read could be inf, and inf * 0 is NaN).
template <typename Row>
Halide::Expr groupedInput(const Row &x, const Halide::Expr &g, const Halide::Expr &k,
                          int64_t in, const LinearPacking &p) {
  if (p.group == 1)
    return x(k);
  Halide::Expr i = k * p.group + g;
  Halide::Expr v = Halide::select(i < int(in), x(Halide::min(i, int(in) - 1)), 0.0f);
  return Halide::cast(Halide::BFloat(16), v);
}

/// One multiply-add term of a packed matmul, in f32 (bf16 widens exactly).
inline Halide::Expr dotTerm(const Halide::Expr &w, const Halide::Expr &x) {
  return Halide::cast<float>(w) * Halide::cast<float>(x);
}

/// Vectorizes the update of a packed dot product whose reduction has the
/// group RVar `g` innermost and the output lanes `l` next: with G = 2 each
/// lane also sums its pair (atomic() plus a vectorized g make the 2-to-1
/// vector reduction that Halide maps to vdpbf16ps, accumulating into the
/// lane). Such a stage must never get a parallel RVar: atomic() would turn
/// its stores into compare-and-swap loops.
inline Halide::Stage vectorizeDot(Halide::Stage stage, const Halide::RVar &g,
                                  const Halide::Var &l, const LinearPacking &p) {
  if (p.group > 1)
    stage.atomic().vectorize(g);
  stage.vectorize(l);
  return stage;
}

/// The loops of a matmul's output f(o, row) cut into register tiles of TT
/// rows x VB vectors of L outputs; innermost first: ol (vectorized), ov
/// (unrolled), ti, then `to` (tiles of rows) and `oo` (groups of outputs),
/// which the caller makes parallel (or fuses first) as its loop order needs.
struct OutputTiles {
  Halide::Var oo{"oo"}, to{"to"};
};
inline OutputTiles tileOutputs(Halide::Func &f, const Halide::Var &o, const Halide::Var &row,
                               int L, int VB, int TT) {
  Halide::Var oi("oi"), ov("ov"), ol("ol"), ti("ti");
  OutputTiles t;
  f.split(row, t.to, ti, TT, Halide::TailStrategy::GuardWithIf)
      .split(o, t.oo, oi, L * VB, Halide::TailStrategy::GuardWithIf)
      .split(oi, ov, ol, L)
      .reorder(ol, ov, ti, t.to, t.oo)
      .vectorize(ol)
      .unroll(ov);
  return t;
}

/// The register tile of a GEMM: `acc(l, b, r, tile) = 0; acc(...) += ...`
/// reduced over (g, k) (the packing's group, then its groups), computed at
/// `at` (a loop over single tiles) with a constant extent of L lanes x
/// `vectors` vectors x `rows` rows x one tile (a partial tile computes the
/// whole tile), every loop but the reduction over k vectorized or unrolled.
/// Constant-indexed after unrolling, the accumulators stay in registers
/// while the reduction runs innermost. The constant extent of the tile
/// dimension also makes the buffer a constant-size stack allocation: with
/// an extent Halide cannot prove, every task malloc'ed and freed it (1.5
/// KB, past glibc's per-thread cache), 7% of a bf16 prefill in free().
inline void scheduleRegisterTile(Halide::Func acc, const Halide::LoopLevel &at,
                                 const LinearPacking &p, int vectors, int rows,
                                 const Halide::RVar &g, const Halide::RVar &k) {
  std::vector<Halide::Var> v = acc.args(); // l, b, r, tile
  acc.compute_at(at)
      .bound_extent(v[0], p.lanes)
      .bound_extent(v[1], vectors)
      .bound_extent(v[2], rows)
      .bound_extent(v[3], 1)
      .reorder(v[0], v[1], v[2], v[3])
      .vectorize(v[0])
      .unroll(v[1])
      .unroll(v[2]);
  Halide::Stage update = acc.update();
  update.reorder(g, v[0], v[1], v[2], k, v[3]);
  vectorizeDot(update, g, v[0], p).unroll(v[1]).unroll(v[2]);
}

// Per-kind builders (dispatched by buildKernel).
BuiltKernel buildEmbed(const KernelSpec &, const TargetSpec &);
BuiltKernel buildRmsNorm(const KernelSpec &, const TargetSpec &);
BuiltKernel buildLinear(const KernelSpec &, const TargetSpec &);
BuiltKernel buildLinearQuantized(const KernelSpec &, const TargetSpec &); // int8, int4 weights
BuiltKernel buildSwiglu(const KernelSpec &, const TargetSpec &);
BuiltKernel buildResidualAdd(const KernelSpec &, const TargetSpec &);
BuiltKernel buildMoeRouter(const KernelSpec &, const TargetSpec &);
BuiltKernel buildMoeExperts(const KernelSpec &, const TargetSpec &);
BuiltKernel buildMoeExpertsQuantized(const KernelSpec &, const TargetSpec &);
BuiltKernel buildMoeExpertTiles(const KernelSpec &, const TargetSpec &);
BuiltKernel buildMoeExpertTilesQuantized(const KernelSpec &, const TargetSpec &);
BuiltKernel buildMoeCombine(const KernelSpec &, const TargetSpec &);
BuiltKernel buildConv1d(const KernelSpec &, const TargetSpec &);
BuiltKernel buildConvState(const KernelSpec &, const TargetSpec &);
BuiltKernel buildSsmChunk(const KernelSpec &, const TargetSpec &);
BuiltKernel buildSsmStep(const KernelSpec &, const TargetSpec &);
BuiltKernel buildGatedRmsNorm(const KernelSpec &, const TargetSpec &);
BuiltKernel buildAttention(const KernelSpec &, const TargetSpec &);
// The two schedules of `attention` (buildAttention picks by `decode`).
BuiltKernel buildAttentionTiles(const KernelSpec &, const TargetSpec &);
BuiltKernel buildAttentionDecode(const KernelSpec &, const TargetSpec &);
BuiltKernel buildKvAppend(const KernelSpec &, const TargetSpec &);

} // namespace hybridc::codegen

#endif // HYBRIDC_CODEGEN_KERNELS_KERNELBUILDERS_H
