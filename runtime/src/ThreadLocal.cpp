//===- ThreadLocal.cpp - per-thread values through pthread keys -----------===//
//
// A __thread variable in a shared library is reached through __tls_get_addr,
// which lives in the dynamic loader and would add ld-linux to the library's
// NEEDED entries. pthread keys live in libc, so the generated library keeps
// depending on libc/libm/libpthread/libdl only.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include <stdlib.h>

namespace {

constexpr size_t kMessageBytes = 512;

pthread_once_t once = PTHREAD_ONCE_INIT;
pthread_key_t messageKey, inTaskKey;
bool keysReady = false;

void makeKeys() {
  // The message buffer is malloc'ed per thread and freed when it exits.
  keysReady = pthread_key_create(&messageKey, free) == 0 &&
              pthread_key_create(&inTaskKey, nullptr) == 0;
}

bool ensureKeys() {
  pthread_once(&once, makeKeys);
  return keysReady;
}

// Keys are a process-wide resource: give them back when the library is
// unloaded (dlclose), so loading many models does not exhaust them.
__attribute__((destructor)) void deleteKeys() {
  if (keysReady) {
    pthread_key_delete(messageKey);
    pthread_key_delete(inTaskKey);
  }
}

} // namespace

char *hybridc_rt_thread_message(size_t *capacity) {
  *capacity = kMessageBytes;
  if (!ensureKeys())
    return nullptr;
  char *buf = static_cast<char *>(pthread_getspecific(messageKey));
  if (!buf) {
    buf = static_cast<char *>(calloc(1, kMessageBytes));
    if (!buf || pthread_setspecific(messageKey, buf) != 0) {
      free(buf);
      return nullptr;
    }
  }
  return buf;
}

bool hybridc_rt_thread_in_task(void) {
  return ensureKeys() && pthread_getspecific(inTaskKey) != nullptr;
}

void hybridc_rt_thread_set_in_task(bool inTask) {
  if (ensureKeys())
    pthread_setspecific(inTaskKey, inTask ? &inTaskKey : nullptr);
}
