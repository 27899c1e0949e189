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
