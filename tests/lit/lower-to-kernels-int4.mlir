// int4 weights (weight-type=int4, input-group=4): the int8 layout with two
// groups of four inputs per byte lane, so a matrix w[OUT][IN] is viewed as
// u8 [ceil(OUT/16)][IN/8][16][4] (nibble pairs; IN padded to blocks of 32)
// plus the same f32 scales [ceil(OUT/16)][IN/32][16]. The embedding table
// stays bf16, the router f32. A matrix whose declaration carries
// hybrid.min_bits = 8 (the importer marks lm_head, K/V and GGUF Q8_0
// tensors so) is packed int8 under its own layout names, and its kernel is
// an int8 one.
//
// RUN: hybridc-opt %S/model.mlir --hybrid-plan-state --hybrid-lower-to-kernels="weight-type=int4 lanes=16 chunk-tokens=64 input-group=4" | FileCheck %s
// RUN: not hybridc-opt %S/model.mlir --hybrid-plan-state --hybrid-lower-to-kernels="weight-type=int4 input-group=1" 2>&1 | FileCheck %s --check-prefix=GROUP
// RUN: sed 's/@model.layers.1.self_attn.k_proj.weight :/@model.layers.1.self_attn.k_proj.weight {hybrid.min_bits = 8 : i64} :/' %S/model.mlir | hybridc-opt --hybrid-plan-state --hybrid-lower-to-kernels="weight-type=int4 lanes=16 chunk-tokens=64 input-group=4" | FileCheck %s --check-prefix=KEEP8

// CHECK: module attributes {{{.*}}hybrid.weight_packing = #hybrid.weight_packing<int4, lanes = 16, input_group = 4>, hybrid.weight_plan = [
// CHECK-SAME: #hybrid.weight<"model.embed_tokens.weight", plain, offset = 0, bytes = 65536>
// in_proj [296][64]: 19 blocks of 16 outputs, 8 pairs of groups of 4 inputs, 2 scale blocks.
// CHECK-SAME: #hybrid.weight<"model.layers.0.mamba.in_proj.weight", linear, offset = 65792, bytes = 9728>
// CHECK-SAME: #hybrid.weight<"model.layers.0.mamba.in_proj.weight", linear_scales, offset = 75520, bytes = 2432>
// CHECK-SAME: #hybrid.weight<"model.layers.0.block_sparse_moe.router.layer.weight", linear_f32, offset = {{[0-9]+}}, bytes = {{[0-9]+}}>
// CHECK: func.func private @hk_embed_0({{.*}}memref<?x?xbf16{{.*}}#hybrid.kernel<"embed", bf16,
// CHECK: func.func private @hk_linear_0(!llvm.ptr, memref<?x?xf32, {{.*}}>, memref<?x?x?x?xui8, {{.*}}>, memref<?x?x?xf32, {{.*}}>, memref<?x?xf32, {{.*}}>) {{.*}}#hybrid.kernel<"linear", int4,
// CHECK-LABEL: func.func @hybridc_prefill
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<512x64xbf16>
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<19x8x16x4xui8>
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<19x2x16xf32>
// w_in [4][64][64]: 4 blocks x 4 experts x 8 pairs; w_out [4][64][32]: 4 pairs.
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<4x4x8x16x4xui8>
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<4x4x2x16xf32>
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<4x4x4x16x4xui8>
// CHECK: memref.view %arg2[%{{.*}}][] : memref<?xi8> to memref<4x4x1x16xf32>

// GROUP: error: hybrid-lower-to-kernels: input-group must be 1, 2 with weight-type=bf16 (bf16 pairs), or 2 or 4 with weight-type=int8 or int4, got 1

// k_proj [32][64] in int8: 2 blocks x 16 groups x 16 x 4 bytes, 2 x 2 x 16 scales.
// KEEP8: #hybrid.weight<"model.layers.1.self_attn.k_proj.weight", linear_int8, offset = {{[0-9]+}}, bytes = 2048>
// KEEP8-SAME: #hybrid.weight<"model.layers.1.self_attn.k_proj.weight", linear_int8_scales, offset = {{[0-9]+}}, bytes = 256>
// KEEP8-DAG: func.func private @hk_linear_{{[0-9]+}}({{.*}}) {{.*}}#hybrid.kernel<"linear", int8,
// KEEP8-DAG: func.func private @hk_linear_{{[0-9]+}}({{.*}}) {{.*}}#hybrid.kernel<"linear", int4,
