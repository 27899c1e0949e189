//===- LowerToKernels.cpp - hybrid ops -> kernel calls on planned memory --===//
//
// The model function @forward works on tensors and threads the streaming
// state through its arguments and results. This pass writes the two driver
// functions the runtime calls (see runtime/include/hybridc/runtime_abi.h):
//
//   hybridc_prefill / hybridc_decode(ctx, tokens, weights, state_in,
//       state_out, kv, kv_capacity, past, workspace, logits, logits_from)
//   hybridc_decode_batch(ctx, tokens, weights, streams, workspace, logits)
//
// The batch driver runs one token of each of n streams (sessions): the ops
// that work token by token (norms, matmuls, MoE, lm_head) see the n tokens
// as the rows of one prefill-like call, so each weight is read once for all
// streams; the ops with per-stream state (conv, scan, attention) run in a
// loop over the streams with the state and KV cache addresses of each,
// read from the `streams` table.
//
// Every value of @forward gets a home: weights are views of the packed
// payload, state a view of state_in/state_out, K/V projections rows of the
// KV cache, the logits the caller's buffer, everything else a column range
// of the workspace chosen by WorkspacePlanner. Each op becomes calls of
// kernel functions declared in the module with a `hybrid.kernel` attribute
// saying what the code generator must compile for them.
//
//===----------------------------------------------------------------------===//
#include "MoEGrouping.h"
#include "WorkspacePlanner.h"

#include "hybridc/Codegen/KernelSpec.h"

#include "hybridc/Codegen/Passes.h"

#include "hybrid/HybridOps.h"
#include "hybridc/runtime_abi.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/ADT/bit.h"

#include <map>

namespace hybridc {
#define GEN_PASS_DEF_LOWERTOKERNELS
#include "hybridc/Codegen/Passes.h.inc"
} // namespace hybridc

using namespace mlir;
using namespace hybridc;

namespace {

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

int64_t product(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

int64_t alignTo(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

/// Where the packed weights live: one entry per (tensor, layout).
class WeightPlan {
public:
  struct Entry {
    std::string tensor, layout;
    int64_t offset, bytes;
    SmallVector<int64_t> viewShape;
    Type elem;
  };

  const Entry &get(StringRef tensor, StringRef layout, ArrayRef<int64_t> viewShape,
                   Type elem) {
    std::string key = (tensor + "|" + layout).str();
    auto it = index.find(key);
    if (it != index.end())
      return entries[it->second];
    int64_t bytes = product(viewShape) * (elem.getIntOrFloatBitWidth() / 8);
    entries.push_back({tensor.str(), layout.str(), size, bytes,
                       SmallVector<int64_t>(viewShape), elem});
    // 64-byte alignment: a cache line, and an AVX-512 vector.
    size = alignTo(size + bytes, 64);
    index[key] = entries.size() - 1;
    return entries.back();
  }

  ArrayAttr toAttr(Builder &b) const {
    SmallVector<Attribute> out;
    for (const Entry &e : entries)
      out.push_back(b.getDictionaryAttr({
          b.getNamedAttr("tensor", b.getStringAttr(e.tensor)),
          b.getNamedAttr("layout", b.getStringAttr(e.layout)),
          b.getNamedAttr("offset", b.getI64IntegerAttr(e.offset)),
          b.getNamedAttr("bytes", b.getI64IntegerAttr(e.bytes)),
      }));
    return b.getArrayAttr(out);
  }
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
  std::string weightType; // when usesWeightType: this type instead of the model's
};

/// Module-wide state of the lowering: weight plan, kernels, state layout.
struct LoweringContext {
  ModuleOp module;
  func::FuncOp forward;
  Type weightElem;
  codegen::WeightType weightType = codegen::WeightType::F32;
  std::string weightTypeName; // as weight-type spells it
  codegen::LinearPacking packing; // of every linear and expert weight
  int64_t chunkTokens;   // the scan kernel's chunk
  int64_t prefillTokens; // the largest prefill call, a multiple of neither
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
  int64_t workspaceRowBytes = 0;
  int64_t workspaceFixedBytes = 0;

  func::FuncOp kernel(OpBuilder &b, const KernelDesc &desc, TypeRange argTypes);
};

func::FuncOp LoweringContext::kernel(OpBuilder &b, const KernelDesc &desc,
                                     TypeRange argTypes) {
  std::string key = desc.kind;
  for (auto &[k, v] : desc.sizes)
    key += "," + k + "=" + std::to_string(v);
  // Constants by bit pattern: printing them would merge kernels whose
  // constants differ past the printed digits (eps 1e-6 vs 1.4e-6).
  for (auto &[k, v] : desc.constants)
    key += "," + k + "=" + std::to_string(llvm::bit_cast<uint64_t>(v));
  const std::string type =
      !desc.usesWeightType ? "f32" : desc.weightType.empty() ? weightTypeName : desc.weightType;
  key += ",w=" + type;
  auto it = kernels.find(key);
  if (it != kernels.end())
    return it->second;

  MLIRContext *ctx = module.getContext();
  SmallVector<NamedAttribute> sizes, constants;
  for (auto &[k, v] : desc.sizes)
    sizes.push_back(b.getNamedAttr(k, b.getI64IntegerAttr(v)));
  for (auto &[k, v] : desc.constants)
    constants.push_back(b.getNamedAttr(k, b.getF64FloatAttr(v)));
  // Each argument's kind for the glue's halide_buffer_t: [rank, Halide type
  // code (0 int, 1 uint, 2 float, 4 bfloat), bits]; rank -1 for an i32
  // scalar. In the description, since the LLVM lowering erases the types.
  SmallVector<Attribute> args;
  for (Type t : argTypes) {
    int64_t rank = -1, code = 0, bits = 32;
    if (auto m = dyn_cast<MemRefType>(t)) {
      Type e = m.getElementType();
      rank = m.getRank();
      bits = e.getIntOrFloatBitWidth();
      code = e.isBF16() ? 4 : isa<FloatType>(e) ? 2 : e.isUnsignedInteger() ? 1 : 0;
    }
    args.push_back(b.getDenseI64ArrayAttr({rank, code, bits}));
  }
  auto info = b.getDictionaryAttr({
      b.getNamedAttr("args", b.getArrayAttr(args)),
      b.getNamedAttr("kind", b.getStringAttr(desc.kind)),
      b.getNamedAttr("sizes", b.getDictionaryAttr(sizes)),
      b.getNamedAttr("constants", b.getDictionaryAttr(constants)),
      b.getNamedAttr("weight_type",
                     b.getStringAttr(type)),
  });
  std::string symbol = "hk_" + desc.kind + "_" + std::to_string(kernelCounts[desc.kind]++);
  SmallVector<Type> inputs{LLVM::LLVMPointerType::get(ctx)};
  inputs.append(argTypes.begin(), argTypes.end());
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  auto fn = b.create<func::FuncOp>(module.getLoc(), symbol,
                                   b.getFunctionType(inputs, TypeRange{}));
  fn.setPrivate();
  fn->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());
  fn->setAttr(kKernelAttrName, info);
  kernels[key] = fn;
  kernelOrder.push_back(fn);
  return fn;
}

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

  MoEScratch(int64_t E, int64_t K, int64_t H, int64_t tile) {
    const int64_t spare = moeGroupedRowsFixedPart(E, tile);
    auto place = [&](Slot &s, int64_t perTok, int64_t fix) {
      s = {perToken, fixed};
      perToken += alignTo(perTok, 16);
      fixed += alignTo(fix, 16);
    };
    place(y, K * H, spare * H);
    place(rowToken, K, spare);
    place(rowGate, K, spare);
    place(tileExpert, K, spare);
    place(rowOf, K, 0);
    place(cursor, 0, E);
  }
};

/// Emits one driver function (prefill, decode or decode_batch) from @forward.
class DriverBuilder {
public:
  DriverBuilder(LoweringContext &lc, DriverKind kind)
      : lc(lc), decode(kind == DriverKind::Decode),
        steps(kind != DriverKind::Prefill), batch(kind == DriverKind::DecodeBatch) {}
  LogicalResult build(OpBuilder &b, StringRef name);

private:
  // --- planning -----------------------------------------------------------
  void planWorkspace();
  /// True when `v` is a K or V projection that goes straight to the cache.
  bool feedsKvCache(Value v) const;

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
  Value weightView(StringRef tensor, StringRef layout, ArrayRef<int64_t> shape, Type elem);
  /// A weight used as the matrix of a `linear` kernel: [OUT, IN] packed.
  /// A packed matrix and, for int8 / int4 weights, its scales (null
  /// otherwise); `type`: the weight type of its kernel when it is not the
  /// model's ("int8" for a matrix an int4 model keeps in 8 bits).
  struct Matrix {
    Value w, scales;
    std::string type;
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
  Value kvSegment(Value cacheArg);
  Value rows(Value matrix, Value first, Value count);
  /// Rows per tile of the grouped MoE kernel.
  int64_t moeTile() const { return batch ? codegen::kMoeBatchTileRows : codegen::kMoeTileRows; }
  /// Copies the [1][W] row `from` into the [1][W] row `to`.
  void copyRow(Value from, Value to);
  void call(const KernelDesc &desc, ArrayRef<Value> args);
  StringRef weightName(Value weightRef) {
    return cast<hybrid::WeightRefOp>(weightRef.getDefiningOp()).getWeight();
  }
  Value bufferOf(Value v) { return buffers.lookup(v); }
  /// The memref an op's result `v` is written into.
  Value resultBuffer(Value v, Type elem = {});

  // --- op lowering --------------------------------------------------------
  LogicalResult lower(Operation *op);
  void lowerLinear(hybrid::LinearOp op);
  void lowerMoE(hybrid::MoEOp op);
  void lowerGroupedExperts(hybrid::MoEOp op, Value ids, Value gates, const Matrix &win,
                           const Matrix &wout,
                           Value out);
  void lowerSwiGLU(hybrid::SwiGLUMLPOp op);
  void lowerLMHead(hybrid::LMHeadOp op);
  void lowerSSMScan(hybrid::SSMScanOp op);
  void lowerAttention(hybrid::AttentionOp op);

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

bool DriverBuilder::feedsKvCache(Value v) const {
  // The batch driver's rows belong to different caches: they are copied
  // into them stream by stream.
  if (batch || !v.hasOneUse())
    return false;
  OpOperand &use = *v.getUses().begin();
  return isa<hybrid::AttentionOp>(use.getOwner()) &&
         (use.getOperandNumber() == 1 || use.getOperandNumber() == 2);
}

void DriverBuilder::planWorkspace() {
  Block &body = lc.forward.getBody().front();
  DenseMap<Operation *, int64_t> position;
  int64_t n = 0;
  for (Operation &op : body)
    position[&op] = n++;
  // Last use of every value; a split's slices keep their source alive.
  DenseMap<Value, int64_t> lastUse;
  for (Operation &op : body)
    for (Value operand : op.getOperands())
      lastUse[operand] = std::max(lastUse.lookup(operand), position[&op]);
  for (Operation &op : llvm::reverse(body))
    if (auto split = dyn_cast<hybrid::SplitOp>(op))
      for (Value r : split->getResults())
        lastUse[split.getInput()] =
            std::max(lastUse.lookup(split.getInput()), lastUse.lookup(r));

  auto width = [](Value v) { return cast<ShapedType>(v.getType()).getShape().back(); };
  for (Operation &op : body) {
    int64_t at = position[&op];
    auto planResult = [&](Value v) {
      plannedValue[v] = planner.add(width(v), at, lastUse.lookup(v));
    };
    auto planTemp = [&](int n, int64_t w) { plannedTemp[{&op, n}] = planner.add(w, at, at); };
    TypeSwitch<Operation *>(&op)
        .Case<hybrid::EmbedOp, hybrid::RMSNormOp, hybrid::GatedRMSNormOp, hybrid::AddOp,
              hybrid::ResidualAddOp>([&](Operation *o) { planResult(o->getResult(0)); })
        .Case<hybrid::LinearOp>([&](hybrid::LinearOp o) {
          if (!feedsKvCache(o.getResult()))
            planResult(o.getResult());
        })
        .Case<hybrid::CausalConv1dOp, hybrid::AttentionOp>(
            [&](Operation *o) { planResult(o->getResult(0)); })
        .Case<hybrid::SSMScanOp>([&](hybrid::SSMScanOp o) {
          planResult(o.getResult());
          if (!steps && lc.prefillTokens > lc.chunkTokens)
            scanCarryElements = std::max(
                scanCarryElements,
                alignTo(product(cast<ShapedType>(o.getState().getType()).getShape()), 16));
        })
        .Case<hybrid::MoEOp>([&](hybrid::MoEOp o) {
          planResult(o.getResult());
          auto wIn = cast<ShapedType>(o.getWIn().getType()).getShape();
          planTemp(0, wIn[0]);   // router logits [T][E]
          planTemp(1, o.getTopK()); // expert ids [T][K] (i32)
          planTemp(2, o.getTopK()); // gates [T][K]
          if (!decode) { // grouping rows; every MoE layer reuses one region
            MoEScratch scratch(wIn[0], o.getTopK(), wIn[2], moeTile());
            scratchPerToken = std::max(scratchPerToken, scratch.perToken);
            scratchFixed = std::max(scratchFixed, scratch.fixed);
          }
        })
        .Case<hybrid::SwiGLUMLPOp>([&](hybrid::SwiGLUMLPOp o) {
          planResult(o.getResult());
          int64_t twoS = cast<ShapedType>(o.getWIn().getType()).getShape()[0];
          planTemp(0, twoS);     // gate|up [T][2S]
          planTemp(1, twoS / 2); // silu(gate) * up [T][S]
        })
        .Case<hybrid::LMHeadOp>([&](hybrid::LMHeadOp o) {
          planTemp(0, width(o.getInput())); // normalised rows
        });
  }
  planner.plan();
}

Value DriverBuilder::workspaceView(int id, int64_t width, Type elem) {
  Value offset = b->create<arith::MulIOp>(loc, tokenCount, idx(planner.offset(id) * 4));
  auto type = MemRefType::get({kDyn, width}, elem);
  return b->create<memref::ViewOp>(loc, type, arg(kWorkspace), offset, ValueRange{tokenCount});
}

Value DriverBuilder::scratchOffset(MoEScratch::Slot slot) {
  Value perToken = idx((planner.rowElements() + slot.perToken) * 4);
  return b->create<arith::AddIOp>(loc, b->create<arith::MulIOp>(loc, tokenCount, perToken),
                                  idx(slot.fixed * 4));
}

Value DriverBuilder::scratchView(MoEScratch::Slot slot, Value rows, int64_t width, Type elem) {
  Value offset = scratchOffset(slot);
  auto type = width ? MemRefType::get({kDyn, width}, elem) : MemRefType::get({kDyn}, elem);
  return b->create<memref::ViewOp>(loc, type, arg(kWorkspace), offset, ValueRange{rows});
}

Value DriverBuilder::resultBuffer(Value v, Type elem) {
  int64_t width = cast<ShapedType>(v.getType()).getShape().back();
  Value buf = workspaceView(plannedValue.lookup(v), width,
                            elem ? elem : b->getF32Type());
  buffers[v] = buf;
  return buf;
}

Value DriverBuilder::weightView(StringRef tensor, StringRef layout, ArrayRef<int64_t> shape,
                                Type elem) {
  const WeightPlan::Entry &e = lc.weights.get(tensor, layout, shape, elem);
  auto type = MemRefType::get(e.viewShape, elem);
  return b->create<memref::ViewOp>(loc, type, arg(kWeights), idx(e.offset), ValueRange{});
}

Value DriverBuilder::plainF32(Value weightRef) {
  auto shape = cast<ShapedType>(weightRef.getType()).getShape();
  SmallVector<int64_t> view(shape);
  // The conv weight [C, 1, K] is used as [C][K].
  if (view.size() == 3 && view[1] == 1)
    view = {view[0], view[2]};
  return weightView(weightName(weightRef), "f32", view, b->getF32Type());
}

DriverBuilder::Matrix DriverBuilder::linearWeight(Value weightRef, int64_t &out, int64_t &in,
                                                  bool alwaysF32) {
  auto shape = cast<ShapedType>(weightRef.getType()).getShape();
  out = shape[0];
  in = shape[1];
  if (alwaysF32) {
    // Packed like `linear` in f32 whatever the model's weight type: inputs
    // one per lane (no bf16 pairs).
    const codegen::LinearPacking p{lc.packing.lanes, 1};
    return {weightView(weightName(weightRef), "linear_f32",
                       {p.blocks(out), p.groups(in), p.lanes, p.group}, b->getF32Type()),
            Value()};
  }
  // A matrix the importer marked hybrid.min_bits = 8 in an int4 model:
  // int8 blocks (the same scales, a byte per weight), its own layout names.
  auto decl = lc.module.lookupSymbol<hybrid::WeightOp>(weightName(weightRef));
  auto minBits = decl ? decl->getAttrOfType<IntegerAttr>(hybrid::kMinBitsAttr) : IntegerAttr();
  const bool int8 = lc.weightType == codegen::WeightType::INT4 && minBits &&
                    minBits.getInt() >= 8;
  codegen::LinearPacking p = lc.packing;
  if (int8)
    p.groupsPerByte = 1;
  Matrix m{weightView(weightName(weightRef), int8 ? "linear_int8" : "linear",
                      {p.blocks(out), p.storedGroups(in), p.lanes, p.group}, lc.weightElem),
           Value(), int8 ? "int8" : ""};
  if (p.scaleBlock)
    m.scales = weightView(weightName(weightRef), int8 ? "linear_int8_scales" : "linear_scales",
                          {p.blocks(out), p.scaleBlocks(in), p.lanes}, b->getF32Type());
  return m;
}

DriverBuilder::Matrix DriverBuilder::expertWeights(Value weightRef, int64_t E, int64_t out,
                                                   int64_t in) {
  const codegen::LinearPacking &p = lc.packing;
  Matrix m{weightView(weightName(weightRef), "experts",
                      {p.blocks(out), E, p.storedGroups(in), p.lanes, p.group}, lc.weightElem),
           Value()};
  if (p.scaleBlock)
    m.scales = weightView(weightName(weightRef), "experts_scales",
                          {p.blocks(out), E, p.scaleBlocks(in), p.lanes}, b->getF32Type());
  return m;
}

Value DriverBuilder::stateView(Value stateArg, bool output) {
  unsigned index = cast<BlockArgument>(stateArg).getArgNumber() - 1;
  auto type = MemRefType::get(cast<ShapedType>(stateArg.getType()).getShape(),
                              b->getF32Type());
  return b->create<memref::ViewOp>(loc, type, output ? stream.stateOut : stream.stateIn,
                                   idx(lc.stateOffset[index]), ValueRange{});
}

Value DriverBuilder::kvSegment(Value cacheArg) {
  unsigned index = cast<BlockArgument>(cacheArg).getArgNumber() - 1;
  Value segmentBytes =
      b->create<arith::MulIOp>(loc, stream.kvCapacity, idx(lc.kvRowBytes));
  Value offset = b->create<arith::MulIOp>(loc, segmentBytes, idx(lc.kvSegment[index]));
  auto type = MemRefType::get({kDyn, lc.kvRowBytes / 4}, b->getF32Type());
  return b->create<memref::ViewOp>(loc, type, stream.kv, offset,
                                   ValueRange{stream.kvCapacity});
}

Value DriverBuilder::arg(DriverArg a) {
  if (!batch)
    return fn.getArgument(a);
  for (auto [i, known] : llvm::enumerate(kBatchDriverArgs))
    if (known == a)
      return fn.getArgument(i);
  llvm_unreachable("the batch driver has no such argument");
}

Value DriverBuilder::bytesAt(Value address, Value bytes) {
  // The memref descriptor of a contiguous byte buffer, built in the LLVM
  // dialect; the conversion to LLVM folds the cast away.
  MLIRContext *ctx = b->getContext();
  Type ptr = LLVM::LLVMPointerType::get(ctx), i64 = b->getI64Type();
  Type dims = LLVM::LLVMArrayType::get(i64, 1);
  auto descType = LLVM::LLVMStructType::getLiteral(ctx, {ptr, ptr, i64, dims, dims});
  Value base = b->create<LLVM::IntToPtrOp>(loc, ptr, address);
  Value desc = b->create<LLVM::UndefOp>(loc, descType);
  auto i64c = [&](int64_t v) { return b->create<LLVM::ConstantOp>(loc, i64, v); };
  desc = b->create<LLVM::InsertValueOp>(loc, desc, base, ArrayRef<int64_t>{0});
  desc = b->create<LLVM::InsertValueOp>(loc, desc, base, ArrayRef<int64_t>{1});
  desc = b->create<LLVM::InsertValueOp>(loc, desc, i64c(0), ArrayRef<int64_t>{2});
  desc = b->create<LLVM::InsertValueOp>(
      loc, desc, b->create<arith::IndexCastOp>(loc, i64, bytes), ArrayRef<int64_t>{3, 0});
  desc = b->create<LLVM::InsertValueOp>(loc, desc, i64c(1), ArrayRef<int64_t>{4, 0});
  Type memref = MemRefType::get({kDyn}, b->getI8Type());
  return b->create<UnrealizedConversionCastOp>(loc, memref, desc).getResult(0);
}

void DriverBuilder::forEachStream(function_ref<void(Value)> body) {
  auto loop = b->create<scf::ForOp>(loc, idx(0), tokenCount, idx(1));
  OpBuilder::InsertionGuard guard(*b);
  b->setInsertionPointToStart(loop.getBody());
  Value i = loop.getInductionVar();
  Value first = b->create<arith::MulIOp>(loc, i, idx(HYBRIDC_STREAM_FIELDS));
  auto field = [&](int64_t f) {
    return b->create<memref::LoadOp>(loc, arg(kStreams),
                                     ValueRange{b->create<arith::AddIOp>(loc, first, idx(f))})
        .getResult();
  };
  auto index = [&](Value v) {
    return b->create<arith::IndexCastOp>(loc, b->getIndexType(), v).getResult();
  };
  Stream outer = stream;
  Value capacity = index(field(HYBRIDC_STREAM_KV_CAPACITY));
  Value kvBytes = b->create<arith::MulIOp>(loc, capacity,
                                           idx(lc.kvSegments * lc.kvRowBytes));
  stream.stateIn = bytesAt(field(HYBRIDC_STREAM_STATE_IN), idx(lc.stateBytes));
  stream.stateOut = bytesAt(field(HYBRIDC_STREAM_STATE_OUT), idx(lc.stateBytes));
  stream.kv = bytesAt(field(HYBRIDC_STREAM_KV), kvBytes);
  stream.kvCapacity = capacity;
  stream.past = index(field(HYBRIDC_STREAM_PAST));
  body(i);
  stream = outer;
}

Value DriverBuilder::rows(Value matrix, Value first, Value count) {
  auto type = cast<MemRefType>(matrix.getType());
  SmallVector<OpFoldResult> offsets{first, b->getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{count, b->getIndexAttr(type.getShape()[1])};
  SmallVector<OpFoldResult> strides{b->getIndexAttr(1), b->getIndexAttr(1)};
  return b->create<memref::SubViewOp>(loc, matrix, offsets, sizes, strides);
}

void DriverBuilder::call(const KernelDesc &desc, ArrayRef<Value> args) {
  SmallVector<Value> operands{arg(kCtx)};
  SmallVector<Type> types;
  for (Value a : args) {
    if (auto m = dyn_cast<MemRefType>(a.getType())) {
      MemRefType dyn = dynamicType(m);
      if (dyn != m)
        a = b->create<memref::CastOp>(loc, dyn, a);
    }
    operands.push_back(a);
    types.push_back(a.getType());
  }
  func::FuncOp kernel = lc.kernel(*b, desc, types);
  b->create<func::CallOp>(loc, kernel, operands);
}

void DriverBuilder::lowerLinear(hybrid::LinearOp op) {
  int64_t out, in;
  Matrix w = linearWeight(op.getWeight(), out, in);
  Value dest;
  if (feedsKvCache(op.getResult())) {
    // K (operand 1) and V (operand 2) of an attention op are appended to its
    // caches (operands 3 and 4) at positions past .. past+T-1.
    OpOperand &use = *op.getResult().getUses().begin();
    Value cache = use.getOwner()->getOperand(use.getOperandNumber() + 2);
    dest = rows(kvSegment(cache), arg(kPast), tokenCount);
  } else {
    dest = resultBuffer(op.getResult());
  }
  buffers[op.getResult()] = dest;
  KernelDesc d{"linear",
               {{"IN", in}, {"OUT", out}, {"has_bias", op.getBias() ? 1 : 0},
                {"decode", decode ? 1 : 0}},
               {},
               true,
               w.type};
  SmallVector<Value> args{bufferOf(op.getInput())};
  append(args, w);
  if (op.getBias())
    args.push_back(plainF32(op.getBias()));
  args.push_back(dest);
  call(d, args);
}

void DriverBuilder::lowerMoE(hybrid::MoEOp op) {
  auto wIn = cast<ShapedType>(op.getWIn().getType()).getShape();   // [E, 2I, H]
  int64_t E = wIn[0], twoI = wIn[1], H = wIn[2], I = twoI / 2, K = op.getTopK();
  int64_t routerOut, routerIn;
  // The router stays f32 (weights and inputs) whatever the weight type: its
  // top-K is a discontinuous choice, and rounding its operands moves near
  // ties across it (llama.cpp keeps it f32 for the same reason). It is E x H,
  // a fraction of a percent of the layer's weights.
  Value router = linearWeight(op.getRouter(), routerOut, routerIn, /*alwaysF32=*/true).w;
  Value logits = workspaceView(plannedTemp[{op.getOperation(), 0}], E, b->getF32Type());
  call({"linear", {{"IN", H}, {"OUT", E}, {"has_bias", 0}, {"decode", decode ? 1 : 0}}, {}, false},
       {bufferOf(op.getInput()), router, logits});
  Value ids = workspaceView(plannedTemp[{op.getOperation(), 1}], K, b->getI32Type());
  Value gates = workspaceView(plannedTemp[{op.getOperation(), 2}], K, b->getF32Type());
  call({"moe_router", {{"E", E}, {"K", K}}, {}, false}, {logits, ids, gates});
  Matrix win = expertWeights(op.getWIn(), E, twoI, H);
  Matrix wout = expertWeights(op.getWOut(), E, H, I);
  Value out = resultBuffer(op.getResult());
  if (!decode)
    return lowerGroupedExperts(op, ids, gates, win, wout, out);
  SmallVector<Value> args{bufferOf(op.getInput()), ids, gates};
  append(args, win);
  append(args, wout);
  args.push_back(out);
  call({"moe_experts", {{"H", H}, {"I", I}, {"E", E}, {"K", K}}, {}, true}, args);
}

void DriverBuilder::lowerGroupedExperts(hybrid::MoEOp op, Value ids, Value gates,
                                        const Matrix &win, const Matrix &wout, Value out) {
  auto wIn = cast<ShapedType>(op.getWIn().getType()).getShape(); // [E, 2I, H]
  int64_t E = wIn[0], H = wIn[2], I = wIn[1] / 2, K = op.getTopK();
  const int64_t tile = moeTile();
  MoEScratch scratch(E, K, H, tile);
  Type i32 = b->getI32Type(), f32 = b->getF32Type();
  Value capacity = b->create<arith::AddIOp>(
      loc, b->create<arith::MulIOp>(loc, tokenCount, idx(K)),
      idx(moeGroupedRowsFixedPart(E, tile)));
  MoEGroupingBuffers bufs;
  bufs.ids = ids;
  bufs.gates = gates;
  bufs.cursor = scratchView(scratch.cursor, idx(E), 0, i32);
  bufs.rowToken = scratchView(scratch.rowToken, capacity, 0, i32);
  bufs.rowGate = scratchView(scratch.rowGate, capacity, 0, f32);
  bufs.tileExpert = scratchView(scratch.tileExpert, capacity, 0, i32);
  bufs.rowOf = scratchView(scratch.rowOf, tokenCount, K, i32);
  Value rows = emitMoEGrouping(*b, loc, tokenCount, E, K, tile, bufs);

  auto prefix = [&](Value v, Value n) {
    return b->create<memref::SubViewOp>(loc, v, SmallVector<OpFoldResult>{b->getIndexAttr(0)},
                                        SmallVector<OpFoldResult>{n},
                                        SmallVector<OpFoldResult>{b->getIndexAttr(1)});
  };
  Value tiles = b->create<arith::DivUIOp>(loc, rows, idx(tile));
  Value y = scratchView(scratch.y, rows, H, f32);
  SmallVector<Value> args{bufferOf(op.getInput()), prefix(bufs.rowToken, rows),
                          prefix(bufs.rowGate, rows), prefix(bufs.tileExpert, tiles)};
  append(args, win);
  append(args, wout);
  args.push_back(y);
  call({"moe_expert_tiles", {{"H", H}, {"I", I}, {"E", E}, {"TILE", tile}}, {}, true}, args);
  call({"moe_combine", {{"H", H}, {"K", K}}, {}, false}, {y, bufs.rowOf, out});
}

void DriverBuilder::lowerSwiGLU(hybrid::SwiGLUMLPOp op) {
  int64_t twoS, H, outH, S;
  Matrix win = linearWeight(op.getWIn(), twoS, H);
  Matrix wout = linearWeight(op.getWOut(), outH, S);
  Value u = workspaceView(plannedTemp[{op.getOperation(), 0}], twoS, b->getF32Type());
  Value h = workspaceView(plannedTemp[{op.getOperation(), 1}], S, b->getF32Type());
  Value out = resultBuffer(op.getResult());
  int64_t dec = decode ? 1 : 0;
  SmallVector<Value> up{bufferOf(op.getInput())}, down{h};
  append(up, win);
  up.push_back(u);
  append(down, wout);
  down.push_back(out);
  call({"linear", {{"IN", H}, {"OUT", twoS}, {"has_bias", 0}, {"decode", dec}}, {}, true, win.type},
       up);
  call({"swiglu", {{"S", S}}, {}, false}, {u, h});
  call({"linear", {{"IN", S}, {"OUT", outH}, {"has_bias", 0}, {"decode", dec}}, {}, true,
        wout.type},
       down);
}

void DriverBuilder::lowerLMHead(hybrid::LMHeadOp op) {
  // Only rows logits_from .. T-1 are computed (usually just the last one);
  // every stream's in the batch driver.
  Value from = batch ? idx(0) : arg(kLogitsFrom);
  Value any = b->create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, from, tokenCount);
  auto ifOp = b->create<scf::IfOp>(loc, any, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(*b);
  b->setInsertionPointToStart(&ifOp.getThenRegion().front());
  Value count = b->create<arith::SubIOp>(loc, tokenCount, from);
  int64_t vocab, H;
  Matrix w = linearWeight(op.getWeight(), vocab, H);
  Value x = rows(bufferOf(op.getInput()), from, count);
  Value normAll = workspaceView(plannedTemp[{op.getOperation(), 0}], H, b->getF32Type());
  Value normed = b->create<memref::SubViewOp>(
      loc, normAll, SmallVector<OpFoldResult>{b->getIndexAttr(0), b->getIndexAttr(0)},
      SmallVector<OpFoldResult>{count, b->getIndexAttr(H)},
      SmallVector<OpFoldResult>{b->getIndexAttr(1), b->getIndexAttr(1)});
  call({"rms_norm", {{"H", H}}, {{"eps", op.getEps().convertToDouble()}, {"scale", 1.0}},
        false},
       {x, plainF32(op.getNormWeight()), normed});
  auto logitsType = MemRefType::get({kDyn, vocab}, b->getF32Type());
  Value logits = b->create<memref::ViewOp>(loc, logitsType, arg(kLogits), idx(0),
                                           ValueRange{count});
  double scale = 1.0 / op.getLogitsScaling().convertToDouble();
  SmallVector<Value> args{normed};
  append(args, w);
  args.push_back(logits);
  call({"linear", {{"IN", H}, {"OUT", vocab}, {"has_bias", 0}, {"decode", decode ? 1 : 0}},
        {{"scale", scale}}, true, w.type},
       args);
}

void DriverBuilder::lowerSSMScan(hybrid::SSMScanOp op) {
  auto stateShape = cast<ShapedType>(op.getState().getType()).getShape(); // [NH, P, N]
  int64_t NH = stateShape[0], P = stateShape[1], N = stateShape[2], G = op.getNumGroups();
  std::vector<std::pair<std::string, double>> constants{
      {"dt_min", op.getDtMin() ? op.getDtMin()->convertToDouble() : 0.0},
      {"dt_max", op.getDtMax() ? op.getDtMax()->convertToDouble()
                               : std::numeric_limits<double>::infinity()}};
  std::vector<std::pair<std::string, int64_t>> sizes{
      {"NH", NH}, {"P", P}, {"N", N}, {"G", G}};
  if (!steps)
    sizes.push_back({"Q", lc.chunkTokens});
  Value y = resultBuffer(op.getResult());
  KernelDesc desc{steps ? "ssm_step" : "ssm_chunk", sizes, constants, false};
  SmallVector<Value> in{bufferOf(op.getInput()), bufferOf(op.getDt()), bufferOf(op.getB()),
                        bufferOf(op.getC())};
  SmallVector<Value> params{plainF32(op.getALog()), plainF32(op.getD()),
                            plainF32(op.getDtBias())};
  if (batch)
    return forEachStream([&](Value i) {
      SmallVector<Value> args;
      for (Value v : in)
        args.push_back(rows(v, i, idx(1)));
      args.append(params);
      args.append({stateView(op.getState(), false), rows(y, i, idx(1)),
                   stateView(op.getState(), true)});
      call(desc, args);
    });
  Value stateIn = stateView(op.getState(), false);
  Value stateOut = stateView(op.getState(), /*output=*/true);
  buffers[op.getNewState()] = stateOut;
  const int64_t chunks = steps ? 1 : (lc.prefillTokens + lc.chunkTokens - 1) / lc.chunkTokens;
  if (chunks == 1) {
    SmallVector<Value> args(in);
    args.append(params);
    args.append({stateIn, y, stateOut});
    return call(desc, args);
  }

  // One kernel call per scan chunk of the prefill: chunk c (if T reaches
  // it) takes rows [cQ, min(T, (c+1)Q)) and continues from the state the
  // previous chunk left in `carry` (a copy of state_out: the kernel must not
  // read and write one buffer).
  // The carry lies past the MoE scratch (offsets in elements).
  Value carryOffset = scratchOffset({scratchPerToken, scratchFixed});
  Value carry = b->create<memref::ViewOp>(
      loc, MemRefType::get(stateShape, b->getF32Type()), arg(kWorkspace), carryOffset,
      ValueRange{});
  for (int64_t c = 0; c < chunks; ++c) {
    Value first = idx(c * lc.chunkTokens);
    Value reached = b->create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, first, tokenCount);
    auto ifOp = b->create<scf::IfOp>(loc, reached, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(*b);
    b->setInsertionPointToStart(&ifOp.getThenRegion().front());
    Value count = b->create<arith::MinUIOp>(
        loc, b->create<arith::SubIOp>(loc, tokenCount, first), idx(lc.chunkTokens));
    SmallVector<Value> args;
    for (Value v : in)
      args.push_back(rows(v, first, count));
    args.append(params);
    args.append({c == 0 ? stateIn : carry, rows(y, first, count), stateOut});
    call(desc, args);
    if (c + 1 < chunks)
      b->create<memref::CopyOp>(loc, stateOut, carry);
  }
}

void DriverBuilder::lowerAttention(hybrid::AttentionOp op) {
  auto cache = cast<ShapedType>(op.getKCache().getType()).getShape(); // [KV, ?, HD]
  int64_t KV = cache[0], HD = cache[2], heads = op.getNumHeads();
  Value out = resultBuffer(op.getResult());
  // Prefill multiplies in bf16 where the model's matmuls do (bf16 weights
  // in vdpbf16ps pairs): the same rounding of the activations, twice the
  // multiply-adds per instruction. Decode reads each key once and stays f32.
  const bool bf16 = !steps && lc.weightType == codegen::WeightType::BF16 && lc.packing.group == 2;
  KernelDesc desc{"attention",
                  {{"HEADS", heads},
                   {"KV", KV},
                   {"HD", HD},
                   {"decode", steps ? 1 : 0},
                   {"bf16", bf16 ? 1 : 0}},
                  {{"scale", op.getScale().convertToDouble()}},
                  false};
  // Attends over the stream's cache rows [0, past + count).
  auto attend = [&](Value q, Value count, Value o) {
    Value seen = b->create<arith::AddIOp>(loc, stream.past, count);
    Value k = rows(kvSegment(op.getKCache()), idx(0), seen);
    Value v = rows(kvSegment(op.getVCache()), idx(0), seen);
    Value past = b->create<arith::IndexCastOp>(loc, b->getI32Type(), stream.past);
    call(desc, {q, k, v, past, o});
  };
  if (!batch)
    return attend(bufferOf(op.getQ()), tokenCount, out);
  forEachStream([&](Value i) {
    // Stream i's K and V rows go to row `past` of its own caches first.
    for (auto [proj, cache] : {std::pair(op.getK(), op.getKCache()),
                               std::pair(op.getV(), op.getVCache())})
      copyRow(rows(bufferOf(proj), i, idx(1)), rows(kvSegment(cache), stream.past, idx(1)));
    attend(rows(bufferOf(op.getQ()), i, idx(1)), idx(1), rows(out, i, idx(1)));
  });
}

void DriverBuilder::copyRow(Value from, Value to) {
  // A KV row is a few hundred floats: a plain loop, which LLVM vectorizes.
  int64_t width = cast<MemRefType>(from.getType()).getShape()[1];
  auto loop = b->create<scf::ForOp>(loc, idx(0), idx(width), idx(1));
  OpBuilder::InsertionGuard guard(*b);
  b->setInsertionPointToStart(loop.getBody());
  SmallVector<Value> at{idx(0), loop.getInductionVar()};
  b->create<memref::StoreOp>(loc, b->create<memref::LoadOp>(loc, from, at), to, at);
}

LogicalResult DriverBuilder::lower(Operation *op) {
  loc = op->getLoc();
  // Every activation operand must already have a home; anything else means
  // @forward is not in the importer's form (tokens, then state arguments).
  if (!isa<func::ReturnOp>(op))
    for (OpOperand &operand : op->getOpOperands()) {
      Value v = operand.get();
      bool placed = buffers.count(v) || v.getDefiningOp<hybrid::WeightRefOp>() ||
                    (isa<BlockArgument>(v) && cast<BlockArgument>(v).getArgNumber() > 0) ||
                    (isa<hybrid::EmbedOp>(op) && operand.getOperandNumber() == 0);
      if (!placed)
        return op->emitOpError("operand #")
               << operand.getOperandNumber()
               << " has no buffer: hybrid-lower-to-kernels expects @forward as the importer "
                  "writes it (token ids, then state arguments)";
    }
  auto f32 = [&](FloatAttr a) { return a.getValue().convertToDouble(); };
  return TypeSwitch<Operation *, LogicalResult>(op)
      .Case<hybrid::WeightRefOp>([&](auto) { return success(); }) // views made at use
      .Case<hybrid::EmbedOp>([&](hybrid::EmbedOp o) -> LogicalResult {
        auto shape = cast<ShapedType>(o.getTable().getType()).getShape();
        // A lookup reads one row per token: int8 or int4 blocks would buy
        // little, so such a model keeps its embedding table in bf16.
        const bool blocks = codegen::isBlockQuantized(lc.weightType);
        Value table = weightView(weightName(o.getTable()), "plain", shape,
                                 blocks ? Type(b->getBF16Type()) : lc.weightElem);
        Value out = resultBuffer(o.getResult());
        KernelDesc desc{"embed", {{"V", shape[0]}, {"H", shape[1]}},
                        {{"multiplier", f32(o.getMultiplierAttr())}}, true};
        if (blocks)
          desc.weightType = "bf16";
        call(desc, {arg(kTokens), table, out});
        return success();
      })
      .Case<hybrid::RMSNormOp>([&](hybrid::RMSNormOp o) -> LogicalResult {
        int64_t H = cast<ShapedType>(o.getWeight().getType()).getShape()[0];
        Value out = resultBuffer(o.getResult());
        call({"rms_norm", {{"H", H}}, {{"eps", f32(o.getEpsAttr())}, {"scale", 1.0}}, false},
             {bufferOf(o.getInput()), plainF32(o.getWeight()), out});
        return success();
      })
      .Case<hybrid::LinearOp>([&](hybrid::LinearOp o) -> LogicalResult {
        lowerLinear(o);
        return success();
      })
      .Case<hybrid::SplitOp>([&](hybrid::SplitOp o) -> LogicalResult {
        // Column slices of the source: strided views, no copies.
        Value src = bufferOf(o.getInput());
        int64_t col = 0;
        for (auto [r, size] : llvm::zip(o->getResults(), o.getSizes())) {
          buffers[r] = b->create<memref::SubViewOp>(
              loc, src, SmallVector<OpFoldResult>{b->getIndexAttr(0), b->getIndexAttr(col)},
              SmallVector<OpFoldResult>{tokenCount, b->getIndexAttr(size)},
              SmallVector<OpFoldResult>{b->getIndexAttr(1), b->getIndexAttr(1)});
          col += size;
        }
        return success();
      })
      .Case<hybrid::CausalConv1dOp>([&](hybrid::CausalConv1dOp o) -> LogicalResult {
        auto st = cast<ShapedType>(o.getState().getType()).getShape(); // [K-1, C]
        int64_t C = st[1], K = st[0] + 1;
        if (!o.getSilu())
          return o.emitOpError("hybridc lowers only the Mamba2 conv (with silu)");
        if (!isa<BlockArgument>(o.getState()))
          return o.emitOpError("state must be a function argument");
        Value out = resultBuffer(o.getResult());
        auto convolve = [&](Value in, Value result) {
          Value stateIn = stateView(o.getState(), false);
          Value stateOut = stateView(o.getState(), true);
          if (!batch)
            buffers[o.getNewState()] = stateOut;
          SmallVector<Value> args{in, stateIn, plainF32(o.getWeight())};
          if (o.getBias())
            args.push_back(plainF32(o.getBias()));
          args.push_back(result);
          call({"conv1d", {{"C", C}, {"K", K}, {"has_bias", o.getBias() ? 1 : 0}}, {}, false},
               args);
          call({"conv_state", {{"C", C}, {"K", K}}, {}, false}, {in, stateIn, stateOut});
        };
        if (!batch)
          convolve(bufferOf(o.getInput()), out);
        else
          forEachStream([&](Value i) {
            convolve(rows(bufferOf(o.getInput()), i, idx(1)), rows(out, i, idx(1)));
          });
        return success();
      })
      .Case<hybrid::SSMScanOp>([&](hybrid::SSMScanOp o) -> LogicalResult {
        if (!isa<BlockArgument>(o.getState()))
          return o.emitOpError("state must be a function argument");
        lowerSSMScan(o);
        return success();
      })
      .Case<hybrid::GatedRMSNormOp>([&](hybrid::GatedRMSNormOp o) -> LogicalResult {
        int64_t D = cast<ShapedType>(o.getWeight().getType()).getShape()[0];
        Value out = resultBuffer(o.getResult());
        call({"gated_rms_norm", {{"D", D}, {"GS", o.getGroupSize()}},
              {{"eps", f32(o.getEpsAttr())}}, false},
             {bufferOf(o.getInput()), bufferOf(o.getGate()), plainF32(o.getWeight()), out});
        return success();
      })
      .Case<hybrid::AttentionOp>([&](hybrid::AttentionOp o) -> LogicalResult {
        if (!isa<BlockArgument>(o.getKCache()) || !isa<BlockArgument>(o.getVCache()))
          return o.emitOpError("KV caches must be function arguments");
        lowerAttention(o);
        return success();
      })
      .Case<hybrid::MoEOp>([&](hybrid::MoEOp o) -> LogicalResult {
        lowerMoE(o);
        return success();
      })
      .Case<hybrid::SwiGLUMLPOp>([&](hybrid::SwiGLUMLPOp o) -> LogicalResult {
        lowerSwiGLU(o);
        return success();
      })
      .Case<hybrid::AddOp, hybrid::ResidualAddOp>([&](Operation *o) {
        double m = 1.0;
        if (auto r = dyn_cast<hybrid::ResidualAddOp>(o))
          m = f32(r.getMultiplierAttr());
        int64_t H = cast<ShapedType>(o->getResult(0).getType()).getShape().back();
        Value out = resultBuffer(o->getResult(0));
        call({"residual_add", {{"H", H}}, {{"multiplier", m}}, false},
             {bufferOf(o->getOperand(0)), bufferOf(o->getOperand(1)), out});
        return success();
      })
      .Case<hybrid::LMHeadOp>([&](hybrid::LMHeadOp o) -> LogicalResult {
        lowerLMHead(o);
        return success();
      })
      .Case<func::ReturnOp>([&](auto) { return success(); })
      .Default([&](Operation *o) {
        return o->emitOpError("has no kernel lowering in hybridc");
      });
}

LogicalResult DriverBuilder::build(OpBuilder &builder, StringRef name) {
  b = &builder;
  MLIRContext *ctx = builder.getContext();
  Type i8buf = MemRefType::get({kDyn}, builder.getI8Type());
  Type index = builder.getIndexType();
  SmallVector<Type> argTypes(kNumDriverArgs);
  argTypes[kCtx] = LLVM::LLVMPointerType::get(ctx);
  argTypes[kTokens] = MemRefType::get({kDyn}, builder.getI32Type());
  argTypes[kWeights] = argTypes[kStateIn] = argTypes[kStateOut] = argTypes[kKv] =
      argTypes[kWorkspace] = i8buf;
  // The logits buffer is f32 data, viewed through a byte memref (only
  // memref.view may give it its [rows][vocab] shape).
  argTypes[kLogits] = i8buf;
  argTypes[kKvCapacity] = argTypes[kPast] = argTypes[kLogitsFrom] = index;
  if (batch) {
    SmallVector<Type> all(argTypes);
    all.push_back(MemRefType::get({kDyn}, builder.getI64Type())); // kStreams
    argTypes.clear();
    for (DriverArg a : kBatchDriverArgs)
      argTypes.push_back(all[a == kStreams ? kNumDriverArgs : a]);
  }

  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(lc.module.getBody());
  fn = builder.create<func::FuncOp>(lc.forward.getLoc(), name,
                                    builder.getFunctionType(argTypes, TypeRange{}));
  fn->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), builder.getUnitAttr());
  Block *entry = fn.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  loc = lc.forward.getLoc();
  tokenCount = builder.create<memref::DimOp>(loc, arg(kTokens), 0);
  if (!batch)
    stream = {arg(kStateIn), arg(kStateOut), arg(kKv), arg(kKvCapacity), arg(kPast)};

  planWorkspace();
  lc.workspaceRowBytes =
      std::max(lc.workspaceRowBytes, (planner.rowElements() + scratchPerToken) * 4);
  lc.workspaceFixedBytes =
      std::max(lc.workspaceFixedBytes, (scratchFixed + scanCarryElements) * 4);
  for (Operation &op : lc.forward.getBody().front())
    if (failed(lower(&op)))
      return failure();
  builder.create<func::ReturnOp>(lc.forward.getLoc());
  return success();
}

struct LowerToKernelsPass : hybridc::impl::LowerToKernelsBase<LowerToKernelsPass> {
  using LowerToKernelsBase::LowerToKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder b(module.getContext());
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward) {
      module.emitError("hybrid-lower-to-kernels: no func.func @forward to lower");
      return signalPassFailure();
    }
    std::optional<codegen::WeightType> type = codegen::parseWeightType(weightType);
    if (!type) {
      module.emitError("hybrid-lower-to-kernels: weight-type must be f32, bf16, int8 or int4, "
                       "got '")
          << weightType << "'";
      return signalPassFailure();
    }
    const bool blocks = codegen::isBlockQuantized(*type);
    if (lanes <= 0 || chunkTokens <= 0 || prefillTokens < 0) {
      module.emitError("hybrid-lower-to-kernels: lanes and chunk-tokens must be positive, "
                       "prefill-tokens >= 0");
      return signalPassFailure();
    }
    const bool groupOk = blocks ? inputGroup == 2 || inputGroup == 4
                                : inputGroup == 1 ||
                                      (inputGroup == 2 && *type == codegen::WeightType::BF16);
    if (!groupOk) {
      module.emitError("hybrid-lower-to-kernels: input-group must be 1, 2 with "
                       "weight-type=bf16 (bf16 pairs), or 2 or 4 with weight-type=int8 or int4, got ")
          << int64_t(inputGroup);
      return signalPassFailure();
    }

    // @forward(tokens: tensor<?xi32>, state...): the driver ABI gives the
    // tokens and the state blobs their memory; other arguments have none.
    auto tokens = forward.getNumArguments() > 0
                      ? dyn_cast<RankedTensorType>(forward.getArgument(0).getType())
                      : RankedTensorType();
    if (!tokens || tokens.getRank() != 1 || !tokens.getElementType().isInteger(32)) {
      forward.emitError("hybrid-lower-to-kernels: the first argument of @forward must be the "
                        "token ids, tensor<?xi32>");
      return signalPassFailure();
    }
    for (BlockArgument a : forward.getArguments().drop_front()) {
      auto type = dyn_cast<RankedTensorType>(a.getType());
      bool fixedState = type && type.hasStaticShape();
      bool kvCache = type && type.getRank() == 3 && type.isDynamicDim(1) &&
                     !type.isDynamicDim(0) && !type.isDynamicDim(2);
      if (!forward.getArgAttr(a.getArgNumber(), "hybrid.state") || !(fixedState || kvCache) ||
          !type.getElementType().isF32()) {
        forward.emitError("hybrid-lower-to-kernels: argument #")
            << a.getArgNumber()
            << " of @forward must be streaming state: an f32 tensor marked hybrid.state, "
               "static (conv/SSM state) or [kv, ?, head_dim] (KV cache)";
        return signalPassFailure();
      }
    }

    LoweringContext lc;
    lc.module = module;
    lc.forward = forward;
    lc.weightType = *type;
    lc.weightTypeName = weightType;
    lc.weightElem = *type == codegen::WeightType::BF16 ? Type(b.getBF16Type())
                    : blocks ? Type(b.getIntegerType(8, /*isSigned=*/false))
                             : Type(b.getF32Type());
    lc.packing.lanes = int(lanes);
    lc.packing.group = int(inputGroup);
    lc.packing.scaleBlock = blocks ? codegen::kQuantBlock : 0;
    lc.packing.groupsPerByte = *type == codegen::WeightType::INT4 ? 2 : 1;
    lc.chunkTokens = chunkTokens;
    lc.prefillTokens = prefillTokens > 0 ? prefillTokens : chunkTokens;

    // The state layout is hybrid-plan-state's (the one planner): each
    // fixed state's offset in the state blob, each KV cache's segment.
    auto planned = forward->getAttrOfType<IntegerAttr>("hybrid.fixed_state_bytes");
    if (!planned && forward.getNumArguments() > 1) {
      forward.emitError("hybrid-lower-to-kernels: @forward's state has no layout; run "
                        "hybrid-plan-state first");
      return signalPassFailure();
    }
    lc.stateBytes = planned ? planned.getInt() : 0;
    for (BlockArgument a : forward.getArguments().drop_front()) {
      const unsigned n = a.getArgNumber();
      auto offset = forward.getArgAttrOfType<IntegerAttr>(n, "hybrid.state_offset");
      auto segment = forward.getArgAttrOfType<IntegerAttr>(n, "hybrid.kv_segment");
      auto rowBytes = forward.getArgAttrOfType<IntegerAttr>(n, "hybrid.bytes_per_token");
      if (offset) {
        lc.stateOffset.push_back(offset.getInt());
        lc.kvSegment.push_back(-1);
      } else if (segment && rowBytes) {
        if (lc.kvRowBytes && lc.kvRowBytes != rowBytes.getInt()) {
          forward.emitError("all KV caches must have the same row size");
          return signalPassFailure();
        }
        lc.kvRowBytes = rowBytes.getInt();
        lc.stateOffset.push_back(-1);
        lc.kvSegment.push_back(segment.getInt());
        lc.kvSegments = std::max<int64_t>(lc.kvSegments, segment.getInt() + 1);
      } else {
        forward.emitError("hybrid-lower-to-kernels: argument #")
            << n << " of @forward has no planned place (hybrid.state_offset or "
            << "hybrid.kv_segment); run hybrid-plan-state first";
        return signalPassFailure();
      }
    }

    if (failed(DriverBuilder(lc, DriverKind::Prefill).build(b, kPrefillFunctionName)) ||
        failed(DriverBuilder(lc, DriverKind::Decode).build(b, kDecodeFunctionName)) ||
        failed(DriverBuilder(lc, DriverKind::DecodeBatch).build(b, kDecodeBatchFunctionName)))
      return signalPassFailure();

    // Declarations first, in creation order, then the two drivers.
    auto prefill = module.lookupSymbol<func::FuncOp>(kPrefillFunctionName);
    for (func::FuncOp k : lc.kernelOrder)
      k->moveBefore(prefill);

    auto i64 = [&](int64_t v) { return b.getI64IntegerAttr(v); };
    module->setAttr("hybrid.weight_plan", lc.weights.toAttr(b));
    module->setAttr("hybrid.weight_type", b.getStringAttr(weightType));
    module->setAttr("hybrid.lanes", i64(lanes));
    module->setAttr("hybrid.input_group", i64(inputGroup));
    module->setAttr("hybrid.weights_bytes", i64(lc.weights.totalBytes()));
    module->setAttr("hybrid.state_bytes", i64(lc.stateBytes));
    module->setAttr("hybrid.kv_segments", i64(lc.kvSegments));
    module->setAttr("hybrid.kv_row_bytes", i64(lc.kvRowBytes));
    module->setAttr("hybrid.workspace_bytes_per_token", i64(lc.workspaceRowBytes));
    module->setAttr("hybrid.workspace_fixed_bytes", i64(lc.workspaceFixedBytes));
    module->setAttr("hybrid.max_chunk_tokens", i64(lc.prefillTokens));

    forward.erase();
    SmallVector<Operation *> dead;
    for (Operation &op : module.getBody()->getOperations())
      if (isa<hybrid::WeightOp>(op))
        dead.push_back(&op);
    for (Operation *op : dead)
      op->erase();
  }
};

} // namespace
