//===- Internal.h - runtime-private types shared by the runtime's files ---===//
//
// Plain C-compatible C++: no STL, no new/delete, no exceptions, no static
// objects with constructors (those would pull in __cxa_guard_* from libstdc++).
// Every symbol is hidden (-fvisibility=hidden); only the generated glue's
// prefixed functions are exported from a model library.
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_RUNTIME_INTERNAL_H
#define HYBRIDC_RUNTIME_INTERNAL_H

#include "hybridc/kv_layout.h"
#include "hybridc/runtime_abi.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

// Every buffer handed to the driver is aligned to a cache line, which is also
// what Halide's vector loads prefer.
#define HYBRIDC_RT_ALIGN 64

// Halide's parallel-for task signature (HalideRuntime.h's halide_task_t),
// declared here so the runtime does not depend on Halide's headers.
#ifdef __cplusplus
extern "C" {
#endif

typedef int (*hybridc_rt_task_fn)(void *user_context, int task_number, uint8_t *closure);

// ---- Errors.cpp ----------------------------------------------------------
// Records a formatted message as this thread's last error; returns `status`
// so callers can write `return hybridc_rt_fail(...)`.
int hybridc_rt_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Copies `msg` (truncated) as this thread's last error.
void hybridc_rt_set_last_error(const char *msg);
// Records a Halide runtime error (halide_error) into a call context: the
// first failure of the call wins; hybridc_rt_kernel_failed later names the
// kernel it came from. Safe to call from several worker threads at once.
void hybridc_rt_ctx_halide_error(hybridc_call_ctx *ctx, const char *msg);

// ---- Memory (Session.cpp) -------------------------------------------------
// 64-byte aligned allocation of at least one cache line (never NULL on
// success, even for 0 bytes, so the driver always gets a valid pointer).
void *hybridc_rt_aligned_alloc(int64_t bytes);
// An anonymous page-aligned mapping of `new_bytes` (at least one page):
// created when `old` is NULL, else `old` (of `old_bytes`) resized, contents
// kept, possibly moved. NULL on failure, `old` then untouched.
void *hybridc_rt_map_resize(void *old, int64_t old_bytes, int64_t new_bytes);
void hybridc_rt_map_free(void *p, int64_t bytes);
// Gives back the whole pages inside [p, p + bytes) of such a mapping (they
// read as zeros again); keeps the mapping.
void hybridc_rt_map_release(void *p, size_t bytes);

// ---- ThreadPool.cpp ---------------------------------------------------------
// A session's workers. Created lazily on the first parallel loop; the thread
// that runs the call participates, so `workers` = threads - 1.
typedef struct hybridc_rt_pool hybridc_rt_pool;
// Runs task(uc, i, closure) for i in [min, min+size) on up to `threads`
// threads (the caller included); returns the first non-zero task result.
// `*pool` is created on first use; a pool that cannot be created (no memory,
// no threads) degrades to running the loop on the calling thread.
int hybridc_rt_pool_run(hybridc_rt_pool **pool, int32_t threads, hybridc_rt_task_fn task,
                        void *uc, int min, int size, uint8_t *closure);
// Stops and joins the workers; `pool` may be NULL.
void hybridc_rt_pool_destroy(hybridc_rt_pool *pool);

// ---- HalideHooks.cpp ---------------------------------------------------------
// Referenced from Streaming.cpp so that linking the archive without
// --whole-archive still pulls HalideHooks.o (and its strong halide_do_par_for
// and halide_error) into any library that calls prefill/decode.
void hybridc_rt_halide_hooks_anchor(void);

// ---- Model / session state ---------------------------------------------------
struct hybridc_model {
  const hybridc_model_desc *desc;
  const uint8_t *payload;   // weights as the driver sees them: its variant's layout
  void *map_base;           // the mmapped file, or NULL for embedded weights
  size_t map_bytes;
  int32_t default_threads;  // for sessions created later (atomic access)
  int32_t refs;             // 1 (open) + live sessions (atomic access)
  struct hybridc_rt_tokenizer *tokenizer; // from desc->tokenizer, or NULL (Tokenizer.cpp)
};

// A kept recurrent state: the conv + SSM state after `position` tokens.
typedef struct hybridc_rt_checkpoint {
  int64_t position;
  uint8_t *state;
} hybridc_rt_checkpoint;

struct hybridc_session {
  hybridc_model *model;
  const hybridc_model_desc *desc;
  int64_t position;         // tokens committed
  int64_t max_tokens;       // 0: no cap
  int32_t threads;

  // Commit protocol: `state` is the committed state; a call writes only the
  // two scratch buffers and swaps the last one in on success.
  uint8_t *state;
  uint8_t *scratch[2];

  uint8_t *kv;              // token-major rows of kv_segments segments (mapped)
  int64_t kv_capacity;      // rows per segment
  int64_t kv_alloc_bytes;   // bytes in use of the mapping (hybridc_rt_map_*)

  uint8_t *workspace;
  int64_t workspace_tokens; // tokens the workspace is sized for (-1: none yet)

  hybridc_rt_pool *pool;    // lazily created worker threads

  // What truncate rewinds with (Checkpoints.cpp). Every token fed, so the
  // tokens after a checkpoint can be fed again:
  int32_t *history;         // [position] tokens
  int64_t history_capacity;
  // The state before the latest prefill / decode, always kept: a fourth
  // state buffer that the commit rotates in, so keeping it copies nothing.
  uint8_t *call_state;
  int64_t call_position;
  // With an interval n > 0, a copy of the state every n tokens, ascending.
  int64_t checkpoint_interval;
  hybridc_rt_checkpoint *checkpoints;
  int64_t num_checkpoints;

  // Target of the zero-size logits memref when no logits are requested, so
  // the driver never sees a NULL buffer pointer.
  float no_logits[16] __attribute__((aligned(HYBRIDC_RT_ALIGN)));
};

// Drops one reference to the model; the last one unmaps and frees it.
void hybridc_rt_model_release(hybridc_model *model);

// ---- Tokenizer.cpp -----------------------------------------------------------
// Checks the descriptor's tokenizer blob and builds model->tokenizer (NULL
// when the library has none); fails with HYBRIDC_ERR_FORMAT on a bad blob.
int hybridc_rt_model_open_tokenizer(hybridc_model *model);
void hybridc_rt_model_close_tokenizer(hybridc_model *model);

// ---- Streaming.cpp -----------------------------------------------------------
// Bytes of one segment that hold tokens [0, position): whole blocks
// (kv_layout.h), the last one perhaps partly filled.
static inline int64_t hybridc_rt_kv_used_bytes(const hybridc_model_desc *d, int64_t position) {
  return hybridc_kv_round_tokens(position) * d->kv_row_bytes;
}
// Grows the KV cache to `need` rows per segment (keeping rows [0, position)),
// within the session's token cap. `fn` names the calling function in errors.
int hybridc_rt_ensure_kv(hybridc_session *s, int64_t need, const char *fn);
// Feeds history tokens [from, to) starting from `state` (the state after
// `from` tokens), then makes the result the session's state at position
// `to`, without touching the checkpoints: how truncate rewinds. The KV rows
// [from, to) are rewritten with the same tokens.
int hybridc_rt_refeed(hybridc_session *s, const uint8_t *state, int64_t from, int64_t to,
                      const char *fn);

// ---- Checkpoints.cpp -----------------------------------------------------------
// Makes room for `n` more history tokens; nothing else changes.
int hybridc_rt_reserve_history(hybridc_session *s, int64_t n, const char *fn);
// Frees the interval checkpoints after `position` (all of them for -1).
void hybridc_rt_drop_checkpoints(hybridc_session *s, int64_t position);
// `n` checkpoints with a state buffer each (positions unset), or NULL (and
// nothing allocated) when memory runs out; hybridc_rt_free_checkpoints
// frees them.
hybridc_rt_checkpoint *hybridc_rt_alloc_checkpoints(const hybridc_model_desc *d, int64_t n);
void hybridc_rt_free_checkpoints(hybridc_rt_checkpoint *list, int64_t n);
// Bytes one state snapshot occupies.
int64_t hybridc_rt_checkpoint_bytes(const hybridc_session *s);

#ifdef __cplusplus
} // extern "C"
#endif

// Per-thread values (ThreadLocal.cpp). The message buffer is null only when
// the thread's buffer cannot be allocated.
char *hybridc_rt_thread_message(size_t *capacity);
bool hybridc_rt_thread_in_task(void);
void hybridc_rt_thread_set_in_task(bool inTask);

#endif // HYBRIDC_RUNTIME_INTERNAL_H
