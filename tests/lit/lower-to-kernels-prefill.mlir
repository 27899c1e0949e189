// Prefill-only structure of the lowering of model.mlir: prefill calls longer
// than one scan chunk, and the mixture of experts grouped by expert.
//
// RUN: hybridc-opt %S/model.mlir --hybrid-plan-state --hybrid-lower-to-kernels="lanes=16 chunk-tokens=64 prefill-tokens=128" | FileCheck %s
// RUN: hybridc-opt %S/model.mlir --hybrid-plan-state --hybrid-lower-to-kernels="lanes=16 chunk-tokens=64" | FileCheck %s --check-prefix=ONE

// The runtime may pass up to prefill-tokens tokens per call. The fixed part
// of the workspace holds the MoE grouping's padding rows and the SSM state
// carried between scan chunks.
// CHECK: module attributes {{{.*}}max_chunk_tokens = 128, workspace_fixed_bytes = 15808,
// CHECK-DAG: func.func private @hk_moe_expert_tiles_0({{.*}}#hybrid.kernel<"moe_expert_tiles", f32, sizes = {E = 4 : i64, H = 64 : i64, I = 32 : i64, TILE = 8 : i64}
// CHECK-DAG: func.func private @hk_moe_combine_0({{.*}}#hybrid.kernel<"moe_combine", f32, sizes = {H = 64 : i64, K = 2 : i64}

// CHECK-LABEL: func.func @hybridc_prefill
// Scan chunk 0 reads state_in; chunk 1 (only if T > 64) reads the copy of
// chunk 0's state_out.
// CHECK: %[[T:.*]] = memref.dim %arg1
// CHECK: %[[R0:.*]] = arith.cmpi ult, %c0{{.*}}, %[[T]]
// CHECK: scf.if %[[R0]]
// CHECK: arith.minui
// CHECK: call @hk_ssm_chunk_0
// CHECK: memref.copy %[[OUT:.*]], %[[CARRY:.*]] : memref<8x16x16xf32> to memref<8x16x16xf32>
// CHECK: %[[R1:.*]] = arith.cmpi ult, %c64{{.*}}, %[[T]]
// CHECK: scf.if %[[R1]]
// CHECK: call @hk_ssm_chunk_0
// CHECK-NOT: memref.copy
// CHECK: call @hk_moe_router_0
// Counting sort: zero the per-expert counts, count, then each expert's
// first row (the row count is the loop's result), then place the pairs.
// CHECK: scf.for
// CHECK: scf.for
// CHECK: %[[ROWS:.*]] = scf.for {{.*}} iter_args
// CHECK: scf.for
// CHECK: %[[TILES:.*]] = arith.divui %[[ROWS]], %c8
// CHECK: call @hk_moe_expert_tiles_0
// CHECK: call @hk_moe_combine_0
// CHECK-LABEL: func.func @hybridc_decode
// CHECK-NOT: hk_moe_expert_tiles
// CHECK: call @hk_moe_experts_0
// CHECK-NOT: memref.copy

// Without prefill-tokens a prefill call is one scan chunk: no carry.
// ONE: max_chunk_tokens = 64,
// ONE-LABEL: func.func @hybridc_prefill
// ONE-NOT: memref.copy
// ONE: call @hk_ssm_chunk_0
// ONE-NOT: memref.copy
// ONE-LABEL: func.func @hybridc_decode
