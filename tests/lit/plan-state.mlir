// hybrid-plan-state: per-argument state sizes and per-function totals.
// RUN: hybridc-opt %s -hybrid-plan-state -split-input-file -verify-diagnostics | FileCheck %s

// conv [3,160] f32 = 1920 B, ssm [8,16,16] f32 = 8192 B; the KV caches
// [2,?,16] cost 2*16*4 = 128 B per token each.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: %{{.*}}: tensor<?xi32>,
// CHECK-SAME: %{{.*}}: tensor<3x160xf32> {hybrid.state = "model.layers.0.conv", hybrid.state_bytes = 1920 : i64, hybrid.state_offset = 0 : i64}
// CHECK-SAME: %{{.*}}: tensor<8x16x16xf32> {hybrid.state = "model.layers.0.ssm", hybrid.state_bytes = 8192 : i64, hybrid.state_offset = 1920 : i64}
// CHECK-SAME: %{{.*}}: tensor<2x?x16xf32> {hybrid.bytes_per_token = 128 : i64, hybrid.kv_segment = 0 : i64, hybrid.state = "model.layers.1.k_cache"}
// CHECK-SAME: %{{.*}}: tensor<2x?x16xf32> {hybrid.bytes_per_token = 128 : i64, hybrid.kv_segment = 2 : i64, hybrid.state = "model.layers.1.v_cache"}
// CHECK-SAME: attributes {hybrid.fixed_state_bytes = 10112 : i64, hybrid.kv_bytes_per_token = 256 : i64}
func.func @forward(%tokens: tensor<?xi32>,
                   %conv: tensor<3x160xf32> {hybrid.state = "model.layers.0.conv"},
                   %ssm: tensor<8x16x16xf32> {hybrid.state = "model.layers.0.ssm"},
                   %kc: tensor<2x?x16xf32> {hybrid.state = "model.layers.1.k_cache"},
                   %vc: tensor<2x?x16xf32> {hybrid.state = "model.layers.1.v_cache"}) {
  return
}

// A function without state is left alone.
// CHECK-LABEL: func.func @no_state(%{{.*}}: tensor<?xi32>) {
func.func @no_state(%tokens: tensor<?xi32>) {
  return
}

// -----

// Each fixed state starts on a 64-byte line: 3*4 = 12 bytes, then 5*4 = 20
// at 64, the blob padded to 128.
// CHECK-LABEL: func.func @padded
// CHECK-SAME: {hybrid.state = "a", hybrid.state_bytes = 12 : i64, hybrid.state_offset = 0 : i64}
// CHECK-SAME: {hybrid.state = "b", hybrid.state_bytes = 20 : i64, hybrid.state_offset = 64 : i64}
// CHECK-SAME: attributes {hybrid.fixed_state_bytes = 128 : i64, hybrid.kv_bytes_per_token = 0 : i64}
func.func @padded(%a: tensor<3xf32> {hybrid.state = "a"}, %b: tensor<5xf32> {hybrid.state = "b"}) {
  return
}

// -----

// Only KV caches: no fixed state.
// CHECK-LABEL: func.func @attention_only
// CHECK-SAME: attributes {hybrid.fixed_state_bytes = 0 : i64, hybrid.kv_bytes_per_token = 512 : i64}
func.func @attention_only(%kc: tensor<4x?x32xf32> {hybrid.state = "model.layers.0.k_cache"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op state argument #1 ("model.layers.0.ssm") must be a ranked f32 tensor, got 'tensor<8x16x16xbf16>'}}
func.func @bf16_state(%tokens: tensor<?xi32>, %ssm: tensor<8x16x16xbf16> {hybrid.state = "model.layers.0.ssm"}) {
  return
}

// -----

// expected-error @+1 {{state argument #0 ("model.layers.0.conv") must be a ranked f32 tensor, got 'tensor<*xf32>'}}
func.func @unranked_state(%conv: tensor<*xf32> {hybrid.state = "model.layers.0.conv"}) {
  return
}

// -----

// expected-error @+1 {{state argument #0 ("model.layers.2.k_cache") may have at most one dynamic dimension (the KV cache length), got 'tensor<?x?x16xf32>'}}
func.func @two_dynamic(%kc: tensor<?x?x16xf32> {hybrid.state = "model.layers.2.k_cache"}) {
  return
}

// -----

// A KV cache's bytes per token are those of the element type its attention
// keeps (runtime/include/hybridc/kv_layout.h): [2,?,16] is 2*16*4 = 128 in
// f32, 2*16*2 = 64 in bf16, and in int8 the head dim padded to a block of
// 32 plus an f32 scale per block: 2*32 + 2*4 = 72. A cache takes one
// segment per kv head: its first is kv_segment.
// CHECK-LABEL: func.func @kv_dtypes
// CHECK-SAME: {hybrid.bytes_per_token = 64 : i64, hybrid.kv_segment = 0 : i64, hybrid.state = "model.layers.0.k_cache"}
// CHECK-SAME: {hybrid.bytes_per_token = 64 : i64, hybrid.kv_segment = 2 : i64, hybrid.state = "model.layers.0.v_cache"}
// CHECK-SAME: {hybrid.bytes_per_token = 72 : i64, hybrid.kv_segment = 4 : i64, hybrid.state = "model.layers.1.k_cache"}
// CHECK-SAME: {hybrid.bytes_per_token = 72 : i64, hybrid.kv_segment = 6 : i64, hybrid.state = "model.layers.1.v_cache"}
// CHECK-SAME: attributes {hybrid.fixed_state_bytes = 0 : i64, hybrid.kv_bytes_per_token = 272 : i64}
func.func @kv_dtypes(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>,
                     %kc0: tensor<2x?x16xf32> {hybrid.state = "model.layers.0.k_cache"},
                     %vc0: tensor<2x?x16xf32> {hybrid.state = "model.layers.0.v_cache"},
                     %kc1: tensor<2x?x16xf32> {hybrid.state = "model.layers.1.k_cache"},
                     %vc1: tensor<2x?x16xf32> {hybrid.state = "model.layers.1.v_cache"}) {
  %a, %k1, %v1 = hybrid.attention %q, %k, %k, %kc0, %vc0 {kv_dtype = #hybrid.kv_dtype<bf16>, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>) -> (tensor<?x64xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>)
  %b, %k2, %v2 = hybrid.attention %q, %k, %k, %kc1, %vc1 {kv_dtype = #hybrid.kv_dtype<int8>, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>) -> (tensor<?x64xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>)
  return
}

// -----

// expected-error @+1 {{state argument #0 ("model.layers.2.k_cache") is a KV cache, which must be [kv_heads, ?, head_dim], got 'tensor<?x16xf32>'}}
func.func @kv_rank(%kc: tensor<?x16xf32> {hybrid.state = "model.layers.2.k_cache"}) {
  return
}
