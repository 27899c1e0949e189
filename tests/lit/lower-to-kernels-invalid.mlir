// IR the dialect accepts but the kernel lowering cannot place gets an error
// naming what is wrong, not a crash.
// RUN: not hybridc-opt %s --split-input-file --hybrid-plan-state --hybrid-lower-to-kernels 2>&1 | FileCheck %s
// The lowering places the state where hybrid-plan-state planned it, and
// says so when it was not run:
// RUN: not hybridc-opt %S/model.mlir --hybrid-lower-to-kernels 2>&1 | FileCheck %s --check-prefix=UNPLANNED
// UNPLANNED: error: hybrid-lower-to-kernels: @forward's state has no layout; run hybrid-plan-state first

// CHECK: error: hybrid-lower-to-kernels: the first argument of @forward must be the token ids, tensor<?xi32>
func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  return %x : tensor<?x4xf32>
}

// -----

// CHECK: error: hybrid-lower-to-kernels: argument #1 of @forward must be streaming state
func.func @forward(%t: tensor<?xi32>, %extra: tensor<4xf32>) -> tensor<4xf32> {
  return %extra : tensor<4xf32>
}

// -----

// CHECK: error: 'hybrid.causal_conv1d' op state must be a function argument
hybrid.weight @e : tensor<16x4xf32>
hybrid.weight @w : tensor<4x1x4xf32>

func.func @forward(%t: tensor<?xi32>, %s: tensor<3x4xf32> {hybrid.state = "model.layers.0.conv_state"}) -> (tensor<?x4xf32>, tensor<3x4xf32>) {
  %e = hybrid.weight_ref @e : tensor<16x4xf32>
  %w = hybrid.weight_ref @w : tensor<4x1x4xf32>
  %x = hybrid.embed %t, %e {multiplier = 1.0 : f32} : (tensor<?xi32>, tensor<16x4xf32>) -> tensor<?x4xf32>
  %y, %s1 = hybrid.causal_conv1d %x, %s, %w {silu} : (tensor<?x4xf32>, tensor<3x4xf32>, tensor<4x1x4xf32>) -> (tensor<?x4xf32>, tensor<3x4xf32>)
  // The second conv reads the first one's new state: not a session buffer.
  %z, %s2 = hybrid.causal_conv1d %y, %s1, %w {silu} : (tensor<?x4xf32>, tensor<3x4xf32>, tensor<4x1x4xf32>) -> (tensor<?x4xf32>, tensor<3x4xf32>)
  return %z, %s2 : tensor<?x4xf32>, tensor<3x4xf32>
}
