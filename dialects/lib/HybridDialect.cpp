//===- HybridDialect.cpp - the hybrid dialect -----------------------------===//
#include "hybrid/HybridDialect.h"
#include "hybrid/HybridOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;

#include "hybridc/kv_layout.h"

#include "llvm/ADT/TypeSwitch.h"

#include "hybrid/HybridOpsDialect.cpp.inc"

#include "hybrid/HybridEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "hybrid/HybridAttrs.cpp.inc"

// The enum's values are the runtime's KV dtype codes (kv_layout.h).
static_assert(static_cast<int>(hybrid::KvDtype::f32) == HYBRIDC_KV_F32 &&
                  static_cast<int>(hybrid::KvDtype::bf16) == HYBRIDC_KV_BF16 &&
                  static_cast<int>(hybrid::KvDtype::int8) == HYBRIDC_KV_INT8,
              "hybrid::KvDtype and kv_layout.h disagree");

LogicalResult hybrid::KvCacheAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                          KvDtype dtype, int64_t kvHeads, int64_t headDim) {
  if (kvHeads <= 0 || headDim <= 0)
    return emitError() << "kv_cache: heads (" << kvHeads << ") and head_dim (" << headDim
                       << ") must be positive";
  return success();
}

LogicalResult hybrid::WeightAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                        llvm::StringRef tensor, WeightLayout layout,
                                        int64_t offset, int64_t bytes) {
  if (tensor.empty())
    return emitError() << "weight: the tensor name is empty";
  // The kernels read every entry with aligned vector loads.
  if (offset < 0 || offset % 64 != 0)
    return emitError() << "weight '" << tensor << "': offset " << offset
                       << " is not a non-negative multiple of 64";
  if (bytes <= 0)
    return emitError() << "weight '" << tensor << "': bytes " << bytes << " is not positive";
  return success();
}

LogicalResult hybrid::MemoryPlanAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                            int64_t weightsBytes, int64_t stateBytes,
                                            int64_t kvSegments, int64_t kvRowBytes,
                                            int64_t maxChunkTokens, int64_t workspaceFixedBytes,
                                            int64_t workspaceBytesPerToken) {
  if (weightsBytes < 0 || stateBytes < 0 || kvSegments < 0 || kvRowBytes < 0 ||
      workspaceFixedBytes < 0 || workspaceBytesPerToken < 0)
    return emitError() << "memory_plan: sizes must not be negative";
  if (maxChunkTokens <= 0)
    return emitError() << "memory_plan: max_chunk_tokens (" << maxChunkTokens
                       << ") must be positive";
  if ((kvSegments == 0) != (kvRowBytes == 0))
    return emitError() << "memory_plan: kv_segments (" << kvSegments << ") and kv_row_bytes ("
                       << kvRowBytes << ") must both be zero (no attention) or both positive";
  return success();
}

LogicalResult hybrid::WeightPackingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                               WeightType weightType, int64_t lanes,
                                               int64_t inputGroup) {
  if (lanes <= 0)
    return emitError() << "weight_packing: lanes (" << lanes << ") must be positive";
  if (inputGroup != 1 && inputGroup != 2 && inputGroup != 4)
    return emitError() << "weight_packing: input_group (" << inputGroup
                       << ") must be 1, 2 or 4";
  return success();
}

LogicalResult hybrid::KernelAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                        llvm::StringRef kind, WeightType weightType,
                                        DictionaryAttr sizes, DictionaryAttr constants,
                                        llvm::ArrayRef<Type> args) {
  if (kind.empty())
    return emitError() << "kernel: the kind is empty";
  for (NamedAttribute size : sizes)
    if (!llvm::isa<IntegerAttr>(size.getValue()))
      return emitError() << "kernel '" << kind << "': size '" << size.getName().getValue()
                         << "' is not an integer: " << size.getValue();
  for (NamedAttribute constant : constants)
    if (!llvm::isa<FloatAttr>(constant.getValue()))
      return emitError() << "kernel '" << kind << "': constant '"
                         << constant.getName().getValue() << "' is not a float: "
                         << constant.getValue();
  // What the glue can pass: a buffer of a float, bf16 or integer element
  // type, or an i32 scalar.
  for (auto [i, type] : llvm::enumerate(args)) {
    if (type.isSignlessInteger(32))
      continue;
    auto memref = llvm::dyn_cast<MemRefType>(type);
    Type element = memref ? memref.getElementType() : Type();
    if (!memref || !(element.isF32() || element.isBF16() || element.isInteger(8) ||
                     element.isInteger(32)))
      return emitError() << "kernel '" << kind << "': argument " << i << " is " << type
                         << ", not a memref of f32, bf16, 8- or 32-bit integers or an i32";
  }
  return success();
}

void hybrid::HybridDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "hybrid/HybridOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "hybrid/HybridAttrs.cpp.inc"
      >();
}

LogicalResult hybrid::HybridDialect::verifyOperationAttribute(Operation *op,
                                                              NamedAttribute attribute) {
  StringRef name = attribute.getName().getValue();
  Attribute value = attribute.getValue();
  auto wrongType = [&](StringRef expected) {
    return op->emitOpError() << "'" << name << "' must be " << expected << ", got " << value;
  };
  if (name == kWeightPlanAttr) {
    auto entries = llvm::dyn_cast<ArrayAttr>(value);
    if (!entries || !llvm::all_of(entries, llvm::IsaPred<WeightAttr>))
      return wrongType("an array of #hybrid.weight");
  } else if (name == kWeightPackingAttr) {
    if (!llvm::isa<WeightPackingAttr>(value))
      return wrongType("a #hybrid.weight_packing");
  } else if (name == kMemoryPlanAttr) {
    if (!llvm::isa<MemoryPlanAttr>(value))
      return wrongType("a #hybrid.memory_plan");
  } else if (name == kKernelAttr) {
    if (!llvm::isa<KernelAttr>(value))
      return wrongType("a #hybrid.kernel");
  }
  return success();
}

// The importer marks state arguments with `hybrid.state = "<checkpoint
// prefix>"`; state planning and the runtime's state names rely on it being a
// non-empty string, so reject anything else as early as the parser.
LogicalResult hybrid::HybridDialect::verifyRegionArgAttribute(
    Operation *op, unsigned regionIndex, unsigned argIndex,
    NamedAttribute attribute) {
  if (attribute.getName() != "hybrid.state")
    return success();
  auto name = llvm::dyn_cast<StringAttr>(attribute.getValue());
  if (!name || name.getValue().empty())
    return op->emitOpError() << "argument #" << argIndex
                             << ": 'hybrid.state' must be a non-empty string "
                                "naming the state, got "
                             << attribute.getValue();
  return success();
}
