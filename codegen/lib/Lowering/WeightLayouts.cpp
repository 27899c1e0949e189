//===- WeightLayouts.cpp - what each packed weight layout stores ----------===//
#include "hybridc/Codegen/WeightLayouts.h"

using namespace hybridc::codegen;
using hybrid::WeightLayout;

// The kernels take codegen::WeightType (no MLIR in a Halide translation
// unit); the dialect's enum has the same values.
static_assert(static_cast<int>(hybrid::WeightType::F32) == static_cast<int>(WeightType::F32) &&
                  static_cast<int>(hybrid::WeightType::BF16) == static_cast<int>(WeightType::BF16) &&
                  static_cast<int>(hybrid::WeightType::INT8) == static_cast<int>(WeightType::INT8) &&
                  static_cast<int>(hybrid::WeightType::INT4) == static_cast<int>(WeightType::INT4),
              "hybrid::WeightType and codegen::WeightType disagree");

WeightType hybridc::codegen::weightTypeOf(hybrid::WeightType type) {
  return static_cast<WeightType>(type);
}

hybrid::WeightType hybridc::codegen::weightTypeAttrOf(WeightType type) {
  return static_cast<hybrid::WeightType>(type);
}

StoredWeight hybridc::codegen::storedWeight(WeightLayout layout, WeightType modelType,
                                            const LinearPacking &modelPacking) {
  StoredWeight s;
  s.element = modelType;
  s.packing = modelPacking;
  switch (layout) {
  case WeightLayout::f32:
    s.element = WeightType::F32;
    break;
  case WeightLayout::plain:
    // The embedding table: a lookup reads one row per token, where int8 or
    // int4 blocks would buy little, so such a model keeps it in bf16.
    if (isBlockQuantized(modelType))
      s.element = WeightType::BF16;
    break;
  case WeightLayout::linear_scales:
    s.scales = true;
    [[fallthrough]];
  case WeightLayout::linear:
    s.shape = WeightShape::Linear;
    break;
  case WeightLayout::linear_int8_scales:
    s.scales = true;
    [[fallthrough]];
  case WeightLayout::linear_int8:
    // int8 blocks in an int4 model: the same blocks and scales, a byte per
    // weight.
    s.shape = WeightShape::Linear;
    s.element = WeightType::INT8;
    s.packing.groupsPerByte = 1;
    break;
  case WeightLayout::linear_f32:
    // f32 whatever the model's type: one input per lane, no scales.
    s.shape = WeightShape::Linear;
    s.element = WeightType::F32;
    s.packing = LinearPacking{modelPacking.lanes, 1};
    break;
  case WeightLayout::experts_scales:
    s.scales = true;
    [[fallthrough]];
  case WeightLayout::experts:
    s.shape = WeightShape::Experts;
    break;
  }
  return s;
}

WeightType hybridc::codegen::storedElement(WeightLayout layout, WeightType modelType) {
  return storedWeight(layout, modelType, LinearPacking{}).element;
}

mlir::ArrayAttr hybridc::codegen::writeWeightPlan(mlir::MLIRContext *context,
                                                  const std::vector<PackedWeight> &plan) {
  llvm::SmallVector<mlir::Attribute> entries;
  for (const PackedWeight &e : plan)
    entries.push_back(hybrid::WeightAttr::get(context, e.tensor, e.layout, e.offset, e.bytes));
  return mlir::ArrayAttr::get(context, entries);
}

llvm::Expected<std::vector<PackedWeight>> hybridc::codegen::readWeightPlan(mlir::ModuleOp module) {
  auto fail = [](const llvm::Twine &what) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), what.str());
  };
  auto attr = module->getAttrOfType<mlir::ArrayAttr>(hybrid::kWeightPlanAttr);
  if (!attr)
    return fail(llvm::Twine("the module has no ") + hybrid::kWeightPlanAttr + " attribute");
  std::vector<PackedWeight> plan;
  for (mlir::Attribute a : attr) {
    // The parser verified each #hybrid.weight; a module edited by hand may
    // still hold something else in the array.
    auto w = mlir::dyn_cast<hybrid::WeightAttr>(a);
    if (!w)
      return fail(llvm::Twine(hybrid::kWeightPlanAttr) + " entry " + llvm::Twine(plan.size()) +
                  " is not a #hybrid.weight<tensor, layout, offset = N, bytes = N>");
    plan.push_back({w.getTensor().str(), w.getLayout(), w.getOffset(), w.getBytes()});
  }
  return plan;
}
