//===- PythonText.h - Python 3 string semantics on UTF-8 --------*- C++ -*-===//
//
// Jinja2 runs on Python strings: sequences of code points. hybridc keeps
// text as UTF-8 bytes, so everything whose result depends on code points
// (length, indexing, slicing, strip, split, case, repr) goes through these
// helpers, which follow CPython's rules for the characters they cover.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_LIB_CHAT_PYTHONTEXT_H
#define HYBRIDC_LIB_CHAT_PYTHONTEXT_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybridc::py {

/// The code points of `s` (invalid UTF-8 bytes become U+FFFD; the inputs
/// come from our JSON parser and template lexer, which reject them).
std::vector<uint32_t> decode(llvm::StringRef s);
void appendUtf8(std::string &out, uint32_t cp);
std::string encode(const std::vector<uint32_t> &cps, size_t begin, size_t end);
size_t length(llvm::StringRef s);
/// Checks that `s` is valid UTF-8 without surrogates or overlong forms.
bool isValidUtf8(llvm::StringRef s);

/// str.isspace() for one code point.
bool isSpace(uint32_t cp);
/// Cased letters as far as hybridc maps case: ASCII, Latin-1, Latin
/// Extended-A, Greek and Cyrillic (other scripts are uncased here).
uint32_t toUpper(uint32_t cp);
uint32_t toLower(uint32_t cp);
bool isCased(uint32_t cp);
bool isPrintable(uint32_t cp);
/// Python's `\w` (and identifier characters) for one code point,
/// approximately: ASCII letters, digits and _, and non-ASCII code points
/// other than spaces, punctuation, symbols and emoji.
bool isWordChar(uint32_t cp);

std::string upper(llvm::StringRef s);
std::string lower(llvm::StringRef s);
std::string title(llvm::StringRef s);      // str.title()
std::string capitalize(llvm::StringRef s); // str.capitalize()

/// str.strip/lstrip/rstrip: `chars` null means whitespace.
std::string strip(llvm::StringRef s, const std::string *chars, bool left, bool right);
/// str.split(sep, maxsplit) with sep null: runs of whitespace.
std::vector<std::string> split(llvm::StringRef s, const std::string *sep, int64_t maxsplit);
std::vector<std::string> rsplit(llvm::StringRef s, const std::string *sep, int64_t maxsplit);
std::string replace(llvm::StringRef s, llvm::StringRef from, llvm::StringRef to, int64_t count);

/// repr() of a string: quotes and escapes as CPython chooses them.
std::string reprString(llvm::StringRef s);
/// repr() of a float: the shortest text that reads back to the same double.
std::string reprFloat(double d);

} // namespace hybridc::py

#endif // HYBRIDC_LIB_CHAT_PYTHONTEXT_H
