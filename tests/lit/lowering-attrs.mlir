// What hybrid-lower-to-kernels leaves for the compile, as typed attributes:
// each parses and prints back as written (wrong ones:
// lowering-attrs-invalid.mlir).
// RUN: hybridc-opt %s | FileCheck %s

// CHECK: module attributes {hybrid.weight_packing = #hybrid.weight_packing<int8, lanes = 16, input_group = 4>, hybrid.weight_plan = [#hybrid.weight<"model.embed_tokens.weight", plain, offset = 0, bytes = 65536>, #hybrid.weight<"model.layers.0.mamba.in_proj.weight", linear_int8_scales, offset = 65536, bytes = 2432>]}
module attributes {hybrid.weight_plan = [
    #hybrid.weight<"model.embed_tokens.weight", plain, offset = 0, bytes = 65536>,
    #hybrid.weight<"model.layers.0.mamba.in_proj.weight", linear_int8_scales, offset = 65536, bytes = 2432>],
  hybrid.weight_packing = #hybrid.weight_packing<int8, lanes = 16, input_group = 4>} {
  // CHECK: func.func private @hk_linear_0(memref<?x?xf32>, memref<?x?x?x?xui8>, memref<?x?x?xf32>, i32) attributes {hybrid.kernel = #hybrid.kernel<"linear", int8, sizes = {IN = 64 : i64, OUT = 296 : i64}, constants = {scale = 1.250000e-01 : f64}, args = [memref<?x?xf32>, memref<?x?x?x?xui8>, memref<?x?x?xf32>, i32]>}
  func.func private @hk_linear_0(memref<?x?xf32>, memref<?x?x?x?xui8>, memref<?x?x?xf32>, i32) attributes {
    hybrid.kernel = #hybrid.kernel<"linear", int8, sizes = {IN = 64 : i64, OUT = 296 : i64},
                                   constants = {scale = 0.125 : f64},
                                   args = [memref<?x?xf32>, memref<?x?x?x?xui8>, memref<?x?x?xf32>, i32]>}
}
