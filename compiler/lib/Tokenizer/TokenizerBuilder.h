//===- TokenizerBuilder.h - from a file's strings to a TokenizerSpec -*- C++ -*-===//
//
// tokenizer.json and GGUF spell a tokenizer the same way underneath: a
// vocabulary of byte-level strings with ids, merges as pairs of those
// strings, added tokens with their text. Their readers fill a RawTokenizer;
// finishTokenizer resolves it (ids of merges, keys as raw bytes, the byte
// table, byte fallback, the template) and checks it, naming the file and
// field of anything wrong.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_MODEL_TOKENIZERBUILDER_H
#define HYBRIDC_MODEL_TOKENIZERBUILDER_H

#include "hybridc/Tokenizer/Tokenizer.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hybridc {

struct RawTokenizer {
  struct Added {
    int32_t id = -1;
    std::string content;
    bool special = false, lstrip = false, rstrip = false;
    std::string where; // e.g. "added_tokens[3]"
  };
  struct Merge {
    std::string left, right;
    std::string where; // e.g. "model.merges[17]"
  };
  std::string source;                                   // the file
  std::vector<std::pair<std::string, int64_t>> vocab;   // byte-level string, id
  std::string vocabWhere = "model.vocab";
  std::vector<Merge> merges;
  std::vector<Added> added;
  std::vector<TokenizerSpec::Step> steps;
  // The post-processor's template: token texts, std::nullopt for the input.
  std::vector<std::optional<std::string>> templ;
  std::string templWhere;
  std::optional<std::string> unk;   // the unknown token's text
  std::string unkWhere;
  bool byteFallback = false, ignoreMerges = false;
  // BOS / EOS, by text (tokenizer_config.json) or by id (GGUF).
  std::optional<std::string> bosText, eosText;
  std::optional<int64_t> bosId, eosId;
  std::string bosWhere, eosWhere;
  std::vector<TokenizerSpec::ChatTemplate> chatTemplates;
};

/// Resolves and checks `raw`.
llvm::Expected<TokenizerSpec> finishTokenizer(RawTokenizer raw);

} // namespace hybridc

#endif // HYBRIDC_MODEL_TOKENIZERBUILDER_H
