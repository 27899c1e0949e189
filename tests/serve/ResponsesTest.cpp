//===- ResponsesTest.cpp - tool calls in responses, streamed and whole --------===//
//
// The test model has random weights and never asks for a tool, so the
// shapes a real model's tool call takes are tested here: the whole
// response's tool_calls and finish reason, and the stream that holds a
// call back and sends it as one delta.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Serve/Responses.h"
#include "hybridc/Serve/ToolCallStream.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace hybridc::serve;
using Json = nlohmann::json;

namespace {

const char *kCall = "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                    "{\"city\": \"Paris\"}}\n</tool_call>";

ResponseHeader chatHeader() {
  ResponseHeader h;
  h.endpoint = Endpoint::ChatCompletion;
  h.id = "chatcmpl-1";
  h.created = 1;
  h.model = "m";
  return h;
}

TEST(Responses, WholeReplyWithToolCall) {
  Generation g;
  g.reason = FinishReason::Stop;
  g.promptTokens = 10;
  g.completionTokens = 20;
  Json j = Json::parse(completionBody(chatHeader(), kCall, /*withTools=*/true, false, g));
  const Json &choice = j["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_EQ(choice["message"]["content"], "Let me look.");
  const Json &call = choice["message"]["tool_calls"][0];
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "get_weather");
  EXPECT_EQ(Json::parse(call["function"]["arguments"].get<std::string>()),
            Json::parse(R"({"city": "Paris"})"));
  EXPECT_EQ(j["usage"]["total_tokens"], 30);
}

TEST(Responses, NoToolsNoParsing) {
  Generation g;
  Json j = Json::parse(completionBody(chatHeader(), kCall, /*withTools=*/false, false, g));
  EXPECT_EQ(j["choices"][0]["message"]["content"], kCall);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
}

TEST(Responses, ErrorObject) {
  Json j = Json::parse(errorBody(ApiError(400, "invalid_request_error", "bad \xff byte", "x")));
  EXPECT_EQ(j["error"]["param"], "x");
  EXPECT_TRUE(j["error"]["code"].is_null());
  EXPECT_NE(j["error"]["message"].get<std::string>().find("\xEF\xBF\xBD"), std::string::npos);
}

TEST(ToolCallStream, TextBeforeTheCallIsStreamedTheCallIsNot) {
  ToolCallStream s;
  std::string streamed;
  // Token-sized pieces, the tag split across them.
  std::string reply = kCall;
  for (size_t i = 0; i < reply.size(); i += 3)
    streamed += s.push(llvm::StringRef(reply).substr(i, 3));
  EXPECT_EQ(streamed, "Let me look.\n");
  ToolCallStream::End end = s.finish();
  ASSERT_EQ(end.calls.size(), 1u);
  EXPECT_EQ(end.calls[0].name, "get_weather");
  EXPECT_EQ(end.text, "");
  std::string last = finishChunk(chatHeader(), FinishReason::Stop, end.calls);
  Json j = Json::parse(last);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(j["choices"][0]["delta"]["tool_calls"][0]["index"], 0);
  EXPECT_EQ(j["object"], "chat.completion.chunk");
}

TEST(ToolCallStream, HeldTextThatIsNoCallIsSentAtTheEnd) {
  ToolCallStream s;
  EXPECT_EQ(s.push("a <tool"), "a ");
  EXPECT_EQ(s.push("box> b"), "<toolbox> b");
  EXPECT_EQ(s.push(" <tool_call> not json"), " ");
  ToolCallStream::End end = s.finish();
  EXPECT_TRUE(end.calls.empty());
  EXPECT_EQ(end.text, "<tool_call> not json");
}

} // namespace
