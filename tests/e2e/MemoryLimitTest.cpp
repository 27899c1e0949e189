//===- MemoryLimitTest.cpp - a long context that does not fit -------------===//
//
// A prompt whose KV cache cannot grow must fail as a plain out-of-memory
// error that says how much it asked for, and leave the session as it was:
// its position, and logits from the next decodes bit-identical to a fresh
// session fed the same tokens.
//
// The limit is an address-space limit (RLIMIT_AS) of the process's current
// size plus half of what the KV growth asks for, computed from the model's
// KV bytes per token, so the test means the same on any machine. It cannot
// be undone reliably once libraries have mapped under it, so it runs in a
// forked child, which reports through its exit status and stops itself.
//
//===----------------------------------------------------------------------===//
#include "E2eSupport.h"

#include "hybridc/kv_layout.h"

#include <gtest/gtest.h>

#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace hybridc::e2e;

namespace {

// The child's verdicts: exit codes the parent turns into words.
enum ChildResult {
  kPassed = 0,
  kSetupFailed = 10,
  kLimitNotSet,
  kLongPrefillSucceeded,
  kNotOutOfMemory,
  kMessageLacksBytes,
  kSessionMoved,
  kDecodeFailed,
  kLogitsDiffer,
};

const char *describe(int code) {
  switch (code) {
  case kSetupFailed: return "the sessions could not be set up before the limit";
  case kLimitNotSet: return "RLIMIT_AS could not be lowered";
  case kLongPrefillSucceeded: return "the long prefill succeeded under the limit";
  case kNotOutOfMemory: return "the long prefill failed, but not with the out-of-memory status";
  case kMessageLacksBytes:
    return "last_error does not name the KV growth's tokens and bytes consistently";
  case kSessionMoved: return "the failed prefill moved the session's position or its memory";
  case kDecodeFailed: return "a decode after the failure failed";
  case kLogitsDiffer: return "decodes after the failure differ from a fresh session's";
  default: return "unknown exit code";
  }
}

// What the process maps now (VmSize), in bytes; 0 where unreadable.
int64_t mappedBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmSize:", 0) == 0)
      return std::stoll(line.substr(7)) * 1024;
  return 0;
}

// The KV capacity, in tokens, that hybridc_rt_ensure_kv (runtime/src/
// Streaming.cpp) grows a session with `capacity` to for `need` tokens:
// doubled from 16, in whole blocks.
int64_t grownCapacity(int64_t capacity, int64_t need) {
  int64_t cap = capacity > 0 ? capacity : 16;
  while (cap < need)
    cap *= 2;
  return hybridc_kv_round_tokens(cap);
}

// Reads "to T tokens (B bytes, b bytes a token) for position P + N new
// tokens" out of the runtime's message.
bool growthNamed(const char *message, int64_t &tokens, int64_t &bytes, int64_t &perToken,
                 int64_t &position, int64_t &added) {
  const char *at = message ? std::strstr(message, " to ") : nullptr;
  return at && std::sscanf(at,
                           " to %" SCNd64 " tokens (%" SCNd64 " bytes, %" SCNd64
                           " bytes a token) for position %" SCNd64 " + %" SCNd64 " new tokens",
                           &tokens, &bytes, &perToken, &position, &added) == 5;
}

constexpr int64_t kPrefix = 20;    // tokens the session holds before the failure
constexpr int64_t kLong = 4096;    // the prompt that does not fit
constexpr int64_t kAfter = 5;      // decodes after the failure
constexpr unsigned kChildSeconds = 120;

// The child: sets the limit, runs the long prefill, judges what happened.
int runChild(const Library &lib) {
  const int32_t V = lib.vocab();
  const std::vector<int32_t> prefix = randomTokens(kPrefix, V, 71);
  const std::vector<int32_t> longPrompt = randomTokens(kLong, V, 72);
  const std::vector<int32_t> after = randomTokens(kAfter, V, 73);
  // One thread each: no worker threads to start under the limit, and the
  // same summation order in both sessions.
  Runner victim(lib, 1), fresh(lib, 1);
  if (!victim.ok() || !fresh.ok() || victim.prefillLast(prefix.data(), kPrefix).empty() ||
      fresh.prefillLast(prefix.data(), kPrefix).empty())
    return kSetupFailed;
  // The fresh session's logits for the decodes, computed before the limit.
  std::vector<std::vector<float>> want;
  for (int32_t t : after) {
    want.push_back(fresh.decode(t));
    if (want.back().empty())
      return kSetupFailed;
  }
  std::vector<float> logits(static_cast<size_t>(V)), got(static_cast<size_t>(V));
  // A failed call first, so this thread's error buffer is allocated before
  // the limit (the out-of-memory message must not need new memory).
  (void)lib.prefill(victim.session(), prefix.data(), 0, logits.data(), kLogitsLast);

  const hybridc::MemoryPlan &plan = lib.manifest().description->memory;
  const int64_t before = grownCapacity(16, kPrefix);
  const int64_t growth = (grownCapacity(before, kPrefix + kLong) - before) * plan.kvBytesPerToken();
  const int64_t stateBytes = lib.sessionStateBytes(victim.session());
  struct rlimit limit;
  getrlimit(RLIMIT_AS, &limit);
  // A quarter of the doubled cache's growth: too little for it, and for the
  // exact blocks the prompt needs, which the runtime tries next.
  const int64_t mapped = mappedBytes(), headroom = growth / 4;
  limit.rlim_cur = static_cast<rlim_t>(mapped + headroom);
  if (mapped <= 0 || setrlimit(RLIMIT_AS, &limit) != 0)
    return kLimitNotSet;

  const int status =
      lib.prefill(victim.session(), longPrompt.data(), kLong, logits.data(), kLogitsLast);
  const std::string message = lib.lastError() ? lib.lastError() : "";
  std::fprintf(stderr, "[memory-limit] limit %" PRId64 " + %" PRId64 " bytes, status %d: %s\n",
               mapped, headroom, status, message.c_str());
  if (status == kOk)
    return kLongPrefillSucceeded;
  if (status != kOutOfMemory || message.find("KV cache") == std::string::npos)
    return kNotOutOfMemory;
  // The bytes asked for are the capacity named, for every segment, and the
  // capacity holds the tokens asked for: the context reached plus the new.
  int64_t tokens = 0, bytes = 0, perToken = 0, position = 0, added = 0;
  if (!growthNamed(message.c_str(), tokens, bytes, perToken, position, added) ||
      tokens < kPrefix + kLong || tokens % HYBRIDC_KV_BLOCK_TOKENS != 0 ||
      perToken != plan.kvBytesPerToken() || bytes != tokens * perToken || position != kPrefix ||
      added != kLong || message.find("the session is unchanged") == std::string::npos)
    return kMessageLacksBytes;
  if (lib.sessionPosition(victim.session()) != kPrefix ||
      lib.sessionStateBytes(victim.session()) != stateBytes)
    return kSessionMoved;

  for (int64_t i = 0; i < kAfter; ++i) {
    if (lib.decode(victim.session(), after[i], got.data()) != kOk)
      return kDecodeFailed;
    if (std::memcmp(got.data(), want[i].data(), got.size() * sizeof(float)) != 0)
      return kLogitsDiffer;
  }
  return lib.sessionPosition(victim.session()) == kPrefix + kAfter ? kPassed : kSessionMoved;
}

TEST(MemoryLimit, LongPromptOutOfMemoryKeepsTheSession) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's own mappings do not live within an address-space limit";
#endif
  // The cheapest prepared model this CPU runs.
  std::string variant = "tiny_f32_avx512";
  std::unique_ptr<Library> lib = loadLibrary(outDir(variant));
  ASSERT_TRUE(lib);
  if (!cpuRuns(lib->manifest().target)) {
    variant = "tiny_f32_avx2";
    lib = loadLibrary(outDir(variant));
    ASSERT_TRUE(lib);
  }
  ASSERT_TRUE(lib->manifest().description.has_value());
  ASSERT_GT(lib->manifest().description->memory.kvBytesPerToken(), 0)
      << variant << " has no KV cache to grow";

  fflush(nullptr); // nothing buffered is written twice
  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << "fork: " << std::strerror(errno);
  if (pid == 0) {
    alarm(kChildSeconds); // the default action ends the child
    _exit(runChild(*lib));
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  if (WIFSIGNALED(wstatus))
    FAIL() << "the child died of signal " << WTERMSIG(wstatus)
           << (WTERMSIG(wstatus) == SIGALRM ? " (it ran past its alarm)" : "");
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), kPassed)
      << variant << ": " << describe(WEXITSTATUS(wstatus)) << " (see [memory-limit] above)";
}

} // namespace
