//===- JinjaLexer.cpp - template text to tokens ---------------------------===//
//
// A hand-written version of Jinja2's regular-expression lexer: the same
// rules tried in the same order (so `{{-1}}` is a strip sign and a 1, as
// in Jinja2), with `\s` meaning Python's Unicode whitespace.
//
//===----------------------------------------------------------------------===//
#include "JinjaLexer.h"
#include "PythonText.h"

#include <cerrno>
#include <cstdlib>

using namespace hybridc;
using namespace hybridc::jinja;

std::string jinja::normalizeSource(llvm::StringRef source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n')
        ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

void jinja::lineAndColumn(llvm::StringRef source, size_t offset, size_t &line, size_t &column) {
  line = 1;
  column = 1;
  for (size_t i = 0; i < offset && i < source.size(); ++i) {
    if (source[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(source[i]) & 0xc0) != 0x80) {
      ++column;
    }
  }
}

namespace {

/// Byte length of the whitespace code point at `pos`, or 0.
size_t spaceAt(llvm::StringRef s, size_t pos) {
  if (pos >= s.size())
    return 0;
  unsigned char c = s[pos];
  if (c < 0x80)
    return py::isSpace(c) ? 1 : 0;
  size_t len = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  std::vector<uint32_t> cp = py::decode(s.substr(pos, len));
  return (!cp.empty() && py::isSpace(cp[0])) ? len : 0;
}

size_t skipSpaces(llvm::StringRef s, size_t pos) {
  while (size_t n = spaceAt(s, pos))
    pos += n;
  return pos;
}

/// Python's str.rstrip() of `text`.
llvm::StringRef rstripSpaces(llvm::StringRef text) {
  std::vector<uint32_t> cps = py::decode(text);
  size_t keep = text.size();
  for (size_t k = cps.size(); k-- > 0;) {
    if (!py::isSpace(cps[k]))
      break;
    std::string enc;
    py::appendUtf8(enc, cps[k]);
    keep -= enc.size();
  }
  return text.substr(0, keep);
}

bool allSpaces(llvm::StringRef text) {
  size_t p = 0;
  while (size_t n = spaceAt(text, p))
    p += n;
  return p == text.size() && !text.empty();
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isNameChar(char c) { return isNameStart(c) || isDigit(c); }

class Lexer {
public:
  Lexer(llvm::StringRef src, std::vector<Token> &tokens, SourceError &error)
      : src(src), tokens(tokens), error(error) {}

  bool run() {
    size_t n = src.size();
    while (pos < n) {
      // The earliest tag start; at one place only one of {{ {% {# fits.
      size_t at = pos;
      char kind = 0;
      for (; at + 1 < n; ++at) {
        if (src[at] == '{' && (src[at + 1] == '{' || src[at + 1] == '%' || src[at + 1] == '#')) {
          kind = src[at + 1];
          break;
        }
      }
      if (!kind) {
        emitData(src.substr(pos), pos);
        pos = n;
        break;
      }
      char sign = (at + 2 < n && (src[at + 2] == '-' || src[at + 2] == '+')) ? src[at + 2] : 0;
      size_t after = at + 2 + (sign ? 1 : 0);
      // {% raw %} ... {% endraw %}
      size_t rawEnd = 0;
      if (kind == '%')
        rawEnd = matchRawBegin(after);
      llvm::StringRef text = src.substr(pos, at - pos);
      text = stripBefore(text, sign, kind != '{');
      emitData(text, pos);
      lineStarting = false;
      if (rawEnd) {
        pos = rawEnd;
        lineStarting = src[rawEnd - 1] == '\n';
        if (!lexRaw())
          return false;
        continue;
      }
      pos = after;
      if (kind == '#') {
        if (!lexComment(at))
          return false;
        continue;
      }
      Token begin;
      begin.kind = kind == '{' ? Tok::VarBegin : Tok::BlockBegin;
      begin.offset = at;
      tokens.push_back(begin);
      if (!lexTag(kind == '{'))
        return false;
    }
    Token eof;
    eof.kind = Tok::Eof;
    eof.offset = src.size();
    tokens.push_back(eof);
    return true;
  }

private:
  bool fail(size_t offset, std::string message) {
    error.offset = offset;
    error.message = std::move(message);
    return false;
  }

  void emitData(llvm::StringRef text, size_t offset) {
    if (text.empty())
      return;
    Token t;
    t.kind = Tok::Data;
    t.text = text.str();
    t.offset = offset;
    tokens.push_back(std::move(t));
  }

  /// The text before a tag, after the tag's `-` or lstrip_blocks.
  llvm::StringRef stripBefore(llvm::StringRef text, char sign, bool lstripApplies) {
    if (sign == '-')
      return rstripSpaces(text);
    if (sign == '+' || !lstripApplies)
      return text;
    size_t lineStart = text.rfind('\n');
    lineStart = lineStart == llvm::StringRef::npos ? 0 : lineStart + 1;
    if ((lineStart > 0 || lineStarting) && allSpaces(text.substr(lineStart)))
      return text.substr(0, lineStart);
    return text;
  }

  /// `{%[-+]? \s* raw \s* (-%}\s* | %})` with `p` after the sign: the end
  /// of the match, or 0.
  size_t matchRawBegin(size_t p) {
    p = skipSpaces(src, p);
    if (!src.substr(p).starts_with("raw"))
      return 0;
    p = skipSpaces(src, p + 3);
    if (src.substr(p).starts_with("-%}"))
      return skipSpaces(src, p + 3);
    if (src.substr(p).starts_with("%}"))
      return p + 2;
    return 0;
  }

  bool lexRaw() {
    size_t start = pos;
    for (size_t at = pos; at + 1 < src.size(); ++at) {
      if (src[at] != '{' || src[at + 1] != '%')
        continue;
      size_t p = at + 2;
      char sign = 0;
      if (p < src.size() && (src[p] == '-' || src[p] == '+'))
        sign = src[p++];
      p = skipSpaces(src, p);
      if (!src.substr(p).starts_with("endraw"))
        continue;
      p = skipSpaces(src, p + 6);
      size_t end;
      if (src.substr(p).starts_with("+%}")) {
        end = p + 3;
      } else if (src.substr(p).starts_with("-%}")) {
        end = skipSpaces(src, p + 3);
      } else if (src.substr(p).starts_with("%}")) {
        end = p + 2;
        if (end < src.size() && src[end] == '\n')
          ++end;
      } else {
        continue;
      }
      emitData(stripBefore(src.substr(start, at - start), sign, true), start);
      pos = end;
      lineStarting = src[end - 1] == '\n';
      return true;
    }
    return fail(start, "missing end of raw directive ({% endraw %})");
  }

  bool lexComment(size_t begin) {
    for (size_t p = pos; p < src.size(); ++p) {
      llvm::StringRef rest = src.substr(p);
      if (rest.starts_with("+#}")) {
        pos = p + 3;
      } else if (rest.starts_with("-#}")) {
        pos = skipSpaces(src, p + 3);
      } else if (rest.starts_with("#}")) {
        pos = p + 2;
        if (pos < src.size() && src[pos] == '\n')
          ++pos;
      } else {
        continue;
      }
      lineStarting = src[pos - 1] == '\n';
      return true;
    }
    return fail(begin, "missing end of comment tag ('#}')");
  }

  bool lexTag(bool variable) {
    std::vector<char> balance;
    size_t n = src.size();
    while (pos < n) {
      llvm::StringRef rest = src.substr(pos);
      if (balance.empty()) {
        size_t end = 0;
        if (variable) {
          if (rest.starts_with("-}}"))
            end = skipSpaces(src, pos + 3);
          else if (rest.starts_with("}}"))
            end = pos + 2;
        } else {
          if (rest.starts_with("+%}")) {
            end = pos + 3;
          } else if (rest.starts_with("-%}")) {
            end = skipSpaces(src, pos + 3);
          } else if (rest.starts_with("%}")) {
            end = pos + 2;
            if (end < n && src[end] == '\n') // trim_blocks
              ++end;
          }
        }
        if (end) {
          Token t;
          t.kind = variable ? Tok::VarEnd : Tok::BlockEnd;
          t.offset = pos;
          tokens.push_back(t);
          pos = end;
          lineStarting = src[end - 1] == '\n';
          return true;
        }
      }
      if (size_t s = spaceAt(src, pos)) {
        pos += s;
        continue;
      }
      Token t;
      t.offset = pos;
      size_t len = 0;
      if ((len = matchFloat(pos))) {
        std::string digits;
        for (char c : src.substr(pos, len))
          if (c != '_')
            digits += c;
        t.kind = Tok::Float;
        t.floatValue = std::strtod(digits.c_str(), nullptr);
      } else if ((len = matchInteger(pos))) {
        if (!integerValue(src.substr(pos, len), t.intValue))
          return fail(pos, "integer literal " + src.substr(pos, len).str() +
                               " does not fit in 64 bits");
        t.kind = Tok::Int;
      } else if ((len = nameLength(pos, true))) {
        size_t more;
        while ((more = nameLength(pos + len, false)))
          len += more;
        t.kind = Tok::Name;
        t.text = src.substr(pos, len).str();
      } else if (src[pos] == '\'' || src[pos] == '"') {
        if (!(len = matchString(pos)))
          return fail(pos, std::string("unterminated string literal starting with ") + src[pos]);
        t.kind = Tok::String;
        if (!unescape(src.substr(pos + 1, len - 2), pos, t.text))
          return false;
      } else if ((len = matchOperator(pos))) {
        t.kind = Tok::Op;
        t.text = src.substr(pos, len).str();
        char c = t.text[0];
        if (len == 1 && (c == '(' || c == '[' || c == '{')) {
          balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
        } else if (len == 1 && (c == ')' || c == ']' || c == '}')) {
          if (balance.empty())
            return fail(pos, std::string("unexpected '") + c + "'");
          if (balance.back() != c)
            return fail(pos, std::string("unexpected '") + c + "', expected '" + balance.back() +
                                 "'");
          balance.pop_back();
        }
      } else {
        std::vector<uint32_t> cp = py::decode(src.substr(pos, 4));
        std::string shown;
        py::appendUtf8(shown, cp.empty() ? 0 : cp[0]);
        return fail(pos, "unexpected character '" + shown + "'");
      }
      tokens.push_back(std::move(t));
      pos += len;
    }
    return true; // the end of the source: the parser reports the open tag
  }

  /// The byte length of the identifier character at `p` (Python allows
  /// non-ASCII letters), or 0.
  size_t nameLength(size_t p, bool start) {
    if (p >= src.size())
      return 0;
    unsigned char c = src[p];
    if (c < 0x80)
      return (start ? isNameStart(c) : isNameChar(c)) ? 1 : 0;
    size_t len = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    std::vector<uint32_t> cp = py::decode(src.substr(p, len));
    return (!cp.empty() && py::isWordChar(cp[0])) ? len : 0;
  }

  /// Digits with single underscores between them: the length, or 0.
  size_t digitsAt(size_t p) {
    size_t q = p;
    if (q >= src.size() || !isDigit(src[q]))
      return 0;
    while (q < src.size()) {
      if (isDigit(src[q])) {
        ++q;
      } else if (src[q] == '_' && q + 1 < src.size() && isDigit(src[q + 1])) {
        q += 2;
      } else {
        break;
      }
    }
    return q - p;
  }

  size_t matchFloat(size_t p) {
    if (p > 0 && src[p - 1] == '.')
      return 0;
    size_t intLen = digitsAt(p);
    if (!intLen)
      return 0;
    size_t q = p + intLen;
    size_t fracEnd = 0;
    if (q < src.size() && src[q] == '.') {
      if (size_t f = digitsAt(q + 1))
        fracEnd = q + 1 + f;
    }
    size_t e = fracEnd ? fracEnd : q;
    if (e < src.size() && (src[e] == 'e' || src[e] == 'E')) {
      size_t x = e + 1;
      if (x < src.size() && (src[x] == '+' || src[x] == '-'))
        ++x;
      if (size_t d = digitsAt(x))
        return x + d - p;
    }
    return fracEnd ? fracEnd - p : 0;
  }

  size_t matchInteger(size_t p) {
    auto radixDigits = [&](size_t q, auto ok) {
      size_t r = q;
      while (r < src.size()) {
        if (ok(src[r])) {
          ++r;
        } else if (src[r] == '_' && r + 1 < src.size() && ok(src[r + 1])) {
          r += 2;
        } else {
          break;
        }
      }
      return r - q;
    };
    if (src[p] == '0' && p + 1 < src.size()) {
      char x = src[p + 1] | 0x20;
      size_t d = 0;
      if (x == 'b')
        d = radixDigits(p + 2, [](char c) { return c == '0' || c == '1'; });
      else if (x == 'o')
        d = radixDigits(p + 2, [](char c) { return c >= '0' && c <= '7'; });
      else if (x == 'x')
        d = radixDigits(p + 2, [](char c) {
          return isDigit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
        });
      if (d)
        return d + 2;
    }
    if (src[p] >= '1' && src[p] <= '9')
      return digitsAt(p);
    if (src[p] == '0') // zeros only: "007" is 00 then 7, as in Jinja2
      return radixDigits(p, [](char c) { return c == '0'; });
    return 0;
  }

  static bool integerValue(llvm::StringRef text, int64_t &out) {
    std::string digits;
    for (char c : text)
      if (c != '_')
        digits += c;
    int base = 10;
    size_t skip = 0;
    if (digits.size() > 2 && digits[0] == '0') {
      char x = digits[1] | 0x20;
      base = x == 'b' ? 2 : x == 'o' ? 8 : x == 'x' ? 16 : 10;
      if (base != 10)
        skip = 2;
    }
    errno = 0;
    char *end = nullptr;
    long long v = std::strtoll(digits.c_str() + skip, &end, base);
    if (errno == ERANGE)
      return false;
    out = v;
    return true;
  }

  size_t matchString(size_t p) {
    char quote = src[p];
    for (size_t q = p + 1; q < src.size(); ++q) {
      if (src[q] == '\\') {
        ++q;
        continue;
      }
      if (src[q] == quote)
        return q - p + 1;
    }
    return 0;
  }

  size_t matchOperator(size_t p) {
    static const char *two[] = {"//", "**", "==", "!=", ">=", "<="};
    llvm::StringRef rest = src.substr(p);
    for (const char *op : two)
      if (rest.starts_with(op))
        return 2;
    if (llvm::StringRef("+-/*%~[](){}><=.:|,;").contains(src[p]))
      return 1;
    return 0;
  }

  /// Python's unicode-escape decoding of a literal's body, as Jinja2 does it.
  bool unescape(llvm::StringRef body, size_t at, std::string &out) {
    size_t i = 0;
    auto hex = [&](size_t count, uint32_t &v) {
      if (i + count > body.size())
        return false;
      v = 0;
      for (size_t k = 0; k < count; ++k) {
        char c = body[i + k];
        v <<= 4;
        if (isDigit(c))
          v |= c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
          v |= (c | 0x20) - 'a' + 10;
        else
          return false;
      }
      i += count;
      return true;
    };
    while (i < body.size()) {
      char c = body[i++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i >= body.size()) {
        out += '\\';
        break;
      }
      char e = body[i++];
      uint32_t v = 0;
      switch (e) {
      case '\n': break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x':
      case 'u':
      case 'U': {
        size_t count = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (!hex(count, v))
          return fail(at, std::string("truncated \\") + e + " escape in a string literal");
        if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
          return fail(at, "string literal escape \\" + std::string(1, e) +
                              " names no character hybridc can hold");
        py::appendUtf8(out, v);
        break;
      }
      case 'N':
        return fail(at, "\\N{...} escapes are not supported");
      default:
        if (e >= '0' && e <= '7') {
          v = e - '0';
          for (int k = 0; k < 2 && i < body.size() && body[i] >= '0' && body[i] <= '7'; ++k)
            v = v * 8 + (body[i++] - '0');
          py::appendUtf8(out, v);
        } else if (static_cast<unsigned char>(e) >= 0x80) {
          // Jinja2 escapes non-ASCII characters as \x.. / \u.. / \U.. before
          // decoding, so a backslash before one keeps that escape's text.
          size_t len = 1;
          while (i - 1 + len < body.size() &&
                 (static_cast<unsigned char>(body[i - 1 + len]) & 0xc0) == 0x80)
            ++len;
          std::vector<uint32_t> cp = py::decode(body.substr(i - 1, len));
          char buf[16];
          uint32_t x = cp.empty() ? 0 : cp[0];
          snprintf(buf, sizeof buf, x < 0x100 ? "\\x%02x" : x < 0x10000 ? "\\u%04x" : "\\U%08x", x);
          out += buf;
          i += len - 1;
        } else {
          out += '\\';
          out += e;
        }
      }
    }
    return true;
  }

  llvm::StringRef src;
  std::vector<Token> &tokens;
  SourceError &error;
  size_t pos = 0;
  bool lineStarting = true;
};

} // namespace

bool jinja::lexTemplate(llvm::StringRef source, std::vector<Token> &tokens, SourceError &error) {
  return Lexer(source, tokens, error).run();
}
