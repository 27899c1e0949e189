//===- PythonText.cpp - Python 3 string semantics on UTF-8 ----------------===//
//
// Code point helpers mirroring CPython's str methods. Case mapping covers the
// scripts chat text commonly mixes with English (Latin-1, Latin Extended-A,
// Greek, Cyrillic); other scripts are treated as uncased, which is what
// CPython does for most of them (CJK, emoji, ...).
//
//===----------------------------------------------------------------------===//
#include "PythonText.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace hybridc;

std::vector<uint32_t> py::decode(llvm::StringRef s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  const auto *p = reinterpret_cast<const unsigned char *>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c >> 5) == 6 && i + 1 < n) {
      cp = ((c & 0x1f) << 6) | (p[i + 1] & 0x3f);
      len = 2;
    } else if ((c >> 4) == 14 && i + 2 < n) {
      cp = ((c & 0x0f) << 12) | ((p[i + 1] & 0x3f) << 6) | (p[i + 2] & 0x3f);
      len = 3;
    } else if ((c >> 3) == 30 && i + 3 < n) {
      cp = ((c & 0x07) << 18) | ((p[i + 1] & 0x3f) << 12) | ((p[i + 2] & 0x3f) << 6) |
           (p[i + 3] & 0x3f);
      len = 4;
    } else {
      cp = 0xfffd;
      len = 1;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

void py::appendUtf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

std::string py::encode(const std::vector<uint32_t> &cps, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end && i < cps.size(); ++i)
    appendUtf8(out, cps[i]);
  return out;
}

size_t py::length(llvm::StringRef s) {
  size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80)
      ++n;
  return n;
}

bool py::isValidUtf8(llvm::StringRef s) {
  const auto *p = reinterpret_cast<const unsigned char *>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if ((c >> 5) == 6) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c >> 4) == 14) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c >> 3) == 30) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + len > n)
      return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

bool py::isSpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

uint32_t py::toUpper(uint32_t cp) {
  if (cp < 0x80)
    return (cp >= 'a' && cp <= 'z') ? cp - 32 : cp;
  if ((cp >= 0xe0 && cp <= 0xfe && cp != 0xf7))
    return cp - 32;
  if (cp == 0xff)
    return 0x178;
  if (cp == 0xb5)
    return 0x39c;
  if (cp >= 0x100 && cp <= 0x17f) {
    if (cp == 0x131)
      return 'I';
    if (cp == 0x17f)
      return 'S';
    if (cp == 0x130 || cp == 0x138 || cp == 0x149 || cp == 0x178)
      return cp;
    bool oddUpper = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e);
    bool isLower = oddUpper ? (cp % 2 == 0) : (cp % 2 == 1);
    return isLower ? cp - 1 : cp;
  }
  if (cp >= 0x3b1 && cp <= 0x3c9)
    return cp == 0x3c2 ? 0x3a3 : cp - 32;
  if (cp == 0x3ac)
    return 0x386;
  if (cp >= 0x3ad && cp <= 0x3af)
    return cp - 37;
  if (cp == 0x3cc)
    return 0x38c;
  if (cp == 0x3cd || cp == 0x3ce)
    return cp - 63;
  if (cp >= 0x430 && cp <= 0x44f)
    return cp - 32;
  if (cp >= 0x450 && cp <= 0x45f)
    return cp - 80;
  return cp;
}

uint32_t py::toLower(uint32_t cp) {
  if (cp < 0x80)
    return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
    return cp + 32;
  if (cp == 0x178)
    return 0xff;
  if (cp >= 0x100 && cp <= 0x17f) {
    if (cp == 0x130)
      return 'i'; // CPython gives "i̇" (two code points); close enough here
    if (cp == 0x131 || cp == 0x138 || cp == 0x149 || cp == 0x17f)
      return cp;
    bool oddUpper = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e);
    bool isUpper = oddUpper ? (cp % 2 == 1) : (cp % 2 == 0);
    return isUpper ? cp + 1 : cp;
  }
  if (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2)
    return cp + 32;
  if (cp == 0x386)
    return 0x3ac;
  if (cp >= 0x388 && cp <= 0x38a)
    return cp + 37;
  if (cp == 0x38c)
    return 0x3cc;
  if (cp == 0x38e || cp == 0x38f)
    return cp + 63;
  if (cp >= 0x410 && cp <= 0x42f)
    return cp + 32;
  if (cp >= 0x400 && cp <= 0x40f)
    return cp + 80;
  return cp;
}

bool py::isCased(uint32_t cp) {
  return toUpper(cp) != cp || toLower(cp) != cp || cp == 0xdf || cp == 0x130 || cp == 0x131 ||
         cp == 0x138 || cp == 0x149 || cp == 0xaa || cp == 0xba;
}

bool py::isPrintable(uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad)
    return false;
  if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
      (cp >= 0x205f && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206f) || cp == 0x3000 ||
      cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb))
    return false;
  if ((cp >= 0x600 && cp <= 0x605) || cp == 0x61c || cp == 0x6dd || cp == 0x70f || cp == 0x180e)
    return false;
  if ((cp >= 0xd800 && cp <= 0xf8ff) || (cp >= 0xf0000))
    return false; // surrogates and private use
  if (cp == 0x110bd || (cp >= 0x1d173 && cp <= 0x1d17a) || cp == 0xe0001 ||
      (cp >= 0xe0020 && cp <= 0xe007f))
    return false;
  return true;
}

bool py::isWordChar(uint32_t c) {
  if (c < 0x80)
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (isSpace(c) || !isPrintable(c) || (c >= 0x2000 && c <= 0x206f) ||
      (c >= 0x3000 && c <= 0x303f) || (c >= 0xa0 && c <= 0xbf) || c == 0xd7 || c == 0xf7 ||
      (c >= 0xff00 && c <= 0xff0f) || (c >= 0x1f000 && c <= 0x1faff) ||
      (c >= 0x2190 && c <= 0x2bff))
    return false;
  return true;
}

namespace {
// Greek capital sigma lowers to the final form at the end of a word.
bool finalSigma(const std::vector<uint32_t> &cps, size_t i) {
  bool before = false;
  for (size_t k = i; k-- > 0;) {
    if (py::isCased(cps[k])) {
      before = true;
      break;
    }
    if (cps[k] != '\'' && cps[k] != 0x2019 && cps[k] != '.')
      break;
  }
  if (!before)
    return false;
  for (size_t k = i + 1; k < cps.size(); ++k) {
    if (py::isCased(cps[k]))
      return false;
    if (cps[k] != '\'' && cps[k] != 0x2019 && cps[k] != '.')
      break;
  }
  return true;
}

void appendUpper(std::string &out, uint32_t cp) {
  if (cp == 0xdf) { // ß
    out += "SS";
    return;
  }
  py::appendUtf8(out, py::toUpper(cp));
}

void appendLower(std::string &out, const std::vector<uint32_t> &cps, size_t i) {
  if (cps[i] == 0x3a3 && finalSigma(cps, i)) {
    py::appendUtf8(out, 0x3c2);
    return;
  }
  py::appendUtf8(out, py::toLower(cps[i]));
}
} // namespace

std::string py::upper(llvm::StringRef s) {
  std::string out;
  for (uint32_t cp : decode(s))
    appendUpper(out, cp);
  return out;
}

std::string py::lower(llvm::StringRef s) {
  std::vector<uint32_t> cps = decode(s);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i)
    appendLower(out, cps, i);
  return out;
}

std::string py::title(llvm::StringRef s) {
  std::vector<uint32_t> cps = decode(s);
  std::string out;
  bool previousCased = false;
  for (size_t i = 0; i < cps.size(); ++i) {
    uint32_t cp = cps[i];
    if (previousCased)
      appendLower(out, cps, i);
    else if (cp == 0xdf)
      out += "Ss";
    else
      appendUtf8(out, toUpper(cp));
    previousCased = isCased(cp);
  }
  return out;
}

std::string py::capitalize(llvm::StringRef s) {
  std::vector<uint32_t> cps = decode(s);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (i == 0) {
      if (cps[0] == 0xdf)
        out += "Ss";
      else
        appendUtf8(out, toUpper(cps[0]));
    } else {
      appendLower(out, cps, i);
    }
  }
  return out;
}

std::string py::strip(llvm::StringRef s, const std::string *chars, bool left, bool right) {
  std::vector<uint32_t> cps = decode(s);
  std::vector<uint32_t> set;
  if (chars)
    set = decode(*chars);
  auto strippable = [&](uint32_t cp) {
    if (!chars)
      return isSpace(cp);
    for (uint32_t c : set)
      if (c == cp)
        return true;
    return false;
  };
  size_t b = 0, e = cps.size();
  if (left)
    while (b < e && strippable(cps[b]))
      ++b;
  if (right)
    while (e > b && strippable(cps[e - 1]))
      --e;
  return encode(cps, b, e);
}

std::vector<std::string> py::split(llvm::StringRef s, const std::string *sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    llvm::StringRef rest = s;
    while (maxsplit < 0 || int64_t(out.size()) < maxsplit) {
      size_t at = rest.find(*sep);
      if (at == llvm::StringRef::npos)
        break;
      out.push_back(rest.substr(0, at).str());
      rest = rest.substr(at + sep->size());
    }
    out.push_back(rest.str());
    return out;
  }
  std::vector<uint32_t> cps = decode(s);
  size_t i = 0, n = cps.size();
  while (true) {
    while (i < n && isSpace(cps[i]))
      ++i;
    if (i == n)
      break;
    if (maxsplit >= 0 && int64_t(out.size()) == maxsplit) {
      size_t e = n;
      while (e > i && isSpace(cps[e - 1]))
        --e;
      out.push_back(encode(cps, i, e));
      break;
    }
    size_t b = i;
    while (i < n && !isSpace(cps[i]))
      ++i;
    out.push_back(encode(cps, b, i));
  }
  return out;
}

std::vector<std::string> py::rsplit(llvm::StringRef s, const std::string *sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    llvm::StringRef rest = s;
    while (maxsplit < 0 || int64_t(out.size()) < maxsplit) {
      size_t at = rest.rfind(*sep);
      if (at == llvm::StringRef::npos)
        break;
      out.push_back(rest.substr(at + sep->size()).str());
      rest = rest.substr(0, at);
    }
    out.push_back(rest.str());
    return std::vector<std::string>(out.rbegin(), out.rend());
  }
  std::vector<uint32_t> cps = decode(s);
  size_t i = cps.size();
  while (true) {
    while (i > 0 && isSpace(cps[i - 1]))
      --i;
    if (i == 0)
      break;
    if (maxsplit >= 0 && int64_t(out.size()) == maxsplit) {
      size_t b = 0;
      while (b < i && isSpace(cps[b]))
        ++b;
      out.push_back(encode(cps, b, i));
      break;
    }
    size_t e = i;
    while (i > 0 && !isSpace(cps[i - 1]))
      --i;
    out.push_back(encode(cps, i, e));
  }
  return std::vector<std::string>(out.rbegin(), out.rend());
}

std::string py::replace(llvm::StringRef s, llvm::StringRef from, llvm::StringRef to,
                        int64_t count) {
  std::string out;
  if (from.empty()) {
    // Python inserts `to` before every code point and at the end.
    std::vector<uint32_t> cps = decode(s);
    int64_t done = 0;
    for (uint32_t cp : cps) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      appendUtf8(out, cp);
    }
    if (count < 0 || done < count)
      out += to;
    return out;
  }
  int64_t done = 0;
  llvm::StringRef rest = s;
  while (count < 0 || done < count) {
    size_t at = rest.find(from);
    if (at == llvm::StringRef::npos)
      break;
    out += rest.substr(0, at);
    out += to;
    rest = rest.substr(at + from.size());
    ++done;
  }
  out += rest;
  return out;
}

std::string py::reprString(llvm::StringRef s) {
  bool hasSingle = s.contains('\''), hasDouble = s.contains('"');
  char quote = (hasSingle && !hasDouble) ? '"' : '\'';
  std::string out(1, quote);
  char buf[16];
  for (uint32_t cp : decode(s)) {
    if (cp == uint32_t(quote) || cp == '\\') {
      out += '\\';
      out += char(cp);
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (isPrintable(cp)) {
      appendUtf8(out, cp);
    } else {
      if (cp < 0x100)
        snprintf(buf, sizeof buf, "\\x%02x", cp);
      else if (cp < 0x10000)
        snprintf(buf, sizeof buf, "\\u%04x", cp);
      else
        snprintf(buf, sizeof buf, "\\U%08x", cp);
      out += buf;
    }
  }
  out += quote;
  return out;
}

std::string py::reprFloat(double d) {
  if (std::isnan(d))
    return "nan";
  if (std::isinf(d))
    return d < 0 ? "-inf" : "inf";
  if (d == 0)
    return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  int precision = 1;
  for (; precision <= 17; ++precision) {
    snprintf(buf, sizeof buf, "%.*e", precision - 1, d);
    if (std::strtod(buf, nullptr) == d)
      break;
  }
  // buf is [-]d[.ddd]e[+-]xx: split into sign, digits and exponent.
  std::string text = buf;
  bool negative = text[0] == '-';
  if (negative)
    text.erase(0, 1);
  size_t e = text.find('e');
  int exponent = std::atoi(text.c_str() + e + 1);
  std::string digits;
  for (size_t i = 0; i < e; ++i)
    if (text[i] != '.')
      digits += text[i];
  while (digits.size() > 1 && digits.back() == '0')
    digits.pop_back();
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent >= 0) {
      std::string intPart = digits.substr(0, std::min<size_t>(digits.size(), exponent + 1));
      while (intPart.size() < size_t(exponent + 1))
        intPart += '0';
      std::string frac = digits.size() > size_t(exponent + 1) ? digits.substr(exponent + 1) : "0";
      out += intPart + "." + frac;
    } else {
      out += "0." + std::string(-exponent - 1, '0') + digits;
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1)
    out += "." + digits.substr(1);
  snprintf(buf, sizeof buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  out += buf;
  return out;
}
