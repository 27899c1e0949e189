//===- Streaming.cpp - prefill / decode with all-or-nothing commit --------===//
//
// A call either commits completely (state, KV rows, position) or leaves the
// session exactly as it was:
//   1. validate every argument,
//   2. grow the KV cache and the workspace (the only steps that can run out
//      of memory) before any chunk runs; growing keeps rows [0, position),
//      so it is invisible to the session's contents,
//   3. run the chunks with state_in/state_out alternating between two
//      scratch buffers, never writing the committed state; KV rows are only
//      appended past the committed position,
//   4. on success swap the last scratch buffer in and advance the position;
//      the state from before the call becomes the session's call checkpoint
//      (a pointer rotation) and the tokens join its history.
// With a checkpoint interval n, the chunks also end at every multiple of n,
// and the state there is copied into a checkpoint allocated in step 2.
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

namespace {

hybridc_memref1d memref(const void *p, int64_t size) {
  hybridc_memref1d m;
  // The driver never writes through tokens/weights; the memref type just has
  // no const.
  m.allocated = const_cast<void *>(p);
  m.aligned = const_cast<void *>(p);
  m.offset = 0;
  m.size = size;
  m.stride = 1;
  return m;
}

// Grows the KV cache to hold `need` rows per segment, in whole blocks of
// tokens (kv_layout.h). Segment s starts at s * capacity * row_bytes, so a new capacity moves every segment but the
// first. The blob is one anonymous mapping: mremap extends it by moving its
// pages (no copy, no fresh pages for what is kept), then the segments move
// up to their new offsets, last first, since they overlap their old place;
// amortised doubling keeps the total copying linear in the sequence length.
// If the kernel refuses the remap, the old mapping stays as it was.
} // namespace

int hybridc_rt_ensure_kv(hybridc_session *s, int64_t need, const char *fn) {
  const hybridc_model_desc *d = s->desc;
  if (s->max_tokens > 0 && need > s->max_tokens)
    return hybridc_rt_fail(HYBRIDC_ERR_CAPACITY,
                           "%s: the session's token cap of %" PRId64
                           " would be exceeded: position %" PRId64 " + %" PRId64
                           " new tokens = %" PRId64 " (raise it with set_max_tokens or reset)",
                           fn, s->max_tokens, s->position, need - s->position, need);
  if (need <= s->kv_capacity && s->kv)
    return HYBRIDC_OK;

  int64_t cap = s->kv_capacity;
  if (need > cap) {
    cap = cap > 0 ? cap : 16;
    while (cap < need)
      cap = cap > INT64_MAX / 2 ? need : cap * 2;
    if (s->max_tokens > 0 && cap > s->max_tokens)
      cap = s->max_tokens; // need <= max_tokens, checked above
    // Whole blocks of tokens (kv_layout.h): a segment is an array of them.
    cap = hybridc_kv_round_tokens(cap);
  }
  // Doubling keeps the copying linear; where the doubled mapping cannot be
  // had (a memory limit at a long context), exactly the blocks needed may.
  const int64_t exact = hybridc_kv_round_tokens(need);
  int64_t seg_bytes = 0, total = 0;
  uint8_t *kv = NULL;
  for (int attempt = 0; attempt < 2 && !kv; ++attempt) {
    if (attempt == 1) {
      if (cap == exact)
        break;
      cap = exact;
    }
    if (__builtin_mul_overflow(cap, d->kv_row_bytes, &seg_bytes) ||
        __builtin_mul_overflow(seg_bytes, (int64_t)d->kv_segments, &total))
      continue;
    kv = (uint8_t *)hybridc_rt_map_resize(s->kv, s->kv_alloc_bytes, total);
  }
  if (!kv)
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY,
                           "%s: out of memory growing the KV cache to %" PRId64
                           " tokens (%" PRId64 " bytes, %" PRId64
                           " bytes a token) for position %" PRId64 " + %" PRId64
                           " new tokens; the session is unchanged",
                           fn, cap, total, (int64_t)d->kv_segments * d->kv_row_bytes,
                           s->position, need - s->position);
  if (s->position > 0) {
    const size_t used = (size_t)hybridc_rt_kv_used_bytes(d, s->position);
    const size_t old_seg = (size_t)(s->kv_capacity * d->kv_row_bytes);
    // Each moved segment gives back the pages it left (those its new place
    // does not cover) right away, so the cache is never resident twice;
    // then every segment's unused tail, so the resident cache stays the
    // blocks in use (what `hybridc inspect --context` plans). A page given
    // back and written again later reads as zeros first, which the move of
    // a lower segment then overwrites.
    for (int32_t seg = d->kv_segments - 1; seg > 0; --seg) {
      uint8_t *from = kv + (size_t)seg * old_seg, *to = kv + (size_t)seg * (size_t)seg_bytes;
      memmove(to, from, used);
      const size_t left = (size_t)(to - from) < used ? (size_t)(to - from) : used;
      hybridc_rt_map_release(from, left);
    }
    for (int32_t seg = 0; seg + 1 < d->kv_segments; ++seg)
      hybridc_rt_map_release(kv + (size_t)seg * (size_t)seg_bytes + used,
                             (size_t)seg_bytes - used);
  }
  s->kv = kv;
  s->kv_capacity = cap;
  s->kv_alloc_bytes = total;
  return HYBRIDC_OK;
}

namespace {

int64_t workspace_bytes(const hybridc_model_desc *d, int64_t tokens) {
  return d->workspace_fixed_bytes + tokens * d->workspace_bytes_per_token;
}

int ensure_workspace(hybridc_session *s, int64_t tokens, const char *fn) {
  if (s->workspace && tokens <= s->workspace_tokens)
    return HYBRIDC_OK;
  const hybridc_model_desc *d = s->desc;
  int64_t per_token;
  if (__builtin_mul_overflow(tokens, d->workspace_bytes_per_token, &per_token) ||
      per_token > INT64_MAX - d->workspace_fixed_bytes)
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "%s: workspace size overflows", fn);
  // No copy needed: the workspace holds nothing between calls.
  uint8_t *ws = (uint8_t *)hybridc_rt_aligned_alloc(workspace_bytes(d, tokens));
  if (!ws)
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY,
                           "%s: out of memory for a %" PRId64 "-byte workspace", fn,
                           workspace_bytes(d, tokens));
  free(s->workspace);
  s->workspace = ws;
  s->workspace_tokens = tokens;
  return HYBRIDC_OK;
}

// Checkpoint buffers a call of n tokens at `position` fills: one per multiple
// of the interval in (position, position + n], allocated before it runs.
struct NewCheckpoints {
  hybridc_rt_checkpoint *list = nullptr; // the old ones, then the new ones
  int64_t count = 0;                     // new ones
  int64_t filled = 0;
};

void free_new(hybridc_session *s, NewCheckpoints &c) {
  for (int64_t i = 0; i < c.count; ++i)
    free(c.list[s->num_checkpoints + i].state);
  free(c.list);
  c = NewCheckpoints();
}

int alloc_new(hybridc_session *s, int64_t n, NewCheckpoints &c, const char *fn) {
  const int64_t every = s->checkpoint_interval;
  if (every <= 0)
    return HYBRIDC_OK;
  const int64_t first = s->position / every + 1, last = (s->position + n) / every;
  if (last < first)
    return HYBRIDC_OK;
  const int64_t total = s->num_checkpoints + (last - first + 1);
  c.list = (hybridc_rt_checkpoint *)calloc((size_t)total, sizeof *c.list);
  if (!c.list)
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "%s: out of memory for checkpoints", fn);
  if (s->num_checkpoints)
    memcpy(c.list, s->checkpoints, (size_t)s->num_checkpoints * sizeof *c.list);
  for (int64_t k = first; k <= last; ++k) {
    hybridc_rt_checkpoint &cp = c.list[s->num_checkpoints + c.count];
    cp.position = k * every;
    cp.state = (uint8_t *)hybridc_rt_aligned_alloc(s->desc->state_bytes);
    if (!cp.state) {
      free_new(s, c);
      return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY,
                             "%s: out of memory for the checkpoint at position %" PRId64, fn,
                             k * every);
    }
    ++c.count;
  }
  return HYBRIDC_OK;
}

// Commits a call of `n` tokens that left its state in scratch[written]: it
// becomes the state, the old state becomes the call checkpoint (whose buffer
// becomes scratch), the tokens join the history and the new interval
// checkpoints (filled by the caller) join the list.
void commit(hybridc_session *s, int written, const int32_t *tokens, int64_t n,
            NewCheckpoints &fresh) {
  uint8_t *old = s->state;
  s->state = s->scratch[written];
  s->scratch[written] = s->call_state;
  s->call_state = old;
  s->call_position = s->position;
  memcpy(s->history + s->position, tokens, (size_t)n * sizeof *tokens);
  if (fresh.list) {
    free(s->checkpoints);
    s->checkpoints = fresh.list;
    s->num_checkpoints += fresh.count;
  }
  s->position += n;
}

// The status a failed driver call reports: only the documented codes reach
// the caller; anything else a driver might store is a kernel error.
int32_t driver_status(hybridc_call_ctx &ctx) {
  int32_t st = __atomic_load_n(&ctx.status, __ATOMIC_ACQUIRE);
  if (st != HYBRIDC_OK && (st < HYBRIDC_ERR_INVALID_ARGUMENT || st > HYBRIDC_ERR_KERNEL))
    st = HYBRIDC_ERR_KERNEL;
  ctx.message[sizeof ctx.message - 1] = '\0';
  return st;
}

void init_ctx(hybridc_call_ctx &ctx, hybridc_session *s) {
  memset(&ctx, 0, sizeof ctx);
  ctx.status = HYBRIDC_OK;
  ctx.session = s;
  ctx.num_threads = s->threads;
}

// Runs `n` validated tokens from `in` (the state after `start` tokens)
// through the model and commits the result. `refeed`: truncate's re-run of
// history tokens, which keeps the checkpoints and the history as they are.
int run(hybridc_session *s, const int32_t *tokens, int64_t n, float *logits, int32_t flags,
        bool decode, const char *fn, const uint8_t *in, int64_t start, bool refeed) {
  hybridc_rt_halide_hooks_anchor();
  const hybridc_model_desc *d = s->desc;
  const hybridc_model *m = s->model;
  if (n > INT64_MAX - start)
    return hybridc_rt_fail(HYBRIDC_ERR_CAPACITY, "%s: position overflow", fn);
  int status = hybridc_rt_ensure_kv(s, start + n, fn);
  if (status != HYBRIDC_OK)
    return status;
  int64_t chunk = d->max_chunk_tokens;
  status = ensure_workspace(s, n < chunk ? n : chunk, fn);
  if (status != HYBRIDC_OK)
    return status;
  NewCheckpoints fresh;
  if (!refeed) {
    status = hybridc_rt_reserve_history(s, n, fn);
    if (status == HYBRIDC_OK)
      status = alloc_new(s, n, fresh, fn);
    if (status != HYBRIDC_OK)
      return status;
  }

  hybridc_call_ctx ctx;
  init_ctx(ctx, s);

  hybridc_memref1d w = memref(m->payload, (int64_t)d->weights_layout_bytes);
  hybridc_memref1d kv = memref(s->kv, (int64_t)d->kv_segments * s->kv_capacity * d->kv_row_bytes);
  const int64_t vocab = d->vocab_size;
  hybridc_driver_fn driver = decode ? d->decode : d->prefill;

  int next_scratch = 0;
  for (int64_t off = 0; off < n;) {
    int64_t cn = n - off < chunk ? n - off : chunk;
    // End the chunk at the next checkpoint, if it comes first.
    if (fresh.filled < fresh.count) {
      const int64_t at = fresh.list[s->num_checkpoints + fresh.filled].position - start;
      if (at - off < cn)
        cn = at - off;
    }
    bool last = off + cn == n;
    uint8_t *out = s->scratch[next_scratch];

    hybridc_memref1d tok = memref(tokens + off, cn);
    hybridc_memref1d sin = memref(in, d->state_bytes);
    hybridc_memref1d sout = memref(out, d->state_bytes);
    hybridc_memref1d ws = memref(s->workspace, workspace_bytes(d, cn));
    hybridc_memref1d lg;
    int64_t logits_from;
    if (!logits) {
      logits_from = cn;
      lg = memref(s->no_logits, 0);
    } else if (flags == HYBRIDC_LOGITS_ALL) {
      logits_from = 0;
      lg = memref(logits + off * vocab, cn * vocab);
    } else if (last) {
      logits_from = cn - 1;
      lg = memref(logits, vocab);
    } else {
      logits_from = cn;
      lg = memref(logits, 0);
    }

    driver(&ctx, &tok, &w, &sin, &sout, &kv, s->kv_capacity, start + off, &ws, &lg,
           logits_from);

    int32_t st = driver_status(ctx);
    if (st != HYBRIDC_OK) {
      free_new(s, fresh);
      // Nothing committed: the state pointer and position are unchanged and
      // the KV rows written past the position will be overwritten.
      return hybridc_rt_fail(st,
                             "%s: tokens [%" PRId64 ", %" PRId64 ") at position %" PRId64
                             " failed, session unchanged: %s",
                             fn, off, off + cn, start + off,
                             ctx.message[0] ? ctx.message : "(no message)");
    }
    off += cn;
    if (fresh.filled < fresh.count &&
        fresh.list[s->num_checkpoints + fresh.filled].position == start + off)
      memcpy(fresh.list[s->num_checkpoints + fresh.filled++].state, out,
             (size_t)d->state_bytes);
    in = out;
    next_scratch ^= 1;
  }

  if (refeed) {
    uint8_t *old = s->state;
    s->state = s->scratch[next_scratch ^ 1];
    s->scratch[next_scratch ^ 1] = old;
    s->position = start + n;
    return HYBRIDC_OK;
  }
  commit(s, next_scratch ^ 1, tokens, n, fresh);
  return HYBRIDC_OK;
}

// Checks a decode_batch call's arguments: distinct sessions of one model,
// tokens in range, logits given.
int check_batch(hybridc_session *const *sessions, const int32_t *tokens, int64_t n,
                const float *logits, const char *fn) {
  if (!sessions || !tokens || !logits)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                           !sessions ? "sessions" : !tokens ? "tokens" : "logits");
  if (n <= 0)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: n must be >= 1 (got %" PRId64 ")",
                           fn, n);
  if (sessions[0] && !sessions[0]->desc->decode_batch)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "%s: the model '%s' was built without a batch driver", fn,
                           sessions[0]->desc->name);
  for (int64_t i = 0; i < n; ++i) {
    const hybridc_session *s = sessions[i];
    if (!s)
      return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: sessions[%" PRId64 "] is NULL",
                             fn, i);
    if (s->model != sessions[0]->model)
      return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                             "%s: sessions[%" PRId64 "] belongs to another open model than "
                             "sessions[0]; a batch runs on one model's weights",
                             fn, i);
    if (tokens[i] < 0 || tokens[i] >= s->desc->vocab_size)
      return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                             "%s: tokens[%" PRId64 "] = %d is out of range [0, %d)", fn, i,
                             tokens[i], s->desc->vocab_size);
    for (int64_t j = 0; j < i; ++j)
      if (sessions[j] == s)
        return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                               "%s: sessions[%" PRId64 "] and sessions[%" PRId64
                               "] are the same session; each may appear once",
                               fn, j, i);
  }
  return HYBRIDC_OK;
}

// One token for each of n validated sessions through the batch driver, in
// calls of at most max_chunk_tokens streams; every session commits only
// after every call succeeded.
int run_batch(hybridc_session *const *sessions, const int32_t *tokens, int64_t n,
              float *logits, const char *fn) {
  hybridc_rt_halide_hooks_anchor();
  hybridc_session *lead = sessions[0]; // its workspace and threads run the call
  const hybridc_model_desc *d = lead->desc;
  NewCheckpoints *fresh = (NewCheckpoints *)calloc((size_t)n, sizeof *fresh);
  int64_t *streams = (int64_t *)malloc((size_t)n * HYBRIDC_STREAM_FIELDS * sizeof *streams);
  int status = fresh && streams ? HYBRIDC_OK
                                : hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY,
                                                  "%s: out of memory for %" PRId64 " streams",
                                                  fn, n);
  int64_t prepared = 0;
  const int64_t chunk = d->max_chunk_tokens;
  if (status == HYBRIDC_OK)
    status = ensure_workspace(lead, n < chunk ? n : chunk, fn);
  // Growing the KV caches and the histories is invisible to the sessions'
  // contents; only the new checkpoints need undoing on failure.
  for (; status == HYBRIDC_OK && prepared < n; ++prepared) {
    hybridc_session *s = sessions[prepared];
    fresh[prepared] = NewCheckpoints();
    if (s->position == INT64_MAX)
      status = hybridc_rt_fail(HYBRIDC_ERR_CAPACITY, "%s: position overflow", fn);
    if (status == HYBRIDC_OK)
      status = hybridc_rt_ensure_kv(s, s->position + 1, fn);
    if (status == HYBRIDC_OK)
      status = hybridc_rt_reserve_history(s, 1, fn);
    if (status == HYBRIDC_OK)
      status = alloc_new(s, 1, fresh[prepared], fn);
    int64_t *row = streams + prepared * HYBRIDC_STREAM_FIELDS;
    row[HYBRIDC_STREAM_STATE_IN] = (int64_t)(uintptr_t)s->state;
    row[HYBRIDC_STREAM_STATE_OUT] = (int64_t)(uintptr_t)s->scratch[0];
    row[HYBRIDC_STREAM_KV] = (int64_t)(uintptr_t)s->kv;
    row[HYBRIDC_STREAM_KV_CAPACITY] = s->kv_capacity;
    row[HYBRIDC_STREAM_PAST] = s->position;
  }

  hybridc_call_ctx ctx;
  init_ctx(ctx, lead);
  hybridc_memref1d w = memref(lead->model->payload, (int64_t)d->weights_layout_bytes);
  for (int64_t off = 0; status == HYBRIDC_OK && off < n;) {
    const int64_t cn = n - off < chunk ? n - off : chunk;
    hybridc_memref1d tok = memref(tokens + off, cn);
    hybridc_memref1d table = memref(streams + off * HYBRIDC_STREAM_FIELDS,
                                    cn * HYBRIDC_STREAM_FIELDS);
    hybridc_memref1d ws = memref(lead->workspace, workspace_bytes(d, cn));
    hybridc_memref1d lg = memref(logits + off * d->vocab_size, cn * d->vocab_size);
    d->decode_batch(&ctx, &tok, &w, &table, &ws, &lg);
    status = driver_status(ctx);
    if (status != HYBRIDC_OK)
      status = hybridc_rt_fail(status,
                               "%s: streams [%" PRId64 ", %" PRId64
                               ") failed, no session changed: %s",
                               fn, off, off + cn, ctx.message[0] ? ctx.message : "(no message)");
    off += cn;
  }

  for (int64_t i = 0; i < prepared; ++i) {
    hybridc_session *s = sessions[i];
    if (status != HYBRIDC_OK) {
      free_new(s, fresh[i]);
      continue;
    }
    if (fresh[i].count) // the one checkpoint this token can reach
      memcpy(fresh[i].list[s->num_checkpoints].state, s->scratch[0], (size_t)d->state_bytes);
    commit(s, 0, tokens + i, 1, fresh[i]);
  }
  free(fresh);
  free(streams);
  return status;
}

} // namespace

extern "C" {

int hybridc_rt_decode_batch(hybridc_session *const *sessions, const int32_t *tokens, int64_t n,
                            float *logits) {
  const char *fn = "decode_batch";
  int status = check_batch(sessions, tokens, n, logits, fn);
  return status != HYBRIDC_OK ? status : run_batch(sessions, tokens, n, logits, fn);
}

int hybridc_rt_prefill(hybridc_session *s, const int32_t *tokens, int64_t n, float *logits,
                       int32_t flags) {
  const char *fn = "prefill";
  if (!s)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: session is NULL", fn);
  if (!tokens)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: tokens is NULL", fn);
  if (n <= 0)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: n must be >= 1 (got %" PRId64 ")",
                           fn, n);
  if (flags != HYBRIDC_LOGITS_LAST && flags != HYBRIDC_LOGITS_ALL)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "%s: flags must be LOGITS_LAST (%d) or LOGITS_ALL (%d), got %d", fn,
                           HYBRIDC_LOGITS_LAST, HYBRIDC_LOGITS_ALL, flags);
  const int32_t vocab = s->desc->vocab_size;
  for (int64_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= vocab)
      return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                             "%s: tokens[%" PRId64 "] = %d is out of range [0, %d)", fn, i,
                             tokens[i], vocab);
  return run(s, tokens, n, logits, flags, false, fn, s->state, s->position, false);
}

int hybridc_rt_decode(hybridc_session *s, int32_t token, float *logits) {
  const char *fn = "decode";
  if (!s)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: session is NULL", fn);
  if (token < 0 || token >= s->desc->vocab_size)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: token %d is out of range [0, %d)",
                           fn, token, s->desc->vocab_size);
  return run(s, &token, 1, logits, HYBRIDC_LOGITS_LAST, true, fn, s->state, s->position, false);
}

int hybridc_rt_refeed(hybridc_session *s, const uint8_t *state, int64_t from, int64_t to,
                      const char *fn) {
  return run(s, s->history + from, to - from, NULL, HYBRIDC_LOGITS_LAST, false, fn, state, from,
             true);
}

} // extern "C"
