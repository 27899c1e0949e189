//===- KernelDecls.h - the kernels a lowered module declares ----*- C++ -*-===//
//
// The lowering declares one function per kernel and describes it in the
// function's `hybrid.kernel` attribute: kind, sizes, constants, weight type
// and each argument's kind ([rank, Halide type code, bits]; rank -1 for an
// i32 scalar). The attribute survives the LLVM lowering (on the llvm.func
// and its C-interface wrapper), so the kernels, and the layers whose ops
// call them (the calls keep those ops' locations), read the same from a
// lowered module and from an LLVM-dialect one.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILE_KERNELDECLS_H
#define HYBRIDC_COMPILE_KERNELDECLS_H

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

#endif // HYBRIDC_COMPILE_KERNELDECLS_H
