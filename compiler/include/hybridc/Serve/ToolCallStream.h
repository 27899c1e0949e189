//===- ToolCallStream.h - a chat reply streamed while tools are offered -*- C++ -*-===//
//
// A streamed chat reply is sent as it is generated, but a tool call must
// reach the client whole, as OpenAI's tool_calls delta, not as text.
// ToolCallStream passes text through until a call's opening tag appears
// (holding back what may be its start), keeps everything from the tag on,
// and at the end parses the whole reply (ToolCalls.h): the calls, or the
// held text when it was no call after all.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_SERVE_TOOLCALLSTREAM_H
#define HYBRIDC_SERVE_TOOLCALLSTREAM_H

#include "hybridc/Chat/ToolCalls.h"

#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace hybridc::serve {

class ToolCallStream {
public:
  /// Adds generated text; returns what can be streamed now.
  std::string push(llvm::StringRef text);

  struct End {
    std::vector<ToolCall> calls;
    std::string text; // held text to stream still (when there are no calls)
  };
  End finish() const;

private:
  std::string reply; // all of it
  std::string held;  // not streamed yet
  bool inCall = false;
};

} // namespace hybridc::serve

#endif // HYBRIDC_SERVE_TOOLCALLSTREAM_H
