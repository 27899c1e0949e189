//===- KernelSpec.h - what one compiled kernel computes ---------*- C++ -*-===//
//
// The narrow interface between the MLIR side of hybridc and its Halide side:
// plain C++, no Halide.h and no MLIR headers (they must stay in separate
// translation units, see docs/toolchain.md).
//
// A kernel is a Halide pipeline specialised for one model's static sizes
// (the token count T stays dynamic) and one target, compiled ahead of time
// to an object file whose function is
//     int <symbol>(void *user_context, halide_buffer_t *arg0, ...)
// with the arguments listed per kind below, inputs first, outputs last.
//
// Shapes are written row-major, outermost first: `x[T][H]` is a Halide
// buffer with dim 0 = H (innermost, stride 1) and dim 1 = T. Activations and
// state are f32; "W" marks a weight stored in the model's weight type (f32,
// bf16, int8 or int4) in the packed layout named; everything else is f32.
// Targets, weight types and the packing decision are in Targets.h.
//
// The packed weight layouts ("W" below) are described in WeightPacking.h.
//
// Kernel kinds (sizes / constants they read from the spec):
//  embed          V H; multiplier
//                 tokens i32[T], table W[V][H] -> out[T][H]
//  rms_norm       H; eps, scale (output multiplier, default 1)
//                 x[T][H], w[H] -> out[T][H]
//  linear         IN OUT has_bias decode; scale (default 1)
//                 x[T][IN], w W[NB][KG][L][G] (packLinear), [w_scale S (int8, int4)],
//                 [bias[OUT]] -> out[T][OUT]    out = scale * (x . w^T + bias)
//  swiglu         S          u[T][2S] -> out[T][S]; out = silu(u[:, :S]) * u[:, S:]
//  residual_add   H; multiplier   x[T][H], b[T][H] -> out = x + multiplier * b
//  moe_router     E K        logits[T][E] -> idx i32[T][K], gates[T][K]
//                 top-K by logit (ties: lower expert id first), gates =
//                 softmax over the K selected logits
//  moe_experts    H I E K     (decode; any T, made for T == 1)
//                 f[T][H], idx i32[T][K], gates[T][K],
//                 w_in W[NB][E][KG][L][G] (packExperts, OUT = 2I, IN = H),
//                 [w_in_scale (int8, int4)], w_out likewise with OUT = H, IN = I,
//                 [w_out_scale (int8, int4)]
//                 -> out[T][H] = sum_k gates * W_out[e] (silu(g) * u),
//                 g, u = the two halves of W_in[e] f
//  moe_expert_tiles H I E TILE (prefill; TILE = kMoeTileRows)
//                 f[T][H], row_token i32[R], row_gate[R], tile_expert i32[R/TILE],
//                 w_in, w_out (as moe_experts) -> y[R][H]
//                 rows [j*TILE, (j+1)*TILE) all use expert e = tile_expert[j]:
//                 y[r] = row_gate[r] * W_out[e] (silu(g) * u), g, u = the
//                 two halves of W_in[e] f[row_token[r]]
//  moe_combine    H K        y[R][H], row_of i32[T][K] -> out[T][H]
//                 out[t] = sum over k (in order) of y[row_of[t][k]]
//  conv1d         C K has_bias
//                 x[T][C], state[K-1][C], w[C][K], [bias[C]] -> out[T][C]
//                 out[t][c] = silu(bias[c] + sum_k w[c][k] * xs[t+k][c]) with
//                 xs = concat(state, x) along time
//  conv_state     C K        x[T][C], state_in[K-1][C] -> state_out[K-1][C]
//                 = the last K-1 rows of concat(state_in, x)
//  ssm_chunk      NH P N G Q; dt_min dt_max (0, +inf: no clamp)
//                 x[T][NH*P], dt[T][NH] (raw), B[T][G*N], C[T][G*N],
//                 A_log[NH], D[NH], dt_bias[NH], state_in[NH][P][N]
//                 -> y[T][NH*P], state_out[NH][P][N]
//                 T <= Q tokens of one chunk, state-space-duality form
//                 (docs/model.md); the driver loops over chunks.
//  ssm_step       NH P N G; dt_min dt_max  same arguments with T == 1: the
//                 single-token recurrence (docs/model.md) for decode.
//  gated_rms_norm D GS; eps   y[T][D], z[T][D], w[D] -> out[T][D]
//                 q = y * silu(z), normalised over groups of GS channels
//  attention      HEADS KV HD decode bf16 kv_dtype; scale
//                 q[T][HEADS*HD], k cache, v cache, past (i32 scalar)
//                 -> out[T][HEADS*HD]; query t sees keys 0 .. past + t;
//                 query head h reads kv head h / (HEADS / KV). A cache is one
//                 segment of kv_layout.h's blocks (tokens [0, past + T) in
//                 use) in kv_dtype (0 f32, 1 bf16, 2 int8), as [blocks][..]
//                 buffers: f32 elements; bf16 as u32 pairs; int8 as bytes
//                 (K u8, V i8) then the same memory as f32 (the scales).
//                 decode picks the schedule (1: made for T == 1); bf16 = 1
//                 (prefill, targets with bf16Dot) rounds q, k, v and the
//                 softmax weights to bf16 for the two products
//  kv_append      KV HD dtype v (0: a K cache, 1: a V cache)
//                 x[T][KV*HD], past (i32 scalar) -> the segment as
//                 [blocks][..] of f32, bf16 or (int8) u8, and for int8 the
//                 same memory as f32: tokens past .. past+T-1 written in the
//                 dtype (rounded, or quantized per 32 head dims), the slots
//                 after them in their block zeroed, nothing else touched
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CODEGEN_KERNELSPEC_H
#define HYBRIDC_CODEGEN_KERNELSPEC_H

#include "hybridc/Codegen/Targets.h"

#include <cstdint>
#include <map>
#include <string>

namespace hybridc::codegen {

/// Rows of one moe_expert_tiles tile: the height of its register tile, and
/// the granule in which the driver buckets an expert's tokens.
constexpr int kMoeTileRows = 8;
/// The tile of decode_batch, whose few tokens give most experts one or two
/// rows: a shorter tile wastes less arithmetic on padding rows.
constexpr int kMoeBatchTileRows = 4;
/// Whether moe_expert_tiles is built for tiles of `rows`.
inline bool isMoeTileRows(int rows) { return rows == kMoeTileRows || rows == kMoeBatchTileRows; }

/// One kernel instance.
struct KernelSpec {
  std::string kind;   // one of the kinds above
  std::string symbol; // the C symbol of the compiled function
  std::map<std::string, int64_t> sizes;
  std::map<std::string, double> constants;
  WeightType weightType = WeightType::F32;

  int64_t size(const std::string &key) const;                  // must exist
  double constant(const std::string &key, double dflt) const;  // may be absent
};

/// One argument of a compiled kernel after its user context, as the glue
/// passes it: a halide_buffer_t of `rank` dimensions and element type
/// (halide_type_code_t: 0 int, 1 uint, 2 float, 4 bfloat; bits), or an
/// int32 scalar.
struct KernelArg {
  bool isBuffer = true;
  int rank = 0;           // buffers
  uint8_t halideCode = 2;
  uint8_t bits = 32;
};

/// Compiles `spec` for `target` into an object file, and when asked its
/// Halide statement (`stmtPath`), assembly (`asmPath`) and statement as
/// Halide's HTML view (`stmtHtmlPath`). Returns "" on success, else a
/// message naming the kernel.
std::string compileKernel(const KernelSpec &spec, const TargetSpec &target,
                          const std::string &objectPath, const std::string &stmtPath = "",
                          const std::string &asmPath = "", const std::string &stmtHtmlPath = "");

/// Compiles the one Halide runtime a generated library links.
std::string compileHalideRuntime(const TargetSpec &target, const std::string &objectPath);

/// The Halide library that compiles the kernels, as its file's path, size
/// and modification time: for caches of compiled kernels (the compiler's
/// own code is identified apart).
std::string halideLibraryIdentity();

} // namespace hybridc::codegen

#endif // HYBRIDC_CODEGEN_KERNELSPEC_H
