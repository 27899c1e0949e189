//===- ToolCallStream.cpp - a chat reply streamed while tools are offered ---===//
#include "hybridc/Serve/ToolCallStream.h"

#include "hybridc/Serve/TextStream.h"

namespace hybridc::serve {
namespace {
/// Where Granite's (and Hermes') tool calls start (ToolCalls.h).
constexpr llvm::StringLiteral kOpenTag = "<tool_call>";
} // namespace

std::string ToolCallStream::push(llvm::StringRef text) {
  reply += text.str();
  held += text.str();
  if (inCall)
    return "";
  size_t at = held.find(kOpenTag.data());
  inCall = at != std::string::npos;
  size_t keep = inCall ? held.size() - at : partialMarkerLength(held, kOpenTag);
  std::string out = held.substr(0, held.size() - keep);
  held.erase(0, held.size() - keep);
  return out;
}

ToolCallStream::End ToolCallStream::finish() const {
  End end;
  end.calls = parseToolCalls(reply).toolCalls;
  if (end.calls.empty())
    end.text = held;
  return end;
}

} // namespace hybridc::serve
