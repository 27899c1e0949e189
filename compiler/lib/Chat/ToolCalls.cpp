//===- ToolCalls.cpp - tool calls in a model's reply ----------------------===//
#include "hybridc/Chat/ToolCalls.h"
#include "hybridc/Chat/JsonText.h"

#include "PythonText.h"

using namespace hybridc;
using namespace hybridc::jinja;

namespace {
constexpr llvm::StringLiteral kOpen("<tool_call>"), kClose("</tool_call>");

/// The call in one block's body, or false when it is not a well-formed one.
bool parseCall(llvm::StringRef body, ToolCall &call) {
  llvm::Expected<JinjaValue> v = parseJson(body.trim(), "tool call");
  if (!v) {
    llvm::consumeError(v.takeError());
    return false;
  }
  if (!v->isDict())
    return false;
  const JinjaDict &d = v->getDict();
  const JinjaValue *name = d.find("name");
  if (!name || !name->isString() || name->getString().empty())
    return false;
  call.name = name->getString();
  const JinjaValue *args = d.find("arguments");
  if (!args)
    args = d.find("parameters");
  if (!args || args->isNone()) {
    call.arguments = "{}";
    return true;
  }
  if (args->isString()) {
    // Already JSON text: it must hold an object.
    llvm::Expected<JinjaValue> inner = parseJson(args->getString(), "arguments");
    if (!inner) {
      llvm::consumeError(inner.takeError());
      return false;
    }
    if (!inner->isDict())
      return false;
    call.arguments = args->getString();
    return true;
  }
  if (!args->isDict())
    return false;
  llvm::Expected<std::string> text = dumpJson(*args);
  if (!text) {
    llvm::consumeError(text.takeError());
    return false;
  }
  call.arguments = std::move(*text);
  return true;
}
} // namespace

ParsedReply hybridc::parseToolCalls(llvm::StringRef reply, unsigned firstId) {
  ParsedReply out;
  std::string text;
  llvm::StringRef rest = reply;
  while (true) {
    size_t open = rest.find(kOpen);
    if (open == llvm::StringRef::npos)
      break;
    size_t close = rest.find(kClose, open + kOpen.size());
    if (close == llvm::StringRef::npos)
      break; // an unfinished block stays text
    llvm::StringRef body = rest.slice(open + kOpen.size(), close);
    // A second <tool_call> before the close: the first one is malformed.
    size_t nested = body.find(kOpen);
    if (nested != llvm::StringRef::npos) {
      text += rest.substr(0, open + kOpen.size() + nested).str();
      rest = rest.substr(open + kOpen.size() + nested);
      continue;
    }
    ToolCall call;
    if (parseCall(body, call)) {
      text += rest.substr(0, open).str();
      call.id = "call_" + std::to_string(firstId + out.toolCalls.size());
      out.toolCalls.push_back(std::move(call));
    } else {
      text += rest.substr(0, close + kClose.size()).str();
    }
    rest = rest.substr(close + kClose.size());
  }
  text += rest.str();
  out.content = py::strip(text, nullptr, true, true);
  return out;
}

JinjaValue hybridc::toolCallValue(const ToolCall &call) {
  JinjaDict fn;
  fn.set(JinjaValue::string("name"), JinjaValue::string(call.name));
  fn.set(JinjaValue::string("arguments"), JinjaValue::string(call.arguments));
  JinjaDict d;
  d.set(JinjaValue::string("id"), JinjaValue::string(call.id));
  d.set(JinjaValue::string("type"), JinjaValue::string("function"));
  d.set(JinjaValue::string("function"), JinjaValue::dict(std::move(fn)));
  return JinjaValue::dict(std::move(d));
}

JinjaValue hybridc::assistantMessage(const ParsedReply &reply) {
  JinjaDict m;
  m.set(JinjaValue::string("role"), JinjaValue::string("assistant"));
  m.set(JinjaValue::string("content"), JinjaValue::string(reply.content));
  if (!reply.toolCalls.empty()) {
    ValueList calls;
    for (const ToolCall &c : reply.toolCalls)
      calls.push_back(toolCallValue(c));
    m.set(JinjaValue::string("tool_calls"), JinjaValue::list(std::move(calls)));
  }
  return JinjaValue::dict(std::move(m));
}
