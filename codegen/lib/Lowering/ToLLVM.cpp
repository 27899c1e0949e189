//===- ToLLVM.cpp - kernel-level module -> LLVM dialect -------------------===//
//
// Only the conversions the driver needs, each from its own header (the
// umbrella Conversion/Passes.h costs a quarter of a minute per TU).
//
//===----------------------------------------------------------------------===//
#include "hybridc/Codegen/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

namespace {

using PassFactory = std::unique_ptr<mlir::Pass> (*)();

/// The passes from the kernel-level module to the LLVM dialect, in order:
/// one list for the compile's pipeline and for hybridc-opt's registry.
const PassFactory kLowerToLLVM[] = {
    [] { return mlir::createConvertSCFToCFPass(); },
    // Subviews become reinterpret_casts with explicit offsets and strides.
    [] { return mlir::memref::createExpandStridedMetadataPass(); },
    [] { return mlir::createLowerAffinePass(); },
    [] { return mlir::createArithToLLVMConversionPass(); },
    [] { return mlir::createConvertControlFlowToLLVMPass(); },
    [] { return mlir::createFinalizeMemRefToLLVMConversionPass(); },
    [] { return mlir::createConvertFuncToLLVMPass(); },
    [] { return mlir::createReconcileUnrealizedCastsPass(); },
    [] { return mlir::createCanonicalizerPass(); },
};

} // namespace

void hybridc::addLowerToLLVMPasses(mlir::OpPassManager &pm) {
  for (PassFactory create : kLowerToLLVM)
    pm.addPass(create());
}

void hybridc::registerLowerToLLVMPasses() {
  for (PassFactory create : kLowerToLLVM)
    if (!mlir::PassInfo::lookup(create()->getArgument())) // canonicalize may be there already
      mlir::registerPass(create);
}
