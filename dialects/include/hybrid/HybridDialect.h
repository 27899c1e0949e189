//===- HybridDialect.h - the hybrid dialect ---------------------*- C++ -*-===//
#ifndef HYBRID_HYBRIDDIALECT_H
#define HYBRID_HYBRIDDIALECT_H

#include "mlir/IR/Dialect.h"

#include "hybrid/HybridOpsDialect.h.inc"

#endif // HYBRID_HYBRIDDIALECT_H
