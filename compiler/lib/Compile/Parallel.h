//===- Parallel.h - independent compile tasks on several threads -*- C++ -*-===//
//
// The compile stages that do many independent pieces of work (one Halide
// pipeline per kernel, one packed tensor per weight) run them concurrently.
// Plain LLVM/STL/POSIX: usable from files that include Halide.h as well as
// from files that include MLIR.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILE_PARALLEL_H
#define HYBRIDC_COMPILE_PARALLEL_H

#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstddef>
#include <string>
#include <vector>

namespace hybridc {

/// How many of `tasks` independent tasks to run at once: the hardware's
/// threads, at most `limit` and `tasks`, at least 1.
unsigned taskThreads(size_t tasks, unsigned limit = ~0u);

/// Runs fn(i, worker) for every i in [0, n) on `threads` threads (the calling
/// thread is one of them; `worker` in [0, threads) names the thread, for
/// per-thread scratch buffers). Indices are handed out in increasing order; once some
/// fn(i) returns false the threads take no new index (those already taken
/// finish). Every index below a failed one has therefore run: callers report
/// the lowest failed index, the one a serial loop would have stopped at.
void parallelFor(size_t n, unsigned threads,
                 llvm::function_ref<bool(size_t index, unsigned worker)> fn);

/// What became of one task run by runInChildProcesses.
struct ChildOutcome {
  bool started = false;
  /// The task's own error, or (processFailed) why its process failed.
  std::string error;
  bool processFailed = false;
  bool failed() const { return !error.empty(); }
};

/// Runs task(i) for every i in [0, n), each in a child process forked from
/// the calling process, at most `parallel` at a time; a task returns its
/// error message ("" for success). Each task starts from the same copy of
/// this process, so a library with process-global state (Halide's name
/// counters) gives each task the same result whatever ran before or beside
/// it, and a task that crashes takes only its own process down. Tasks start
/// in index order and none starts after a failure, so the lowest failed
/// index is the one a serial loop would have stopped at. Fork only from a
/// single-threaded process: a child gets no copy of the other threads.
std::vector<ChildOutcome> runInChildProcesses(size_t n, unsigned parallel,
                                              llvm::function_ref<std::string(size_t)> task);

} // namespace hybridc

#endif // HYBRIDC_COMPILE_PARALLEL_H
