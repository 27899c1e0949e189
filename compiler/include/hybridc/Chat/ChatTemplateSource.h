//===- ChatTemplateSource.h - where a model's chat template comes from -*- C++ -*-===//
//
// A chat template travels with the tokenizer: tokenizer_config.json's
// "chat_template" (one string, or a list of {"name", "template"}), a
// model folder's chat_template.jinja, a GGUF file's tokenizer.chat_template
// (and tokenizer.chat_template.<name>), or a bare .jinja file. The special
// tokens templates print (bos_token, eos_token) come from the same place.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CHAT_CHATTEMPLATESOURCE_H
#define HYBRIDC_CHAT_CHATTEMPLATESOURCE_H

#include "hybridc/Run/LibraryDescription.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hybridc {

struct ChatTemplateSet {
  std::string origin; // the file the templates were read from
  /// name -> template text, in the source's order ("default" first when
  /// the source has a single template).
  std::vector<std::pair<std::string, std::string>> templates;
  std::optional<std::string> bosToken, eosToken;

  /// The template to render: `name` when given; otherwise, as transformers
  /// chooses, "tool_use" when tools are given and there is one, else
  /// "default". An unknown name is an error listing the names there are.
  llvm::Expected<std::pair<std::string, std::string>>
  select(const std::optional<std::string> &name, bool haveTools) const;
};

/// Reads the templates of SOURCE: a tokenizer_config.json, a .jinja file,
/// a model folder (its tokenizer_config.json, with a chat_template.jinja
/// beside it as the default), a .gguf file, or the output folder of
/// `hybridc compile` (the templates its library stores, as its manifest
/// records them, so a library for another machine works too). A source
/// without a chat template is an error naming it.
llvm::Expected<ChatTemplateSet> loadChatTemplates(llvm::StringRef source);

/// The templates a compiled library stores, from its description.
ChatTemplateSet chatTemplatesOfLibrary(const LibraryDescription &d, const std::string &origin);

} // namespace hybridc

#endif // HYBRIDC_CHAT_CHATTEMPLATESOURCE_H
