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
//
// The packed layout of a matrix w[OUT][IN] (packLinear) is
//     W[ceil(OUT/L)][ceil(IN/G)][L][G],  W[b][k][l][g] = w[b*L + l][k*G + g]
// (zero past OUT and IN): L = the target's f32 lanes, so one block's L
// outputs are one vector of accumulators, and G = linearPacking().group
// consecutive inputs per lane: 1, or 2 on a target that multiplies bf16
// pairs (vdpbf16ps reads a pair per f32 lane), for int8 and int4 weights 4
// with VNNI (vpdpbusd reads four bytes per i32 lane) and 2 without it
// (vpmaddwd multiplies two i16 per i32 lane). Written W[NB][KG][L][G] below.
//
// int8 weights are symmetric blocks of 32 consecutive inputs of a row, each
// with its own f32 scale d (d = max |w| / 127, q = round(w / d)): stored as
// u8 = q + 128 in the layout above (IN padded to whole blocks with q = 0),
// and the scales as S[NB][IN_pad/32][L] (packLinearScales; for experts
// S[NB][E][IN_pad/32][L]). Kernels quantize their activations the same way
// per token and block, and compute
//   sum_blocks d_w d_x (sum_i u8_w q_x - 128 sum_i q_x).
// int4 weights are the same blocks with 16 levels (the GGUF Q4_0 scheme):
// d = m / -8 where m is the block's value of largest magnitude (so m itself
// is q = -8), q = clamp(round(w / d), -8, 7), stored as u4 = q + 8. Two
// groups share one byte lane: W4[NB][KG/2][L][G], byte (j, l, g) holding
// group 2j in its low nibble and group 2j + 1 in its high one, so one vector
// load feeds two dot-product instructions after a mask and a shift. The sums
// subtract 8 sum_i q_x instead of 128. Scales as for int8.
// The E expert matrices of a mixture (packExperts) interleave by block,
// W[NB][E][KG][L][G]: the grouped prefill kernel walks block b of every
// expert in turn, and this way that walk is one sequential stream (9% faster
// than experts one after another, with the weights cold in cache as each
// layer finds them).
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

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hybridc::codegen {

enum class WeightType { F32, BF16, INT8, INT4 };

/// Whether a weight type is stored in blocks with scales (int8, int4).
inline bool isBlockQuantized(WeightType t) { return t == WeightType::INT8 || t == WeightType::INT4; }

/// Inputs of one int8 / int4 scale block.
constexpr int kQuantBlock = 32;

/// Rows of one moe_expert_tiles tile: the height of its register tile, and
/// the granule in which the driver buckets an expert's tokens.
constexpr int kMoeTileRows = 8;
/// The tile of decode_batch, whose few tokens give most experts one or two
/// rows: a shorter tile wastes less arithmetic on padding rows.
constexpr int kMoeBatchTileRows = 4;
/// Whether moe_expert_tiles is built for tiles of `rows`.
inline bool isMoeTileRows(int rows) { return rows == kMoeTileRows || rows == kMoeBatchTileRows; }

/// The weight type's name as --weights-dtype spells it ("f32", "bf16", "int8", "int4").
const char *weightTypeName(WeightType type);
/// Parses a --weights-dtype name; nullopt for anything else.
std::optional<WeightType> parseWeightType(const std::string &name);

/// The CPU a model is compiled for.
struct TargetSpec {
  std::string name;         // one of knownTargets() other than "host"
  std::string halideTarget; // Halide target string, with no_runtime-user_context
  int lanes = 8;            // f32 lanes of one vector register: 4 (NEON), 8 or 16
  int vectorRegisters = 16; // architectural vector registers: 16 (AVX2) or 32
  bool bf16Dot = false;     // bf16 weights meet bf16 activations in vdpbf16ps
  bool int8Dot = false;     // int8 sums of 4 products in vpdpbusd (VNNI); else pairs
  std::string llvmTriple;   // the driver's LLVM target triple (the library's machine)
  std::string llvmCpu;      // for the driver's LLVM TargetMachine
  std::string llvmFeatures;
  std::string cc;           // the C compiler that builds the glue and links the library
  std::string ccPackage;    // the Debian package that provides `cc`
  std::string runtimeDir;   // where the runtime archive lies under lib/: "" or the triple
  bool crossCompiled() const { return !runtimeDir.empty(); }
  /// Register tiles may hold about 24 accumulators (32 registers), else 12.
  bool wideRegisterFile() const { return vectorRegisters >= 32; }
};

/// The targets `--target` accepts: the named CPU levels, then "host".
std::vector<std::string> knownTargets();
/// Resolves a target name; nullopt (and `error`) for unknown names. "host"
/// resolves to the best named target this CPU runs (its `name` says which),
/// never to Halide's own host target: on AMD CPUs with AVX512-BF16 that
/// reports Sapphire Rapids, whose AVX512-FP16 and AMX they lack.
std::optional<TargetSpec> resolveTarget(const std::string &name, std::string &error);
/// Resolves `--target`'s comma-separated list (each name as resolveTarget
/// takes it): the variants of one library, in the order given, each once,
/// and all x86-64 levels when there are several (aarch64 is a library of its
/// own). nullopt (and `error`) otherwise.
std::optional<std::vector<TargetSpec>> resolveTargets(const std::string &list,
                                                      std::string &error);
/// What a variant's kernel and driver symbols end with in a library of
/// several variants: "__" and its name with '-' as '_' ("__x86_64_avx2").
std::string variantSymbolSuffix(const TargetSpec &target);
/// Whether this CPU can run code built for the named target.
bool cpuSupports(const TargetSpec &target);

/// How packLinear lays out a weight for the kernels of one target (see the
/// layout at the top of this file).
struct LinearPacking {
  int lanes = 8;      // L: output rows per block
  int group = 1;      // G: consecutive inputs per lane
  int scaleBlock = 0; // inputs per scale (int8, int4: kQuantBlock), 0: no scales
  int groupsPerByte = 1; // int4: 2 (two groups share a byte lane), else 1
  int64_t blocks(int64_t out) const { return (out + lanes - 1) / lanes; }
  /// IN rounded up to whole scale blocks.
  int64_t paddedInputs(int64_t in) const {
    return scaleBlock ? (in + scaleBlock - 1) / scaleBlock * scaleBlock : in;
  }
  int64_t groups(int64_t in) const { return (paddedInputs(in) + group - 1) / group; }
  /// The stored group dimension: groups(in), or half of it for int4.
  int64_t storedGroups(int64_t in) const { return groups(in) / groupsPerByte; }
  int64_t scaleBlocks(int64_t in) const { return scaleBlock ? paddedInputs(in) / scaleBlock : 0; }
};
/// The one place that decides the packing: the lowering's weight views, the
/// weight packer and the kernels all ask here.
LinearPacking linearPacking(const TargetSpec &target, WeightType type);

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

/// Compiles `spec` for `target` into an object file, and when asked its
/// Halide statement (`stmtPath`), assembly (`asmPath`) and statement as
/// Halide's HTML view (`stmtHtmlPath`). Returns "" on success, else a
/// message naming the kernel.
std::string compileKernel(const KernelSpec &spec, const TargetSpec &target,
                          const std::string &objectPath, const std::string &stmtPath = "",
                          const std::string &asmPath = "", const std::string &stmtHtmlPath = "");

/// Compiles the one Halide runtime a generated library links.
std::string compileHalideRuntime(const TargetSpec &target, const std::string &objectPath);

/// Packs a row-major f32 matrix w[OUT][IN] into the `linear` layout
/// W[NB][KG][L][G] of `packing` (zero past OUT and IN), converting to `type`.
/// Appends to `bytes` (raw little-endian bytes).
void packLinear(const float *w, int64_t out, int64_t in, const LinearPacking &packing,
                WeightType type, std::vector<uint8_t> &bytes);

/// The int8 or int4 (`type`) scales of w[OUT][IN] as S[NB][IN_pad/32][L]
/// f32 (zero past OUT).
void packLinearScales(const float *w, int64_t out, int64_t in, const LinearPacking &packing,
                      WeightType type, std::vector<uint8_t> &bytes);
/// The scales of E experts as S[NB][E][IN_pad/32][L] f32.
void packExpertScales(const float *w, int64_t experts, int64_t out, int64_t in,
                      const LinearPacking &packing, WeightType type,
                      std::vector<uint8_t> &bytes);

/// Quantizes n <= kQuantBlock values as one int8 block: q[i] = round(x[i] /
/// d) (to nearest even), d = max |x| / 127 (0 for an all-zero block, then q
/// = 0). Returns d. The kernels quantize activations the same way.
float quantizeInt8Block(const float *x, int n, int8_t *q);
/// Quantizes n <= kQuantBlock values as one int4 block (the Q4_0 scheme):
/// d = m / -8 for the value m of largest magnitude (the first one on a
/// tie), q[i] = clamp(round(x[i] / d), -8, 7) to nearest even (0 for an
/// all-zero block, d = 0). Returns d. A block of Q4_0 values, dequantized,
/// quantizes back to the same q and d exactly.
float quantizeInt4Block(const float *x, int n, int8_t *q);
/// The scale quantizeInt8Block or quantizeInt4Block returns, without the q.
float blockScale(const float *x, int n, WeightType type);

/// Packs E row-major matrices w[E][OUT][IN] into the experts layout
/// W[NB][E][KG][L][G]: block b of every expert, then block b + 1.
void packExperts(const float *w, int64_t experts, int64_t out, int64_t in,
                 const LinearPacking &packing, WeightType type, std::vector<uint8_t> &bytes);

/// Appends `n` floats converted to `type` (row-major, unpacked).
void packPlain(const float *w, int64_t n, WeightType type, std::vector<uint8_t> &bytes);

/// Rounds f32 to bf16 (round to nearest even; NaN stays NaN).
uint16_t floatToBF16(float f);

} // namespace hybridc::codegen

#endif // HYBRIDC_CODEGEN_KERNELSPEC_H
