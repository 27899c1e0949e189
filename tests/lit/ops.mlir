// Every op parses, verifies and round-trips through the custom and the
// generic assembly format.
// RUN: hybridc-opt %s | hybridc-opt | FileCheck %s
// RUN: hybridc-opt %s --mlir-print-op-generic | hybridc-opt | FileCheck %s
// RUN: hybridc-opt %s --mlir-print-op-generic | hybridc-opt --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC
// Printing is a fixed point: print -> parse -> print gives identical text.
// RUN: hybridc-opt %s > %t.1.mlir
// RUN: hybridc-opt %t.1.mlir > %t.2.mlir
// RUN: diff %t.1.mlir %t.2.mlir

// CHECK: hybrid.weight @model.embed_tokens.weight : tensor<512x64xf32>
// CHECK: hybrid.weight @model.layers.0.input_layernorm.weight : tensor<64xbf16>
// CHECK: hybrid.weight @model.layers.0.mamba.in_proj.weight : tensor<296x64xbf16>
// GENERIC: "hybrid.weight"() <{sym_name = "model.embed_tokens.weight", type = tensor<512x64xf32>}> : () -> ()
hybrid.weight @model.embed_tokens.weight : tensor<512x64xf32>
hybrid.weight @model.layers.0.input_layernorm.weight : tensor<64xbf16>
hybrid.weight @model.layers.0.mamba.in_proj.weight : tensor<296x64xbf16>
hybrid.weight @model.layers.0.mamba.conv1d.weight : tensor<160x1x4xf32>
hybrid.weight @model.layers.0.mamba.conv1d.bias : tensor<160xf16>

// CHECK-LABEL: func.func @all_ops
func.func @all_ops(%tokens: tensor<?xi32>, %conv: tensor<3x160xf32>,
                   %ssm: tensor<8x16x16xf32>, %kc: tensor<2x?x16xf32>,
                   %vc: tensor<2x?x16xf32>, %vec8: tensor<8xf32>,
                   %n128: tensor<128xf16>, %wq: tensor<64x64xf32>,
                   %wkv: tensor<32x64xbf16>, %bkv: tensor<32xbf16>,
                   %router: tensor<4x64xf32>, %ein: tensor<4x64x64xbf16>,
                   %eout: tensor<4x64x32xbf16>, %sin: tensor<128x64xf32>,
                   %sout: tensor<64x64xf32>, %lm: tensor<512x64xf32>,
                   %nw: tensor<64xf32>) -> tensor<?x512xf32> {
  // CHECK: %[[E:.*]] = hybrid.weight_ref @model.embed_tokens.weight : tensor<512x64xf32>
  // CHECK: %[[X:.*]] = hybrid.embed %{{.*}}, %[[E]] {multiplier = 1.200000e+01 : f32} : (tensor<?xi32>, tensor<512x64xf32>) -> tensor<?x64xf32>
  // GENERIC: "hybrid.weight_ref"() <{weight = @model.embed_tokens.weight}> : () -> tensor<512x64xf32>
  // GENERIC: "hybrid.embed"(%{{.*}}, %{{.*}}) <{multiplier = 1.200000e+01 : f32}> : (tensor<?xi32>, tensor<512x64xf32>) -> tensor<?x64xf32>
  %e = hybrid.weight_ref @model.embed_tokens.weight : tensor<512x64xf32>
  %x = hybrid.embed %tokens, %e {multiplier = 12.0 : f32} : (tensor<?xi32>, tensor<512x64xf32>) -> tensor<?x64xf32>

  // CHECK: hybrid.rms_norm %[[X]], %{{.*}} {eps = 9.99999974E-6 : f32} : (tensor<?x64xf32>, tensor<64xbf16>) -> tensor<?x64xf32>
  %ln = hybrid.weight_ref @model.layers.0.input_layernorm.weight : tensor<64xbf16>
  %a = hybrid.rms_norm %x, %ln {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xbf16>) -> tensor<?x64xf32>

  // CHECK: hybrid.linear %{{.*}}, %{{.*}} : (tensor<?x64xf32>, tensor<296x64xbf16>) -> tensor<?x296xf32>
  %wi = hybrid.weight_ref @model.layers.0.mamba.in_proj.weight : tensor<296x64xbf16>
  %p = hybrid.linear %a, %wi : (tensor<?x64xf32>, tensor<296x64xbf16>) -> tensor<?x296xf32>

  // CHECK: %[[P:.*]]:3 = hybrid.split %{{.*}} {sizes = array<i64: 128, 160, 8>} : (tensor<?x296xf32>) -> (tensor<?x128xf32>, tensor<?x160xf32>, tensor<?x8xf32>)
  // GENERIC: "hybrid.split"(%{{.*}}) <{sizes = array<i64: 128, 160, 8>}> : (tensor<?x296xf32>) -> (tensor<?x128xf32>, tensor<?x160xf32>, tensor<?x8xf32>)
  %z, %xbc, %dt = hybrid.split %p {sizes = array<i64: 128, 160, 8>} : (tensor<?x296xf32>) -> (tensor<?x128xf32>, tensor<?x160xf32>, tensor<?x8xf32>)

  // CHECK: hybrid.causal_conv1d %[[P]]#1, %{{.*}}, %{{.*}}, %{{.*}} {silu} : (tensor<?x160xf32>, tensor<3x160xf32>, tensor<160x1x4xf32>, tensor<160xf16>) -> (tensor<?x160xf32>, tensor<3x160xf32>)
  // CHECK: hybrid.causal_conv1d %[[P]]#1, %{{.*}}, %{{.*}} : (tensor<?x160xf32>, tensor<3x160xf32>, tensor<160x1x4xf32>) -> (tensor<?x160xf32>, tensor<3x160xf32>)
  // GENERIC: "hybrid.causal_conv1d"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{silu}> :
  %cw = hybrid.weight_ref @model.layers.0.mamba.conv1d.weight : tensor<160x1x4xf32>
  %cb = hybrid.weight_ref @model.layers.0.mamba.conv1d.bias : tensor<160xf16>
  %v, %conv2 = hybrid.causal_conv1d %xbc, %conv, %cw, %cb {silu} : (tensor<?x160xf32>, tensor<3x160xf32>, tensor<160x1x4xf32>, tensor<160xf16>) -> (tensor<?x160xf32>, tensor<3x160xf32>)
  %v2, %conv3 = hybrid.causal_conv1d %xbc, %conv, %cw : (tensor<?x160xf32>, tensor<3x160xf32>, tensor<160x1x4xf32>) -> (tensor<?x160xf32>, tensor<3x160xf32>)

  // CHECK: hybrid.ssm_scan %{{.*}}, %[[P]]#2, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {num_groups = 1 : i64} : (tensor<?x128xf32>, tensor<?x8xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8x16x16xf32>) -> (tensor<?x128xf32>, tensor<8x16x16xf32>)
  // CHECK: hybrid.ssm_scan {{.*}} {dt_max = 1.000000e+02 : f32, dt_min = 1.000000e-03 : f32, num_groups = 1 : i64}
  %xs, %B, %C = hybrid.split %v {sizes = array<i64: 128, 16, 16>} : (tensor<?x160xf32>) -> (tensor<?x128xf32>, tensor<?x16xf32>, tensor<?x16xf32>)
  %y, %ssm2 = hybrid.ssm_scan %xs, %dt, %B, %C, %vec8, %vec8, %vec8, %ssm {num_groups = 1 : i64} : (tensor<?x128xf32>, tensor<?x8xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8x16x16xf32>) -> (tensor<?x128xf32>, tensor<8x16x16xf32>)
  %y2, %ssm3 = hybrid.ssm_scan %xs, %dt, %B, %C, %vec8, %vec8, %vec8, %ssm {num_groups = 1 : i64, dt_min = 1.0e-03 : f32, dt_max = 100.0 : f32} : (tensor<?x128xf32>, tensor<?x8xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8x16x16xf32>) -> (tensor<?x128xf32>, tensor<8x16x16xf32>)

  // CHECK: hybrid.gated_rms_norm %{{.*}}, %[[P]]#0, %{{.*}} {eps = 9.99999974E-6 : f32, group_size = 128 : i64} : (tensor<?x128xf32>, tensor<?x128xf32>, tensor<128xf16>) -> tensor<?x128xf32>
  %g = hybrid.gated_rms_norm %y, %z, %n128 {eps = 1.0e-05 : f32, group_size = 128 : i64} : (tensor<?x128xf32>, tensor<?x128xf32>, tensor<128xf16>) -> tensor<?x128xf32>

  // CHECK: hybrid.linear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x64xf32>, tensor<32x64xbf16>, tensor<32xbf16>) -> tensor<?x32xf32>
  %q = hybrid.linear %a, %wq : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %k = hybrid.linear %a, %wkv, %bkv : (tensor<?x64xf32>, tensor<32x64xbf16>, tensor<32xbf16>) -> tensor<?x32xf32>

  // CHECK: hybrid.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 6.250000e-02 : f32} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>) -> (tensor<?x64xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>)
  %o, %kc2, %vc2 = hybrid.attention %q, %k, %k, %kc, %vc {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>) -> (tensor<?x64xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>)

  // CHECK: hybrid.moe %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {top_k = 2 : i64} : (tensor<?x64xf32>, tensor<4x64xf32>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>) -> tensor<?x64xf32>
  %m = hybrid.moe %o, %router, %ein, %eout {top_k = 2 : i64} : (tensor<?x64xf32>, tensor<4x64xf32>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>) -> tensor<?x64xf32>

  // CHECK: hybrid.swiglu_mlp %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x64xf32>, tensor<128x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %s = hybrid.swiglu_mlp %o, %sin, %sout : (tensor<?x64xf32>, tensor<128x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>

  // CHECK: hybrid.add %{{.*}}, %{{.*}} : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  %sum = hybrid.add %m, %s : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>

  // CHECK: hybrid.residual_add %[[X]], %{{.*}} {multiplier = 2.200000e-01 : f32} : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  %r = hybrid.residual_add %x, %sum {multiplier = 0.22 : f32} : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>

  // CHECK: hybrid.lm_head %{{.*}}, %{{.*}}, %{{.*}} {eps = 9.99999974E-6 : f32, logits_scaling = 1.500000e+00 : f32} : (tensor<?x64xf32>, tensor<64xf32>, tensor<512x64xf32>) -> tensor<?x512xf32>
  // GENERIC: "hybrid.lm_head"(%{{.*}}, %{{.*}}, %{{.*}}) <{eps = 9.99999974E-6 : f32, logits_scaling = 1.500000e+00 : f32}>
  %l = hybrid.lm_head %r, %nw, %lm {eps = 1.0e-05 : f32, logits_scaling = 1.5 : f32} : (tensor<?x64xf32>, tensor<64xf32>, tensor<512x64xf32>) -> tensor<?x512xf32>
  return %l : tensor<?x512xf32>
}

// Static token counts verify too (decode: T = 1), and so do dynamic
// dimensions other than T.
// CHECK-LABEL: func.func @static_tokens
func.func @static_tokens(%tokens: tensor<1xi64>, %table: tensor<512x64xbf16>,
                         %kc: tensor<2x7x16xf32>, %vc: tensor<2x7x16xf32>,
                         %wq: tensor<64x64xf32>, %w: tensor<?x64xf32>)
    -> (tensor<1x64xf32>, tensor<2x8x16xf32>, tensor<1x?xf32>) {
  // CHECK: hybrid.embed {{.*}} : (tensor<1xi64>, tensor<512x64xbf16>) -> tensor<1x64xf32>
  %x = hybrid.embed %tokens, %table {multiplier = 1.0 : f32} : (tensor<1xi64>, tensor<512x64xbf16>) -> tensor<1x64xf32>
  %q = hybrid.linear %x, %wq : (tensor<1x64xf32>, tensor<64x64xf32>) -> tensor<1x64xf32>
  %kv, %rest = hybrid.split %q {sizes = array<i64: 32, 32>} : (tensor<1x64xf32>) -> (tensor<1x32xf32>, tensor<1x32xf32>)
  // CHECK: hybrid.attention {{.*}} -> (tensor<1x64xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>)
  %o, %k2, %v2 = hybrid.attention %q, %kv, %rest, %kc, %vc {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<1x64xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<2x7x16xf32>, tensor<2x7x16xf32>) -> (tensor<1x64xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>)
  // CHECK: hybrid.linear {{.*}} : (tensor<1x64xf32>, tensor<?x64xf32>) -> tensor<1x?xf32>
  %dyn = hybrid.linear %o, %w : (tensor<1x64xf32>, tensor<?x64xf32>) -> tensor<1x?xf32>
  return %o, %k2, %dyn : tensor<1x64xf32>, tensor<2x8x16xf32>, tensor<1x?xf32>
}

// The KV cache's element type: a typed enum attribute, printed by name (f32,
// the default, is left out).
// CHECK-LABEL: func.func @kv_dtypes
func.func @kv_dtypes(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %kc: tensor<2x?x16xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: hybrid.attention {{.*}} {kv_dtype = #hybrid.kv_dtype<bf16>, num_heads = 4 : i64
  // GENERIC: "hybrid.attention"({{.*}}) <{kv_dtype = #hybrid.kv_dtype<bf16>, num_heads = 4 : i64
  %a, %k1, %v1 = hybrid.attention %q, %k, %k, %kc, %kc {kv_dtype = #hybrid.kv_dtype<bf16>, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>) -> (tensor<?x64xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>)
  // CHECK: hybrid.attention {{.*}} {kv_dtype = #hybrid.kv_dtype<int8>, num_heads = 4 : i64
  %b, %k2, %v2 = hybrid.attention %q, %k, %k, %kc, %kc {kv_dtype = #hybrid.kv_dtype<int8>, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>) -> (tensor<?x64xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>)
  // CHECK: hybrid.attention {{.*}} {num_heads = 4 : i64
  %c, %k3, %v3 = hybrid.attention %q, %k, %k, %kc, %kc {kv_dtype = #hybrid.kv_dtype<f32>, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>) -> (tensor<?x64xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>)
  return %a, %b, %c : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}
