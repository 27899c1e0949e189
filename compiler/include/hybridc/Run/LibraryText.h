//===- LibraryText.h - a compiled library's text and sampling API -*- C++ -*-===//
//
// The <name>_tokenize / _detokenize / _token_piece / _token_bos / _eos,
// <name>_chat_template* and <name>_sampler_* functions of a library loaded with dlopen, bound to one
// open model: what `hybridc run --prompt` and `hybridc tokenize OUT_DIR` use,
// the way a C program would.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_RUN_LIBRARYTEXT_H
#define HYBRIDC_RUN_LIBRARYTEXT_H

#include "hybridc/Run/ModelLibrary.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hybridc {

/// <name>_tokenize flags.
enum : int32_t { kTokenizeAddSpecial = 1, kTokenizeParseSpecial = 2 };

/// <name>_sampler_params, field for field.
struct SamplerSettings {
  float temperature = 0;
  int32_t topK = 0;
  float topP = 1;
  float minP = 0;
  float repeatPenalty = 1;
  int32_t repeatLastN = 64;
  uint64_t seed = 0;
};

class LibrarySampler;

class LibraryText {
public:
  /// Binds the functions; a library without them (compiled before hybridc
  /// spoke text) is an error naming the first one missing. `model` is an
  /// open <name>_model of `lib`, kept open by the caller.
  static llvm::Expected<std::unique_ptr<LibraryText>> bind(const CompiledLibrary &lib,
                                                           void *model);

  llvm::Expected<std::vector<int32_t>> tokenize(llvm::StringRef text, int32_t flags) const;
  llvm::Expected<std::string> detokenize(llvm::ArrayRef<int32_t> ids) const;
  /// The token's raw bytes (perhaps part of a UTF-8 character).
  llvm::Expected<std::string> piece(int32_t id) const;
  int32_t bos() const;
  int32_t eos() const;
  llvm::Expected<std::unique_ptr<LibrarySampler>> sampler(const SamplerSettings &s) const;
  /// The chat templates the library stores, "default" first: name and text.
  std::vector<std::pair<std::string, std::string>> chatTemplates() const;

private:
  friend class LibrarySampler;
  LibraryText() = default;
  llvm::Error check(int status, const char *call) const;

  const CompiledLibrary *lib = nullptr;
  void *model = nullptr;
  int (*tokenize_)(const void *, const char *, int64_t, int32_t, int32_t *, int64_t,
                   int64_t *) = nullptr;
  int (*detokenize_)(const void *, const int32_t *, int64_t, char *, int64_t, int64_t *) = nullptr;
  int (*piece_)(const void *, int32_t, char *, int64_t, int64_t *) = nullptr;
  int32_t (*bos_)(const void *) = nullptr;
  int32_t (*eos_)(const void *) = nullptr;
  int (*chatTemplate_)(const void *, const char *, const char **, int64_t *) = nullptr;
  int32_t (*chatTemplateCount_)(const void *) = nullptr;
  const char *(*chatTemplateName_)(const void *, int32_t) = nullptr;
  int (*samplerCreate_)(const void *, const SamplerSettings *, void **) = nullptr;
  void (*samplerFree_)(void *) = nullptr;
  int (*samplerSample_)(void *, const float *, int32_t *) = nullptr;
  int (*samplerAccept_)(void *, const int32_t *, int64_t) = nullptr;
};

/// A <name>_sampler, freed with the object.
class LibrarySampler {
public:
  ~LibrarySampler();
  llvm::Expected<int32_t> sample(const float *logits);
  llvm::Error accept(llvm::ArrayRef<int32_t> tokens);

private:
  friend class LibraryText;
  explicit LibrarySampler(const LibraryText &text, void *handle) : text(text), handle(handle) {}
  const LibraryText &text;
  void *handle;
};

/// Bytes of `text` at its end that begin a UTF-8 character not finished yet
/// (0..3): what a program streaming text holds back until the next piece.
/// Ill-formed bytes that no continuation can fix count as finished.
size_t unfinishedUtf8Tail(llvm::StringRef text);

} // namespace hybridc

#endif // HYBRIDC_RUN_LIBRARYTEXT_H
