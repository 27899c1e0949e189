//===- Importer.h - Granite 4.0 H checkpoint -> `hybrid` IR -----*- C++ -*-===//
#ifndef HYBRIDC_IMPORT_IMPORTER_H
#define HYBRIDC_IMPORT_IMPORTER_H

#include "hybridc/Model/Checkpoint.h"

#include "hybrid/HybridDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace hybridc {

/// Name of the function the importer emits: the whole model for a dynamic
/// number of tokens, taking and returning the streaming state.
constexpr const char *kForwardFunctionName = "forward";
/// Argument / result attribute naming a piece of streaming state.
constexpr const char *kStateAttrName = "hybrid.state";

/// Loads the dialects the importer's output uses into `context`.
void registerImportDialects(mlir::MLIRContext &context);

/// Builds a verified `hybrid` module for the whole model. Weights are
/// referenced by symbol (one `hybrid.weight` per checkpoint tensor), never
/// copied into the IR. Every attention op keeps its KV cache as `kvDtype`.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importCheckpoint(mlir::MLIRContext &context, const Checkpoint &checkpoint,
                 hybrid::KvDtype kvDtype = hybrid::KvDtype::f32);

} // namespace hybridc

#endif // HYBRIDC_IMPORT_IMPORTER_H
