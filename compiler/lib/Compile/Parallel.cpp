//===- Parallel.cpp - independent compile tasks on several threads --------===//
#include "Parallel.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace hybridc;

unsigned hybridc::taskThreads(size_t tasks, unsigned limit) {
  unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  size_t threads = std::min<size_t>({hardware, limit, tasks});
  return static_cast<unsigned>(std::max<size_t>(threads, 1));
}

void hybridc::parallelFor(size_t n, unsigned threads,
                          llvm::function_ref<bool(size_t index, unsigned worker)> fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  auto work = [&](unsigned worker) {
    while (!stop.load(std::memory_order_relaxed)) {
      size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n)
        return;
      if (!fn(i, worker))
        stop.store(true, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> helpers;
  for (unsigned t = 1; t < threads && t < n; ++t)
    helpers.emplace_back(work, t);
  work(0);
  for (std::thread &h : helpers)
    h.join();
}

namespace {

// A child reports its error through a slot of a shared anonymous mapping
// (no pipe to drain while waiting, no file to clean up); longer messages are
// cut.
constexpr size_t kErrorSlotBytes = 16 * 1024;

class ErrorSlots {
public:
  explicit ErrorSlots(size_t n) : bytes(std::max<size_t>(n, 1) * kErrorSlotBytes) {
    void *p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    base = p == MAP_FAILED ? nullptr : static_cast<char *>(p);
  }
  ~ErrorSlots() {
    if (base)
      ::munmap(base, bytes);
  }
  bool ok() const { return base != nullptr; }
  void write(size_t i, const std::string &msg) {
    size_t n = std::min(msg.size(), kErrorSlotBytes - 1);
    std::memcpy(base + i * kErrorSlotBytes, msg.data(), n);
    base[i * kErrorSlotBytes + n] = '\0';
  }
  std::string read(size_t i) const { return std::string(base + i * kErrorSlotBytes); }

private:
  size_t bytes;
  char *base = nullptr;
};

// Child side: run the task, report, and leave without running the parent's
// atexit handlers or flushing its stdio buffers a second time.
[[noreturn]] void runChild(size_t i, ErrorSlots &slots,
                           llvm::function_ref<std::string(size_t)> task) {
  std::string error = task(i);
  if (!error.empty())
    slots.write(i, error);
  ::_exit(error.empty() ? 0 : 1);
}

// Parent side: what the exit status of task i's process says.
void recordExit(int status, size_t i, const ErrorSlots &slots, ChildOutcome &out) {
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
    out.error = slots.read(i);
    if (!out.error.empty())
      return;
  }
  out.processFailed = true;
  if (WIFSIGNALED(status))
    out.error = "its process was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                strsignal(WTERMSIG(status)) + ")";
  else
    out.error = "its process exited with status " + std::to_string(WEXITSTATUS(status));
}

} // namespace

std::vector<ChildOutcome>
hybridc::runInChildProcesses(size_t n, unsigned parallel,
                             llvm::function_ref<std::string(size_t)> task) {
  std::vector<ChildOutcome> outcomes(n);
  ErrorSlots slots(n);
  if (!slots.ok()) {
    for (ChildOutcome &o : outcomes)
      o = {true, std::string("cannot map an error buffer: ") + std::strerror(errno), true};
    return outcomes;
  }
  std::map<pid_t, size_t> running;
  size_t next = 0;
  bool failed = false;
  while (!running.empty() || (next < n && !failed)) {
    while (next < n && !failed && running.size() < std::max(parallel, 1u)) {
      size_t i = next++;
      outcomes[i].started = true;
      std::fflush(nullptr); // or a child could write the parent's buffered output again
      pid_t pid = ::fork();
      if (pid == 0)
        runChild(i, slots, task);
      if (pid < 0) {
        outcomes[i].processFailed = true;
        outcomes[i].error = std::string("cannot start a process: ") + std::strerror(errno);
        failed = true;
        break;
      }
      running[pid] = i;
    }
    if (running.empty())
      break;
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0); // this process has no other children now
    if (pid < 0) {
      if (errno == EINTR)
        continue;
      for (auto &[p, i] : running)
        outcomes[i] = {true, std::string("waitpid failed: ") + std::strerror(errno), true};
      return outcomes;
    }
    auto it = running.find(pid);
    if (it == running.end())
      continue;
    recordExit(status, it->second, slots, outcomes[it->second]);
    failed |= outcomes[it->second].failed();
    running.erase(it);
  }
  return outcomes;
}
