//===- JsonText.h - JSON as Python's json module reads and writes it -*- C++ -*-===//
//
// Messages, tools and tokenizer configs arrive as JSON and a template's
// `tojson` writes JSON, and both must agree with Python byte for byte:
// objects keep their key order (llvm::json::Object does not), `1` stays an
// int and `1.0` a float, and dumps() formats as json.dumps does
// (separators, indent, sort_keys, ensure_ascii, float repr, NaN/Infinity).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CHAT_JSONTEXT_H
#define HYBRIDC_CHAT_JSONTEXT_H

#include "hybridc/Chat/JinjaValue.h"

#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace hybridc::jinja {

/// Parses `text` as Python's json.loads does (NaN and Infinity accepted,
/// duplicate keys: the last value at the first key's place). Errors name
/// `where`, the line and the column. Integers beyond 64 bits, unpaired
/// surrogates and nesting deeper than 512 are errors.
llvm::Expected<JinjaValue> parseJson(llvm::StringRef text, llvm::StringRef where);

struct JsonDumpOptions {
  bool ensureAscii = false;
  /// json.dumps(indent=...): none, a number of spaces, or a string.
  std::optional<std::string> indent;
  /// json.dumps(separators=...); defaults as Python picks them.
  std::optional<std::pair<std::string, std::string>> separators;
  bool sortKeys = false;
};

/// json.dumps(value, ...). Undefined, namespaces, callables and generators
/// are not serializable, as in Python ("Object of type Undefined is not
/// JSON serializable").
llvm::Expected<std::string> dumpJson(const JinjaValue &value, const JsonDumpOptions &options = {});

} // namespace hybridc::jinja

#endif // HYBRIDC_CHAT_JSONTEXT_H
