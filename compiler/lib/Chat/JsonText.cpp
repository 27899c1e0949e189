//===- JsonText.cpp - JSON as Python's json module reads and writes it ----===//
#include "hybridc/Chat/JsonText.h"
#include "hybridc/Support/Error.h"

#include "PythonText.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

using namespace hybridc;
using namespace hybridc::jinja;

namespace {

constexpr int kMaxDepth = 512;

class JsonParser {
public:
  JsonParser(llvm::StringRef text, llvm::StringRef where) : text(text), where(where) {}

  llvm::Expected<JinjaValue> parseDocument() {
    skipSpace();
    JinjaValue v = value(0);
    if (!error.empty())
      return fail();
    skipSpace();
    if (pos != text.size()) {
      error = "extra data after the JSON value";
      return fail();
    }
    return v;
  }

private:
  llvm::Error fail() {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < errorPos && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) {
        ++column;
      }
    }
    return makeError(where + ": line " + llvm::Twine(line) + ", column " + llvm::Twine(column) +
                     ": " + error);
  }
  JinjaValue bad(const std::string &what) {
    if (error.empty()) {
      error = what;
      errorPos = pos;
    }
    return JinjaValue();
  }
  void skipSpace() {
    while (pos < text.size() &&
           (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }
  bool consume(llvm::StringRef word) {
    if (text.substr(pos).starts_with(word)) {
      pos += word.size();
      return true;
    }
    return false;
  }

  JinjaValue value(int depth) {
    if (depth > kMaxDepth)
      return bad("JSON nested deeper than 512 levels");
    if (pos >= text.size())
      return bad("expected a value, found the end of the text");
    char c = text[pos];
    if (c == '{')
      return object(depth);
    if (c == '[')
      return array(depth);
    if (c == '"') {
      std::string s;
      if (!string(s))
        return JinjaValue();
      return JinjaValue::string(std::move(s));
    }
    if (consume("null"))
      return JinjaValue::none();
    if (consume("true"))
      return JinjaValue::boolean(true);
    if (consume("false"))
      return JinjaValue::boolean(false);
    if (consume("NaN"))
      return JinjaValue::number(NAN);
    if (consume("Infinity"))
      return JinjaValue::number(INFINITY);
    if (consume("-Infinity"))
      return JinjaValue::number(-INFINITY);
    if (c == '-' || (c >= '0' && c <= '9'))
      return number();
    return bad("expected a value");
  }

  JinjaValue number() {
    size_t start = pos;
    if (text[pos] == '-')
      ++pos;
    if (pos < text.size() && text[pos] == '0') {
      ++pos;
    } else if (pos < text.size() && text[pos] >= '1' && text[pos] <= '9') {
      while (pos < text.size() && isdigit(static_cast<unsigned char>(text[pos])))
        ++pos;
    } else {
      return bad("expected a value");
    }
    bool isFloat = false;
    if (pos + 1 < text.size() && text[pos] == '.' &&
        isdigit(static_cast<unsigned char>(text[pos + 1]))) {
      isFloat = true;
      ++pos;
      while (pos < text.size() && isdigit(static_cast<unsigned char>(text[pos])))
        ++pos;
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
      size_t save = pos++;
      if (pos < text.size() && (text[pos] == '+' || text[pos] == '-'))
        ++pos;
      if (pos < text.size() && isdigit(static_cast<unsigned char>(text[pos]))) {
        isFloat = true;
        while (pos < text.size() && isdigit(static_cast<unsigned char>(text[pos])))
          ++pos;
      } else {
        pos = save;
      }
    }
    std::string digits = text.substr(start, pos - start).str();
    if (isFloat)
      return JinjaValue::number(std::strtod(digits.c_str(), nullptr));
    errno = 0;
    long long v = std::strtoll(digits.c_str(), nullptr, 10);
    if (errno == ERANGE) {
      pos = start;
      return bad("integer " + digits + " does not fit in 64 bits");
    }
    return JinjaValue::integer(v);
  }

  bool hex4(uint32_t &out) {
    if (pos + 4 > text.size())
      return false;
    out = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[pos + k];
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= c - '0';
      else if (c >= 'a' && c <= 'f')
        out |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        out |= c - 'A' + 10;
      else
        return false;
    }
    pos += 4;
    return true;
  }

  bool string(std::string &out) {
    ++pos; // the opening quote
    while (true) {
      if (pos >= text.size()) {
        bad("unterminated string");
        return false;
      }
      unsigned char c = text[pos];
      if (c == '"') {
        ++pos;
        return true;
      }
      if (c < 0x20) {
        bad("control character in a string (Python's json.loads rejects it)");
        return false;
      }
      if (c != '\\') {
        out += char(c);
        ++pos;
        continue;
      }
      ++pos;
      if (pos >= text.size()) {
        bad("unterminated string");
        return false;
      }
      char e = text[pos++];
      switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t cp;
        if (!hex4(cp)) {
          bad("invalid \\u escape");
          return false;
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
          uint32_t low;
          size_t save = pos;
          if (consume("\\u") && hex4(low) && low >= 0xdc00 && low <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else {
            pos = save;
            bad("unpaired surrogate \\u escape");
            return false;
          }
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
          bad("unpaired surrogate \\u escape");
          return false;
        }
        py::appendUtf8(out, cp);
        break;
      }
      default:
        --pos;
        bad("invalid escape in a string");
        return false;
      }
    }
  }

  JinjaValue array(int depth) {
    ++pos;
    ValueList items;
    skipSpace();
    if (pos < text.size() && text[pos] == ']') {
      ++pos;
      return JinjaValue::list(std::move(items));
    }
    while (true) {
      skipSpace();
      items.push_back(value(depth + 1));
      if (!error.empty())
        return JinjaValue();
      skipSpace();
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < text.size() && text[pos] == ']') {
        ++pos;
        return JinjaValue::list(std::move(items));
      }
      return bad("expected ',' or ']'");
    }
  }

  JinjaValue object(int depth) {
    ++pos;
    JinjaDict d;
    skipSpace();
    if (pos < text.size() && text[pos] == '}') {
      ++pos;
      return JinjaValue::dict(std::move(d));
    }
    while (true) {
      skipSpace();
      if (pos >= text.size() || text[pos] != '"')
        return bad("expected a string key");
      std::string key;
      if (!string(key))
        return JinjaValue();
      skipSpace();
      if (pos >= text.size() || text[pos] != ':')
        return bad("expected ':'");
      ++pos;
      skipSpace();
      JinjaValue v = value(depth + 1);
      if (!error.empty())
        return JinjaValue();
      d.set(JinjaValue::string(std::move(key)), std::move(v));
      skipSpace();
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < text.size() && text[pos] == '}') {
        ++pos;
        return JinjaValue::dict(std::move(d));
      }
      return bad("expected ',' or '}'");
    }
  }

  llvm::StringRef text;
  std::string where;
  size_t pos = 0;
  std::string error;
  size_t errorPos = 0;
};

class JsonWriter {
public:
  explicit JsonWriter(const JsonDumpOptions &o) : o(o) {
    if (o.separators) {
      itemSep = o.separators->first;
      keySep = o.separators->second;
    } else {
      itemSep = o.indent ? "," : ", ";
      keySep = ": ";
    }
  }

  bool write(const JinjaValue &v, int level) {
    if (level > kMaxDepth) {
      error = "JSON nested deeper than 512 levels";
      return false;
    }
    using K = JinjaValue::Kind;
    switch (v.kind()) {
    case K::None:
      out += "null";
      return true;
    case K::Bool:
      out += v.getBool() ? "true" : "false";
      return true;
    case K::Int:
      out += std::to_string(v.getInt());
      return true;
    case K::Float:
      out += floatText(v.getNumber());
      return true;
    case K::String:
      string(v.getString());
      return true;
    case K::List:
      if (v.seq() != JinjaValue::Seq::List && v.seq() != JinjaValue::Seq::Tuple)
        break;
      return list(v.getList(), level);
    case K::Dict:
      return dict(v.getDict(), level);
    default:
      break;
    }
    error = "Object of type " + typeName(v) + " is not JSON serializable";
    return false;
  }

  std::string out;
  std::string error;

private:
  static std::string floatText(double d) {
    if (std::isnan(d))
      return "NaN";
    if (std::isinf(d))
      return d < 0 ? "-Infinity" : "Infinity";
    return py::reprFloat(d);
  }

  void newline(int level) {
    if (!o.indent)
      return;
    out += '\n';
    for (int i = 0; i < level; ++i)
      out += *o.indent;
  }

  bool list(const ValueList &items, int level) {
    if (items.empty()) {
      out += "[]";
      return true;
    }
    out += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i)
        out += itemSep;
      newline(level + 1);
      if (!write(items[i], level + 1))
        return false;
    }
    newline(level);
    out += ']';
    return true;
  }

  bool keyText(const JinjaValue &k, std::string &text) {
    using K = JinjaValue::Kind;
    switch (k.kind()) {
    case K::String:
      text = k.getString();
      return true;
    case K::Int:
      text = std::to_string(k.getInt());
      return true;
    case K::Bool:
      text = k.getBool() ? "true" : "false";
      return true;
    case K::None:
      text = "null";
      return true;
    case K::Float:
      text = floatText(k.getNumber());
      return true;
    default:
      error = "keys must be str, int, float, bool or None, not " + typeName(k);
      return false;
    }
  }

  bool dict(const JinjaDict &d, int level) {
    if (d.items.empty()) {
      out += "{}";
      return true;
    }
    std::vector<const std::pair<JinjaValue, JinjaValue> *> order;
    for (const auto &kv : d.items)
      order.push_back(&kv);
    if (o.sortKeys) {
      for (const auto *kv : order)
        if (!kv->first.isString() || !order.front()->first.isString()) {
          if (!(kv->first.isNumber() && order.front()->first.isNumber())) {
            error = "'<' not supported between instances of '" + typeName(kv->first) +
                    "' and '" + typeName(order.front()->first) + "'";
            return false;
          }
        }
      std::stable_sort(order.begin(), order.end(), [](const auto *a, const auto *b) {
        std::optional<int> c = compare(a->first, b->first);
        return c && *c < 0;
      });
    }
    out += '{';
    bool first = true;
    for (const auto *kv : order) {
      if (!first)
        out += itemSep;
      first = false;
      newline(level + 1);
      std::string key;
      if (!keyText(kv->first, key))
        return false;
      string(key);
      out += keySep;
      if (!write(kv->second, level + 1))
        return false;
    }
    newline(level);
    out += '}';
    return true;
  }

  void string(const std::string &s) {
    out += '"';
    char buf[16];
    for (uint32_t cp : py::decode(s)) {
      switch (cp) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
      }
      if (cp < 0x20 || (o.ensureAscii && cp > 0x7f)) {
        if (cp >= 0x10000) {
          uint32_t v = cp - 0x10000;
          snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
        } else {
          snprintf(buf, sizeof buf, "\\u%04x", cp);
        }
        out += buf;
      } else {
        py::appendUtf8(out, cp);
      }
    }
    out += '"';
  }

  const JsonDumpOptions &o;
  std::string itemSep, keySep;
};

} // namespace

llvm::Expected<JinjaValue> jinja::parseJson(llvm::StringRef text, llvm::StringRef where) {
  if (!py::isValidUtf8(text))
    return makeError(where + ": not valid UTF-8");
  return JsonParser(text, where).parseDocument();
}

llvm::Expected<std::string> jinja::dumpJson(const JinjaValue &value,
                                            const JsonDumpOptions &options) {
  JsonWriter w(options);
  if (!w.write(value, 0))
    return makeError(w.error);
  return std::move(w.out);
}
