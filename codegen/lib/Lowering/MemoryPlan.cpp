//===- MemoryPlan.cpp - where weights, state and intermediates live -------===//
//
// The lowering's memory decisions: the packed weight payload (one entry per
// tensor and layout), the state layout hybrid-plan-state chose (read here,
// never planned twice), and the workspace: intermediates by liveness, plus
// the MoE grouping's scratch and the scan's chunk carry past them.
//
//===----------------------------------------------------------------------===//
#include "DriverBuilder.h"
#include "MoEGrouping.h"

#include "llvm/ADT/TypeSwitch.h"

namespace hybridc::lowering {

const WeightPlan::Entry &WeightPlan::get(StringRef tensor, hybrid::WeightLayout layout,
                                         ArrayRef<int64_t> viewShape, Type elem) {
  std::string key = (tensor + "|" + hybrid::stringifyWeightLayout(layout)).str();
  auto it = index.find(key);
  if (it != index.end())
    return entries[it->second];
  int64_t bytes = product(viewShape) * (elem.getIntOrFloatBitWidth() / 8);
  entries.push_back({{tensor.str(), layout, size, bytes}, SmallVector<int64_t>(viewShape)});
  // 64-byte alignment: a cache line, and an AVX-512 vector.
  size = alignTo(size + bytes, 64);
  index[key] = entries.size() - 1;
  return entries.back();
}

ArrayAttr WeightPlan::toAttr(MLIRContext *context) const {
  std::vector<codegen::PackedWeight> plan;
  for (const Entry &e : entries)
    plan.push_back(e.packed);
  return codegen::writeWeightPlan(context, plan);
}

LogicalResult readStateLayout(func::FuncOp forward, LoweringContext &lc) {
  auto planned = forward->getAttrOfType<IntegerAttr>("hybrid.fixed_state_bytes");
  if (!planned && forward.getNumArguments() > 1)
    return forward.emitError("hybrid-lower-to-kernels: @forward's state has no layout; run "
                             "hybrid-plan-state first");
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
      // One segment per kv head: the cache's row is heads x the segment's.
      const int64_t heads = cast<ShapedType>(a.getType()).getDimSize(0);
      const int64_t headRow = rowBytes.getInt() / heads;
      if ((lc.kvRowBytes && lc.kvRowBytes != headRow) || headRow * heads != rowBytes.getInt())
        return forward.emitError("all KV caches must have the same row size per kv head");
      lc.kvRowBytes = headRow;
      lc.stateOffset.push_back(-1);
      lc.kvSegment.push_back(segment.getInt());
      lc.kvSegments = std::max<int64_t>(lc.kvSegments, segment.getInt() + heads);
    } else {
      return forward.emitError("hybrid-lower-to-kernels: argument #")
             << n << " of @forward has no planned place (hybrid.state_offset or "
             << "hybrid.kv_segment); run hybrid-plan-state first";
    }
  }
  // One KV cache shape for every layer: the runtime's segments share one row
  // size and the state image records one dtype. Segments come in pairs, K
  // then V of one layer (kv_layout.h), so the runtime knows each one's
  // layout.
  bool first = true;
  for (auto attention : forward.getOps<hybrid::AttentionOp>()) {
    auto shape = cast<ShapedType>(attention.getKCache().getType()).getShape();
    if (!first && (attention.getKvDtype() != lc.kvDtype || shape[0] != lc.kvHeads ||
                   shape[2] != lc.kvHeadDim))
      return attention.emitOpError("keeps its KV cache as ")
             << hybrid::stringifyKvDtype(attention.getKvDtype()) << " rows of " << shape[0]
             << " x " << shape[2] << " but an earlier attention layer keeps "
             << hybrid::stringifyKvDtype(lc.kvDtype) << " rows of " << lc.kvHeads << " x "
             << lc.kvHeadDim << "; a model's KV caches share one element type and shape";
    lc.kvDtype = attention.getKvDtype();
    lc.kvHeads = shape[0];
    lc.kvHeadDim = shape[2];
    first = false;
    auto segmentOf = [&](Value cache) -> int64_t {
      auto arg = dyn_cast<BlockArgument>(cache);
      return arg ? lc.kvSegment[arg.getArgNumber() - 1] : -1;
    };
    // kv_layout.h: a layer's K heads, then its V heads.
    const int64_t k = segmentOf(attention.getKCache()), v = segmentOf(attention.getVCache());
    if (k < 0 || k % (2 * lc.kvHeads) != 0 || v != k + lc.kvHeads)
      return attention.emitOpError("needs its K cache's kv heads in segments 2l x ")
             << lc.kvHeads << " on and its V cache's right after them (hybrid-plan-state gives "
             << "the K and V caches of a layer in argument order), got segments " << k
             << " and " << v;
  }
  return success();
}

MoEScratch::MoEScratch(int64_t E, int64_t K, int64_t H, int64_t tile) {
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
        .Case<hybrid::LinearOp, hybrid::CausalConv1dOp, hybrid::AttentionOp>(
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

} // namespace hybridc::lowering
