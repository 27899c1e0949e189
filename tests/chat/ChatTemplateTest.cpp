//===- ChatTemplateTest.cpp - a conversation through the Granite-style template ===//
//
// The whole path `hybridc chat-template` takes: the context built from
// messages and tools, the test Granite 4.0-style template rendered, and a
// reply's tool calls parsed and rendered back.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Chat/ChatTemplate.h"
#include "hybridc/Chat/ChatTemplateSource.h"
#include "hybridc/Chat/JsonText.h"
#include "hybridc/Chat/ToolCalls.h"

#include <gtest/gtest.h>

using namespace hybridc;

namespace {
std::string renderGranite(const std::string &messages, const char *tools, bool generation) {
  llvm::Expected<ChatTemplateSet> set =
      loadChatTemplates(HYBRIDC_GRANITE_TEMPLATE);
  if (!set)
    return "ERROR: " + llvm::toString(set.takeError());
  llvm::Expected<ChatTemplate> t = ChatTemplate::parse(set->templates[0].second, "granite");
  if (!t)
    return "ERROR: " + llvm::toString(t.takeError());
  ChatInputs in;
  in.messages = *jinja::parseJson(messages, "messages");
  if (tools)
    in.tools = *jinja::parseJson(tools, "tools");
  in.addGenerationPrompt = generation;
  llvm::Expected<jinja::JinjaValue> ctx = buildChatContext(in);
  if (!ctx)
    return "ERROR: " + llvm::toString(ctx.takeError());
  llvm::Expected<std::string> out = t->render(*ctx);
  return out ? *out : "ERROR: " + llvm::toString(out.takeError());
}
} // namespace

TEST(ChatTemplate, GraniteStyleDefaultSystemMessage) {
  EXPECT_EQ(renderGranite(R"([{"role": "user", "content": "Hi"}])", nullptr, true),
            "<|start_of_role|>system<|end_of_role|>You are a helpful assistant. Please ensure "
            "responses are professional, accurate, and safe.<|end_of_text|>\n"
            "<|start_of_role|>user<|end_of_role|>Hi<|end_of_text|>\n"
            "<|start_of_role|>assistant<|end_of_role|>");
}

TEST(ChatTemplate, GraniteStyleToolsAndToolResults) {
  const char *tools = R"([{"type": "function", "function": {"name": "f", "parameters": {}}}])";
  std::string out = renderGranite(
      R"([{"role": "system", "content": "Be brief."},
          {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
          {"role": "assistant", "content": "", "tool_calls": [
             {"type": "function", "function": {"name": "f", "arguments": {"x": 1}}},
             {"type": "function", "function": {"name": "f", "arguments": "{\"x\": 2}"}}]},
          {"role": "tool", "content": "one"}, {"role": "tool", "content": "two"}])",
      tools, false);
  EXPECT_NE(out.find("<|start_of_role|>system<|end_of_role|>Be brief.\n\nYou can use the tools"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"f\", "
                     "\"parameters\": {}}}\n</tools>"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("<|start_of_role|>user<|end_of_role|>a\nb<|end_of_text|>\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("<|start_of_role|>assistant<|end_of_role|><tool_call>\n{\"name\": \"f\", "
                     "\"arguments\": {\"x\": 1}}\n</tool_call>\n<tool_call>\n{\"name\": \"f\", "
                     "\"arguments\": {\"x\": 2}}\n</tool_call><|end_of_text|>\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("<|start_of_role|>user<|end_of_role|>\n<tool_response>\none\n</tool_response>"
                     "\n<tool_response>\ntwo\n</tool_response><|end_of_text|>\n"),
            std::string::npos)
      << out;
}

TEST(ChatTemplate, ParsedReplyRendersBack) {
  ParsedReply reply = parseToolCalls(
      "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"city\": \"Zürich\"}}\n</tool_call>");
  llvm::Expected<std::string> msg = jinja::dumpJson(assistantMessage(reply));
  ASSERT_TRUE(bool(msg));
  std::string out = renderGranite("[{\"role\": \"user\", \"content\": \"q\"}, " + *msg + "]",
                                  nullptr, false);
  EXPECT_NE(out.find("<|start_of_role|>assistant<|end_of_role|><tool_call>\n{\"name\": \"f\", "
                     "\"arguments\": {\"city\": \"Zürich\"}}\n</tool_call><|end_of_text|>\n"),
            std::string::npos)
      << out;
}

TEST(ChatTemplate, ContextHasHuggingFacesVariables) {
  llvm::Expected<ChatTemplate> t = ChatTemplate::parse(
      "{{ tools is none }} {{ documents is none }} {{ add_generation_prompt }} {{ bos_token }} "
      "{{ eos_token }} {{ enable_thinking }}",
      "vars");
  ASSERT_TRUE(bool(t));
  ChatInputs in;
  in.messages = *jinja::parseJson("[]", "m");
  in.bosToken = "<s>";
  in.eosToken = "</s>";
  in.extra.emplace_back("enable_thinking", jinja::JinjaValue::boolean(false));
  llvm::Expected<jinja::JinjaValue> ctx = buildChatContext(in);
  ASSERT_TRUE(bool(ctx));
  llvm::Expected<std::string> out = t->render(*ctx);
  ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
  EXPECT_EQ(*out, "True True False <s> </s> False");
}
