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
/// The attributes hybrid-lower-to-kernels leaves for the compile: on the
/// module, the weight plan (an array of #hybrid.weight), the
/// #hybrid.weight_packing and the #hybrid.memory_plan; on each kernel
/// declaration, its #hybrid.kernel.
inline constexpr const char *kWeightPlanAttr = "hybrid.weight_plan";
inline constexpr const char *kWeightPackingAttr = "hybrid.weight_packing";
inline constexpr const char *kMemoryPlanAttr = "hybrid.memory_plan";
inline constexpr const char *kKernelAttr = "hybrid.kernel";
} // namespace hybrid

#endif // HYBRID_HYBRIDDIALECT_H
