//===- Checkpoints.cpp - token history, kept states, truncate -------------===//
//
// A hybrid model's recurrent state cannot be rewound by dropping rows, as a
// KV cache can: truncate restores the state from a kept checkpoint at or
// before the target position and feeds the session's own history tokens
// from there. Kept are the state from before the latest call (always: the
// speculative-decoding case, rewinding inside the call just made) and, with
// an interval n > 0, the state at every multiple of n (position 0, the empty
// state, among them).
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

extern "C" {

int hybridc_rt_reserve_history(hybridc_session *s, int64_t n, const char *fn) {
  if (s->position + n <= s->history_capacity)
    return HYBRIDC_OK;
  int64_t cap = s->history_capacity > 0 ? s->history_capacity : 64;
  while (cap < s->position + n)
    cap = cap > INT64_MAX / 4 ? s->position + n : cap * 2;
  if ((uint64_t)cap > SIZE_MAX / sizeof(int32_t))
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "%s: token history too long", fn);
  int32_t *h = (int32_t *)realloc(s->history, (size_t)cap * sizeof(int32_t));
  if (!h)
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY,
                           "%s: out of memory for a token history of %" PRId64 " tokens", fn,
                           cap);
  s->history = h;
  s->history_capacity = cap;
  return HYBRIDC_OK;
}

hybridc_rt_checkpoint *hybridc_rt_alloc_checkpoints(const hybridc_model_desc *d, int64_t n) {
  hybridc_rt_checkpoint *list =
      (hybridc_rt_checkpoint *)calloc((size_t)(n > 0 ? n : 1), sizeof *list);
  for (int64_t i = 0; list && i < n; ++i) {
    list[i].state = (uint8_t *)hybridc_rt_aligned_alloc(d->state_bytes);
    if (!list[i].state) {
      hybridc_rt_free_checkpoints(list, i);
      return NULL;
    }
  }
  return list;
}

void hybridc_rt_free_checkpoints(hybridc_rt_checkpoint *list, int64_t n) {
  for (int64_t i = 0; list && i < n; ++i)
    free(list[i].state);
  free(list);
}

void hybridc_rt_drop_checkpoints(hybridc_session *s, int64_t position) {
  int64_t keep = 0;
  while (keep < s->num_checkpoints && position >= 0 && s->checkpoints[keep].position <= position)
    ++keep;
  for (int64_t i = keep; i < s->num_checkpoints; ++i)
    free(s->checkpoints[i].state);
  s->num_checkpoints = keep;
  if (keep == 0) {
    free(s->checkpoints);
    s->checkpoints = NULL;
  }
}

int64_t hybridc_rt_checkpoint_bytes(const hybridc_session *s) {
  // As hybridc_rt_aligned_alloc rounds it.
  const int64_t a = HYBRIDC_RT_ALIGN;
  return s->desc->state_bytes > 0 ? (s->desc->state_bytes + a - 1) / a * a : a;
}

int hybridc_rt_session_set_checkpoint_interval(hybridc_session *s, int64_t tokens) {
  if (!s)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "session_set_checkpoint_interval: session is NULL");
  if (tokens < 0)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "session_set_checkpoint_interval: tokens must be >= 0 (0: only the "
                           "state before the latest call), got %" PRId64,
                           tokens);
  // Checkpoints already kept stay; the new interval applies from now on.
  s->checkpoint_interval = tokens;
  return HYBRIDC_OK;
}

int hybridc_rt_session_truncate(hybridc_session *s, int64_t position) {
  const char *fn = "session_truncate";
  if (!s)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "%s: session is NULL", fn);
  if (position < 0 || position > s->position)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "%s: position %" PRId64 " is outside [0, %" PRId64
                           "] (a session only rewinds, to a position it has passed)",
                           fn, position, s->position);
  if (position == s->position)
    return HYBRIDC_OK;

  // The nearest kept state at or before `position`.
  int64_t from = -1;
  const uint8_t *state = NULL;
  if (s->call_position <= position) {
    from = s->call_position;
    state = s->call_state;
  }
  for (int64_t i = 0; i < s->num_checkpoints && s->checkpoints[i].position <= position; ++i)
    if (s->checkpoints[i].position > from) {
      from = s->checkpoints[i].position;
      state = s->checkpoints[i].state;
    }
  uint8_t *zeros = NULL;
  if (from < 0 && s->checkpoint_interval > 0) {
    // Position 0, the empty (all-zero) state, is a multiple of every interval.
    zeros = (uint8_t *)hybridc_rt_aligned_alloc(s->desc->state_bytes);
    if (!zeros)
      return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    memset(zeros, 0, (size_t)s->desc->state_bytes);
    from = 0;
    state = zeros;
  }
  if (from < 0)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "%s: position %" PRId64 " is before every kept state: the earliest "
                           "is the state before the latest call, at position %" PRId64
                           " (set_checkpoint_interval keeps more)",
                           fn, position, s->call_position);

  int status = HYBRIDC_OK;
  if (from == position) {
    memcpy(s->state, state, (size_t)s->desc->state_bytes);
    s->position = position;
  } else {
    status = hybridc_rt_refeed(s, state, from, position, fn);
  }
  if (status == HYBRIDC_OK) {
    // What is kept from here on: the checkpoints at or before the new
    // position and, as the state before this call, the one rewound from.
    if (s->call_position > position) {
      memcpy(s->call_state, state, (size_t)s->desc->state_bytes);
      s->call_position = from;
    }
    hybridc_rt_drop_checkpoints(s, position);
  }
  free(zeros);
  return status;
}

} // extern "C"
