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
// This file is the pass itself; the pieces it uses are in DriverBuilder.h.
//
//===----------------------------------------------------------------------===//
#include "DriverBuilder.h"

#include "hybridc/Codegen/Passes.h"

namespace hybridc {
#define GEN_PASS_DEF_LOWERTOKERNELS
#include "hybridc/Codegen/Passes.h.inc"
} // namespace hybridc

using namespace mlir;
using namespace hybridc;
using namespace hybridc::lowering;

namespace {

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
    const codegen::WeightType type = codegen::weightTypeOf(weightType);
    const bool blocks = codegen::isBlockQuantized(type);
    if (lanes <= 0 || chunkTokens <= 0 || prefillTokens < 0) {
      module.emitError("hybrid-lower-to-kernels: lanes and chunk-tokens must be positive, "
                       "prefill-tokens >= 0");
      return signalPassFailure();
    }
    const bool groupOk = blocks ? inputGroup == 2 || inputGroup == 4
                                : inputGroup == 1 ||
                                      (inputGroup == 2 && type == codegen::WeightType::BF16);
    if (!groupOk) {
      module.emitError("hybrid-lower-to-kernels: input-group must be 1, 2 with "
                       "weight-type=bf16 (bf16 pairs), or 2 or 4 with weight-type=int8 or int4, got ")
          << int64_t(inputGroup);
      return signalPassFailure();
    }
    if (failed(verifyForwardSignature(forward)))
      return signalPassFailure();

    LoweringContext lc;
    lc.module = module;
    lc.forward = forward;
    lc.weightType = type;
    lc.packing.lanes = int(lanes);
    lc.packing.group = int(inputGroup);
    lc.packing.scaleBlock = blocks ? codegen::kQuantBlock : 0;
    lc.packing.groupsPerByte = type == codegen::WeightType::INT4 ? 2 : 1;
    lc.chunkTokens = chunkTokens;
    lc.prefillTokens = prefillTokens > 0 ? prefillTokens : chunkTokens;
    lc.symbolSuffix = symbolSuffix;
    // The state layout is hybrid-plan-state's (the one planner).
    if (failed(readStateLayout(forward, lc)))
      return signalPassFailure();

    const std::string prefillName = kPrefillFunctionName + symbolSuffix;
    if (failed(DriverBuilder(lc, DriverKind::Prefill).build(b, prefillName)) ||
        failed(DriverBuilder(lc, DriverKind::Decode)
                   .build(b, kDecodeFunctionName + symbolSuffix)) ||
        failed(DriverBuilder(lc, DriverKind::DecodeBatch)
                   .build(b, kDecodeBatchFunctionName + symbolSuffix)))
      return signalPassFailure();

    // Declarations first, in creation order, then the drivers.
    auto prefill = module.lookupSymbol<func::FuncOp>(prefillName);
    for (func::FuncOp k : lc.kernelOrder)
      k->moveBefore(prefill);

    module->setAttr(hybrid::kWeightPlanAttr, lc.weights.toAttr(b.getContext()));
    module->setAttr(hybrid::kWeightPackingAttr,
                    hybrid::WeightPackingAttr::get(b.getContext(), weightType, lanes, inputGroup));
    module->setAttr(hybrid::kMemoryPlanAttr,
                    hybrid::MemoryPlanAttr::get(
                        b.getContext(), lc.weights.totalBytes(), lc.stateBytes, lc.kvSegments,
                        lc.kvRowBytes, lc.prefillTokens, lc.workspaceFixedBytes,
                        lc.workspaceRowBytes));
    if (lc.kvHeads > 0)
      module->setAttr("hybrid.kv_cache", hybrid::KvCacheAttr::get(b.getContext(), lc.kvDtype,
                                                                  lc.kvHeads, lc.kvHeadDim));
    if (!symbolSuffix.empty())
      module->setAttr("hybrid.symbol_suffix", b.getStringAttr(symbolSuffix));

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
