//===- TokenEncode.cpp - text -> token ids ---------------------------------===//
//
// The steps of the reference tokenizer (tokenizers.js), in its order:
//   1. the bytes as the reference sees them: ill-formed UTF-8 is read with
//      WHATWG replacement (U+FFFD per maximal invalid subpart);
//   2. added tokens are cut out of the text, leftmost and then longest
//      first (special ones only with PARSE_SPECIAL: without it their text is
//      ordinary text, as if the tokenizer did not have them);
//   3. an added token with lstrip / rstrip drops the whitespace (as
//      JavaScript's trim sees it) at the end of the text before it / the
//      start of the text after it;
//   4. each piece of text between added tokens goes through the pre-
//      tokenizer's steps (PCRE2 splits, prefix space), each step applied to
//      every piece the previous one made;
//   5. each final piece is merged by BPE (Bpe.cpp) on its bytes: the byte-
//      level alphabet is a one-to-one renaming of bytes, so the blob keeps
//      every token as raw bytes and no renaming happens here;
//   6. with ADD_SPECIAL, the post-processor's template wraps the result.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"
#include "TextInternal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

namespace {

struct Section {
  int64_t start, end;
  bool added; // matched as an added token (may no longer be one after trimming)
};

class Encoder {
public:
  Encoder(const hybridc_rt_tokenizer *t, int32_t flags, hybridc_rt_ids *out)
      : t(t), parseSpecial(flags & HYBRIDC_TOKENIZE_PARSE_SPECIAL), out(out) {}
  ~Encoder();
  int run(const uint8_t *text, int64_t len, bool addSpecial);

private:
  int body(const uint8_t *text, int64_t len);
  int32_t addedAt(const uint8_t *text, int64_t len, int64_t i) const;
  int piece(int step, const uint8_t *p, int64_t n);
  int split(int step, const uint8_t *p, int64_t n);
  int outOfMemory() { return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "tokenize: out of memory"); }

  const hybridc_rt_tokenizer *t;
  const bool parseSpecial;
  hybridc_rt_ids *out;
  hybridc_rt_bpe_scratch *bpe = nullptr;
  pcre2_match_data *match = nullptr;
  // The match limits (run()) and, made when a pattern needs more than
  // PCRE2's default 32 KiB, this call's own JIT stack.
  pcre2_match_context *context = nullptr;
  pcre2_jit_stack *jitStack = nullptr;
  hybridc_rt_bytes prefixed[64] = {}; // per step: a piece with a space in front
  Section *sections = nullptr;
  int64_t numSections = 0, sectionCapacity = 0;
};

} // namespace

Encoder::~Encoder() {
  hybridc_rt_bpe_scratch_free(bpe);
  pcre2_match_data_free(match);
  pcre2_match_context_free(context);
  pcre2_jit_stack_free(jitStack);
  for (hybridc_rt_bytes &b : prefixed)
    hybridc_rt_bytes_free(&b);
  free(sections);
}

// The longest active added token at text[i], or -1.
int32_t Encoder::addedAt(const uint8_t *text, int64_t len, int64_t i) const {
  const int b = text[i];
  for (int32_t k = t->added_first[b]; k < t->added_first[b + 1]; ++k) {
    const int32_t id = t->added_by_first[k];
    const hybridc_tokenizer_token &tok = t->tokens[id];
    if ((tok.flags & HYBRIDC_TOKEN_SPECIAL) && !parseSpecial)
      continue;
    if (tok.piece_bytes <= len - i &&
        memcmp(text + i, t->strings + tok.piece_offset, tok.piece_bytes) == 0)
      return id;
  }
  return -1;
}

int Encoder::body(const uint8_t *text, int64_t len) {
  // Added tokens cut the text into sections.
  auto push = [&](int64_t start, int64_t end, bool added) {
    if (numSections == sectionCapacity) {
      int64_t cap = sectionCapacity ? sectionCapacity * 2 : 16;
      Section *grown = (Section *)realloc(sections, (size_t)cap * sizeof(Section));
      if (!grown)
        return false;
      sections = grown;
      sectionCapacity = cap;
    }
    sections[numSections++] = Section{start, end, added};
    return true;
  };
  int64_t start = 0;
  if (t->num_added > 0) {
    for (int64_t i = 0; i < len;) {
      const int32_t id =
          t->added_first[text[i] + 1] > t->added_first[text[i]] ? addedAt(text, len, i) : -1;
      if (id < 0) {
        ++i;
        continue;
      }
      const int64_t end = i + t->tokens[id].piece_bytes;
      if ((i > start && !push(start, i, false)) || !push(i, end, true))
        return outOfMemory();
      i = start = end;
    }
  }
  if (start < len && !push(start, len, false))
    return outOfMemory();

  // lstrip / rstrip, in order, each seeing the sections as earlier ones
  // left them (the reference trims in one pass over its list).
  for (int64_t k = 0; k < numSections; ++k) {
    Section &s = sections[k];
    if (!s.added || s.end <= s.start)
      continue;
    const int32_t id = hybridc_rt_lookup_added(t, text + s.start, (size_t)(s.end - s.start),
                                               parseSpecial);
    if (id < 0)
      continue;
    const uint32_t f = t->tokens[id].flags;
    if ((f & HYBRIDC_TOKEN_LSTRIP) && k > 0) {
      Section &before = sections[k - 1];
      before.end -= hybridc_rt_js_space_suffix(text + before.start, before.end - before.start);
    }
    if ((f & HYBRIDC_TOKEN_RSTRIP) && k + 1 < numSections) {
      Section &after = sections[k + 1];
      after.start += hybridc_rt_js_space_prefix(text + after.start, after.end - after.start);
    }
  }

  for (int64_t k = 0; k < numSections; ++k) {
    const Section &s = sections[k];
    if (s.end <= s.start)
      continue;
    // Text between added tokens never holds an active added token's text
    // (the cut found every one), so only a cut-out section can be one.
    if (s.added) {
      const int32_t id = hybridc_rt_lookup_added(t, text + s.start, (size_t)(s.end - s.start),
                                                 parseSpecial);
      if (id >= 0) {
        if (!hybridc_rt_ids_push(out, id))
          return outOfMemory();
        continue;
      }
    }
    int status = piece(0, text + s.start, s.end - s.start);
    if (status != HYBRIDC_OK)
      return status;
  }
  return HYBRIDC_OK;
}

// Runs pre-tokenizer steps `step`.. on one piece, then BPE on what comes out.
int Encoder::piece(int step, const uint8_t *p, int64_t n) {
  if (n <= 0)
    return HYBRIDC_OK;
  if (step == t->header.num_steps)
    return hybridc_rt_bpe_word(t, bpe, p, n, parseSpecial, out) ? HYBRIDC_OK : outOfMemory();
  const hybridc_tokenizer_step &s = t->steps[step];
  if (s.kind == HYBRIDC_STEP_SPLIT)
    return split(step, p, n);
  // Prefix space: the piece with ' ' in front unless it starts with one.
  if (p[0] == ' ')
    return piece(step + 1, p, n);
  hybridc_rt_bytes &b = prefixed[step];
  b.size = 0;
  const uint8_t space = ' ';
  if (!hybridc_rt_bytes_append(&b, &space, 1) || !hybridc_rt_bytes_append(&b, p, n))
    return outOfMemory();
  return piece(step + 1, b.data, b.size);
}

// One split step: each match (and, isolated, each stretch between matches)
// becomes a piece. Matching follows JavaScript's global matching: after an
// empty match the search goes on one character later; empty matches make no
// piece but do end the stretch before them.
int Encoder::split(int step, const uint8_t *p, int64_t n) {
  const pcre2_code *re = t->patterns[step];
  const bool isolated = t->steps[step].mode == HYBRIDC_SPLIT_ISOLATED;
  int64_t pos = 0, last = 0;
  while (pos <= n) {
    int rc = pcre2_match(re, p, (PCRE2_SIZE)n, (PCRE2_SIZE)pos, PCRE2_NO_UTF_CHECK, match,
                         context);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !jitStack) {
      // A repeated group on a long word, say: valid text the default JIT
      // stack cannot hold. The reference has no such limit; this call gets
      // a stack of up to 64 MiB and tries again.
      jitStack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, NULL);
      if (!jitStack)
        return outOfMemory();
      pcre2_jit_stack_assign(context, NULL, jitStack);
      rc = pcre2_match(re, p, (PCRE2_SIZE)n, (PCRE2_SIZE)pos, PCRE2_NO_UTF_CHECK, match, context);
    }
    if (rc == PCRE2_ERROR_NOMATCH)
      break;
    if (rc < 0) { // 0 only means the ovector is short for the groups: still a match
      PCRE2_UCHAR message[160];
      pcre2_get_error_message(rc, message, sizeof message);
      return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                             "tokenize: pre-tokenizer step %d failed on this text near byte "
                             "%" PRId64 " of a %" PRId64 "-byte piece: %s",
                             step, pos, n, (const char *)message);
    }
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(match);
    const int64_t s = (int64_t)ov[0], e = (int64_t)ov[1];
    int status;
    if (isolated && s > last && (status = piece(step + 1, p + last, s - last)) != HYBRIDC_OK)
      return status;
    if (e > s && (status = piece(step + 1, p + s, e - s)) != HYBRIDC_OK)
      return status;
    last = e;
    if (e > s) {
      pos = e;
    } else { // empty: go on after the character at s
      if (s >= n)
        break;
      pos = s + 1;
      while (pos < n && (p[pos] & 0xC0) == 0x80)
        ++pos;
    }
  }
  if (isolated && last < n)
    return piece(step + 1, p + last, n - last);
  return HYBRIDC_OK;
}

int Encoder::run(const uint8_t *text, int64_t len, bool addSpecial) {
  bpe = hybridc_rt_bpe_scratch_create(len);
  match = pcre2_match_data_create(1, NULL);
  context = pcre2_match_context_create(NULL);
  if (!bpe || !match || !context)
    return outOfMemory();
  // JavaScript's RegExp, the reference's engine, has no match limit, and a
  // pattern such as \s*[\r\n]+ backtracks in proportion to a whitespace
  // run: PCRE2's default of 10 million steps would refuse valid text.
  pcre2_set_match_limit(context, UINT32_MAX);
  const int32_t *templ = t->templ;
  const int32_t items = addSpecial ? t->header.num_template : 0;
  int32_t k = 0;
  for (; k < items && templ[k] != -1; ++k) // the template's tokens before the input
    if (!hybridc_rt_ids_push(out, templ[k]))
      return outOfMemory();
  int status = body(text, len);
  if (status != HYBRIDC_OK)
    return status;
  for (++k; k < items; ++k) // and after it
    if (!hybridc_rt_ids_push(out, templ[k]))
      return outOfMemory();
  return HYBRIDC_OK;
}

int hybridc_rt_encode_into(const hybridc_rt_tokenizer *t, const uint8_t *text, int64_t len,
                           int32_t flags, hybridc_rt_ids *out) {
  // BPE indexes a piece's bytes with 32-bit offsets, and sanitizing can
  // triple the text (a U+FFFD of 3 bytes per ill-formed byte).
  if (len > HYBRIDC_TOKENIZE_MAX_BYTES)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "tokenize: the text is %" PRId64 " bytes, more than the %d a call "
                           "takes; tokenize it in pieces (at line or paragraph breaks)",
                           len, HYBRIDC_TOKENIZE_MAX_BYTES);
  hybridc_rt_bytes clean = {NULL, 0, 0};
  if (!hybridc_rt_utf8_valid(text, len)) {
    if (!hybridc_rt_utf8_sanitize(text, len, &clean)) {
      hybridc_rt_bytes_free(&clean);
      return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "tokenize: out of memory");
    }
    text = clean.data;
    len = clean.size;
  }
  int status = Encoder(t, flags, out).run(text, len, flags & HYBRIDC_TOKENIZE_ADD_SPECIAL);
  hybridc_rt_bytes_free(&clean);
  return status;
}
