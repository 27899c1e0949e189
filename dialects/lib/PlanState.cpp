//===- PlanState.cpp - hybrid-plan-state ----------------------------------===//
//
// The runtime allocates each session's recurrent state up front (conv + SSM
// state, one blob) and grows the KV caches per token (one segment each).
// This pass is the one planner of that layout: each fixed state's size and
// offset in the blob, each KV cache's first segment (one per kv head) and
// bytes per token (in the element type its attention keeps, kv_layout.h),
// and the totals.
// hybrid-lower-to-kernels places the state where it says, and the compiler
// reports the sizes.
//
//===----------------------------------------------------------------------===//
#include "hybrid/HybridDialect.h"
#include "hybrid/HybridOps.h"
#include "hybrid/HybridPasses.h"

#include "hybridc/kv_layout.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/MathExtras.h"

namespace hybrid {
#define GEN_PASS_DEF_HYBRIDPLANSTATE
#include "hybrid/HybridPasses.h.inc"
} // namespace hybrid

using namespace mlir;

namespace {

constexpr StringLiteral kStateAttr = "hybrid.state";
constexpr StringLiteral kStateBytesAttr = "hybrid.state_bytes";
constexpr StringLiteral kStateOffsetAttr = "hybrid.state_offset";
constexpr StringLiteral kKvSegmentAttr = "hybrid.kv_segment";
constexpr StringLiteral kBytesPerTokenAttr = "hybrid.bytes_per_token";
constexpr StringLiteral kFixedBytesAttr = "hybrid.fixed_state_bytes";
constexpr StringLiteral kKvBytesAttr = "hybrid.kv_bytes_per_token";

// The recurrent state is kept in f32 (docs/model.md).
constexpr int64_t kElementBytes = 4;

/// How the attention that appends to KV cache `cache` stores it (f32 for a
/// cache no attention reads).
hybrid::KvDtype kvDtypeOf(Value cache) {
  for (Operation *user : cache.getUsers())
    if (auto attention = dyn_cast<hybrid::AttentionOp>(user))
      return attention.getKvDtype();
  return hybrid::KvDtype::f32;
}
// Each fixed state starts on a cache line of the blob.
constexpr int64_t kStateAlign = 64;

struct PlanStatePass : hybrid::impl::HybridPlanStateBase<PlanStatePass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (failed(planFunction(func)))
        return signalPassFailure();
  }

  LogicalResult planFunction(func::FuncOp func) {
    Builder builder(func.getContext());
    int64_t fixedBytes = 0, kvBytesPerToken = 0, kvSegments = 0;
    bool hasState = false;
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
      auto name = func.getArgAttrOfType<StringAttr>(i, kStateAttr);
      if (!name)
        continue;
      hasState = true;
      Type type = func.getArgument(i).getType();
      auto tensor = llvm::dyn_cast<RankedTensorType>(type);
      if (!tensor || !tensor.getElementType().isF32())
        return func.emitOpError()
               << "state argument #" << i << " (" << name
               << ") must be a ranked f32 tensor, got " << type;
      int64_t staticElements = 1, dynamicDims = 0;
      for (int64_t size : tensor.getShape()) {
        if (ShapedType::isDynamic(size))
          ++dynamicDims;
        else
          staticElements *= size;
      }
      if (dynamicDims > 1)
        return func.emitOpError()
               << "state argument #" << i << " (" << name
               << ") may have at most one dynamic dimension (the KV cache "
                  "length), got "
               << type;
      int64_t bytes = staticElements * kElementBytes;
      if (dynamicDims == 1) {
        if (tensor.getRank() != 3 || !tensor.isDynamicDim(1))
          return func.emitOpError()
                 << "state argument #" << i << " (" << name
                 << ") is a KV cache, which must be [kv_heads, ?, head_dim], got " << type;
        bytes = tensor.getDimSize(0) *
                hybridc_kv_row_bytes(static_cast<int32_t>(kvDtypeOf(func.getArgument(i))),
                                     tensor.getDimSize(2));
      }
      if (dynamicDims == 0) {
        func.setArgAttr(i, kStateBytesAttr, builder.getI64IntegerAttr(bytes));
        func.setArgAttr(i, kStateOffsetAttr, builder.getI64IntegerAttr(fixedBytes));
        fixedBytes = llvm::alignTo(fixedBytes + bytes, kStateAlign);
      } else {
        func.setArgAttr(i, kBytesPerTokenAttr,
                        builder.getI64IntegerAttr(bytes));
        // One segment per kv head (kv_layout.h): this cache's first.
        func.setArgAttr(i, kKvSegmentAttr, builder.getI64IntegerAttr(kvSegments));
        kvSegments += tensor.getDimSize(0);
        kvBytesPerToken += bytes;
      }
    }
    if (hasState) {
      func->setAttr(kFixedBytesAttr, builder.getI64IntegerAttr(fixedBytes));
      func->setAttr(kKvBytesAttr, builder.getI64IntegerAttr(kvBytesPerToken));
    }
    return success();
  }
};

} // namespace

std::unique_ptr<Pass> hybrid::createPlanStatePass() {
  return std::make_unique<PlanStatePass>();
}
