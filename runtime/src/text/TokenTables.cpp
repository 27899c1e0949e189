//===- TokenTables.cpp - the tokenizer's hash tables ----------------------===//
//
// Open addressing over power-of-two tables, built once when a tokenizer is
// opened (TokenizerBlob.cpp) and read-only afterwards: BPE keys and added
// tokens' texts -> ids. The merge table's lookups are in Bpe.cpp.
//
//===----------------------------------------------------------------------===//
#include "TextInternal.h"

#include <string.h>

uint64_t hybridc_rt_hash_bytes(const uint8_t *p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  memcpy(&tail, p + i, n - i);
  h = (h ^ tail) * 0xff51afd7ed558ccdull;
  h ^= h >> 32;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  return h;
}

// ---- Tables -------------------------------------------------------------------

uint64_t hybridc_rt_table_size(uint64_t entries) {
  uint64_t size = 16;
  while (size < entries * 2) // at most half full
    size *= 2;
  return size;
}

// The slot of the token whose key (with `piece`: whose piece) is the `n`
// bytes at `p`, hashing to `h`, or the empty slot where it would go (linear
// probing; the tables are at most half full).
static hybridc_rt_key_slot *find_slot(hybridc_rt_key_slot *table, uint64_t mask, uint64_t h,
                                      const hybridc_rt_tokenizer *t, bool piece,
                                      const uint8_t *p, size_t n) {
  for (uint64_t i = h & mask;; i = (i + 1) & mask) {
    hybridc_rt_key_slot *s = &table[i];
    if (s->id < 0)
      return s;
    if (s->hash != h)
      continue;
    const int32_t o = s->id;
    const uint8_t *other = piece ? hybridc_rt_token_piece_bytes(t, o) : hybridc_rt_token_key(t, o);
    const uint32_t m = piece ? t->tokens[o].piece_bytes : t->tokens[o].key_bytes;
    if (m == n && memcmp(other, p, n) == 0)
      return s;
  }
}

int32_t hybridc_rt_key_insert(hybridc_rt_key_slot *table, uint64_t mask, uint64_t h, int32_t id,
                              const hybridc_rt_tokenizer *t, bool piece) {
  const uint8_t *bytes = piece ? hybridc_rt_token_piece_bytes(t, id) : hybridc_rt_token_key(t, id);
  const uint32_t n = piece ? t->tokens[id].piece_bytes : t->tokens[id].key_bytes;
  hybridc_rt_key_slot *s = find_slot(table, mask, h, t, piece, bytes, n);
  if (s->id >= 0)
    return s->id;
  s->hash = h;
  s->id = id;
  return -1;
}

int32_t hybridc_rt_lookup_key(const hybridc_rt_tokenizer *t, const uint8_t *p, size_t n,
                              bool active_special) {
  const hybridc_rt_key_slot *s =
      find_slot(t->key_table, t->key_mask, hybridc_rt_hash_bytes(p, n), t, false, p, n);
  if (s->id < 0)
    return -1;
  // Keys are unique, so this is the only candidate.
  const uint32_t flags = t->tokens[s->id].flags;
  if ((flags & HYBRIDC_TOKEN_ALIAS) && (flags & HYBRIDC_TOKEN_SPECIAL) && !active_special)
    return -1;
  return s->id;
}

int32_t hybridc_rt_lookup_added(const hybridc_rt_tokenizer *t, const uint8_t *p, size_t n,
                                bool parse_special) {
  if (!t->added_table || n == 0)
    return -1;
  const hybridc_rt_key_slot *s =
      find_slot(t->added_table, t->added_mask, hybridc_rt_hash_bytes(p, n), t, true, p, n);
  if (s->id < 0)
    return -1;
  if ((t->tokens[s->id].flags & HYBRIDC_TOKEN_SPECIAL) && !parse_special)
    return -1;
  return s->id;
}
