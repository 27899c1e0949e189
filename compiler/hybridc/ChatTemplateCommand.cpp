//===- ChatTemplateCommand.cpp - `hybridc chat-template SOURCE --messages F` ===//
//
// Renders a model's chat template for a conversation and prints the prompt
// exactly (no newline added), as Hugging Face's apply_chat_template(
// tokenize=False) would return it. SOURCE is a tokenizer_config.json, a
// .jinja file, a model folder, a GGUF file or a compiled output folder; the
// messages file is a JSON
// array of OpenAI-style messages, the tools file a JSON array of tools;
// --var key=json sets any other template variable.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "hybridc/Chat/ChatTemplate.h"
#include "hybridc/Chat/ChatTemplateSource.h"
#include "hybridc/Chat/JsonText.h"
#include "hybridc/Support/Error.h"


#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

using namespace hybridc;

namespace {

struct ChatTemplateOptions {
  std::string source;
  std::string messages;
  std::string tools;
  bool addGenerationPrompt = false;
  std::optional<std::string> name;
  std::vector<std::string> vars;
};

llvm::Expected<jinja::JinjaValue> readJson(const std::string &path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return makeError(path + ": cannot read: " + buf.getError().message());
  return jinja::parseJson((*buf)->getBuffer(), path);
}

llvm::Error renderChatTemplate(const ChatTemplateOptions &o) {
  llvm::Expected<ChatTemplateSet> set = loadChatTemplates(o.source);
  if (!set)
    return set.takeError();
  ChatInputs inputs;
  llvm::Expected<jinja::JinjaValue> messages = readJson(o.messages);
  if (!messages)
    return messages.takeError();
  inputs.messages = std::move(*messages);
  if (!o.tools.empty()) {
    llvm::Expected<jinja::JinjaValue> tools = readJson(o.tools);
    if (!tools)
      return tools.takeError();
    inputs.tools = std::move(*tools);
  }
  inputs.addGenerationPrompt = o.addGenerationPrompt;
  inputs.bosToken = set->bosToken;
  inputs.eosToken = set->eosToken;
  for (const std::string &var : o.vars) {
    size_t eq = var.find('=');
    if (eq == std::string::npos || eq == 0)
      return makeError("--var " + var + ": expected key=json (a string is --var 'key=\"text\"')");
    llvm::Expected<jinja::JinjaValue> value =
        jinja::parseJson(llvm::StringRef(var).substr(eq + 1), "--var " + var.substr(0, eq));
    if (!value)
      return value.takeError();
    inputs.extra.emplace_back(var.substr(0, eq), std::move(*value));
  }
  llvm::Expected<std::pair<std::string, std::string>> chosen =
      set->select(o.name, inputs.tools.has_value());
  if (!chosen)
    return chosen.takeError();
  llvm::Expected<ChatTemplate> tmpl = ChatTemplate::parse(chosen->second, chosen->first);
  if (!tmpl)
    return tmpl.takeError();
  llvm::Expected<jinja::JinjaValue> context = buildChatContext(inputs);
  if (!context)
    return context.takeError();
  llvm::Expected<std::string> prompt = tmpl->render(*context);
  if (!prompt)
    return prompt.takeError();
  llvm::outs() << *prompt;
  llvm::outs().flush();
  return llvm::Error::success();
}

} // namespace

void hybridc::addChatTemplateCommand(CLI::App &app, int &exitCode) {
  auto opts = std::make_shared<ChatTemplateOptions>();
  CLI::App *cmd = app.add_subcommand(
      "chat-template", "Render a model's chat template for a conversation and print the prompt "
                       "exactly (as Hugging Face's apply_chat_template does)");
  cmd->add_option("source", opts->source,
                  "A tokenizer_config.json, a .jinja file, a model folder, a .gguf file or "
                  "the output folder of `hybridc compile`")
      ->required();
  cmd->add_option("--messages", opts->messages, "A JSON array of OpenAI-style messages")
      ->required();
  cmd->add_option("--tools", opts->tools, "A JSON array of tools (function schemas)");
  cmd->add_flag("--add-generation-prompt", opts->addGenerationPrompt,
                "End with the start of an assistant turn");
  cmd->add_option("--name", opts->name,
                  "Which of the source's templates (default: 'tool_use' with --tools when "
                  "there is one, else 'default')");
  cmd->add_option("--var", opts->vars,
                  "Another template variable, key=json (e.g. enable_thinking=false)");
  cmd->callback([opts, &exitCode] {
    exitCode = 0;
    if (llvm::Error e = renderChatTemplate(*opts)) {
      reportError(std::move(e));
      exitCode = 1;
    }
  });
}
