//===- hybridc-opt.cpp - mlir-opt for the hybrid dialect ------------------===//
//
// Registers only what hybridc's IR uses (func, arith, tensor, hybrid) and the
// passes the lit tests run; the InitAll* umbrella headers would cost ~30 s and
// 2.6 GB per compile on this machine.
//
//===----------------------------------------------------------------------===//
#include "hybrid/HybridDialect.h"
#include "hybrid/HybridPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect, mlir::arith::ArithDialect,
                  mlir::tensor::TensorDialect, hybrid::HybridDialect>();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  hybrid::registerHybridPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "hybridc-opt: hybrid dialect driver\n",
                        registry));
}
