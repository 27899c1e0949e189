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
    p = mremap(old, mappedSize(old_bytes), mappedSize(new_bytes), MREMAP_MAYMOVE);
  }
  if (p == MAP_FAILED)
    return NULL;
  // A long context's KV cache is hundreds of MB read every decode step:
  // 2 MiB pages spare the TLB (a hint; ignored where THP is off).
  madvise(p, mappedSize(new_bytes), MADV_HUGEPAGE);
  return p;
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
  if (!s->state || !s->scratch[0] || !s->scratch[1]) {
    free(s->state);
    free(s->scratch[0]);
    free(s->scratch[1]);
    free(s);
    return hybridc_rt_fail(HYBRIDC_ERR_OUT_OF_MEMORY,
                           "session_create: out of memory for %" PRId64 " bytes of state (x3)",
                           d->state_bytes);
  }
  // All-zero state is the empty sequence (see runtime_abi.h).
  memset(s->state, 0, (size_t)d->state_bytes);
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
  s->position = 0;
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
  return d->state_bytes + s->position * (int64_t)d->kv_segments * d->kv_row_bytes;
}

} // extern "C"
