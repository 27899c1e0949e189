//===- SessionFiles.h - a session and its tokens in two files ----*- C++ -*-===//
//
// A slot saved by POST /slots/{id}?action=save and a prefix cache entry
// spilled to --cache-dir are the same pair: FILE, the session's state image
// (session_save, docs/formats.md), and FILE.tokens, the tokens it was fed
// (the engine matches prefixes on them). Both are written to a temporary
// name and renamed, so a reader sharing the folder never sees half a file.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_SERVE_SESSIONFILES_H
#define HYBRIDC_SERVE_SESSIONFILES_H

#include "hybridc/Run/ModelLibrary.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybridc::serve {

/// Writes the pair; returns the image's bytes.
llvm::Expected<int64_t> saveSessionFiles(const CompiledLibrary &lib, const void *session,
                                         const std::vector<int32_t> &tokens,
                                         const std::string &path);

/// Reads FILE.tokens alone (to index a folder).
llvm::Expected<std::vector<int32_t>> readTokensFile(const std::string &path);

struct LoadedSession {
  void *session = nullptr; // new, on the model; the caller sets its threads and caps
  std::vector<int32_t> tokens;
};
/// Reads the pair into a new session of `model`. A pair that disagrees (the
/// image's position is not the tokens' count), an image of another model
/// or a damaged one is refused, naming the file.
llvm::Expected<LoadedSession> loadSessionFiles(const CompiledLibrary &lib, void *model,
                                               const std::string &path);

} // namespace hybridc::serve

#endif // HYBRIDC_SERVE_SESSIONFILES_H
