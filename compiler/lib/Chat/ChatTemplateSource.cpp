//===- ChatTemplateSource.cpp - where a model's chat template comes from --===//
#include "hybridc/Chat/ChatTemplateSource.h"
#include "hybridc/Model/Gguf.h"
#include "hybridc/Run/Manifest.h"
#include "hybridc/Support/Error.h"
#include "hybridc/Tokenizer/Tokenizer.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace hybridc;

namespace {

llvm::Expected<std::string> readFile(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return makeError(path + ": cannot read: " + buf.getError().message());
  return (*buf)->getBuffer().str();
}

/// The templates of a tokenizer_config.json and the special tokens they
/// print, read as the compile reads them (hybridc/Tokenizer/Tokenizer.h).
llvm::Expected<ChatTemplateSet> fromConfig(llvm::StringRef path) {
  llvm::Expected<std::string> text = readFile(path);
  if (!text)
    return text.takeError();
  llvm::Expected<llvm::json::Value> root = llvm::json::parse(*text);
  if (!root)
    return makeError(path + ": not JSON: " + llvm::toString(root.takeError()));
  const llvm::json::Object *config = root->getAsObject();
  if (!config)
    return makeError(path + ": expected a JSON object");
  llvm::Expected<std::vector<TokenizerSpec::ChatTemplate>> templates =
      chatTemplatesOfConfig(*config, path);
  if (!templates)
    return templates.takeError();
  if (templates->empty())
    return makeError(path + ": has no \"chat_template\" (and no chat_template.jinja beside it)");
  ChatTemplateSet set;
  set.origin = path.str();
  for (TokenizerSpec::ChatTemplate &t : *templates)
    set.templates.emplace_back(std::move(t.name), std::move(t.text));
  for (auto [key, out] : {std::pair{"bos_token", &set.bosToken},
                          std::pair{"eos_token", &set.eosToken}}) {
    llvm::Expected<std::optional<std::string>> token = specialTokenOfConfig(*config, key, path);
    if (!token)
      return token.takeError();
    *out = std::move(*token);
  }
  return set;
}

llvm::Expected<ChatTemplateSet> fromGguf(llvm::StringRef path) {
  llvm::Expected<std::unique_ptr<GgufFile>> file = GgufFile::open(path);
  if (!file)
    return file.takeError();
  const GgufFile &g = **file;
  ChatTemplateSet set;
  set.origin = path.str();
  llvm::Expected<std::vector<TokenizerSpec::ChatTemplate>> templates = chatTemplatesOfGguf(g);
  if (!templates)
    return templates.takeError();
  for (TokenizerSpec::ChatTemplate &t : *templates)
    set.templates.emplace_back(std::move(t.name), std::move(t.text));
  if (set.templates.empty())
    return makeError(path + ": has no tokenizer.chat_template");
  const GgufValue *tokens = g.find("tokenizer.ggml.tokens");
  auto token = [&](llvm::StringRef key) -> std::optional<std::string> {
    const GgufValue *id = g.find(key);
    int64_t i;
    if (!id || !tokens || !id->integerAt(0, i) || i < 0 || uint64_t(i) >= tokens->strings.size())
      return std::nullopt;
    return tokens->strings[i].str();
  };
  set.bosToken = token("tokenizer.ggml.bos_token_id");
  set.eosToken = token("tokenizer.ggml.eos_token_id");
  return set;
}

bool isGgufFile(llvm::StringRef path) {
  llvm::Expected<std::string> head = readFile(path);
  if (!head) {
    llvm::consumeError(head.takeError());
    return false;
  }
  return llvm::StringRef(*head).starts_with("GGUF");
}

} // namespace

llvm::Expected<std::pair<std::string, std::string>>
ChatTemplateSet::select(const std::optional<std::string> &name, bool haveTools) const {
  auto find = [&](llvm::StringRef n) -> const std::pair<std::string, std::string> * {
    for (const auto &t : templates)
      if (t.first == n)
        return &t;
    return nullptr;
  };
  std::string want = name ? *name : (haveTools && find("tool_use")) ? "tool_use" : "default";
  if (const auto *t = find(want))
    return *t;
  std::string names;
  for (const auto &t : templates)
    names += (names.empty() ? "'" : ", '") + t.first + "'";
  return makeError(origin + ": no chat template named '" + want + "' (there " +
                   (templates.size() == 1 ? "is " : "are ") + names + ")");
}

ChatTemplateSet hybridc::chatTemplatesOfLibrary(const LibraryDescription &d,
                                                const std::string &origin) {
  ChatTemplateSet set;
  set.origin = origin;
  for (const ChatTemplateFacts &t : d.chatTemplates)
    set.templates.emplace_back(t.name, t.text);
  if (!d.bosToken.empty())
    set.bosToken = d.bosToken;
  if (!d.eosToken.empty())
    set.eosToken = d.eosToken;
  return set;
}

llvm::Expected<ChatTemplateSet> hybridc::loadChatTemplates(llvm::StringRef source) {
  if (llvm::sys::fs::exists(source + "/" + kManifestFileName)) {
    llvm::Expected<Manifest> m = readManifest(source.str());
    if (!m)
      return m.takeError();
    if (!m->description || m->description->chatTemplates.empty())
      return makeError(source + ": the library stores no chat template (its model shipped "
                                "none; `hybridc compile --chat-template FILE` adds one)");
    return chatTemplatesOfLibrary(*m->description, (source + "/" + kManifestFileName).str());
  }
  if (llvm::sys::fs::is_directory(source)) {
    llvm::SmallString<256> jinja(source), config(source);
    llvm::sys::path::append(jinja, "chat_template.jinja");
    llvm::sys::path::append(config, "tokenizer_config.json");
    if (llvm::sys::fs::exists(config))
      return fromConfig(config); // with a chat_template.jinja beside it
    if (llvm::sys::fs::exists(jinja)) {
      llvm::Expected<std::string> body = readFile(jinja);
      if (!body)
        return body.takeError();
      ChatTemplateSet set;
      set.origin = jinja.str().str();
      set.templates.emplace_back("default", std::move(*body));
      return set;
    }
    return makeError(source + ": not a template source: the folder has no "
                              "tokenizer_config.json, chat_template.jinja or compiled library "
                              "(hybridc-model.json)");
  }
  if (!llvm::sys::fs::exists(source))
    return makeError(source + ": no such file or folder");
  if (isGgufFile(source))
    return fromGguf(source);
  if (source.ends_with(".json"))
    return fromConfig(source);
  llvm::Expected<std::string> body = readFile(source);
  if (!body)
    return body.takeError();
  ChatTemplateSet set;
  set.origin = source.str();
  set.templates.emplace_back("default", std::move(*body));
  return set;
}
