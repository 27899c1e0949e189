//===- HalideHooks.cpp - the runtime's overrides of Halide runtime hooks --===//
//
// Kernels are compiled by Halide with the `user_context` feature, and the
// driver passes its hybridc_call_ctx* as that user_context. Halide's
// standalone runtime object defines these hooks as weak symbols; the strong
// definitions here win at link time, so parallel loops run on the session's
// own threads and errors land in the call's context instead of on stderr.
//
// Halide 14 lowers `Func::parallel` loops to halide_do_par_for (checked with
// nm on an AOT object built with target x86-64-linux-avx2-no_runtime-
// user_context). `async()` schedules use halide_do_parallel_tasks with
// semaphores instead; that path is deliberately not overridden and would run
// on Halide's global pool, so kernel schedules must not use async().
//===----------------------------------------------------------------------===//
#include "Internal.h"

extern "C" {

// Strong definitions overriding the weak ones in Halide's runtime. They must
// stay visible to the static linker (they are hidden in the final .so by the
// version script / -fvisibility, which is fine: the kernels are in the same
// .so).
int halide_do_par_for(void *user_context, hybridc_rt_task_fn task, int min, int size,
                      uint8_t *closure);
void halide_error(void *user_context, const char *msg);

int halide_do_par_for(void *user_context, hybridc_rt_task_fn task, int min, int size,
                      uint8_t *closure) {
  hybridc_call_ctx *ctx = (hybridc_call_ctx *)user_context;
  hybridc_session *s = ctx ? (hybridc_session *)ctx->session : nullptr;
  // Without a session (a kernel called outside a runtime call) there is no
  // pool to use: run on the calling thread.
  if (!s)
    return hybridc_rt_pool_run(nullptr, 1, task, user_context, min, size, closure);
  return hybridc_rt_pool_run(&s->pool, ctx->num_threads, task, user_context, min, size, closure);
}

void halide_error(void *user_context, const char *msg) {
  if (user_context)
    hybridc_rt_ctx_halide_error((hybridc_call_ctx *)user_context, msg);
  else
    hybridc_rt_set_last_error(msg); // nowhere better to put it; never abort
}

} // extern "C"

void hybridc_rt_halide_hooks_anchor(void) {}
