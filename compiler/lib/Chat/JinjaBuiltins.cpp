//===- JinjaBuiltins.cpp - filters, tests, methods and globals ------------===//
//
// The part of Jinja2's library (jinja2/filters.py, jinja2/tests.py) and of
// Python's str / dict / list methods that chat templates use, each with
// Python's argument names, defaults and results, plus Hugging Face's
// additions: `tojson` as json.dumps(ensure_ascii=False, ...),
// raise_exception and strftime_now. Jinja2 filters that hybridc does not
// run are still known by name, so a template using one fails with "is not
// supported" rather than "no filter named".
//
//===----------------------------------------------------------------------===//
#include "JinjaEval.h"
#include "JinjaParser.h"
#include "PythonText.h"

#include "hybridc/Chat/JsonText.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>

using namespace hybridc;
using namespace hybridc::jinja;

namespace {

const char *const kFilters[] = {
    "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e",
    "escape", "first", "float", "forceescape", "indent", "int", "items", "join", "last",
    "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace",
    "reverse", "round", "safe", "select", "selectattr", "sort", "string", "sum", "title",
    "tojson", "trim", "truncate", "unique", "upper", "wordcount"};
const char *const kJinjaOnlyFilters[] = {"filesizeformat", "format", "groupby", "pprint",
                                         "random", "slice", "striptags", "urlencode", "urlize",
                                         "wordwrap", "xmlattr"};
const char *const kTests[] = {
    "odd", "even", "divisibleby", "defined", "undefined", "filter", "test", "none", "boolean",
    "false", "true", "integer", "float", "lower", "upper", "string", "mapping", "number",
    "sequence", "iterable", "callable", "sameas", "escaped", "in", "==", "eq", "equalto", "!=",
    "ne", ">", "gt", "greaterthan", "ge", ">=", "<", "lt", "lessthan", "<=", "le"};

template <size_t N> bool among(const char *const (&names)[N], llvm::StringRef name) {
  for (const char *n : names)
    if (name == n)
      return true;
  return false;
}

/// Binds call arguments to named parameters as Python does.
class Binder {
public:
  Binder(Evaluator &ev, const CallArgs &args, std::initializer_list<const char *> names,
         std::string what, size_t offset)
      : names(names), slots(names.size()) {
    if (args.positional.size() > names.size()) {
      ev.fail(offset, what + " takes at most " + std::to_string(names.size()) +
                          " argument(s), got " + std::to_string(args.positional.size()));
      ok = false;
      return;
    }
    for (size_t i = 0; i < args.positional.size(); ++i)
      slots[i] = args.positional[i];
    for (const auto &kw : args.keywords) {
      auto it = std::find_if(this->names.begin(), this->names.end(),
                             [&](const char *n) { return kw.first == n; });
      if (it == this->names.end()) {
        ev.fail(offset, what + " got an unexpected keyword argument '" + kw.first + "'");
        ok = false;
        return;
      }
      size_t i = it - this->names.begin();
      if (slots[i]) {
        ev.fail(offset, what + " got multiple values for argument '" + kw.first + "'");
        ok = false;
        return;
      }
      slots[i] = kw.second;
    }
  }
  bool has(size_t i) const { return slots[i].has_value(); }
  JinjaValue get(size_t i, JinjaValue fallback = JinjaValue::none()) const {
    return slots[i] ? *slots[i] : fallback;
  }
  bool ok = true;

private:
  std::vector<const char *> names;
  std::vector<std::optional<JinjaValue>> slots;
};

JinjaValue str(std::string s) { return JinjaValue::string(std::move(s)); }
JinjaValue boolean(bool b) { return JinjaValue::boolean(b); }

JinjaValue lowerIfString(const JinjaValue &v) {
  return v.isString() ? str(py::lower(v.getString())) : v;
}

std::string htmlEscape(llvm::StringRef s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&#34;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

/// Python's str.splitlines().
std::vector<std::string> splitLines(llvm::StringRef s, bool keepEnds) {
  std::vector<uint32_t> cps = py::decode(s);
  std::vector<std::string> lines;
  size_t start = 0, i = 0;
  while (i < cps.size()) {
    uint32_t c = cps[i];
    bool brk = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d ||
               c == 0x1e || c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!brk) {
      ++i;
      continue;
    }
    size_t end = i + 1;
    if (c == '\r' && end < cps.size() && cps[end] == '\n')
      ++end;
    lines.push_back(py::encode(cps, start, keepEnds ? end : i));
    start = i = end;
  }
  if (start < cps.size())
    lines.push_back(py::encode(cps, start, cps.size()));
  return lines;
}

using py::isWordChar;

int64_t codePointIndex(llvm::StringRef s, size_t byteOffset) {
  return int64_t(py::length(s.substr(0, byteOffset)));
}

} // namespace

bool jinja::isSupportedFilter(llvm::StringRef name) { return among(kFilters, name); }
bool jinja::isJinjaOnlyFilter(llvm::StringRef name) { return among(kJinjaOnlyFilters, name); }
bool jinja::isSupportedTest(llvm::StringRef name) { return among(kTests, name); }

bool isImplementedMethod(const JinjaValue &self, llvm::StringRef name) {
  static const char *const strImpl[] = {
      "capitalize", "center", "count", "endswith", "find", "format", "index", "isalnum",
      "isalpha", "isascii", "isdecimal", "isdigit", "islower", "isnumeric", "isspace",
      "isupper", "join", "ljust", "lower", "lstrip", "partition", "removeprefix",
      "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip",
      "split", "splitlines", "startswith", "strip", "title", "upper", "zfill"};
  static const char *const dictImpl[] = {"copy", "get", "items", "keys", "values"};
  static const char *const listImpl[] = {"copy", "count", "index"};
  if (self.isString())
    return among(strImpl, name);
  if (self.isDict())
    return among(dictImpl, name);
  if (self.isList())
    return among(listImpl, name);
  return false;
}

// ---- filters ---------------------------------------------------------------

JinjaValue Evaluator::callFilter(llvm::StringRef name, const JinjaValue &v, CallArgs args,
                                 size_t offset) {
  std::string what = "filter '" + name.str() + "'";
  auto bind = [&](std::initializer_list<const char *> names) {
    return Binder(*this, args, names, what, offset);
  };
  auto needString = [&](const JinjaValue &x, const char *param) -> bool {
    if (x.isString())
      return true;
    fail(offset, what + ": " + param + " must be a string, not " + typeName(x));
    return false;
  };
  // The attribute getter of make_attrgetter: "a.b.0" goes a, b, then item 0.
  auto attrParts = [&](const JinjaValue &attr) {
    ValueList parts;
    if (attr.isString()) {
      llvm::SmallVector<llvm::StringRef, 4> pieces;
      llvm::StringRef(attr.getString()).split(pieces, '.');
      for (llvm::StringRef p : pieces) {
        bool digits = !p.empty() && llvm::all_of(p, [](char c) { return c >= '0' && c <= '9'; });
        int64_t n;
        if (digits && !p.getAsInteger(10, n))
          parts.push_back(JinjaValue::integer(n));
        else
          parts.push_back(str(p.str()));
      }
    } else if (!attr.isNone()) {
      parts.push_back(attr);
    }
    return parts;
  };
  auto getAttrPath = [&](JinjaValue item, const ValueList &parts,
                         const JinjaValue *fallback = nullptr) {
    for (const JinjaValue &p : parts) {
      item = item.isUndefined() ? undefinedError(item, offset) : getitem(item, p, offset);
      if (failed_)
        return JinjaValue();
      if (fallback && item.isUndefined())
        item = *fallback;
    }
    return item;
  };
  auto items = [&](const JinjaValue &x, ValueList &out) { return iterate(x, out, offset); };
  auto sortItems = [&](ValueList &list, auto key, bool reverse) {
    std::vector<std::pair<JinjaValue, JinjaValue>> keyed;
    for (JinjaValue &x : list) {
      keyed.emplace_back(key(x), x);
      if (failed_)
        return;
    }
    bool bad = false;
    std::string badTypes;
    auto less = [&](const std::pair<JinjaValue, JinjaValue> &a,
                    const std::pair<JinjaValue, JinjaValue> &b) {
      if (a.first.isUndefined() || b.first.isUndefined()) {
        if (!bad)
          undefinedError(a.first.isUndefined() ? a.first : b.first, offset);
        bad = true;
        return false;
      }
      std::optional<int> c = compare(a.first, b.first);
      if (!c) {
        if (!bad)
          badTypes = "'<' not supported between instances of '" + typeName(a.first) + "' and '" +
                     typeName(b.first) + "'";
        bad = true;
        return false;
      }
      return *c < 0;
    };
    // Python's sorted(reverse=True) keeps equal items in their order.
    if (reverse)
      std::stable_sort(keyed.begin(), keyed.end(),
                       [&](const auto &a, const auto &b) { return less(b, a); });
    else
      std::stable_sort(keyed.begin(), keyed.end(), less);
    if (bad) {
      if (!failed_)
        fail(offset, badTypes);
      return;
    }
    for (size_t i = 0; i < list.size(); ++i)
      list[i] = keyed[i].second;
  };

  if (name == "abs") {
    if (!bind({}).ok)
      return JinjaValue();
    if (v.isUndefined())
      return undefinedError(v, offset);
    if (v.isIntegral()) {
      if (v.getInt() == INT64_MIN)
        return fail(offset, "integer overflow");
      return JinjaValue::integer(std::llabs(v.getInt()));
    }
    if (v.isFloat())
      return JinjaValue::number(std::fabs(v.getNumber()));
    return fail(offset, "bad operand type for abs(): '" + typeName(v) + "'");
  }
  if (name == "attr") {
    Binder b = bind({"name"});
    if (!b.ok)
      return JinjaValue();
    JinjaValue n = b.get(0);
    if (!needString(n, "name"))
      return JinjaValue();
    if (v.isDict() && !isImplementedMethod(v, n.getString()))
      return JinjaValue::undefined("'dict object' has no attribute '" + n.getString() + "'");
    if (v.isUndefined())
      return undefinedError(v, offset);
    return getattr(v, n.getString(), offset);
  }
  if (name == "batch") {
    Binder b = bind({"linecount", "fill_with"});
    if (!b.ok)
      return JinjaValue();
    JinjaValue n = b.get(0);
    if (!n.isIntegral())
      return fail(offset, what + ": linecount must be an integer");
    ValueList in, out, row;
    if (!items(v, in))
      return JinjaValue();
    int64_t count = n.getInt();
    for (const JinjaValue &x : in) {
      if (int64_t(row.size()) == count) {
        out.push_back(JinjaValue::list(row));
        row.clear();
      }
      row.push_back(x);
    }
    if (!row.empty()) {
      JinjaValue fill = b.get(1);
      if (!fill.isNone())
        while (int64_t(row.size()) < count)
          row.push_back(fill);
      out.push_back(JinjaValue::list(row));
    }
    return JinjaValue::list(std::move(out), JinjaValue::Seq::Iterator);
  }
  if (name == "capitalize" || name == "upper" || name == "lower" || name == "title") {
    if (!bind({}).ok)
      return JinjaValue();
    std::string s = toStr(v);
    if (name == "title") {
      // Jinja2's own title(): words start after runs of - ( { [ < or
      // whitespace (str.title() would also start one after "'").
      std::vector<uint32_t> cps = py::decode(s);
      std::string out;
      bool atStart = true;
      for (size_t i = 0; i < cps.size(); ++i) {
        uint32_t c = cps[i];
        bool sep = py::isSpace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
        if (sep) {
          py::appendUtf8(out, c);
          atStart = true;
          continue;
        }
        std::string one;
        py::appendUtf8(one, c);
        out += atStart ? py::upper(one) : py::lower(one);
        atStart = false;
      }
      return str(std::move(out));
    }
    return str(name == "upper"   ? py::upper(s)
               : name == "lower" ? py::lower(s)
                                 : py::capitalize(s));
  }
  if (name == "center") {
    Binder b = bind({"width"});
    if (!b.ok)
      return JinjaValue();
    CallArgs m;
    m.positional.push_back(b.get(0, JinjaValue::integer(80)));
    auto fn = std::make_shared<JinjaCallable>();
    fn->kind = JinjaCallable::Kind::Method;
    fn->name = "center";
    fn->self = str(toStr(v));
    return callMethod(*fn, std::move(m), offset);
  }
  if (name == "count" || name == "length") {
    if (!bind({}).ok)
      return JinjaValue();
    switch (v.kind()) {
    case JinjaValue::Kind::Undefined:
      return JinjaValue::integer(0);
    case JinjaValue::Kind::String:
      return JinjaValue::integer(int64_t(py::length(v.getString())));
    case JinjaValue::Kind::List:
      if (v.seq() == JinjaValue::Seq::Iterator)
        break;
      return JinjaValue::integer(int64_t(v.getList().size()));
    case JinjaValue::Kind::Dict:
      return JinjaValue::integer(int64_t(v.getDict().items.size()));
    case JinjaValue::Kind::Object:
      if (const JinjaValue *len = v.getObject().attrs.find("length"))
        return *len;
      break;
    default:
      break;
    }
    return fail(offset, "object of type '" + typeName(v) + "' has no len()");
  }
  if (name == "d" || name == "default") {
    Binder b = bind({"default_value", "boolean"});
    if (!b.ok)
      return JinjaValue();
    if (v.isUndefined() || (truthy(b.get(1, boolean(false))) && !truthy(v)))
      return b.get(0, str(""));
    return v;
  }
  if (name == "dictsort") {
    Binder b = bind({"case_sensitive", "by", "reverse"});
    if (!b.ok)
      return JinjaValue();
    if (v.isUndefined())
      return undefinedError(v, offset);
    if (!v.isDict())
      return fail(offset, "'" + typeName(v) + "' object has no attribute 'items'");
    JinjaValue by = b.get(1, str("key"));
    int pos;
    if (by.isString() && by.getString() == "key")
      pos = 0;
    else if (by.isString() && by.getString() == "value")
      pos = 1;
    else
      return fail(offset, "You can only sort by either \"key\" or \"value\"");
    bool caseSensitive = truthy(b.get(0, boolean(false)));
    ValueList pairs;
    for (const auto &kv : v.getDict().items)
      pairs.push_back(JinjaValue::list({kv.first, kv.second}, JinjaValue::Seq::Tuple));
    sortItems(
        pairs,
        [&](const JinjaValue &p) {
          const JinjaValue &x = p.getList()[pos];
          return caseSensitive ? x : lowerIfString(x);
        },
        truthy(b.get(2, boolean(false))));
    if (failed_)
      return JinjaValue();
    return JinjaValue::list(std::move(pairs));
  }
  if (name == "e" || name == "escape" || name == "forceescape") {
    if (!bind({}).ok)
      return JinjaValue();
    return str(htmlEscape(toStr(v)));
  }
  if (name == "first") {
    if (!bind({}).ok)
      return JinjaValue();
    ValueList in;
    if (!items(v, in))
      return JinjaValue();
    if (in.empty())
      return JinjaValue::undefined("No first item, sequence was empty.");
    return in.front();
  }
  if (name == "last") {
    if (!bind({}).ok)
      return JinjaValue();
    if (v.isList() && v.seq() != JinjaValue::Seq::List && v.seq() != JinjaValue::Seq::Tuple &&
        v.seq() != JinjaValue::Seq::DictKeys && v.seq() != JinjaValue::Seq::DictItems &&
        v.seq() != JinjaValue::Seq::DictValues)
      return fail(offset, "'" + typeName(v) + "' object is not reversible");
    ValueList in;
    if (!items(v, in))
      return JinjaValue();
    if (in.empty())
      return JinjaValue::undefined("No last item, sequence was empty.");
    return in.back();
  }
  if (name == "float") {
    Binder b = bind({"default"});
    if (!b.ok)
      return JinjaValue();
    if (v.isUndefined())
      return undefinedError(v, offset);
    if (v.isNumber())
      return JinjaValue::number(v.getNumber());
    if (v.isString()) {
      std::string t = py::strip(v.getString(), nullptr, true, true), clean;
      for (char c : t)
        if (c != '_')
          clean += c;
      char *end = nullptr;
      double d = std::strtod(clean.c_str(), &end);
      if (!clean.empty() && end && *end == '\0' && !(clean.size() > 1 && clean[0] == '0' &&
                                                     (clean[1] | 0x20) == 'x'))
        return JinjaValue::number(d);
    }
    return b.get(0, JinjaValue::number(0.0));
  }
  if (name == "int") {
    Binder b = bind({"default", "base"});
    if (!b.ok)
      return JinjaValue();
    if (v.isUndefined())
      return undefinedError(v, offset);
    JinjaValue fallback = b.get(0, JinjaValue::integer(0));
    if (v.isIntegral())
      return JinjaValue::integer(v.getInt());
    if (v.isFloat()) {
      double d = v.getNumber();
      if (std::isnan(d) || std::isinf(d) || std::fabs(d) >= 9.2e18)
        return fallback;
      return JinjaValue::integer(int64_t(std::trunc(d)));
    }
    if (v.isString()) {
      JinjaValue base = b.get(1, JinjaValue::integer(10));
      std::string t = py::strip(v.getString(), nullptr, true, true), clean;
      for (char c : t)
        if (c != '_')
          clean += c;
      char *end = nullptr;
      errno = 0;
      long long n = std::strtoll(clean.c_str(), &end, base.isIntegral() ? int(base.getInt()) : 10);
      if (!clean.empty() && end && *end == '\0' && errno != ERANGE)
        return JinjaValue::integer(n);
      double d = std::strtod(clean.c_str(), &end);
      if (!clean.empty() && end && *end == '\0' && std::isfinite(d) && std::fabs(d) < 9.2e18)
        return JinjaValue::integer(int64_t(std::trunc(d)));
    }
    return fallback;
  }
  if (name == "indent") {
    Binder b = bind({"width", "first", "blank"});
    if (!b.ok)
      return JinjaValue();
    JinjaValue width = b.get(0, JinjaValue::integer(4));
    std::string indention;
    if (width.isString())
      indention = width.getString();
    else if (width.isIntegral())
      indention = std::string(std::max<int64_t>(0, std::min<int64_t>(width.getInt(), 1 << 20)), ' ');
    else
      return fail(offset, what + ": width must be an integer or a string");
    std::string s = toStr(v) + "\n";
    std::vector<std::string> lines = splitLines(s, false);
    std::string rv;
    if (truthy(b.get(2, boolean(false)))) {
      for (size_t i = 0; i < lines.size(); ++i)
        rv += (i ? "\n" + indention : "") + lines[i];
    } else {
      rv = lines.empty() ? "" : lines[0];
      for (size_t i = 1; i < lines.size(); ++i)
        rv += "\n" + (lines[i].empty() ? "" : indention + lines[i]);
    }
    if (truthy(b.get(1, boolean(false))))
      rv = indention + rv;
    return checkSize(str(std::move(rv)), offset);
  }
  if (name == "items") {
    if (!bind({}).ok)
      return JinjaValue();
    if (v.isUndefined())
      return JinjaValue::list({}, JinjaValue::Seq::Iterator);
    if (!v.isDict())
      return fail(offset, "Can only get item pairs from a mapping.");
    ValueList pairs;
    for (const auto &kv : v.getDict().items)
      pairs.push_back(JinjaValue::list({kv.first, kv.second}, JinjaValue::Seq::Tuple));
    return JinjaValue::list(std::move(pairs), JinjaValue::Seq::Iterator);
  }
  if (name == "join") {
    Binder b = bind({"d", "attribute"});
    if (!b.ok)
      return JinjaValue();
    ValueList in;
    if (!items(v, in))
      return JinjaValue();
    std::string sep = toStr(b.get(0, str(""))), out;
    ValueList parts = attrParts(b.get(1));
    for (size_t i = 0; i < in.size(); ++i) {
      JinjaValue x = parts.empty() ? in[i] : getAttrPath(in[i], parts);
      if (failed_)
        return JinjaValue();
      if (i)
        out += sep;
      out += toStr(x);
      if (out.size() > limits_.maxValueBytes)
        return checkSize(str(std::move(out)), offset);
    }
    return str(std::move(out));
  }
  if (name == "list") {
    if (!bind({}).ok)
      return JinjaValue();
    ValueList in;
    if (!items(v, in))
      return JinjaValue();
    return JinjaValue::list(std::move(in));
  }
  if (name == "map") {
    ValueList in;
    if (!items(v, in))
      return JinjaValue();
    ValueList out;
    if (args.positional.empty()) {
      const JinjaValue *attr = nullptr, *dflt = nullptr;
      for (const auto &kw : args.keywords) {
        if (kw.first == "attribute")
          attr = &kw.second;
        else if (kw.first == "default")
          dflt = &kw.second;
        else
          return fail(offset, "Unexpected keyword argument '" + kw.first + "'");
      }
      if (!attr)
        return fail(offset, "map requires a filter argument");
      ValueList parts = attrParts(*attr);
      JinjaValue fallback = dflt ? *dflt : JinjaValue::none();
      for (const JinjaValue &x : in) {
        out.push_back(getAttrPath(x, parts, dflt && !dflt->isNone() ? &fallback : nullptr));
        if (failed_)
          return JinjaValue();
      }
    } else {
      JinjaValue filter = args.positional[0];
      if (!filter.isString())
        return fail(offset, "map: the filter name must be a string");
      CallArgs rest;
      rest.positional.assign(args.positional.begin() + 1, args.positional.end());
      rest.keywords = args.keywords;
      for (const JinjaValue &x : in) {
        out.push_back(callFilter(filter.getString(), x, rest, offset));
        if (failed_)
          return JinjaValue();
      }
    }
    return JinjaValue::list(std::move(out), JinjaValue::Seq::Iterator);
  }
  if (name == "max" || name == "min") {
    Binder b = bind({"case_sensitive", "attribute"});
    if (!b.ok)
      return JinjaValue();
    ValueList in;
    if (!items(v, in))
      return JinjaValue();
    if (in.empty())
      return JinjaValue::undefined("No aggregated item, sequence was empty.");
    ValueList parts = attrParts(b.get(1));
    bool caseSensitive = truthy(b.get(0, boolean(false)));
    auto key = [&](const JinjaValue &x) {
      JinjaValue k = getAttrPath(x, parts);
      return caseSensitive ? k : lowerIfString(k);
    };
    size_t best = 0;
    JinjaValue bestKey = key(in[0]);
    for (size_t i = 1; i < in.size() && !failed_; ++i) {
      JinjaValue k = key(in[i]);
      if (failed_)
        return JinjaValue();
      if (k.isUndefined() || bestKey.isUndefined())
        return undefinedError(k.isUndefined() ? k : bestKey, offset);
      std::optional<int> c = compare(k, bestKey);
      if (!c)
        return fail(offset, "'" + std::string(name == "max" ? ">" : "<") +
                                "' not supported between instances of '" + typeName(k) +
                                "' and '" + typeName(bestKey) + "'");
      if ((name == "max" && *c > 0) || (name == "min" && *c < 0)) {
        best = i;
        bestKey = k;
      }
    }
    return failed_ ? JinjaValue() : in[best];
  }
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    bool byAttr = name.ends_with("attr");
    bool keepWhen = name.starts_with("select");
    ValueList in;
    if (!items(v, in))
      return JinjaValue();
    ValueList out;
    if (!truthy(v))
      return JinjaValue::list(std::move(out), JinjaValue::Seq::Iterator);
    size_t off = 0;
    ValueList parts;
    if (byAttr) {
      if (args.positional.empty())
        return fail(offset, "Missing parameter for attribute name");
      parts = attrParts(args.positional[0]);
      off = 1;
    }
    std::optional<std::string> test;
    CallArgs testArgs;
    if (args.positional.size() > off) {
      if (!args.positional[off].isString())
        return fail(offset, what + ": the test name must be a string");
      test = args.positional[off].getString();
      testArgs.positional.assign(args.positional.begin() + off + 1, args.positional.end());
      testArgs.keywords = args.keywords;
    }
    for (const JinjaValue &x : in) {
      JinjaValue subject = byAttr ? getAttrPath(x, parts) : x;
      if (failed_)
        return JinjaValue();
      bool r = test ? callTest(*test, subject, testArgs, offset) : truthy(subject);
      if (failed_)
        return JinjaValue();
      if (r == keepWhen)
        out.push_back(x);
    }
    return JinjaValue::list(std::move(out), JinjaValue::Seq::Iterator);
  }
  if (name == "replace") {
    Binder b = bind({"old", "new", "count"});
    if (!b.ok)
      return JinjaValue();
    JinjaValue count = b.get(2);
    if (!count.isNone() && !count.isIntegral())
      return fail(offset, what + ": count must be an integer");
    return checkSize(str(py::replace(toStr(v), toStr(b.get(0, str(""))), toStr(b.get(1, str(""))),
                                     count.isNone() ? -1 : count.getInt())),
                     offset);
  }
  if (name == "reverse") {
    if (!bind({}).ok)
      return JinjaValue();
    if (v.isString()) {
      std::vector<uint32_t> cps = py::decode(v.getString());
      std::reverse(cps.begin(), cps.end());
      return str(py::encode(cps, 0, cps.size()));
    }
    ValueList in;
    if (!items(v, in))
      return JinjaValue();
    std::reverse(in.begin(), in.end());
    // reversed() of a list is an iterator; a generator is listed first.
    bool wasIterator = v.isList() && v.seq() == JinjaValue::Seq::Iterator;
    return JinjaValue::list(std::move(in),
                            wasIterator ? JinjaValue::Seq::List : JinjaValue::Seq::Iterator);
  }
  if (name == "round") {
    Binder b = bind({"precision", "method"});
    if (!b.ok)
      return JinjaValue();
    JinjaValue precision = b.get(0, JinjaValue::integer(0));
    JinjaValue method = b.get(1, str("common"));
    if (!method.isString() || (method.getString() != "common" && method.getString() != "ceil" &&
                               method.getString() != "floor"))
      return fail(offset, "method must be common, ceil or floor");
    if (v.isUndefined())
      return undefinedError(v, offset);
    if (!v.isNumber())
      return fail(offset, "type " + typeName(v) + " doesn't define __round__ method");
    if (!precision.isIntegral())
      return fail(offset, "'" + typeName(precision) + "' object cannot be interpreted as an integer");
    int64_t p = precision.getInt();
    if (method.getString() == "common") {
      if (v.isIntegral() && p >= 0)
        return JinjaValue::integer(v.getInt());
      if (v.isIntegral())
        return fail(offset, "rounding an integer to negative precision is not supported");
      double d = v.getNumber();
      if (!std::isfinite(d) || p > 300)
        return JinjaValue::number(d);
      if (p <= 0) {
        double scale = std::pow(10.0, double(-p));
        return JinjaValue::number(std::nearbyint(d / scale) * scale);
      }
      char buf[512];
      snprintf(buf, sizeof buf, "%.*f", int(p), d);
      return JinjaValue::number(std::strtod(buf, nullptr));
    }
    double scale = std::pow(10.0, double(p));
    double x = v.getNumber() * scale;
    x = method.getString() == "ceil" ? std::ceil(x) : std::floor(x);
    return JinjaValue::number(x / scale);
  }
  if (name == "safe" || name == "string") {
    if (!bind({}).ok)
      return JinjaValue();
    return str(toStr(v));
  }
  if (name == "sort") {
    Binder b = bind({"reverse", "case_sensitive", "attribute"});
    if (!b.ok)
      return JinjaValue();
    ValueList in;
    if (!items(v, in))
      return JinjaValue();
    bool caseSensitive = truthy(b.get(1, boolean(false)));
    JinjaValue attr = b.get(2);
    std::vector<ValueList> attrs;
    if (attr.isString()) {
      llvm::SmallVector<llvm::StringRef, 4> pieces;
      llvm::StringRef(attr.getString()).split(pieces, ',');
      for (llvm::StringRef p : pieces)
        attrs.push_back(attrParts(str(p.str())));
    } else {
      attrs.push_back(attrParts(attr));
    }
    sortItems(
        in,
        [&](const JinjaValue &x) {
          ValueList keys;
          for (const ValueList &parts : attrs) {
            JinjaValue k = getAttrPath(x, parts);
            keys.push_back(caseSensitive ? k : lowerIfString(k));
          }
          return JinjaValue::list(std::move(keys));
        },
        truthy(b.get(0, boolean(false))));
    if (failed_)
      return JinjaValue();
    return JinjaValue::list(std::move(in));
  }
  if (name == "sum") {
    Binder b = bind({"attribute", "start"});
    if (!b.ok)
      return JinjaValue();
    ValueList in;
    if (!items(v, in))
      return JinjaValue();
    ValueList parts = attrParts(b.get(0));
    JinjaValue total = b.get(1, JinjaValue::integer(0));
    for (const JinjaValue &x : in) {
      JinjaValue item = getAttrPath(x, parts);
      if (failed_)
        return JinjaValue();
      total = binaryOp("+", total, item, offset);
      if (failed_)
        return JinjaValue();
    }
    return total;
  }
  if (name == "tojson") {
    // Hugging Face's: json.dumps(x, ensure_ascii=False, indent=None,
    // separators=None, sort_keys=False), in that positional order.
    Binder b = bind({"ensure_ascii", "indent", "separators", "sort_keys"});
    if (!b.ok)
      return JinjaValue();
    JsonDumpOptions o;
    o.ensureAscii = truthy(b.get(0, boolean(false)));
    JinjaValue indent = b.get(1);
    if (indent.isString())
      o.indent = indent.getString();
    else if (indent.isIntegral())
      o.indent = std::string(std::max<int64_t>(0, std::min<int64_t>(indent.getInt(), 1 << 10)), ' ');
    else if (!indent.isNone())
      return fail(offset, what + ": indent must be an integer or a string");
    JinjaValue sep = b.get(2);
    if (!sep.isNone()) {
      if (!sep.isList() || sep.getList().size() != 2 || !sep.getList()[0].isString() ||
          !sep.getList()[1].isString())
        return fail(offset, what + ": separators must be a pair of strings");
      o.separators = std::make_pair(sep.getList()[0].getString(), sep.getList()[1].getString());
    }
    o.sortKeys = truthy(b.get(3, boolean(false)));
    if (v.isUndefined() && !v.undefinedHint().empty() && false)
      return undefinedError(v, offset);
    llvm::Expected<std::string> text = dumpJson(v, o);
    if (!text)
      return fail(offset, llvm::toString(text.takeError()));
    return checkSize(str(std::move(*text)), offset);
  }
  if (name == "trim") {
    Binder b = bind({"chars"});
    if (!b.ok)
      return JinjaValue();
    JinjaValue chars = b.get(0);
    if (!chars.isNone() && !chars.isString())
      return fail(offset, "strip arg must be None or str");
    std::string chs = chars.isString() ? chars.getString() : "";
    return str(py::strip(toStr(v), chars.isString() ? &chs : nullptr, true, true));
  }
  if (name == "truncate") {
    Binder b = bind({"length", "killwords", "end", "leeway"});
    if (!b.ok)
      return JinjaValue();
    JinjaValue length = b.get(0, JinjaValue::integer(255));
    JinjaValue end = b.get(2, str("..."));
    JinjaValue leeway = b.get(3, JinjaValue::integer(5));
    if (!length.isIntegral() || !end.isString() || !leeway.isIntegral())
      return fail(offset, what + ": bad arguments");
    std::string s = toStr(v);
    std::vector<uint32_t> cps = py::decode(s);
    int64_t endLen = int64_t(py::length(end.getString()));
    if (length.getInt() < endLen)
      return fail(offset, "expected length >= " + std::to_string(endLen) + ", got " +
                              std::to_string(length.getInt()));
    if (int64_t(cps.size()) <= length.getInt() + leeway.getInt())
      return str(s);
    std::string head = py::encode(cps, 0, size_t(length.getInt() - endLen));
    if (truthy(b.get(1, boolean(false))))
      return str(head + end.getString());
    size_t space = head.rfind(' ');
    if (space != std::string::npos)
      head = head.substr(0, space);
    return str(head + end.getString());
  }
  if (name == "unique") {
    Binder b = bind({"case_sensitive", "attribute"});
    if (!b.ok)
      return JinjaValue();
    ValueList in, out, seen;
    if (!items(v, in))
      return JinjaValue();
    ValueList parts = attrParts(b.get(1));
    bool caseSensitive = truthy(b.get(0, boolean(false)));
    for (const JinjaValue &x : in) {
      JinjaValue k = getAttrPath(x, parts);
      if (failed_)
        return JinjaValue();
      if (!caseSensitive)
        k = lowerIfString(k);
      if (!hashable(k))
        return fail(offset, "unhashable type: '" + typeName(k) + "'");
      bool dup = false;
      for (const JinjaValue &s : seen)
        if (equals(s, k)) {
          dup = true;
          break;
        }
      if (!dup) {
        seen.push_back(k);
        out.push_back(x);
      }
    }
    return JinjaValue::list(std::move(out), JinjaValue::Seq::Iterator);
  }
  if (name == "wordcount") {
    if (!bind({}).ok)
      return JinjaValue();
    int64_t words = 0;
    bool in = false;
    for (uint32_t c : py::decode(toStr(v))) {
      bool w = isWordChar(c);
      if (w && !in)
        ++words;
      in = w;
    }
    return JinjaValue::integer(words);
  }
  if (isJinjaOnlyFilter(name))
    return fail(offset, "filter '" + name.str() + "' is not supported");
  return fail(offset, "no filter named '" + name.str() + "'");
}

// ---- tests -----------------------------------------------------------------

bool Evaluator::callTest(llvm::StringRef name, const JinjaValue &v, const CallArgs &args,
                         size_t offset) {
  std::string what = "test '" + name.str() + "'";
  auto arg = [&](size_t i, const char *param) -> std::optional<JinjaValue> {
    if (i < args.positional.size())
      return args.positional[i];
    for (const auto &kw : args.keywords)
      if (kw.first == param)
        return kw.second;
    fail(offset, what + " needs the argument '" + param + "'");
    return std::nullopt;
  };
  using K = JinjaValue::Kind;
  if (name == "defined")
    return !v.isUndefined();
  if (name == "undefined")
    return v.isUndefined();
  if (name == "none")
    return v.isNone();
  if (name == "boolean")
    return v.isBool();
  if (name == "true")
    return v.isBool() && v.getBool();
  if (name == "false")
    return v.isBool() && !v.getBool();
  if (name == "integer")
    return v.isInt();
  if (name == "float")
    return v.isFloat();
  if (name == "number")
    return v.isNumber();
  if (name == "string")
    return v.isString();
  if (name == "mapping")
    return v.isDict();
  if (name == "sequence")
    return v.isString() || v.isDict() || v.isUndefined() ||
           (v.isList() && (v.seq() == JinjaValue::Seq::List || v.seq() == JinjaValue::Seq::Tuple));
  if (name == "iterable")
    return v.isString() || v.isDict() || v.isUndefined() || v.isList() || v.isObject();
  if (name == "callable")
    return v.isCallable() || v.isUndefined() || v.isObject();
  if (name == "escaped")
    return false;
  if (name == "filter" || name == "test") {
    if (!v.isString())
      return false;
    return name == "filter" ? isSupportedFilter(v.getString()) : isSupportedTest(v.getString());
  }
  if (name == "lower" || name == "upper") {
    // str.islower(): some cased character and none of the other case.
    bool cased = false;
    for (uint32_t c : py::decode(toStr(v))) {
      if (!py::isCased(c))
        continue;
      cased = true;
      bool isLower = py::toUpper(c) != c || c == 0xdf;
      if (isLower != (name == "lower"))
        return false;
    }
    return cased;
  }
  if (name == "odd" || name == "even" || name == "divisibleby") {
    JinjaValue divisor = JinjaValue::integer(2);
    if (name == "divisibleby") {
      std::optional<JinjaValue> d = arg(0, "num");
      if (!d)
        return false;
      divisor = *d;
    }
    JinjaValue r = binaryOp("%", v, divisor, offset);
    if (failed_)
      return false;
    bool zero = equals(r, JinjaValue::integer(0));
    return name == "odd" ? equals(r, JinjaValue::integer(1)) : zero;
  }
  if (name == "sameas") {
    std::optional<JinjaValue> o = arg(0, "other");
    if (!o)
      return false;
    if (v.kind() != o->kind())
      return false;
    if (v.isNone() || v.isUndefined())
      return true;
    if (v.isBool())
      return v.getBool() == o->getBool();
    if (v.isInt())
      return v.getInt() == o->getInt() && v.getInt() >= -5 && v.getInt() <= 256;
    return v.identity() && v.identity() == o->identity();
  }
  if (name == "in") {
    std::optional<JinjaValue> seq = arg(0, "seq");
    if (!seq)
      return false;
    return contains(*seq, v, offset);
  }
  static const std::pair<const char *, const char *> cmpOps[] = {
      {"==", "=="}, {"eq", "=="}, {"equalto", "=="}, {"!=", "!="}, {"ne", "!="},
      {">", ">"},   {"gt", ">"},  {"greaterthan", ">"}, {">=", ">="}, {"ge", ">="},
      {"<", "<"},   {"lt", "<"},  {"lessthan", "<"},  {"<=", "<="}, {"le", "<="}};
  for (const auto &op : cmpOps) {
    if (name != op.first)
      continue;
    std::optional<JinjaValue> o = arg(0, "other");
    if (!o)
      return false;
    llvm::StringRef c = op.second;
    if (c == "==")
      return equals(v, *o);
    if (c == "!=")
      return !equals(v, *o);
    if (v.isUndefined() || o->isUndefined()) {
      undefinedError(v.isUndefined() ? v : *o, offset);
      return false;
    }
    std::optional<int> r = compare(v, *o);
    if (!r) {
      fail(offset, "'" + c.str() + "' not supported between instances of '" + typeName(v) +
                       "' and '" + typeName(*o) + "'");
      return false;
    }
    return c == "<" ? *r < 0 : c == "<=" ? *r <= 0 : c == ">" ? *r > 0 : *r >= 0;
  }
  (void)K::None;
  fail(offset, "no test named '" + name.str() + "'");
  return false;
}

// ---- global functions ------------------------------------------------------

JinjaValue Evaluator::callGlobal(const JinjaCallable &fn, CallArgs args, size_t offset) {
  const std::string &name = fn.name;
  if (name == "raise_exception") {
    if (args.positional.size() != 1 || !args.keywords.empty())
      return fail(offset, "raise_exception takes one argument, the message");
    return fail(offset, toStr(args.positional[0]));
  }
  if (name == "range") {
    if (!args.keywords.empty())
      return fail(offset, "range() takes no keyword arguments");
    if (args.positional.empty() || args.positional.size() > 3)
      return fail(offset, "range expected 1 to 3 arguments, got " +
                              std::to_string(args.positional.size()));
    for (const JinjaValue &a : args.positional) {
      if (a.isUndefined())
        return undefinedError(a, offset);
      if (!a.isIntegral())
        return fail(offset, "'" + typeName(a) + "' object cannot be interpreted as an integer");
    }
    int64_t start = 0, stop, step = 1;
    if (args.positional.size() == 1) {
      stop = args.positional[0].getInt();
    } else {
      start = args.positional[0].getInt();
      stop = args.positional[1].getInt();
      if (args.positional.size() == 3)
        step = args.positional[2].getInt();
    }
    if (step == 0)
      return fail(offset, "range() arg 3 must not be zero");
    __int128 count = 0;
    if (step > 0 && stop > start)
      count = ((__int128)stop - start + step - 1) / step;
    else if (step < 0 && stop < start)
      count = ((__int128)start - stop - step - 1) / -step;
    if (count > 100000)
      return fail(offset, "Range too big. The sandbox blocks ranges larger than MAX_RANGE "
                          "(100000).");
    ValueList items;
    for (__int128 i = 0; i < count; ++i)
      items.push_back(JinjaValue::integer(int64_t(start + i * step)));
    return JinjaValue::list(std::move(items));
  }
  if (name == "dict" || name == "namespace") {
    JinjaDict d;
    if (args.positional.size() > 1)
      return fail(offset, name + "() takes at most one positional argument");
    if (!args.positional.empty()) {
      const JinjaValue &src = args.positional[0];
      if (src.isDict()) {
        d = src.getDict();
      } else {
        ValueList pairs;
        if (!iterate(src, pairs, offset))
          return JinjaValue();
        for (const JinjaValue &p : pairs) {
          ValueList kv;
          if (!p.isList() || !iterate(p, kv, offset) || kv.size() != 2)
            return failed_ ? JinjaValue()
                           : fail(offset, "dictionary update sequence element has the wrong "
                                          "length; 2 is required");
          if (!hashable(kv[0]))
            return fail(offset, "unhashable type: '" + typeName(kv[0]) + "'");
          d.set(kv[0], kv[1]);
        }
      }
    }
    for (auto &kw : args.keywords)
      d.set(JinjaValue::string(kw.first), kw.second);
    if (name == "dict")
      return JinjaValue::dict(std::move(d));
    auto ns = std::make_shared<JinjaNamespace>();
    ns->attrs = std::move(d);
    namespaces_.push_back(ns);
    return JinjaValue::ns(std::move(ns));
  }
  if (name == "strftime_now") {
    if (args.positional.size() != 1 || !args.positional[0].isString())
      return fail(offset, "strftime_now takes one argument, a format string");
    std::time_t now = std::time(nullptr);
    std::tm local;
    localtime_r(&now, &local);
    char buf[512];
    size_t n = std::strftime(buf, sizeof buf, args.positional[0].getString().c_str(), &local);
    return JinjaValue::string(std::string(buf, n));
  }
  return fail(offset, "global function '" + name + "' is not supported");
}

// ---- methods ---------------------------------------------------------------

JinjaValue Evaluator::callMethod(const JinjaCallable &fn, CallArgs args, size_t offset) {
  const JinjaValue &self = fn.self;
  const std::string &name = fn.name;
  std::string what = typeName(self) + "." + name + "()";
  auto bind = [&](std::initializer_list<const char *> names) {
    return Binder(*this, args, names, what, offset);
  };
  auto optString = [&](const JinjaValue &x, std::string &holder, const std::string *&out) {
    if (x.isNone()) {
      out = nullptr;
      return true;
    }
    if (!x.isString()) {
      fail(offset, what + ": expected a string or None, not " + typeName(x));
      return false;
    }
    holder = x.getString();
    out = &holder;
    return true;
  };
  auto needString = [&](const JinjaValue &x) {
    if (x.isString())
      return true;
    fail(offset, what + ": must be str, not " + typeName(x));
    return false;
  };

  if (self.isString()) {
    const std::string &s = self.getString();
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
      Binder b = bind({"chars"});
      std::string holder;
      const std::string *chars;
      if (!b.ok || !optString(b.get(0), holder, chars))
        return JinjaValue();
      return JinjaValue::string(py::strip(s, chars, name != "rstrip", name != "lstrip"));
    }
    if (name == "split" || name == "rsplit") {
      Binder b = bind({"sep", "maxsplit"});
      std::string holder;
      const std::string *sep;
      if (!b.ok || !optString(b.get(0), holder, sep))
        return JinjaValue();
      if (sep && sep->empty())
        return fail(offset, "empty separator");
      JinjaValue max = b.get(1, JinjaValue::integer(-1));
      if (!max.isIntegral())
        return fail(offset, what + ": maxsplit must be an integer");
      std::vector<std::string> parts = name == "split" ? py::split(s, sep, max.getInt())
                                                       : py::rsplit(s, sep, max.getInt());
      ValueList out;
      for (std::string &p : parts)
        out.push_back(JinjaValue::string(std::move(p)));
      return JinjaValue::list(std::move(out));
    }
    if (name == "startswith" || name == "endswith") {
      Binder b = bind({"prefix"});
      if (!b.ok)
        return JinjaValue();
      JinjaValue p = b.get(0);
      ValueList options;
      if (p.isString())
        options.push_back(p);
      else if (p.isList() && p.seq() == JinjaValue::Seq::Tuple)
        options = p.getList();
      else
        return fail(offset, what + ": the argument must be str or a tuple of str, not " +
                                typeName(p));
      for (const JinjaValue &o : options) {
        if (!needString(o))
          return JinjaValue();
        if (name == "startswith" ? llvm::StringRef(s).starts_with(o.getString())
                                 : llvm::StringRef(s).ends_with(o.getString()))
          return JinjaValue::boolean(true);
      }
      return JinjaValue::boolean(false);
    }
    if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
      if (!bind({}).ok)
        return JinjaValue();
      return JinjaValue::string(name == "upper"   ? py::upper(s)
                                : name == "lower" ? py::lower(s)
                                : name == "title" ? py::title(s)
                                                  : py::capitalize(s));
    }
    if (name == "replace") {
      Binder b = bind({"old", "new", "count"});
      if (!b.ok)
        return JinjaValue();
      JinjaValue from = b.get(0), to = b.get(1), count = b.get(2, JinjaValue::integer(-1));
      if (!needString(from) || !needString(to))
        return JinjaValue();
      if (!count.isIntegral())
        return fail(offset, what + ": count must be an integer");
      return checkSize(JinjaValue::string(py::replace(s, from.getString(), to.getString(),
                                                      count.getInt())),
                       offset);
    }
    if (name == "join") {
      Binder b = bind({"iterable"});
      if (!b.ok)
        return JinjaValue();
      ValueList in;
      if (!iterate(b.get(0), in, offset))
        return JinjaValue();
      std::string out;
      for (size_t i = 0; i < in.size(); ++i) {
        if (!in[i].isString())
          return fail(offset, "sequence item " + std::to_string(i) +
                                  ": expected str instance, " + typeName(in[i]) + " found");
        if (i)
          out += s;
        out += in[i].getString();
        if (out.size() > limits_.maxValueBytes)
          return checkSize(JinjaValue::string(std::move(out)), offset);
      }
      return JinjaValue::string(std::move(out));
    }
    if (name == "find" || name == "rfind" || name == "index" || name == "rindex" ||
        name == "count") {
      Binder b = bind({"sub"});
      if (!b.ok || !needString(b.get(0)))
        return JinjaValue();
      const std::string &sub = b.get(0).getString();
      if (name == "count") {
        if (sub.empty())
          return JinjaValue::integer(int64_t(py::length(s)) + 1);
        int64_t n = 0;
        for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size()))
          ++n;
        return JinjaValue::integer(n);
      }
      size_t at = (name == "find" || name == "index") ? s.find(sub) : s.rfind(sub);
      if (at == std::string::npos) {
        if (name == "index" || name == "rindex")
          return fail(offset, "substring not found");
        return JinjaValue::integer(-1);
      }
      return JinjaValue::integer(codePointIndex(s, at));
    }
    if (name == "format") {
      // "{}", "{0}", "{name}", "{{", "}}"; format specs and conversions are not supported.
      std::string out;
      size_t auto_ = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '}' ) {
          if (i + 1 < s.size() && s[i + 1] == '}') {
            out += '}';
            ++i;
            continue;
          }
          return fail(offset, "Single '}' encountered in format string");
        }
        if (c != '{') {
          out += c;
          continue;
        }
        if (i + 1 < s.size() && s[i + 1] == '{') {
          out += '{';
          ++i;
          continue;
        }
        size_t close = s.find('}', i);
        if (close == std::string::npos)
          return fail(offset, "Single '{' encountered in format string");
        llvm::StringRef field = llvm::StringRef(s).slice(i + 1, close);
        if (field.find_first_of(":!.[") != llvm::StringRef::npos)
          return fail(offset, "str.format: format specs, conversions and attribute fields "
                              "are not supported");
        JinjaValue value;
        unsigned index;
        if (field.empty() || !field.getAsInteger(10, index)) {
          size_t k = field.empty() ? auto_++ : index;
          if (k >= args.positional.size())
            return fail(offset, "Replacement index " + std::to_string(k) +
                                    " out of range for positional args tuple");
          value = args.positional[k];
        } else {
          bool found = false;
          for (const auto &kw : args.keywords)
            if (kw.first == field) {
              value = kw.second;
              found = true;
            }
          if (!found)
            return fail(offset, "KeyError: '" + field.str() + "'");
        }
        out += toStr(value);
        i = close;
      }
      return checkSize(JinjaValue::string(std::move(out)), offset);
    }
    if (name == "isalnum" || name == "isalpha" || name == "isascii" || name == "isdecimal" ||
        name == "isdigit" || name == "isnumeric" || name == "isspace" || name == "islower" ||
        name == "isupper") {
      if (!bind({}).ok)
        return JinjaValue();
      std::vector<uint32_t> cps = py::decode(s);
      if (name == "isascii")
        return JinjaValue::boolean(llvm::all_of(cps, [](uint32_t c) { return c < 0x80; }));
      if (name == "islower" || name == "isupper") {
        CallArgs none;
        return JinjaValue::boolean(callTest(name == "islower" ? "lower" : "upper", self, none,
                                            offset));
      }
      if (cps.empty())
        return JinjaValue::boolean(false);
      for (uint32_t c : cps) {
        bool digit = c >= '0' && c <= '9';
        bool alpha = py::isCased(c) || (c >= 0x80 && isWordChar(c) && !digit);
        bool ok = name == "isspace"   ? py::isSpace(c)
                  : name == "isalpha" ? alpha
                  : name == "isalnum" ? (alpha || digit)
                                      : digit;
        if (!ok)
          return JinjaValue::boolean(false);
      }
      return JinjaValue::boolean(true);
    }
    if (name == "removeprefix" || name == "removesuffix") {
      Binder b = bind({"affix"});
      if (!b.ok || !needString(b.get(0)))
        return JinjaValue();
      llvm::StringRef r = s;
      const std::string &a = b.get(0).getString();
      if (name == "removeprefix" && r.starts_with(a))
        r = r.drop_front(a.size());
      else if (name == "removesuffix" && r.ends_with(a))
        r = r.drop_back(a.size());
      return JinjaValue::string(r.str());
    }
    if (name == "partition" || name == "rpartition") {
      Binder b = bind({"sep"});
      if (!b.ok || !needString(b.get(0)))
        return JinjaValue();
      const std::string &sep = b.get(0).getString();
      if (sep.empty())
        return fail(offset, "empty separator");
      size_t at = name == "partition" ? s.find(sep) : s.rfind(sep);
      ValueList parts;
      if (at == std::string::npos) {
        if (name == "partition")
          parts = {JinjaValue::string(s), JinjaValue::string(""), JinjaValue::string("")};
        else
          parts = {JinjaValue::string(""), JinjaValue::string(""), JinjaValue::string(s)};
      } else {
        parts = {JinjaValue::string(s.substr(0, at)), JinjaValue::string(sep),
                 JinjaValue::string(s.substr(at + sep.size()))};
      }
      return JinjaValue::list(std::move(parts), JinjaValue::Seq::Tuple);
    }
    if (name == "splitlines") {
      Binder b = bind({"keepends"});
      if (!b.ok)
        return JinjaValue();
      ValueList out;
      for (std::string &line : splitLines(s, truthy(b.get(0, JinjaValue::boolean(false)))))
        out.push_back(JinjaValue::string(std::move(line)));
      return JinjaValue::list(std::move(out));
    }
    if (name == "center" || name == "ljust" || name == "rjust" || name == "zfill") {
      Binder b = name == "zfill" ? bind({"width"}) : bind({"width", "fillchar"});
      if (!b.ok)
        return JinjaValue();
      JinjaValue width = b.get(0);
      if (!width.isIntegral())
        return fail(offset, what + ": width must be an integer");
      std::string fill = name == "zfill" ? "0" : " ";
      if (name != "zfill" && b.has(1)) {
        JinjaValue f = b.get(1);
        if (!f.isString() || py::length(f.getString()) != 1)
          return fail(offset, "The fill character must be exactly one character long");
        fill = f.getString();
      }
      int64_t len = int64_t(py::length(s));
      int64_t w = std::min<int64_t>(width.getInt(), int64_t(limits_.maxValueBytes));
      if (w <= len)
        return self;
      int64_t marg = w - len, left;
      if (name == "ljust")
        left = 0;
      else if (name == "rjust" || name == "zfill")
        left = marg;
      else
        left = marg / 2 + (marg & w & 1);
      std::string out;
      for (int64_t i = 0; i < left; ++i)
        out += fill;
      std::string body = s;
      if (name == "zfill" && !s.empty() && (s[0] == '-' || s[0] == '+')) {
        out = s.substr(0, 1) + out;
        body = s.substr(1);
      }
      out += body;
      for (int64_t i = 0; i < marg - left; ++i)
        out += fill;
      return JinjaValue::string(std::move(out));
    }
  }
  if (self.isDict()) {
    const JinjaDict &d = self.getDict();
    if (name == "get") {
      Binder b = bind({"key", "default"});
      if (!b.ok)
        return JinjaValue();
      if (!b.has(0))
        return fail(offset, "get expected at least 1 argument, got 0");
      JinjaValue key = b.get(0);
      if (!hashable(key))
        return fail(offset, "unhashable type: '" + typeName(key) + "'");
      if (const JinjaValue *v = d.find(key))
        return *v;
      return b.get(1);
    }
    if (name == "items" || name == "keys" || name == "values") {
      if (!bind({}).ok)
        return JinjaValue();
      ValueList out;
      for (const auto &kv : d.items)
        out.push_back(name == "items" ? JinjaValue::list({kv.first, kv.second},
                                                         JinjaValue::Seq::Tuple)
                      : name == "keys" ? kv.first
                                       : kv.second);
      return JinjaValue::list(std::move(out), name == "items"  ? JinjaValue::Seq::DictItems
                                              : name == "keys" ? JinjaValue::Seq::DictKeys
                                                               : JinjaValue::Seq::DictValues);
    }
    if (name == "copy") {
      if (!bind({}).ok)
        return JinjaValue();
      return JinjaValue::dict(d);
    }
  }
  if (self.isList()) {
    const ValueList &l = self.getList();
    if (name == "copy") {
      if (!bind({}).ok)
        return JinjaValue();
      return JinjaValue::list(l);
    }
    if (name == "count" || name == "index") {
      Binder b = bind({"value"});
      if (!b.ok)
        return JinjaValue();
      JinjaValue x = b.get(0);
      int64_t n = 0;
      for (size_t i = 0; i < l.size(); ++i) {
        if (!equals(l[i], x))
          continue;
        if (name == "index")
          return JinjaValue::integer(int64_t(i));
        ++n;
      }
      if (name == "index")
        return fail(offset, toRepr(x) + " is not in " + typeName(self));
      return JinjaValue::integer(n);
    }
  }
  return fail(offset, "method '" + name + "' of " + typeName(self) + " objects is not supported");
}
