//===- MachineLimits.cpp - read-bandwidth and compute-peak probes ---------===//
//
// Every probe runs on all threads at once, started together behind a spin
// barrier and timed from the first thread's start to the last one's end:
// that is how the model's kernels use the machine, and it charges a thread
// that falls behind (a busy neighbour, a slower core) to the result.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Run/MachineLimits.h"

#include "ProbeKernels.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace hybridc;
using namespace hybridc::probe;

namespace {

constexpr size_t kHugePageBytes = size_t(2) << 20;
// Bandwidth from one process to the next is bimodal on some machines (page
// placement), and a pass can lose its core to a neighbour: keep the best.
constexpr int kReadPasses = 5;
constexpr int kComputePasses = 2;

using Clock = std::chrono::steady_clock;

// Results of every probe end here, so the compiler must compute them.
std::atomic<uint64_t> gSink{0};

void keep(double value) {
  // The bits, not a conversion: a wrapped int8 sum can be negative, and
  // converting a negative double to an unsigned integer is undefined.
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  gSink.fetch_add(bits, std::memory_order_relaxed);
}

/// Runs fn(thread) on `threads` threads (the caller's among them) and returns
/// the seconds from the first start to the last end.
template <typename Fn> double runTimed(int32_t threads, Fn fn) {
  std::vector<Clock::time_point> start(threads), end(threads);
  std::atomic<int32_t> waiting{threads};
  auto body = [&](int32_t t) {
    // Creating a thread takes tens of microseconds: without the barrier the
    // first threads would run alone for a while.
    waiting.fetch_sub(1, std::memory_order_acq_rel);
    while (waiting.load(std::memory_order_acquire) > 0)
      std::this_thread::yield();
    start[t] = Clock::now();
    fn(t);
    end[t] = Clock::now();
  };
  std::vector<std::thread> workers;
  for (int32_t t = 1; t < threads; ++t)
    workers.emplace_back(body, t);
  body(0);
  for (std::thread &w : workers)
    w.join();
  return std::chrono::duration<double>(*std::max_element(end.begin(), end.end()) -
                                       *std::min_element(start.begin(), start.end()))
      .count();
}

/// A 2 MiB-aligned anonymous mapping with transparent huge pages requested,
/// so that TLB misses on 4 KiB pages do not pull the measured limit below
/// what the memory itself delivers.
class HugeBuffer {
public:
  explicit HugeBuffer(size_t bytes) : mapBytes(bytes + kHugePageBytes) {
    void *p = ::mmap(nullptr, mapBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      return;
    base = static_cast<uint8_t *>(p);
    uintptr_t aligned = (reinterpret_cast<uintptr_t>(p) + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
    data = reinterpret_cast<uint8_t *>(aligned);
    // Advice only: without transparent huge pages the probe still works.
    ::madvise(data, bytes, MADV_HUGEPAGE);
  }
  ~HugeBuffer() {
    if (base)
      ::munmap(base, mapBytes);
  }
  HugeBuffer(const HugeBuffer &) = delete;
  HugeBuffer &operator=(const HugeBuffer &) = delete;

  uint8_t *data = nullptr;

private:
  uint8_t *base = nullptr;
  size_t mapBytes;
};

struct Slice {
  size_t begin, end;
};

// Page-aligned slices (hence multiples of kSumBlockBytes), the remainder to
// the last thread; `total` is a multiple of the page size.
Slice sliceOf(int32_t t, int32_t threads, size_t total) {
  const size_t per = (total / threads) & ~size_t(4095);
  return {t * per, t == threads - 1 ? total : (t + 1) * per};
}

llvm::Expected<double> probeReadBandwidth(int32_t threads, size_t bytes, VectorIsa isa) {
  HugeBuffer buffer(bytes);
  if (!buffer.data)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "read-bandwidth probe: cannot map %zu MiB: %s", bytes >> 20,
                                   std::strerror(errno));
  // Each thread first touches the slice it will read, so the pages are
  // resident (and on its memory node) before anything is timed.
  runTimed(threads, [&](int32_t t) {
    Slice s = sliceOf(t, threads, bytes);
    std::memset(buffer.data + s.begin, 1 + t, s.end - s.begin);
  });
  double best = 0;
  std::vector<uint64_t> sums(threads);
  for (int pass = 0; pass < kReadPasses; ++pass) {
    double secs = runTimed(threads, [&](int32_t t) {
      Slice s = sliceOf(t, threads, bytes);
      sums[t] = sumWords(buffer.data + s.begin, s.end - s.begin, isa);
    });
    for (uint64_t v : sums)
      keep(static_cast<double>(v));
    best = std::max(best, static_cast<double>(bytes) / secs / 1e9);
  }
  return best;
}

/// Giga-operations per second of `loop(iterations)` on all threads: the
/// iteration count is calibrated until a pass takes `passSeconds`.
template <typename Loop>
double probeCompute(int32_t threads, double passSeconds, int64_t opsPerIteration, Loop loop) {
  std::vector<double> results(threads);
  auto pass = [&](int64_t iterations) {
    double secs = runTimed(threads, [&](int32_t t) { results[t] = loop(iterations); });
    for (double r : results)
      keep(r);
    return secs;
  };
  int64_t iterations = 1 << 10;
  double secs = pass(iterations);
  // Calibrate on a pass long enough for the clock to resolve it well.
  const double calibrationSeconds = std::min(0.01, passSeconds);
  while (secs < calibrationSeconds && iterations < (int64_t(1) << 40)) {
    iterations *= 4;
    secs = pass(iterations);
  }
  iterations = std::max<int64_t>(iterations, static_cast<int64_t>(iterations * passSeconds / secs));
  double best = 0;
  for (int p = 0; p < kComputePasses; ++p) {
    secs = pass(iterations);
    best = std::max(best, static_cast<double>(threads) * iterations * opsPerIteration / secs / 1e9);
  }
  return best;
}

llvm::Expected<MachineLimits> measureInProcess(const ProbeOptions &o) {
  MachineLimits limits;
  limits.threads = o.threads;
  const VectorIsa isa = hostVectorIsa();
  llvm::Expected<double> read = probeReadBandwidth(o.threads, o.readBytes, isa);
  if (!read)
    return read.takeError();
  limits.readGBPerS = *read;
  limits.fp32Gflops = probeCompute(o.threads, o.computeSeconds, fp32FlopsPerIteration(isa),
                                   [isa](int64_t n) { return fp32FmaLoop(n, isa); });
  if (isa == VectorIsa::Avx512)
    limits.fp32Avx2Gflops =
        probeCompute(o.threads, o.computeSeconds, fp32FlopsPerIteration(VectorIsa::Avx2),
                     [](int64_t n) { return fp32FmaLoop(n, VectorIsa::Avx2); });
  if (hasBf16Dot())
    limits.bf16Gflops = probeCompute(o.threads, o.computeSeconds, bf16FlopsPerIteration(),
                                     [](int64_t n) { return bf16DotLoop(n); });
  if (hasInt8Dot())
    limits.int8Gops = probeCompute(o.threads, o.computeSeconds, int8OpsPerIteration(),
                                   [](int64_t n) { return static_cast<double>(int8DotLoop(n)); });
  auto madd = [&](VectorIsa v) {
    return probeCompute(o.threads, o.computeSeconds, int8MaddOpsPerIteration(v),
                        [v](int64_t n) { return static_cast<double>(int8MaddLoop(n, v)); });
  };
  if (hasInt8Madd(isa))
    limits.int8MaddGops = madd(isa);
  if (isa == VectorIsa::Avx512 && hasInt8Madd(VectorIsa::Avx2))
    limits.int8MaddAvx2Gops = madd(VectorIsa::Avx2);
  return limits;
}

/// What the probing child sends its parent through a pipe.
struct ChildReport {
  int32_t ok = 0;
  int32_t hasAvx2 = 0, hasBf16 = 0, hasInt8 = 0, hasMadd = 0, hasMaddAvx2 = 0;
  double read = 0, fp32 = 0, fp32Avx2 = 0, bf16 = 0, int8 = 0, madd = 0, maddAvx2 = 0;
  char message[512] = {};
};

bool writeAll(int fd, const void *data, size_t n) {
  const char *p = static_cast<const char *>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

size_t readAll(int fd, void *data, size_t n) {
  char *p = static_cast<char *>(data);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, p + got, n - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += static_cast<size_t>(r);
  }
  return got;
}

[[noreturn]] void runChild(int fd, const ProbeOptions &options) {
  ChildReport report;
  llvm::Expected<MachineLimits> limits = measureInProcess(options);
  if (limits) {
    report.ok = 1;
    report.read = limits->readGBPerS;
    report.fp32 = limits->fp32Gflops;
    report.hasAvx2 = limits->fp32Avx2Gflops.has_value();
    report.fp32Avx2 = limits->fp32Avx2Gflops.value_or(0);
    report.hasBf16 = limits->bf16Gflops.has_value();
    report.bf16 = limits->bf16Gflops.value_or(0);
    report.hasInt8 = limits->int8Gops.has_value();
    report.int8 = limits->int8Gops.value_or(0);
    report.hasMadd = limits->int8MaddGops.has_value();
    report.madd = limits->int8MaddGops.value_or(0);
    report.hasMaddAvx2 = limits->int8MaddAvx2Gops.has_value();
    report.maddAvx2 = limits->int8MaddAvx2Gops.value_or(0);
  } else {
    std::string msg = llvm::toString(limits.takeError());
    std::strncpy(report.message, msg.c_str(), sizeof report.message - 1);
  }
  bool sent = writeAll(fd, &report, sizeof report);
  // _exit: the child must not run the parent's atexit handlers or flush its
  // stdio buffers a second time.
  ::_exit(sent ? 0 : 1);
}

llvm::Error probeError(const llvm::Twine &what) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 ("machine limits: " + what +
                                  " (bench --no-limits skips the measurement)")
                                     .str());
}

} // namespace

int32_t hybridc::onlineCpus() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n >= 1 ? static_cast<int32_t>(std::min<long>(n, 1024)) : 1;
}

llvm::Expected<MachineLimits> hybridc::measureMachineLimits(const ProbeOptions &options) {
  if (options.threads < 1)
    return probeError("thread count must be >= 1, got " + llvm::Twine(options.threads));
  if (options.readBytes < (size_t(1) << 20) || options.readBytes % 4096 != 0)
    return probeError("the read buffer must be at least 1 MiB and a whole number of pages, got " +
                      llvm::Twine(options.readBytes) + " bytes");
  if (!(options.computeSeconds > 0))
    return probeError("the compute pass length must be positive, got " +
                      std::to_string(options.computeSeconds) + " s");
  int fds[2];
  if (::pipe(fds) != 0)
    return probeError(llvm::Twine("cannot create a pipe: ") + std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return probeError(llvm::Twine("cannot fork the probe process: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::close(fds[0]);
    runChild(fds[1], options);
  }
  ::close(fds[1]);
  ChildReport report;
  size_t got = readAll(fds[0], &report, sizeof report);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    return probeError("the probe process was killed by signal " + llvm::Twine(WTERMSIG(status)) +
                      " (" + strsignal(WTERMSIG(status)) + ")");
  if (got != sizeof report)
    return probeError("the probe process exited without a result");
  if (!report.ok)
    return probeError(report.message);
  MachineLimits limits;
  limits.threads = options.threads;
  limits.readGBPerS = report.read;
  limits.fp32Gflops = report.fp32;
  if (report.hasAvx2)
    limits.fp32Avx2Gflops = report.fp32Avx2;
  if (report.hasBf16)
    limits.bf16Gflops = report.bf16;
  if (report.hasInt8)
    limits.int8Gops = report.int8;
  if (report.hasMadd)
    limits.int8MaddGops = report.madd;
  if (report.hasMaddAvx2)
    limits.int8MaddAvx2Gops = report.maddAvx2;
  return limits;
}
