//===- Bpe.cpp - byte-pair merges of one pre-token -------------------------===//
//
// A pre-token starts as one symbol per byte (the token of that byte, as the
// byte-level alphabet names it); the adjacent pair whose merge has the lowest
// rank is merged, the leftmost of equal ranks first, until no pair has a
// merge. Short words (nearly all of them) rescan a small array; long ones
// (runs of spaces, long numbers or identifiers) keep their pairs in a heap,
// so a word of n bytes costs O(n log n), not O(n^2). Both orders are the
// same: lowest rank, then leftmost position.
//
// A call tokenizing a long text also caches the ids of the words it has
// seen: prose repeats its words, and a hit skips the merges.
//
//===----------------------------------------------------------------------===//
#include "TextInternal.h"

#include <stdlib.h>
#include <string.h>

namespace {

// Words up to this many bytes are merged by rescanning; longer ones by heap.
constexpr int64_t kScanLimit = 48;
// Words up to this many bytes are cached.
constexpr int64_t kCacheWordLimit = 32;
constexpr int32_t kNoRank = 0x7fffffff;

struct Symbol {
  int32_t id;    // token, or -1 for a byte without one
  int32_t start; // byte offset in the word (the first byte for id -1)
  int32_t prev, next;
};

struct HeapEntry {
  int32_t rank, start; // order: rank, then position
  int32_t left;        // symbol index
  int32_t leftId, rightId;
};

struct CacheEntry {
  uint64_t hash;
  uint32_t wordOffset, wordBytes;
  uint32_t idsOffset, idsCount;
};

} // namespace

struct hybridc_rt_bpe_scratch {
  Symbol *symbols;
  int32_t *ranks; // scan path: rank of pair (i, i+1)
  int64_t symbolCapacity;
  HeapEntry *heap;
  int64_t heapSize, heapCapacity;
  // The cache: a direct-mapped table (cacheMask + 1 entries, NULL when the
  // text is too short to profit), words and ids in two arenas.
  CacheEntry *cache;
  uint64_t cacheMask;
  hybridc_rt_bytes cacheWords;
  hybridc_rt_ids cacheIds;
};

bool hybridc_rt_ids_push(hybridc_rt_ids *v, int32_t id) { return hybridc_rt_ids_append(v, &id, 1); }

bool hybridc_rt_ids_append(hybridc_rt_ids *v, const int32_t *ids, int64_t n) {
  if (n <= 0) // a byte that becomes nothing: no memcpy from or to NULL
    return true;
  if (v->size + n > v->capacity) {
    int64_t cap = v->capacity ? v->capacity : 64;
    while (cap < v->size + n)
      cap *= 2;
    int32_t *grown = (int32_t *)realloc(v->data, (size_t)cap * sizeof(int32_t));
    if (!grown)
      return false;
    v->data = grown;
    v->capacity = cap;
  }
  memcpy(v->data + v->size, ids, (size_t)n * sizeof(int32_t));
  v->size += n;
  return true;
}

void hybridc_rt_ids_free(hybridc_rt_ids *v) {
  free(v->data);
  v->data = NULL;
  v->size = v->capacity = 0;
}

hybridc_rt_bpe_scratch *hybridc_rt_bpe_scratch_create(int64_t text_bytes) {
  hybridc_rt_bpe_scratch *s = (hybridc_rt_bpe_scratch *)calloc(1, sizeof *s);
  if (!s)
    return NULL;
  if (text_bytes >= 1024) {
    // About one entry per 8 bytes of text, between 1K and 64K entries.
    uint64_t entries = 1024;
    while (entries < 65536 && entries * 8 < (uint64_t)text_bytes)
      entries *= 2;
    s->cache = (CacheEntry *)calloc(entries, sizeof(CacheEntry));
    if (s->cache)
      s->cacheMask = entries - 1; // without memory for it, no cache
  }
  return s;
}

void hybridc_rt_bpe_scratch_free(hybridc_rt_bpe_scratch *s) {
  if (!s)
    return;
  free(s->symbols);
  free(s->ranks);
  free(s->heap);
  free(s->cache);
  hybridc_rt_bytes_free(&s->cacheWords);
  hybridc_rt_ids_free(&s->cacheIds);
  free(s);
}

static bool reserve_symbols(hybridc_rt_bpe_scratch *s, int64_t n) {
  if (n <= s->symbolCapacity)
    return true;
  int64_t cap = s->symbolCapacity ? s->symbolCapacity : 64;
  while (cap < n)
    cap *= 2;
  Symbol *symbols = (Symbol *)realloc(s->symbols, (size_t)cap * sizeof(Symbol));
  if (!symbols)
    return false;
  s->symbols = symbols;
  int32_t *ranks = (int32_t *)realloc(s->ranks, (size_t)cap * sizeof(int32_t));
  if (!ranks)
    return false;
  s->ranks = ranks;
  s->symbolCapacity = cap;
  return true;
}

static int32_t pair_rank(const hybridc_rt_tokenizer *t, int32_t left, int32_t right,
                         int32_t *result) {
  int32_t rank;
  if (left < 0 || right < 0 || !hybridc_rt_lookup_merge(t, left, right, &rank, result))
    return kNoRank;
  return rank;
}

// Merges a short word in place: symbols [0, n) as an array.
static int64_t merge_by_scan(const hybridc_rt_tokenizer *t, hybridc_rt_bpe_scratch *s,
                             int64_t n) {
  Symbol *sym = s->symbols;
  int32_t *rank = s->ranks;
  int32_t unused;
  for (int64_t i = 0; i + 1 < n; ++i)
    rank[i] = pair_rank(t, sym[i].id, sym[i + 1].id, &unused);
  for (;;) {
    int64_t best = -1;
    int32_t bestRank = kNoRank;
    for (int64_t i = 0; i + 1 < n; ++i)
      if (rank[i] < bestRank) {
        bestRank = rank[i];
        best = i;
      }
    if (best < 0)
      return n;
    int32_t merged = -1;
    pair_rank(t, sym[best].id, sym[best + 1].id, &merged);
    sym[best].id = merged;
    memmove(sym + best + 1, sym + best + 2, (size_t)(n - best - 2) * sizeof(Symbol));
    // Pairs (best+1, best+2) .. (n-2, n-1) shift down over the removed pair.
    if (n - best - 3 > 0)
      memmove(rank + best + 1, rank + best + 2, (size_t)(n - best - 3) * sizeof(int32_t));
    --n;
    if (best > 0)
      rank[best - 1] = pair_rank(t, sym[best - 1].id, sym[best].id, &unused);
    if (best + 1 < n)
      rank[best] = pair_rank(t, sym[best].id, sym[best + 1].id, &unused);
  }
}

static bool heap_less(const HeapEntry &a, const HeapEntry &b) {
  return a.rank != b.rank ? a.rank < b.rank : a.start < b.start;
}

static bool heap_push(hybridc_rt_bpe_scratch *s, const HeapEntry &e) {
  if (s->heapSize == s->heapCapacity) {
    int64_t cap = s->heapCapacity ? s->heapCapacity * 2 : 256;
    HeapEntry *grown = (HeapEntry *)realloc(s->heap, (size_t)cap * sizeof(HeapEntry));
    if (!grown)
      return false;
    s->heap = grown;
    s->heapCapacity = cap;
  }
  int64_t i = s->heapSize++;
  while (i > 0) {
    int64_t parent = (i - 1) / 2;
    if (!heap_less(e, s->heap[parent]))
      break;
    s->heap[i] = s->heap[parent];
    i = parent;
  }
  s->heap[i] = e;
  return true;
}

static HeapEntry heap_pop(hybridc_rt_bpe_scratch *s) {
  HeapEntry top = s->heap[0];
  HeapEntry last = s->heap[--s->heapSize];
  int64_t i = 0, n = s->heapSize;
  for (;;) {
    int64_t child = 2 * i + 1;
    if (child >= n)
      break;
    if (child + 1 < n && heap_less(s->heap[child + 1], s->heap[child]))
      ++child;
    if (!heap_less(s->heap[child], last))
      break;
    s->heap[i] = s->heap[child];
    i = child;
  }
  if (n > 0)
    s->heap[i] = last;
  return top;
}

static bool push_pair(const hybridc_rt_tokenizer *t, hybridc_rt_bpe_scratch *s, int32_t left) {
  const Symbol *sym = s->symbols;
  int32_t right = sym[left].next;
  if (right < 0)
    return true;
  int32_t unused;
  int32_t rank = pair_rank(t, sym[left].id, sym[right].id, &unused);
  if (rank == kNoRank)
    return true;
  return heap_push(s, HeapEntry{rank, sym[left].start, left, sym[left].id, sym[right].id});
}

// Merges a long word: symbols [0, n) as a linked list with a heap of pairs.
// Returns false when out of memory.
static bool merge_by_heap(const hybridc_rt_tokenizer *t, hybridc_rt_bpe_scratch *s, int64_t n) {
  Symbol *sym = s->symbols;
  s->heapSize = 0;
  for (int64_t i = 0; i + 1 < n; ++i)
    if (!push_pair(t, s, (int32_t)i))
      return false;
  while (s->heapSize > 0) {
    HeapEntry e = heap_pop(s);
    Symbol &left = sym[e.left];
    // Stale: the left symbol was merged away or changed, or its right
    // neighbour is no longer the one this pair was made with.
    if (left.id != e.leftId || left.next < 0 || sym[left.next].id != e.rightId)
      continue;
    int32_t merged = -1;
    pair_rank(t, left.id, sym[left.next].id, &merged);
    Symbol &right = sym[left.next];
    left.id = merged;
    left.next = right.next;
    if (right.next >= 0)
      sym[right.next].prev = e.left;
    right.id = -2; // removed: never matches a pair again
    if (left.prev >= 0 && !push_pair(t, s, left.prev))
      return false;
    if (!push_pair(t, s, e.left))
      return false;
  }
  return true;
}

// Appends the tokens of symbols in list order (index 0 first, following
// `next` when `linked`, else [0, n)).
static bool emit(const hybridc_rt_tokenizer *t, const hybridc_rt_bpe_scratch *s,
                 const uint8_t *word, int64_t n, bool linked, hybridc_rt_ids *out) {
  const Symbol *sym = s->symbols;
  for (int64_t i = 0; i >= 0 && i < n; i = linked ? sym[i].next : i + 1) {
    if (sym[i].id >= 0) {
      if (!hybridc_rt_ids_push(out, sym[i].id))
        return false;
      continue;
    }
    const hybridc_tokenizer_fallback &f = t->fallback[word[sym[i].start]];
    if (!hybridc_rt_ids_append(out, f.ids, f.count))
      return false;
  }
  return true;
}

bool hybridc_rt_bpe_word(const hybridc_rt_tokenizer *t, hybridc_rt_bpe_scratch *s,
                         const uint8_t *word, int64_t n, bool parse_special,
                         hybridc_rt_ids *out) {
  if (n <= 0)
    return true;
  if (t->header.flags & HYBRIDC_TOKENIZER_IGNORE_MERGES) {
    int32_t id = hybridc_rt_lookup_key(t, word, (size_t)n, parse_special);
    if (id >= 0)
      return hybridc_rt_ids_push(out, id);
  }
  CacheEntry *slot = NULL;
  uint64_t hash = 0;
  if (s->cache && n <= kCacheWordLimit) {
    hash = hybridc_rt_hash_bytes(word, (size_t)n);
    slot = &s->cache[hash & s->cacheMask];
    if (slot->hash == hash && slot->wordBytes == (uint32_t)n &&
        memcmp(s->cacheWords.data + slot->wordOffset, word, (size_t)n) == 0)
      return hybridc_rt_ids_append(out, s->cacheIds.data + slot->idsOffset, slot->idsCount);
  }

  if (!reserve_symbols(s, n))
    return false;
  for (int64_t i = 0; i < n; ++i)
    s->symbols[i] = Symbol{t->byte_token[word[i]], (int32_t)i, (int32_t)i - 1,
                           i + 1 < n ? (int32_t)i + 1 : -1};
  const int64_t first = out->size;
  bool ok;
  if (n <= kScanLimit) {
    int64_t left = merge_by_scan(t, s, n);
    ok = emit(t, s, word, left, /*linked=*/false, out);
  } else {
    ok = merge_by_heap(t, s, n) && emit(t, s, word, n, /*linked=*/true, out);
  }
  if (!ok)
    return false;

  // Remember the word; a cache that cannot grow just stops remembering.
  if (slot && s->cacheWords.size + n < (int64_t)UINT32_MAX &&
      s->cacheIds.size + (out->size - first) < (int64_t)UINT32_MAX) {
    const int64_t wordOffset = s->cacheWords.size, idsOffset = s->cacheIds.size;
    if (hybridc_rt_bytes_append(&s->cacheWords, word, n) &&
        hybridc_rt_ids_append(&s->cacheIds, out->data + first, out->size - first))
      *slot = CacheEntry{hash, (uint32_t)wordOffset, (uint32_t)n, (uint32_t)idsOffset,
                         (uint32_t)(out->size - first)};
  }
  return true;
}
