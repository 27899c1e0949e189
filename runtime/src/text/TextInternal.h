//===- TextInternal.h - the tokenizer engine's private types ---*- C++ -*-===//
//
// Shared by the files of the text engine (runtime/src/text/): TokenizerBlob
// (a blob checked and opened), TokenTables (its hash tables), Tokenizer (the
// engine's API, decoding), TokenEncode and Bpe (text -> ids), Utf8, Sampler
// and ModelText (a model's P_* text functions). Plain C-compatible C++ like the rest
// of the runtime: malloc/free, no STL, no exceptions.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_RUNTIME_TEXTINTERNAL_H
#define HYBRIDC_RUNTIME_TEXTINTERNAL_H

#include "hybridc/text_abi.h"

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

// ---- Hash tables (open addressing, power-of-two sizes, built at open) -------

// (left, right) -> rank and result of the merge.
typedef struct hybridc_rt_merge_slot {
  uint64_t pair;   // left << 32 | right; 0 with rank -1 marks an empty slot
  int32_t rank;    // -1: empty
  int32_t result;
} hybridc_rt_merge_slot;

// Bytes -> token id, for BPE keys (vocabulary and aliases) and for added
// tokens' texts.
typedef struct hybridc_rt_key_slot {
  uint64_t hash;
  int32_t id; // -1: empty
} hybridc_rt_key_slot;

struct hybridc_rt_tokenizer {
  const uint8_t *blob;
  hybridc_tokenizer_header header;
  const hybridc_tokenizer_token *tokens;
  const hybridc_tokenizer_merge *merges;
  const int32_t *byte_token;                   // [256]
  const hybridc_tokenizer_fallback *fallback;  // [256]
  const int32_t *templ;                        // [num_template]
  const hybridc_tokenizer_step *steps;
  const hybridc_tokenizer_chat_template *chat_templates; // [num_chat_templates]
  const uint8_t *strings;
  int32_t vocab_size; // ids accepted by decode (>= num_tokens)

  hybridc_rt_merge_slot *merge_table;
  uint64_t merge_mask;
  hybridc_rt_key_slot *key_table;   // BPE keys
  uint64_t key_mask;
  hybridc_rt_key_slot *added_table; // added tokens' texts
  uint64_t added_mask;

  // Added tokens by first byte, longest text first: candidates[first[b] ..
  // first[b + 1]) start with byte b.
  int32_t *added_by_first;
  int32_t added_first[257];
  int32_t num_added;

  pcre2_code **patterns; // [num_steps], NULL for steps that are not splits
};

// ---- Small helpers ------------------------------------------------------------
static inline const uint8_t *hybridc_rt_token_key(const hybridc_rt_tokenizer *t, int32_t id) {
  return t->strings + t->tokens[id].key_offset;
}
static inline const uint8_t *hybridc_rt_token_piece_bytes(const hybridc_rt_tokenizer *t,
                                                          int32_t id) {
  return t->strings + t->tokens[id].piece_offset;
}

// 64-bit hash of a byte string (FNV-1a over 8-byte words, then mixed): the
// same function fills and probes every key table.
uint64_t hybridc_rt_hash_bytes(const uint8_t *p, size_t n);

// Slots for `entries` keys: a power of two, at most half full.
uint64_t hybridc_rt_table_size(uint64_t entries);
// Inserts `id` (its key, or with `piece` its piece) under hash `h` unless a
// slot holds the same bytes; returns the id already there (-1 when
// inserted).
int32_t hybridc_rt_key_insert(hybridc_rt_key_slot *table, uint64_t mask, uint64_t h, int32_t id,
                              const hybridc_rt_tokenizer *t, bool piece);

// The id whose BPE key is p[0..n) (-1 if none). With `active_special` false,
// an alias of a special added token does not count (it is not in the
// tokenizer then).
int32_t hybridc_rt_lookup_key(const hybridc_rt_tokenizer *t, const uint8_t *p, size_t n,
                              bool active_special);
// The added token whose text is p[0..n) and that is active (-1 if none).
int32_t hybridc_rt_lookup_added(const hybridc_rt_tokenizer *t, const uint8_t *p, size_t n,
                                bool parse_special);
// Rank and result of merging (left, right); false if there is no such merge.
static inline bool hybridc_rt_lookup_merge(const hybridc_rt_tokenizer *t, int32_t left,
                                           int32_t right, int32_t *rank, int32_t *result) {
  const uint64_t pair = ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
  uint64_t h = pair * 0x9e3779b97f4a7c15ull;
  for (uint64_t i = (h >> 32) & t->merge_mask;; i = (i + 1) & t->merge_mask) {
    const hybridc_rt_merge_slot *s = &t->merge_table[i];
    if (s->rank < 0)
      return false;
    if (s->pair == pair) {
      *rank = s->rank;
      *result = s->result;
      return true;
    }
  }
}

// A growable array of token ids (malloc'ed). Returns false when out of memory.
typedef struct hybridc_rt_ids {
  int32_t *data;
  int64_t size, capacity;
} hybridc_rt_ids;
bool hybridc_rt_ids_push(hybridc_rt_ids *v, int32_t id);
bool hybridc_rt_ids_append(hybridc_rt_ids *v, const int32_t *ids, int64_t n);
void hybridc_rt_ids_free(hybridc_rt_ids *v);

// A growable byte buffer (malloc'ed).
typedef struct hybridc_rt_bytes {
  uint8_t *data;
  int64_t size, capacity;
} hybridc_rt_bytes;
bool hybridc_rt_bytes_append(hybridc_rt_bytes *b, const void *p, int64_t n);
void hybridc_rt_bytes_free(hybridc_rt_bytes *b);

// ---- Utf8.cpp -----------------------------------------------------------------
// Whether p[0..n) is well-formed UTF-8 (no overlong forms, surrogates or
// code points past U+10FFFF).
bool hybridc_rt_utf8_valid(const uint8_t *p, int64_t n);
// Appends p[0..n) to `out` as the WHATWG decoder reads it: each maximal
// subpart of an ill-formed sequence becomes U+FFFD (EF BF BD).
bool hybridc_rt_utf8_sanitize(const uint8_t *p, int64_t n, hybridc_rt_bytes *out);
// Bytes of whitespace (as JavaScript's trim sees it) at the end / start of
// p[0..n), which is well-formed UTF-8.
int64_t hybridc_rt_js_space_suffix(const uint8_t *p, int64_t n);
int64_t hybridc_rt_js_space_prefix(const uint8_t *p, int64_t n);

// ---- Bpe.cpp ------------------------------------------------------------------
// Per-call scratch of the BPE step: symbols, a heap for long words, and a
// cache of the words seen in this call.
typedef struct hybridc_rt_bpe_scratch hybridc_rt_bpe_scratch;
hybridc_rt_bpe_scratch *hybridc_rt_bpe_scratch_create(int64_t text_bytes);
void hybridc_rt_bpe_scratch_free(hybridc_rt_bpe_scratch *s);
// Appends the tokens of one pre-token (its raw bytes) to `out`. False when
// out of memory.
bool hybridc_rt_bpe_word(const hybridc_rt_tokenizer *t, hybridc_rt_bpe_scratch *s,
                         const uint8_t *word, int64_t n, bool parse_special,
                         hybridc_rt_ids *out);

// ---- TokenEncode.cpp ------------------------------------------------------------
// Text -> ids into `out` (the engine's encode without the buffer protocol).
// Returns a status; on failure the message is set.
int hybridc_rt_encode_into(const hybridc_rt_tokenizer *t, const uint8_t *text, int64_t len,
                           int32_t flags, hybridc_rt_ids *out);

#endif // HYBRIDC_RUNTIME_TEXTINTERNAL_H
