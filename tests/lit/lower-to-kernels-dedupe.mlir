// Ops with identical sizes and constants share one kernel; constants that
// differ only beyond six digits still get their own kernel.
// RUN: hybridc-opt %s --hybrid-plan-state --hybrid-lower-to-kernels | FileCheck %s

// CHECK: func.func private @hk_embed_0
// CHECK: func.func private @hk_rms_norm_0({{.*}} attributes {hybrid.kernel = #hybrid.kernel<"rms_norm", f32, sizes = {{.*}}, constants = {eps = 9.9999999747524271E-7 : f64
// CHECK: func.func private @hk_rms_norm_1({{.*}} attributes {hybrid.kernel = #hybrid.kernel<"rms_norm", f32, sizes = {{.*}}, constants = {eps = 1.0000010206567822E-6 : f64
// CHECK-NOT: func.func private @hk_rms_norm_2
// CHECK-LABEL: func.func @hybridc_prefill
// CHECK: call @hk_rms_norm_0
// CHECK: call @hk_rms_norm_1
// CHECK: call @hk_rms_norm_0
// the lm_head's norm (eps 1e-6 too) reuses the first kernel:
// CHECK: scf.if
// CHECK-NEXT: arith.subi
// CHECK: call @hk_rms_norm_0

hybrid.weight @model.embed_tokens.weight : tensor<32x8xf32>
hybrid.weight @model.norm.weight : tensor<8xf32>

func.func @forward(%tokens: tensor<?xi32>) -> tensor<?x32xf32> {
  %e = hybrid.weight_ref @model.embed_tokens.weight : tensor<32x8xf32>
  %n = hybrid.weight_ref @model.norm.weight : tensor<8xf32>
  %x = hybrid.embed %tokens, %e {multiplier = 1.0 : f32} : (tensor<?xi32>, tensor<32x8xf32>) -> tensor<?x8xf32>
  %a = hybrid.rms_norm %x, %n {eps = 1.0e-06 : f32} : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %b = hybrid.rms_norm %a, %n {eps = 1.000001e-06 : f32} : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %c = hybrid.rms_norm %b, %n {eps = 1.0e-06 : f32} : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %l = hybrid.lm_head %c, %n, %e {eps = 1.0e-06 : f32, logits_scaling = 1.0 : f32} : (tensor<?x8xf32>, tensor<8xf32>, tensor<32x8xf32>) -> tensor<?x32xf32>
  return %l : tensor<?x32xf32>
}
