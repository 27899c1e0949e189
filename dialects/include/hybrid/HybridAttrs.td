//===- HybridAttrs.td - attributes of the hybrid dialect ---*- tablegen -*-===//
//
// Decisions that cross from one stage to the next as typed attributes, so
// the parser verifies them and the printed IR names them.
//
//===----------------------------------------------------------------------===//

#ifndef HYBRID_ATTRS_TD
#define HYBRID_ATTRS_TD

include "HybridDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

// The element type of an attention layer's K and V cache rows. The values
// are the runtime's (runtime/include/hybridc/kv_layout.h, HYBRIDC_KV_*),
// which lays each type out; HybridDialect.cpp checks they agree.
def Hybrid_KvDtype : I32EnumAttr<"KvDtype", "element type of the KV cache", [
    I32EnumAttrCase<"f32", 0>,
    I32EnumAttrCase<"bf16", 1>,
    I32EnumAttrCase<"int8", 2>]> {
  let cppNamespace = "::hybrid";
  let genSpecializedAttr = 0;
}

def Hybrid_KvDtypeAttr : EnumAttr<Hybrid_Dialect, Hybrid_KvDtype, "kv_dtype"> {
  let summary = "element type of the KV cache: f32, bf16 or int8 (blocks of 32 with a scale)";
  let assemblyFormat = "`<` $value `>`";
}

// The KV cache a lowered model's sessions keep (every attention layer's):
// its element type and the shape of one token's row, [kv heads][head dim].
// hybrid-lower-to-kernels writes it on the module; the compiler reads it
// into the model descriptor, and with it the runtime finds each token's
// slots in a block (kv_layout.h) to keep state images canonical.
def Hybrid_KvCacheAttr : AttrDef<Hybrid_Dialect, "KvCache"> {
  let mnemonic = "kv_cache";
  let summary = "a model's KV cache: element type, kv heads and head dim";
  let parameters = (ins EnumParameter<Hybrid_KvDtype>:$dtype, "int64_t":$kvHeads,
                        "int64_t":$headDim);
  let assemblyFormat = "`<` $dtype `,` `heads` `=` $kvHeads `,` `head_dim` `=` $headDim `>`";
  let genVerifyDecl = 1;
}

#endif // HYBRID_ATTRS_TD
