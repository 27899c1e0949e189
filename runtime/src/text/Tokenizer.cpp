//===- Tokenizer.cpp - the tokenizer engine's API -------------------------===//
//
// What a program (through the model's P_* text functions, ModelText.cpp)
// and the compiler's checks call: encode (TokenEncode.cpp and Bpe.cpp do the
// work), decode and token pieces, with the caller's buffers checked first.
// Decoding mirrors the reference's ByteLevel decoder: the bytes of a run of
// ordinary tokens are read as UTF-8 with WHATWG replacement, and an added
// token is its own text.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"
#include "TextInternal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- Buffers the caller passes ----------------------------------------------------

static int check_output(const char *fn, const void *buf, int64_t capacity, const int64_t *size) {
  if (!size)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: the size pointer is NULL", fn);
  if (capacity < 0)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: capacity is negative (%" PRId64 ")",
                           fn, capacity);
  if (!buf && capacity > 0)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "%s: the buffer is NULL but capacity is %" PRId64, fn, capacity);
  return HYBRIDC_OK;
}

// Copies `n` elements of `size` bytes if they fit; *out_n receives n either way.
static int deliver(const char *fn, const char *what, const void *data, int64_t n, size_t size,
                   void *buf, int64_t capacity, int64_t *out_n) {
  *out_n = n;
  if (n > capacity)
    return hybridc_rt_fail(HYBRIDC_ERR_CAPACITY,
                           "%s: the result is %" PRId64 " %s, the buffer holds %" PRId64
                           " (*%s says how many are needed)",
                           fn, n, what, capacity, size == 1 ? "len" : "n_ids");
  if (n > 0)
    memcpy(buf, data, (size_t)n * size);
  return HYBRIDC_OK;
}

static int check_id(const hybridc_rt_tokenizer *t, const char *fn, int32_t id, int64_t index) {
  if (id >= 0 && id < t->vocab_size)
    return HYBRIDC_OK;
  if (index < 0)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "%s: token id %d is out of range [0, %d)", fn, id, t->vocab_size);
  return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                         "%s: ids[%" PRId64 "] = %d is out of range [0, %d)", fn, index, id,
                         t->vocab_size);
}

// ---- The engine's API ---------------------------------------------------------------

extern "C" {
int hybridc_rt_tokenizer_encode(const hybridc_rt_tokenizer *t, const char *text, int64_t len,
                                int32_t flags, int32_t *ids, int64_t capacity, int64_t *n_ids) {
  static const char fn[] = "tokenize";
  if (!t)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: tokenizer is NULL", fn);
  int status = check_output(fn, ids, capacity, n_ids);
  if (status != HYBRIDC_OK)
    return status;
  if (flags & ~(HYBRIDC_TOKENIZE_ADD_SPECIAL | HYBRIDC_TOKENIZE_PARSE_SPECIAL))
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "%s: unknown flags 0x%x (known: 1 add special, 2 parse special)", fn,
                           (unsigned)flags);
  if (!text && len != 0)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: text is NULL (len %" PRId64 ")", fn,
                           len);
  if (len < 0)
    len = (int64_t)strlen(text);
  hybridc_rt_ids result = {NULL, 0, 0};
  status = hybridc_rt_encode_into(t, (const uint8_t *)text, len, flags, &result);
  if (status == HYBRIDC_OK)
    status = deliver(fn, "ids", result.data, result.size, sizeof(int32_t), ids, capacity, n_ids);
  hybridc_rt_ids_free(&result);
  return status;
}

int hybridc_rt_tokenizer_decode(const hybridc_rt_tokenizer *t, const int32_t *ids, int64_t n,
                                char *buf, int64_t capacity, int64_t *len) {
  static const char fn[] = "detokenize";
  if (!t)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: tokenizer is NULL", fn);
  int status = check_output(fn, buf, capacity, len);
  if (status != HYBRIDC_OK)
    return status;
  if (n < 0 || (!ids && n > 0))
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: ids is NULL or n < 0 (n %" PRId64 ")",
                           fn, n);
  for (int64_t i = 0; i < n; ++i)
    if ((status = check_id(t, fn, ids[i], i)) != HYBRIDC_OK)
      return status;
  // Runs of ordinary tokens are joined and read as UTF-8 (an incomplete or
  // ill-formed sequence becomes U+FFFD); an added token is its own text and
  // ends the run before it.
  hybridc_rt_bytes text = {NULL, 0, 0}, run = {NULL, 0, 0};
  bool ok = true;
  for (int64_t i = 0; ok && i <= n; ++i) {
    const bool added = i < n && ids[i] < t->header.num_tokens &&
                       (t->tokens[ids[i]].flags & HYBRIDC_TOKEN_ADDED);
    if (i == n || added) {
      ok = hybridc_rt_utf8_sanitize(run.data, run.size, &text);
      run.size = 0;
      if (ok && added)
        ok = hybridc_rt_bytes_append(&text, hybridc_rt_token_piece_bytes(t, ids[i]),
                                     t->tokens[ids[i]].piece_bytes);
    } else if (ids[i] < t->header.num_tokens) { // ids past the tokenizer decode to nothing
      ok = hybridc_rt_bytes_append(&run, hybridc_rt_token_piece_bytes(t, ids[i]),
                                   t->tokens[ids[i]].piece_bytes);
    }
  }
  status = ok ? deliver(fn, "bytes", text.data, text.size, 1, buf, capacity, len)
              : hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  hybridc_rt_bytes_free(&text);
  hybridc_rt_bytes_free(&run);
  return status;
}

int hybridc_rt_tokenizer_piece(const hybridc_rt_tokenizer *t, int32_t id, char *buf,
                               int64_t capacity, int64_t *len) {
  static const char fn[] = "token_piece";
  if (!t)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: tokenizer is NULL", fn);
  int status = check_output(fn, buf, capacity, len);
  if (status == HYBRIDC_OK)
    status = check_id(t, fn, id, -1);
  if (status != HYBRIDC_OK)
    return status;
  if (id >= t->header.num_tokens)
    return deliver(fn, "bytes", NULL, 0, 1, buf, capacity, len);
  return deliver(fn, "bytes", hybridc_rt_token_piece_bytes(t, id), t->tokens[id].piece_bytes, 1,
                 buf, capacity, len);
}

int32_t hybridc_rt_tokenizer_bos(const hybridc_rt_tokenizer *t) { return t ? t->header.bos : -1; }
int32_t hybridc_rt_tokenizer_eos(const hybridc_rt_tokenizer *t) { return t ? t->header.eos : -1; }
int32_t hybridc_rt_tokenizer_size(const hybridc_rt_tokenizer *t) {
  return t ? t->header.num_tokens : 0;
}

} // extern "C"
