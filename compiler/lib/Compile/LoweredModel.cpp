//===- LoweredModel.cpp - what the lowering decided, read once -----------===//
#include "LoweredModel.h"

#include "hybridc/Support/Error.h"

#include "hybrid/HybridDialect.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace hybridc;
using namespace mlir;

namespace {

constexpr const char *kNotLowered = " (it was not lowered by hybrid-lower-to-kernels)";

llvm::Error readInt(ModuleOp module, llvm::StringRef name, int64_t &out) {
  auto a = module->getAttrOfType<IntegerAttr>(name);
  if (!a)
    return makeError("the module has no integer " + name + " attribute" + kNotLowered);
  if (a.getInt() < 0)
    return makeError(name + " is negative (" + std::to_string(a.getInt()) + ")");
  out = a.getInt();
  return llvm::Error::success();
}

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

  auto type = module->getAttrOfType<StringAttr>("hybrid.weight_type");
  std::optional<codegen::WeightType> parsed =
      type ? codegen::parseWeightType(type.str()) : std::nullopt;
  if (!parsed)
    return makeError(llvm::Twine("the module's hybrid.weight_type is missing or unknown") +
                     kNotLowered);
  m.weightType = *parsed;
  int64_t lanes = 0, group = 0;
  if (llvm::Error e = readInt(module, "hybrid.lanes", lanes))
    return std::move(e);
  if (llvm::Error e = readInt(module, "hybrid.input_group", group))
    return std::move(e);
  if (m.weightType != expectedType || lanes != expected.lanes || group != expected.group)
    return makeError(llvm::Twine("the module was lowered for ") + type.getValue() +
                     " weights packed " + std::to_string(lanes) + " lanes x " +
                     std::to_string(group) + ", but this compile packs " +
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
