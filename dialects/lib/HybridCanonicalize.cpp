//===- HybridCanonicalize.cpp - folders and canonicalization patterns -----===//
//
// Only rewrites that are exact for the op semantics (or, where noted, for
// finite activations) belong here: the compiled model must match the
// reference implementation.
//
//===----------------------------------------------------------------------===//
#include "hybrid/HybridOps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace hybrid;

// A split into one slice is the whole tensor.
LogicalResult SplitOp::fold(FoldAdaptor adaptor,
                            SmallVectorImpl<OpFoldResult> &results) {
  if (getNumResults() != 1 || getResult(0).getType() != getInput().getType())
    return failure();
  results.push_back(getInput());
  return success();
}

// residual_multiplier == 0 disables the branch: x + 0 * b == x for every
// finite b (and the branch is computed from finite activations). Not folded
// bitwise-exactly for x == -0.0 or non-finite b, which a model with a zero
// residual multiplier never relies on.
OpFoldResult ResidualAddOp::fold(FoldAdaptor adaptor) {
  if (getMultiplier().isZero() && getType() == getInput().getType())
    return getInput();
  return {};
}

namespace {
// x + 1.0 * b is exactly x + b (multiplying by one is exact in IEEE
// arithmetic, including for NaN, inf and -0.0), and hybrid.add is the simpler
// op for later fusion.
struct ResidualAddOfOne : OpRewritePattern<ResidualAddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ResidualAddOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getMultiplier().isExactlyValue(1.0))
      return failure();
    rewriter.replaceOpWithNewOp<AddOp>(op, op.getType(), op.getInput(),
                                       op.getBranch());
    return success();
  }
};
} // namespace

void ResidualAddOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                MLIRContext *context) {
  results.add<ResidualAddOfOne>(context);
}
