//===- Errors.cpp - last-error message, status strings, kernel failures ---===//
#include "Internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

// One message per thread: the public API promises that a failure on one
// thread never overwrites the message another thread is about to read.
static void write_last_error(const char *fmt, va_list ap) {
  size_t capacity;
  if (char *buf = hybridc_rt_thread_message(&capacity))
    vsnprintf(buf, capacity, fmt, ap);
}

extern "C" {

const char *hybridc_rt_last_error(void) {
  size_t capacity;
  const char *buf = hybridc_rt_thread_message(&capacity);
  return buf ? buf : "out of memory (no room for this thread's error message)";
}

const char *hybridc_rt_status_string(int status) {
  switch (status) {
#define HYBRIDC_STATUS_CASE(suffix, value, text, meaning)                                         \
  case HYBRIDC_##suffix:                                                                           \
    return text;
    HYBRIDC_STATUS_CODES(HYBRIDC_STATUS_CASE)
#undef HYBRIDC_STATUS_CASE
  default:
    return "unknown status";
  }
}

// Formats into the context's fixed-size message; long messages are cut off
// by design (the first 255 bytes name the kernel and the problem).
__attribute__((format(printf, 2, 3))) static void set_message(hybridc_call_ctx *ctx,
                                                              const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx->message, sizeof ctx->message, fmt, ap);
  va_end(ap);
}

// Prefix that marks a context message as coming from halide_error, not yet
// attributed to a kernel.
static const char halide_prefix[] = "halide: ";

void hybridc_rt_ctx_halide_error(hybridc_call_ctx *ctx, const char *msg) {
  if (!msg)
    msg = "(no message)";
  int32_t expected = HYBRIDC_OK;
  // Worker threads of one parallel loop may fail together; the CAS elects the
  // one whose message is kept, and the others leave the message untouched.
  if (!__atomic_compare_exchange_n(&ctx->status, &expected, (int32_t)HYBRIDC_ERR_KERNEL, false,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return;
  set_message(ctx, "%s%s", halide_prefix, msg);
}

void hybridc_rt_kernel_failed(void *ctx_ptr, const char *kernel, int halide_status) {
  hybridc_call_ctx *ctx = (hybridc_call_ctx *)ctx_ptr;
  if (!kernel)
    kernel = "(unnamed)";
  if (!ctx) {
    hybridc_rt_fail(HYBRIDC_ERR_KERNEL, "kernel '%s' failed with Halide status %d", kernel,
                    halide_status);
    return;
  }
  int32_t expected = HYBRIDC_OK;
  if (__atomic_compare_exchange_n(&ctx->status, &expected, (int32_t)HYBRIDC_ERR_KERNEL, false,
                                  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    set_message(ctx, "kernel '%s' failed with Halide status %d", kernel, halide_status);
    return;
  }
  // The kernel's own halide_error came first: keep its text, but say which
  // kernel it was (Halide's messages name buffers, not our kernels). Runs on
  // the driver thread after the kernel's parallel loops have joined.
  size_t plen = sizeof halide_prefix - 1;
  if (strncmp(ctx->message, halide_prefix, plen) == 0) {
    char detail[sizeof ctx->message];
    snprintf(detail, sizeof detail, "%s", ctx->message + plen);
    set_message(ctx, "kernel '%s' failed with Halide status %d: %s", kernel, halide_status,
                detail);
  }
}

} // extern "C"

int hybridc_rt_fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  write_last_error(fmt, ap);
  va_end(ap);
  return status;
}

static void set_last_error_fmt(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  write_last_error(fmt, ap);
  va_end(ap);
}

void hybridc_rt_set_last_error(const char *msg) { set_last_error_fmt("%s", msg ? msg : ""); }
