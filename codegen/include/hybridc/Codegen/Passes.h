//===- Passes.h - hybridc's lowering passes ---------------------*- C++ -*-===//
#ifndef HYBRIDC_CODEGEN_PASSES_H
#define HYBRIDC_CODEGEN_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include "hybrid/HybridDialect.h"

namespace hybridc {

#define GEN_PASS_DECL
#include "hybridc/Codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hybridc/Codegen/Passes.h.inc"

/// Names the lowering gives the driver functions (C interface:
/// `_mlir_ciface_<name>`).
constexpr const char *kPrefillFunctionName = "hybridc_prefill";
constexpr const char *kDecodeFunctionName = "hybridc_decode";
constexpr const char *kDecodeBatchFunctionName = "hybridc_decode_batch";

/// Adds the passes from the kernel-level module to the LLVM dialect.
void addLowerToLLVMPasses(mlir::OpPassManager &pm);
/// Registers each of those passes by name (for hybridc-opt), so the
/// pipeline a compile records can be rerun there pass by pass.
void registerLowerToLLVMPasses();

} // namespace hybridc

#endif // HYBRIDC_CODEGEN_PASSES_H
