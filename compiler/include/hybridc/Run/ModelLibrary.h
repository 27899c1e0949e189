//===- ModelLibrary.h - a compiled model, loaded with dlopen ----*- C++ -*-===//
//
// `hybridc run`, `hybridc bench` and the tests use a compiled library as a C
// program would: through its prefixed API, found with dlsym. RTLD_LOCAL, so
// several compiled models (even with the same prefix) load side by side.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_RUN_MODELLIBRARY_H
#define HYBRIDC_RUN_MODELLIBRARY_H

#include "hybridc/Run/Manifest.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hybridc {

/// An output folder's library, dlopen'ed, with its C API 1:1 (void* stands
/// for the opaque model and session types).
class CompiledLibrary {
public:
  static llvm::Expected<std::unique_ptr<CompiledLibrary>> load(const std::string &outDir);
  ~CompiledLibrary();
  CompiledLibrary(const CompiledLibrary &) = delete;
  CompiledLibrary &operator=(const CompiledLibrary &) = delete;

  const Manifest &manifest() const { return manifest_; }
  const std::string &outDir() const { return outDir_; }
  int32_t vocab() const { return static_cast<int32_t>(manifest_.vocabSize); }
  /// The weights file the compiler wrote ("" when embedded).
  std::string weightsPath() const;

  int (*modelOpen)(const char *, void **) = nullptr;
  int (*modelOpenEx)(const char *, int32_t, void **) = nullptr;
  void (*modelClose)(void *) = nullptr;
  int (*modelSetThreads)(void *, int32_t) = nullptr;
  int (*sessionCreate)(void *, void **) = nullptr;
  void (*sessionFree)(void *) = nullptr;
  int (*sessionReset)(void *) = nullptr;
  int (*sessionSetThreads)(void *, int32_t) = nullptr;
  int (*sessionSetMaxTokens)(void *, int64_t) = nullptr;
  int64_t (*sessionPosition)(const void *) = nullptr;
  int64_t (*sessionStateBytes)(const void *) = nullptr;
  int64_t (*sessionSaveSize)(const void *) = nullptr;
  int (*sessionSave)(const void *, void *, int64_t, int64_t *) = nullptr;
  int (*sessionLoad)(void *, const void *, int64_t) = nullptr;
  int (*sessionFork)(const void *, void **) = nullptr;
  int (*sessionSetCheckpointInterval)(void *, int64_t) = nullptr;
  int (*sessionTruncate)(void *, int64_t) = nullptr;
  const char *(*modelTarget)(const void *) = nullptr;
  int (*prefill)(void *, const int32_t *, int64_t, float *, int32_t) = nullptr;
  int (*decode)(void *, int32_t, float *) = nullptr;
  int (*decodeBatch)(void *const *, const int32_t *, int64_t, float *) = nullptr;
  const char *(*lastError)(void) = nullptr;
  const char *(*statusString)(int) = nullptr;
  // Only in libraries compiled with --profile (null otherwise).
  const char *(*profileReport)(void) = nullptr;
  void (*profileReset)(void) = nullptr;

  /// Any exported function by its name without the prefix ("tokenize"), or
  /// nullptr: for the APIs bound elsewhere (LibraryText.h).
  void *symbol(const std::string &name) const;

private:
  CompiledLibrary() = default;
  Manifest manifest_;
  std::string outDir_;
  void *handle_ = nullptr;
};

/// A compiled library with its model open on its own weights and one
/// session: what `hybridc run` and `bench` drive.
class ModelLibrary {
public:
  /// threads: for the session; 0 keeps the library's default. verify:
  /// open with the weights' payload hash checked (model_open_ex).
  static llvm::Expected<std::unique_ptr<ModelLibrary>> open(const std::string &outDir,
                                                            int32_t threads = 0,
                                                            bool verify = false);
  ~ModelLibrary();

  const Manifest &manifest() const { return lib->manifest(); }
  /// The CPU variant the library opened (model_target).
  std::string target() const { return lib->modelTarget(model); }
  /// The manifest as the opened variant sees it: its target and matmul
  /// inputs (what bench sets its speeds against).
  Manifest runningManifest() const { return manifest().forVariant(target()); }
  int64_t vocab() const { return lib->vocab(); }
  const CompiledLibrary &library() const { return *lib; }
  void *modelHandle() const { return model; } // the open <name>_model

  /// logits: null, [vocab] (all == false) or [n][vocab] (all == true).
  llvm::Error prefill(const int32_t *tokens, int64_t n, float *logits, bool all);
  llvm::Error decode(int32_t token, float *logits);
  /// Makes the streams decodeBatch runs: n forks of the session as it is
  /// now (any earlier ones are freed first).
  llvm::Error forkStreams(int64_t n);
  int64_t streams() const { return static_cast<int64_t>(forks.size()); }
  /// One token per stream (tokens[streams()]); logits [streams()][vocab].
  llvm::Error decodeBatch(const int32_t *tokens, float *logits);
  llvm::Error reset();
  /// Rewinds the session to `position` (session_truncate).
  llvm::Error truncate(int64_t position);
  /// Keeps a state every `tokens` tokens, for truncate (0: none).
  llvm::Error setCheckpointInterval(int64_t tokens);
  /// Writes the session's state image (session_save) to `path`.
  llvm::Error saveState(const std::string &path);
  /// Replaces the session's sequence with the image in `path`.
  llvm::Error loadState(const std::string &path);
  int64_t position() const { return lib->sessionPosition(session); }
  int64_t stateBytes() const { return lib->sessionStateBytes(session); }
  /// Per-kernel times of a library built with --profile (null otherwise).
  const char *profileReport() const { return lib->profileReport ? lib->profileReport() : nullptr; }
  void profileReset() const {
    if (lib->profileReset)
      lib->profileReset();
  }

private:
  ModelLibrary() = default;
  llvm::Error check(int status, const char *call) const;

  std::unique_ptr<CompiledLibrary> lib;
  void *model = nullptr;
  void *session = nullptr;
  std::vector<void *> forks;
};

} // namespace hybridc

#endif // HYBRIDC_RUN_MODELLIBRARY_H
