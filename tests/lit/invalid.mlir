// Every verifier relation has a case; messages name the relation with its
// numbers. The " (layer N)" suffix for layer locations is checked in
// layer-loc.mlir: -verify-diagnostics can only match diagnostics at a file
// position, and the importer's NameLoc("model.layers.N.part") has none.
// RUN: hybridc-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{'hybrid.weight' op weight type must be a statically shaped tensor of f32, bf16 or f16, got 'tensor<4xi8>'}}
hybrid.weight @w : tensor<4xi8>

// -----

// expected-error @+1 {{weight type must be a statically shaped tensor of f32, bf16 or f16, got 'tensor<?x4xf32>'}}
hybrid.weight @w : tensor<?x4xf32>

// -----

func.func @weight_in_func() {
  // expected-error @+1 {{expects parent op 'builtin.module'}}
  hybrid.weight @w : tensor<4xf32>
  return
}

// -----

func.func @missing_weight() -> tensor<4xf32> {
  // expected-error @+1 {{'hybrid.weight_ref' op @model.norm.weight does not name a declared hybrid.weight}}
  %w = hybrid.weight_ref @model.norm.weight : tensor<4xf32>
  return %w : tensor<4xf32>
}

// -----

hybrid.weight @model.norm.weight : tensor<4xbf16>
func.func @wrong_weight_type() -> tensor<4xf32> {
  // expected-error @+1 {{result type 'tensor<4xf32>' does not match the type of weight @model.norm.weight ('tensor<4xbf16>')}}
  %w = hybrid.weight_ref @model.norm.weight : tensor<4xf32>
  return %w : tensor<4xf32>
}

// -----

func.func @not_a_weight() -> tensor<4xf32> {
  // expected-error @+1 {{@not_a_weight names a 'func.func', not a hybrid.weight}}
  %w = hybrid.weight_ref @not_a_weight : tensor<4xf32>
  return %w : tensor<4xf32>
}

// -----

func.func @embed_tokens(%t: tensor<?xf32>, %e: tensor<16x8xf32>) {
  // expected-error @+1 {{tokens must be a 1-D tensor of integers, got 'tensor<?xf32>'}}
  %x = hybrid.embed %t, %e {multiplier = 1.0 : f32} : (tensor<?xf32>, tensor<16x8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @embed_width(%t: tensor<?xi32>, %e: tensor<16x8xf32>) {
  // expected-error @+1 {{result.shape[1] (4) must equal table.shape[1] (8)}}
  %x = hybrid.embed %t, %e {multiplier = 1.0 : f32} : (tensor<?xi32>, tensor<16x8xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @embed_tokens_count(%t: tensor<3xi32>, %e: tensor<16x8xf32>) {
  // expected-error @+1 {{result.shape[0] (2) must equal tokens.shape[0] (3)}}
  %x = hybrid.embed %t, %e {multiplier = 1.0 : f32} : (tensor<3xi32>, tensor<16x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @bf16_activation(%x: tensor<?x8xbf16>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'hybrid.rms_norm' op x must have f32 elements, got 'tensor<?x8xbf16>'}}
  %y = hybrid.rms_norm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x8xbf16>, tensor<8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @int_weight(%x: tensor<?x8xf32>, %w: tensor<8xi8>) {
  // expected-error @+1 {{w must have f32, bf16 or f16 elements, got 'tensor<8xi8>'}}
  %y = hybrid.rms_norm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x8xf32>, tensor<8xi8>) -> tensor<?x8xf32>
  return
}

// -----

func.func @rms_norm_width(%x: tensor<?x8xf32>, %w: tensor<6xf32>) {
  // expected-error @+1 {{w.shape[0] (6) must equal x.shape[1] (8)}}
  %y = hybrid.rms_norm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x8xf32>, tensor<6xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @rms_norm_eps(%x: tensor<?x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{eps must be finite and >= 0, got -1}}
  %y = hybrid.rms_norm %x, %w {eps = -1.0 : f32} : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @rank(%x: tensor<?xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{x must have rank 2, got 'tensor<?xf32>'}}
  %y = hybrid.rms_norm %x, %w {eps = 1.0e-05 : f32} : (tensor<?xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @unranked(%x: tensor<*xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{x must be a ranked tensor, got 'tensor<*xf32>'}}
  %y = hybrid.rms_norm %x, %w {eps = 1.0e-05 : f32} : (tensor<*xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @linear_in(%x: tensor<?x8xf32>, %w: tensor<4x6xf32>) {
  // expected-error @+1 {{x.shape[1] (8) must equal w.shape[1] (6)}}
  %y = hybrid.linear %x, %w : (tensor<?x8xf32>, tensor<4x6xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @linear_out(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{result.shape[1] (5) must equal w.shape[0] (4)}}
  %y = hybrid.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x5xf32>
  return
}

// -----

func.func @linear_bias(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{b.shape[0] (8) must equal w.shape[0] (4)}}
  %y = hybrid.linear %x, %w, %b : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @linear_tokens(%x: tensor<3x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{result.shape[0] (2) must equal x.shape[0] (3)}}
  %y = hybrid.linear %x, %w : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @split_sum(%p: tensor<?x296xf32>) {
  // expected-error @+1 {{sizes sum to 295 but input.shape[1] is 296}}
  %a, %b, %c = hybrid.split %p {sizes = array<i64: 128, 160, 7>} : (tensor<?x296xf32>) -> (tensor<?x128xf32>, tensor<?x160xf32>, tensor<?x7xf32>)
  return
}

// -----

func.func @split_count(%p: tensor<?x8xf32>) {
  // expected-error @+1 {{has 1 results but 2 sizes}}
  %a = hybrid.split %p {sizes = array<i64: 4, 4>} : (tensor<?x8xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @split_result_width(%p: tensor<?x8xf32>) {
  // expected-error @+1 {{result #1.shape[1] (3) must equal sizes[1] (5)}}
  %a, %b = hybrid.split %p {sizes = array<i64: 3, 5>} : (tensor<?x8xf32>) -> (tensor<?x3xf32>, tensor<?x3xf32>)
  return
}

// -----

func.func @split_nonpositive(%p: tensor<?x8xf32>) {
  // expected-error @+1 {{sizes[0] must be positive, got 0}}
  %a, %b = hybrid.split %p {sizes = array<i64: 0, 8>} : (tensor<?x8xf32>) -> (tensor<?x0xf32>, tensor<?x8xf32>)
  return
}

// -----

func.func @conv_channels(%x: tensor<?x160xf32>, %s: tensor<3x160xf32>, %w: tensor<128x1x4xf32>) {
  // expected-error @+1 {{w.shape[0] (128) must equal x.shape[1] (160)}}
  %y, %s2 = hybrid.causal_conv1d %x, %s, %w : (tensor<?x160xf32>, tensor<3x160xf32>, tensor<128x1x4xf32>) -> (tensor<?x160xf32>, tensor<3x160xf32>)
  return
}

// -----

func.func @conv_bias(%x: tensor<?x160xf32>, %s: tensor<3x160xf32>, %w: tensor<160x1x4xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{b.shape[0] (16) must equal x.shape[1] (160)}}
  %y, %s2 = hybrid.causal_conv1d %x, %s, %w, %b : (tensor<?x160xf32>, tensor<3x160xf32>, tensor<160x1x4xf32>, tensor<16xf32>) -> (tensor<?x160xf32>, tensor<3x160xf32>)
  return
}

// -----

func.func @conv_not_depthwise(%x: tensor<?x160xf32>, %s: tensor<3x160xf32>, %w: tensor<160x2x4xf32>) {
  // expected-error @+1 {{w.shape[1] must be 1 (depthwise [C, 1, K]), got 2}}
  %y, %s2 = hybrid.causal_conv1d %x, %s, %w : (tensor<?x160xf32>, tensor<3x160xf32>, tensor<160x2x4xf32>) -> (tensor<?x160xf32>, tensor<3x160xf32>)
  return
}

// -----

func.func @conv_new_state(%x: tensor<?x160xf32>, %s: tensor<3x160xf32>, %w: tensor<160x1x4xf32>) {
  // expected-error @+1 {{new_state.shape[0] (4) must equal state.shape[0] (3)}}
  %y, %s2 = hybrid.causal_conv1d %x, %s, %w : (tensor<?x160xf32>, tensor<3x160xf32>, tensor<160x1x4xf32>) -> (tensor<?x160xf32>, tensor<4x160xf32>)
  return
}

// -----

func.func @conv_bf16_state(%x: tensor<?x160xf32>, %s: tensor<3x160xbf16>, %w: tensor<160x1x4xf32>) {
  // expected-error @+1 {{state must have f32 elements, got 'tensor<3x160xbf16>'}}
  %y, %s2 = hybrid.causal_conv1d %x, %s, %w : (tensor<?x160xf32>, tensor<3x160xbf16>, tensor<160x1x4xf32>) -> (tensor<?x160xf32>, tensor<3x160xbf16>)
  return
}

// -----

func.func @ssm_groups(%x: tensor<?x96xf32>, %dt: tensor<?x6xf32>, %b: tensor<?x64xf32>, %v: tensor<6xf32>, %s: tensor<6x16x16xf32>) {
  // expected-error @+1 {{num_heads (6) must be divisible by num_groups (4)}}
  %y, %s2 = hybrid.ssm_scan %x, %dt, %b, %b, %v, %v, %v, %s {num_groups = 4 : i64} : (tensor<?x96xf32>, tensor<?x6xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6x16x16xf32>) -> (tensor<?x96xf32>, tensor<6x16x16xf32>)
  return
}

// -----

func.func @ssm_x_width(%x: tensor<?x100xf32>, %dt: tensor<?x8xf32>, %b: tensor<?x16xf32>, %v: tensor<8xf32>, %s: tensor<8x16x16xf32>) {
  // expected-error @+1 {{x.shape[1] (100) must equal num_heads * head_dim = 8 * 16 = 128 (head_dim from state.shape[1])}}
  %y, %s2 = hybrid.ssm_scan %x, %dt, %b, %b, %v, %v, %v, %s {num_groups = 1 : i64} : (tensor<?x100xf32>, tensor<?x8xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8x16x16xf32>) -> (tensor<?x100xf32>, tensor<8x16x16xf32>)
  return
}

// -----

func.func @ssm_b_width(%x: tensor<?x128xf32>, %dt: tensor<?x8xf32>, %b: tensor<?x32xf32>, %c: tensor<?x16xf32>, %v: tensor<8xf32>, %s: tensor<8x16x16xf32>) {
  // expected-error @+1 {{B.shape[1] (32) must equal num_groups * d_state = 1 * 16 = 16 (d_state from state.shape[2])}}
  %y, %s2 = hybrid.ssm_scan %x, %dt, %b, %c, %v, %v, %v, %s {num_groups = 1 : i64} : (tensor<?x128xf32>, tensor<?x8xf32>, tensor<?x32xf32>, tensor<?x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8x16x16xf32>) -> (tensor<?x128xf32>, tensor<8x16x16xf32>)
  return
}

// -----

func.func @ssm_c_width(%x: tensor<?x128xf32>, %dt: tensor<?x8xf32>, %b: tensor<?x32xf32>, %c: tensor<?x16xf32>, %v: tensor<8xf32>, %s: tensor<8x16x16xf32>) {
  // expected-error @+1 {{C.shape[1] (16) must equal num_groups * d_state = 2 * 16 = 32 (d_state from state.shape[2])}}
  %y, %s2 = hybrid.ssm_scan %x, %dt, %b, %c, %v, %v, %v, %s {num_groups = 2 : i64} : (tensor<?x128xf32>, tensor<?x8xf32>, tensor<?x32xf32>, tensor<?x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8x16x16xf32>) -> (tensor<?x128xf32>, tensor<8x16x16xf32>)
  return
}

// -----

func.func @ssm_state_heads(%x: tensor<?x128xf32>, %dt: tensor<?x8xf32>, %b: tensor<?x16xf32>, %v: tensor<8xf32>, %s: tensor<4x32x16xf32>) {
  // expected-error @+1 {{state.shape[0] (4) must equal dt.shape[1] (8)}}
  %y, %s2 = hybrid.ssm_scan %x, %dt, %b, %b, %v, %v, %v, %s {num_groups = 1 : i64} : (tensor<?x128xf32>, tensor<?x8xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<4x32x16xf32>) -> (tensor<?x128xf32>, tensor<4x32x16xf32>)
  return
}

// -----

func.func @ssm_new_state(%x: tensor<?x128xf32>, %dt: tensor<?x8xf32>, %b: tensor<?x16xf32>, %v: tensor<8xf32>, %s: tensor<8x16x16xf32>) {
  // expected-error @+1 {{new_state.shape[2] (8) must equal state.shape[2] (16)}}
  %y, %s2 = hybrid.ssm_scan %x, %dt, %b, %b, %v, %v, %v, %s {num_groups = 1 : i64} : (tensor<?x128xf32>, tensor<?x8xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8x16x16xf32>) -> (tensor<?x128xf32>, tensor<8x16x8xf32>)
  return
}

// -----

func.func @ssm_vector_length(%x: tensor<?x128xf32>, %dt: tensor<?x8xf32>, %b: tensor<?x16xf32>, %v: tensor<8xf32>, %a: tensor<7xf32>, %s: tensor<8x16x16xf32>) {
  // expected-error @+1 {{A_log.shape[0] (7) must equal dt.shape[1] (8)}}
  %y, %s2 = hybrid.ssm_scan %x, %dt, %b, %b, %a, %v, %v, %s {num_groups = 1 : i64} : (tensor<?x128xf32>, tensor<?x8xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<7xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8x16x16xf32>) -> (tensor<?x128xf32>, tensor<8x16x16xf32>)
  return
}

// -----

func.func @ssm_tokens(%x: tensor<4x128xf32>, %dt: tensor<5x8xf32>, %b: tensor<?x16xf32>, %v: tensor<8xf32>, %s: tensor<8x16x16xf32>) {
  // expected-error @+1 {{dt.shape[0] (5) must equal x.shape[0] (4)}}
  %y, %s2 = hybrid.ssm_scan %x, %dt, %b, %b, %v, %v, %v, %s {num_groups = 1 : i64} : (tensor<4x128xf32>, tensor<5x8xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8x16x16xf32>) -> (tensor<4x128xf32>, tensor<8x16x16xf32>)
  return
}

// -----

func.func @ssm_dt_limits(%x: tensor<?x128xf32>, %dt: tensor<?x8xf32>, %b: tensor<?x16xf32>, %v: tensor<8xf32>, %s: tensor<8x16x16xf32>) {
  // expected-error @+1 {{dt_min (2) must not exceed dt_max (1)}}
  %y, %s2 = hybrid.ssm_scan %x, %dt, %b, %b, %v, %v, %v, %s {num_groups = 1 : i64, dt_min = 2.0 : f32, dt_max = 1.0 : f32} : (tensor<?x128xf32>, tensor<?x8xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8x16x16xf32>) -> (tensor<?x128xf32>, tensor<8x16x16xf32>)
  return
}

// -----

func.func @gated_group(%y: tensor<?x128xf32>, %w: tensor<128xf32>) {
  // expected-error @+1 {{width (128) must be divisible by group_size (48)}}
  %r = hybrid.gated_rms_norm %y, %y, %w {eps = 1.0e-05 : f32, group_size = 48 : i64} : (tensor<?x128xf32>, tensor<?x128xf32>, tensor<128xf32>) -> tensor<?x128xf32>
  return
}

// -----

func.func @gated_gate_width(%y: tensor<?x128xf32>, %z: tensor<?x64xf32>, %w: tensor<128xf32>) {
  // expected-error @+1 {{z.shape[1] (64) must equal y.shape[1] (128)}}
  %r = hybrid.gated_rms_norm %y, %z, %w {eps = 1.0e-05 : f32, group_size = 64 : i64} : (tensor<?x128xf32>, tensor<?x64xf32>, tensor<128xf32>) -> tensor<?x128xf32>
  return
}

// -----

func.func @gqa_heads(%q: tensor<?x64xf32>, %k: tensor<?x48xf32>, %c: tensor<3x?x16xf32>) {
  // expected-error @+1 {{'hybrid.attention' op num_heads (4) must be divisible by num_kv_heads (3)}}
  %o, %k2, %v2 = hybrid.attention %q, %k, %k, %c, %c {num_heads = 4 : i64, num_kv_heads = 3 : i64, scale = 0.0625 : f32} : (tensor<?x64xf32>, tensor<?x48xf32>, tensor<?x48xf32>, tensor<3x?x16xf32>, tensor<3x?x16xf32>) -> (tensor<?x64xf32>, tensor<3x?x16xf32>, tensor<3x?x16xf32>)
  return
}

// -----

func.func @attn_kv_width(%q: tensor<?x64xf32>, %k: tensor<?x64xf32>, %c: tensor<2x?x16xf32>) {
  // expected-error @+1 {{k.shape[1] (64) must equal num_kv_heads * head_dim = 2 * 16 = 32}}
  %o, %k2, %v2 = hybrid.attention %q, %k, %k, %c, %c {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>) -> (tensor<?x64xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>)
  return
}

// -----

func.func @attn_q_width(%q: tensor<?x48xf32>, %k: tensor<?x32xf32>, %c: tensor<2x?x16xf32>) {
  // expected-error @+1 {{q.shape[1] (48) must equal num_heads * head_dim = 4 * 16 = 64}}
  %o, %k2, %v2 = hybrid.attention %q, %k, %k, %c, %c {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<?x48xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>) -> (tensor<?x48xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>)
  return
}

// -----

func.func @attn_cache_heads(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %c: tensor<4x?x16xf32>) {
  // expected-error @+1 {{k_cache.shape[0] (4) must equal num_kv_heads (2)}}
  %o, %k2, %v2 = hybrid.attention %q, %k, %k, %c, %c {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<4x?x16xf32>, tensor<4x?x16xf32>) -> (tensor<?x64xf32>, tensor<4x?x16xf32>, tensor<4x?x16xf32>)
  return
}

// -----

func.func @attn_head_dim(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %kc: tensor<2x?x16xf32>, %vc: tensor<2x?x8xf32>) {
  // expected-error @+1 {{v_cache.shape[2] (8) must equal k_cache.shape[2] (16)}}
  %o, %k2, %v2 = hybrid.attention %q, %k, %k, %kc, %vc {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<2x?x16xf32>, tensor<2x?x8xf32>) -> (tensor<?x64xf32>, tensor<2x?x16xf32>, tensor<2x?x8xf32>)
  return
}

// -----

func.func @attn_cache_growth(%q: tensor<2x64xf32>, %k: tensor<2x32xf32>, %c: tensor<2x5x16xf32>) {
  // expected-error @+1 {{new_k_cache.shape[1] (6) must equal k_cache.shape[1] + tokens = 5 + 2 = 7}}
  %o, %k2, %v2 = hybrid.attention %q, %k, %k, %c, %c {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<2x64xf32>, tensor<2x32xf32>, tensor<2x32xf32>, tensor<2x5x16xf32>, tensor<2x5x16xf32>) -> (tensor<2x64xf32>, tensor<2x6x16xf32>, tensor<2x6x16xf32>)
  return
}

// -----

func.func @moe_top_k(%f: tensor<?x64xf32>, %r: tensor<4x64xf32>, %wi: tensor<4x64x64xbf16>, %wo: tensor<4x64x32xbf16>) {
  // expected-error @+1 {{top_k (5) must not exceed the number of experts (4)}}
  %m = hybrid.moe %f, %r, %wi, %wo {top_k = 5 : i64} : (tensor<?x64xf32>, tensor<4x64xf32>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_top_k_zero(%f: tensor<?x64xf32>, %r: tensor<4x64xf32>, %wi: tensor<4x64x64xbf16>, %wo: tensor<4x64x32xbf16>) {
  // expected-error @+1 {{top_k must be >= 1, got 0}}
  %m = hybrid.moe %f, %r, %wi, %wo {top_k = 0 : i64} : (tensor<?x64xf32>, tensor<4x64xf32>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_experts(%f: tensor<?x64xf32>, %r: tensor<4x64xf32>, %wi: tensor<8x64x64xbf16>, %wo: tensor<4x64x32xbf16>) {
  // expected-error @+1 {{w_in.shape[0] (8) must equal router.shape[0] (4)}}
  %m = hybrid.moe %f, %r, %wi, %wo {top_k = 2 : i64} : (tensor<?x64xf32>, tensor<4x64xf32>, tensor<8x64x64xbf16>, tensor<4x64x32xbf16>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_inner(%f: tensor<?x64xf32>, %r: tensor<4x64xf32>, %wi: tensor<4x64x64xbf16>, %wo: tensor<4x64x16xbf16>) {
  // expected-error @+1 {{w_in.shape[1] (64) must equal 2 * w_out.shape[2] = 2 * 16 = 32}}
  %m = hybrid.moe %f, %r, %wi, %wo {top_k = 2 : i64} : (tensor<?x64xf32>, tensor<4x64xf32>, tensor<4x64x64xbf16>, tensor<4x64x16xbf16>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_hidden(%f: tensor<?x64xf32>, %r: tensor<4x32xf32>, %wi: tensor<4x64x64xbf16>, %wo: tensor<4x64x32xbf16>) {
  // expected-error @+1 {{router.shape[1] (32) must equal f.shape[1] (64)}}
  %m = hybrid.moe %f, %r, %wi, %wo {top_k = 2 : i64} : (tensor<?x64xf32>, tensor<4x32xf32>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>) -> tensor<?x64xf32>
  return
}

// -----

func.func @swiglu_inner(%f: tensor<?x64xf32>, %wi: tensor<128x64xf32>, %wo: tensor<64x32xf32>) {
  // expected-error @+1 {{w_in.shape[0] (128) must equal 2 * w_out.shape[1] = 2 * 32 = 64}}
  %s = hybrid.swiglu_mlp %f, %wi, %wo : (tensor<?x64xf32>, tensor<128x64xf32>, tensor<64x32xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @swiglu_odd(%f: tensor<?x64xf32>, %wi: tensor<127x64xf32>, %wo: tensor<64x32xf32>) {
  // expected-error @+1 {{w_in.shape[0] (127) must be even (gate rows then up rows)}}
  %s = hybrid.swiglu_mlp %f, %wi, %wo : (tensor<?x64xf32>, tensor<127x64xf32>, tensor<64x32xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @add_types(%a: tensor<?x64xf32>, %b: tensor<4x64xf32>) {
  // expected-error @+1 {{rhs type 'tensor<4x64xf32>' must equal lhs type 'tensor<?x64xf32>'}}
  %s = hybrid.add %a, %b : (tensor<?x64xf32>, tensor<4x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @residual_result(%a: tensor<?x64xf32>) {
  // expected-error @+1 {{result type 'tensor<?x32xf32>' must equal x type 'tensor<?x64xf32>'}}
  %s = hybrid.residual_add %a, %a {multiplier = 0.22 : f32} : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @lm_head_scaling(%x: tensor<?x64xf32>, %n: tensor<64xf32>, %w: tensor<512x64xf32>) {
  // expected-error @+1 {{logits_scaling must be finite and non-zero, got 0}}
  %l = hybrid.lm_head %x, %n, %w {eps = 1.0e-05 : f32, logits_scaling = 0.0 : f32} : (tensor<?x64xf32>, tensor<64xf32>, tensor<512x64xf32>) -> tensor<?x512xf32>
  return
}

// -----

func.func @lm_head_vocab(%x: tensor<?x64xf32>, %n: tensor<64xf32>, %w: tensor<512x64xf32>) {
  // expected-error @+1 {{result.shape[1] (500) must equal w.shape[0] (512)}}
  %l = hybrid.lm_head %x, %n, %w {eps = 1.0e-05 : f32, logits_scaling = 1.5 : f32} : (tensor<?x64xf32>, tensor<64xf32>, tensor<512x64xf32>) -> tensor<?x500xf32>
  return
}

// -----

// expected-error @+1 {{'func.func' op argument #0: 'hybrid.state' must be a non-empty string naming the state, got 3 : i64}}
func.func @state_attr(%s: tensor<3x160xf32> {hybrid.state = 3}) {
  return
}

// -----

// The KV dtype is one of the enum's cases; the parser says which it got.
func.func @kv_dtype_unknown(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %c: tensor<2x?x16xf32>) {
  // expected-error @+2 {{expected ::hybrid::KvDtype to be one of: f32, bf16, int8}}
  // expected-error @+1 {{failed to parse Hybrid_KvDtypeAttr parameter 'value' which is to be a `::hybrid::KvDtype`}}
  %o, %k2, %v2 = hybrid.attention %q, %k, %k, %c, %c {kv_dtype = #hybrid.kv_dtype<fp8>, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>) -> (tensor<?x64xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>)
  return
}
