//===- HybridPasses.td - passes of the hybrid dialect ------*- tablegen -*-===//

#ifndef HYBRID_PASSES_TD
#define HYBRID_PASSES_TD

include "mlir/Pass/PassBase.td"

def HybridPlanState : Pass<"hybrid-plan-state", "::mlir::ModuleOp"> {
  let summary = "Annotate state arguments with their memory footprint";
  let description = [{
    For every `func.func` with arguments marked `hybrid.state = "<name>"`,
    record how much memory the runtime session must hold for that state:

    * a statically shaped state argument (conv / SSM state) gets
      `hybrid.state_bytes` = number of elements * 4 (f32) and
      `hybrid.state_offset`, its place in the session's state blob (in
      argument order, each starting on a 64-byte line);
    * a state argument with one dynamic dimension (a KV cache
      `[kv, ?, hd]`) gets `hybrid.bytes_per_token` = product of the static
      dimensions * 4 and `hybrid.kv_segment`, its index among the KV caches.

    The function gets the totals `hybrid.fixed_state_bytes` (the blob's
    size, padding included) and `hybrid.kv_bytes_per_token`. This is the one
    plan of the session state: `hybrid-lower-to-kernels` reads it. A marked argument that is not a ranked f32
    tensor, or has more than one dynamic dimension, is an error.
  }];
  let constructor = "::hybrid::createPlanStatePass()";
}

#endif // HYBRID_PASSES_TD
