//===- JinjaValue.h - the values a chat template computes with --*- C++ -*-===//
//
// Hugging Face renders chat templates with Python's Jinja2, so the values a
// template sees are Python values: None, bool, int, float, str, list, tuple,
// dict (insertion ordered), Jinja2's Undefined and namespace, macros and
// bound methods. JinjaValue models exactly those, immutably shared (the
// sandbox forbids changing a list or dict; only a namespace changes), and
// the functions below give them Python's str(), repr(), truth, equality and
// ordering, so that what a template prints is what Python would print.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CHAT_JINJAVALUE_H
#define HYBRIDC_CHAT_JINJAVALUE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hybridc::jinja {

class JinjaValue;
using ValueList = std::vector<JinjaValue>;
struct JinjaDict;
struct JinjaNamespace;
struct JinjaCallable;
struct JinjaObject;

class JinjaValue {
public:
  enum class Kind : uint8_t {
    Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable, Object
  };
  /// What Python type a List stands for: they print, index and test
  /// differently (a generator is always true and has no len()).
  enum class Seq : uint8_t { List, Tuple, Iterator, DictItems, DictKeys, DictValues };

  JinjaValue() = default; // Undefined
  static JinjaValue undefined(std::string hint = "", bool unsafe = false);
  static JinjaValue none();
  static JinjaValue boolean(bool b);
  static JinjaValue integer(int64_t i);
  static JinjaValue number(double f);
  static JinjaValue string(std::string s);
  static JinjaValue list(ValueList items, Seq seq = Seq::List);
  static JinjaValue dict(JinjaDict d);
  static JinjaValue ns(std::shared_ptr<JinjaNamespace> n);
  static JinjaValue callable(std::shared_ptr<const JinjaCallable> c);
  static JinjaValue object(std::shared_ptr<const JinjaObject> o);

  Kind kind() const { return kind_; }
  bool isUndefined() const { return kind_ == Kind::Undefined; }
  bool isNone() const { return kind_ == Kind::None; }
  bool isBool() const { return kind_ == Kind::Bool; }
  bool isInt() const { return kind_ == Kind::Int; }
  bool isFloat() const { return kind_ == Kind::Float; }
  /// int, float or bool (Python's numbers.Number).
  bool isNumber() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
  /// int or bool (bool is an int subclass in Python).
  bool isIntegral() const { return kind_ == Kind::Int || kind_ == Kind::Bool; }
  bool isString() const { return kind_ == Kind::String; }
  bool isList() const { return kind_ == Kind::List; }
  bool isDict() const { return kind_ == Kind::Dict; }
  bool isNamespace() const { return kind_ == Kind::Namespace; }
  bool isCallable() const { return kind_ == Kind::Callable; }
  bool isObject() const { return kind_ == Kind::Object; }

  bool getBool() const { return b_; }
  /// The integer value of an int or bool.
  int64_t getInt() const { return kind_ == Kind::Bool ? int64_t(b_) : i_; }
  /// The value of any number as a double.
  double getNumber() const;
  const std::string &getString() const { return *str_; }
  const ValueList &getList() const { return *list_; }
  Seq seq() const { return seq_; }
  const JinjaDict &getDict() const { return *dict_; }
  JinjaNamespace &getNamespace() const { return *ns_; }
  const JinjaCallable &getCallable() const { return *callable_; }
  const JinjaObject &getObject() const { return *object_; }
  const std::shared_ptr<JinjaNamespace> &namespacePtr() const { return ns_; }
  const void *identity() const;

  /// For an Undefined: what to report when it is used ("'x' is undefined"),
  /// and whether it stands for an attribute the sandbox refuses.
  const std::string &undefinedHint() const;
  bool isUnsafe() const { return b_ && kind_ == Kind::Undefined; }

private:
  Kind kind_ = Kind::Undefined;
  Seq seq_ = Seq::List;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::shared_ptr<const std::string> str_;
  std::shared_ptr<const ValueList> list_;
  std::shared_ptr<const JinjaDict> dict_;
  std::shared_ptr<JinjaNamespace> ns_;
  std::shared_ptr<const JinjaCallable> callable_;
  std::shared_ptr<const JinjaObject> object_;
};

/// An insertion-ordered dict. Keys are hashable values (str, int, float,
/// bool, None, tuples of those); lookups follow Python's equality (1 == 1.0
/// == True).
struct JinjaDict {
  std::vector<std::pair<JinjaValue, JinjaValue>> items;
  const JinjaValue *find(const JinjaValue &key) const;
  const JinjaValue *find(llvm::StringRef key) const;
  /// Python's d[key] = value: replaces in place or appends.
  void set(JinjaValue key, JinjaValue value);
};

/// Jinja2's namespace(): the one mutable object (`{% set ns.x = 1 %}`).
struct JinjaNamespace {
  JinjaDict attrs;
};

/// Something a template can call: a global function, a bound method, a
/// macro, loop.cycle. `impl` carries what the interpreter needs (a macro's
/// definition and scope); values never own their scopes, so no cycles.
struct JinjaCallable {
  enum class Kind : uint8_t { Global, Method, Macro, LoopCycle };
  Kind kind = Kind::Global;
  std::string name;
  JinjaValue self;                   // a method's object; loop.cycle: the index
  std::shared_ptr<const void> impl;  // a macro's definition (the interpreter's)
  std::shared_ptr<void> closure;     // a macro's defining scope, held weakly there
  bool unsupported = false;          // a Python method hybridc does not implement
};

/// An attribute bag with a Python type name: the `loop` variable.
struct JinjaObject {
  std::string typeName;
  JinjaDict attrs;
  std::string text; // what str() prints
};

/// Python's type(x).__name__ ("str", "int", "dict", "generator", ...).
std::string typeName(const JinjaValue &v);
/// str(x): what `{{ x }}` prints.
std::string toStr(const JinjaValue &v);
/// repr(x): how x prints inside a list or dict.
std::string toRepr(const JinjaValue &v);
/// bool(x).
bool truthy(const JinjaValue &v);
/// x == y.
bool equals(const JinjaValue &a, const JinjaValue &b);
/// Python's ordering: -1, 0 or 1, or nullopt where Python raises TypeError.
std::optional<int> compare(const JinjaValue &a, const JinjaValue &b);
/// Whether x can be a dict key or a set member.
bool hashable(const JinjaValue &v);

} // namespace hybridc::jinja

#endif // HYBRIDC_CHAT_JINJAVALUE_H
