//===- BenchTokenize.h - `hybridc bench TOKENIZER --tokenize FILE` -*- C++ -*-===//
#ifndef HYBRIDC_TOOL_BENCHTOKENIZE_H
#define HYBRIDC_TOOL_BENCHTOKENIZE_H

#include "llvm/Support/Error.h"

#include <string>

namespace hybridc {

/// Tokenizes `file` repeatedly on one thread with the tokenizer of
/// `tokenizer` (a tokenizer.json, model folder, GGUF file or output folder)
/// and prints MB/s (best and median of the runs), tokens/s, and the decode
/// speed back to text.
llvm::Error benchTokenize(const std::string &tokenizer, const std::string &file, bool json);

} // namespace hybridc

#endif // HYBRIDC_TOOL_BENCHTOKENIZE_H
