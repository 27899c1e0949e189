//===- Engine.h - many generations on one model, batched ------------*- C++ -*-===//
//
// The engine behind `hybridc serve`. One scheduler thread owns every
// session: each step it admits waiting requests to free slots, advances all
// generating slots by one token in one decode_batch call (each weight read
// once for all of them), then prefills one chunk of a new prompt, so the
// running streams keep a bounded time between tokens while prompts arrive.
//
// A slot keeps its session after its request ends, and a session evicted
// from its slot goes to the prefix cache (PrefixCache.h). A new request
// starts from the longest prefix of its tokens that any of them holds:
// truncated to that point (the checkpoints make any point cheap), or
// forked from the cache, and only the rest is prefilled. A recurrent state
// cannot be cut back like a KV cache, which is why other servers re-process
// whole prompts of hybrid models; a session with kept checkpoints can.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_SERVE_ENGINE_H
#define HYBRIDC_SERVE_ENGINE_H

#include "hybridc/Run/LibraryText.h"
#include "hybridc/Run/ModelLibrary.h"
#include "hybridc/Serve/ApiError.h"
#include "hybridc/Serve/Metrics.h"

#include "llvm/Support/Error.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hybridc::serve {

struct EngineOptions {
  std::string outDir;
  int32_t slots = 4;             // sessions generating at once
  int32_t threads = 0;           // per session; 0: the library's default
  int64_t maxContext = 32768;    // tokens one session may hold
  int64_t cacheRamBytes = 1ll << 30; // the prefix cache's sessions in memory
  std::string cacheDir;          // where evicted cache entries go ("" drops them)
  int64_t cacheDiskBytes = 4ll << 30; // the folder's state images at most
  /// Every finished session is written to cacheDir, and the folder is
  /// read again before each request: for replicas sharing it.
  bool shareCache = false;
  int64_t prefillChunk = 256;    // prompt tokens per step while others generate
  int64_t maxQueued = 64;        // waiting requests beyond the slots
  int64_t checkpointInterval = 1024; // a kept state every this many tokens
  /// Off: every request prefills its whole prompt in a fresh session, as
  /// servers that cannot cut back a recurrent state do (for comparisons).
  bool reusePrefixes = true;
};

enum class FinishReason { Stop, Length, Cancelled, Error };

/// What the engine needs of one request.
struct GenerationJob {
  std::vector<int32_t> prompt;
  int64_t maxTokens = 16;
  SamplerSettings sampling;
  std::vector<std::string> stop;
  bool ignoreEos = false; // the end-of-text token is text like any other
};

/// One request in flight, shared by the engine (producing text) and the
/// HTTP thread that waits on it.
class Generation {
public:
  /// Waits for more text; false when the generation has ended and all its
  /// text was taken (then the fields below are final).
  bool next(std::string &text);
  /// Asks the engine to stop (a client gone); the slot is freed at the
  /// next step, its session kept as far as it got.
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

  FinishReason reason = FinishReason::Stop;
  std::optional<ApiError> error; // reason == Error
  int64_t promptTokens = 0, completionTokens = 0, cachedTokens = 0;
  std::vector<int32_t> tokens; // generated (the end-of-text token not included)
  double queuedSeconds = 0, promptSeconds = 0, firstTokenSeconds = 0, generationSeconds = 0;
  int slot = -1;

private:
  friend class Engine;
  void emit(std::string text);
  void end();
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::string> pieces;
  bool ended = false;
  std::chrono::steady_clock::time_point submitted;
  std::atomic<bool> cancelled_{false};
};

struct SlotInfo {
  int id = 0;
  bool busy = false;
  int64_t tokens = 0;     // the session's position
  int64_t stateBytes = 0; // recurrent state and KV in use
};

class Engine {
public:
  static llvm::Expected<std::unique_ptr<Engine>> start(const EngineOptions &options);
  ~Engine();

  const Manifest &manifest() const { return lib->manifest(); }
  const LibraryText &text() const { return *text_; }
  const EngineOptions &options() const { return options_; }

  /// Queues a generation; a full queue is a 503 ApiError.
  llvm::Expected<std::shared_ptr<Generation>> submit(GenerationJob job);

  /// As of the latest scheduler step (never waits for one).
  std::vector<SlotInfo> slots();
  /// The slot's session image to `path` (and its tokens to path.tokens);
  /// restore reads both into the slot; erase empties it. A busy slot or a
  /// bad id is an ApiError. Run on the scheduler thread between steps.
  llvm::Expected<int64_t> saveSlot(int id, const std::string &path);
  llvm::Expected<int64_t> restoreSlot(int id, const std::string &path);
  llvm::Error eraseSlot(int id);

  Metrics metrics();

  /// From now on new requests are refused (503) and those in flight end
  /// at the next step with a 503 error: what a server does on SIGTERM.
  void close();

private:
  Engine() = default;
  struct Slot;
  struct State;
  void schedule();
  llvm::Error runCommand(std::function<llvm::Error()> fn);
  /// The slots and gauges as of now, for GET /slots and /metrics (on the
  /// scheduler thread, or before it starts).
  void publish();
  /// Slot `id` when it exists and generates nothing (its session is then a
  /// slot command's to change); else the 404 or 409 saying why not.
  llvm::Expected<Slot *> idleSlot(int id);
  /// A library call's status as an error naming the call and the library's message.
  llvm::Error check(int status, const char *call) const;
  /// Threads, token cap and checkpoint interval of a new session.
  llvm::Error configure(void *session) const;

  EngineOptions options_;
  std::unique_ptr<CompiledLibrary> lib;
  void *model = nullptr;
  std::unique_ptr<LibraryText> text_;
  std::unique_ptr<State> state;
};

} // namespace hybridc::serve

#endif // HYBRIDC_SERVE_ENGINE_H
