// int8 weights (weight-type=int8, input-group=4, for kernels that multiply
// them with vpdpbusd): a matrix w[OUT][IN] is viewed as u8
// [ceil(OUT/16)][IN/4][16][4] (IN padded to blocks of 32) plus its scales
// [ceil(OUT/16)][IN/32][16] f32, each kernel taking the scales right after
// the matrix; experts block-major likewise. The embedding table stays bf16
// (a lookup reads one row) while a tied lm_head packs the same tensor int8;
// the router stays f32.
//
// RUN: hybridc-opt %S/model.mlir --hybrid-plan-state --hybrid-lower-to-kernels="weight-type=int8 lanes=16 chunk-tokens=64 input-group=4" | FileCheck %s
// RUN: hybridc-opt %S/model.mlir --hybrid-plan-state --hybrid-lower-to-kernels="weight-type=int8 lanes=8 chunk-tokens=64 input-group=2" | FileCheck %s --check-prefix=PAIRS
// RUN: not hybridc-opt %S/model.mlir --hybrid-plan-state --hybrid-lower-to-kernels="weight-type=int8 input-group=1" 2>&1 | FileCheck %s --check-prefix=GROUP

// CHECK: module attributes {{{.*}}hybrid.weight_packing = #hybrid.weight_packing<int8, lanes = 16, input_group = 4>, hybrid.weight_plan = [
// CHECK-SAME: #hybrid.weight<"model.embed_tokens.weight", plain, offset = 0, bytes = 65536>
// in_proj [296][64]: 19 blocks of 16 outputs, 16 groups of 4 inputs, 2 scale blocks.
// CHECK-SAME: #hybrid.weight<"model.layers.0.mamba.in_proj.weight", linear, offset = 65792, bytes = 19456>
// CHECK-SAME: #hybrid.weight<"model.layers.0.mamba.in_proj.weight", linear_scales, offset = 85248, bytes = 2432>
// CHECK-SAME: #hybrid.weight<"model.layers.0.block_sparse_moe.router.layer.weight", linear_f32, offset = {{[0-9]+}}, bytes = {{[0-9]+}}>
// CHECK-SAME: #hybrid.weight<"model.layers.0.block_sparse_moe.input_linear.weight", experts_scales, offset = {{[0-9]+}}, bytes = {{[0-9]+}}>
// CHECK-SAME: #hybrid.weight<"model.embed_tokens.weight", linear, offset = {{[0-9]+}}, bytes = {{[0-9]+}}>
// CHECK-SAME: #hybrid.weight<"model.embed_tokens.weight", linear_scales, offset = {{[0-9]+}}, bytes = {{[0-9]+}}>
// CHECK: func.func private @hk_embed_0({{.*}}memref<?x?xbf16{{.*}}#hybrid.kernel<"embed", bf16,
// CHECK: func.func private @hk_linear_0(!llvm.ptr, memref<?x?xf32, {{.*}}>, memref<?x?x?x?xui8, {{.*}}>, memref<?x?x?xf32, {{.*}}>, memref<?x?xf32, {{.*}}>) {{.*}}#hybrid.kernel<"linear", int8,
// CHECK-LABEL: func.func @hybridc_prefill
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<512x64xbf16>
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<19x16x16x4xui8>
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<19x2x16xf32>
// w_in [4][64][64]: 4 blocks x 4 experts x 16 groups, 2 scale blocks; w_out [4][64][32]: 8 groups, 1.
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<4x4x16x16x4xui8>
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<4x4x2x16xf32>
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<4x4x8x16x4xui8>
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<4x4x1x16xf32>

// Groups of 2 for vpmaddwd (targets without VNNI), here 8 lanes: in_proj
// [296][64] is 37 blocks of 8 outputs, 32 groups of 2 inputs, 2 scale blocks
// (the same bytes as with groups of 4, in another order).
// PAIRS: module attributes {{{.*}}hybrid.weight_packing = #hybrid.weight_packing<int8, lanes = 8, input_group = 2>, hybrid.weight_plan = [
// PAIRS-SAME: #hybrid.weight<"model.layers.0.mamba.in_proj.weight", linear, offset = 65792, bytes = 18944>
// PAIRS-SAME: #hybrid.weight<"model.layers.0.mamba.in_proj.weight", linear_scales, offset = 84736, bytes = 2368>
// PAIRS: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<37x32x8x2xui8>
// PAIRS: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<37x2x8xf32>
// GROUP: error: hybrid-lower-to-kernels: input-group must be 1, 2 with weight-type=bf16 (bf16 pairs), or 2 or 4 with weight-type=int8 or int4, got 1
