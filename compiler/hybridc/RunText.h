//===- RunText.h - `hybridc run OUT_DIR --prompt "text"` ---------*- C++ -*-===//
#ifndef HYBRIDC_TOOL_RUNTEXT_H
#define HYBRIDC_TOOL_RUNTEXT_H

#include "hybridc/Run/LibraryText.h"
#include "hybridc/Run/ModelLibrary.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace hybridc {

/// Tokenizes `prompt` with the library's tokenizer (its special tokens
/// added and parsed), prefills it, then samples up to `generate` tokens with
/// the library's sampler, streaming their text to stdout as whole UTF-8
/// characters, until the tokenizer's end-of-text token. A summary (token
/// counts, the generated ids) goes to stderr.
llvm::Error runPrompt(ModelLibrary &model, const std::string &prompt, int64_t generate,
                      const SamplerSettings &sampling);

} // namespace hybridc

#endif // HYBRIDC_TOOL_RUNTEXT_H
