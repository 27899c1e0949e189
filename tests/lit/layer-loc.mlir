// Verifier errors end with " (layer N)" when the op's location names a model
// layer, however the importer's NameLoc("model.layers.N.part") is wrapped.
// (FileCheck on stderr: -verify-diagnostics cannot match diagnostics whose
// location has no file position.)
// RUN: not hybridc-opt %s -split-input-file 2>&1 | FileCheck %s

// CHECK: error: loc("model.layers.3.mamba"): 'hybrid.causal_conv1d' op state.shape[0] (2) must equal kernel size - 1 = 3 (kernel size from w.shape[2]) (layer 3){{$}}
func.func @conv_state_width(%x: tensor<?x160xf32>, %s: tensor<2x160xf32>, %w: tensor<160x1x4xf32>) {
  %y, %s2 = hybrid.causal_conv1d %x, %s, %w {silu} : (tensor<?x160xf32>, tensor<2x160xf32>, tensor<160x1x4xf32>) -> (tensor<?x160xf32>, tensor<2x160xf32>) loc("model.layers.3.mamba")
  return
}

// -----

// Fused with other locations (e.g. after CSE or fusion).
// CHECK: x.mlir:1:1: error: 'hybrid.rms_norm' op w.shape[0] (6) must equal x.shape[1] (8) (layer 12){{$}}
func.func @fused_loc(%x: tensor<?x8xf32>, %w: tensor<6xf32>) {
  %y = hybrid.rms_norm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x8xf32>, tensor<6xf32>) -> tensor<?x8xf32> loc(fused["x.mlir":1:1, "model.layers.12.post_attention_layernorm"])
  return
}

// -----

// Inlined from a per-layer function: the callee names the layer.
// CHECK: x.mlir:3:4: error: 'hybrid.moe' op top_k (5) must not exceed the number of experts (4) (layer 7){{$}}
func.func @callsite_loc(%f: tensor<?x64xf32>, %r: tensor<4x64xf32>, %wi: tensor<4x64x64xbf16>, %wo: tensor<4x64x32xbf16>) {
  %m = hybrid.moe %f, %r, %wi, %wo {top_k = 5 : i64} : (tensor<?x64xf32>, tensor<4x64xf32>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>) -> tensor<?x64xf32> loc(callsite("model.layers.7.block_sparse_moe"("x.mlir":3:4) at "forward"("x.mlir":9:2)))
  return
}

// -----

// A sub-part name whose child location names the layer.
// CHECK: 'hybrid.gated_rms_norm' op width (128) must be divisible by group_size (48) (layer 0){{$}}
func.func @nested_name(%y: tensor<?x128xf32>, %w: tensor<128xf32>) {
  %r = hybrid.gated_rms_norm %y, %y, %w {eps = 1.0e-05 : f32, group_size = 48 : i64} : (tensor<?x128xf32>, tensor<?x128xf32>, tensor<128xf32>) -> tensor<?x128xf32> loc("norm"("model.layers.0.mamba"))
  return
}

// -----

// "layers.<N>" must be a whole dotted component: no layer is claimed here,
// nor for an op with a plain file location.
// CHECK: error: loc("model.sublayers.2x.layers.3x"): 'hybrid.rms_norm' op w.shape[0] (6) must equal x.shape[1] (8){{$}}
// CHECK: error: 'hybrid.linear' op x.shape[1] (8) must equal w.shape[1] (6){{$}}
func.func @no_layer(%x: tensor<?x8xf32>, %w: tensor<6xf32>, %w2: tensor<4x6xf32>) {
  %y = hybrid.rms_norm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x8xf32>, tensor<6xf32>) -> tensor<?x8xf32> loc("model.sublayers.2x.layers.3x")
  return
}

// -----

func.func @file_loc(%x: tensor<?x8xf32>, %w2: tensor<4x6xf32>) {
  %z = hybrid.linear %x, %w2 : (tensor<?x8xf32>, tensor<4x6xf32>) -> tensor<?x4xf32>
  return
}

// -----

// weight_ref symbol errors carry the layer too.
// CHECK: error: loc("model.layers.21.attn"): 'hybrid.weight_ref' op @model.layers.21.self_attn.q_proj.weight does not name a declared hybrid.weight (layer 21){{$}}
func.func @missing(%x: tensor<?x8xf32>) -> tensor<8x8xf32> {
  %w = hybrid.weight_ref @model.layers.21.self_attn.q_proj.weight : tensor<8x8xf32> loc("model.layers.21.attn")
  return %w : tensor<8x8xf32>
}
