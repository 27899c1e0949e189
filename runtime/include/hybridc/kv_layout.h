/*===- kv_layout.h - the KV cache's element types and block layout -*- C -*-===*
 *
 * One definition of how a session stores its K and V rows, read by the
 * state planner (bytes per token), the lowering and the kernels (where each
 * element lies), the runtime (capacity in whole blocks, state images) and
 * the tests (their plain-loop oracle). Header-only C.
 *
 * A KV cache is one segment per attention layer, K or V, and kv head: the
 * segments of layer l (counting attention layers in the model's order) are
 * its K heads (2 l) * kv_heads + g, then its V heads (2 l + 1) * kv_heads +
 * g. So one kv head's keys (or values) lie in one place, in token order:
 * decode and prefill stream each head's cache front to back.
 *
 * A segment is an array of blocks of HYBRIDC_KV_BLOCK_TOKENS (16)
 * consecutive tokens, so a segment of `capacity` tokens (a multiple of 16)
 * is `capacity * row_bytes` bytes and growing it keeps every block where it
 * is. Inside a block, with HDP the head dimension padded as
 * hybridc_kv_padded_head_dim says (padding holds zeros) and P the packing:
 *
 *   K: [HDP / P][16 tokens][P]   P consecutive head dims of one token side by
 *      side, the 16 tokens of the block next to each other: a vector load
 *      of one head dim (group) across the block's tokens, what decode's
 *      scores (tokens as vector lanes) multiply by one broadcast query value.
 *   V: [16 / P][HDP][P]          P consecutive tokens of one head dim side by
 *      side: a vector load across head dims, what decode's weighted sum
 *      (head dims as lanes) multiplies by one broadcast weight (pair).
 *
 * Element types (P for K / V):
 *   f32   4 bytes, P = 1 / 1.
 *   bf16  2 bytes (round to nearest even), P = 2 / 2: a 32-bit lane holds a
 *         pair, one operand of vdpbf16ps or two exact f32 after a shift.
 *   int8  1 byte, symmetric blocks of HYBRIDC_KV_SCALE_BLOCK (32) head dims
 *         of one token with one f32 scale each (as GGUF's Q8_0: scale =
 *         max |x| / 127, q = round(x / scale) to nearest even, 0 for an
 *         all-zero block), quantized once, when the row is written.
 *         K stores u8 = q + 128, P = 4 (four u8 in a 32-bit lane: the
 *         unsigned operand of vpdpbusd); V stores the s8 q, P = 1. After the
 *         data, the block holds the scales as f32 [HDP / 32][16 tokens].
 *
 * Token slots of a block past the session's position are zeros after every
 * write (the kernel that appends rows writes whole blocks' tails), so a
 * partly filled block never holds stale values beyond what was written
 * (hybridc_kv_clear_slots).
 *===----------------------------------------------------------------------===*/
#ifndef HYBRIDC_KV_LAYOUT_H
#define HYBRIDC_KV_LAYOUT_H

#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The element types, as one list: X(SUFFIX, value, name as --kv-dtype
 * spells it). The values are the model descriptor's kv_dtype. */
#define HYBRIDC_KV_DTYPES(X)                                                                       \
  X(F32, 0, "f32")                                                                                 \
  X(BF16, 1, "bf16")                                                                               \
  X(INT8, 2, "int8")

enum {
#define HYBRIDC_KV_DTYPE_ENUMERATOR(suffix, value, name) HYBRIDC_KV_##suffix = value,
  HYBRIDC_KV_DTYPES(HYBRIDC_KV_DTYPE_ENUMERATOR)
#undef HYBRIDC_KV_DTYPE_ENUMERATOR
  HYBRIDC_KV_NUM_DTYPES = 3
};

#define HYBRIDC_KV_BLOCK_TOKENS 16
#define HYBRIDC_KV_SCALE_BLOCK 32

/* The name of a KV dtype, or NULL for a value that is none. */
static inline const char *hybridc_kv_dtype_name(int32_t dtype) {
#define HYBRIDC_KV_DTYPE_CASE(suffix, value, name)                                                 \
  if (dtype == value)                                                                              \
    return name;
  HYBRIDC_KV_DTYPES(HYBRIDC_KV_DTYPE_CASE)
#undef HYBRIDC_KV_DTYPE_CASE
  return 0;
}

static inline int32_t hybridc_kv_element_bytes(int32_t dtype) {
  return dtype == HYBRIDC_KV_F32 ? 4 : dtype == HYBRIDC_KV_BF16 ? 2 : 1;
}
static inline int32_t hybridc_kv_pack_k(int32_t dtype) {
  return dtype == HYBRIDC_KV_F32 ? 1 : dtype == HYBRIDC_KV_BF16 ? 2 : 4;
}
static inline int32_t hybridc_kv_pack_v(int32_t dtype) {
  return dtype == HYBRIDC_KV_BF16 ? 2 : 1;
}
static inline int32_t hybridc_kv_has_scales(int32_t dtype) { return dtype == HYBRIDC_KV_INT8; }

/* The stored head dimension: HD rounded up to whole K groups (bf16: pairs)
 * and, for int8, whole scale blocks. */
static inline int64_t hybridc_kv_padded_head_dim(int32_t dtype, int64_t hd) {
  const int64_t unit = dtype == HYBRIDC_KV_INT8 ? HYBRIDC_KV_SCALE_BLOCK : hybridc_kv_pack_k(dtype);
  return (hd + unit - 1) / unit * unit;
}

/* Bytes of one token in one segment (one kv head's row; a block is 16 of
 * them), scales included. */
static inline int64_t hybridc_kv_row_bytes(int32_t dtype, int64_t hd) {
  const int64_t hdp = hybridc_kv_padded_head_dim(dtype, hd);
  int64_t bytes = hdp * hybridc_kv_element_bytes(dtype);
  if (hybridc_kv_has_scales(dtype))
    bytes += (hdp / HYBRIDC_KV_SCALE_BLOCK) * 4;
  return bytes;
}

/* Whether segment `segment` of a cache with `kv_heads` heads per layer holds
 * values (1) or keys (0). */
static inline int hybridc_kv_segment_is_v(int64_t segment, int64_t kv_heads) {
  return (int)((segment / kv_heads) % 2);
}

/* Where element (head dim d, token slot i) of a block lies, in elements
 * from the block's start; hdp is the padded head dimension, p the packing.
 * Macros, so the kernels' index expressions (Halide's, of the same
 * operators) are these very formulas. */
#define HYBRIDC_KV_K_INDEX(hdp, p, d, i)                                                            \
  ((((d) / (p)) * HYBRIDC_KV_BLOCK_TOKENS + (i)) * (p) + (d) % (p))
#define HYBRIDC_KV_V_INDEX(hdp, p, d, i) (((((i) / (p)) * (hdp) + (d)) * (p)) + (i) % (p))
/* int8: the scale of (head dim d, token slot i), in f32 units from the
 * block's start, past the block's data. */
#define HYBRIDC_KV_SCALE_INDEX(hdp, d, i)                                                           \
  ((hdp) * HYBRIDC_KV_BLOCK_TOKENS / 4 + ((d) / HYBRIDC_KV_SCALE_BLOCK) * HYBRIDC_KV_BLOCK_TOKENS + \
   (i))

static inline int64_t hybridc_kv_k_index(int32_t dtype, int64_t hd, int64_t d, int64_t i) {
  return HYBRIDC_KV_K_INDEX(hybridc_kv_padded_head_dim(dtype, hd),
                            (int64_t)hybridc_kv_pack_k(dtype), d, i);
}
static inline int64_t hybridc_kv_v_index(int32_t dtype, int64_t hd, int64_t d, int64_t i) {
  return HYBRIDC_KV_V_INDEX(hybridc_kv_padded_head_dim(dtype, hd),
                            (int64_t)hybridc_kv_pack_v(dtype), d, i);
}
static inline int64_t hybridc_kv_scale_index(int64_t hd, int64_t d, int64_t i) {
  return HYBRIDC_KV_SCALE_INDEX(hybridc_kv_padded_head_dim(HYBRIDC_KV_INT8, hd), d, i);
}

/* Writes the stored form of zero into token slots first_slot .. 15 of one
 * block of a K (is_v = 0) or V (is_v = 1) segment: what the kernel that
 * appends rows leaves after its last one, and what a state image holds
 * there, whatever a failed call or a truncation left in the cache. */
static inline void hybridc_kv_clear_slots(int32_t dtype, int64_t hd, int is_v, uint8_t *block,
                                          int64_t first_slot) {
  const int64_t hdp = hybridc_kv_padded_head_dim(dtype, hd);
  const int32_t bytes = hybridc_kv_element_bytes(dtype);
  for (int64_t d = 0; d < hdp; ++d)
    for (int64_t i = first_slot; i < HYBRIDC_KV_BLOCK_TOKENS; ++i) {
      const int64_t at =
          is_v ? hybridc_kv_v_index(dtype, hd, d, i) : hybridc_kv_k_index(dtype, hd, d, i);
      if (dtype != HYBRIDC_KV_INT8) {
        memset(block + at * bytes, 0, (size_t)bytes);
        continue;
      }
      block[at] = is_v ? 0 : 128; /* level q = 0 (K keeps q + 128) */
      if (d % HYBRIDC_KV_SCALE_BLOCK == 0)
        memset(block + 4 * hybridc_kv_scale_index(hd, d, i), 0, 4);
    }
}

/* Whole blocks that hold `tokens` tokens, in tokens. */
static inline int64_t hybridc_kv_round_tokens(int64_t tokens) {
  return (tokens + HYBRIDC_KV_BLOCK_TOKENS - 1) / HYBRIDC_KV_BLOCK_TOKENS *
         HYBRIDC_KV_BLOCK_TOKENS;
}

#ifdef __cplusplus
}
#endif

#endif /* HYBRIDC_KV_LAYOUT_H */
