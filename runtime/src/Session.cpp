//===- Session.cpp - session lifetime, settings, aligned memory ------------===//
#include "Internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *hybridc_rt_aligned_alloc(int64_t bytes) {
  if (bytes < 0 || (uint64_t)bytes > (uint64_t)SIZE_MAX - HYBRIDC_RT_ALIGN)
    return NULL;
  // Round up so vectorised kernels may read a whole last vector, and never
  // ask for 0 bytes (the driver always gets a real pointer).
  size_t size = ((size_t)bytes + HYBRIDC_RT_ALIGN - 1) / HYBRIDC_RT_ALIGN * HYBRIDC_RT_ALIGN;
  if (size == 0)
    size = HYBRIDC_RT_ALIGN;
  void *p = NULL;
  if (posix_memalign(&p, HYBRIDC_RT_ALIGN, size) != 0)
    return NULL;
  return p;
}

namespace {
size_t mappedSize(int64_t bytes) {
  const size_t page = 4096; // a multiple of every x86-64 page size mmap rounds to
  size_t size = bytes > 0 ? (size_t)bytes : 1;
  return (size + page - 1) / page * page;
}
} // namespace

// ThreadSanitizer does not follow mremap: it would take the address range a
// session's cache moved away from, when another session's cache later lands
// there, for one object written by two threads. Under it a mapping grows by
// copy (mmap, memcpy, munmap), which it follows.
#if defined(__SANITIZE_THREAD__)
#define HYBRIDC_RT_GROW_BY_COPY 1
#endif

void *hybridc_rt_map_resize(void *old, int64_t old_bytes, int64_t new_bytes) {
  if (new_bytes < 0 || (uint64_t)new_bytes > (uint64_t)SIZE_MAX / 2)
    return NULL;
  void *p;
  if (!old) {
    p = mmap(NULL, mappedSize(new_bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
  } else {
    if (mappedSize(new_bytes) == mappedSize(old_bytes))
      return old;
#ifdef HYBRIDC_RT_GROW_BY_COPY
    p = mmap(NULL, mappedSize(new_bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
    if (p != MAP_FAILED) {
      const size_t kept = mappedSize(old_bytes) < mappedSize(new_bytes) ? mappedSize(old_bytes)
                                                                         : mappedSize(new_bytes);
      memcpy(p, old, kept);
      munmap(old, mappedSize(old_bytes));
    }
#else
    p = mremap(old, mappedSize(old_bytes), mappedSize(new_bytes), MREMAP_MAYMOVE);
#endif
  }
  if (p == MAP_FAILED)
    return NULL;
  // A long context's KV cache is hundreds of MB read every decode step:
  // 2 MiB pages spare the TLB (a hint; ignored where THP is off).
  madvise(p, mappedSize(new_bytes), MADV_HUGEPAGE);
  return p;
}

void hybridc_rt_map_release(void *p, size_t bytes) {
  const uintptr_t page = 4096, start = ((uintptr_t)p + page - 1) / page * page,
                  end = ((uintptr_t)p + bytes) / page * page;
  if (end > start)
    madvise((void *)start, end - start, MADV_DONTNEED);
}

void hybridc_rt_map_free(void *p, int64_t bytes) {
  if (p)
    munmap(p, mappedSize(bytes));
}

extern "C" {

int hybridc_rt_session_create(hybridc_model *model, hybridc_session **out) {
  if (!out)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "session_create: out is NULL");
  *out = NULL;
  if (!model)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "session_create: model is NULL");
  const hybridc_model_desc *d = model->desc;

  hybridc_session *s = NULL;
  if (posix_memalign((void **)&s, HYBRIDC_RT_ALIGN, sizeof *s) != 0)
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY, "session_create: out of memory");
  memset(s, 0, sizeof *s);
  s->model = model;
  s->desc = d;
  s->threads = __atomic_load_n(&model->default_threads, __ATOMIC_RELAXED);
  s->workspace_tokens = -1;
  s->state = (uint8_t *)hybridc_rt_aligned_alloc(d->state_bytes);
  s->scratch[0] = (uint8_t *)hybridc_rt_aligned_alloc(d->state_bytes);
  s->scratch[1] = (uint8_t *)hybridc_rt_aligned_alloc(d->state_bytes);
  s->call_state = (uint8_t *)hybridc_rt_aligned_alloc(d->state_bytes);
  if (!s->state || !s->scratch[0] || !s->scratch[1] || !s->call_state) {
    free(s->state);
    free(s->scratch[0]);
    free(s->scratch[1]);
    free(s->call_state);
    free(s);
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY,
                           "session_create: out of memory for %" PRId64 " bytes of state (x4)",
                           d->state_bytes);
  }
  // All-zero state is the empty sequence (see runtime_abi.h); the state
  // before the latest call is that too until there is a call.
  memset(s->state, 0, (size_t)d->state_bytes);
  memset(s->call_state, 0, (size_t)d->state_bytes);
  __atomic_add_fetch(&model->refs, 1, __ATOMIC_ACQ_REL);
  *out = s;
  return HYBRIDC_OK;
}

void hybridc_rt_session_free(hybridc_session *s) {
  if (!s)
    return;
  hybridc_rt_pool_destroy(s->pool);
  free(s->state);
  free(s->scratch[0]);
  free(s->scratch[1]);
  free(s->call_state);
  hybridc_rt_drop_checkpoints(s, -1);
  free(s->history);
  hybridc_rt_map_free(s->kv, s->kv_alloc_bytes);
  free(s->workspace);
  hybridc_model *m = s->model;
  free(s);
  hybridc_rt_model_release(m);
}

int hybridc_rt_session_reset(hybridc_session *s) {
  if (!s)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "session_reset: session is NULL");
  // KV rows past the position are never read, so only the position and the
  // recurrent state need clearing; the KV and workspace memory is kept for
  // the next sequence.
  memset(s->state, 0, (size_t)s->desc->state_bytes);
  memset(s->call_state, 0, (size_t)s->desc->state_bytes);
  s->position = 0;
  s->call_position = 0;
  hybridc_rt_drop_checkpoints(s, -1);
  return HYBRIDC_OK;
}

int hybridc_rt_session_set_threads(hybridc_session *s, int32_t n) {
  if (!s)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "session_set_threads: session is NULL");
  if (n < 1)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "session_set_threads: n must be >= 1 (got %d)", n);
  if (n != s->threads) {
    // The pool is sized for the old count; the next parallel loop creates a
    // new one lazily.
    hybridc_rt_pool_destroy(s->pool);
    s->pool = NULL;
    s->threads = n;
  }
  return HYBRIDC_OK;
}

int hybridc_rt_session_set_max_tokens(hybridc_session *s, int64_t max_tokens) {
  if (!s)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "session_set_max_tokens: session is NULL");
  if (max_tokens < 0)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "session_set_max_tokens: max_tokens must be >= 0 (0: no cap), got "
                           "%" PRId64,
                           max_tokens);
  if (max_tokens != 0 && max_tokens < s->position)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT,
                           "session_set_max_tokens: max_tokens %" PRId64
                           " is below the session's position %" PRId64
                           " (reset the session first)",
                           max_tokens, s->position);
  s->max_tokens = max_tokens;
  return HYBRIDC_OK;
}

int64_t hybridc_rt_session_position(const hybridc_session *s) {
  if (!s) {
    hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "session_position: session is NULL");
    return -1;
  }
  return s->position;
}

int64_t hybridc_rt_session_state_bytes(const hybridc_session *s) {
  if (!s) {
    hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "session_state_bytes: session is NULL");
    return -1;
  }
  const hybridc_model_desc *d = s->desc;
  // The state, the state before the latest call and the interval
  // checkpoints; the token history; the KV blocks in use.
  return d->state_bytes * (2 + s->num_checkpoints) + s->position * (int64_t)sizeof(int32_t) +
         (int64_t)d->kv_segments * hybridc_rt_kv_used_bytes(d, s->position);
}

int hybridc_rt_session_fork(const hybridc_session *src, hybridc_session **out) {
  if (!out)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "session_fork: out is NULL");
  *out = NULL;
  if (!src)
    return hybridc_rt_fail(HYBRIDC_ERR_INVALID_ARGUMENT, "session_fork: source session is NULL");
  hybridc_session *s = NULL;
  int status = hybridc_rt_session_create(src->model, &s);
  if (status != HYBRIDC_OK)
    return status;
  const hybridc_model_desc *d = src->desc;
  s->threads = src->threads;
  s->max_tokens = src->max_tokens;
  s->checkpoint_interval = src->checkpoint_interval;
  // Only what is in use is copied: the KV blocks holding [0, position), the
  // history, the kept states.
  status = hybridc_rt_ensure_kv(s, src->position > 0 ? src->position : 1, "session_fork");
  if (status == HYBRIDC_OK)
    status = hybridc_rt_reserve_history(s, src->position, "session_fork");
  if (status == HYBRIDC_OK && src->num_checkpoints > 0) {
    s->checkpoints = hybridc_rt_alloc_checkpoints(d, src->num_checkpoints);
    if (!s->checkpoints)
      status = hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY,
                               "session_fork: out of memory copying %" PRId64 " checkpoints",
                               src->num_checkpoints);
    for (int64_t i = 0; s->checkpoints && i < src->num_checkpoints; ++i) {
      s->checkpoints[i].position = src->checkpoints[i].position;
      memcpy(s->checkpoints[i].state, src->checkpoints[i].state, (size_t)d->state_bytes);
    }
    if (s->checkpoints)
      s->num_checkpoints = src->num_checkpoints;
  }
  if (status != HYBRIDC_OK) {
    hybridc_rt_session_free(s);
    return status;
  }
  memcpy(s->state, src->state, (size_t)d->state_bytes);
  memcpy(s->call_state, src->call_state, (size_t)d->state_bytes);
  s->call_position = src->call_position;
  if (src->position > 0)
    memcpy(s->history, src->history, (size_t)src->position * sizeof(int32_t));
  const size_t rows = (size_t)hybridc_rt_kv_used_bytes(d, src->position);
  for (int32_t seg = 0; seg < d->kv_segments && rows > 0; ++seg)
    memcpy(s->kv + (size_t)seg * (size_t)(s->kv_capacity * d->kv_row_bytes),
           src->kv + (size_t)seg * (size_t)(src->kv_capacity * d->kv_row_bytes), rows);
  s->position = src->position;
  *out = s;
  return HYBRIDC_OK;
}

} // extern "C"
