//===- ApiFailureTest.cpp - every failure of a compiled model's C API -----===//
//
// For each way a call can fail: the status, a last_error() that names the
// problem, and (for calls on a session) that the session is exactly as
// before: its next call gives bit-identical logits to a twin session that
// never saw the failure.
//
//===----------------------------------------------------------------------===//
#include "E2eSupport.h"

#include "hybridc/runtime_abi.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sys/resource.h>
#include <unistd.h>

using namespace hybridc::e2e;

namespace {

// tiny_api and tiny_seed2 share every size, the C prefix and the target (the
// widest this machine runs); only the weights (seed) differ. See
// CMakeLists.txt.
constexpr const char *kModel = "tiny_api";
constexpr const char *kOtherSeed = "tiny_seed2";

bool contains(const char *haystack, const std::string &needle) {
  return haystack && std::string(haystack).find(needle) != std::string::npos;
}

#define EXPECT_ERROR_NAMES(lib, needle)                                                        \
  EXPECT_TRUE(contains((lib).lastError(), needle))                                             \
      << "last_error() \"" << (lib).lastError() << "\" does not mention \"" << (needle) << "\""

/// Loads kModel's library (skipping where this CPU cannot run its code).
class WithModelLibrary : public ::testing::Test {
protected:
  void SetUp() override {
    lib = loadLibrary(outDir(kModel));
    ASSERT_TRUE(lib);
    if (!cpuRuns(lib->manifest().target))
      GTEST_SKIP() << "this CPU cannot run " << lib->manifest().target << " code";
  }
  std::unique_ptr<Library> lib;
};

class ApiFailure : public WithModelLibrary {
protected:
  void SetUp() override {
    WithModelLibrary::SetUp();
    if (IsSkipped() || HasFatalFailure())
      return;
    V = lib->vocab();
    prompt = randomTokens(23, V, 31);
    next = randomTokens(9, V, 32);
    victim = std::make_unique<Runner>(*lib);
    twin = std::make_unique<Runner>(*lib);
    ASSERT_TRUE(victim->ok() && twin->ok());
    // Both sessions start from the same non-empty state, so "unchanged"
    // covers the recurrent state and the KV cache, not just position 0.
    ASSERT_FALSE(victim->prefillAll(prompt.data(), prompt.size()).empty());
    ASSERT_FALSE(twin->prefillAll(prompt.data(), prompt.size()).empty());
  }

  /// The victim, after its failed call, still matches the twin: same
  /// position, state size, and bit-identical logits from a prefill and a
  /// decode.
  void expectVictimUnharmed() {
    EXPECT_EQ(lib->sessionPosition(victim->session()), lib->sessionPosition(twin->session()));
    EXPECT_EQ(lib->sessionStateBytes(victim->session()),
              lib->sessionStateBytes(twin->session()));
    auto a = victim->prefillAll(next.data(), 8);
    auto b = twin->prefillAll(next.data(), 8);
    ASSERT_FALSE(a.empty());
    EXPECT_TRUE(a == b) << "prefill after the failure differs from a session without it";
    auto c = victim->decode(next[8]);
    auto d = twin->decode(next[8]);
    ASSERT_FALSE(c.empty());
    EXPECT_TRUE(c == d) << "decode after the failure differs from a session without it";
  }

  int32_t V = 0;
  std::vector<int32_t> prompt, next;
  std::unique_ptr<Runner> victim, twin;
};

TEST_F(ApiFailure, PrefillTokenEqualToVocab) {
  std::vector<int32_t> bad = {next[0], next[1], V, next[2]};
  std::vector<float> logits(bad.size() * V);
  EXPECT_EQ(lib->prefill(victim->session(), bad.data(), bad.size(), logits.data(), kLogitsAll),
            kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "out of range");
  EXPECT_ERROR_NAMES(*lib, "= " + std::to_string(V));
  expectVictimUnharmed();
}

TEST_F(ApiFailure, PrefillNegativeToken) {
  std::vector<int32_t> bad = {next[0], -7};
  EXPECT_EQ(lib->prefill(victim->session(), bad.data(), bad.size(), nullptr, kLogitsLast),
            kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "-7");
  EXPECT_ERROR_NAMES(*lib, "out of range");
  expectVictimUnharmed();
}

TEST_F(ApiFailure, DecodeTokenEqualToVocab) {
  std::vector<float> logits(V);
  EXPECT_EQ(lib->decode(victim->session(), V, logits.data()), kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "token " + std::to_string(V));
  EXPECT_ERROR_NAMES(*lib, "out of range");
  expectVictimUnharmed();
}

TEST_F(ApiFailure, DecodeNegativeToken) {
  EXPECT_EQ(lib->decode(victim->session(), -1, nullptr), kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "token -1");
  expectVictimUnharmed();
}

TEST_F(ApiFailure, PrefillZeroOrNegativeCount) {
  std::vector<float> logits(V);
  EXPECT_EQ(lib->prefill(victim->session(), next.data(), 0, logits.data(), kLogitsLast),
            kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "n must be >= 1");
  EXPECT_EQ(lib->prefill(victim->session(), next.data(), -3, logits.data(), kLogitsLast),
            kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "-3");
  expectVictimUnharmed();
}

TEST_F(ApiFailure, PrefillUnknownFlags) {
  std::vector<float> logits(3 * V);
  EXPECT_EQ(lib->prefill(victim->session(), next.data(), 3, logits.data(), 2), kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "flags");
  expectVictimUnharmed();
}

TEST_F(ApiFailure, NullSession) {
  std::vector<float> logits(V);
  EXPECT_EQ(lib->prefill(nullptr, next.data(), 1, logits.data(), kLogitsLast), kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "session is NULL");
  EXPECT_EQ(lib->decode(nullptr, next[0], logits.data()), kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "session is NULL");
  EXPECT_EQ(lib->sessionReset(nullptr), kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "session is NULL");
  EXPECT_EQ(lib->sessionSetThreads(nullptr, 1), kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "session is NULL");
  EXPECT_EQ(lib->sessionSetMaxTokens(nullptr, 1), kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "session is NULL");
  EXPECT_EQ(lib->sessionPosition(nullptr), -1);
  EXPECT_EQ(lib->sessionStateBytes(nullptr), -1);
  lib->sessionFree(nullptr); // documented as ignored
  lib->modelClose(nullptr);
  expectVictimUnharmed();
}

TEST_F(ApiFailure, NullTokens) {
  std::vector<float> logits(V);
  EXPECT_EQ(lib->prefill(victim->session(), nullptr, 3, logits.data(), kLogitsLast),
            kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "tokens is NULL");
  expectVictimUnharmed();
}

TEST_F(ApiFailure, NullOutPointers) {
  std::string weights = lib->weightsPath();
  EXPECT_EQ(lib->modelOpen(weights.c_str(), nullptr), kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "out is NULL");
  void *model = nullptr;
  ASSERT_EQ(lib->modelOpen(weights.c_str(), &model), kOk) << lib->lastError();
  EXPECT_EQ(lib->sessionCreate(model, nullptr), kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "out is NULL");
  void *session = reinterpret_cast<void *>(0x1);
  EXPECT_EQ(lib->sessionCreate(nullptr, &session), kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "model is NULL");
  lib->modelClose(model);
  expectVictimUnharmed();
}

TEST_F(ApiFailure, InvalidThreadCounts) {
  EXPECT_EQ(lib->sessionSetThreads(victim->session(), 0), kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "0");
  EXPECT_EQ(lib->modelSetThreads(nullptr, 2), kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "model is NULL");
  expectVictimUnharmed();
}

// A cap set with set_max_tokens: prefill and decode that would pass it fail
// with CAPACITY, calls up to it succeed, and the cap cannot go below the
// position.
TEST_F(ApiFailure, TokenCapReached) {
  const int64_t pos = prompt.size(); // 23
  ASSERT_EQ(lib->sessionSetMaxTokens(victim->session(), pos + 4), kOk) << lib->lastError();
  std::vector<float> logits(8 * V);
  EXPECT_EQ(lib->prefill(victim->session(), next.data(), 5, logits.data(), kLogitsAll),
            kCapacity);
  EXPECT_ERROR_NAMES(*lib, "token cap of " + std::to_string(pos + 4));
  EXPECT_EQ(lib->sessionPosition(victim->session()), pos);
  // Exactly up to the cap is allowed: 3 by prefill, 1 by decode, on both.
  auto a = victim->prefillAll(next.data(), 3);
  auto b = twin->prefillAll(next.data(), 3);
  EXPECT_TRUE(!a.empty() && a == b);
  auto c = victim->decode(next[3]);
  auto d = twin->decode(next[3]);
  EXPECT_TRUE(!c.empty() && c == d);
  EXPECT_EQ(lib->decode(victim->session(), next[4], logits.data()), kCapacity);
  EXPECT_ERROR_NAMES(*lib, "token cap");
  EXPECT_EQ(lib->sessionSetMaxTokens(victim->session(), pos), kInvalidArgument);
  EXPECT_ERROR_NAMES(*lib, "below the session's position");
  // Lifting the cap (0) lets the same session go on as if nothing happened.
  ASSERT_EQ(lib->sessionSetMaxTokens(victim->session(), 0), kOk) << lib->lastError();
  expectVictimUnharmed();
}

/// Lowers the address-space limit to what the process maps now plus
/// `headroom` bytes for its lifetime, restoring the old limit afterwards.
class AddressSpaceLimit {
public:
  explicit AddressSpaceLimit(size_t headroom) {
    getrlimit(RLIMIT_AS, &old);
    std::ifstream statm("/proc/self/statm");
    size_t pages = 0;
    statm >> pages;
    struct rlimit lowered = old;
    lowered.rlim_cur = pages * static_cast<size_t>(sysconf(_SC_PAGESIZE)) + headroom;
    active = pages > 0 && setrlimit(RLIMIT_AS, &lowered) == 0;
  }
  ~AddressSpaceLimit() {
    if (active)
      setrlimit(RLIMIT_AS, &old);
  }
  bool active = false;

private:
  struct rlimit old;
};

// Out of memory: a prefill of 4M tokens must grow the KV cache to about 1 GB
// (2 segments x 128 B per token), which an address space limited to 256 MB
// above the current mapping cannot hold. The runtime allocates before it runs
// anything, so the call fails cleanly and the session is untouched.
TEST_F(ApiFailure, OutOfMemoryGrowingTheKvCache) {
  const int64_t n = 4 << 20;
  std::vector<int32_t> many = randomTokens(n, V, 33);
  std::vector<float> logits(V);
  int status;
  {
    AddressSpaceLimit limit(256u << 20);
    if (!limit.active)
      GTEST_SKIP() << "cannot lower RLIMIT_AS here";
    status = lib->prefill(victim->session(), many.data(), n, logits.data(), kLogitsLast);
  }
  EXPECT_EQ(status, kOutOfMemory);
  EXPECT_ERROR_NAMES(*lib, "out of memory");
  expectVictimUnharmed();
}

//===----------------------------------------------------------------------===//
// Weights files
//===----------------------------------------------------------------------===//

class WeightsFailure : public WithModelLibrary {
protected:
  void SetUp() override {
    WithModelLibrary::SetUp();
    if (IsSkipped() || HasFatalFailure())
      return;
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir = scratchDir(std::string(info->test_suite_name()) + "." + info->name());
  }

  /// model_open(path) must fail with `status` naming `needle`, leave *out
  /// NULL, and leave the library able to open its real weights afterwards.
  void expectOpenFails(const std::string &path, int status, const std::string &needle) {
    void *model = reinterpret_cast<void *>(0x1);
    EXPECT_EQ(lib->modelOpen(path.c_str(), &model), status);
    EXPECT_EQ(model, nullptr) << "*out must be NULL after a failed open";
    EXPECT_ERROR_NAMES(*lib, needle);
    Runner ok(*lib);
    ASSERT_TRUE(ok.ok());
    auto t = randomTokens(4, lib->vocab(), 41);
    EXPECT_FALSE(ok.prefillLast(t.data(), t.size()).empty());
  }

  /// A copy of the real weights with `patch` applied to its bytes.
  std::string patchedCopy(const std::string &name,
                          const std::function<void(std::fstream &)> &patch) {
    std::string path = dir + "/" + name;
    copyFile(lib->weightsPath(), path);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    EXPECT_TRUE(f) << path;
    patch(f);
    return path;
  }

  std::string dir;
};

TEST_F(WeightsFailure, MissingFile) {
  std::string path = dir + "/no-such.weights";
  expectOpenFails(path, kIo, path);
}

TEST_F(WeightsFailure, Truncated) {
  std::string path = dir + "/truncated.weights";
  copyFile(lib->weightsPath(), path);
  auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 4096);
  expectOpenFails(path, kFormat, "truncated");
  // Shorter than the header itself.
  std::filesystem::resize_file(path, 10);
  expectOpenFails(path, kFormat, "truncated");
}

TEST_F(WeightsFailure, OfAnotherModelWithTheSameSizes) {
  auto other = loadLibrary(outDir(kOtherSeed));
  ASSERT_TRUE(other);
  ASSERT_EQ(other->manifest().name, lib->manifest().name)
      << "the fixture compiles both seeds under one prefix, so only the hash can tell them "
         "apart";
  ASSERT_EQ(std::filesystem::file_size(other->weightsPath()),
            std::filesystem::file_size(lib->weightsPath()));
  expectOpenFails(other->weightsPath(), kFormat, "another model");
}

TEST_F(WeightsFailure, OtherFormatVersion) {
  auto path = patchedCopy("version.weights", [](std::fstream &f) {
    uint32_t v = HYBRIDC_WEIGHTS_FORMAT_VERSION + 1;
    f.seekp(offsetof(hybridc_weights_header, format_version));
    f.write(reinterpret_cast<const char *>(&v), sizeof v);
  });
  expectOpenFails(path, kFormat,
                  "format version " + std::to_string(HYBRIDC_WEIGHTS_FORMAT_VERSION + 1));
}

TEST_F(WeightsFailure, WrongMagic) {
  auto path = patchedCopy("magic.weights", [](std::fstream &f) {
    f.seekp(0);
    f.write("NOTHYBRD", 8);
  });
  expectOpenFails(path, kFormat, "magic");
}

TEST_F(WeightsFailure, NullPathWithoutEmbeddedWeights) {
  void *model = reinterpret_cast<void *>(0x1);
  EXPECT_EQ(lib->modelOpen(nullptr, &model), kInvalidArgument);
  EXPECT_EQ(model, nullptr);
  EXPECT_ERROR_NAMES(*lib, "embedded");
}

TEST_F(WeightsFailure, EmbeddedLibraryOpensWithNullPath) {
  auto embedded = loadLibrary(outDir("tiny_embedded"));
  ASSERT_TRUE(embedded);
  EXPECT_EQ(embedded->weightsPath(), "") << "the manifest lists no weights file";
  void *model = nullptr;
  ASSERT_EQ(embedded->modelOpen(nullptr, &model), kOk) << embedded->lastError();
  embedded->modelClose(model);
  // The embedded payload hashes to the library's hash too.
  model = nullptr;
  ASSERT_EQ(embedded->modelOpenEx(nullptr, 1, &model), kOk) << embedded->lastError();
  embedded->modelClose(model);
}

// One weight byte altered after compile: the header still matches, so a
// plain open succeeds (the header documents that it reads no weights); open
// with the weights verified hashes the payload and refuses the file.
TEST_F(WeightsFailure, AlteredPayloadIsCaughtOnlyWhenVerified) {
  const uint64_t at = HYBRIDC_WEIGHTS_HEADER_BYTES + std::filesystem::file_size(lib->weightsPath()) / 3;
  auto path = patchedCopy("altered.weights", [&](std::fstream &f) {
    f.seekg(std::streamoff(at));
    char c = 0;
    f.read(&c, 1);
    c = char(c ^ 0x40);
    f.seekp(std::streamoff(at));
    f.write(&c, 1);
  });
  void *model = nullptr;
  ASSERT_EQ(lib->modelOpen(path.c_str(), &model), kOk) << lib->lastError();
  lib->modelClose(model);
  model = reinterpret_cast<void *>(0x1);
  EXPECT_EQ(lib->modelOpenEx(path.c_str(), 1, &model), kFormat);
  EXPECT_EQ(model, nullptr) << "*out must be NULL after a failed open";
  EXPECT_ERROR_NAMES(*lib, path);
  EXPECT_ERROR_NAMES(*lib, "altered or damaged after compile");
  // The real weights pass the same check; an unknown flag is refused.
  ASSERT_EQ(lib->modelOpenEx(lib->weightsPath().c_str(), 1, &model), kOk) << lib->lastError();
  lib->modelClose(model);
  model = reinterpret_cast<void *>(0x1);
  EXPECT_EQ(lib->modelOpenEx(lib->weightsPath().c_str(), 2, &model), kInvalidArgument);
  EXPECT_EQ(model, nullptr);
  EXPECT_ERROR_NAMES(*lib, "unknown flags");
}

// A library whose target this CPU cannot run is refused at open, naming
// the target and the missing instruction set, instead of dying of an
// illegal instruction in its first kernel. Needs a CPU below the best
// target (an AVX2-only or AVX-512-without-BF16 machine); elsewhere there
// is no library this CPU cannot run.
TEST(ApiFailureCpu, OpenOnACpuWithoutTheTargetsInstructionsFails) {
  for (const char *variant : {"tiny_f32_avx512", "tiny_bf16dot"}) {
    auto lib = loadLibrary(outDir(variant));
    ASSERT_TRUE(lib);
    const std::string target = lib->manifest().target;
    if (cpuRuns(target))
      continue;
    void *model = reinterpret_cast<void *>(0x1);
    EXPECT_EQ(lib->modelOpen(lib->weightsPath().c_str(), &model), kCpu) << variant;
    EXPECT_EQ(model, nullptr);
    EXPECT_ERROR_NAMES(*lib, "compiled for " + target);
    EXPECT_ERROR_NAMES(*lib, "this CPU lacks avx512");
    return;
  }
  GTEST_SKIP() << "this CPU runs every target, so no library is refused";
}

} // namespace
