//===- Responses.cpp - OpenAI's response shapes -----------------------------===//
#include "hybridc/Serve/Responses.h"

#include <nlohmann/json.hpp>

namespace hybridc::serve {
namespace {

using Json = nlohmann::ordered_json;

std::string dump(const Json &j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

const char *objectName(const ResponseHeader &h, bool chunk) {
  if (h.endpoint == Endpoint::Completion)
    return "text_completion";
  return chunk ? "chat.completion.chunk" : "chat.completion";
}

Json base(const ResponseHeader &h, bool chunk) {
  Json j;
  j["id"] = h.id;
  j["object"] = objectName(h, chunk);
  j["created"] = h.created;
  j["model"] = h.model;
  return j;
}

Json usage(const Generation &g) {
  Json u;
  u["prompt_tokens"] = g.promptTokens;
  u["completion_tokens"] = g.completionTokens;
  u["total_tokens"] = g.promptTokens + g.completionTokens;
  u["prompt_tokens_details"] = {{"cached_tokens", g.cachedTokens}};
  return u;
}

/// hybridc's own timings, beside OpenAI's fields (clients ignore them).
Json timings(const Generation &g) {
  Json t;
  t["queued_ms"] = g.queuedSeconds * 1e3;
  t["prompt_ms"] = g.promptSeconds * 1e3;
  t["first_token_ms"] = g.firstTokenSeconds * 1e3;
  t["generation_ms"] = g.generationSeconds * 1e3;
  t["cached_tokens"] = g.cachedTokens;
  t["slot"] = g.slot;
  return t;
}

Json toolCallsJson(const std::vector<ToolCall> &calls, bool indexed) {
  Json list = Json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    Json c;
    if (indexed)
      c["index"] = i;
    c["id"] = calls[i].id;
    c["type"] = "function";
    c["function"] = {{"name", calls[i].name}, {"arguments", calls[i].arguments}};
    list.push_back(std::move(c));
  }
  return list;
}

} // namespace

std::string errorBody(const ApiError &e) {
  Json err;
  err["message"] = e.message;
  err["type"] = e.type;
  err["param"] = e.param.empty() ? Json(nullptr) : Json(e.param);
  err["code"] = e.code.empty() ? Json(nullptr) : Json(e.code);
  Json j;
  j["error"] = std::move(err);
  return dump(j);
}

const char *finishReasonName(FinishReason r, bool toolCalls) {
  if (toolCalls)
    return "tool_calls";
  return r == FinishReason::Length ? "length" : "stop";
}

std::string completionBody(const ResponseHeader &h, const std::string &reply, bool withTools,
                           bool withTokens, const Generation &g) {
  Json j = base(h, false);
  Json choice;
  choice["index"] = 0;
  bool calls = false;
  if (h.endpoint == Endpoint::Completion) {
    choice["text"] = reply;
    choice["logprobs"] = nullptr;
  } else {
    Json message;
    message["role"] = "assistant";
    if (withTools) {
      ParsedReply parsed = parseToolCalls(reply);
      calls = !parsed.toolCalls.empty();
      message["content"] = calls && parsed.content.empty() ? Json(nullptr) : Json(parsed.content);
      if (calls)
        message["tool_calls"] = toolCallsJson(parsed.toolCalls, false);
    } else {
      message["content"] = reply;
    }
    choice["message"] = std::move(message);
  }
  choice["finish_reason"] = finishReasonName(g.reason, calls);
  if (withTokens)
    choice["tokens"] = g.tokens;
  j["choices"] = Json::array({std::move(choice)});
  j["usage"] = usage(g);
  j["timings"] = timings(g);
  return dump(j);
}

std::string textChunk(const ResponseHeader &h, const std::string &text) {
  Json j = base(h, true);
  Json choice;
  choice["index"] = 0;
  if (h.endpoint == Endpoint::Completion)
    choice["text"] = text;
  else
    choice["delta"] = {{"content", text}};
  choice["finish_reason"] = nullptr;
  j["choices"] = Json::array({std::move(choice)});
  return dump(j);
}

std::string roleChunk(const ResponseHeader &h) {
  Json j = base(h, true);
  Json choice;
  choice["index"] = 0;
  choice["delta"] = {{"role", "assistant"}, {"content", ""}};
  choice["finish_reason"] = nullptr;
  j["choices"] = Json::array({std::move(choice)});
  return dump(j);
}

std::string finishChunk(const ResponseHeader &h, FinishReason reason,
                        const std::vector<ToolCall> &calls) {
  Json j = base(h, true);
  Json choice;
  choice["index"] = 0;
  if (h.endpoint == Endpoint::Completion) {
    choice["text"] = "";
  } else {
    Json delta = Json::object();
    if (!calls.empty())
      delta["tool_calls"] = toolCallsJson(calls, true);
    choice["delta"] = std::move(delta);
  }
  choice["finish_reason"] = finishReasonName(reason, !calls.empty());
  j["choices"] = Json::array({std::move(choice)});
  return dump(j);
}

std::string usageChunk(const ResponseHeader &h, const Generation &g) {
  Json j = base(h, true);
  j["choices"] = Json::array();
  j["usage"] = usage(g);
  j["timings"] = timings(g);
  return dump(j);
}

} // namespace hybridc::serve
