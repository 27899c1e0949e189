//===- ForwardSignature.cpp - what @forward must look like ----------------===//
//
// hybrid-lower-to-kernels gives @forward's arguments the memory of the
// driver ABI (runtime_abi.h): the token ids, then the streaming state. An
// argument of any other form has no memory to live in, so it is refused
// here, before any driver is built.
//
//===----------------------------------------------------------------------===//
#include "DriverBuilder.h"

namespace hybridc::lowering {

LogicalResult verifyForwardSignature(func::FuncOp forward) {
  auto tokens = forward.getNumArguments() > 0
                    ? dyn_cast<RankedTensorType>(forward.getArgument(0).getType())
                    : RankedTensorType();
  if (!tokens || tokens.getRank() != 1 || !tokens.getElementType().isInteger(32))
    return forward.emitError("hybrid-lower-to-kernels: the first argument of @forward must be "
                             "the token ids, tensor<?xi32>");
  for (BlockArgument a : forward.getArguments().drop_front()) {
    auto type = dyn_cast<RankedTensorType>(a.getType());
    bool fixedState = type && type.hasStaticShape();
    bool kvCache = type && type.getRank() == 3 && type.isDynamicDim(1) && !type.isDynamicDim(0) &&
                   !type.isDynamicDim(2);
    if (!forward.getArgAttr(a.getArgNumber(), "hybrid.state") || !(fixedState || kvCache) ||
        !type.getElementType().isF32())
      return forward.emitError("hybrid-lower-to-kernels: argument #")
             << a.getArgNumber()
             << " of @forward must be streaming state: an f32 tensor marked hybrid.state, "
                "static (conv/SSM state) or [kv, ?, head_dim] (KV cache)";
  }
  return success();
}

} // namespace hybridc::lowering
