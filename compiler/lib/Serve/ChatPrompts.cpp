//===- ChatPrompts.cpp - chat requests to prompt text ------------------------===//
#include "hybridc/Serve/ChatPrompts.h"

#include "hybridc/Serve/ApiError.h"

namespace hybridc::serve {

ChatPrompts::ChatPrompts(ChatTemplateSet s) : set(std::move(s)) {
  for (const auto &[name, source] : set.templates) {
    llvm::Expected<ChatTemplate> t = ChatTemplate::parse(source, name);
    if (!t) {
      std::string why = llvm::toString(t.takeError());
      problems_.push_back(why);
      broken.emplace(name, why);
      continue;
    }
    parsed.emplace(name, std::move(*t));
  }
}

llvm::Expected<std::string>
ChatPrompts::render(const jinja::JinjaValue &messages,
                    const std::optional<jinja::JinjaValue> &tools,
                    const std::optional<std::string> &templateName) const {
  if (set.templates.empty())
    return badRequest("messages", "the served library stores no chat template (compile it with "
                                  "--chat-template FILE); use /v1/completions");
  llvm::Expected<std::pair<std::string, std::string>> chosen =
      set.select(templateName, tools.has_value());
  if (!chosen)
    return badRequest("chat_template_name", llvm::toString(chosen.takeError()));
  if (auto b = broken.find(chosen->first); b != broken.end())
    return llvm::make_error<ApiError>(500, "server_error",
                                      "the served library's chat template cannot be used: " +
                                          b->second);
  const ChatTemplate &t = parsed.at(chosen->first);
  ChatInputs inputs;
  inputs.messages = messages;
  inputs.tools = tools;
  inputs.addGenerationPrompt = true;
  inputs.bosToken = set.bosToken;
  inputs.eosToken = set.eosToken;
  llvm::Expected<jinja::JinjaValue> context = buildChatContext(inputs);
  if (!context)
    return badRequest("messages", llvm::toString(context.takeError()));
  llvm::Expected<std::string> text = t.render(*context);
  if (!text)
    return badRequest("messages", llvm::toString(text.takeError()));
  return text;
}

} // namespace hybridc::serve
