//===- WeightLayouts.h - what each packed weight layout stores --*- C++ -*-===//
//
// hybrid-lower-to-kernels records one #hybrid.weight<tensor, layout, offset,
// bytes> per packed entry in the module attribute hybrid.weight_plan; the
// compiler packs the weights file from that plan. What a layout stores (its
// shape class, element type, packing, and whether it holds a matrix's block
// scales) is decided here and nowhere else: the lowering sizes its views
// from it, the packer writes its bytes by it, and `hybridc inspect` names
// its element type from it. A new weight format is one more WeightLayout
// case (HybridAttrs.td) and one more answer here.
//
// MLIR side only (the enum is generated from the dialect's ODS): the Halide
// kernels never include this header.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CODEGEN_WEIGHTLAYOUTS_H
#define HYBRIDC_CODEGEN_WEIGHTLAYOUTS_H

#include "hybridc/Codegen/KernelSpec.h"

#include "hybrid/HybridDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace hybridc::codegen {

/// How a layout's values are arranged (which packer writes them).
enum class WeightShape {
  Plain,   // values in the checkpoint's order (packPlain)
  Linear,  // one matrix in the linear kernels' blocks (packLinear, packLinearScales)
  Experts, // a layer's expert matrices interleaved by block (packExperts, packExpertScales)
};

/// What one layout stores in a model of weight type `modelType` whose
/// matrices are packed as `modelPacking` (linearPacking of its target).
struct StoredWeight {
  WeightShape shape = WeightShape::Plain;
  WeightType element = WeightType::F32; // the values' type (scales: of the matrix they scale)
  LinearPacking packing;                // Linear / Experts: the blocks the bytes follow
  bool scales = false;                  // the f32 block scales of a matrix, not its values
};
StoredWeight storedWeight(hybrid::WeightLayout layout, WeightType modelType,
                          const LinearPacking &modelPacking);

/// The element type alone (it does not depend on the packing).
WeightType storedElement(hybrid::WeightLayout layout, WeightType modelType);

/// The dialect's weight type (hybrid.weight_packing, #hybrid.kernel, the
/// lowering's weight-type option) and the kernels' one: the same values.
WeightType weightTypeOf(hybrid::WeightType type);
hybrid::WeightType weightTypeAttrOf(WeightType type);

/// One entry of the packed weights, as hybrid.weight_plan records it.
struct PackedWeight {
  std::string tensor;
  hybrid::WeightLayout layout = hybrid::WeightLayout::f32;
  int64_t offset = 0, bytes = 0;
};

/// hybrid.weight_plan (hybrid::kWeightPlanAttr) written (by the lowering)
/// and read back (by the compiler, from a module that may have been edited:
/// a wrong entry is an error naming it).
mlir::ArrayAttr writeWeightPlan(mlir::MLIRContext *context, const std::vector<PackedWeight> &plan);
llvm::Expected<std::vector<PackedWeight>> readWeightPlan(mlir::ModuleOp module);

} // namespace hybridc::codegen

#endif // HYBRIDC_CODEGEN_WEIGHTLAYOUTS_H
