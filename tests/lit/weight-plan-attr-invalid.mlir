// Wrong #hybrid.weight entries, each an error from the parser or the
// attribute's verifier.
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
