//===- ChatLibrary.cpp - a compiled library's chat templates --------------===//
#include "ChatLibrary.h"

using namespace hybridc;

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
