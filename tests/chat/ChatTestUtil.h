//===- ChatTestUtil.h - helpers for the chat template tests -----*- C++ -*-===//
#ifndef HYBRIDC_TESTS_CHAT_CHATTESTUTIL_H
#define HYBRIDC_TESTS_CHAT_CHATTESTUTIL_H

#include "hybridc/Chat/ChatTemplate.h"
#include "hybridc/Chat/JsonText.h"

#include <gtest/gtest.h>

#include <string>

namespace hybridc::test {

/// Renders `source` with the JSON object `contextJson` as its variables:
/// the text, or "ERROR: <message>".
inline std::string render(const std::string &source, const std::string &contextJson = "{}",
                          const RenderLimits &limits = {}) {
  llvm::Expected<ChatTemplate> t = ChatTemplate::parse(source, "test");
  if (!t)
    return "ERROR: " + llvm::toString(t.takeError());
  llvm::Expected<jinja::JinjaValue> ctx = jinja::parseJson(contextJson, "context");
  if (!ctx)
    return "ERROR: " + llvm::toString(ctx.takeError());
  llvm::Expected<std::string> out = t->render(*ctx, limits);
  if (!out)
    return "ERROR: " + llvm::toString(out.takeError());
  return *out;
}

} // namespace hybridc::test

#endif // HYBRIDC_TESTS_CHAT_CHATTESTUTIL_H
