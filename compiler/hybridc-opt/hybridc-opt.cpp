//===- hybridc-opt.cpp - mlir-opt for hybridc's dialect and passes --------===//
//
// Registers only what hybridc's IR uses (func, arith, tensor, memref, scf,
// llvm, hybrid) and hybridc's passes; the InitAll* umbrella headers would
// cost ~30 s and 2.6 GB per compile on this machine.
//
//===----------------------------------------------------------------------===//
#include "hybrid/HybridDialect.h"
#include "hybrid/HybridPasses.h"
#include "hybridc/Codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect, mlir::arith::ArithDialect,
                  mlir::tensor::TensorDialect, mlir::memref::MemRefDialect,
                  mlir::scf::SCFDialect, mlir::LLVM::LLVMDialect, hybrid::HybridDialect>();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  hybrid::registerHybridPasses();
  hybridc::registerHybridcPasses();
  hybridc::registerLowerToLLVMPasses();
  mlir::PassPipelineRegistration<>(
      "hybrid-lower-to-llvm", "Lower a kernel-level module (after "
                              "hybrid-lower-to-kernels) to the LLVM dialect",
      [](mlir::OpPassManager &pm) { hybridc::addLowerToLLVMPasses(pm); });
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "hybridc-opt: hybrid dialect driver\n", registry));
}
