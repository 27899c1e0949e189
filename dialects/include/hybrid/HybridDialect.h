//===- HybridDialect.h - the hybrid dialect ---------------------*- C++ -*-===//
#ifndef HYBRID_HYBRIDDIALECT_H
#define HYBRID_HYBRIDDIALECT_H

#include "mlir/IR/Dialect.h"

#include "mlir/IR/Attributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "hybrid/HybridOpsDialect.h.inc"

#include "hybrid/HybridEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "hybrid/HybridAttrs.h.inc"

namespace hybrid {
/// The module attributes hybrid-lower-to-kernels leaves for the compile: the
/// weight plan (an array of #hybrid.weight) and the #hybrid.memory_plan.
inline constexpr const char *kWeightPlanAttr = "hybrid.weight_plan";
inline constexpr const char *kMemoryPlanAttr = "hybrid.memory_plan";
} // namespace hybrid

#endif // HYBRID_HYBRIDDIALECT_H
