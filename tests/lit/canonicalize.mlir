// Folders and canonicalization patterns: only exact identities.
// RUN: hybridc-opt %s -canonicalize -split-input-file | FileCheck %s
// RUN: hybridc-opt %s -cse -split-input-file | FileCheck %s --check-prefix=CSE

// A zero residual multiplier disables the branch.
// CHECK-LABEL: func.func @residual_zero
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %{{.*}}: tensor<?x64xf32>)
// CHECK-NOT: hybrid.residual_add
// CHECK: return %[[X]], %[[X]]
func.func @residual_zero(%x: tensor<?x64xf32>, %b: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %r = hybrid.residual_add %x, %b {multiplier = 0.0 : f32} : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  %n = hybrid.residual_add %x, %b {multiplier = -0.0 : f32} : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  return %r, %n : tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// Multiplying by exactly 1 is exact, so the op becomes a plain add.
// CHECK-LABEL: func.func @residual_one
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[B:.*]]: tensor<?x64xf32>)
// CHECK: %[[S:.*]] = hybrid.add %[[X]], %[[B]] : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
// CHECK: return %[[S]]
func.func @residual_one(%x: tensor<?x64xf32>, %b: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = hybrid.residual_add %x, %b {multiplier = 1.0 : f32} : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// Any other multiplier stays.
// CHECK-LABEL: func.func @residual_keep
// CHECK: hybrid.residual_add %{{.*}}, %{{.*}} {multiplier = 2.200000e-01 : f32}
func.func @residual_keep(%x: tensor<?x64xf32>, %b: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = hybrid.residual_add %x, %b {multiplier = 0.22 : f32} : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// A split into one slice is its input.
// CHECK-LABEL: func.func @split_one
// CHECK-SAME: (%[[P:.*]]: tensor<?x8xf32>)
// CHECK-NOT: hybrid.split
// CHECK: return %[[P]]
func.func @split_one(%p: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %a = hybrid.split %p {sizes = array<i64: 8>} : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return %a : tensor<?x8xf32>
}

// -----

// CHECK-LABEL: func.func @split_keep
// CHECK: hybrid.split %{{.*}} {sizes = array<i64: 3, 5>}
func.func @split_keep(%p: tensor<?x8xf32>) -> (tensor<?x3xf32>, tensor<?x5xf32>) {
  %a, %b = hybrid.split %p {sizes = array<i64: 3, 5>} : (tensor<?x8xf32>) -> (tensor<?x3xf32>, tensor<?x5xf32>)
  return %a, %b : tensor<?x3xf32>, tensor<?x5xf32>
}

// -----

// x + x is not rewritten (e.g. into 2 * x: no such op, and no gain), and
// add has no folder: x + 0.0 is not x for x = -0.0.
// CHECK-LABEL: func.func @add_keep
// CHECK: hybrid.add %{{.*}}, %{{.*}}
func.func @add_keep(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = hybrid.add %x, %x : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// Compute ops are Pure: unused ones disappear under -canonicalize (here, a
// dead attention whose cache results are unused too), and -cse merges
// identical weight reads and then the identical projections.
hybrid.weight @w : tensor<64x64xf32>
// CHECK-LABEL: func.func @dead_and_duplicate
// CHECK-NOT: hybrid.attention
// CHECK: return
// CSE-LABEL: func.func @dead_and_duplicate
// CSE-COUNT-1: hybrid.weight_ref @w
// CSE-NOT: hybrid.weight_ref
// CSE: %[[L:.*]] = hybrid.linear
// CSE-NOT: hybrid.linear
// CSE: return %[[L]], %[[L]]
func.func @dead_and_duplicate(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %c: tensor<2x?x16xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %o, %k2, %v2 = hybrid.attention %q, %k, %k, %c, %c {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.0625 : f32} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>) -> (tensor<?x64xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>)
  %w1 = hybrid.weight_ref @w : tensor<64x64xf32>
  %w2 = hybrid.weight_ref @w : tensor<64x64xf32>
  %a = hybrid.linear %q, %w1 : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %b = hybrid.linear %q, %w2 : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  return %a, %b : tensor<?x64xf32>, tensor<?x64xf32>
}
