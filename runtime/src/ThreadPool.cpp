//===- ThreadPool.cpp - a session's worker threads for parallel loops -----===//
//
// One pool per session (never process-wide), so sessions on different
// threads neither share nor contend for workers, and each obeys its own
// thread count. The thread that runs the call participates in every loop.
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

namespace {

struct Job {
  hybridc_rt_task_fn task;
  void *uc;
  int min;
  int64_t size;
  uint8_t *closure;
  int64_t next;   // next task index to hand out (atomic)
  int32_t result; // first non-zero task result (atomic)
};

} // namespace

struct hybridc_rt_pool {
  pthread_mutex_t mu;
  pthread_cond_t work_cv; // workers wait here for a new generation
  pthread_cond_t done_cv; // the caller waits here for `pending` == 0
  int32_t workers;        // threads actually started
  int32_t shutdown;
  uint64_t generation;    // bumped once per parallel loop
  int32_t participants;   // workers [0, participants) take part in this loop
  int32_t pending;        // participants that have not finished the loop
  Job job;
  pthread_t *threads;
};

namespace {

struct WorkerArg {
  hybridc_rt_pool *pool;
  int32_t index;
};

// Hands out indices dynamically: tasks of uneven cost (MoE experts, ragged
// chunks) balance themselves. After a failure no new task starts.
// While a thread runs tasks it is marked (hybridc_rt_thread_in_task): a
// kernel that opens a parallel loop inside a parallel task (nested
// parallelism) runs it serially instead of waiting for workers that are all
// busy with the outer loop.
void run_tasks(Job *job) {
  hybridc_rt_thread_set_in_task(true);
  for (;;) {
    int64_t i = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED);
    if (i >= job->size)
      break;
    int r = job->task(job->uc, job->min + (int)i, job->closure);
    if (r != 0) {
      int32_t expected = 0;
      __atomic_compare_exchange_n(&job->result, &expected, r, false, __ATOMIC_ACQ_REL,
                                  __ATOMIC_RELAXED);
      __atomic_store_n(&job->next, job->size, __ATOMIC_RELAXED);
      break;
    }
  }
  hybridc_rt_thread_set_in_task(false);
}

void *worker_main(void *p) {
  WorkerArg arg = *(WorkerArg *)p;
  free(p);
  hybridc_rt_pool *pool = arg.pool;
  uint64_t seen = 0;
  pthread_mutex_lock(&pool->mu);
  for (;;) {
    while (!pool->shutdown && !(pool->generation != seen && arg.index < pool->participants))
      pthread_cond_wait(&pool->work_cv, &pool->mu);
    if (pool->shutdown)
      break;
    seen = pool->generation;
    Job *job = &pool->job; // stable until every participant reports done
    pthread_mutex_unlock(&pool->mu);
    run_tasks(job);
    pthread_mutex_lock(&pool->mu);
    if (--pool->pending == 0)
      pthread_cond_signal(&pool->done_cv);
  }
  pthread_mutex_unlock(&pool->mu);
  return NULL;
}

hybridc_rt_pool *pool_create(int32_t workers) {
  hybridc_rt_pool *pool = (hybridc_rt_pool *)calloc(1, sizeof *pool);
  if (!pool)
    return NULL;
  pool->threads = (pthread_t *)calloc((size_t)workers, sizeof(pthread_t));
  if (!pool->threads) {
    free(pool);
    return NULL;
  }
  pthread_mutex_init(&pool->mu, NULL);
  pthread_cond_init(&pool->work_cv, NULL);
  pthread_cond_init(&pool->done_cv, NULL);
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

  pthread_mutex_lock(&pool->mu);
  pool->job.task = task;
  pool->job.uc = uc;
  pool->job.min = min;
  pool->job.size = size;
  pool->job.closure = closure;
  pool->job.next = 0;
  pool->job.result = 0;
  pool->participants = helpers;
  pool->pending = helpers;
  pool->generation++;
  pthread_cond_broadcast(&pool->work_cv);
  pthread_mutex_unlock(&pool->mu);

  run_tasks(&pool->job);

  // Wait for every participant, not just for the indices to run out: the
  // closure and the loop's outputs must stay untouched until all are done.
  pthread_mutex_lock(&pool->mu);
  while (pool->pending > 0)
    pthread_cond_wait(&pool->done_cv, &pool->mu);
  int result = __atomic_load_n(&pool->job.result, __ATOMIC_ACQUIRE);
  pthread_mutex_unlock(&pool->mu);
  return result;
}

void hybridc_rt_pool_destroy(hybridc_rt_pool *pool) {
  if (!pool)
    return;
  pthread_mutex_lock(&pool->mu);
  pool->shutdown = 1;
  pthread_cond_broadcast(&pool->work_cv);
  pthread_mutex_unlock(&pool->mu);
  for (int32_t i = 0; i < pool->workers; ++i)
    pthread_join(pool->threads[i], NULL);
  pthread_cond_destroy(&pool->work_cv);
  pthread_cond_destroy(&pool->done_cv);
  pthread_mutex_destroy(&pool->mu);
  free(pool->threads);
  free(pool);
}
