//===- HybridDialect.cpp - the hybrid dialect -----------------------------===//
#include "hybrid/HybridDialect.h"
#include "hybrid/HybridOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;

#include "hybrid/HybridOpsDialect.cpp.inc"

void hybrid::HybridDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "hybrid/HybridOps.cpp.inc"
      >();
}

// The importer marks state arguments with `hybrid.state = "<checkpoint
// prefix>"`; state planning and the runtime's state names rely on it being a
// non-empty string, so reject anything else as early as the parser.
LogicalResult hybrid::HybridDialect::verifyRegionArgAttribute(
    Operation *op, unsigned regionIndex, unsigned argIndex,
    NamedAttribute attribute) {
  if (attribute.getName() != "hybrid.state")
    return success();
  auto name = llvm::dyn_cast<StringAttr>(attribute.getValue());
  if (!name || name.getValue().empty())
    return op->emitOpError() << "argument #" << argIndex
                             << ": 'hybrid.state' must be a non-empty string "
                                "naming the state, got "
                             << attribute.getValue();
  return success();
}
