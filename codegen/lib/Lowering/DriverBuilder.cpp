//===- DriverBuilder.cpp - one driver function: arguments, views, calls ---===//
//
// The skeleton of each driver (prefill, decode, decode_batch): its
// signature (runtime_abi.h), the views of the weights, state, KV cache and
// workspace the ops' kernels read and write, the batch driver's loop over
// its streams, and the kernel calls themselves. The ops are LowerOps.cpp's.
//
//===----------------------------------------------------------------------===//
#include "DriverBuilder.h"

#include "hybridc/kv_layout.h"
#include "hybridc/runtime_abi.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace hybridc::lowering {

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

Value DriverBuilder::weightView(StringRef tensor, hybrid::WeightLayout layout,
                                ArrayRef<int64_t> shape) {
  const codegen::StoredWeight s = stored(layout);
  Type elem = s.scales || s.element == codegen::WeightType::F32 ? Type(b->getF32Type())
              : s.element == codegen::WeightType::BF16
                  ? Type(b->getBF16Type())
                  : Type(b->getIntegerType(8, /*isSigned=*/false)); // int8 and int4 blocks
  const WeightPlan::Entry &e = lc.weights.get(tensor, layout, shape, elem);
  auto type = MemRefType::get(e.viewShape, elem);
  return b->create<memref::ViewOp>(loc, type, arg(kWeights), idx(e.packed.offset), ValueRange{});
}

Value DriverBuilder::plainF32(Value weightRef) {
  auto shape = cast<ShapedType>(weightRef.getType()).getShape();
  SmallVector<int64_t> view(shape);
  // The conv weight [C, 1, K] is used as [C][K].
  if (view.size() == 3 && view[1] == 1)
    view = {view[0], view[2]};
  return weightView(weightName(weightRef), hybrid::WeightLayout::f32, view);
}

DriverBuilder::Matrix DriverBuilder::linearWeight(Value weightRef, int64_t &out, int64_t &in,
                                                  bool alwaysF32) {
  auto shape = cast<ShapedType>(weightRef.getType()).getShape();
  out = shape[0];
  in = shape[1];
  using hybrid::WeightLayout;
  if (alwaysF32) {
    const codegen::LinearPacking p = stored(WeightLayout::linear_f32).packing;
    return {weightView(weightName(weightRef), WeightLayout::linear_f32,
                       {p.blocks(out), p.groups(in), p.lanes, p.group}),
            Value()};
  }
  // A matrix the importer marked hybrid.min_bits = 8 in an int4 model:
  // int8 blocks, layouts of their own.
  auto decl = lc.module.lookupSymbol<hybrid::WeightOp>(weightName(weightRef));
  auto minBits = decl ? decl->getAttrOfType<IntegerAttr>(hybrid::kMinBitsAttr) : IntegerAttr();
  const bool int8 = lc.weightType == codegen::WeightType::INT4 && minBits &&
                    minBits.getInt() >= 8;
  const WeightLayout layout = int8 ? WeightLayout::linear_int8 : WeightLayout::linear;
  const codegen::LinearPacking p = stored(layout).packing;
  Matrix m{weightView(weightName(weightRef), layout,
                      {p.blocks(out), p.storedGroups(in), p.lanes, p.group}),
           Value(), int8 ? std::optional(codegen::WeightType::INT8) : std::nullopt};
  if (p.scaleBlock)
    m.scales = weightView(weightName(weightRef),
                          int8 ? WeightLayout::linear_int8_scales : WeightLayout::linear_scales,
                          {p.blocks(out), p.scaleBlocks(in), p.lanes});
  return m;
}

DriverBuilder::Matrix DriverBuilder::expertWeights(Value weightRef, int64_t E, int64_t out,
                                                   int64_t in) {
  const codegen::LinearPacking p = stored(hybrid::WeightLayout::experts).packing;
  Matrix m{weightView(weightName(weightRef), hybrid::WeightLayout::experts,
                      {p.blocks(out), E, p.storedGroups(in), p.lanes, p.group}),
           Value()};
  if (p.scaleBlock)
    m.scales = weightView(weightName(weightRef), hybrid::WeightLayout::experts_scales,
                          {p.blocks(out), E, p.scaleBlocks(in), p.lanes});
  return m;
}

Value DriverBuilder::stateView(Value stateArg, bool output) {
  unsigned index = cast<BlockArgument>(stateArg).getArgNumber() - 1;
  auto type = MemRefType::get(cast<ShapedType>(stateArg.getType()).getShape(),
                              b->getF32Type());
  return b->create<memref::ViewOp>(loc, type, output ? stream.stateOut : stream.stateIn,
                                   idx(lc.stateOffset[index]), ValueRange{});
}

Value DriverBuilder::kvView(Value cacheArg, Type elem) {
  unsigned index = cast<BlockArgument>(cacheArg).getArgNumber() - 1;
  Value segmentBytes =
      b->create<arith::MulIOp>(loc, stream.kvCapacity, idx(lc.kvRowBytes));
  Value offset = b->create<arith::MulIOp>(loc, segmentBytes, idx(lc.kvSegment[index]));
  // The capacity is whole blocks (the runtime's ensure_kv); the cache's kv
  // heads are consecutive segments.
  Value blocks = b->create<arith::DivUIOp>(loc, stream.kvCapacity, idx(HYBRIDC_KV_BLOCK_TOKENS));
  const int64_t blockBytes = lc.kvRowBytes * HYBRIDC_KV_BLOCK_TOKENS;
  auto type = MemRefType::get({lc.kvHeads, kDyn, blockBytes * 8 / elem.getIntOrFloatBitWidth()},
                              elem);
  return b->create<memref::ViewOp>(loc, type, stream.kv, offset, ValueRange{blocks});
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

} // namespace hybridc::lowering
