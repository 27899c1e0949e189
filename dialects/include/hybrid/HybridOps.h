//===- HybridOps.h - ops of the hybrid dialect ------------------*- C++ -*-===//
#ifndef HYBRID_HYBRIDOPS_H
#define HYBRID_HYBRIDOPS_H

#include "hybrid/HybridDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <cstdint>
#include <optional>

namespace hybrid {

/// The model layer an op belongs to, read from its location: the importer
/// tags every op of layer i with NameLoc("model.layers.<i>.<part>"), possibly
/// nested inside FusedLoc / CallSiteLoc / NameLoc children. Returns the first
/// index found (pre-order), or nullopt when the location names no layer.
std::optional<int64_t> getLayerIndex(mlir::Location loc);

/// An optional i64 attribute of a `hybrid.weight`: the fewest bits per
/// weight its matrix may be stored in. The importer sets 8 on the matrices
/// an int4 model keeps in int8 (hybrid-lower-to-kernels packs them so).
inline constexpr const char *kMinBitsAttr = "hybrid.min_bits";

} // namespace hybrid

#define GET_OP_CLASSES
#include "hybrid/HybridOps.h.inc"

#endif // HYBRID_HYBRIDOPS_H
