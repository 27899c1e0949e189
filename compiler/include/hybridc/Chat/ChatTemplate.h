//===- ChatTemplate.h - a model's chat template, rendered as HF does -*- C++ -*-===//
//
// A chat template turns a conversation (OpenAI-style messages, tools) into
// the prompt text the model was trained on. Hugging Face renders it with
// Python's Jinja2 in an ImmutableSandboxedEnvironment(trim_blocks=True,
// lstrip_blocks=True, extensions=[loopcontrols]) with its own `tojson`
// (json.dumps, ensure_ascii=False) and the globals raise_exception and
// strftime_now; ChatTemplate renders the same subset of Jinja byte for byte
// (docs/chat-templates.md lists what is supported). Anything else is an
// error naming the template, line and column:
//   chat template 'default': line 3, column 17: filter 'xmlattr' is not supported
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CHAT_CHATTEMPLATE_H
#define HYBRIDC_CHAT_CHATTEMPLATE_H

#include "hybridc/Chat/JinjaValue.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hybridc {

namespace jinja {
struct Program;
}

/// Bounds on one render, so that a hostile template fails cleanly instead
/// of hanging or exhausting memory.
struct RenderLimits {
  uint64_t maxOutputBytes = 64u << 20;  // the rendered text
  uint64_t maxValueBytes = 64u << 20;   // any one string built (or list items)
  uint64_t maxIterations = 1000000;     // loop iterations, all loops together
  int maxCallDepth = 64;                // nested macro calls
};

class ChatTemplate {
public:
  /// Parses `source`; `name` names the template in errors ("default",
  /// "tool_use", ...).
  static llvm::Expected<ChatTemplate> parse(std::string source, std::string name);

  /// Renders with `context`, a dict of the template's variables.
  llvm::Expected<std::string> render(const jinja::JinjaValue &context,
                                     const RenderLimits &limits = {}) const;

  const std::string &name() const;

private:
  std::shared_ptr<const jinja::Program> program_;
};

/// What Hugging Face's apply_chat_template passes to a template.
struct ChatInputs {
  jinja::JinjaValue messages;              // a list of message dicts
  std::optional<jinja::JinjaValue> tools;  // a list of tool dicts
  bool addGenerationPrompt = false;
  std::optional<std::string> bosToken, eosToken;
  /// Further variables (--var key=json), set last so they may override.
  std::vector<std::pair<std::string, jinja::JinjaValue>> extra;
};

/// The render context: messages, tools (None when absent, as
/// transformers passes it), documents (None), add_generation_prompt,
/// bos_token/eos_token when known, then `extra`. Errors name the bad input:
/// messages must be a list of dicts, each with a string "role"; tools a
/// list of dicts.
llvm::Expected<jinja::JinjaValue> buildChatContext(const ChatInputs &inputs);

} // namespace hybridc

#endif // HYBRIDC_CHAT_CHATTEMPLATE_H
