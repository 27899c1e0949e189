//===- JinjaLexer.h - template text to tokens -------------------*- C++ -*-===//
//
// Splits a template into data and the tokens inside {{ }}, {% %} ({# #}
// comments vanish), applying the whitespace rules Hugging Face's Jinja2
// environment has: `-` on a tag strips the whitespace on that side,
// trim_blocks drops the first newline after a block or comment tag,
// lstrip_blocks drops the spaces and tabs between a line's start and a block
// or comment tag, and `+` on a tag turns either off. Offsets are into the
// normalized source (see normalizeSource).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_LIB_CHAT_JINJALEXER_H
#define HYBRIDC_LIB_CHAT_JINJALEXER_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybridc::jinja {

enum class Tok : uint8_t {
  Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof
};

struct Token {
  Tok kind = Tok::Eof;
  std::string text; // data, a name, an operator, or a string literal's value
  int64_t intValue = 0;
  double floatValue = 0;
  size_t offset = 0;
};

/// An error at a place in the source.
struct SourceError {
  std::string message;
  size_t offset = 0;
};

/// What Jinja2 does to the source before lexing: \r\n and \r become \n and
/// one trailing newline is dropped (keep_trailing_newline is off).
std::string normalizeSource(llvm::StringRef source);

/// Tokenizes a normalized source; the last token is Eof.
bool lexTemplate(llvm::StringRef source, std::vector<Token> &tokens, SourceError &error);

/// Line and column (1-based, columns in code points) of an offset.
void lineAndColumn(llvm::StringRef source, size_t offset, size_t &line, size_t &column);

} // namespace hybridc::jinja

#endif // HYBRIDC_LIB_CHAT_JINJALEXER_H
