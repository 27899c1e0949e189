// A two-layer model in the importer's output shape: layer 0 Mamba2, layer 1
// NoPE GQA attention, both followed by MoE + shared MLP, tied lm_head. State
// flows in as arguments marked `hybrid.state` and out as results.
// H = 64, V = 512; Mamba: nh = 8, P = 16, N = 16, G = 1, K = 4
// (d_in = 128, conv dim = 160, in_proj = 2*128 + 2*16 + 8 = 296);
// attention: 4 heads, 2 kv heads, hd = 16; MoE: E = 4, I = 32, top-2; S = 64.
//
// RUN: hybridc-opt %s --mlir-print-debuginfo | hybridc-opt --mlir-print-debuginfo | FileCheck %s
// RUN: hybridc-opt %s -canonicalize -cse -hybrid-plan-state | FileCheck %s --check-prefix=PLAN

hybrid.weight @model.embed_tokens.weight : tensor<512x64xbf16>
hybrid.weight @model.norm.weight : tensor<64xbf16>
hybrid.weight @model.layers.0.input_layernorm.weight : tensor<64xbf16>
hybrid.weight @model.layers.0.mamba.in_proj.weight : tensor<296x64xbf16>
hybrid.weight @model.layers.0.mamba.conv1d.weight : tensor<160x1x4xbf16>
hybrid.weight @model.layers.0.mamba.conv1d.bias : tensor<160xbf16>
hybrid.weight @model.layers.0.mamba.dt_bias : tensor<8xbf16>
hybrid.weight @model.layers.0.mamba.A_log : tensor<8xbf16>
hybrid.weight @model.layers.0.mamba.D : tensor<8xbf16>
hybrid.weight @model.layers.0.mamba.norm.weight : tensor<128xbf16>
hybrid.weight @model.layers.0.mamba.out_proj.weight : tensor<64x128xbf16>
hybrid.weight @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
hybrid.weight @model.layers.0.block_sparse_moe.router.layer.weight : tensor<4x64xbf16>
hybrid.weight @model.layers.0.block_sparse_moe.input_linear.weight : tensor<4x64x64xbf16>
hybrid.weight @model.layers.0.block_sparse_moe.output_linear.weight : tensor<4x64x32xbf16>
hybrid.weight @model.layers.0.shared_mlp.input_linear.weight : tensor<128x64xbf16>
hybrid.weight @model.layers.0.shared_mlp.output_linear.weight : tensor<64x64xbf16>
hybrid.weight @model.layers.1.input_layernorm.weight : tensor<64xbf16>
hybrid.weight @model.layers.1.self_attn.q_proj.weight : tensor<64x64xbf16>
hybrid.weight @model.layers.1.self_attn.k_proj.weight : tensor<32x64xbf16>
hybrid.weight @model.layers.1.self_attn.v_proj.weight : tensor<32x64xbf16>
hybrid.weight @model.layers.1.self_attn.o_proj.weight : tensor<64x64xbf16>
hybrid.weight @model.layers.1.post_attention_layernorm.weight : tensor<64xbf16>
hybrid.weight @model.layers.1.block_sparse_moe.router.layer.weight : tensor<4x64xbf16>
hybrid.weight @model.layers.1.block_sparse_moe.input_linear.weight : tensor<4x64x64xbf16>
hybrid.weight @model.layers.1.block_sparse_moe.output_linear.weight : tensor<4x64x32xbf16>
hybrid.weight @model.layers.1.shared_mlp.input_linear.weight : tensor<128x64xbf16>
hybrid.weight @model.layers.1.shared_mlp.output_linear.weight : tensor<64x64xbf16>

// CHECK-LABEL: func.func @forward
// CHECK-SAME: {hybrid.state = "model.layers.0.conv"}
// CHECK-SAME: -> (tensor<?x512xf32>, tensor<3x160xf32>, tensor<8x16x16xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>)
// PLAN-LABEL: func.func @forward
// PLAN-SAME: tensor<3x160xf32> {hybrid.state = "model.layers.0.conv", hybrid.state_bytes = 1920 : i64, hybrid.state_offset = 0 : i64}
// PLAN-SAME: tensor<8x16x16xf32> {hybrid.state = "model.layers.0.ssm", hybrid.state_bytes = 8192 : i64, hybrid.state_offset = 1920 : i64}
// PLAN-SAME: tensor<2x?x16xf32> {hybrid.bytes_per_token = 128 : i64, hybrid.kv_segment = 0 : i64, hybrid.state = "model.layers.1.k_cache"}
// PLAN-SAME: tensor<2x?x16xf32> {hybrid.bytes_per_token = 128 : i64, hybrid.kv_segment = 2 : i64, hybrid.state = "model.layers.1.v_cache"}
// PLAN-SAME: attributes {hybrid.fixed_state_bytes = 10112 : i64, hybrid.kv_bytes_per_token = 256 : i64}
func.func @forward(%tokens: tensor<?xi32>,
                   %conv: tensor<3x160xf32> {hybrid.state = "model.layers.0.conv"},
                   %ssm: tensor<8x16x16xf32> {hybrid.state = "model.layers.0.ssm"},
                   %k_cache: tensor<2x?x16xf32> {hybrid.state = "model.layers.1.k_cache"},
                   %v_cache: tensor<2x?x16xf32> {hybrid.state = "model.layers.1.v_cache"})
    -> (tensor<?x512xf32>, tensor<3x160xf32>, tensor<8x16x16xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>) {
  %embed = hybrid.weight_ref @model.embed_tokens.weight : tensor<512x64xbf16>
  %x0 = hybrid.embed %tokens, %embed {multiplier = 12.0 : f32} : (tensor<?xi32>, tensor<512x64xbf16>) -> tensor<?x64xf32> loc("model.embed_tokens")

  // ---- layer 0: Mamba2 ----
  // CHECK: hybrid.ssm_scan {{.*}} loc(#[[L0:.*]])
  %ln0 = hybrid.weight_ref @model.layers.0.input_layernorm.weight : tensor<64xbf16> loc("model.layers.0.input_layernorm")
  %a0 = hybrid.rms_norm %x0, %ln0 {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xbf16>) -> tensor<?x64xf32> loc("model.layers.0.input_layernorm")
  %win = hybrid.weight_ref @model.layers.0.mamba.in_proj.weight : tensor<296x64xbf16> loc("model.layers.0.mamba")
  %proj = hybrid.linear %a0, %win : (tensor<?x64xf32>, tensor<296x64xbf16>) -> tensor<?x296xf32> loc("model.layers.0.mamba.in_proj")
  %z, %xbc, %dt = hybrid.split %proj {sizes = array<i64: 128, 160, 8>} : (tensor<?x296xf32>) -> (tensor<?x128xf32>, tensor<?x160xf32>, tensor<?x8xf32>) loc("model.layers.0.mamba")
  %cw = hybrid.weight_ref @model.layers.0.mamba.conv1d.weight : tensor<160x1x4xbf16> loc("model.layers.0.mamba")
  %cb = hybrid.weight_ref @model.layers.0.mamba.conv1d.bias : tensor<160xbf16> loc("model.layers.0.mamba")
  %xbc_act, %conv_new = hybrid.causal_conv1d %xbc, %conv, %cw, %cb {silu} : (tensor<?x160xf32>, tensor<3x160xf32>, tensor<160x1x4xbf16>, tensor<160xbf16>) -> (tensor<?x160xf32>, tensor<3x160xf32>) loc("model.layers.0.mamba.conv1d")
  %xs, %B, %C = hybrid.split %xbc_act {sizes = array<i64: 128, 16, 16>} : (tensor<?x160xf32>) -> (tensor<?x128xf32>, tensor<?x16xf32>, tensor<?x16xf32>) loc("model.layers.0.mamba")
  %alog = hybrid.weight_ref @model.layers.0.mamba.A_log : tensor<8xbf16> loc("model.layers.0.mamba")
  %dskip = hybrid.weight_ref @model.layers.0.mamba.D : tensor<8xbf16> loc("model.layers.0.mamba")
  %dtb = hybrid.weight_ref @model.layers.0.mamba.dt_bias : tensor<8xbf16> loc("model.layers.0.mamba")
  %y, %ssm_new = hybrid.ssm_scan %xs, %dt, %B, %C, %alog, %dskip, %dtb, %ssm {num_groups = 1 : i64} : (tensor<?x128xf32>, tensor<?x8xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<8xbf16>, tensor<8xbf16>, tensor<8xbf16>, tensor<8x16x16xf32>) -> (tensor<?x128xf32>, tensor<8x16x16xf32>) loc("model.layers.0.mamba")
  %nw = hybrid.weight_ref @model.layers.0.mamba.norm.weight : tensor<128xbf16> loc("model.layers.0.mamba")
  %gated = hybrid.gated_rms_norm %y, %z, %nw {eps = 1.0e-05 : f32, group_size = 128 : i64} : (tensor<?x128xf32>, tensor<?x128xf32>, tensor<128xbf16>) -> tensor<?x128xf32> loc("model.layers.0.mamba.norm")
  %wout = hybrid.weight_ref @model.layers.0.mamba.out_proj.weight : tensor<64x128xbf16> loc("model.layers.0.mamba")
  %m0 = hybrid.linear %gated, %wout : (tensor<?x128xf32>, tensor<64x128xbf16>) -> tensor<?x64xf32> loc("model.layers.0.mamba.out_proj")
  %x1 = hybrid.residual_add %x0, %m0 {multiplier = 0.22 : f32} : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32> loc("model.layers.0")
  %pln0 = hybrid.weight_ref @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16> loc("model.layers.0.post_attention_layernorm")
  %f0 = hybrid.rms_norm %x1, %pln0 {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xbf16>) -> tensor<?x64xf32> loc("model.layers.0.post_attention_layernorm")
  %r0 = hybrid.weight_ref @model.layers.0.block_sparse_moe.router.layer.weight : tensor<4x64xbf16> loc("model.layers.0.block_sparse_moe")
  %ei0 = hybrid.weight_ref @model.layers.0.block_sparse_moe.input_linear.weight : tensor<4x64x64xbf16> loc("model.layers.0.block_sparse_moe")
  %eo0 = hybrid.weight_ref @model.layers.0.block_sparse_moe.output_linear.weight : tensor<4x64x32xbf16> loc("model.layers.0.block_sparse_moe")
  %moe0 = hybrid.moe %f0, %r0, %ei0, %eo0 {top_k = 2 : i64} : (tensor<?x64xf32>, tensor<4x64xbf16>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>) -> tensor<?x64xf32> loc("model.layers.0.block_sparse_moe")
  %si0 = hybrid.weight_ref @model.layers.0.shared_mlp.input_linear.weight : tensor<128x64xbf16> loc("model.layers.0.shared_mlp")
  %so0 = hybrid.weight_ref @model.layers.0.shared_mlp.output_linear.weight : tensor<64x64xbf16> loc("model.layers.0.shared_mlp")
  %sh0 = hybrid.swiglu_mlp %f0, %si0, %so0 : (tensor<?x64xf32>, tensor<128x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xf32> loc("model.layers.0.shared_mlp")
  %o0 = hybrid.add %moe0, %sh0 : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32> loc("model.layers.0")
  %x2 = hybrid.residual_add %x1, %o0 {multiplier = 0.22 : f32} : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32> loc("model.layers.0")

  // ---- layer 1: attention ----
  // CHECK: hybrid.attention {{.*}} loc(#[[L1:.*]])
  %ln1 = hybrid.weight_ref @model.layers.1.input_layernorm.weight : tensor<64xbf16> loc("model.layers.1.input_layernorm")
  %a1 = hybrid.rms_norm %x2, %ln1 {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xbf16>) -> tensor<?x64xf32> loc("model.layers.1.input_layernorm")
  %wq = hybrid.weight_ref @model.layers.1.self_attn.q_proj.weight : tensor<64x64xbf16> loc("model.layers.1.self_attn")
  %wk = hybrid.weight_ref @model.layers.1.self_attn.k_proj.weight : tensor<32x64xbf16> loc("model.layers.1.self_attn")
  %wv = hybrid.weight_ref @model.layers.1.self_attn.v_proj.weight : tensor<32x64xbf16> loc("model.layers.1.self_attn")
  %wo = hybrid.weight_ref @model.layers.1.self_attn.o_proj.weight : tensor<64x64xbf16> loc("model.layers.1.self_attn")
  %q = hybrid.linear %a1, %wq : (tensor<?x64xf32>, tensor<64x64xbf16>) -> tensor<?x64xf32> loc("model.layers.1.self_attn.q_proj")
  %k = hybrid.linear %a1, %wk : (tensor<?x64xf32>, tensor<32x64xbf16>) -> tensor<?x32xf32> loc("model.layers.1.self_attn.k_proj")
  %v = hybrid.linear %a1, %wv : (tensor<?x64xf32>, tensor<32x64xbf16>) -> tensor<?x32xf32> loc("model.layers.1.self_attn.v_proj")
  %att, %k_new, %v_new = hybrid.attention %q, %k, %v, %k_cache, %v_cache {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>) -> (tensor<?x64xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>) loc("model.layers.1.self_attn")
  %m1 = hybrid.linear %att, %wo : (tensor<?x64xf32>, tensor<64x64xbf16>) -> tensor<?x64xf32> loc("model.layers.1.self_attn.o_proj")
  %x3 = hybrid.residual_add %x2, %m1 {multiplier = 0.22 : f32} : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32> loc("model.layers.1")
  %pln1 = hybrid.weight_ref @model.layers.1.post_attention_layernorm.weight : tensor<64xbf16> loc("model.layers.1.post_attention_layernorm")
  %f1 = hybrid.rms_norm %x3, %pln1 {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xbf16>) -> tensor<?x64xf32> loc("model.layers.1.post_attention_layernorm")
  %r1 = hybrid.weight_ref @model.layers.1.block_sparse_moe.router.layer.weight : tensor<4x64xbf16> loc("model.layers.1.block_sparse_moe")
  %ei1 = hybrid.weight_ref @model.layers.1.block_sparse_moe.input_linear.weight : tensor<4x64x64xbf16> loc("model.layers.1.block_sparse_moe")
  %eo1 = hybrid.weight_ref @model.layers.1.block_sparse_moe.output_linear.weight : tensor<4x64x32xbf16> loc("model.layers.1.block_sparse_moe")
  %moe1 = hybrid.moe %f1, %r1, %ei1, %eo1 {top_k = 2 : i64} : (tensor<?x64xf32>, tensor<4x64xbf16>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>) -> tensor<?x64xf32> loc("model.layers.1.block_sparse_moe")
  %si1 = hybrid.weight_ref @model.layers.1.shared_mlp.input_linear.weight : tensor<128x64xbf16> loc("model.layers.1.shared_mlp")
  %so1 = hybrid.weight_ref @model.layers.1.shared_mlp.output_linear.weight : tensor<64x64xbf16> loc("model.layers.1.shared_mlp")
  %sh1 = hybrid.swiglu_mlp %f1, %si1, %so1 : (tensor<?x64xf32>, tensor<128x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xf32> loc("model.layers.1.shared_mlp")
  %o1 = hybrid.add %moe1, %sh1 : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32> loc("model.layers.1")
  %x4 = hybrid.residual_add %x3, %o1 {multiplier = 0.22 : f32} : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32> loc("model.layers.1")

  // ---- head (tied to the embedding) ----
  // CHECK: hybrid.lm_head
  // PLAN: hybrid.lm_head {{.*}} {eps = 9.99999974E-6 : f32, logits_scaling = 8.000000e+00 : f32}
  %fn = hybrid.weight_ref @model.norm.weight : tensor<64xbf16> loc("model.norm")
  %logits = hybrid.lm_head %x4, %fn, %embed {eps = 1.0e-05 : f32, logits_scaling = 8.0 : f32} : (tensor<?x64xf32>, tensor<64xbf16>, tensor<512x64xbf16>) -> tensor<?x512xf32> loc("lm_head")
  // CHECK: return
  return %logits, %conv_new, %ssm_new, %k_new, %v_new : tensor<?x512xf32>, tensor<3x160xf32>, tensor<8x16x16xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>
}
// Layer locations survive the round trip.
// CHECK-DAG: #[[L0]] = loc("model.layers.0.mamba")
// CHECK-DAG: #[[L1]] = loc("model.layers.1.self_attn")
