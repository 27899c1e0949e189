//===- HybridDialect.td - the hybrid dialect ---------------*- tablegen -*-===//
//
// Tensor-level ops of hybrid state-space language models (Granite 4.0 H:
// Mamba2 + NoPE attention + MoE). The op semantics are specified in
// docs/model.md (forward pass, streaming state).
//
//===----------------------------------------------------------------------===//

#ifndef HYBRID_DIALECT_TD
#define HYBRID_DIALECT_TD

include "mlir/IR/OpBase.td"

def Hybrid_Dialect : Dialect {
  let name = "hybrid";
  let summary = "Hybrid Mamba2 / attention / MoE language-model ops";
  let description = [{
    Activations are ranked f32 tensors whose first dimension is the token
    dimension (usually dynamic). Weights are never materialised as constants:
    `hybrid.weight` declares a checkpoint tensor by name at module level and
    `hybrid.weight_ref` reads it. Recurrent state (conv state, SSM state, KV
    caches) flows in and out of the model functions explicitly.
  }];
  let cppNamespace = "::hybrid";
  // Verifies the `hybrid.state` argument attribute that the importer puts on
  // state arguments of the model functions.
  let hasRegionArgAttrVerify = 1;
  // Checks that the attributes hybrid-lower-to-kernels leaves for the
  // compile (HybridDialect.h) have their types, so an edited --from-mlir
  // input is refused by the parser.
  let hasOperationAttrVerify = 1;
  // Typed attributes (HybridAttrs.td) print as #hybrid<...>.
  let useDefaultAttributePrinterParser = 1;
}

class Hybrid_Op<string mnemonic, list<Trait> traits = []>
    : Op<Hybrid_Dialect, mnemonic, traits>;

#endif // HYBRID_DIALECT_TD
