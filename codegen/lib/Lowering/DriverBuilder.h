//===- DriverBuilder.h - the lowering's shared pieces -----------*- C++ -*-===//
//
// Private to codegen/lib/Lowering: what hybrid-lower-to-kernels' files share.
//   LowerToKernels.cpp     the pass: options, @forward's checks, the drivers
//   ForwardSignature.cpp   what @forward must look like to be lowered
//   MemoryPlan.cpp         the weight plan, the state layout, the workspace
//   KernelDeclarations.cpp one declaration per distinct kernel
//   DriverBuilder.cpp      one driver function: arguments, views, calls
//   LowerOps.cpp           each hybrid op as kernel calls
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_LOWERING_DRIVERBUILDER_H
#define HYBRIDC_LOWERING_DRIVERBUILDER_H

#include "WorkspacePlanner.h"

#include "hybridc/Codegen/KernelSpec.h"
#include "hybridc/Codegen/WeightLayouts.h"

#include "hybrid/HybridOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <map>
#include <string>
#include <vector>

namespace hybridc::lowering {

using namespace mlir;

constexpr int64_t kDyn = ShapedType::kDynamic;

// Argument positions of the prefill and decode drivers.
enum DriverArg {
  kCtx, kTokens, kWeights, kStateIn, kStateOut, kKv, kKvCapacity, kPast,
  kWorkspace, kLogits, kLogitsFrom, kNumDriverArgs,
  kStreams // the batch driver's stream table (its argument 3)
};
// The batch driver's arguments, in order.
constexpr DriverArg kBatchDriverArgs[] = {kCtx, kTokens, kWeights, kStreams, kWorkspace,
                                          kLogits};

enum class DriverKind { Prefill, Decode, DecodeBatch };

inline int64_t product(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

inline int64_t alignTo(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

/// Where the packed weights live: one entry per (tensor, layout), each at a
/// 64-byte aligned offset of the payload, in the order the drivers first
/// use them.
class WeightPlan {
public:
  struct Entry {
    codegen::PackedWeight packed;
    SmallVector<int64_t> viewShape;
  };

  /// The entry of (tensor, layout), placed at the end of the payload the
  /// first time it is asked for.
  const Entry &get(StringRef tensor, hybrid::WeightLayout layout, ArrayRef<int64_t> viewShape,
                   Type elem);
  /// The plan as the module attribute `hybrid.weight_plan`.
  ArrayAttr toAttr(MLIRContext *context) const;
  int64_t totalBytes() const { return size; }

private:
  std::vector<Entry> entries;
  llvm::StringMap<size_t> index;
  int64_t size = 0;
};

/// Describes one kernel to generate; identical descriptions share a
/// declaration (and so one compiled function) across layers.
struct KernelDesc {
  std::string kind;
  std::vector<std::pair<std::string, int64_t>> sizes;
  std::vector<std::pair<std::string, double>> constants;
  bool usesWeightType = false;
  // When usesWeightType: this type instead of the model's.
  std::optional<codegen::WeightType> weightType;
};

/// Module-wide state of the lowering: weight plan, kernels, state layout.
struct LoweringContext {
  ModuleOp module;
  func::FuncOp forward;
  codegen::WeightType weightType = codegen::WeightType::F32;
  codegen::LinearPacking packing; // of every linear and expert weight
  int64_t chunkTokens;   // the scan kernel's chunk
  int64_t prefillTokens; // the largest prefill call, a multiple of neither
  std::string symbolSuffix; // ends every driver and kernel symbol
  WeightPlan weights;
  llvm::StringMap<func::FuncOp> kernels;
  SmallVector<func::FuncOp> kernelOrder; // creation order
  std::map<std::string, int> kernelCounts;
  // Per @forward state argument (index = argument number - 1).
  SmallVector<int64_t> stateOffset; // byte offset in the state blob, -1 for KV
  SmallVector<int64_t> kvSegment;   // KV segment, -1 for fixed state
  int64_t stateBytes = 0;
  int64_t kvSegments = 0;
  int64_t kvRowBytes = 0;
  // Every attention layer's cache: element type, [kv heads][head dim] rows
  // (0 heads without attention).
  hybrid::KvDtype kvDtype = hybrid::KvDtype::f32;
  int64_t kvHeads = 0, kvHeadDim = 0;
  int64_t workspaceRowBytes = 0;
  int64_t workspaceFixedBytes = 0;

  func::FuncOp kernel(OpBuilder &b, const KernelDesc &desc, TypeRange argTypes);
};

/// Where prefill's MoE grouping keeps its rows: past the planned workspace,
/// each array at T * perToken + fixed elements (4 bytes each), both parts
/// multiples of 16 so every array starts 64-byte aligned. Its row capacity
/// is T*K + E*(tile-1), what the grouping can use at most.
struct MoEScratch {
  struct Slot {
    int64_t perToken = 0, fixed = 0;
  };
  Slot y, rowToken, rowGate, tileExpert, rowOf, cursor;
  int64_t perToken = 0, fixed = 0; // the whole region

  MoEScratch(int64_t E, int64_t K, int64_t H, int64_t tile);
};

/// Emits one driver function (prefill, decode or decode_batch) from @forward.
class DriverBuilder {
public:
  DriverBuilder(LoweringContext &lc, DriverKind kind)
      : lc(lc), decode(kind == DriverKind::Decode),
        steps(kind != DriverKind::Prefill), batch(kind == DriverKind::DecodeBatch) {}
  LogicalResult build(OpBuilder &b, StringRef name);

private:
  // --- planning (MemoryPlan.cpp) --------------------------------------------
  void planWorkspace();

  // --- emission helpers -----------------------------------------------------
  Value idx(int64_t v) { return b->create<arith::ConstantIndexOp>(loc, v); }
  Value arg(DriverArg a);
  /// Emits `body(i)` in a loop over the batch's streams with `stream` set
  /// to stream i's state and KV cache.
  void forEachStream(function_ref<void(Value)> body);
  /// A memref<?xi8> of `bytes` bytes at the address `address` (i64).
  Value bytesAt(Value address, Value bytes);
  MemRefType dynamicType(MemRefType t) {
    return MemRefType::get(SmallVector<int64_t>(t.getRank(), kDyn), t.getElementType(),
                           StridedLayoutAttr::get(t.getContext(), kDyn,
                                                  SmallVector<int64_t>(t.getRank(), kDyn)));
  }
  /// A [T][width] view of the workspace for planner buffer `id`.
  Value workspaceView(int id, int64_t width, Type elem);
  /// A view of `slot` of the MoE scratch past the planned workspace:
  /// [rows] when width is 0, else [rows][width].
  Value scratchView(MoEScratch::Slot slot, Value rows, int64_t width, Type elem);
  /// The byte offset of `slot` past the planned workspace (T * perToken + fixed).
  Value scratchOffset(MoEScratch::Slot slot);
  /// What `layout` stores in this model (codegen::storedWeight).
  codegen::StoredWeight stored(hybrid::WeightLayout layout) const {
    return codegen::storedWeight(layout, lc.weightType, lc.packing);
  }
  /// The view of one weight-plan entry, in the element type its layout
  /// stores.
  Value weightView(StringRef tensor, hybrid::WeightLayout layout, ArrayRef<int64_t> shape);
  /// A weight used as the matrix of a `linear` kernel: [OUT, IN] packed.
  /// A packed matrix and, for int8 / int4 weights, its scales (null
  /// otherwise); `type`: the weight type of its kernel when it is not the
  /// model's ("int8" for a matrix an int4 model keeps in 8 bits).
  struct Matrix {
    Value w, scales;
    std::optional<codegen::WeightType> type; // when not the model's
  };
  /// Appends the matrix's kernel arguments (the weight, then its scales).
  static void append(SmallVectorImpl<Value> &args, const Matrix &m) {
    args.push_back(m.w);
    if (m.scales)
      args.push_back(m.scales);
  }
  Matrix linearWeight(Value weightRef, int64_t &out, int64_t &in, bool alwaysF32 = false);
  /// The experts' matrices [E][out][in], block-major across experts.
  Matrix expertWeights(Value weightRef, int64_t E, int64_t out, int64_t in);
  Value plainF32(Value weightRef);
  Value stateView(Value stateArg, bool output);
  /// The stream's KV cache `cacheArg` (a segment per kv head) as [kv head]
  /// [blocks][elements of one block] of `elem` (kv_layout.h): the views a
  /// kernel reads or writes.
  Value kvView(Value cacheArg, Type elem);
  Value rows(Value matrix, Value first, Value count);
  /// Rows per tile of the grouped MoE kernel.
  int64_t moeTile() const { return batch ? codegen::kMoeBatchTileRows : codegen::kMoeTileRows; }
  void call(const KernelDesc &desc, ArrayRef<Value> args);
  StringRef weightName(Value weightRef) {
    return cast<hybrid::WeightRefOp>(weightRef.getDefiningOp()).getWeight();
  }
  Value bufferOf(Value v) { return buffers.lookup(v); }
  /// The memref an op's result `v` is written into.
  Value resultBuffer(Value v, Type elem = {});

  // --- op lowering (LowerOps.cpp): one method per op ----------------------
  LogicalResult lower(Operation *op);
  LogicalResult lowerEmbed(hybrid::EmbedOp op);
  LogicalResult lowerRMSNorm(hybrid::RMSNormOp op);
  LogicalResult lowerSplit(hybrid::SplitOp op);
  LogicalResult lowerConv(hybrid::CausalConv1dOp op);
  LogicalResult lowerGatedRMSNorm(hybrid::GatedRMSNormOp op);
  LogicalResult lowerAdd(Operation *op); // hybrid.add and hybrid.residual_add
  void lowerLinear(hybrid::LinearOp op);
  void lowerMoE(hybrid::MoEOp op);
  void lowerGroupedExperts(hybrid::MoEOp op, Value ids, Value gates, const Matrix &win,
                           const Matrix &wout,
                           Value out);
  void lowerSwiGLU(hybrid::SwiGLUMLPOp op);
  void lowerLMHead(hybrid::LMHeadOp op);
  LogicalResult lowerSSMScan(hybrid::SSMScanOp op);
  LogicalResult lowerAttention(hybrid::AttentionOp op);

  LoweringContext &lc;
  bool decode; // token-wise ops see one row (GEMV kernels)
  bool steps;  // conv, scan and attention advance one token per stream
  bool batch;  // several streams, each with its own state and KV cache
  /// The state and KV cache the per-stream ops use: the driver's arguments,
  /// or in the batch driver the current stream's, inside forEachStream.
  struct Stream {
    Value stateIn, stateOut, kv, kvCapacity, past;
  } stream;
  OpBuilder *b = nullptr;
  Location loc = UnknownLoc();
  func::FuncOp fn;
  Value tokenCount;
  DenseMap<Value, Value> buffers; // @forward value -> memref
  WorkspacePlanner planner;
  DenseMap<Value, int> plannedValue;                  // result -> planner id
  std::map<std::pair<Operation *, int>, int> plannedTemp; // (op, n) -> planner id
  int64_t scratchPerToken = 0, scratchFixed = 0; // MoE scratch, elements
  // A prefill longer than one scan chunk carries the SSM state from one
  // chunk's call to the next through this many floats past the MoE scratch.
  int64_t scanCarryElements = 0;
};

/// Checks that @forward has the importer's form: token ids first, then
/// streaming state (static f32 conv/SSM state, or [kv, ?, head_dim] KV
/// caches) marked `hybrid.state`. Reports on `forward` and fails otherwise.
LogicalResult verifyForwardSignature(func::FuncOp forward);

/// Reads hybrid-plan-state's layout of @forward's state into `lc`: each
/// fixed state's offset in the state blob, each KV cache's segment and the
/// row size they share. Reports on `forward` and fails when it is missing.
LogicalResult readStateLayout(func::FuncOp forward, LoweringContext &lc);

} // namespace hybridc::lowering

#endif // HYBRIDC_LOWERING_DRIVERBUILDER_H
