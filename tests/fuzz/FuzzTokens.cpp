//===- FuzzTokens.cpp - `hybridc run --tokens` and --tokens-file ----------===//
// Whatever they accept is a non-empty list of ids in [0, INT32_MAX].
#include "hybridc/Run/TokenList.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  for (bool file : {false, true}) {
    llvm::Expected<std::vector<int32_t>> tokens =
        file ? hybridc::parseTokenText(text, "tokens.txt") : hybridc::parseTokenList(text);
    if (!tokens) {
      llvm::consumeError(tokens.takeError());
      continue;
    }
    if (tokens->empty())
      std::abort();
    for (int32_t t : *tokens)
      if (t < 0)
        std::abort();
  }
  return 0;
}
