// Weights packed in bf16 pairs (input-group=2, for kernels that multiply
// them with vdpbf16ps): a matrix w[OUT][IN] is viewed as
// [ceil(OUT/16)][ceil(IN/2)][16][2], the experts of a mixture as
// [blocks][E][groups][16][2] (block-major across experts).
//
// RUN: hybridc-opt %S/model.mlir --hybrid-plan-state --hybrid-lower-to-kernels="weight-type=bf16 lanes=16 chunk-tokens=64 input-group=2" | FileCheck %s
// RUN: not hybridc-opt %S/model.mlir --hybrid-plan-state --hybrid-lower-to-kernels="weight-type=f32 input-group=2" 2>&1 | FileCheck %s --check-prefix=F32PAIRS
// RUN: not hybridc-opt %S/model.mlir --hybrid-plan-state --hybrid-lower-to-kernels="weight-type=bf16 input-group=4" 2>&1 | FileCheck %s --check-prefix=FOUR

// CHECK: module attributes {{{.*}}hybrid.weight_packing = #hybrid.weight_packing<bf16, lanes = 16, input_group = 2>, hybrid.weight_plan = [
// in_proj [296][64]: 19 blocks of 16 outputs, 32 pairs of inputs.
// CHECK-SAME: #hybrid.weight<"model.layers.0.mamba.in_proj.weight", linear, offset = 65792, bytes = 38912>
// CHECK-LABEL: func.func @hybridc_prefill
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<19x32x16x2xbf16>
// w_in [4][64][64]: 4 blocks x 4 experts x 32 pairs; w_out [4][64][32]: 16 pairs.
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<4x4x32x16x2xbf16>
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<4x4x16x16x2xbf16>

// F32PAIRS: error: hybrid-lower-to-kernels: input-group must be 1, 2 with weight-type=bf16 (bf16 pairs), or 2 or 4 with weight-type=int8 or int4, got 2
// FOUR: error: hybrid-lower-to-kernels: input-group must be 1, 2 with weight-type=bf16 (bf16 pairs), or 2 or 4 with weight-type=int8 or int4, got 4
