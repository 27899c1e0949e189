//===- ChatLibrary.h - a compiled library's chat templates ------*- C++ -*-===//
//
// What `hybridc chat-template OUT_DIR` and `hybridc chat OUT_DIR` render:
// the chat templates a library stores, with the texts of its BOS and EOS
// tokens, as the compile recorded them in the output folder's manifest.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TOOL_CHATLIBRARY_H
#define HYBRIDC_TOOL_CHATLIBRARY_H

#include "hybridc/Chat/ChatTemplateSource.h"
#include "hybridc/Run/LibraryDescription.h"

#include <string>

namespace hybridc {

ChatTemplateSet chatTemplatesOfLibrary(const LibraryDescription &d, const std::string &origin);

} // namespace hybridc

#endif // HYBRIDC_TOOL_CHATLIBRARY_H
