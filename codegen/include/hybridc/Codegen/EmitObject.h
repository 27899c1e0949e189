//===- EmitObject.h - LLVM dialect module -> object file --------*- C++ -*-===//
#ifndef HYBRIDC_CODEGEN_EMITOBJECT_H
#define HYBRIDC_CODEGEN_EMITOBJECT_H

#include "hybridc/Codegen/KernelSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace hybridc {

/// Extra artefacts to write next to the object ("" = don't).
struct DriverArtefacts {
  std::string llvmIR;   // optimised LLVM IR (.ll)
  std::string assembly; // target assembly (.s)
};

/// Translates `module` (LLVM dialect only) to LLVM IR, optimises it at -O2
/// for `target` and writes a position-independent object file.
llvm::Error emitDriverObject(mlir::ModuleOp module, const codegen::TargetSpec &target,
                             const std::string &objectPath,
                             const DriverArtefacts &artefacts = {});

} // namespace hybridc

#endif // HYBRIDC_CODEGEN_EMITOBJECT_H
