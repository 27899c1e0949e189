// The two-layer model of model.mlir lowered to kernel calls: every value gets
// a planned home and every op a kernel declaration describing what Halide
// must generate. Then the kernel-level module lowers to the LLVM dialect.
//
// RUN: hybridc-opt %S/model.mlir --hybrid-plan-state --hybrid-lower-to-kernels="weight-type=bf16 lanes=16 chunk-tokens=64" | FileCheck %s
// RUN: hybridc-opt %S/model.mlir --hybrid-plan-state --hybrid-lower-to-kernels="weight-type=bf16 lanes=16 chunk-tokens=64 input-group=2" | FileCheck %s --check-prefix=PAIRS
// RUN: hybridc-opt %S/model.mlir --hybrid-plan-state --hybrid-lower-to-kernels --hybrid-lower-to-llvm | FileCheck %s --check-prefix=LLVM
// RUN: not hybridc-opt %S/model.mlir --hybrid-plan-state --hybrid-lower-to-kernels="weight-type=int2" 2>&1 | FileCheck %s --check-prefix=BADTYPE
// RUN: not hybridc-opt %s --hybrid-plan-state --hybrid-lower-to-kernels 2>&1 | FileCheck %s --check-prefix=NOFWD
// An int8 KV cache: the same model with its attention's kv_dtype changed.
// RUN: sed 's/scale = 0.0625 : f32}/scale = 0.0625 : f32, kv_dtype = #hybrid.kv_dtype<int8>}/' %S/model.mlir | hybridc-opt --hybrid-plan-state --hybrid-lower-to-kernels="weight-type=bf16 lanes=16 chunk-tokens=64" | FileCheck %s --check-prefix=INT8KV

// State blob: conv [3][160] f32 (1920 B) then SSM [8][16][16] f32; a KV
// segment per kv head (2 for K, 2 for V), a row of hd * 4 = 64 B each (an
// f32 cache of 2 x 16); the workspace holds the widest live set.
// CHECK: module attributes {hybrid.kv_cache = #hybrid.kv_cache<f32, heads = 2, head_dim = 16>, hybrid.memory_plan = #hybrid.memory_plan<weights_bytes = {{[0-9]+}}, state_bytes = 10112, kv_segments = 4, kv_row_bytes = 64, max_chunk_tokens = 64, workspace_fixed_bytes = {{[0-9]+}}, workspace_bytes_per_token = {{[0-9]+}}>,
// CHECK-SAME: hybrid.weight_packing = #hybrid.weight_packing<bf16, lanes = 16, input_group = 1>
// CHECK-SAME: #hybrid.weight<"model.embed_tokens.weight", plain, offset = 0, bytes = 65536>
// CHECK-SAME: #hybrid.weight<"model.layers.0.mamba.in_proj.weight", linear, offset = 65792, bytes = 38912>
// CHECK-NOT: hybrid.weight @
// CHECK-NOT: func.func @forward

// One declaration per distinct kernel, shared by layers and by both drivers:
// Each argument's rank and element type: x f32, the packed bf16 W, y f32.
// CHECK-DAG: func.func private @hk_linear_0({{.*}}) attributes {hybrid.kernel = #hybrid.kernel<"linear", bf16, sizes = {IN = 64 : i64, OUT = 296 : i64, decode = 0 : i64, has_bias = 0 : i64}, constants = {}, args = [memref<?x?xf32>, memref<?x?x?x?xbf16>, memref<?x?xf32>]>, llvm.emit_c_interface}
// CHECK-DAG: func.func private @hk_ssm_chunk_0({{.*}}) attributes {hybrid.kernel = #hybrid.kernel<"ssm_chunk", f32, sizes = {G = 1 : i64, N = 16 : i64, NH = 8 : i64, P = 16 : i64, Q = 64 : i64}, constants = {dt_max = 0x7FF0000000000000 : f64, dt_min = 0.000000e+00 : f64}, args = [{{.*}}]>
// CHECK-DAG: func.func private @hk_ssm_step_0(
// CHECK-DAG: func.func private @hk_linear_6({{.*}}) attributes {hybrid.kernel = #hybrid.kernel<"linear", bf16, sizes = {IN = 64 : i64, OUT = 512 : i64, decode = 0 : i64, has_bias = 0 : i64}, constants = {scale = 1.250000e-01 : f64}
// CHECK-DAG: func.func private @hk_linear_7({{.*}}) attributes {hybrid.kernel = #hybrid.kernel<"linear", bf16, sizes = {IN = 64 : i64, OUT = 296 : i64, decode = 1 : i64, has_bias = 0 : i64}, constants = {}
// Attention stays f32 unless the matmuls multiply bf16 pairs:
// CHECK-DAG: func.func private @hk_attention_0({{.*}}) attributes {hybrid.kernel = #hybrid.kernel<"attention", f32, sizes = {HD = 16 : i64, HEADS = 4 : i64, KV = 2 : i64, bf16 = 0 : i64, decode = 0 : i64, kv_dtype = 0 : i64}, constants = {scale = 6.250000e-02 : f64}
// New K and V rows go into the cache, an f32 view [kv head][block][..] of
// its segments:
// CHECK-DAG: func.func private @hk_kv_append_0({{.*}}) attributes {hybrid.kernel = #hybrid.kernel<"kv_append", f32, sizes = {HD = 16 : i64, KV = 2 : i64, dtype = 0 : i64, v = 0 : i64}, constants = {}, args = [memref<?x?xf32>, i32, memref<?x?x?xf32>]>
// CHECK-DAG: func.func private @hk_kv_append_1({{.*}}) attributes {hybrid.kernel = #hybrid.kernel<"kv_append", f32, sizes = {HD = 16 : i64, KV = 2 : i64, dtype = 0 : i64, v = 1 : i64}

// With bf16 pairs (input-group=2) prefill attention multiplies in bf16 too;
// decode attention reads each key once and stays f32.
// PAIRS-DAG: func.func private @hk_attention_0({{.*}}) attributes {hybrid.kernel = #hybrid.kernel<"attention", f32, sizes = {HD = 16 : i64, HEADS = 4 : i64, KV = 2 : i64, bf16 = 1 : i64, decode = 0 : i64, kv_dtype = 0 : i64}
// PAIRS-DAG: func.func private @hk_attention_1({{.*}}) attributes {hybrid.kernel = #hybrid.kernel<"attention", f32, sizes = {HD = 16 : i64, HEADS = 4 : i64, KV = 2 : i64, bf16 = 0 : i64, decode = 1 : i64, kv_dtype = 0 : i64}

// int8: a head's row of 16 dims padded to 32, plus its scale: 32 + 4 = 36
// bytes. kv_append writes the levels (u8) and the
// scales (f32 over the same memory); attention reads K's levels as u8, V's
// as i8, each with its scales.
// INT8KV: module attributes {{{.*}}hybrid.kv_cache = #hybrid.kv_cache<int8, heads = 2, head_dim = 16>, {{.*}}kv_row_bytes = 36,
// INT8KV-DAG: func.func private @hk_kv_append_0({{.*}}) attributes {hybrid.kernel = #hybrid.kernel<"kv_append", f32, sizes = {HD = 16 : i64, KV = 2 : i64, dtype = 2 : i64, v = 0 : i64}, constants = {}, args = [memref<?x?xf32>, i32, memref<?x?x?xui8>, memref<?x?x?xf32>]>
// INT8KV-DAG: func.func private @hk_attention_1({{.*}}) attributes {hybrid.kernel = #hybrid.kernel<"attention", f32, sizes = {HD = 16 : i64, HEADS = 4 : i64, KV = 2 : i64, bf16 = 0 : i64, decode = 1 : i64, kv_dtype = 2 : i64}, constants = {scale = 6.250000e-02 : f64}, args = [memref<?x?xf32>, memref<?x?x?xui8>, memref<?x?x?xf32>, memref<?x?x?xi8>, memref<?x?x?xf32>, i32, memref<?x?xf32>]>

// CHECK-LABEL: func.func @hybridc_prefill(%arg0: !llvm.ptr, %arg1: memref<?xi32>, %arg2: memref<?xi8>, %arg3: memref<?xi8>, %arg4: memref<?xi8>, %arg5: memref<?xi8>, %arg6: index, %arg7: index, %arg8: memref<?xi8>, %arg9: memref<?xi8>, %arg10: index) attributes {llvm.emit_c_interface}
// CHECK: %[[T:.*]] = memref.dim %arg1
// CHECK: call @hk_embed_0(%arg0, %{{.*}}, %{{.*}}, %{{.*}})
// in_proj output split into z, xBC, dt without copies:
// CHECK: call @hk_linear_0
// CHECK: memref.subview %{{.*}}[0, 128] [%[[T]], 160] [1, 1]
// conv state in from state_in, out to state_out, at the same offset:
// CHECK: memref.view %arg3[%{{.*}}][] : memref<?xi8> to memref<3x160xf32>
// CHECK: memref.view %arg4[%{{.*}}][] : memref<?xi8> to memref<3x160xf32>
// CHECK: call @hk_conv1d_0
// CHECK: call @hk_conv_state_0
// CHECK: call @hk_ssm_chunk_0
// K and V projections' rows go into the cache, then attention reads it:
// CHECK: call @hk_kv_append_0
// CHECK: call @hk_kv_append_1
// CHECK: call @hk_attention_0
// only the requested logits rows:
// CHECK: scf.if
// CHECK: call @hk_rms_norm_0
// CHECK: call @hk_linear_6
// CHECK-NOT: hybrid.
// CHECK-LABEL: func.func @hybridc_decode(
// CHECK: call @hk_ssm_step_0

// The batch driver: token-wise ops are multi-row calls shared with prefill;
// conv, scan and attention run per stream on the state and KV addresses of
// the stream table (%arg3), K/V rows appended to each stream's cache first.
// CHECK-LABEL: func.func @hybridc_decode_batch(%arg0: !llvm.ptr, %arg1: memref<?xi32>, %arg2: memref<?xi8>, %arg3: memref<?xi64>, %arg4: memref<?xi8>, %arg5: memref<?xi8>)
// CHECK: call @hk_linear_0(
// CHECK: scf.for %[[S:.*]] = %{{.*}} to %{{.*}} step
// CHECK: memref.load %arg3
// CHECK: llvm.inttoptr
// CHECK: builtin.unrealized_conversion_cast {{.*}} to memref<?xi8>
// CHECK: memref.subview %{{.*}}[%[[S]], 0]
// CHECK: call @hk_conv1d_0
// CHECK: call @hk_conv_state_0
// CHECK: call @hk_ssm_step_0
// CHECK: call @hk_moe_expert_tiles_{{.*}}
// CHECK: scf.for
// CHECK: memref.load
// CHECK: call @hk_kv_append_0
// CHECK: call @hk_kv_append_1
// CHECK: call @hk_attention_

// LLVM: llvm.func @hybridc_prefill(
// LLVM: llvm.func @_mlir_ciface_hybridc_prefill(%arg0: !llvm.ptr, %arg1: !llvm.ptr
// LLVM: llvm.func @_mlir_ciface_hybridc_decode(
// LLVM: llvm.func @_mlir_ciface_hybridc_decode_batch(
// LLVM-NOT: memref.
// LLVM-NOT: func.func

// BADTYPE: for the --weight-type option: Cannot find option named 'int2'

// NOFWD: error: hybrid-lower-to-kernels: no func.func @forward to lower
func.func @not_a_model() {
  return
}
