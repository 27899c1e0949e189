//===- TokenizerRegex.cpp - Split patterns for PCRE2 -----------------------===//
//
// tokenizer.json's Split patterns are Oniguruma regexes (the Rust library's
// engine); the reference, tokenizers.js, rewrites them into JavaScript
// regexes with the `u` flag and runs those. PCRE2 (UTF + UCP) agrees with
// both on nearly all of the syntax; where it does not, the pattern is
// rewritten here so that PCRE2 matches what the reference matches:
//   \s, \S     Unicode White_Space (PCRE2's \s also takes U+180E)
//   \d, \D     \p{Nd}
//   (?i:...)   ASCII letters only ([sS]); PCRE2 would also fold 'ſ' to s and
//              the Kelvin sign to k
//   .          any character but \n, whatever PCRE2's newline setting
//   {,n}       {0,n} (a literal in PCRE2 10.42)
//   \v, \uHHHH the vertical tab and a code point (\v is a class in PCRE2)
// Constructs whose meaning differs between the engines and that no supported
// tokenizer uses (\w, \b, anchors, possessive quantifiers, atomic groups,
// nested classes, POSIX brackets, backreferences, inline flags, ...) are
// refused with their offset, rather than translated approximately.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Tokenizer/Tokenizer.h"
#include "hybridc/Support/Error.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <vector>

using namespace hybridc;

namespace {

class Translator {
public:
  explicit Translator(llvm::StringRef in) : in(in) {}
  llvm::Expected<std::string> run();

private:
  llvm::Error refuse(size_t at, const llvm::Twine &what) {
    return makeError("pattern '" + in + "': " + what + " at offset " + llvm::Twine(at) +
                     " is not supported");
  }
  bool peek(llvm::StringRef s) const { return in.substr(i).starts_with(s); }
  llvm::Error escape(bool inClass);
  llvm::Error group();
  llvm::Error characterClass();
  llvm::Error quantifierSuffix(size_t at);

  llvm::StringRef in;
  size_t i = 0;
  std::string out;
  std::vector<bool> foldStack; // per open group: fold before it
  bool fold = false;           // inside (?i:...)
  bool haveAtom = false;       // something a quantifier can apply to
};

bool isGeneralCategory(llvm::StringRef name) {
  static const llvm::StringSet<> names = {
      "L",  "Lu", "Ll", "Lt", "Lm", "Lo", "M",  "Mn", "Mc", "Me", "N",  "Nd", "Nl",
      "No", "P",  "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S",  "Sm", "Sc", "Sk",
      "So", "Z",  "Zs", "Zl", "Zp", "C",  "Cc", "Cf", "Co", "Cn"};
  return names.contains(name);
}

// One escape (i at the backslash).
llvm::Error Translator::escape(bool inClass) {
  const size_t at = i;
  if (i + 1 >= in.size())
    return refuse(at, "a trailing backslash");
  const char c = in[i + 1];
  i += 2;
  haveAtom = true;
  switch (c) {
  case 's':
    out += "\\p{White_Space}";
    return llvm::Error::success();
  case 'S':
    out += "\\P{White_Space}";
    return llvm::Error::success();
  case 'd':
    out += "\\p{Nd}";
    return llvm::Error::success();
  case 'D':
    out += "\\P{Nd}";
    return llvm::Error::success();
  case 't': case 'n': case 'r': case 'f':
    out += '\\';
    out += c;
    return llvm::Error::success();
  case 'v':
    out += "\\x0B";
    return llvm::Error::success();
  case 'p':
  case 'P': {
    if (i >= in.size() || in[i] != '{')
      return refuse(at, llvm::Twine("\\") + llvm::Twine(c) + " without {...}");
    size_t close = in.find('}', i);
    if (close == llvm::StringRef::npos)
      return refuse(at, "an unterminated \\p{");
    llvm::StringRef name = in.slice(i + 1, close);
    if (!isGeneralCategory(name))
      return refuse(at, "the property \\" + llvm::Twine(c) + "{" + name +
                            "} (only general categories such as L, N, Lu)");
    out += in.slice(at, close + 1).str();
    i = close + 1;
    return llvm::Error::success();
  }
  case 'x': {
    if (i < in.size() && in[i] == '{') {
      size_t close = in.find('}', i);
      llvm::StringRef hex = close == llvm::StringRef::npos ? "" : in.slice(i + 1, close);
      unsigned long long v;
      if (hex.empty() || hex.getAsInteger(16, v) || v > 0x10FFFF)
        return refuse(at, "a malformed \\x{...}");
      out += "\\x{" + hex.str() + "}";
      i = close + 1;
      return llvm::Error::success();
    }
    llvm::StringRef hex = in.substr(i, 2);
    unsigned v;
    if (hex.size() != 2 || hex.getAsInteger(16, v))
      return refuse(at, "a malformed \\xHH");
    out += "\\x{" + hex.str() + "}";
    i += 2;
    return llvm::Error::success();
  }
  case 'u': {
    llvm::StringRef hex = in.substr(i, 4);
    unsigned v;
    if (hex.size() != 4 || hex.getAsInteger(16, v))
      return refuse(at, "a malformed \\uHHHH");
    out += "\\x{" + hex.str() + "}";
    i += 4;
    return llvm::Error::success();
  }
  default:
    break;
  }
  if (llvm::isAlnum(c))
    return refuse(at, llvm::Twine("the escape \\") + llvm::Twine(c));
  if (static_cast<unsigned char>(c) >= 0x80) { // an escaped non-ASCII character: itself
    out += c;
    while (i < in.size() && (static_cast<unsigned char>(in[i]) & 0xC0) == 0x80)
      out += in[i++];
    return llvm::Error::success();
  }
  (void)inClass;
  out += '\\';
  out += c; // escaped punctuation stands for itself in both engines
  return llvm::Error::success();
}

llvm::Error Translator::group() {
  const size_t at = i;
  foldStack.push_back(fold);
  haveAtom = false;
  if (peek("(?i:")) {
    out += "(?:";
    fold = true;
    i += 4;
  } else if (peek("(?:") || peek("(?=") || peek("(?!")) {
    out += in.substr(i, 3).str();
    i += 3;
  } else if (peek("(?<=") || peek("(?<!")) {
    out += in.substr(i, 4).str();
    i += 4;
  } else if (peek("(?")) {
    return refuse(at, "the group '" + in.substr(i, 3) + "...' (atomic, named, inline flags)");
  } else {
    out += '(';
    ++i;
  }
  return llvm::Error::success();
}

llvm::Error Translator::characterClass() {
  const size_t at = i;
  if (fold)
    return refuse(at, "a character class inside (?i:...)");
  out += '[';
  ++i;
  if (peek("^")) {
    out += '^';
    ++i;
  }
  if (peek("]"))
    return refuse(at, "a class starting with ']'");
  while (i < in.size() && in[i] != ']') {
    if (peek("["))
      return refuse(i, "a nested class or POSIX bracket inside a class");
    if (peek("&&"))
      return refuse(i, "a class intersection (&&)");
    if (in[i] == '\\') {
      if (i + 1 < in.size() && llvm::StringRef("wWbBhHAzZGaekcoN0123456789").contains(in[i + 1]))
        return refuse(i, llvm::Twine("the escape \\") + llvm::Twine(in[i + 1]) + " in a class");
      if (llvm::Error e = escape(/*inClass=*/true))
        return e;
      continue;
    }
    out += in[i++];
  }
  if (i >= in.size())
    return refuse(at, "an unterminated class");
  out += ']';
  ++i;
  haveAtom = true;
  return llvm::Error::success();
}

// After a quantifier: lazy is fine, possessive is not.
llvm::Error Translator::quantifierSuffix(size_t at) {
  if (peek("+"))
    return refuse(at, "a possessive quantifier");
  if (peek("?")) {
    out += '?';
    ++i;
  }
  haveAtom = false;
  return llvm::Error::success();
}

llvm::Expected<std::string> Translator::run() {
  while (i < in.size()) {
    const size_t at = i;
    const char c = in[i];
    switch (c) {
    case '\\':
      if (i + 1 < in.size() && llvm::StringRef("wWbBhHAzZGaekoN123456789").contains(in[i + 1]))
        return refuse(at, llvm::Twine("the escape \\") + llvm::Twine(in[i + 1]));
      if (llvm::Error e = escape(/*inClass=*/false))
        return std::move(e);
      continue;
    case '[':
      if (llvm::Error e = characterClass())
        return std::move(e);
      continue;
    case '(':
      if (llvm::Error e = group())
        return std::move(e);
      continue;
    case ')':
      if (foldStack.empty())
        return refuse(at, "an unmatched ')'");
      fold = foldStack.back();
      foldStack.pop_back();
      out += ')';
      ++i;
      haveAtom = true;
      continue;
    case '|':
      out += '|';
      ++i;
      haveAtom = false;
      continue;
    case '^':
    case '$':
      return refuse(at, llvm::Twine("the anchor ") + llvm::Twine(c));
    case '.':
      out += "[^\\n]";
      ++i;
      haveAtom = true;
      continue;
    case '*':
    case '+':
    case '?':
      if (!haveAtom)
        return refuse(at, "a quantifier with nothing before it");
      out += c;
      ++i;
      if (llvm::Error e = quantifierSuffix(at))
        return std::move(e);
      continue;
    case '{': {
      // {n}, {n,}, {n,m}, {,m}; anything else is a literal brace.
      size_t close = in.find('}', i);
      llvm::StringRef body = close == llvm::StringRef::npos ? "" : in.slice(i + 1, close);
      auto [lo, hi] = body.split(',');
      unsigned v;
      const bool numeric = !body.empty() && (lo.empty() || !lo.getAsInteger(10, v)) &&
                           (hi.empty() || !hi.getAsInteger(10, v)) && !(lo.empty() && hi.empty());
      if (!numeric) {
        out += "\\{";
        ++i;
        haveAtom = true;
        continue;
      }
      if (!haveAtom)
        return refuse(at, "a quantifier with nothing before it");
      out += "{" + (lo.empty() ? std::string("0") : lo.str()) +
             (body.contains(',') ? "," + hi.str() : std::string()) + "}";
      i = close + 1;
      if (llvm::Error e = quantifierSuffix(at))
        return std::move(e);
      continue;
    }
    case ']':
    case '}':
      out += '\\';
      out += c;
      ++i;
      haveAtom = true;
      continue;
    default:
      break;
    }
    haveAtom = true;
    if (fold && llvm::isAlpha(c)) {
      out += '[';
      out += llvm::toLower(c);
      out += llvm::toUpper(c);
      out += ']';
      ++i;
      continue;
    }
    out += c;
    ++i;
  }
  if (!foldStack.empty())
    return refuse(in.size(), "an unclosed group");
  return out;
}

} // namespace

llvm::Expected<std::string> hybridc::translateSplitPattern(llvm::StringRef pattern) {
  return Translator(pattern).run();
}

const std::string &hybridc::byteLevelSplitPattern() {
  // GPT-2's pattern as tokenizers.js writes it, a JavaScript regex whose \s
  // is JavaScript's: White_Space without U+0085, with U+FEFF.
  static const std::string space = "\\t\\n\\x0B\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}"
                                   "\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}";
  static const std::string pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" + space +
                                     "\\p{L}\\p{N}]+|[" + space + "]+(?![^" + space + "])|[" +
                                     space + "]+";
  return pattern;
}
