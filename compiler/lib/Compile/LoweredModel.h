//===- LoweredModel.h - what the lowering decided, read once ----*- C++ -*-===//
//
// hybrid-lower-to-kernels leaves its decisions on the module as attributes
// (docs/pipeline.md): the kernels it declared, the weight plan, the packing
// it assumed and the buffer sizes. The later stages (Halide kernels,
// weights file, glue, manifest) take them from this one typed description,
// read and checked in one place, never from the attributes again.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILE_LOWEREDMODEL_H
#define HYBRIDC_COMPILE_LOWEREDMODEL_H

#include "KernelJobs.h"
#include "WeightsFile.h"

#include "hybridc/Codegen/KernelSpec.h"
#include "hybridc/Run/LibraryDescription.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace hybridc {

struct LoweredModel {
  std::vector<KernelJob> kernels;  // in declaration order
  std::vector<PackedWeight> plan;  // every stored tensor, in payload order
  MemoryPlan memory;               // the sizes the glue's descriptor holds
  codegen::WeightType weightType = codegen::WeightType::F32;
  codegen::LinearPacking packing;  // lanes and input group the lowering assumed
  std::string symbolSuffix;        // ends its driver and kernel symbols ("" alone)
};

/// Reads a lowered (or LLVM-dialect) module. `expected` is the packing the
/// compile's target and weights dtype give: a module lowered for another
/// one (a resumed file edited by hand, say) is an error naming both, as is
/// a missing or malformed attribute.
llvm::Expected<LoweredModel> readLoweredModel(mlir::ModuleOp module,
                                              codegen::WeightType expectedType,
                                              const codegen::LinearPacking &expected);

} // namespace hybridc

#endif // HYBRIDC_COMPILE_LOWEREDMODEL_H
