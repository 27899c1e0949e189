//===- TokenizerBlob.cpp - a tokenizer blob checked, then opened ----------===//
//
// A model library carries its tokenizer as a blob (text_abi.h,
// docs/formats.md) that the compiler wrote. It comes from generated code, but
// a library file can be damaged or tampered with, so nothing in it is
// trusted: model_open checks every count, offset, id and merge of the blob
// and compiles its patterns before the text functions may use it, and
// refuses the model with HYBRIDC_ERR_FORMAT otherwise. What open builds (hash
// tables, compiled patterns) is read-only afterwards, so any number of
// threads tokenize with one model at once.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"
#include "TextInternal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static_assert(sizeof(hybridc_tokenizer_header) == HYBRIDC_TOKENIZER_HEADER_BYTES,
              "the blob header is 64 bytes");
static_assert(sizeof(hybridc_tokenizer_token) == 20 && sizeof(hybridc_tokenizer_merge) == 12 &&
                  sizeof(hybridc_tokenizer_fallback) == 12 && sizeof(hybridc_tokenizer_step) == 16,
              "the blob's records have no padding");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the tokenizer blob is little-endian and read in place"
#endif

// ---- Checking a blob ------------------------------------------------------------

namespace {

// The checks and table building of one blob; every failure names what is
// wrong and where.
class BlobReader {
public:
  BlobReader(const uint8_t *blob, uint64_t bytes, hybridc_rt_tokenizer *t)
      : blob(blob), bytes(bytes), t(t) {}
  int read();

private:
  int fail(const char *fmt, ...) __attribute__((format(printf, 2, 3)));
  int layout();
  int checkTokens();
  int checkMerges();
  int checkTables();
  int checkSteps();
  int checkChatTemplates();
  int buildTables();
  bool validId(int32_t id) const { return id >= 0 && id < t->header.num_tokens; }
  bool inStrings(uint32_t offset, uint32_t n) const {
    return (uint64_t)offset + n <= t->header.string_bytes;
  }

  const uint8_t *blob;
  uint64_t bytes;
  hybridc_rt_tokenizer *t = NULL;
};

} // namespace

int BlobReader::fail(const char *fmt, ...) {
  char detail[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  return hybridc_rt_fail(HYBRIDC_ERR_FORMAT, "tokenizer blob: %s", detail);
}

int BlobReader::layout() {
  if (!blob)
    return fail("NULL");
  if ((uintptr_t)blob % 4 != 0)
    return fail("not 4-byte aligned");
  if (bytes < HYBRIDC_TOKENIZER_HEADER_BYTES)
    return fail("%" PRIu64 " bytes, smaller than its %u-byte header", bytes,
                HYBRIDC_TOKENIZER_HEADER_BYTES);
  hybridc_tokenizer_header &h = t->header;
  memcpy(&h, blob, sizeof h);
  if (memcmp(h.magic, HYBRIDC_TOKENIZER_MAGIC, sizeof h.magic) != 0)
    return fail("bad magic (expected \"%s\")", HYBRIDC_TOKENIZER_MAGIC);
  if (h.format_version != HYBRIDC_TOKENIZER_FORMAT_VERSION)
    return fail("format version %u, this runtime reads version %u", h.format_version,
                HYBRIDC_TOKENIZER_FORMAT_VERSION);
  if (h.header_bytes != HYBRIDC_TOKENIZER_HEADER_BYTES)
    return fail("header_bytes %u, expected %u", h.header_bytes, HYBRIDC_TOKENIZER_HEADER_BYTES);
  for (uint8_t r : h.reserved)
    if (r != 0)
      return fail("reserved header bytes are not zero");
  if (h.total_bytes != bytes)
    return fail("total_bytes %" PRIu64 " but the blob has %" PRIu64, h.total_bytes, bytes);
  if (h.num_tokens < 1 || h.num_merges < 0 || h.num_steps < 0 || h.num_steps > 64 ||
      h.num_template < 0 || h.num_template > 64 || h.num_chat_templates < 0 ||
      h.num_chat_templates > 64)
    return fail("counts out of range (tokens %d, merges %d, steps %d, template %d, chat "
                "templates %d)",
                h.num_tokens, h.num_merges, h.num_steps, h.num_template, h.num_chat_templates);
  if (h.flags & ~(uint32_t)HYBRIDC_TOKENIZER_IGNORE_MERGES)
    return fail("unknown flags 0x%x", h.flags);
  const uint64_t need = (uint64_t)HYBRIDC_TOKENIZER_HEADER_BYTES +
                        (uint64_t)h.num_tokens * sizeof(hybridc_tokenizer_token) +
                        (uint64_t)h.num_merges * sizeof(hybridc_tokenizer_merge) +
                        256 * sizeof(int32_t) + 256 * sizeof(hybridc_tokenizer_fallback) +
                        (uint64_t)h.num_template * sizeof(int32_t) +
                        (uint64_t)h.num_steps * sizeof(hybridc_tokenizer_step) +
                        (uint64_t)h.num_chat_templates * sizeof(hybridc_tokenizer_chat_template) +
                        h.string_bytes;
  if (need != bytes)
    return fail("its sections take %" PRIu64 " bytes, the blob has %" PRIu64, need, bytes);
  const uint8_t *p = blob + HYBRIDC_TOKENIZER_HEADER_BYTES;
  t->tokens = (const hybridc_tokenizer_token *)p;
  p += (uint64_t)h.num_tokens * sizeof(hybridc_tokenizer_token);
  t->merges = (const hybridc_tokenizer_merge *)p;
  p += (uint64_t)h.num_merges * sizeof(hybridc_tokenizer_merge);
  t->byte_token = (const int32_t *)p;
  p += 256 * sizeof(int32_t);
  t->fallback = (const hybridc_tokenizer_fallback *)p;
  p += 256 * sizeof(hybridc_tokenizer_fallback);
  t->templ = (const int32_t *)p;
  p += (uint64_t)h.num_template * sizeof(int32_t);
  t->steps = (const hybridc_tokenizer_step *)p;
  p += (uint64_t)h.num_steps * sizeof(hybridc_tokenizer_step);
  t->chat_templates = (const hybridc_tokenizer_chat_template *)p;
  p += (uint64_t)h.num_chat_templates * sizeof(hybridc_tokenizer_chat_template);
  t->strings = p;
  return HYBRIDC_OK;
}

int BlobReader::checkTokens() {
  const uint32_t known = HYBRIDC_TOKEN_PRESENT | HYBRIDC_TOKEN_ADDED | HYBRIDC_TOKEN_SPECIAL |
                         HYBRIDC_TOKEN_LSTRIP | HYBRIDC_TOKEN_RSTRIP | HYBRIDC_TOKEN_VOCAB |
                         HYBRIDC_TOKEN_ALIAS;
  const uint32_t addedOnly =
      HYBRIDC_TOKEN_SPECIAL | HYBRIDC_TOKEN_LSTRIP | HYBRIDC_TOKEN_RSTRIP | HYBRIDC_TOKEN_ALIAS;
  for (int32_t id = 0; id < t->header.num_tokens; ++id) {
    const hybridc_tokenizer_token &k = t->tokens[id];
    const uint32_t f = k.flags;
    if (f & ~known)
      return fail("token %d has unknown flags 0x%x", id, f);
    if (!inStrings(k.piece_offset, k.piece_bytes) || !inStrings(k.key_offset, k.key_bytes))
      return fail("token %d points past the strings (%u bytes)", id, t->header.string_bytes);
    if (!(f & HYBRIDC_TOKEN_PRESENT)) {
      if (f != 0 || k.piece_bytes != 0 || k.key_bytes != 0)
        return fail("token %d is absent but has flags or bytes", id);
      continue;
    }
    if ((f & addedOnly) && !(f & HYBRIDC_TOKEN_ADDED))
      return fail("token %d has added-token flags but is not an added token", id);
    if ((f & HYBRIDC_TOKEN_ADDED) &&
        (k.piece_bytes == 0 ||
         !hybridc_rt_utf8_valid(t->strings + k.piece_offset, k.piece_bytes)))
      return fail("added token %d has an empty or ill-formed UTF-8 text", id);
    const bool keyed = f & (HYBRIDC_TOKEN_VOCAB | HYBRIDC_TOKEN_ALIAS);
    if ((f & HYBRIDC_TOKEN_VOCAB) && (f & HYBRIDC_TOKEN_ALIAS))
      return fail("token %d is both a vocabulary entry and an alias", id);
    if (keyed != (k.key_bytes != 0))
      return fail("token %d: its key has %u bytes but its flags say it %s one", id, k.key_bytes,
                  keyed ? "has" : "has no");
  }
  return HYBRIDC_OK;
}

int BlobReader::checkMerges() {
  for (int32_t r = 0; r < t->header.num_merges; ++r) {
    const hybridc_tokenizer_merge &m = t->merges[r];
    if (!validId(m.left) || !validId(m.right) || !validId(m.result))
      return fail("merge %d names a token out of range (%d %d -> %d, %d tokens)", r, m.left,
                  m.right, m.result, t->header.num_tokens);
    const int32_t named[3] = {m.left, m.right, m.result};
    for (int32_t id : named)
      if (!(t->tokens[id].flags & HYBRIDC_TOKEN_VOCAB))
        return fail("merge %d names token %d, which is not a vocabulary entry", r, id);
    const hybridc_tokenizer_token &a = t->tokens[m.left], &b = t->tokens[m.right],
                                  &c = t->tokens[m.result];
    if ((uint64_t)a.key_bytes + b.key_bytes != c.key_bytes ||
        memcmp(t->strings + c.key_offset, t->strings + a.key_offset, a.key_bytes) != 0 ||
        memcmp(t->strings + c.key_offset + a.key_bytes, t->strings + b.key_offset,
               b.key_bytes) != 0)
      return fail("merge %d: token %d is not token %d followed by token %d", r, m.result,
                  m.left, m.right);
  }
  return HYBRIDC_OK;
}

int BlobReader::checkTables() {
  for (int b = 0; b < 256; ++b) {
    const int32_t id = t->byte_token[b];
    if (id != -1) {
      if (!validId(id) || !(t->tokens[id].flags & HYBRIDC_TOKEN_VOCAB) ||
          t->tokens[id].key_bytes != 1 || t->strings[t->tokens[id].key_offset] != b)
        return fail("byte 0x%02x maps to token %d, which is not that byte", b, id);
    }
    const hybridc_tokenizer_fallback &f = t->fallback[b];
    if (f.count < 0 || f.count > 2)
      return fail("byte 0x%02x has %d fallback tokens (at most 2)", b, f.count);
    for (int i = 0; i < f.count; ++i)
      if (!validId(f.ids[i]) || !(t->tokens[f.ids[i]].flags & HYBRIDC_TOKEN_PRESENT))
        return fail("byte 0x%02x falls back to token %d, which does not exist", b, f.ids[i]);
  }
  int sequences = 0;
  for (int32_t i = 0; i < t->header.num_template; ++i) {
    const int32_t id = t->templ[i];
    if (id == -1) {
      ++sequences;
      continue;
    }
    if (!validId(id) || !(t->tokens[id].flags & HYBRIDC_TOKEN_PRESENT))
      return fail("template item %d is token %d, which does not exist", i, id);
  }
  if (t->header.num_template > 0 && sequences != 1)
    return fail("the template holds the input %d times (once expected)", sequences);
  const int32_t ends[2] = {t->header.bos, t->header.eos};
  for (int32_t id : ends)
    if (id != -1 && (!validId(id) || !(t->tokens[id].flags & HYBRIDC_TOKEN_PRESENT)))
      return fail("BOS/EOS token %d does not exist", id);
  return HYBRIDC_OK;
}

int BlobReader::checkSteps() {
  if (t->header.num_steps == 0)
    return HYBRIDC_OK;
  t->patterns = (pcre2_code **)calloc((size_t)t->header.num_steps, sizeof(pcre2_code *));
  if (!t->patterns)
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
  for (int32_t i = 0; i < t->header.num_steps; ++i) {
    const hybridc_tokenizer_step &s = t->steps[i];
    if (s.kind == HYBRIDC_STEP_PREFIX_SPACE) {
      if (s.mode != 0 || s.pattern_bytes != 0 || s.pattern_offset != 0)
        return fail("step %d (prefix space) has a mode or pattern", i);
      continue;
    }
    if (s.kind != HYBRIDC_STEP_SPLIT)
      return fail("step %d has unknown kind %u", i, s.kind);
    if (s.mode != HYBRIDC_SPLIT_ISOLATED && s.mode != HYBRIDC_SPLIT_MATCHES)
      return fail("step %d has unknown split mode %u", i, s.mode);
    if (s.pattern_bytes == 0 || !inStrings(s.pattern_offset, s.pattern_bytes) ||
        !hybridc_rt_utf8_valid(t->strings + s.pattern_offset, s.pattern_bytes))
      return fail("step %d: its pattern is empty, out of range or not UTF-8", i);
    int code;
    PCRE2_SIZE where;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)(t->strings + s.pattern_offset), s.pattern_bytes,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &code, &where,
                                   NULL);
    if (!re) {
      PCRE2_UCHAR message[160];
      pcre2_get_error_message(code, message, sizeof message);
      return fail("step %d: PCRE2 refuses its pattern at offset %zu: %s", i, (size_t)where,
                  (const char *)message);
    }
    // JIT if this machine allows it (a few times faster); the interpreter
    // gives the same matches otherwise.
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    t->patterns[i] = re;
  }
  return HYBRIDC_OK;
}

int BlobReader::buildTables() {
  const int32_t n = t->header.num_tokens;
  // Merges, by pair.
  t->merge_mask = hybridc_rt_table_size((uint64_t)t->header.num_merges) - 1;
  t->merge_table = (hybridc_rt_merge_slot *)malloc((t->merge_mask + 1) * sizeof(hybridc_rt_merge_slot));
  if (!t->merge_table)
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
  for (uint64_t i = 0; i <= t->merge_mask; ++i)
    t->merge_table[i] = hybridc_rt_merge_slot{0, -1, -1};
  for (int32_t r = 0; r < t->header.num_merges; ++r) {
    const hybridc_tokenizer_merge &m = t->merges[r];
    const uint64_t pair = ((uint64_t)(uint32_t)m.left << 32) | (uint32_t)m.right;
    const uint64_t h = pair * 0x9e3779b97f4a7c15ull;
    for (uint64_t i = (h >> 32) & t->merge_mask;; i = (i + 1) & t->merge_mask) {
      hybridc_rt_merge_slot &s = t->merge_table[i];
      if (s.rank < 0) {
        s = hybridc_rt_merge_slot{pair, r, m.result};
        break;
      }
      if (s.pair == pair)
        return fail("merges %d and %d both merge tokens %d and %d", s.rank, r, m.left, m.right);
    }
  }
  // BPE keys and added texts.
  int32_t keyed = 0, added = 0;
  for (int32_t id = 0; id < n; ++id) {
    keyed += (t->tokens[id].flags & (HYBRIDC_TOKEN_VOCAB | HYBRIDC_TOKEN_ALIAS)) != 0;
    added += (t->tokens[id].flags & HYBRIDC_TOKEN_ADDED) != 0;
  }
  t->key_mask = hybridc_rt_table_size((uint64_t)keyed) - 1;
  t->key_table = (hybridc_rt_key_slot *)malloc((t->key_mask + 1) * sizeof(hybridc_rt_key_slot));
  if (!t->key_table)
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
  for (uint64_t i = 0; i <= t->key_mask; ++i)
    t->key_table[i] = hybridc_rt_key_slot{0, -1};
  for (int32_t id = 0; id < n; ++id) {
    const hybridc_tokenizer_token &k = t->tokens[id];
    if (!(k.flags & (HYBRIDC_TOKEN_VOCAB | HYBRIDC_TOKEN_ALIAS)))
      continue;
    const int32_t other = hybridc_rt_key_insert(t->key_table, t->key_mask,
                                     hybridc_rt_hash_bytes(t->strings + k.key_offset, k.key_bytes),
                                     id, t, /*piece=*/false);
    if (other >= 0)
      return fail("tokens %d and %d have the same key", other, id);
  }
  t->num_added = added;
  if (added == 0)
    return HYBRIDC_OK;
  t->added_mask = hybridc_rt_table_size((uint64_t)added) - 1;
  t->added_table = (hybridc_rt_key_slot *)malloc((t->added_mask + 1) * sizeof(hybridc_rt_key_slot));
  t->added_by_first = (int32_t *)malloc((size_t)added * sizeof(int32_t));
  if (!t->added_table || !t->added_by_first)
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
  for (uint64_t i = 0; i <= t->added_mask; ++i)
    t->added_table[i] = hybridc_rt_key_slot{0, -1};
  // Bucket the added tokens by first byte (counting sort), each bucket
  // longest text first, so the first match found at a position is the
  // longest one there.
  int32_t count[257] = {0};
  for (int32_t id = 0; id < n; ++id) {
    const hybridc_tokenizer_token &k = t->tokens[id];
    if (!(k.flags & HYBRIDC_TOKEN_ADDED))
      continue;
    const int32_t other = hybridc_rt_key_insert(t->added_table, t->added_mask,
                                     hybridc_rt_hash_bytes(t->strings + k.piece_offset, k.piece_bytes),
                                     id, t, /*piece=*/true);
    if (other >= 0)
      return fail("added tokens %d and %d have the same text", other, id);
    ++count[t->strings[k.piece_offset] + 1];
  }
  for (int b = 0; b < 256; ++b)
    count[b + 1] += count[b];
  memcpy(t->added_first, count, sizeof count);
  int32_t fill[256];
  memcpy(fill, count, sizeof fill);
  for (int32_t id = 0; id < n; ++id) {
    const hybridc_tokenizer_token &k = t->tokens[id];
    if (!(k.flags & HYBRIDC_TOKEN_ADDED))
      continue;
    const int b = t->strings[k.piece_offset];
    // Insertion into the bucket, longest first (buckets are small).
    int32_t i = fill[b]++;
    while (i > t->added_first[b] && t->tokens[t->added_by_first[i - 1]].piece_bytes < k.piece_bytes) {
      t->added_by_first[i] = t->added_by_first[i - 1];
      --i;
    }
    t->added_by_first[i] = id;
  }
  return HYBRIDC_OK;
}

// Each name and text lies in the strings with a NUL after it (what the
// runtime hands out as a C string) and none inside; names are distinct.
int BlobReader::checkChatTemplates() {
  const hybridc_tokenizer_header &h = t->header;
  for (int32_t i = 0; i < h.num_chat_templates; ++i) {
    const hybridc_tokenizer_chat_template &c = t->chat_templates[i];
    if (c.name_bytes == 0 || c.name_bytes > 64)
      return fail("chat template %d: a name of %u bytes (1 to 64)", i, c.name_bytes);
    const struct {
      uint32_t offset, bytes;
      const char *what;
    } parts[2] = {{c.name_offset, c.name_bytes, "name"}, {c.text_offset, c.text_bytes, "text"}};
    for (const auto &part : parts) {
      if ((uint64_t)part.offset + part.bytes + 1 > h.string_bytes) // with its NUL
        return fail("chat template %d: its %s points past the strings (%u bytes)", i, part.what,
                    h.string_bytes);
      const uint8_t *s = t->strings + part.offset;
      if (s[part.bytes] != 0 || memchr(s, 0, part.bytes))
        return fail("chat template %d: its %s is not one NUL-terminated string", i, part.what);
    }
    for (int32_t j = 0; j < i; ++j)
      if (t->chat_templates[j].name_bytes == c.name_bytes &&
          memcmp(t->strings + t->chat_templates[j].name_offset, t->strings + c.name_offset,
                 c.name_bytes) == 0)
        return fail("chat template %d: the name '%s' is given twice", i,
                    (const char *)t->strings + c.name_offset);
  }
  return HYBRIDC_OK;
}

int BlobReader::read() {
  int status;
  if ((status = layout()) != HYBRIDC_OK || (status = checkTokens()) != HYBRIDC_OK ||
      (status = checkMerges()) != HYBRIDC_OK || (status = checkTables()) != HYBRIDC_OK ||
      (status = buildTables()) != HYBRIDC_OK || (status = checkSteps()) != HYBRIDC_OK ||
      (status = checkChatTemplates()) != HYBRIDC_OK)
    return status;
  t->blob = blob;
  return HYBRIDC_OK;
}

extern "C" {

int hybridc_rt_tokenizer_open(const uint8_t *blob, uint64_t bytes, int32_t vocab_size,
                              hybridc_rt_tokenizer **out) {
  if (!out)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "tokenizer_open: out is NULL");
  *out = NULL;
  if (vocab_size < 0)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "tokenizer_open: vocab_size %d is negative", vocab_size);
  hybridc_rt_tokenizer *t = (hybridc_rt_tokenizer *)calloc(1, sizeof *t);
  if (!t)
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "tokenizer_open: out of memory");
  int status = BlobReader(blob, bytes, t).read();
  if (status != HYBRIDC_OK) {
    hybridc_rt_tokenizer_free(t);
    return status;
  }
  t->vocab_size = vocab_size > t->header.num_tokens ? vocab_size : t->header.num_tokens;
  *out = t;
  return HYBRIDC_OK;
}

void hybridc_rt_tokenizer_free(hybridc_rt_tokenizer *t) {
  if (!t)
    return;
  if (t->patterns)
    for (int32_t i = 0; i < t->header.num_steps; ++i)
      pcre2_code_free(t->patterns[i]);
  free(t->patterns);
  free(t->merge_table);
  free(t->key_table);
  free(t->added_table);
  free(t->added_by_first);
  free(t);
}

} // extern "C"
