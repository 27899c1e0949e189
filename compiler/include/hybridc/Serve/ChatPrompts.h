//===- ChatPrompts.h - chat requests to prompt text ---------------*- C++ -*-===//
//
// A chat completion's messages and tools become the prompt the model was
// trained on through the library's own chat template, rendered as Hugging
// Face renders it (ChatTemplate.h) with add_generation_prompt. Templates
// are parsed once, when the server starts; one that hybridc cannot parse
// is reported then and refused per request, naming it.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_SERVE_CHATPROMPTS_H
#define HYBRIDC_SERVE_CHATPROMPTS_H

#include "hybridc/Chat/ChatTemplate.h"
#include "hybridc/Chat/ChatTemplateSource.h"

#include "llvm/Support/Error.h"

#include <map>
#include <optional>
#include <string>

namespace hybridc::serve {

class ChatPrompts {
public:
  /// `set` may hold no template: then every render is a 400 saying so.
  explicit ChatPrompts(ChatTemplateSet set);
  /// Problems found parsing the templates, one line each (for the log).
  const std::vector<std::string> &problems() const { return problems_; }
  bool empty() const { return set.templates.empty(); }

  /// The prompt text; errors are 400 ApiErrors naming the template or the
  /// message at fault.
  llvm::Expected<std::string> render(const jinja::JinjaValue &messages,
                                     const std::optional<jinja::JinjaValue> &tools,
                                     const std::optional<std::string> &templateName) const;

private:
  ChatTemplateSet set;
  std::map<std::string, ChatTemplate> parsed;
  std::map<std::string, std::string> broken; // name -> why it did not parse
  std::vector<std::string> problems_;
};

} // namespace hybridc::serve

#endif // HYBRIDC_SERVE_CHATPROMPTS_H
