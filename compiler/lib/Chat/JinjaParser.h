//===- JinjaParser.h - tokens to a template's syntax tree -------*- C++ -*-===//
#ifndef HYBRIDC_LIB_CHAT_JINJAPARSER_H
#define HYBRIDC_LIB_CHAT_JINJAPARSER_H

#include "JinjaAst.h"
#include "JinjaLexer.h"

namespace hybridc::jinja {

/// Parses `tokens` with Jinja2's grammar and precedence into `body`. Unknown
/// filters and tests are errors here, as Jinja2's compiler makes them, and
/// so are the tags and filters hybridc does not run (naming them).
bool parseTemplate(const std::vector<Token> &tokens, StmtList &body, SourceError &error);

/// Whether hybridc runs a filter / test of this name (JinjaBuiltins.cpp).
bool isSupportedFilter(llvm::StringRef name);
bool isSupportedTest(llvm::StringRef name);
/// Jinja2 has this filter but hybridc does not run it.
bool isJinjaOnlyFilter(llvm::StringRef name);

} // namespace hybridc::jinja

#endif // HYBRIDC_LIB_CHAT_JINJAPARSER_H
