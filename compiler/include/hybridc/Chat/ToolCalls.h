//===- ToolCalls.h - tool calls in a model's reply --------------*- C++ -*-===//
//
// Granite 4 (like Hermes and Qwen) asks for a tool by writing
//   <tool_call>
//   {"name": "get_weather", "arguments": {"city": "Paris"}}
//   </tool_call>
// in its reply, sometimes with "arguments" as an escaped JSON string.
// parseToolCalls splits a reply into its text and OpenAI-shaped calls. A
// block that is not a well-formed call (bad JSON, no name, no closing tag)
// stays in the text: a reply never fails to parse.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CHAT_TOOLCALLS_H
#define HYBRIDC_CHAT_TOOLCALLS_H

#include "hybridc/Chat/JinjaValue.h"

#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace hybridc {

struct ToolCall {
  std::string id;        // "call_<n>"
  std::string name;
  std::string arguments; // a JSON object's text, as OpenAI's "arguments"
};

struct ParsedReply {
  /// The text outside the calls, trimmed of surrounding whitespace.
  std::string content;
  std::vector<ToolCall> toolCalls;
};

/// Splits `reply`; ids count from `firstId` ("call_0", "call_1", ...).
ParsedReply parseToolCalls(llvm::StringRef reply, unsigned firstId = 0);

/// {"id": ..., "type": "function", "function": {"name": ..., "arguments": ...}}
jinja::JinjaValue toolCallValue(const ToolCall &call);

/// An assistant message for the template: {"role": "assistant", "content":
/// ..., "tool_calls": [...]} (tool_calls only when there are some).
jinja::JinjaValue assistantMessage(const ParsedReply &reply);

} // namespace hybridc

#endif // HYBRIDC_CHAT_TOOLCALLS_H
