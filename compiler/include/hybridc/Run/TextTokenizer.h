//===- TextTokenizer.h - a tokenizer for hybridc's own commands -*- C++ -*-===//
//
// `hybridc tokenize` and `hybridc bench --tokenize` take a tokenizer.json, a
// model folder (or GGUF file), or a compiled output folder. The first two
// run the runtime's tokenizer engine in this process, on the very blob a
// compile would embed; an output folder is used through its library's own
// functions (LibraryText.h), as a C program would.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_RUN_TEXTTOKENIZER_H
#define HYBRIDC_RUN_TEXTTOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hybridc {

class TextTokenizer {
public:
  /// `path`: a tokenizer.json, a model folder with one, a GGUF file, or an
  /// output folder of `hybridc compile` (hybridc-model.json in it).
  static llvm::Expected<std::unique_ptr<TextTokenizer>> open(const std::string &path);
  virtual ~TextTokenizer() = default;

  /// flags: kTokenizeAddSpecial | kTokenizeParseSpecial (LibraryText.h).
  virtual llvm::Expected<std::vector<int32_t>> encode(llvm::StringRef text,
                                                      int32_t flags) const = 0;
  virtual llvm::Expected<std::string> decode(llvm::ArrayRef<int32_t> ids) const = 0;
  /// Where the tokenizer comes from and what it is, for messages.
  virtual std::string describe() const = 0;
};

} // namespace hybridc

#endif // HYBRIDC_RUN_TEXTTOKENIZER_H
