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

#endif // HYBRID_HYBRIDDIALECT_H
