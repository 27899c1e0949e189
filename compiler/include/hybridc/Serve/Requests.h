//===- Requests.h - OpenAI requests, checked and typed -----------*- C++ -*-===//
//
// The bodies of POST /v1/completions, /v1/chat/completions, /tokenize and
// /detokenize, parsed from JSON into the typed requests the engine runs.
// Every field is checked here, once: a wrong type, a value out of range, a
// token id outside the vocabulary or an unknown model is a 400/404 ApiError
// naming the field. Fields the server does not implement are refused when
// they would change the result (n > 1, a non-zero presence_penalty, ...) and
// ignored when they would not (user, logit_bias: {}), so a client never gets
// a silently different answer. No HTTP here: the fuzz target calls these.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_SERVE_REQUESTS_H
#define HYBRIDC_SERVE_REQUESTS_H

#include "hybridc/Chat/JinjaValue.h"
#include "hybridc/Run/LibraryText.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hybridc::serve {

/// What the parser checks requests against.
struct RequestLimits {
  std::string modelName;      // the one model served (/v1/models)
  int32_t vocab = 0;          // token ids must be in [0, vocab)
  int64_t maxContext = 0;     // prompt + generated tokens of one request
  size_t maxStopStrings = 16;
  size_t maxStopBytes = 1024; // each
};

enum class Endpoint { Completion, ChatCompletion };

/// One generation, as the engine runs it once the prompt is tokens.
struct GenerationRequest {
  Endpoint endpoint = Endpoint::Completion;
  std::string model;                  // as the client named it (echoed back)
  // /v1/completions: the prompt as text, or as token ids.
  std::optional<std::string> promptText;
  std::vector<int32_t> promptTokens;
  // /v1/chat/completions: passed to the chat template as given.
  jinja::JinjaValue messages;
  std::optional<jinja::JinjaValue> tools; // absent, or tool_choice "none"
  std::optional<std::string> templateName; // chat_template_name (a hybridc extension)
  /// Tokens to generate at most; unset: until the context limit
  /// (chat) or 16 (completions, as OpenAI's default).
  std::optional<int64_t> maxTokens;
  SamplerSettings sampling;           // temperature 0: greedy
  std::vector<std::string> stop;
  bool stream = false;
  bool includeUsage = false;          // stream_options.include_usage
  bool ignoreEos = false;             // ignore_eos: generate past end-of-text (benchmarks)
  bool returnTokens = false;          // return_tokens: the ids beside the text (as llama-server)
};

llvm::Expected<GenerationRequest> parseGenerationRequest(llvm::StringRef body, Endpoint endpoint,
                                                         const RequestLimits &limits);

/// POST /tokenize: {"content": text, "add_special": bool, "parse_special": bool}.
struct TokenizeRequest {
  std::string content;
  bool addSpecial = false;
  bool parseSpecial = true;
};
llvm::Expected<TokenizeRequest> parseTokenizeRequest(llvm::StringRef body);

/// POST /detokenize: {"tokens": [ids]}.
llvm::Expected<std::vector<int32_t>> parseDetokenizeRequest(llvm::StringRef body,
                                                            const RequestLimits &limits);

/// POST /slots/{id}?action=save|restore: {"filename": name}; a plain file
/// name (no '/', no leading '.'), so a client cannot reach outside the
/// server's --cache-dir.
llvm::Expected<std::string> parseSlotFileRequest(llvm::StringRef body);

} // namespace hybridc::serve

#endif // HYBRIDC_SERVE_REQUESTS_H
