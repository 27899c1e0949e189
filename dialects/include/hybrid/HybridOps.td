//===- HybridOps.td - ops of the hybrid dialect ------------*- tablegen -*-===//
//
// Operand and result types are deliberately unconstrained (AnyType) in ODS:
// every op has a hand-written verifier (HybridOps.cpp) that checks ranks,
// element types and all shape relations, so that every error names the
// relation that failed, with numbers, and the model layer the op belongs to.
// ODS-generated type-constraint errors could do neither.
//
// Shapes below: T = tokens (first dim, usually dynamic), weights use the
// checkpoint's (PyTorch) layout.
//
//===----------------------------------------------------------------------===//

#ifndef HYBRID_OPS_TD
#define HYBRID_OPS_TD

include "HybridDialect.td"
include "HybridAttrs.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def Hybrid_WeightOp : Hybrid_Op<"weight",
    [Symbol, HasParent<"::mlir::ModuleOp">]> {
  let summary = "Declares a checkpoint tensor";
  let description = [{
    A module-level declaration of one weight tensor. `sym_name` is the
    checkpoint tensor name verbatim (dots are valid in symbol names); `type`
    is a ranked tensor of f32, bf16 or f16. The data lives outside the IR.
    An optional `hybrid.min_bits` (i64) asks for at least that many bits per
    stored weight: an int4 model keeps a matrix marked 8 in int8.

    ```mlir
    hybrid.weight @model.embed_tokens.weight : tensor<512x64xf32>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<AnyType>:$type);
  let assemblyFormat = "$sym_name attr-dict `:` $type";
  let hasVerifier = 1;
}

def Hybrid_WeightRefOp : Hybrid_Op<"weight_ref",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Reads a declared weight";
  let description = [{
    ```mlir
    %w = hybrid.weight_ref @model.embed_tokens.weight : tensor<512x64xf32>
    ```
    The symbol must name a `hybrid.weight` of exactly the result type.
  }];
  let arguments = (ins FlatSymbolRefAttr:$weight);
  let results = (outs AnyType:$result);
  let assemblyFormat = "$weight attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Compute ops
//===----------------------------------------------------------------------===//

def Hybrid_EmbedOp : Hybrid_Op<"embed", [Pure]> {
  let summary = "Embedding lookup scaled by the embedding multiplier";
  let description = [{
    `x[t] = table[tokens[t]] * multiplier`; tokens `[T]` integer, table
    `[V, H]`, result `[T, H]` f32.
  }];
  let arguments = (ins AnyType:$tokens, AnyType:$table, F32Attr:$multiplier);
  let results = (outs AnyType:$result);
  let assemblyFormat =
      "$tokens `,` $table attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Hybrid_RMSNormOp : Hybrid_Op<"rms_norm", [Pure]> {
  let summary = "RMSNorm over the last dimension";
  let description = [{
    `out = w * x / sqrt(mean(x^2) + eps)`; x `[T, H]`, w `[H]`.
  }];
  let arguments = (ins AnyType:$input, AnyType:$weight, F32Attr:$eps);
  let results = (outs AnyType:$result);
  let assemblyFormat =
      "$input `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Hybrid_LinearOp : Hybrid_Op<"linear", [Pure]> {
  let summary = "Dense projection y = x W^T (+ b)";
  let description = [{
    x `[T, IN]`, w `[OUT, IN]` (PyTorch order), optional b `[OUT]`,
    result `[T, OUT]`.
  }];
  let arguments = (ins AnyType:$input, AnyType:$weight,
                       Optional<AnyType>:$bias);
  let results = (outs AnyType:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Hybrid_SplitOp : Hybrid_Op<"split", [Pure]> {
  let summary = "Splits the last dimension into consecutive slices";
  let description = [{
    Result i is columns `[sum(sizes[0..i)), sum(sizes[0..i]))` of the input;
    the sizes must add up to the input width.
  }];
  let arguments = (ins AnyType:$input, DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<AnyType>:$results);
  let assemblyFormat =
      "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Hybrid_CausalConv1dOp : Hybrid_Op<"causal_conv1d", [Pure]> {
  let summary = "Depthwise causal conv1d with carried state";
  let description = [{
    x `[T, C]`, state `[K-1, C]` (the last K-1 raw inputs, time-major),
    weight `[C, 1, K]` (HF layout), optional bias `[C]`. Convolves
    `concat(state, x)`; tap K-1 multiplies the current token. With `silu`,
    SiLU is applied after the bias. Results: y `[T, C]` and the new state
    `[K-1, C]` (the last K-1 rows of the concatenation).
  }];
  let arguments = (ins AnyType:$input, AnyType:$state, AnyType:$weight,
                       Optional<AnyType>:$bias, UnitAttr:$silu);
  let results = (outs AnyType:$result, AnyType:$new_state);
  let assemblyFormat =
      "$input `,` $state `,` $weight (`,` $bias^)? attr-dict `:` "
      "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Hybrid_SSMScanOp : Hybrid_Op<"ssm_scan", [Pure]> {
  let summary = "Mamba2 selective state-space scan";
  let description = [{
    x `[T, nh*P]`, dt `[T, nh]` (raw: dt = softplus(dt + dt_bias), clamped
    to [dt_min, dt_max] when given), B and C `[T, G*N]`, A_log, D and
    dt_bias `[nh]` (A = -exp(A_log)), state `[nh, P, N]` f32.
    Results: y `[T, nh*P]` (without the gate) and the new state.
    Head h uses group h / (nh / G).
  }];
  let arguments = (ins AnyType:$input, AnyType:$dt, AnyType:$B, AnyType:$C,
                       AnyType:$A_log, AnyType:$D, AnyType:$dt_bias,
                       AnyType:$state, I64Attr:$num_groups,
                       OptionalAttr<F32Attr>:$dt_min,
                       OptionalAttr<F32Attr>:$dt_max);
  let results = (outs AnyType:$result, AnyType:$new_state);
  let assemblyFormat =
      "$input `,` $dt `,` $B `,` $C `,` $A_log `,` $D `,` $dt_bias `,` $state "
      "attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Hybrid_GatedRMSNormOp : Hybrid_Op<"gated_rms_norm", [Pure]> {
  let summary = "Gated grouped RMSNorm (gate applied before the norm)";
  let description = [{
    `q = y * silu(z)`; `out = w * q / sqrt(mean_group(q^2) + eps)` where the
    mean runs over contiguous groups of `group_size` channels.
    y, z `[T, D]`, w `[D]`, D % group_size == 0.
  }];
  let arguments = (ins AnyType:$input, AnyType:$gate, AnyType:$weight,
                       F32Attr:$eps, I64Attr:$group_size);
  let results = (outs AnyType:$result);
  let assemblyFormat = "$input `,` $gate `,` $weight attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Hybrid_AttentionOp : Hybrid_Op<"attention", [Pure]> {
  let summary = "Causal NoPE grouped-query attention with KV cache";
  let description = [{
    q `[T, heads*hd]`, k and v `[T, kv*hd]`, caches `[kv, L, hd]`.
    Appends k and v to the caches and attends causally over all L + T
    positions; scores are scaled by `scale` (which replaces 1/sqrt(hd)).
    Query head h reads kv head h / (heads / kv). Results: out
    `[T, heads*hd]` (heads concatenated head-major), new caches
    `[kv, L+T, hd]`. `kv_dtype` is how the caches store their rows: k and
    v are rounded (bf16) or quantized (int8) as they are appended, and the
    attention reads them so, the new rows included.
  }];
  let arguments = (ins AnyType:$q, AnyType:$k, AnyType:$v,
                       AnyType:$k_cache, AnyType:$v_cache,
                       I64Attr:$num_heads, I64Attr:$num_kv_heads,
                       F32Attr:$scale,
                       DefaultValuedAttr<Hybrid_KvDtypeAttr,
                                         "::hybrid::KvDtype::f32">:$kv_dtype);
  let results = (outs AnyType:$result, AnyType:$new_k_cache,
                      AnyType:$new_v_cache);
  let assemblyFormat =
      "$q `,` $k `,` $v `,` $k_cache `,` $v_cache attr-dict `:` "
      "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Hybrid_MoEOp : Hybrid_Op<"moe", [Pure]> {
  let summary = "Top-k mixture of SwiGLU experts";
  let description = [{
    f `[T, H]`, router `[E, H]`, w_in `[E, 2I, H]` (rows 0..I-1 gate,
    I..2I-1 up), w_out `[E, H, I]`; top-k by raw router logits, gates =
    softmax over the selected logits. Result `[T, H]`.
  }];
  let arguments = (ins AnyType:$input, AnyType:$router, AnyType:$w_in,
                       AnyType:$w_out, I64Attr:$top_k);
  let results = (outs AnyType:$result);
  let assemblyFormat = "$input `,` $router `,` $w_in `,` $w_out attr-dict "
                       "`:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Hybrid_SwiGLUMLPOp : Hybrid_Op<"swiglu_mlp", [Pure]> {
  let summary = "Shared SwiGLU MLP";
  let description = [{
    `u = w_in f`; `out = w_out (silu(u[0:S]) * u[S:2S])`;
    f `[T, H]`, w_in `[2S, H]`, w_out `[H, S]`.
  }];
  let arguments = (ins AnyType:$input, AnyType:$w_in, AnyType:$w_out);
  let results = (outs AnyType:$result);
  let assemblyFormat = "$input `,` $w_in `,` $w_out attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Hybrid_AddOp : Hybrid_Op<"add", [Pure, Commutative]> {
  let summary = "Elementwise sum of two activations of the same type";
  let arguments = (ins AnyType:$lhs, AnyType:$rhs);
  let results = (outs AnyType:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Hybrid_ResidualAddOp : Hybrid_Op<"residual_add", [Pure]> {
  let summary = "x + multiplier * branch";
  let arguments = (ins AnyType:$input, AnyType:$branch, F32Attr:$multiplier);
  let results = (outs AnyType:$result);
  let assemblyFormat = "$input `,` $branch attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Hybrid_LMHeadOp : Hybrid_Op<"lm_head", [Pure]> {
  let summary = "Final RMSNorm + vocabulary projection + logit scaling";
  let description = [{
    `logits = (w . rmsnorm(x; norm_w, eps)) / logits_scaling`;
    x `[T, H]`, norm_w `[H]`, w `[V, H]`, result `[T, V]`.
  }];
  let arguments = (ins AnyType:$input, AnyType:$norm_weight, AnyType:$weight,
                       F32Attr:$eps, F32Attr:$logits_scaling);
  let results = (outs AnyType:$result);
  let assemblyFormat = "$input `,` $norm_weight `,` $weight attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // HYBRID_OPS_TD
