//===- KernelDeclarations.h - #hybrid.kernel read back ----------*- C++ -*-===//
//
// hybrid-lower-to-kernels declares one function per distinct kernel and
// describes it in a #hybrid.kernel attribute (KernelDeclarations.cpp writes
// it); the compiler reads each one back here, from a lowered module or an
// LLVM-dialect one (the attribute survives the LLVM lowering).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CODEGEN_KERNELDECLARATIONS_H
#define HYBRIDC_CODEGEN_KERNELDECLARATIONS_H

#include "hybridc/Codegen/KernelSpec.h"

#include "hybrid/HybridDialect.h"

#include <vector>

namespace hybridc::codegen {

/// One declared kernel: what the code generator compiles and what the glue
/// passes it.
struct DeclaredKernel {
  KernelSpec spec;
  std::vector<KernelArg> args;
};

/// The declaration `symbol` described by `kernel` (verified by the parser,
/// so this cannot fail).
DeclaredKernel readKernelDeclaration(llvm::StringRef symbol, hybrid::KernelAttr kernel);

} // namespace hybridc::codegen

#endif // HYBRIDC_CODEGEN_KERNELDECLARATIONS_H
