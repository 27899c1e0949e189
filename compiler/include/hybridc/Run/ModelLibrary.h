//===- ModelLibrary.h - a compiled model, loaded with dlopen ----*- C++ -*-===//
//
// `hybridc run`, `hybridc bench` and the tests use a compiled library as a C
// program would, through its prefixed API, found with dlsym.
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

/// An open model of a compiled library plus one session.
class ModelLibrary {
public:
  /// Loads OUT_DIR's library, opens its weights and creates a session.
  static llvm::Expected<std::unique_ptr<ModelLibrary>> open(const std::string &outDir);
  ~ModelLibrary();

  const Manifest &manifest() const { return manifest_; }
  int64_t vocab() const { return manifest_.vocabSize; }

  llvm::Error setThreads(int32_t n);
  /// logits: null, [vocab] (all == false) or [n][vocab] (all == true).
  llvm::Error prefill(const int32_t *tokens, int64_t n, float *logits, bool all);
  llvm::Error decode(int32_t token, float *logits);
  llvm::Error reset();
  int64_t position() const;
  int64_t stateBytes() const;
  /// Per-kernel times of a library built with --profile (null otherwise).
  const char *profileReport() const { return profileReportFn ? profileReportFn() : nullptr; }
  void profileReset() const {
    if (profileResetFn)
      profileResetFn();
  }

private:
  ModelLibrary() = default;
  llvm::Error check(int status, const char *call) const;

  Manifest manifest_;
  void *handle = nullptr;
  void *model = nullptr;
  void *session = nullptr;
  // The library's entry points (prefixed names resolved at load).
  int (*modelOpen)(const char *, void **) = nullptr;
  void (*modelClose)(void *) = nullptr;
  int (*sessionCreate)(void *, void **) = nullptr;
  void (*sessionFree)(void *) = nullptr;
  int (*sessionReset)(void *) = nullptr;
  int (*sessionSetThreads)(void *, int32_t) = nullptr;
  int64_t (*sessionPosition)(const void *) = nullptr;
  int64_t (*sessionStateBytes)(const void *) = nullptr;
  int (*prefillFn)(void *, const int32_t *, int64_t, float *, int32_t) = nullptr;
  int (*decodeFn)(void *, int32_t, float *) = nullptr;
  const char *(*lastError)(void) = nullptr;
  const char *(*profileReportFn)(void) = nullptr; // optional
  void (*profileResetFn)(void) = nullptr;         // optional
};

} // namespace hybridc

#endif // HYBRIDC_RUN_MODELLIBRARY_H
