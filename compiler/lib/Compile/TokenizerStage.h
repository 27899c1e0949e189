//===- TokenizerStage.h - the model's tokenizer, into the library -*- C++ -*-===//
//
// `hybridc compile` embeds the tokenizer of the model folder (tokenizer.json)
// or GGUF file as a blob (runtime/include/hybridc/text_abi.h) in the
// library's read-only data; the descriptor points at it and the runtime
// builds its tokenizer from it at model open.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILE_TOKENIZERSTAGE_H
#define HYBRIDC_COMPILE_TOKENIZERSTAGE_H

#include "hybridc/Codegen/KernelSpec.h"
#include "hybridc/Tokenizer/Tokenizer.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hybridc {

struct TokenizerEmbedding {
  std::string object; // the blob as an object file, linked into the library
  uint64_t bytes = 0; // the blob's size (the descriptor's tokenizer_bytes)
  std::string summary; // one line for the compile log
  std::vector<TokenizerSpec::ChatTemplate> chatTemplates; // what the blob stores
  std::string bosToken, eosToken; // their texts, "" when none
};

/// Reads the tokenizer beside `modelPath` (a model folder or a GGUF file),
/// checks the blob it makes with the runtime's own reader (so a pattern
/// PCRE2 refuses fails the compile, not the model's open), and assembles it
/// for `target` into `scratchDir`. std::nullopt when the model has none.
/// A `chatTemplateFile` replaces the model's default chat template.
llvm::Expected<std::optional<TokenizerEmbedding>>
embedTokenizer(const std::string &modelPath, int64_t vocabSize, const codegen::TargetSpec &target,
               const std::string &scratchDir, const std::string &chatTemplateFile);

} // namespace hybridc

#endif // HYBRIDC_COMPILE_TOKENIZERSTAGE_H
