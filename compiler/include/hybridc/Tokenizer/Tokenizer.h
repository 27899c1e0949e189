//===- Tokenizer.h - a model's tokenizer, read and resolved -----*- C++ -*-===//
//
// The tokenizer of a model folder (tokenizer.json, tokenizer_config.json) or
// of a GGUF file (tokenizer.ggml.*), resolved into what the runtime's engine
// needs (runtime/include/hybridc/text_abi.h): every token as raw bytes, the
// merges as id triples by rank, the added tokens, the pre-tokenizer as PCRE2
// split steps and the post-processor's template. hybridc implements byte-
// level BPE (GPT-2, cl100k, Llama 3, Granite 4.0); anything else a file asks
// for is an error naming the field, never a tokenizer that silently gives
// other ids than the reference (Hugging Face's tokenizers.js).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TOKENIZER_TOKENIZER_H
#define HYBRIDC_TOKENIZER_TOKENIZER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hybridc {

class GgufFile;

struct TokenizerSpec {
  struct Token {
    bool present = false;
    std::string piece; // the bytes it decodes to
    std::string key;   // the bytes BPE knows it by ("" when BPE never makes it)
    bool vocab = false; // key is a BPE vocabulary entry
    bool alias = false; // added token whose text BPE also looks up (its key)
    bool added = false, special = false, lstrip = false, rstrip = false;
  };
  struct Step {
    bool prefixSpace = false; // else a split
    bool isolated = true;     // split: keep the text between matches too
    std::string pattern;      // split: PCRE2 (UTF, UCP)
  };
  /// A chat template the model ships (Jinja text), stored with the
  /// tokenizer so a compiled library returns it (P_chat_template).
  struct ChatTemplate {
    std::string name; // "default", "tool_use", ...
    std::string text;
  };

  std::string source;                           // the file, for messages
  std::vector<Token> tokens;                    // by id
  std::vector<std::array<int32_t, 3>> merges;   // left, right, result; by rank
  std::vector<Step> steps;
  std::vector<int32_t> templ;                   // -1: the input's tokens
  std::array<int32_t, 256> byteToken;           // -1: no token for the byte
  std::array<std::vector<int32_t>, 256> fallback; // a byte without a token becomes these
  int32_t bos = -1, eos = -1;
  bool ignoreMerges = false;
  std::vector<ChatTemplate> chatTemplates; // names unique, "default" first

  int32_t size() const { return static_cast<int32_t>(tokens.size()); }
  /// One line for the compile summary: where from, how many tokens, merges,
  /// added tokens, the pre-tokenizer, BOS/EOS.
  std::string describe() const;
};

/// The tokenizer of `path`: a model folder (its tokenizer.json and, when
/// present, tokenizer_config.json), a tokenizer.json file, or a GGUF file.
/// std::nullopt when it has none (no tokenizer.json; no tokenizer.ggml.model
/// in a GGUF file).
llvm::Expected<std::optional<TokenizerSpec>> readTokenizer(llvm::StringRef path);

/// tokenizer.json, with tokenizer_config.json's bos_token / eos_token and
/// chat_template when `configPath` is not empty (a chat_template.jinja file
/// beside it is the default template when the config names none).
llvm::Expected<TokenizerSpec> readTokenizerJson(llvm::StringRef jsonPath,
                                                llvm::StringRef configPath);
/// A GGUF file's tokenizer.ggml.* metadata (tokenizer.ggml.model "gpt2") and
/// its chat templates (tokenizer.chat_template, tokenizer.chat_template.NAME).
llvm::Expected<std::optional<TokenizerSpec>> readTokenizerGguf(const GgufFile &file);

/// The chat templates of a tokenizer_config.json (`config`, read from
/// `configPath`): its chat_template (a string, or a list of named ones), and
/// a chat_template.jinja beside it as the default (ChatTemplates.cpp).
llvm::Expected<std::vector<TokenizerSpec::ChatTemplate>>
chatTemplatesOfConfig(const llvm::json::Object &config, llvm::StringRef configPath);
/// A GGUF file's tokenizer.chat_template and tokenizer.chat_template.NAME.
llvm::Expected<std::vector<TokenizerSpec::ChatTemplate>> chatTemplatesOfGguf(const GgufFile &file);
/// tokenizer_config.json's bos_token / eos_token (`key`): a string or an
/// added token's {"content": ...}; std::nullopt when absent or null.
llvm::Expected<std::optional<std::string>>
specialTokenOfConfig(const llvm::json::Object &config, llvm::StringRef key,
                     llvm::StringRef configPath);
/// Checks a chat template list (names unique, 1 to 64 bytes; texts without
/// NUL bytes and at most kMaxChatTemplateBytes; at most 64 templates) and
/// puts "default" first; `where` names its origin in errors.
constexpr size_t kMaxChatTemplateBytes = size_t(1) << 20;
llvm::Error checkChatTemplates(std::vector<TokenizerSpec::ChatTemplate> &templates,
                               llvm::StringRef where);

/// The runtime's blob of `spec` (text_abi.h, docs/formats.md).
std::vector<uint8_t> serializeTokenizer(const TokenizerSpec &spec);

/// The PCRE2 pattern that matches what tokenizers.js matches with a
/// tokenizer.json Split pattern (an Oniguruma regex it translates to a
/// JavaScript one): \s is Unicode White_Space, (?i:...) folds ASCII letters
/// only, ... . Constructs hybridc does not translate are an error naming
/// them and their offset.
llvm::Expected<std::string> translateSplitPattern(llvm::StringRef pattern);
/// The PCRE2 pattern of the ByteLevel pre-tokenizer's own split (GPT-2's
/// pattern, \s as JavaScript's).
const std::string &byteLevelSplitPattern();

/// GPT-2's byte-level alphabet: the character standing for each byte.
uint32_t byteLevelChar(uint8_t byte);
/// The raw bytes of a byte-level string; false if a character of it is not
/// in the alphabet (or it is not UTF-8).
bool byteLevelToBytes(llvm::StringRef text, std::string &bytes);
/// What tokenizers.js's ByteLevel decoder makes of a token's characters:
/// each alphabet character its byte, any other character a 0 byte.
std::string byteLevelDecode(llvm::StringRef text);

} // namespace hybridc

#endif // HYBRIDC_TOKENIZER_TOKENIZER_H
