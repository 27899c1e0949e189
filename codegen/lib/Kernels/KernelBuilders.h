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

/// The Halide type of a weight type.
inline Halide::Type halideType(WeightType type) {
  return type == WeightType::BF16 ? Halide::BFloat(16) : Halide::Float(32);
}

/// Reports a bad spec: a CompileError naming the kernel and its kind.
[[noreturn]] inline void failKernel(const KernelSpec &spec, const std::string &what) {
  throw Halide::CompileError("kernel " + spec.symbol + " (" + spec.kind + "): " + what);
}

/// silu(g) = g * sigmoid(g). Halide's exp on x86 is a scalar libm call per
/// lane; fast_exp is a polynomial that vectorizes (about 2^-18 relative
/// error). Its argument is clamped because it is undefined near overflow and
/// underflow; at +-80 the sigmoid is already 0 or 1 to f32 precision.
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

/// The expert weights of a mixture, each expert packed like `linear`
/// (W[E][blocks][in][L]), experts contiguous: w_in maps `in` -> 2I, w_out
/// I -> H. Static sizes let Halide drop bounds arithmetic.
inline Halide::ImageParam expertWeights(const char *name, WeightType type, int E, int out,
                                        int in, int lanes) {
  const int blocks = (out + lanes - 1) / lanes;
  Halide::ImageParam w(halideType(type), 4, name);
  w.dim(0).set_bounds(0, lanes).set_stride(1);
  w.dim(1).set_bounds(0, in).set_stride(lanes);
  w.dim(2).set_bounds(0, blocks).set_stride(lanes * in);
  w.dim(3).set_bounds(0, E).set_stride(lanes * in * blocks);
  return w;
}

/// The register tile of a GEMM: `acc(l, b, r, tile) = 0; acc(...) += ...`
/// reduced over `k`, computed at `at` with a constant extent of L lanes x
/// `vectors` vectors x `rows` rows (a partial tile computes the whole tile),
/// every loop but the reduction vectorized or unrolled. Constant-indexed
/// after unrolling, the accumulators stay in registers while the reduction
/// runs innermost.
inline void scheduleRegisterTile(Halide::Func acc, const Halide::LoopLevel &at, int lanes,
                                 int vectors, int rows, const Halide::RVar &k) {
  std::vector<Halide::Var> v = acc.args(); // l, b, r, tile
  acc.compute_at(at)
      .bound_extent(v[0], lanes)
      .bound_extent(v[1], vectors)
      .bound_extent(v[2], rows)
      .reorder(v[0], v[1], v[2], v[3])
      .vectorize(v[0])
      .unroll(v[1])
      .unroll(v[2]);
  acc.update()
      .reorder(v[0], v[1], v[2], k, v[3])
      .vectorize(v[0])
      .unroll(v[1])
      .unroll(v[2]);
}

// Per-kind builders (dispatched by buildKernel).
BuiltKernel buildEmbed(const KernelSpec &, const TargetSpec &);
BuiltKernel buildRmsNorm(const KernelSpec &, const TargetSpec &);
BuiltKernel buildLinear(const KernelSpec &, const TargetSpec &);
BuiltKernel buildSwiglu(const KernelSpec &, const TargetSpec &);
BuiltKernel buildResidualAdd(const KernelSpec &, const TargetSpec &);
BuiltKernel buildMoeRouter(const KernelSpec &, const TargetSpec &);
BuiltKernel buildMoeExperts(const KernelSpec &, const TargetSpec &);
BuiltKernel buildMoeExpertTiles(const KernelSpec &, const TargetSpec &);
BuiltKernel buildMoeCombine(const KernelSpec &, const TargetSpec &);
BuiltKernel buildConv1d(const KernelSpec &, const TargetSpec &);
BuiltKernel buildConvState(const KernelSpec &, const TargetSpec &);
BuiltKernel buildSsmChunk(const KernelSpec &, const TargetSpec &);
BuiltKernel buildSsmStep(const KernelSpec &, const TargetSpec &);
BuiltKernel buildGatedRmsNorm(const KernelSpec &, const TargetSpec &);
BuiltKernel buildAttention(const KernelSpec &, const TargetSpec &);

} // namespace hybridc::codegen

#endif // HYBRIDC_CODEGEN_KERNELS_KERNELBUILDERS_H
