//===- LowerOps.cpp - each hybrid op as kernel calls ----------------------===//
//
// DriverBuilder::lower is the table of ops; each op has one method that
// finds its operands' buffers, its weights' views and its result's home and
// emits the calls of its kernels (KernelSpec.h lists what each computes).
//
//===----------------------------------------------------------------------===//
#include "DriverBuilder.h"
#include "MoEGrouping.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/TypeSwitch.h"

#include <limits>

namespace hybridc::lowering {

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
  return TypeSwitch<Operation *, LogicalResult>(op)
      // Weight views are made where they are used.
      .Case<hybrid::WeightRefOp, func::ReturnOp>([](auto) { return success(); })
      .Case([&](hybrid::EmbedOp o) { return lowerEmbed(o); })
      .Case([&](hybrid::RMSNormOp o) { return lowerRMSNorm(o); })
      .Case([&](hybrid::LinearOp o) { lowerLinear(o); return success(); })
      .Case([&](hybrid::SplitOp o) { return lowerSplit(o); })
      .Case([&](hybrid::CausalConv1dOp o) { return lowerConv(o); })
      .Case([&](hybrid::SSMScanOp o) { return lowerSSMScan(o); })
      .Case([&](hybrid::GatedRMSNormOp o) { return lowerGatedRMSNorm(o); })
      .Case([&](hybrid::AttentionOp o) { return lowerAttention(o); })
      .Case([&](hybrid::MoEOp o) { lowerMoE(o); return success(); })
      .Case([&](hybrid::SwiGLUMLPOp o) { lowerSwiGLU(o); return success(); })
      .Case<hybrid::AddOp, hybrid::ResidualAddOp>([&](Operation *o) { return lowerAdd(o); })
      .Case([&](hybrid::LMHeadOp o) { lowerLMHead(o); return success(); })
      .Default([&](Operation *o) {
        return o->emitOpError("has no kernel lowering in hybridc");
      });
}

namespace {
double f32(FloatAttr a) { return a.getValue().convertToDouble(); }
} // namespace

LogicalResult DriverBuilder::lowerEmbed(hybrid::EmbedOp o) {
  auto shape = cast<ShapedType>(o.getTable().getType()).getShape();
  // The table's element type is its layout's (an int8 or int4 model keeps
  // it in bf16), and so is the kernel's.
  const codegen::WeightType tableType = stored(hybrid::WeightLayout::plain).element;
  Value table = weightView(weightName(o.getTable()), hybrid::WeightLayout::plain, shape);
  Value out = resultBuffer(o.getResult());
  KernelDesc desc{"embed", {{"V", shape[0]}, {"H", shape[1]}},
                  {{"multiplier", f32(o.getMultiplierAttr())}}, true};
  desc.weightType = tableType;
  call(desc, {arg(kTokens), table, out});
  return success();
}

LogicalResult DriverBuilder::lowerRMSNorm(hybrid::RMSNormOp o) {
  int64_t H = cast<ShapedType>(o.getWeight().getType()).getShape()[0];
  Value out = resultBuffer(o.getResult());
  call({"rms_norm", {{"H", H}}, {{"eps", f32(o.getEpsAttr())}, {"scale", 1.0}}, false},
       {bufferOf(o.getInput()), plainF32(o.getWeight()), out});
  return success();
}

LogicalResult DriverBuilder::lowerSplit(hybrid::SplitOp o) {
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
}

LogicalResult DriverBuilder::lowerConv(hybrid::CausalConv1dOp o) {
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
    call({"conv1d", {{"C", C}, {"K", K}, {"has_bias", o.getBias() ? 1 : 0}}, {}, false}, args);
    call({"conv_state", {{"C", C}, {"K", K}}, {}, false}, {in, stateIn, stateOut});
  };
  if (!batch)
    convolve(bufferOf(o.getInput()), out);
  else
    forEachStream([&](Value i) {
      convolve(rows(bufferOf(o.getInput()), i, idx(1)), rows(out, i, idx(1)));
    });
  return success();
}

LogicalResult DriverBuilder::lowerGatedRMSNorm(hybrid::GatedRMSNormOp o) {
  int64_t D = cast<ShapedType>(o.getWeight().getType()).getShape()[0];
  Value out = resultBuffer(o.getResult());
  call({"gated_rms_norm", {{"D", D}, {"GS", o.getGroupSize()}}, {{"eps", f32(o.getEpsAttr())}},
        false},
       {bufferOf(o.getInput()), bufferOf(o.getGate()), plainF32(o.getWeight()), out});
  return success();
}

LogicalResult DriverBuilder::lowerAdd(Operation *o) {
  double m = 1.0;
  if (auto r = dyn_cast<hybrid::ResidualAddOp>(o))
    m = f32(r.getMultiplierAttr());
  int64_t H = cast<ShapedType>(o->getResult(0).getType()).getShape().back();
  Value out = resultBuffer(o->getResult(0));
  call({"residual_add", {{"H", H}}, {{"multiplier", m}}, false},
       {bufferOf(o->getOperand(0)), bufferOf(o->getOperand(1)), out});
  return success();
}

void DriverBuilder::lowerLinear(hybrid::LinearOp op) {
  int64_t out, in;
  Matrix w = linearWeight(op.getWeight(), out, in);
  Value dest = resultBuffer(op.getResult());
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

LogicalResult DriverBuilder::lowerSSMScan(hybrid::SSMScanOp op) {
  if (!isa<BlockArgument>(op.getState()))
    return op.emitOpError("state must be a function argument");
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
  if (batch) {
    forEachStream([&](Value i) {
      SmallVector<Value> args;
      for (Value v : in)
        args.push_back(rows(v, i, idx(1)));
      args.append(params);
      args.append({stateView(op.getState(), false), rows(y, i, idx(1)),
                   stateView(op.getState(), true)});
      call(desc, args);
    });
    return success();
  }
  Value stateIn = stateView(op.getState(), false);
  Value stateOut = stateView(op.getState(), /*output=*/true);
  buffers[op.getNewState()] = stateOut;
  const int64_t chunks = steps ? 1 : (lc.prefillTokens + lc.chunkTokens - 1) / lc.chunkTokens;
  if (chunks == 1) {
    SmallVector<Value> args(in);
    args.append(params);
    args.append({stateIn, y, stateOut});
    call(desc, args);
    return success();
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
  return success();
}

LogicalResult DriverBuilder::lowerAttention(hybrid::AttentionOp op) {
  if (!isa<BlockArgument>(op.getKCache()) || !isa<BlockArgument>(op.getVCache()))
    return op.emitOpError("KV caches must be function arguments");
  auto cache = cast<ShapedType>(op.getKCache().getType()).getShape(); // [KV, ?, HD]
  int64_t KV = cache[0], HD = cache[2], heads = op.getNumHeads();
  const int64_t dtype = static_cast<int64_t>(op.getKvDtype());
  Value out = resultBuffer(op.getResult());
  // Prefill multiplies in bf16 where the model's matmuls do (bf16 weights
  // in vdpbf16ps pairs): the same rounding of the activations, twice the
  // multiply-adds per instruction. Decode reads each key once in f32 (or
  // int8 dot products against an int8 cache).
  const bool bf16 = !steps && lc.weightType == codegen::WeightType::BF16 && lc.packing.group == 2;
  KernelDesc desc{"attention",
                  {{"HEADS", heads},
                   {"KV", KV},
                   {"HD", HD},
                   {"decode", steps ? 1 : 0},
                   {"bf16", bf16 ? 1 : 0},
                   {"kv_dtype", dtype}},
                  {{"scale", op.getScale().convertToDouble()}},
                  false};
  // A segment as the kernels see it (KernelSpec.h): written by kv_append in
  // its element type, read by attention as f32, as u32 pairs of bf16, or as
  // int8 bytes, int8 with the same memory as f32 for the scales.
  Type f32 = b->getF32Type();
  auto views = [&](Value cacheArg, bool isV, bool write) {
    SmallVector<Value> v;
    switch (op.getKvDtype()) {
    case hybrid::KvDtype::f32:
      v.push_back(kvView(cacheArg, f32));
      break;
    case hybrid::KvDtype::bf16:
      v.push_back(kvView(cacheArg, write ? Type(b->getBF16Type())
                                         : Type(b->getIntegerType(32, /*isSigned=*/false))));
      break;
    case hybrid::KvDtype::int8:
      v.push_back(kvView(cacheArg, isV && !write ? Type(b->getI8Type())
                                                 : Type(b->getIntegerType(8, false))));
      v.push_back(kvView(cacheArg, f32));
      break;
    }
    return v;
  };
  // Writes the stream's new K and V rows (its projections' rows) at its
  // positions past .., then attends over the keys up to them.
  auto attend = [&](Value q, Value k, Value v, Value o) {
    Value past = b->create<arith::IndexCastOp>(loc, b->getI32Type(), stream.past);
    for (auto [rows, cacheArg, isV] : {std::tuple(k, op.getKCache(), false),
                                       std::tuple(v, op.getVCache(), true)}) {
      KernelDesc append{"kv_append", {{"KV", KV}, {"HD", HD}, {"dtype", dtype}, {"v", isV}},
                        {}, false};
      SmallVector<Value> args{rows, past};
      args.append(views(cacheArg, isV, /*write=*/true));
      call(append, args);
    }
    SmallVector<Value> args{q};
    args.append(views(op.getKCache(), false, false));
    args.append(views(op.getVCache(), true, false));
    args.append({past, o});
    call(desc, args);
  };
  if (!batch) {
    attend(bufferOf(op.getQ()), bufferOf(op.getK()), bufferOf(op.getV()), out);
    return success();
  }
  forEachStream([&](Value i) {
    auto row = [&](Value v) { return rows(bufferOf(v), i, idx(1)); };
    attend(row(op.getQ()), row(op.getK()), row(op.getV()), rows(out, i, idx(1)));
  });
  return success();
}

} // namespace hybridc::lowering
