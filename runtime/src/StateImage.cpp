//===- StateImage.cpp - a session's sequence saved as bytes and loaded back -===//
//
// The image (format in runtime_abi.h, HYBRIDC_STATE_*): a fixed header, then
// the state, the state before the latest call, the token history, each
// interval checkpoint (position, state) and each KV segment's blocks in use.
// Every field is written explicitly, little-endian, with no padding, so
// saving the same session twice gives the same bytes. A load checks the
// whole image (sizes, the model, every position and token, the checksum)
// and allocates everything new before it touches the session.
//===----------------------------------------------------------------------===//
#include "Internal.h"
#include "hybridc/payload_hash.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

namespace {

// Offsets of the header fields (HYBRIDC_STATE_HEADER_BYTES in all).
enum : size_t {
  kMagic = 0,          // char[8]
  kVersion = 8,        // u32
  kHeaderBytes = 12,   // u32
  kModelHash = 16,     // u64
  kChecksum = 24,      // u64, of every other byte of the image
  kPosition = 32,      // i64
  kCallPosition = 40,  // i64
  kCheckpoints = 48,   // i64
  kStateBytes = 56,    // i64
  kKvSegments = 64,    // i64
  kKvRowBytes = 72,    // i64
  kKvDtype = 80,       // u32 (kv_layout.h)
  kKvBlockTokens = 84, // u32
  kHeaderEnd = 88,
};
static_assert(kHeaderEnd == HYBRIDC_STATE_HEADER_BYTES, "header layout");

// A 64-bit hash over 8-byte words, fed in pieces: one lane of the weights
// payload's hash (payload_hash.h's mixer) with a seed of its own.
struct Hash {
  uint64_t h = 0x6879627269647374ull; // "hybridst"
  void word(uint64_t w) { h = hybridc_hash_mix(h, w); }
  void bytes(const uint8_t *p, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      word(w);
    }
    uint64_t tail = 0;
    memcpy(&tail, p + i, n - i);
    word(tail ^ (uint64_t)n << 56);
  }
};

uint64_t checksum(const uint8_t *image, size_t size) {
  Hash h;
  h.bytes(image, kChecksum);
  h.bytes(image + kPosition, size - kPosition);
  return h.h;
}

// Payload bytes for these counts: two states, the history, the checkpoints
// (a position and a state each), the KV blocks holding [0, position).
// false on overflow.
bool payload_bytes(int64_t state_bytes, int64_t position, int64_t checkpoints,
                   int64_t kv_segments, int64_t kv_row_bytes, int64_t *out) {
  int64_t states, per_cp, cps, history, kv_rows, kv, total;
  if (__builtin_mul_overflow(state_bytes, (int64_t)2, &states) ||
      __builtin_add_overflow(state_bytes, (int64_t)8, &per_cp) ||
      __builtin_mul_overflow(per_cp, checkpoints, &cps) ||
      __builtin_mul_overflow(position, (int64_t)4, &history) ||
      __builtin_mul_overflow(hybridc_kv_round_tokens(position), kv_row_bytes, &kv_rows) ||
      __builtin_mul_overflow(kv_rows, kv_segments, &kv) ||
      __builtin_add_overflow(states, cps, &total) ||
      __builtin_add_overflow(total, history, &total) || __builtin_add_overflow(total, kv, &total))
    return false;
  *out = total;
  return true;
}

void put64(uint8_t *p, size_t at, uint64_t v) { memcpy(p + at, &v, 8); }
void put32(uint8_t *p, size_t at, uint32_t v) { memcpy(p + at, &v, 4); }
uint64_t get64(const uint8_t *p, size_t at) {
  uint64_t v;
  memcpy(&v, p + at, 8);
  return v;
}
uint32_t get32(const uint8_t *p, size_t at) {
  uint32_t v;
  memcpy(&v, p + at, 4);
  return v;
}

int64_t image_bytes(const hybridc_session *s) {
  const hybridc_model_desc *d = s->desc;
  int64_t payload = 0;
  if (!payload_bytes(d->state_bytes, s->position, s->num_checkpoints, d->kv_segments,
                     d->kv_row_bytes, &payload) ||
      payload > INT64_MAX - (int64_t)kHeaderEnd)
    return -1;
  return payload + (int64_t)kHeaderEnd;
}

} // namespace

extern "C" {

int64_t hybridc_rt_session_save_size(const hybridc_session *s) {
  if (!s) {
    hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "session_save_size: session is NULL");
    return -1;
  }
  return image_bytes(s);
}

int hybridc_rt_session_save(const hybridc_session *s, void *buf, int64_t capacity,
                            int64_t *written) {
  const char *fn = "session_save";
  if (written)
    *written = 0;
  if (!s)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: session is NULL", fn);
  if (!buf)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: buf is NULL", fn);
  const int64_t size = image_bytes(s);
  if (size < 0)
    return hybridc_rt_fail(HYBRIDC_ERR_CAPACITY, "%s: the image size overflows", fn);
  if (capacity < size)
    return hybridc_rt_fail(HYBRIDC_ERR_CAPACITY,
                           "%s: the buffer holds %" PRId64 " bytes, the image needs %" PRId64
                           " (session_save_size)",
                           fn, capacity, size);
  const hybridc_model_desc *d = s->desc;
  uint8_t *p = (uint8_t *)buf;
  memset(p, 0, kHeaderEnd);
  memcpy(p + kMagic, HYBRIDC_STATE_MAGIC, 8);
  put32(p, kVersion, HYBRIDC_STATE_FORMAT_VERSION);
  put32(p, kHeaderBytes, HYBRIDC_STATE_HEADER_BYTES);
  put64(p, kModelHash, d->model_hash);
  put64(p, kPosition, (uint64_t)s->position);
  put64(p, kCallPosition, (uint64_t)s->call_position);
  put64(p, kCheckpoints, (uint64_t)s->num_checkpoints);
  put64(p, kStateBytes, (uint64_t)d->state_bytes);
  put64(p, kKvSegments, (uint64_t)d->kv_segments);
  put64(p, kKvRowBytes, (uint64_t)d->kv_row_bytes);
  put32(p, kKvDtype, (uint32_t)d->kv_dtype);
  put32(p, kKvBlockTokens, HYBRIDC_KV_BLOCK_TOKENS);
  size_t at = kHeaderEnd;
  const size_t sb = (size_t)d->state_bytes;
  memcpy(p + at, s->state, sb);
  at += sb;
  memcpy(p + at, s->call_state, sb);
  at += sb;
  if (s->position > 0)
    memcpy(p + at, s->history, (size_t)s->position * 4);
  at += (size_t)s->position * 4;
  for (int64_t i = 0; i < s->num_checkpoints; ++i) {
    put64(p, at, (uint64_t)s->checkpoints[i].position);
    memcpy(p + at + 8, s->checkpoints[i].state, sb);
    at += 8 + sb;
  }
  // Whole blocks, with the slots past the position cleared in the image: a
  // failed call or a truncation may have left rows there, which attention
  // never reads, and the same sequence must give the same bytes.
  const size_t rows = (size_t)hybridc_rt_kv_used_bytes(d, s->position);
  const int64_t filled = s->position % HYBRIDC_KV_BLOCK_TOKENS;
  for (int32_t seg = 0; seg < d->kv_segments && rows > 0; ++seg) {
    memcpy(p + at, s->kv + (size_t)seg * (size_t)(s->kv_capacity * d->kv_row_bytes), rows);
    at += rows;
    if (filled > 0)
      hybridc_kv_clear_slots(d->kv_dtype, d->kv_head_dim, hybridc_kv_segment_is_v(seg, d->kv_heads),
                             p + at - (size_t)(d->kv_row_bytes * HYBRIDC_KV_BLOCK_TOKENS), filled);
  }
  put64(p, kChecksum, checksum(p, (size_t)size));
  if (written)
    *written = size;
  return HYBRIDC_OK;
}

int hybridc_rt_session_load(hybridc_session *s, const void *buf, int64_t size) {
  const char *fn = "session_load";
  if (!s)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: session is NULL", fn);
  if (!buf)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: buf is NULL", fn);
  const uint8_t *p = (const uint8_t *)buf;
  const hybridc_model_desc *d = s->desc;
  if (size < (int64_t)kHeaderEnd)
    return hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                           "%s: %" PRId64 " bytes is smaller than a state image's %d-byte "
                           "header (truncated?)",
                           fn, size, (int)kHeaderEnd);
  if (memcmp(p + kMagic, HYBRIDC_STATE_MAGIC, 8) != 0)
    return hybridc_rt_fail(HYBRIDC_ERR_FORMAT, "%s: not a hybridc state image (bad magic)", fn);
  if (get32(p, kVersion) != HYBRIDC_STATE_FORMAT_VERSION ||
      get32(p, kHeaderBytes) != HYBRIDC_STATE_HEADER_BYTES)
    return hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                           "%s: state image format version %u (header %u bytes); this library "
                           "reads version %u",
                           fn, get32(p, kVersion), get32(p, kHeaderBytes),
                           HYBRIDC_STATE_FORMAT_VERSION);
  if (get64(p, kModelHash) != d->model_hash)
    return hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                           "%s: the image is of another model (hash %016" PRIx64
                           ", model '%s' is %016" PRIx64 ")",
                           fn, get64(p, kModelHash), d->name, d->model_hash);
  const int64_t position = (int64_t)get64(p, kPosition);
  const int64_t call_position = (int64_t)get64(p, kCallPosition);
  const int64_t checkpoints = (int64_t)get64(p, kCheckpoints);
  if (get32(p, kKvDtype) != (uint32_t)d->kv_dtype ||
      get32(p, kKvBlockTokens) != HYBRIDC_KV_BLOCK_TOKENS) {
    const char *theirs = hybridc_kv_dtype_name((int32_t)get32(p, kKvDtype));
    return hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                           "%s: the image's KV cache is %s in blocks of %u tokens; model '%s' "
                           "keeps it %s in blocks of %d (compile with --kv-dtype %s to read it)",
                           fn, theirs ? theirs : "of an unknown type", get32(p, kKvBlockTokens),
                           d->name, hybridc_kv_dtype_name(d->kv_dtype), HYBRIDC_KV_BLOCK_TOKENS,
                           theirs ? theirs : "?");
  }
  if ((int64_t)get64(p, kStateBytes) != d->state_bytes ||
      (int64_t)get64(p, kKvSegments) != d->kv_segments ||
      (int64_t)get64(p, kKvRowBytes) != d->kv_row_bytes)
    return hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                           "%s: the image's state layout (state %" PRId64 " bytes, %" PRId64
                           " KV segments of %" PRId64 "-byte rows) is not model '%s''s",
                           fn, (int64_t)get64(p, kStateBytes), (int64_t)get64(p, kKvSegments),
                           (int64_t)get64(p, kKvRowBytes), d->name);
  int64_t payload = 0;
  if (position < 0 || call_position < 0 || call_position > position || checkpoints < 0 ||
      checkpoints > position ||
      !payload_bytes(d->state_bytes, position, checkpoints, d->kv_segments, d->kv_row_bytes,
                     &payload) ||
      payload != size - (int64_t)kHeaderEnd)
    return hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                           "%s: the image is %" PRId64 " bytes, which does not match its header "
                           "(position %" PRId64 ", %" PRId64 " checkpoints): truncated or "
                           "corrupt",
                           fn, size, position, checkpoints);
  if (get64(p, kChecksum) != checksum(p, (size_t)size))
    return hybridc_rt_fail(HYBRIDC_ERR_FORMAT, "%s: the image's checksum does not match its "
                                               "bytes (corrupt)",
                           fn);
  if (s->max_tokens > 0 && position > s->max_tokens)
    return hybridc_rt_fail(HYBRIDC_ERR_CAPACITY,
                           "%s: the image holds %" PRId64 " tokens, past the session's cap of "
                           "%" PRId64,
                           fn, position, s->max_tokens);
  const size_t sb = (size_t)d->state_bytes;
  const uint8_t *history = p + kHeaderEnd + 2 * sb;
  for (int64_t i = 0; i < position; ++i) {
    int32_t t;
    memcpy(&t, history + 4 * i, 4);
    if (t < 0 || t >= d->vocab_size)
      return hybridc_rt_fail(HYBRIDC_ERR_FORMAT, "%s: history token %" PRId64 " is %d, outside "
                                                 "[0, %d)",
                             fn, i, t, d->vocab_size);
  }
  const uint8_t *cps = history + (size_t)position * 4;
  for (int64_t i = 0, prev = 0; i < checkpoints; ++i) {
    const int64_t at = (int64_t)get64(cps, (size_t)i * (8 + sb));
    if (at <= prev || at > position)
      return hybridc_rt_fail(HYBRIDC_ERR_FORMAT,
                             "%s: checkpoint %" PRId64 " is at position %" PRId64
                             ", not ascending within (0, %" PRId64 "]",
                             fn, i, at, position);
    prev = at;
  }

  // Everything new first; the session changes only once nothing can fail.
  hybridc_session fresh;
  memset(&fresh, 0, sizeof fresh);
  fresh.desc = d;
  fresh.max_tokens = s->max_tokens;
  int status = hybridc_rt_ensure_kv(&fresh, position > 0 ? position : 1, fn);
  if (status == HYBRIDC_OK)
    status = hybridc_rt_reserve_history(&fresh, position, fn);
  if (status == HYBRIDC_OK && checkpoints > 0) {
    fresh.checkpoints = hybridc_rt_alloc_checkpoints(d, checkpoints);
    if (fresh.checkpoints)
      fresh.num_checkpoints = checkpoints;
    else
      status = hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY,
                               "%s: out of memory for %" PRId64 " checkpoints", fn, checkpoints);
  }
  if (status != HYBRIDC_OK) {
    hybridc_rt_drop_checkpoints(&fresh, -1);
    free(fresh.history);
    hybridc_rt_map_free(fresh.kv, fresh.kv_alloc_bytes);
    return status;
  }

  memcpy(s->state, p + kHeaderEnd, sb);
  memcpy(s->call_state, p + kHeaderEnd + sb, sb);
  if (position > 0)
    memcpy(fresh.history, history, (size_t)position * 4);
  for (int64_t i = 0; i < checkpoints; ++i) {
    const uint8_t *cp = cps + (size_t)i * (8 + sb);
    fresh.checkpoints[i].position = (int64_t)get64(cp, 0);
    memcpy(fresh.checkpoints[i].state, cp + 8, sb);
  }
  const uint8_t *kv = cps + (size_t)checkpoints * (8 + sb);
  const size_t rows = (size_t)hybridc_rt_kv_used_bytes(d, position);
  for (int32_t seg = 0; seg < d->kv_segments && rows > 0; ++seg)
    memcpy(fresh.kv + (size_t)seg * (size_t)(fresh.kv_capacity * d->kv_row_bytes),
           kv + (size_t)seg * rows, rows);

  hybridc_rt_drop_checkpoints(s, -1);
  free(s->history);
  hybridc_rt_map_free(s->kv, s->kv_alloc_bytes);
  s->kv = fresh.kv;
  s->kv_capacity = fresh.kv_capacity;
  s->kv_alloc_bytes = fresh.kv_alloc_bytes;
  s->history = fresh.history;
  s->history_capacity = fresh.history_capacity;
  s->checkpoints = fresh.checkpoints;
  s->num_checkpoints = fresh.num_checkpoints;
  s->position = position;
  s->call_position = call_position;
  return HYBRIDC_OK;
}

} // extern "C"
