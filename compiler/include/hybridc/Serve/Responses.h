//===- Responses.h - OpenAI's response shapes ---------------------*- C++ -*-===//
//
// The JSON bodies the server answers with: a completion and a chat
// completion, whole or as server-sent chunks, usage, and the error object.
// Text is written as valid UTF-8 whatever the model produced (a reply cut
// inside a character ends in U+FFFD).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_SERVE_RESPONSES_H
#define HYBRIDC_SERVE_RESPONSES_H

#include "hybridc/Chat/ToolCalls.h"
#include "hybridc/Serve/ApiError.h"
#include "hybridc/Serve/Engine.h"
#include "hybridc/Serve/Requests.h"

#include <cstdint>
#include <string>

namespace hybridc::serve {

/// What every response of one request repeats.
struct ResponseHeader {
  Endpoint endpoint = Endpoint::Completion;
  std::string id;      // cmpl-N / chatcmpl-N
  int64_t created = 0; // Unix seconds
  std::string model;
};

std::string errorBody(const ApiError &e);

/// "stop", "length" or "tool_calls".
const char *finishReasonName(FinishReason r, bool toolCalls);

/// The whole response. For a chat with tools, `reply` is split into content
/// and tool_calls (ToolCalls.h).
std::string completionBody(const ResponseHeader &h, const std::string &reply, bool withTools,
                           bool withTokens, const Generation &g);

/// Streaming: a chunk of text; the chat's first chunk names the role.
std::string textChunk(const ResponseHeader &h, const std::string &text);
std::string roleChunk(const ResponseHeader &h);
/// The last chunk: the finish reason (and a chat's tool calls).
std::string finishChunk(const ResponseHeader &h, FinishReason reason,
                        const std::vector<ToolCall> &calls);
/// stream_options.include_usage: a chunk with no choices and the usage.
std::string usageChunk(const ResponseHeader &h, const Generation &g);

} // namespace hybridc::serve

#endif // HYBRIDC_SERVE_RESPONSES_H
