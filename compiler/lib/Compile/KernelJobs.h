//===- KernelJobs.h - the kernels to compile, and who calls them -*- C++ -*-===//
//
// The lowering declares one function per kernel with a #hybrid.kernel
// attribute (read back by codegen::readKernelDeclaration). Each becomes a
// job: the Halide pipeline to compile, the glue's signature, and, for
// `hybridc inspect`, the drivers and layers whose ops call it (the calls
// keep those ops' locations). The attribute survives the LLVM lowering, so a
// lowered module and an LLVM-dialect one give the same jobs.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILE_KERNELJOBS_H
#define HYBRIDC_COMPILE_KERNELJOBS_H

#include "GlueWriter.h"

#include "hybridc/Codegen/KernelSpec.h"
#include "hybridc/Run/LibraryDescription.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace hybridc {

/// One kernel: what Halide compiles, how the glue calls it, and who calls
/// it (for `hybridc inspect`).
struct KernelJob {
  codegen::KernelSpec spec;
  KernelSignature signature;
  KernelUse use;
};

/// Every kernel the module declares, in declaration order; an error names
/// the kernel whose description is malformed.
llvm::Expected<std::vector<KernelJob>> collectKernels(mlir::ModuleOp module);

} // namespace hybridc

#endif // HYBRIDC_COMPILE_KERNELJOBS_H
