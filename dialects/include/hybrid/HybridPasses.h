//===- HybridPasses.h - passes of the hybrid dialect ------------*- C++ -*-===//
#ifndef HYBRID_HYBRIDPASSES_H
#define HYBRID_HYBRIDPASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace hybrid {

/// hybrid-plan-state: annotates state arguments of model functions with their
/// byte sizes (see HybridPasses.td).
std::unique_ptr<mlir::Pass> createPlanStatePass();

#define GEN_PASS_DECL
#include "hybrid/HybridPasses.h.inc"

/// Generated: registerHybridPasses() (all passes) and
/// registerHybridPlanState(), for tools that use the global pass registry.
#define GEN_PASS_REGISTRATION
#include "hybrid/HybridPasses.h.inc"

} // namespace hybrid

#endif // HYBRID_HYBRIDPASSES_H
