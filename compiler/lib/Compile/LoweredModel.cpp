//===- LoweredModel.cpp - what the lowering decided, read once -----------===//
#include "LoweredModel.h"

#include "hybridc/Codegen/WeightLayouts.h"
#include "hybridc/Support/Error.h"

#include "hybrid/HybridDialect.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace hybridc;
using namespace mlir;

namespace {
constexpr const char *kNotLowered = " (it was not lowered by hybrid-lower-to-kernels)";
} // namespace

llvm::Expected<LoweredModel> hybridc::readLoweredModel(ModuleOp module,
                                                       codegen::WeightType expectedType,
                                                       const codegen::LinearPacking &expected) {
  LoweredModel m;
  llvm::Expected<std::vector<KernelJob>> kernels = collectKernels(module);
  if (!kernels)
    return kernels.takeError();
  m.kernels = std::move(*kernels);
  if (!module->hasAttr(hybrid::kWeightPlanAttr))
    return makeError(llvm::Twine("the module has no ") + hybrid::kWeightPlanAttr +
                     " attribute" + kNotLowered);
  llvm::Expected<std::vector<PackedWeight>> plan = codegen::readWeightPlan(module);
  if (!plan)
    return plan.takeError();
  m.plan = std::move(*plan);

  auto packing = module->getAttrOfType<hybrid::WeightPackingAttr>(hybrid::kWeightPackingAttr);
  if (!packing)
    return makeError(llvm::Twine("the module has no ") + hybrid::kWeightPackingAttr +
                     " attribute" + kNotLowered);
  m.weightType = codegen::weightTypeOf(packing.getWeightType());
  if (m.weightType != expectedType || packing.getLanes() != expected.lanes ||
      packing.getInputGroup() != expected.group)
    return makeError(llvm::Twine("the module was lowered for ") +
                     codegen::weightTypeName(m.weightType) + " weights packed " +
                     std::to_string(packing.getLanes()) + " lanes x " +
                     std::to_string(packing.getInputGroup()) + ", but this compile packs " +
                     codegen::weightTypeName(expectedType) + " weights " +
                     std::to_string(expected.lanes) + " lanes x " +
                     std::to_string(expected.group) + " (its target and weights dtype)");
  m.packing = expected;
  if (auto suffix = module->getAttrOfType<StringAttr>("hybrid.symbol_suffix"))
    m.symbolSuffix = suffix.str();

  auto sizes = module->getAttrOfType<hybrid::MemoryPlanAttr>(hybrid::kMemoryPlanAttr);
  if (!sizes)
    return makeError(llvm::Twine("the module has no ") + hybrid::kMemoryPlanAttr + " attribute" +
                     kNotLowered);
  m.memory.weightsBytes = sizes.getWeightsBytes();
  m.memory.stateBytes = sizes.getStateBytes();
  m.memory.kvSegments = sizes.getKvSegments();
  m.memory.kvRowBytes = sizes.getKvRowBytes();
  m.memory.maxChunkTokens = sizes.getMaxChunkTokens();
  m.memory.workspaceFixedBytes = sizes.getWorkspaceFixedBytes();
  m.memory.workspaceBytesPerToken = sizes.getWorkspaceBytesPerToken();
  // The KV cache's element type and row shape (none without attention).
  auto kv = module->getAttrOfType<hybrid::KvCacheAttr>("hybrid.kv_cache");
  if (!kv && m.memory.kvSegments > 0)
    return makeError(llvm::Twine("the module has no hybrid.kv_cache attribute") + kNotLowered);
  if (kv) {
    m.memory.kvDtype = static_cast<int32_t>(kv.getDtype());
    m.memory.kvHeads = kv.getKvHeads();
    m.memory.kvHeadDim = kv.getHeadDim();
    const int64_t row = hybridc_kv_row_bytes(m.memory.kvDtype, m.memory.kvHeadDim);
    if (row != m.memory.kvRowBytes || m.memory.kvSegments % (2 * m.memory.kvHeads) != 0)
      return makeError("the memory plan's kv_row_bytes (" + std::to_string(m.memory.kvRowBytes) +
                       ") and kv_segments (" + std::to_string(m.memory.kvSegments) +
                       ") do not fit hybrid.kv_cache's rows of " +
                       std::to_string(m.memory.kvHeads) + " heads of " +
                       std::to_string(m.memory.kvHeadDim) + " " +
                       hybridc_kv_dtype_name(m.memory.kvDtype) + " (" + std::to_string(row) +
                       " bytes a head, K and V segments per head)");
  }
  return m;
}
