//===- WeightPacking.h - weights packed for the kernels ---------*- C++ -*-===//
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
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CODEGEN_WEIGHTPACKING_H
#define HYBRIDC_CODEGEN_WEIGHTPACKING_H

#include "hybridc/Codegen/Targets.h"

#include <cstdint>
#include <vector>

namespace hybridc::codegen {

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

#endif // HYBRIDC_CODEGEN_WEIGHTPACKING_H
