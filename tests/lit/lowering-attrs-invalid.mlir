// Wrong lowering attributes (#hybrid.weight, #hybrid.weight_packing,
// #hybrid.kernel, and the module and kernel attributes holding them), each
// an error from the parser or a verifier.
// RUN: hybridc-opt %s -split-input-file -verify-diagnostics

// expected-error @+2 {{expected ::hybrid::WeightLayout to be one of: f32, plain, linear, linear_scales, linear_int8, linear_int8_scales, linear_f32, experts, experts_scales}}
// expected-error @+1 {{failed to parse Hybrid_WeightAttr parameter 'layout'}}
module attributes {hybrid.weight_plan = [#hybrid.weight<"w", zigzag, offset = 0, bytes = 64>]} {
}

// -----

// expected-error @+1 {{weight 'w': offset 32 is not a non-negative multiple of 64}}
module attributes {hybrid.weight_plan = [#hybrid.weight<"w", f32, offset = 32, bytes = 64>]} {
}

// -----

// expected-error @+1 {{weight 'w': bytes 0 is not positive}}
module attributes {hybrid.weight_plan = [#hybrid.weight<"w", f32, offset = 64, bytes = 0>]} {
}

// -----

// expected-error @+1 {{weight: the tensor name is empty}}
module attributes {hybrid.weight_plan = [#hybrid.weight<"", f32, offset = 0, bytes = 64>]} {
}

// -----

// expected-error @+1 {{weight_packing: input_group (3) must be 1, 2 or 4}}
module attributes {hybrid.weight_packing = #hybrid.weight_packing<bf16, lanes = 16, input_group = 3>} {
}

// -----

// expected-error @+2 {{expected ::hybrid::WeightType to be one of: f32, bf16, int8, int4}}
// expected-error @+1 {{failed to parse Hybrid_WeightPackingAttr parameter 'weight_type'}}
module attributes {hybrid.weight_packing = #hybrid.weight_packing<int2, lanes = 16, input_group = 1>} {
}

// -----

// The module attributes the compile reads must have their types.
// expected-error @+1 {{'builtin.module' op 'hybrid.weight_packing' must be a #hybrid.weight_packing, got "bf16"}}
module attributes {hybrid.weight_packing = "bf16"} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'hybrid.weight_plan' must be an array of #hybrid.weight, got [1]}}
module attributes {hybrid.weight_plan = [1]} {
}

// -----

module {
  // expected-error @+1 {{kernel 'linear': size 'IN' is not an integer: 6.400000e+01 : f64}}
  func.func private @k(memref<?xf32>) attributes {hybrid.kernel = #hybrid.kernel<"linear", f32, sizes = {IN = 64.0 : f64}, constants = {}, args = [memref<?xf32>]>}
}

// -----

module {
  // expected-error @+1 {{kernel 'rms_norm': constant 'eps' is not a float: 1 : i64}}
  func.func private @k(memref<?xf32>) attributes {hybrid.kernel = #hybrid.kernel<"rms_norm", f32, sizes = {}, constants = {eps = 1 : i64}, args = [memref<?xf32>]>}
}

// -----

module {
  // expected-error @+1 {{kernel 'embed': argument 1 is 'memref<?xf64>', not a memref of f32, bf16, 8- or 32-bit integers or an i32}}
  func.func private @k(memref<?xf32>) attributes {hybrid.kernel = #hybrid.kernel<"embed", f32, sizes = {}, constants = {}, args = [memref<?xf32>, memref<?xf64>]>}
}

// -----

module {
  // expected-error @+1 {{kernel: the kind is empty}}
  func.func private @k(memref<?xf32>) attributes {hybrid.kernel = #hybrid.kernel<"", f32, sizes = {}, constants = {}, args = [memref<?xf32>]>}
}

// -----

module {
  // The dictionary form of earlier versions is refused by name.
  // expected-error @+1 {{'func.func' op 'hybrid.kernel' must be a #hybrid.kernel, got {kind = "linear"}}}
  func.func private @k(memref<?xf32>) attributes {hybrid.kernel = {kind = "linear"}}
}
