//===- JinjaValue.cpp - Python semantics of template values ---------------===//
#include "hybridc/Chat/JinjaValue.h"

#include "PythonText.h"

#include <cmath>

using namespace hybridc;
using namespace hybridc::jinja;

JinjaValue JinjaValue::undefined(std::string hint, bool unsafe) {
  JinjaValue v;
  if (!hint.empty())
    v.str_ = std::make_shared<const std::string>(std::move(hint));
  v.b_ = unsafe;
  return v;
}
JinjaValue JinjaValue::none() {
  JinjaValue v;
  v.kind_ = Kind::None;
  return v;
}
JinjaValue JinjaValue::boolean(bool b) {
  JinjaValue v;
  v.kind_ = Kind::Bool;
  v.b_ = b;
  return v;
}
JinjaValue JinjaValue::integer(int64_t i) {
  JinjaValue v;
  v.kind_ = Kind::Int;
  v.i_ = i;
  return v;
}
JinjaValue JinjaValue::number(double f) {
  JinjaValue v;
  v.kind_ = Kind::Float;
  v.f_ = f;
  return v;
}
JinjaValue JinjaValue::string(std::string s) {
  JinjaValue v;
  v.kind_ = Kind::String;
  v.str_ = std::make_shared<const std::string>(std::move(s));
  return v;
}
JinjaValue JinjaValue::list(ValueList items, Seq seq) {
  JinjaValue v;
  v.kind_ = Kind::List;
  v.seq_ = seq;
  v.list_ = std::make_shared<const ValueList>(std::move(items));
  return v;
}
JinjaValue JinjaValue::dict(JinjaDict d) {
  JinjaValue v;
  v.kind_ = Kind::Dict;
  v.dict_ = std::make_shared<const JinjaDict>(std::move(d));
  return v;
}
JinjaValue JinjaValue::ns(std::shared_ptr<JinjaNamespace> n) {
  JinjaValue v;
  v.kind_ = Kind::Namespace;
  v.ns_ = std::move(n);
  return v;
}
JinjaValue JinjaValue::callable(std::shared_ptr<const JinjaCallable> c) {
  JinjaValue v;
  v.kind_ = Kind::Callable;
  v.callable_ = std::move(c);
  return v;
}
JinjaValue JinjaValue::object(std::shared_ptr<const JinjaObject> o) {
  JinjaValue v;
  v.kind_ = Kind::Object;
  v.object_ = std::move(o);
  return v;
}

double JinjaValue::getNumber() const {
  switch (kind_) {
  case Kind::Float:
    return f_;
  case Kind::Int:
    return double(i_);
  case Kind::Bool:
    return b_ ? 1 : 0;
  default:
    return 0;
  }
}

const void *JinjaValue::identity() const {
  switch (kind_) {
  case Kind::String:
    return str_.get();
  case Kind::List:
    return list_.get();
  case Kind::Dict:
    return dict_.get();
  case Kind::Namespace:
    return ns_.get();
  case Kind::Callable:
    return callable_.get();
  case Kind::Object:
    return object_.get();
  default:
    return nullptr;
  }
}

const std::string &JinjaValue::undefinedHint() const {
  static const std::string empty;
  return (kind_ == Kind::Undefined && str_) ? *str_ : empty;
}

const JinjaValue *JinjaDict::find(const JinjaValue &key) const {
  for (const auto &kv : items)
    if (equals(kv.first, key))
      return &kv.second;
  return nullptr;
}

const JinjaValue *JinjaDict::find(llvm::StringRef key) const {
  for (const auto &kv : items)
    if (kv.first.isString() && kv.first.getString() == key)
      return &kv.second;
  return nullptr;
}

void JinjaDict::set(JinjaValue key, JinjaValue value) {
  for (auto &kv : items)
    if (equals(kv.first, key)) {
      kv.second = std::move(value);
      return;
    }
  items.emplace_back(std::move(key), std::move(value));
}

std::string jinja::typeName(const JinjaValue &v) {
  using K = JinjaValue::Kind;
  switch (v.kind()) {
  case K::Undefined:
    return "Undefined";
  case K::None:
    return "NoneType";
  case K::Bool:
    return "bool";
  case K::Int:
    return "int";
  case K::Float:
    return "float";
  case K::String:
    return "str";
  case K::List:
    switch (v.seq()) {
    case JinjaValue::Seq::List:
      return "list";
    case JinjaValue::Seq::Tuple:
      return "tuple";
    case JinjaValue::Seq::Iterator:
      return "generator";
    case JinjaValue::Seq::DictItems:
      return "dict_items";
    case JinjaValue::Seq::DictKeys:
      return "dict_keys";
    case JinjaValue::Seq::DictValues:
      return "dict_values";
    }
    return "list";
  case K::Dict:
    return "dict";
  case K::Namespace:
    return "Namespace";
  case K::Callable:
    return v.getCallable().kind == JinjaCallable::Kind::Macro ? "Macro"
                                                               : "builtin_function_or_method";
  case K::Object:
    return v.getObject().typeName;
  }
  return "object";
}

static std::string joinRepr(const ValueList &items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i)
      out += ", ";
    out += toRepr(items[i]);
  }
  return out;
}

static std::string dictRepr(const JinjaDict &d) {
  std::string out = "{";
  for (size_t i = 0; i < d.items.size(); ++i) {
    if (i)
      out += ", ";
    out += toRepr(d.items[i].first) + ": " + toRepr(d.items[i].second);
  }
  return out + "}";
}

std::string jinja::toStr(const JinjaValue &v) {
  using K = JinjaValue::Kind;
  switch (v.kind()) {
  case K::Undefined:
    return "";
  case K::None:
    return "None";
  case K::Bool:
    return v.getBool() ? "True" : "False";
  case K::Int:
    return std::to_string(v.getInt());
  case K::Float:
    return py::reprFloat(v.getNumber());
  case K::String:
    return v.getString();
  case K::List: {
    const ValueList &items = v.getList();
    switch (v.seq()) {
    case JinjaValue::Seq::List:
      return "[" + joinRepr(items) + "]";
    case JinjaValue::Seq::Tuple:
      return "(" + joinRepr(items) + (items.size() == 1 ? ",)" : ")");
    case JinjaValue::Seq::Iterator:
      return "<generator object>";
    case JinjaValue::Seq::DictItems:
      return "dict_items([" + joinRepr(items) + "])";
    case JinjaValue::Seq::DictKeys:
      return "dict_keys([" + joinRepr(items) + "])";
    case JinjaValue::Seq::DictValues:
      return "dict_values([" + joinRepr(items) + "])";
    }
    return "";
  }
  case K::Dict:
    return dictRepr(v.getDict());
  case K::Namespace:
    return "<Namespace " + dictRepr(v.getNamespace().attrs) + ">";
  case K::Callable: {
    const JinjaCallable &c = v.getCallable();
    if (c.kind == JinjaCallable::Kind::Macro)
      return "<Macro '" + c.name + "'>";
    if (c.kind == JinjaCallable::Kind::Method)
      return "<built-in method " + c.name + " of " + typeName(c.self) + " object>";
    return "<function " + c.name + ">";
  }
  case K::Object:
    return v.getObject().text;
  }
  return "";
}

std::string jinja::toRepr(const JinjaValue &v) {
  if (v.isString())
    return py::reprString(v.getString());
  if (v.isUndefined())
    return "Undefined";
  return toStr(v);
}

bool jinja::truthy(const JinjaValue &v) {
  using K = JinjaValue::Kind;
  switch (v.kind()) {
  case K::Undefined:
  case K::None:
    return false;
  case K::Bool:
    return v.getBool();
  case K::Int:
    return v.getInt() != 0;
  case K::Float:
    return v.getNumber() != 0;
  case K::String:
    return !v.getString().empty();
  case K::List:
    // A generator is an object without __len__: always true.
    return v.seq() == JinjaValue::Seq::Iterator || !v.getList().empty();
  case K::Dict:
    return !v.getDict().items.empty();
  default:
    return true;
  }
}

bool jinja::equals(const JinjaValue &a, const JinjaValue &b) {
  using K = JinjaValue::Kind;
  if (a.isNumber() && b.isNumber()) {
    if (a.isIntegral() && b.isIntegral())
      return a.getInt() == b.getInt();
    return a.getNumber() == b.getNumber();
  }
  if (a.kind() != b.kind())
    return false;
  switch (a.kind()) {
  case K::Undefined:
  case K::None:
    return true;
  case K::String:
    return a.getString() == b.getString();
  case K::List: {
    if (a.seq() != b.seq())
      return false;
    if (a.seq() == JinjaValue::Seq::Iterator)
      return a.identity() == b.identity();
    const ValueList &x = a.getList(), &y = b.getList();
    if (x.size() != y.size())
      return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (!equals(x[i], y[i]))
        return false;
    return true;
  }
  case K::Dict: {
    const JinjaDict &x = a.getDict(), &y = b.getDict();
    if (x.items.size() != y.items.size())
      return false;
    for (const auto &kv : x.items) {
      const JinjaValue *other = y.find(kv.first);
      if (!other || !equals(kv.second, *other))
        return false;
    }
    return true;
  }
  default:
    return a.identity() == b.identity();
  }
}

std::optional<int> jinja::compare(const JinjaValue &a, const JinjaValue &b) {
  if (a.isNumber() && b.isNumber()) {
    if (a.isIntegral() && b.isIntegral())
      return a.getInt() < b.getInt() ? -1 : a.getInt() > b.getInt() ? 1 : 0;
    double x = a.getNumber(), y = b.getNumber();
    return x < y ? -1 : x > y ? 1 : 0; // NaN compares equal here; Python says false both ways
  }
  if (a.isString() && b.isString()) {
    // UTF-8 byte order is code point order.
    int c = a.getString().compare(b.getString());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.isList() && b.isList() && a.seq() == b.seq() &&
      (a.seq() == JinjaValue::Seq::List || a.seq() == JinjaValue::Seq::Tuple)) {
    const ValueList &x = a.getList(), &y = b.getList();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (equals(x[i], y[i]))
        continue;
      return compare(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  return std::nullopt;
}

bool jinja::hashable(const JinjaValue &v) {
  using K = JinjaValue::Kind;
  switch (v.kind()) {
  case K::List:
    if (v.seq() == JinjaValue::Seq::Tuple) {
      for (const JinjaValue &x : v.getList())
        if (!hashable(x))
          return false;
      return true;
    }
    return v.seq() == JinjaValue::Seq::Iterator;
  case K::Dict:
  case K::Namespace:
    return false;
  default:
    return true;
  }
}
