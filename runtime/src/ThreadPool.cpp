//===- ThreadPool.cpp - a session's worker threads for parallel loops -----===//
//
// One pool per session (never process-wide), so sessions on different
// threads neither share nor contend for workers, and each obeys its own
// thread count. The thread that runs the call participates in every loop.
//
// A decode step is ~100 short parallel loops, so waking workers through a
// condition variable (a futex syscall per worker, plus the scheduler's
// wake-up latency) would cost more than a small GEMV. Workers that finish a
// loop therefore spin on the pool's epoch word for a bounded time before
// sleeping on the condition variable, and the caller publishes a loop with
// one atomic store, taking the mutex only when a worker it needs is asleep.
// The caller likewise spins briefly on `pending` before sleeping.
//
// Sleep/wake handshakes are Dekker-style: the sleeper stores its "asleep"
// flag and then re-reads the condition, the waker stores the condition and
// then reads the flag, all sequentially consistent, so at least one side
// sees the other; the sleeper holds the mutex from its re-check until
// pthread_cond_wait, so a wake that sees the flag cannot be lost.
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

namespace {

// How long an idle worker polls for the next loop before sleeping: longer
// than the gap between two kernels of a decode step (driver code, serial
// kernels), short enough that an idle session gives its cores back at once.
const int64_t kWorkerSpinNs = 100 * 1000;
// How long the caller polls for the workers to finish their last tasks.
const int64_t kCallerSpinNs = 50 * 1000;
// Polls between two clock reads (a pause is ~10-140 cycles).
const int kPollsPerClockRead = 16;

// Spinning only pays while the awaited thread is running on another core.
// When the machine has fewer free cores than the session has threads, a
// spinner holds the core the awaited thread needs (the caller cannot reach
// its next loop while the worker spins on its core, and the other way
// round), the spin ends in a sleep anyway, and every loop pays the spin on
// top of the wake-up. So each spinner keeps score of its own spins: a spin
// that saw the event is a hit, one that timed out a miss; when misses
// dominate, it sleeps without spinning for a while (doubling each time),
// then tries again.
const int32_t kMissCost = 8;       // a miss outweighs this many hits
const int32_t kScoreCap = 64;      // the credit hits can build up
const int32_t kMinBackoff = 32;    // waits without spinning after the first failure
const int32_t kMaxBackoff = 4096;  // ~40 decode tokens: how late spinning resumes

struct SpinPolicy {
  int32_t score;   // hits - kMissCost * misses, within [0, kScoreCap]
  int32_t skip;    // waits left that sleep without spinning
  int32_t backoff; // the next `skip`
};

// One participant's share of a loop's task indices: it takes [next, end)
// from the front, and so may any participant that ran out of its own.
struct alignas(HYBRIDC_RT_ALIGN) Range {
  int64_t next; // next index to hand out (atomic)
  int64_t end;
};

struct Job {
  hybridc_rt_task_fn task;
  void *uc;
  int min;
  int64_t size;
  uint8_t *closure;
  int32_t parts;  // participants: the caller (0) and workers 1 .. parts - 1
  Range *ranges;  // [workers + 1] (the pool's), each on its own cache line
  int32_t result; // first non-zero task result (atomic)
};

// Keeps the words that different threads write on different cache lines.
struct CacheLinePad {
  char bytes[HYBRIDC_RT_ALIGN];
};

} // namespace

struct hybridc_rt_pool {
  // Written by the caller once per loop, polled by idle workers:
  // generation << 32 | participants. One word, so a worker reads a loop's
  // generation and its participant count together. Workers [0, participants)
  // take part in the loop. Its release store publishes `job` and `pending`.
  uint64_t epoch;
  int32_t shutdown;       // set once by destroy (atomic)
  int32_t workers;        // threads actually started
  pthread_t *threads;
  int32_t *asleep;        // per worker: 1 while it waits on work_cv (atomic)
  Job job;                // stable until every participant reports done
  SpinPolicy caller_policy; // the caller's spins (one call at a time)
  CacheLinePad pad0;
  int32_t pending;        // participants that have not finished the loop (atomic)
  int32_t caller_asleep;  // 1 while the caller waits on done_cv (atomic)
  CacheLinePad pad1;
  pthread_mutex_t mu;     // only for sleeping and waking
  pthread_cond_t work_cv; // sleeping workers wait here for a new epoch
  pthread_cond_t done_cv; // the sleeping caller waits here for `pending` == 0
};

namespace {

struct WorkerArg {
  hybridc_rt_pool *pool;
  int32_t index;
};

void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// Between the store and the load of each sleep/wake handshake (the Dekker
// pairs above). On x86 the seq_cst store or RMW is a locked instruction,
// already a full barrier. ARMv8 hardware orders a seq_cst store (STLR)
// before a later seq_cst load (LDAR) too, but qemu-user's translation of
// that pair for an x86 host evidently does not (seen: a lost wake-up, the session
// asleep for good, in about 1 of 20 runs of an aarch64 library), and the
// tests run aarch64 libraries under qemu; a full fence (dmb ish) holds
// under both.
inline void store_load_fence(void) {
#if !defined(__x86_64__) && !defined(__i386__)
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

// CLOCK_MONOTONIC is read through the vDSO: tens of nanoseconds, no syscall.
int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void spin_policy_init(SpinPolicy *p) {
  p->score = kScoreCap; // optimistic: the first waits spin
  p->skip = 0;
  p->backoff = kMinBackoff;
}

// The spin time for the next wait: `max_ns`, or 0 while backing off.
int64_t spin_budget(SpinPolicy *p, int64_t max_ns) {
  if (p->skip > 0) {
    p->skip--;
    return 0;
  }
  return max_ns;
}

// Records whether a spin (one with a non-zero budget) saw its event.
void spin_outcome(SpinPolicy *p, bool hit) {
  if (hit) {
    if (p->score < kScoreCap && ++p->score == kScoreCap)
      p->backoff = kMinBackoff; // spinning works again: forget past failures
    return;
  }
  p->score -= kMissCost;
  if (p->score >= 0)
    return;
  p->score = 0;
  p->skip = p->backoff;
  p->backoff = p->backoff * 2 < kMaxBackoff ? p->backoff * 2 : kMaxBackoff;
}

// Cuts the loop's indices into one contiguous range per participant.
void split_ranges(Job *job) {
  for (int32_t p = 0; p < job->parts; ++p) {
    job->ranges[p].next = job->size * p / job->parts;
    job->ranges[p].end = job->size * (p + 1) / job->parts;
  }
}

// Runs the tasks of range `r` until none is left or one fails (false).
bool drain_range(Job *job, Range *r) {
  for (;;) {
    int64_t i = __atomic_fetch_add(&r->next, 1, __ATOMIC_RELAXED);
    if (i >= r->end)
      return true;
    int result = job->task(job->uc, job->min + (int)i, job->closure);
    if (result != 0) {
      int32_t expected = 0;
      __atomic_compare_exchange_n(&job->result, &expected, result, false, __ATOMIC_ACQ_REL,
                                  __ATOMIC_RELAXED);
      // After a failure no new task starts, in any range.
      for (int32_t p = 0; p < job->parts; ++p)
        __atomic_store_n(&job->ranges[p].next, job->ranges[p].end, __ATOMIC_RELAXED);
      return false;
    }
  }
}

// Participant `part` runs its own range, then helps with the others'.
// Prefill kernels have thousands of ~1 µs tasks (a GEMM register tile): one
// shared counter bounced its cache line between the cores on every task,
// and consecutive kernels' rows landed on whichever core took them. Own
// ranges touch only their own counter, and a row-wise kernel's rows stay on
// the core that produced them (small, 2 threads, prefill 4096: rms_norm
// 23.1 -> 4.1 ms, in_proj 275 -> 222 ms, the whole prefill 10% faster).
// Taking from the others' ranges when done keeps uneven tasks (MoE
// experts, ragged chunks) and a participant that starts late (a worker
// asleep, a core busy elsewhere) from holding up the loop.
// While a thread runs tasks it is marked (hybridc_rt_thread_in_task): a
// kernel that opens a parallel loop inside a parallel task (nested
// parallelism) runs it serially instead of waiting for workers that are all
// busy with the outer loop.
void run_tasks(Job *job, int32_t part) {
  hybridc_rt_thread_set_in_task(true);
  for (int32_t k = 0; k < job->parts; ++k)
    if (!drain_range(job, &job->ranges[(part + k) % job->parts]))
      break;
  hybridc_rt_thread_set_in_task(false);
}

// ---- the worker side ---------------------------------------------------------

enum Wake { kIdle, kWork, kStop };

// One look at the pool from worker `index`, which has seen generation
// `*seen`: a new loop it takes part in, shutdown, or nothing for it yet.
// `order` is acquire while spinning, seq_cst for the re-check before sleeping.
Wake poll_pool(hybridc_rt_pool *pool, int32_t index, uint32_t *seen, int order) {
  if (__atomic_load_n(&pool->shutdown, __ATOMIC_ACQUIRE))
    return kStop;
  uint64_t epoch = __atomic_load_n(&pool->epoch, order);
  uint32_t generation = (uint32_t)(epoch >> 32);
  if (generation == *seen)
    return kIdle;
  *seen = generation; // a loop without this worker is simply skipped
  return (uint32_t)index < (uint32_t)epoch ? kWork : kIdle;
}

// Polls for up to `budget_ns`; kIdle when the time ran out.
Wake spin_for_work(hybridc_rt_pool *pool, int32_t index, uint32_t *seen, int64_t budget_ns) {
  int64_t deadline = now_ns() + budget_ns;
  for (;;) {
    for (int i = 0; i < kPollsPerClockRead; ++i) {
      Wake w = poll_pool(pool, index, seen, __ATOMIC_ACQUIRE);
      if (w != kIdle)
        return w;
      cpu_relax();
    }
    if (now_ns() >= deadline)
      return kIdle;
  }
}

// Sleeps on work_cv until a loop for this worker or shutdown.
Wake sleep_for_work(hybridc_rt_pool *pool, int32_t index, uint32_t *seen) {
  pthread_mutex_lock(&pool->mu);
  __atomic_store_n(&pool->asleep[index], 1, __ATOMIC_SEQ_CST);
  store_load_fence();
  Wake w;
  while ((w = poll_pool(pool, index, seen, __ATOMIC_SEQ_CST)) == kIdle)
    pthread_cond_wait(&pool->work_cv, &pool->mu);
  __atomic_store_n(&pool->asleep[index], 0, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&pool->mu);
  return w;
}

// Reports this worker's part of the loop done; the last one wakes the caller
// if it went to sleep.
void finish_loop(hybridc_rt_pool *pool) {
  if (__atomic_sub_fetch(&pool->pending, 1, __ATOMIC_SEQ_CST) != 0)
    return;
  store_load_fence();
  if (!__atomic_load_n(&pool->caller_asleep, __ATOMIC_SEQ_CST))
    return;
  pthread_mutex_lock(&pool->mu);
  pthread_cond_signal(&pool->done_cv);
  pthread_mutex_unlock(&pool->mu);
}

void *worker_main(void *p) {
  WorkerArg arg = *(WorkerArg *)p;
  free(p);
  hybridc_rt_pool *pool = arg.pool;
  uint32_t seen = 0;
  SpinPolicy policy; // this thread's own: no sharing
  spin_policy_init(&policy);
  for (;;) {
    Wake w = kIdle;
    int64_t budget = spin_budget(&policy, kWorkerSpinNs);
    if (budget > 0) {
      w = spin_for_work(pool, arg.index, &seen, budget);
      spin_outcome(&policy, w != kIdle);
    }
    if (w == kIdle)
      w = sleep_for_work(pool, arg.index, &seen);
    if (w == kStop)
      break;
    run_tasks(&pool->job, arg.index + 1);
    finish_loop(pool);
  }
  return NULL;
}

// ---- the caller side -------------------------------------------------------

// Makes the loop in pool->job visible to workers [0, helpers) and wakes the
// ones among them that sleep (no syscall when all of them are spinning).
void publish_loop(hybridc_rt_pool *pool, int32_t helpers) {
  __atomic_store_n(&pool->pending, helpers, __ATOMIC_RELAXED);
  // Only the caller writes epoch, and one call at a time uses a session.
  uint64_t generation = (__atomic_load_n(&pool->epoch, __ATOMIC_RELAXED) >> 32) + 1;
  __atomic_store_n(&pool->epoch, generation << 32 | (uint32_t)helpers, __ATOMIC_SEQ_CST);
  store_load_fence();
  for (int32_t i = 0; i < helpers; ++i)
    if (__atomic_load_n(&pool->asleep[i], __ATOMIC_SEQ_CST)) {
      pthread_mutex_lock(&pool->mu);
      pthread_cond_broadcast(&pool->work_cv);
      pthread_mutex_unlock(&pool->mu);
      return;
    }
}

// Polls `pending` for up to `budget_ns`; whether it reached 0.
bool spin_for_helpers(hybridc_rt_pool *pool, int64_t budget_ns) {
  int64_t deadline = now_ns() + budget_ns;
  for (;;) {
    for (int i = 0; i < kPollsPerClockRead; ++i) {
      if (__atomic_load_n(&pool->pending, __ATOMIC_ACQUIRE) == 0)
        return true;
      cpu_relax();
    }
    if (now_ns() >= deadline)
      return false;
  }
}

// Waits until every participant has finished: spinning first (while that
// pays, see SpinPolicy), then asleep.
void wait_for_helpers(hybridc_rt_pool *pool) {
  if (__atomic_load_n(&pool->pending, __ATOMIC_ACQUIRE) == 0)
    return;
  int64_t budget = spin_budget(&pool->caller_policy, kCallerSpinNs);
  if (budget > 0) {
    bool done = spin_for_helpers(pool, budget);
    spin_outcome(&pool->caller_policy, done);
    if (done)
      return;
  }
  pthread_mutex_lock(&pool->mu);
  __atomic_store_n(&pool->caller_asleep, 1, __ATOMIC_SEQ_CST);
  store_load_fence();
  while (__atomic_load_n(&pool->pending, __ATOMIC_SEQ_CST) > 0)
    pthread_cond_wait(&pool->done_cv, &pool->mu);
  __atomic_store_n(&pool->caller_asleep, 0, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&pool->mu);
}

void pool_free(hybridc_rt_pool *pool) {
  free(pool->threads);
  free(pool->asleep);
  free(pool->job.ranges);
  free(pool);
}

// The pool's memory, zeroed; NULL when out of memory.
hybridc_rt_pool *pool_alloc(int32_t workers) {
  void *mem = NULL;
  if (posix_memalign(&mem, HYBRIDC_RT_ALIGN, sizeof(hybridc_rt_pool)) != 0)
    return NULL;
  hybridc_rt_pool *pool = (hybridc_rt_pool *)mem;
  memset(pool, 0, sizeof *pool);
  pool->threads = (pthread_t *)calloc((size_t)workers, sizeof(pthread_t));
  pool->asleep = (int32_t *)calloc((size_t)workers, sizeof(int32_t));
  void *ranges = NULL;
  if (posix_memalign(&ranges, HYBRIDC_RT_ALIGN, sizeof(Range) * (size_t)(workers + 1)) == 0)
    pool->job.ranges = (Range *)ranges;
  if (!pool->threads || !pool->asleep || !pool->job.ranges) {
    pool_free(pool);
    return NULL;
  }
  return pool;
}

hybridc_rt_pool *pool_create(int32_t workers) {
  hybridc_rt_pool *pool = pool_alloc(workers);
  if (!pool)
    return NULL;
  pthread_mutex_init(&pool->mu, NULL);
  pthread_cond_init(&pool->work_cv, NULL);
  pthread_cond_init(&pool->done_cv, NULL);
  spin_policy_init(&pool->caller_policy);
  // Workers block every signal: the application's handlers should run on
  // its own threads, not on ours in the middle of a kernel.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  for (int32_t i = 0; i < workers; ++i) {
    WorkerArg *arg = (WorkerArg *)malloc(sizeof *arg);
    if (!arg)
      break;
    arg->pool = pool;
    arg->index = i;
    if (pthread_create(&pool->threads[i], NULL, worker_main, arg) != 0) {
      free(arg);
      break; // run with the workers we got
    }
    pool->workers = i + 1;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return pool;
}

int run_serial(hybridc_rt_task_fn task, void *uc, int min, int size, uint8_t *closure) {
  for (int i = 0; i < size; ++i) {
    int r = task(uc, min + i, closure);
    if (r != 0)
      return r;
  }
  return 0;
}

} // namespace

int hybridc_rt_pool_run(hybridc_rt_pool **poolp, int32_t threads, hybridc_rt_task_fn task,
                        void *uc, int min, int size, uint8_t *closure) {
  if (size <= 0)
    return 0;
  if (threads <= 1 || size == 1 || hybridc_rt_thread_in_task() || !poolp)
    return run_serial(task, uc, min, size, closure);
  if (!*poolp)
    *poolp = pool_create(threads - 1);
  hybridc_rt_pool *pool = *poolp;
  if (!pool || pool->workers == 0)
    return run_serial(task, uc, min, size, closure);

  int32_t helpers = pool->workers < threads - 1 ? pool->workers : threads - 1;
  if (helpers > size - 1)
    helpers = size - 1; // waking more workers than tasks only costs latency

  // Every participant of the previous loop has finished (wait_for_helpers),
  // so no worker reads `job` while it is rewritten here.
  pool->job.task = task;
  pool->job.uc = uc;
  pool->job.min = min;
  pool->job.size = size;
  pool->job.closure = closure;
  pool->job.parts = helpers + 1;
  pool->job.result = 0;
  split_ranges(&pool->job);
  publish_loop(pool, helpers);

  run_tasks(&pool->job, 0);

  // Wait for every participant, not just for the indices to run out: the
  // closure and the loop's outputs must stay untouched until all are done.
  wait_for_helpers(pool);
  return __atomic_load_n(&pool->job.result, __ATOMIC_ACQUIRE);
}

void hybridc_rt_pool_destroy(hybridc_rt_pool *pool) {
  if (!pool)
    return;
  // Under the mutex, so a worker between its re-check and pthread_cond_wait
  // cannot miss the broadcast; spinning workers see the flag directly.
  pthread_mutex_lock(&pool->mu);
  __atomic_store_n(&pool->shutdown, 1, __ATOMIC_SEQ_CST);
  pthread_cond_broadcast(&pool->work_cv);
  pthread_mutex_unlock(&pool->mu);
  for (int32_t i = 0; i < pool->workers; ++i)
    pthread_join(pool->threads[i], NULL);
  pthread_cond_destroy(&pool->work_cv);
  pthread_cond_destroy(&pool->done_cv);
  pthread_mutex_destroy(&pool->mu);
  pool_free(pool);
}
