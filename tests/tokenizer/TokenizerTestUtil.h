//===- TokenizerTestUtil.h - the tokenizer tests' shared pieces -*- C++ -*-===//
//
// The corpus and the reference's expected ids (tests/data/tokenizers,
// written by tests/tokenizer/reference/make_expected.mjs), and the runtime's
// engine opened on the blob hybridc compiles from a tokenizer file: the same
// bytes and the same code a model library runs.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_TOKENIZER_TOKENIZERTESTUTIL_H
#define HYBRIDC_TESTS_TOKENIZER_TOKENIZERTESTUTIL_H

#include "hybridc/Tokenizer/Tokenizer.h"
#include "hybridc/text_abi.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hybridc::test {

std::string tokenizerDataDir(); // tests/data/tokenizers

/// One corpus line: its bytes (not always UTF-8) and whether it was given as
/// text (then decode must give it back).
struct CorpusEntry {
  std::string bytes;
  bool isText = true;
};
const std::vector<CorpusEntry> &corpus();

/// The reference's results for one corpus line.
struct Expected {
  std::vector<int32_t> ids;                    // PARSE_SPECIAL
  std::optional<std::vector<int32_t>> special; // ADD_SPECIAL | PARSE_SPECIAL, when different
  std::optional<std::vector<int32_t>> plain;   // no flags, when different
  std::optional<std::string> decoded;          // decode(ids), when not the input
};
/// expected.jsonl of tests/data/tokenizers/<name>.
const std::vector<Expected> &expectedFor(const std::string &name);

/// The engine on a blob; frees both.
class Engine {
public:
  explicit Engine(std::vector<uint8_t> blob, int32_t vocab = 0);
  ~Engine();
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;
  bool ok() const { return tokenizer != nullptr; }
  const std::string &error() const { return openError; }
  const hybridc_rt_tokenizer *get() const { return tokenizer; }

  /// encode / decode, failing the test on an error status.
  std::vector<int32_t> encode(const std::string &text, int32_t flags) const;
  std::string decode(const std::vector<int32_t> &ids) const;

private:
  std::vector<uint8_t> blob;
  hybridc_rt_tokenizer *tokenizer = nullptr;
  std::string openError;
};

/// readTokenizer + serializeTokenizer on tests/data/tokenizers/<name>, one
/// engine per name for the whole test program.
const Engine &engineFor(const std::string &name);

/// A readable rendering of bytes for failure messages.
std::string show(const std::string &bytes);
std::string show(const std::vector<int32_t> &ids);

} // namespace hybridc::test

#endif // HYBRIDC_TESTS_TOKENIZER_TOKENIZERTESTUTIL_H
