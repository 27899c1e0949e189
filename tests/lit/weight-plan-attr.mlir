// The lowering's weight plan as typed attributes: #hybrid.weight parses and
// prints back as written (wrong entries: weight-plan-attr-invalid.mlir).
// RUN: hybridc-opt %s | FileCheck %s

// CHECK: module attributes {hybrid.weight_plan = [#hybrid.weight<"model.embed_tokens.weight", plain, offset = 0, bytes = 65536>, #hybrid.weight<"model.layers.0.mamba.in_proj.weight", linear_int8_scales, offset = 65536, bytes = 2432>]}
module attributes {hybrid.weight_plan = [
    #hybrid.weight<"model.embed_tokens.weight", plain, offset = 0, bytes = 65536>,
    #hybrid.weight<"model.layers.0.mamba.in_proj.weight", linear_int8_scales, offset = 65536, bytes = 2432>]} {
}
