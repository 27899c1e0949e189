//===- ChatTemplates.cpp - the chat templates a model ships ---------------===//
//
// Where Hugging Face and llama.cpp keep a model's chat templates (Jinja
// text), read in one place for the compile (which stores them with the
// tokenizer) and for `hybridc chat-template`:
//   tokenizer_config.json  "chat_template": one template (the default) or a
//                          list of {"name": ..., "template": ...} ("default",
//                          "tool_use", "rag", ...); a chat_template.jinja
//                          file beside it (what newer releases of
//                          transformers save) is the default template then;
//   a GGUF file            tokenizer.chat_template (the default) and
//                          tokenizer.chat_template.NAME.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Model/Gguf.h"
#include "hybridc/Support/Error.h"
#include "hybridc/Tokenizer/Tokenizer.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace hybridc;
using llvm::json::Array;
using llvm::json::Object;
using llvm::json::Value;

llvm::Expected<std::vector<TokenizerSpec::ChatTemplate>>
hybridc::chatTemplatesOfConfig(const Object &config, llvm::StringRef configPath) {
  std::vector<TokenizerSpec::ChatTemplate> templates;
  const Value *v = config.get("chat_template");
  if (v && v->kind() != Value::Null) {
    if (std::optional<llvm::StringRef> s = v->getAsString()) {
      templates.push_back({"default", s->str()});
    } else if (const Array *list = v->getAsArray()) {
      for (size_t i = 0; i < list->size(); ++i) {
        const Object *o = (*list)[i].getAsObject();
        std::optional<llvm::StringRef> name = o ? o->getString("name") : std::nullopt;
        std::optional<llvm::StringRef> text = o ? o->getString("template") : std::nullopt;
        if (!name || !text)
          return makeError(configPath + ": chat_template[" + llvm::Twine(i) +
                           "]: expected {\"name\": string, \"template\": string}");
        templates.push_back({name->str(), text->str()});
      }
    } else {
      return makeError(configPath + ": chat_template: expected a string or a list of "
                                    "{\"name\": ..., \"template\": ...}");
    }
  }
  llvm::SmallString<256> jinja(llvm::sys::path::parent_path(configPath));
  llvm::sys::path::append(jinja, "chat_template.jinja");
  if (llvm::sys::fs::exists(jinja)) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> text = llvm::MemoryBuffer::getFile(jinja);
    if (!text)
      return makeError(jinja + ": " + text.getError().message());
    llvm::erase_if(templates, [](const auto &t) { return t.name == "default"; });
    templates.insert(templates.begin(), {"default", (*text)->getBuffer().str()});
  }
  if (llvm::Error e = checkChatTemplates(templates, configPath))
    return std::move(e);
  return templates;
}

llvm::Expected<std::optional<std::string>>
hybridc::specialTokenOfConfig(const Object &config, llvm::StringRef key,
                              llvm::StringRef configPath) {
  const Value *v = config.get(key);
  if (!v || v->kind() == Value::Null)
    return std::nullopt;
  if (std::optional<llvm::StringRef> s = v->getAsString())
    return s->str();
  if (const Object *o = v->getAsObject(); o && o->getString("content"))
    return o->getString("content")->str();
  return makeError(configPath + ": " + key + ": expected a string or {\"content\": ...}");
}

llvm::Expected<std::vector<TokenizerSpec::ChatTemplate>>
hybridc::chatTemplatesOfGguf(const GgufFile &file) {
  std::vector<TokenizerSpec::ChatTemplate> templates;
  for (const std::string &key : file.keys()) {
    llvm::StringRef name(key);
    if (!name.consume_front("tokenizer.chat_template"))
      continue;
    if (!name.empty() && !name.consume_front("."))
      continue; // tokenizer.chat_templates: the list of names
    const GgufValue *v = file.find(key);
    if (v->type != GgufType::String)
      return makeError(file.path() + ": " + key + ": expected a string (a Jinja chat template)");
    templates.push_back({name.empty() ? "default" : name.str(), v->s.str()});
  }
  if (llvm::Error e = checkChatTemplates(templates, file.path()))
    return std::move(e);
  return templates;
}

llvm::Error hybridc::checkChatTemplates(std::vector<TokenizerSpec::ChatTemplate> &templates,
                                        llvm::StringRef where) {
  for (size_t i = 0; i < templates.size(); ++i) {
    const TokenizerSpec::ChatTemplate &t = templates[i];
    const std::string what = (where + ": chat template '" + t.name + "'").str();
    if (t.name.empty() || t.name.size() > 64)
      return makeError(where + ": a chat template name must have 1 to 64 bytes, '" + t.name +
                       "' has " + llvm::Twine(t.name.size()));
    for (size_t j = 0; j < i; ++j)
      if (templates[j].name == t.name)
        return makeError(what + " is given twice");
    if (t.text.size() > kMaxChatTemplateBytes)
      return makeError(what + " has " + llvm::Twine(t.text.size()) + " bytes, more than " +
                       llvm::Twine(kMaxChatTemplateBytes));
    if (t.text.find('\0') != std::string::npos)
      return makeError(what + " contains a NUL byte");
  }
  std::stable_partition(templates.begin(), templates.end(),
                        [](const TokenizerSpec::ChatTemplate &t) { return t.name == "default"; });
  if (templates.size() > 64)
    return makeError(where + ": " + llvm::Twine(templates.size()) +
                     " chat templates, more than 64");
  return llvm::Error::success();
}
