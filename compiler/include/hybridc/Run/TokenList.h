//===- TokenList.h - token ids given on the command line or in a file -*- C++ -*-===//
//
// `hybridc run --tokens 1,2,3` and `--tokens-file F` (ids separated by any
// whitespace). Every entry must be an integer in [0, INT32_MAX]; an empty
// entry or an empty file is an error, never a token 0.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_RUN_TOKENLIST_H
#define HYBRIDC_RUN_TOKENLIST_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace hybridc {

/// Comma-separated ids; errors name the entry ("--tokens entry 2 ...").
llvm::Expected<std::vector<int32_t>> parseTokenList(llvm::StringRef csv);
/// Whitespace-separated ids, the text of `file`; errors name the file and
/// the token's index.
llvm::Expected<std::vector<int32_t>> parseTokenText(llvm::StringRef text, llvm::StringRef file);

} // namespace hybridc

#endif // HYBRIDC_RUN_TOKENLIST_H
