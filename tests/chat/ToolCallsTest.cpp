//===- ToolCallsTest.cpp - tool calls in a model's reply ------------------===//
#include "hybridc/Chat/JsonText.h"
#include "hybridc/Chat/ToolCalls.h"

#include <gtest/gtest.h>

using namespace hybridc;

TEST(ToolCalls, ObjectArguments) {
  ParsedReply r = parseToolCalls(
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"n\": 2}}\n"
      "</tool_call>");
  EXPECT_EQ(r.content, "");
  ASSERT_EQ(r.toolCalls.size(), 1u);
  EXPECT_EQ(r.toolCalls[0].id, "call_0");
  EXPECT_EQ(r.toolCalls[0].name, "get_weather");
  EXPECT_EQ(r.toolCalls[0].arguments, "{\"city\": \"Paris\", \"n\": 2}");
}

TEST(ToolCalls, StringArgumentsArePassedThrough) {
  ParsedReply r = parseToolCalls(
      "<tool_call>{\"name\": \"search\", \"arguments\": \"{\\\"query\\\": \\\"caf\\u00e9\\\"}\"}"
      "</tool_call>");
  ASSERT_EQ(r.toolCalls.size(), 1u);
  EXPECT_EQ(r.toolCalls[0].arguments, "{\"query\": \"café\"}");
}

TEST(ToolCalls, SeveralCallsAndTextAround) {
  ParsedReply r = parseToolCalls(
      "Let me check.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n"
      "<tool_call>\n{\"name\": \"b\"}\n</tool_call>\nDone.",
      5);
  EXPECT_EQ(r.content, "Let me check.\n\n\nDone.");
  ASSERT_EQ(r.toolCalls.size(), 2u);
  EXPECT_EQ(r.toolCalls[0].id, "call_5");
  EXPECT_EQ(r.toolCalls[1].id, "call_6");
  EXPECT_EQ(r.toolCalls[1].name, "b");
  EXPECT_EQ(r.toolCalls[1].arguments, "{}");
}

TEST(ToolCalls, MalformedBlocksStayText) {
  for (const char *reply : {
           "<tool_call>{not json}</tool_call>",
           "<tool_call>{\"arguments\": {}}</tool_call>",
           "<tool_call>{\"name\": 3}</tool_call>",
           "<tool_call>[1, 2]</tool_call>",
           "<tool_call>{\"name\": \"x\", \"arguments\": \"not json\"}</tool_call>",
           "<tool_call>{\"name\": \"x\", \"arguments\": [1]}</tool_call>",
           "<tool_call>{\"name\": \"x\"",
           "</tool_call> stray close",
       }) {
    ParsedReply r = parseToolCalls(reply);
    EXPECT_TRUE(r.toolCalls.empty()) << reply;
    EXPECT_EQ(r.content, reply) << reply;
  }
  // A good call after a malformed one is still found.
  ParsedReply r = parseToolCalls("<tool_call>oops<tool_call>{\"name\": \"ok\"}</tool_call>");
  ASSERT_EQ(r.toolCalls.size(), 1u);
  EXPECT_EQ(r.toolCalls[0].name, "ok");
  EXPECT_EQ(r.content, "<tool_call>oops");
}

TEST(ToolCalls, OpenAIShape) {
  ParsedReply r = parseToolCalls("hi <tool_call>{\"name\": \"f\", \"arguments\": {\"x\": 1}}</tool_call>");
  llvm::Expected<std::string> json = jinja::dumpJson(assistantMessage(r));
  ASSERT_TRUE(bool(json));
  EXPECT_EQ(*json, "{\"role\": \"assistant\", \"content\": \"hi\", \"tool_calls\": [{\"id\": "
                   "\"call_0\", \"type\": \"function\", \"function\": {\"name\": \"f\", "
                   "\"arguments\": \"{\\\"x\\\": 1}\"}}]}");
}
