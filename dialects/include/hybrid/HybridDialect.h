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
/// The module attribute holding a lowered model's #hybrid.memory_plan.
inline constexpr const char *kMemoryPlanAttr = "hybrid.memory_plan";
} // namespace hybrid

#endif // HYBRID_HYBRIDDIALECT_H
