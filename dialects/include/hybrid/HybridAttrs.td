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

// How hybrid-lower-to-kernels lays out one tensor in the packed weights
// file (one tensor can have two entries: a matrix and its block scales).
// What each layout stores (element type, packing, scales) is decided in one
// place, codegen::storedWeight (hybridc/Codegen/WeightLayouts.h): the
// lowering sizes its views from it and the compiler packs by it.
def Hybrid_WeightLayout : I32EnumAttr<"WeightLayout", "layout of a packed weight", [
    // f32 values in the checkpoint's order: norms, conv, SSM parameters,
    // biases, the router.
    I32EnumAttrCase<"f32", 0>,
    // The embedding table, rows in order, in the model's weight type (bf16
    // in an int8 or int4 model: a lookup reads one row per token).
    I32EnumAttrCase<"plain", 1>,
    // A matrix packed for the linear kernels in the model's weight type
    // (lanes of output rows x groups of inputs), and its block scales.
    I32EnumAttrCase<"linear", 2>,
    I32EnumAttrCase<"linear_scales", 3>,
    // A matrix an int4 model keeps in int8 blocks (the importer's
    // hybrid.min_bits = 8), and its block scales.
    I32EnumAttrCase<"linear_int8", 4>,
    I32EnumAttrCase<"linear_int8_scales", 5>,
    // A matrix kept f32 whatever the model's weight type, one input per lane.
    I32EnumAttrCase<"linear_f32", 6>,
    // The experts' matrices of one MoE layer, [out blocks][expert]..., and
    // their block scales.
    I32EnumAttrCase<"experts", 7>,
    I32EnumAttrCase<"experts_scales", 8>]> {
  let cppNamespace = "::hybrid";
  let genSpecializedAttr = 0;
}

// One entry of the packed weights: the checkpoint tensor it comes from, its
// layout, and where its bytes lie in the payload. The module attribute
// hybrid.weight_plan (written by hybrid-lower-to-kernels) is an array of
// them; the compiler packs the weights file from it.
def Hybrid_WeightAttr : AttrDef<Hybrid_Dialect, "Weight"> {
  let mnemonic = "weight";
  let summary = "a packed weight: tensor, layout, offset and bytes in the payload";
  let parameters = (ins StringRefParameter<"the checkpoint tensor">:$tensor,
                        EnumParameter<Hybrid_WeightLayout>:$layout,
                        "int64_t":$offset, "int64_t":$bytes);
  let assemblyFormat = "`<` $tensor `,` $layout `,` `offset` `=` $offset `,` `bytes` `=` $bytes `>`";
  let genVerifyDecl = 1;
}

// The sizes a lowered model's sessions are built from: the weights payload,
// one copy of the recurrent state, the KV segments and the bytes of one
// token's row in each, the most tokens one driver call takes, and the
// workspace (fixed part, and per token of a call). hybrid-lower-to-kernels
// writes it on the module (hybrid.memory_plan); the compile reads it into
// the model descriptor (runtime_abi.h's hybridc_model_desc).
def Hybrid_MemoryPlanAttr : AttrDef<Hybrid_Dialect, "MemoryPlan"> {
  let mnemonic = "memory_plan";
  let summary = "a lowered model's buffer sizes: weights, state, KV rows, call size, workspace";
  let parameters = (ins "int64_t":$weights_bytes, "int64_t":$state_bytes,
                        "int64_t":$kv_segments, "int64_t":$kv_row_bytes,
                        "int64_t":$max_chunk_tokens, "int64_t":$workspace_fixed_bytes,
                        "int64_t":$workspace_bytes_per_token);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

// The storage type of a model's matmul and embedding weights (the compile's
// --weights-dtype). The values are codegen::WeightType's
// (hybridc/Codegen/KernelSpec.h), which the Halide kernels take as a plain
// C++ enum; codegen/lib/Lowering/WeightLayouts.cpp checks they agree.
def Hybrid_WeightType : I32EnumAttr<"WeightType", "storage type of matmul weights", [
    I32EnumAttrCase<"F32", 0, "f32">,
    I32EnumAttrCase<"BF16", 1, "bf16">,
    // Blocks of 32 along the inputs with one f32 scale each (Q8_0, Q4_0).
    I32EnumAttrCase<"INT8", 2, "int8">,
    I32EnumAttrCase<"INT4", 3, "int4">]> {
  let cppNamespace = "::hybrid";
  let genSpecializedAttr = 0;
}

// How a lowered module packs its weights: their type, and the shape of a
// packed block (lanes of output rows x groups of consecutive inputs), which
// codegen::linearPacking decides from the target and the type.
// hybrid-lower-to-kernels writes it on the module (hybrid.weight_packing);
// the compile checks it is the packing it will write.
def Hybrid_WeightPackingAttr : AttrDef<Hybrid_Dialect, "WeightPacking"> {
  let mnemonic = "weight_packing";
  let summary = "a lowered model's weight type and packed block shape";
  let parameters = (ins EnumParameter<Hybrid_WeightType>:$weight_type, "int64_t":$lanes,
                        "int64_t":$input_group);
  let assemblyFormat = "`<` $weight_type `,` `lanes` `=` $lanes `,` `input_group` `=` $input_group `>`";
  let genVerifyDecl = 1;
}

// One kernel the drivers call: what the code generator compiles (its kind,
// the weight type it reads, its integer sizes and float constants) and the
// type of each argument after the context pointer (a memref's rank and
// element type, or i32 for a scalar), which the glue needs to build
// halide_buffer_t's once the LLVM lowering has erased the memref types.
// hybrid-lower-to-kernels puts one on each kernel declaration
// (hybrid.kernel); it survives the LLVM lowering.
def Hybrid_KernelAttr : AttrDef<Hybrid_Dialect, "Kernel"> {
  let mnemonic = "kernel";
  let summary = "a kernel declaration: kind, weight type, sizes, constants, argument types";
  let parameters = (ins StringRefParameter<"the kernel kind">:$kind,
                        EnumParameter<Hybrid_WeightType>:$weight_type,
                        "::mlir::DictionaryAttr":$sizes,
                        "::mlir::DictionaryAttr":$constants,
                        ArrayRefParameter<"::mlir::Type", "argument types">:$args);
  let assemblyFormat = [{
    `<` $kind `,` $weight_type `,` `sizes` `=` $sizes `,` `constants` `=` $constants `,`
    `args` `=` `[` $args `]` `>`
  }];
  let genVerifyDecl = 1;
}

#endif // HYBRID_ATTRS_TD
