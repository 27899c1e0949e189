//===- JinjaEval.cpp - running a parsed chat template ---------------------===//
//
// Statements, expressions, operators, attribute and item access, calls and
// macros. Filters, tests, methods and global functions are in
// JinjaBuiltins.cpp. Python's semantics are the reference throughout: what
// Jinja2 turns into an Undefined (a missing key, an index out of range, a
// bad index type) is an Undefined here, and what raises in Python is an
// error here, with Python's wording where it helps.
//
//===----------------------------------------------------------------------===//
#include "JinjaEval.h"
#include "PythonText.h"

#include <cmath>

using namespace hybridc;
using namespace hybridc::jinja;

struct Evaluator::Scope {
  std::shared_ptr<Scope> parent;
  llvm::StringMap<JinjaValue> vars;
};

namespace {
bool addOverflows(int64_t a, int64_t b, int64_t &r) { return __builtin_add_overflow(a, b, &r); }
bool subOverflows(int64_t a, int64_t b, int64_t &r) { return __builtin_sub_overflow(a, b, &r); }
bool mulOverflows(int64_t a, int64_t b, int64_t &r) { return __builtin_mul_overflow(a, b, &r); }

const char *kOverflow = "integer overflow (hybridc's template integers are 64-bit)";

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  return q;
}
int64_t floorMod(int64_t a, int64_t b) {
  int64_t m = a % b;
  if (m != 0 && ((m < 0) != (b < 0)))
    m += b;
  return m;
}
double floatMod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0)))
    m += b;
  return m;
}
} // namespace

Evaluator::Evaluator(std::shared_ptr<const Program> program, const RenderLimits &limits)
    : program_(std::move(program)), limits_(limits) {}

Evaluator::~Evaluator() {
  // A namespace may hold itself (`{% set ns.me = ns %}`): break such cycles.
  for (auto &weak : namespaces_)
    if (auto ns = weak.lock())
      ns->attrs.items.clear();
}

JinjaValue Evaluator::fail(size_t offset, std::string message) {
  if (!failed_) {
    failed_ = true;
    error_.offset = offset;
    error_.message = std::move(message);
  }
  return JinjaValue();
}

JinjaValue Evaluator::undefinedError(const JinjaValue &u, size_t offset) {
  std::string hint = u.undefinedHint();
  if (hint.empty())
    hint = "an undefined value was used";
  return fail(offset, hint);
}

JinjaValue Evaluator::checkSize(JinjaValue v, size_t offset) {
  if (v.isString() && v.getString().size() > limits_.maxValueBytes)
    return fail(offset, "a string grew past the render limit of " +
                            std::to_string(limits_.maxValueBytes) + " bytes");
  if (v.isList() && v.getList().size() > limits_.maxValueBytes / 8)
    return fail(offset, "a list grew past the render limit of " +
                            std::to_string(limits_.maxValueBytes / 8) + " items");
  return v;
}

bool Evaluator::render(const JinjaValue &context, std::string &out, SourceError &error) {
  if (context.isDict())
    context_ = context.getDict();
  scope_ = std::make_shared<Scope>();
  out_ = &out;
  exec(program_->body);
  scope_.reset();
  if (failed_) {
    error = error_;
    return false;
  }
  return true;
}

void Evaluator::emit(llvm::StringRef text, size_t offset) {
  if (out_->size() + text.size() > limits_.maxOutputBytes) {
    fail(offset, "the rendered text grew past the render limit of " +
                     std::to_string(limits_.maxOutputBytes) + " bytes");
    return;
  }
  out_->append(text.data(), text.size());
}

bool Evaluator::renderBody(const StmtList &body, std::string &into) {
  std::string *saved = out_;
  out_ = &into;
  Flow f = exec(body);
  out_ = saved;
  return f != Flow::Error && !failed_;
}

Evaluator::Flow Evaluator::exec(const StmtList &body) {
  for (const StmtPtr &s : body) {
    Flow f = execStmt(*s);
    if (f != Flow::Normal)
      return f;
    if (failed_)
      return Flow::Error;
  }
  return Flow::Normal;
}

Evaluator::Flow Evaluator::execStmt(const Stmt &s) {
  switch (s.kind) {
  case Stmt::Kind::Data:
    emit(s.text, s.offset);
    break;
  case Stmt::Kind::Print: {
    JinjaValue v = eval(*s.expr);
    if (failed_)
      return Flow::Error;
    emit(toStr(v), s.offset);
    break;
  }
  case Stmt::Kind::If: {
    JinjaValue test = eval(*s.expr);
    if (failed_)
      return Flow::Error;
    return exec(truthy(test) ? s.body : s.orelse);
  }
  case Stmt::Kind::For:
    return execFor(s);
  case Stmt::Kind::Set: {
    JinjaValue v = eval(*s.expr);
    if (failed_)
      return Flow::Error;
    assign(*s.target, v);
    break;
  }
  case Stmt::Kind::SetBlock: {
    std::string text;
    if (!renderBody(s.body, text))
      return Flow::Error;
    JinjaValue v = JinjaValue::string(std::move(text));
    if (s.expr)
      v = applyFilterChain(*s.expr, v);
    if (failed_)
      return Flow::Error;
    assign(*s.target, v);
    break;
  }
  case Stmt::Kind::Macro: {
    auto fn = std::make_shared<JinjaCallable>();
    fn->kind = JinjaCallable::Kind::Macro;
    fn->name = s.name;
    fn->impl = std::shared_ptr<const void>(program_, &s);
    fn->closure = std::make_shared<std::weak_ptr<Scope>>(scope_);
    scope_->vars[s.name] = JinjaValue::callable(std::move(fn));
    break;
  }
  case Stmt::Kind::FilterBlock: {
    std::string text;
    if (!renderBody(s.body, text))
      return Flow::Error;
    JinjaValue v = applyFilterChain(*s.expr, JinjaValue::string(std::move(text)));
    if (failed_)
      return Flow::Error;
    emit(toStr(v), s.offset);
    break;
  }
  case Stmt::Kind::With: {
    std::vector<JinjaValue> values;
    for (const ExprPtr &v : s.values) {
      values.push_back(eval(*v));
      if (failed_)
        return Flow::Error;
    }
    auto inner = std::make_shared<Scope>();
    inner->parent = scope_;
    std::swap(scope_, inner);
    for (size_t i = 0; i < values.size(); ++i)
      assign(*s.targets[i], values[i]);
    Flow f = failed_ ? Flow::Error : exec(s.body);
    std::swap(scope_, inner);
    return f;
  }
  case Stmt::Kind::Break:
    return Flow::Break;
  case Stmt::Kind::Continue:
    return Flow::Continue;
  case Stmt::Kind::Generation:
    return exec(s.body);
  }
  return failed_ ? Flow::Error : Flow::Normal;
}

JinjaValue Evaluator::applyFilterChain(const Expr &chain, JinjaValue value) {
  // The chain's innermost filter has a null operand: it takes `value`.
  if (chain.kind != Expr::Kind::Filter)
    return fail(chain.offset, "expected a filter");
  JinjaValue in = chain.args[0] ? applyFilterChain(*chain.args[0], value) : value;
  if (failed_)
    return JinjaValue();
  CallArgs args;
  if (!evalArgs(chain, 1, args))
    return JinjaValue();
  return callFilter(chain.name, in, std::move(args), chain.offset);
}

Evaluator::Flow Evaluator::execFor(const Stmt &s) {
  JinjaValue iterable = eval(*s.expr);
  if (failed_)
    return Flow::Error;
  ValueList items;
  if (!iterate(iterable, items, s.expr->offset))
    return Flow::Error;
  std::shared_ptr<Scope> outer = scope_;
  if (s.cond) {
    // The loop's `if` sees the loop variable (and the enclosing `loop`).
    ValueList kept;
    for (const JinjaValue &item : items) {
      if (++iterations_ > limits_.maxIterations) {
        fail(s.offset, "more than " + std::to_string(limits_.maxIterations) +
                           " loop iterations in one render");
        return Flow::Error;
      }
      scope_ = std::make_shared<Scope>();
      scope_->parent = outer;
      assign(*s.target, item);
      JinjaValue keep = failed_ ? JinjaValue() : eval(*s.cond);
      scope_ = outer;
      if (failed_)
        return Flow::Error;
      if (truthy(keep))
        kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    scope_ = std::make_shared<Scope>();
    scope_->parent = outer;
    Flow f = exec(s.orelse);
    scope_ = outer;
    return f == Flow::Error ? f : Flow::Normal;
  }
  const size_t n = items.size();
  for (size_t i = 0; i < n; ++i) {
    if (++iterations_ > limits_.maxIterations) {
      fail(s.offset, "more than " + std::to_string(limits_.maxIterations) +
                         " loop iterations in one render");
      return Flow::Error;
    }
    auto loop = std::make_shared<JinjaObject>();
    loop->typeName = "LoopContext";
    loop->text = "<LoopContext " + std::to_string(i + 1) + "/" + std::to_string(n) + ">";
    auto set = [&](const char *k, JinjaValue v) {
      loop->attrs.items.emplace_back(JinjaValue::string(k), std::move(v));
    };
    set("index", JinjaValue::integer(int64_t(i + 1)));
    set("index0", JinjaValue::integer(int64_t(i)));
    set("revindex", JinjaValue::integer(int64_t(n - i)));
    set("revindex0", JinjaValue::integer(int64_t(n - i - 1)));
    set("first", JinjaValue::boolean(i == 0));
    set("last", JinjaValue::boolean(i + 1 == n));
    set("length", JinjaValue::integer(int64_t(n)));
    set("depth", JinjaValue::integer(1));
    set("depth0", JinjaValue::integer(0));
    set("previtem", i > 0 ? items[i - 1] : JinjaValue::undefined("there is no previous item"));
    set("nextitem", i + 1 < n ? items[i + 1] : JinjaValue::undefined("there is no next item"));
    auto cycle = std::make_shared<JinjaCallable>();
    cycle->kind = JinjaCallable::Kind::LoopCycle;
    cycle->name = "cycle";
    cycle->self = JinjaValue::integer(int64_t(i));
    set("cycle", JinjaValue::callable(std::move(cycle)));
    auto changed = std::make_shared<JinjaCallable>();
    changed->kind = JinjaCallable::Kind::Method;
    changed->name = "changed";
    changed->unsupported = true;
    changed->self = JinjaValue::none();
    set("changed", JinjaValue::callable(std::move(changed)));

    scope_ = std::make_shared<Scope>();
    scope_->parent = outer;
    assign(*s.target, items[i]);
    scope_->vars["loop"] = JinjaValue::object(std::move(loop));
    Flow f = failed_ ? Flow::Error : exec(s.body);
    scope_ = outer;
    if (f == Flow::Error)
      return f;
    if (f == Flow::Break)
      break;
  }
  return Flow::Normal;
}

void Evaluator::assign(const Expr &target, const JinjaValue &value) {
  if (target.kind == Expr::Kind::Name) {
    scope_->vars[target.name] = value;
    return;
  }
  if (target.kind == Expr::Kind::NSRef) {
    JinjaValue ns = lookup(target.name);
    if (!ns.isNamespace()) {
      fail(target.offset, "cannot assign attribute on non-namespace object ('" + target.name +
                              "' is " + (ns.isUndefined() ? "undefined" : "a " + typeName(ns)) +
                              ")");
      return;
    }
    ns.getNamespace().attrs.set(JinjaValue::string(target.attr), value);
    return;
  }
  // A tuple of targets: unpack as Python does.
  ValueList items;
  if (value.isUndefined()) {
    undefinedError(value, target.offset);
    return;
  }
  if (value.isDict() || !iterate(value, items, target.offset)) {
    if (value.isDict())
      for (const auto &kv : value.getDict().items)
        items.push_back(kv.first);
    if (failed_)
      return;
  }
  size_t want = target.args.size();
  if (items.size() < want) {
    fail(target.offset, "not enough values to unpack (expected " + std::to_string(want) +
                            ", got " + std::to_string(items.size()) + ")");
    return;
  }
  if (items.size() > want) {
    fail(target.offset, "too many values to unpack (expected " + std::to_string(want) + ")");
    return;
  }
  for (size_t i = 0; i < want && !failed_; ++i)
    assign(*target.args[i], items[i]);
}

JinjaValue Evaluator::lookup(llvm::StringRef name) {
  for (Scope *s = scope_.get(); s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end())
      return it->second;
  }
  if (const JinjaValue *v = context_.find(name))
    return *v;
  static const char *globals[] = {"range", "dict", "namespace", "raise_exception",
                                  "strftime_now", "lipsum", "cycler", "joiner"};
  for (const char *g : globals) {
    if (name == g) {
      auto fn = std::make_shared<JinjaCallable>();
      fn->kind = JinjaCallable::Kind::Global;
      fn->name = g;
      return JinjaValue::callable(std::move(fn));
    }
  }
  return JinjaValue::undefined("'" + name.str() + "' is undefined");
}

bool Evaluator::evalArgs(const Expr &e, size_t first, CallArgs &args) {
  for (size_t i = first; i < e.args.size(); ++i) {
    args.positional.push_back(eval(*e.args[i]));
    if (failed_)
      return false;
  }
  for (const auto &kw : e.kwargs) {
    args.keywords.emplace_back(kw.first, eval(*kw.second));
    if (failed_)
      return false;
  }
  return true;
}

JinjaValue Evaluator::eval(const Expr &e) {
  if (failed_)
    return JinjaValue();
  switch (e.kind) {
  case Expr::Kind::Const:
    return e.value;
  case Expr::Kind::Name:
    return lookup(e.name);
  case Expr::Kind::NSRef:
    return fail(e.offset, "a namespace attribute target is not an expression");
  case Expr::Kind::Getattr: {
    JinjaValue obj = eval(*e.args[0]);
    if (failed_)
      return JinjaValue();
    if (obj.isUndefined())
      return undefinedError(obj, e.offset);
    return getattr(obj, e.name, e.offset);
  }
  case Expr::Kind::Getitem: {
    JinjaValue obj = eval(*e.args[0]);
    if (failed_)
      return JinjaValue();
    if (e.args[1]->kind == Expr::Kind::Slice) {
      if (obj.isUndefined())
        return undefinedError(obj, e.offset);
      return slice(obj, *e.args[1], e.offset);
    }
    JinjaValue key = eval(*e.args[1]);
    if (failed_)
      return JinjaValue();
    if (obj.isUndefined())
      return undefinedError(obj, e.offset);
    return getitem(obj, key, e.offset);
  }
  case Expr::Kind::Slice:
    return fail(e.offset, "a slice outside of [ ]");
  case Expr::Kind::Call: {
    JinjaValue callee = eval(*e.args[0]);
    CallArgs args;
    if (failed_ || !evalArgs(e, 1, args))
      return JinjaValue();
    return call(callee, std::move(args), e.offset);
  }
  case Expr::Kind::Filter: {
    JinjaValue v = e.args[0] ? eval(*e.args[0]) : JinjaValue();
    CallArgs args;
    if (failed_ || !evalArgs(e, 1, args))
      return JinjaValue();
    return callFilter(e.name, v, std::move(args), e.offset);
  }
  case Expr::Kind::Test: {
    JinjaValue v = eval(*e.args[0]);
    CallArgs args;
    if (failed_ || !evalArgs(e, 1, args))
      return JinjaValue();
    bool r = callTest(e.name, v, args, e.offset);
    return failed_ ? JinjaValue() : JinjaValue::boolean(r);
  }
  case Expr::Kind::Not: {
    JinjaValue v = eval(*e.args[0]);
    return failed_ ? JinjaValue() : JinjaValue::boolean(!truthy(v));
  }
  case Expr::Kind::Neg:
  case Expr::Kind::Pos: {
    JinjaValue v = eval(*e.args[0]);
    if (failed_)
      return JinjaValue();
    if (v.isUndefined())
      return undefinedError(v, e.offset);
    bool neg = e.kind == Expr::Kind::Neg;
    if (v.isIntegral()) {
      if (neg && v.getInt() == INT64_MIN)
        return fail(e.offset, kOverflow);
      return JinjaValue::integer(neg ? -v.getInt() : v.getInt());
    }
    if (v.isFloat())
      return JinjaValue::number(neg ? -v.getNumber() : v.getNumber());
    return fail(e.offset, std::string("bad operand type for unary ") + (neg ? "-" : "+") +
                              ": '" + typeName(v) + "'");
  }
  case Expr::Kind::BinOp: {
    JinjaValue a = eval(*e.args[0]);
    if (failed_)
      return JinjaValue();
    JinjaValue b = eval(*e.args[1]);
    if (failed_)
      return JinjaValue();
    return binaryOp(e.name, a, b, e.offset);
  }
  case Expr::Kind::And:
  case Expr::Kind::Or: {
    JinjaValue a = eval(*e.args[0]);
    if (failed_)
      return JinjaValue();
    bool t = truthy(a);
    if ((e.kind == Expr::Kind::And) ? !t : t)
      return a;
    return eval(*e.args[1]);
  }
  case Expr::Kind::Concat: {
    std::string s;
    for (const ExprPtr &a : e.args) {
      JinjaValue v = eval(*a);
      if (failed_)
        return JinjaValue();
      s += toStr(v);
      if (s.size() > limits_.maxValueBytes)
        return checkSize(JinjaValue::string(std::move(s)), e.offset);
    }
    return JinjaValue::string(std::move(s));
  }
  case Expr::Kind::Compare:
    return evalCompare(e);
  case Expr::Kind::CondExpr: {
    JinjaValue test = eval(*e.args[0]);
    if (failed_)
      return JinjaValue();
    if (truthy(test))
      return eval(*e.args[1]);
    if (e.args[2])
      return eval(*e.args[2]);
    return JinjaValue::undefined("the inline if-expression evaluated to false and no else "
                                 "section was defined");
  }
  case Expr::Kind::List:
  case Expr::Kind::Tuple: {
    ValueList items;
    for (const ExprPtr &a : e.args) {
      items.push_back(eval(*a));
      if (failed_)
        return JinjaValue();
    }
    return JinjaValue::list(std::move(items), e.kind == Expr::Kind::List ? JinjaValue::Seq::List
                                                                         : JinjaValue::Seq::Tuple);
  }
  case Expr::Kind::Dict: {
    JinjaDict d;
    for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
      JinjaValue k = eval(*e.args[i]);
      if (failed_)
        return JinjaValue();
      JinjaValue v = eval(*e.args[i + 1]);
      if (failed_)
        return JinjaValue();
      if (!hashable(k))
        return fail(e.args[i]->offset, "unhashable type: '" + typeName(k) + "'");
      d.set(std::move(k), std::move(v));
    }
    return JinjaValue::dict(std::move(d));
  }
  }
  return JinjaValue();
}

JinjaValue Evaluator::evalCompare(const Expr &e) {
  JinjaValue left = eval(*e.args[0]);
  if (failed_)
    return JinjaValue();
  for (size_t i = 0; i < e.ops.size(); ++i) {
    JinjaValue right = eval(*e.args[i + 1]);
    if (failed_)
      return JinjaValue();
    const std::string &op = e.ops[i];
    size_t at = e.args[i + 1]->offset;
    bool r;
    if (op == "==" || op == "!=") {
      r = equals(left, right) == (op == "==");
    } else if (op == "in" || op == "notin") {
      r = contains(right, left, at) == (op == "in");
      if (failed_)
        return JinjaValue();
    } else {
      if (left.isUndefined())
        return undefinedError(left, at);
      if (right.isUndefined())
        return undefinedError(right, at);
      std::optional<int> c = compare(left, right);
      if (!c)
        return fail(at, "'" + op + "' not supported between instances of '" + typeName(left) +
                            "' and '" + typeName(right) + "'");
      r = op == "<" ? *c < 0 : op == "<=" ? *c <= 0 : op == ">" ? *c > 0 : *c >= 0;
    }
    if (!r)
      return JinjaValue::boolean(false);
    left = std::move(right);
  }
  return JinjaValue::boolean(true);
}

bool Evaluator::contains(const JinjaValue &container, const JinjaValue &item, size_t offset) {
  if (item.isUndefined() && !container.isList() && !container.isUndefined()) {
    // Python would hash or compare the Undefined: only a string refuses.
    if (container.isString()) {
      undefinedError(item, offset);
      return false;
    }
  }
  switch (container.kind()) {
  case JinjaValue::Kind::String:
    if (!item.isString()) {
      fail(offset, "'in <string>' requires string as left operand, not " + typeName(item));
      return false;
    }
    return container.getString().find(item.getString()) != std::string::npos;
  case JinjaValue::Kind::List:
    for (const JinjaValue &x : container.getList())
      if (equals(x, item))
        return true;
    return false;
  case JinjaValue::Kind::Dict:
    if (!hashable(item)) {
      fail(offset, "unhashable type: '" + typeName(item) + "'");
      return false;
    }
    return container.getDict().find(item) != nullptr;
  case JinjaValue::Kind::Undefined:
    return false;
  default:
    fail(offset, "argument of type '" + typeName(container) + "' is not iterable");
    return false;
  }
}

bool Evaluator::iterate(const JinjaValue &value, ValueList &items, size_t offset) {
  switch (value.kind()) {
  case JinjaValue::Kind::Undefined:
    return true;
  case JinjaValue::Kind::List:
    items = value.getList();
    return true;
  case JinjaValue::Kind::Dict:
    for (const auto &kv : value.getDict().items)
      items.push_back(kv.first);
    return true;
  case JinjaValue::Kind::String: {
    for (uint32_t cp : py::decode(value.getString())) {
      std::string c;
      py::appendUtf8(c, cp);
      items.push_back(JinjaValue::string(std::move(c)));
    }
    return true;
  }
  default:
    fail(offset, "'" + typeName(value) + "' object is not iterable");
    return false;
  }
}

JinjaValue Evaluator::binaryOp(llvm::StringRef op, const JinjaValue &a, const JinjaValue &b,
                               size_t offset) {
  if (a.isUndefined())
    return undefinedError(a, offset);
  if (b.isUndefined())
    return undefinedError(b, offset);
  auto unsupported = [&]() {
    return fail(offset, "unsupported operand type(s) for " + op.str() + ": '" + typeName(a) +
                            "' and '" + typeName(b) + "'");
  };
  bool ints = a.isIntegral() && b.isIntegral();
  bool nums = a.isNumber() && b.isNumber();
  int64_t r;
  if (op == "+") {
    if (ints)
      return addOverflows(a.getInt(), b.getInt(), r) ? fail(offset, kOverflow)
                                                     : JinjaValue::integer(r);
    if (nums)
      return JinjaValue::number(a.getNumber() + b.getNumber());
    if (a.isString() && b.isString())
      return checkSize(JinjaValue::string(a.getString() + b.getString()), offset);
    if (a.isString())
      return fail(offset, "can only concatenate str (not \"" + typeName(b) + "\") to str");
    if (a.isList() && b.isList() && a.seq() == b.seq() &&
        (a.seq() == JinjaValue::Seq::List || a.seq() == JinjaValue::Seq::Tuple)) {
      ValueList items = a.getList();
      items.insert(items.end(), b.getList().begin(), b.getList().end());
      return checkSize(JinjaValue::list(std::move(items), a.seq()), offset);
    }
    if (a.isList() && a.seq() == JinjaValue::Seq::List)
      return fail(offset, "can only concatenate list (not \"" + typeName(b) + "\") to list");
    return unsupported();
  }
  if (op == "-") {
    if (ints)
      return subOverflows(a.getInt(), b.getInt(), r) ? fail(offset, kOverflow)
                                                     : JinjaValue::integer(r);
    if (nums)
      return JinjaValue::number(a.getNumber() - b.getNumber());
    return unsupported();
  }
  if (op == "*") {
    if (ints)
      return mulOverflows(a.getInt(), b.getInt(), r) ? fail(offset, kOverflow)
                                                     : JinjaValue::integer(r);
    if (nums)
      return JinjaValue::number(a.getNumber() * b.getNumber());
    const JinjaValue *seq = a.isIntegral() ? &b : &a;
    const JinjaValue *count = a.isIntegral() ? &a : &b;
    if (count->isIntegral() && (seq->isString() || (seq->isList() &&
                                                    (seq->seq() == JinjaValue::Seq::List ||
                                                     seq->seq() == JinjaValue::Seq::Tuple)))) {
      int64_t n = std::max<int64_t>(0, count->getInt());
      uint64_t unit = seq->isString() ? seq->getString().size() : seq->getList().size() * 8;
      if (n > 0 && unit > 0 && uint64_t(n) > limits_.maxValueBytes / unit)
        return fail(offset, "a repeated value grows past the render limit of " +
                                std::to_string(limits_.maxValueBytes) + " bytes");
      if (seq->isString()) {
        std::string s;
        for (int64_t i = 0; i < n; ++i)
          s += seq->getString();
        return JinjaValue::string(std::move(s));
      }
      ValueList items;
      for (int64_t i = 0; i < n; ++i)
        items.insert(items.end(), seq->getList().begin(), seq->getList().end());
      return JinjaValue::list(std::move(items), seq->seq());
    }
    return unsupported();
  }
  if (op == "/") {
    if (!nums)
      return unsupported();
    if (b.getNumber() == 0)
      return fail(offset, "division by zero");
    return JinjaValue::number(a.getNumber() / b.getNumber());
  }
  if (op == "//" || op == "%") {
    if (a.isString() && op == "%")
      return fail(offset, "the % string formatting operator is not supported; use ~ or "
                          "str.format");
    if (!nums)
      return unsupported();
    if (ints) {
      if (b.getInt() == 0)
        return fail(offset, "integer division or modulo by zero");
      if (a.getInt() == INT64_MIN && b.getInt() == -1)
        return op == "%" ? JinjaValue::integer(0) : fail(offset, kOverflow);
      return JinjaValue::integer(op == "//" ? floorDiv(a.getInt(), b.getInt())
                                            : floorMod(a.getInt(), b.getInt()));
    }
    if (b.getNumber() == 0)
      return fail(offset, op == "//" ? "float floor division by zero" : "float modulo");
    double x = a.getNumber(), y = b.getNumber();
    if (op == "%")
      return JinjaValue::number(floatMod(x, y));
    // CPython's float_floor_div.
    double mod = std::fmod(x, y);
    double div = (x - mod) / y;
    if (mod != 0 && ((y < 0) != (mod < 0)))
      div -= 1.0;
    double floored = std::floor(div);
    if (div - floored > 0.5)
      floored += 1.0;
    if (div == 0)
      floored = std::copysign(0.0, x / y);
    return JinjaValue::number(floored);
  }
  if (op == "**") {
    if (!nums)
      return unsupported();
    if (ints && b.getInt() >= 0) {
      int64_t base = a.getInt(), result = 1;
      uint64_t e = uint64_t(b.getInt());
      if (base == 0 || base == 1)
        return JinjaValue::integer(e == 0 ? 1 : base);
      if (base == -1)
        return JinjaValue::integer((e % 2) ? -1 : 1);
      while (e) { // |base| >= 2: overflows within 64 squarings
        if (e & 1)
          if (mulOverflows(result, base, result))
            return fail(offset, kOverflow);
        e >>= 1;
        if (e && mulOverflows(base, base, base))
          return fail(offset, kOverflow);
      }
      return JinjaValue::integer(result);
    }
    if (a.getNumber() == 0 && b.getNumber() < 0)
      return fail(offset, "0.0 cannot be raised to a negative power");
    return JinjaValue::number(std::pow(a.getNumber(), b.getNumber()));
  }
  return fail(offset, "unknown operator " + op.str());
}

namespace {
/// Python's slice.indices(length).
bool sliceIndices(const JinjaValue *start, const JinjaValue *stop, const JinjaValue *step,
                  int64_t length, int64_t &b, int64_t &e, int64_t &s) {
  s = step ? step->getInt() : 1;
  if (s > 0) {
    b = start ? start->getInt() : 0;
    e = stop ? stop->getInt() : length;
    if (b < 0)
      b = std::max<int64_t>(0, b + length);
    b = std::min(b, length);
    if (e < 0)
      e = std::max<int64_t>(0, e + length);
    e = std::min(e, length);
  } else {
    b = start ? start->getInt() : length - 1;
    e = stop ? stop->getInt() : -1;
    if (start) {
      if (b < 0)
        b = std::max<int64_t>(-1, b + length);
      b = std::min(b, length - 1);
    }
    if (stop) {
      if (e < 0)
        e = std::max<int64_t>(-1, e + length);
      e = std::min(e, length - 1);
    }
  }
  return true;
}
} // namespace

JinjaValue Evaluator::slice(const JinjaValue &obj, const Expr &sl, size_t offset) {
  JinjaValue parts[3];
  const JinjaValue *ptrs[3] = {nullptr, nullptr, nullptr};
  for (int k = 0; k < 3; ++k) {
    if (!sl.args[k])
      continue;
    parts[k] = eval(*sl.args[k]);
    if (failed_)
      return JinjaValue();
    if (parts[k].isNone())
      continue;
    if (!parts[k].isIntegral())
      return JinjaValue::undefined("slice indices must be integers or None");
    ptrs[k] = &parts[k];
  }
  if (ptrs[2] && ptrs[2]->getInt() == 0)
    return fail(offset, "slice step cannot be zero");
  bool isString = obj.isString();
  bool isSeq = obj.isList() &&
               (obj.seq() == JinjaValue::Seq::List || obj.seq() == JinjaValue::Seq::Tuple);
  if (!isString && !isSeq)
    return JinjaValue::undefined("'" + typeName(obj) + "' object is not subscriptable");
  std::vector<uint32_t> cps;
  if (isString)
    cps = py::decode(obj.getString());
  int64_t length = isString ? int64_t(cps.size()) : int64_t(obj.getList().size());
  int64_t b, e, s;
  sliceIndices(ptrs[0], ptrs[1], ptrs[2], length, b, e, s);
  std::vector<int64_t> picks;
  if (s > 0)
    for (int64_t i = b; i < e; i += s)
      picks.push_back(i);
  else
    for (int64_t i = b; i > e; i += s)
      picks.push_back(i);
  if (isString) {
    std::string out;
    for (int64_t i : picks)
      py::appendUtf8(out, cps[i]);
    return JinjaValue::string(std::move(out));
  }
  ValueList items;
  for (int64_t i : picks)
    items.push_back(obj.getList()[i]);
  return JinjaValue::list(std::move(items), obj.seq());
}

JinjaValue Evaluator::call(const JinjaValue &callee, CallArgs args, size_t offset) {
  if (callee.isUndefined()) {
    if (callee.isUnsafe())
      return fail(offset, callee.undefinedHint());
    return undefinedError(callee, offset);
  }
  if (!callee.isCallable())
    return fail(offset, "'" + typeName(callee) + "' object is not callable");
  const JinjaCallable &fn = callee.getCallable();
  if (fn.unsupported)
    return fail(offset, "method '" + fn.name + "' of " + typeName(fn.self) +
                            " objects is not supported");
  switch (fn.kind) {
  case JinjaCallable::Kind::Macro:
    return callMacro(fn, std::move(args), offset);
  case JinjaCallable::Kind::Global:
    return callGlobal(fn, std::move(args), offset);
  case JinjaCallable::Kind::Method:
    return callMethod(fn, std::move(args), offset);
  case JinjaCallable::Kind::LoopCycle:
    if (args.positional.empty())
      return fail(offset, "no items for cycling given");
    return args.positional[fn.self.getInt() % int64_t(args.positional.size())];
  }
  return JinjaValue();
}

JinjaValue Evaluator::callMacro(const JinjaCallable &fn, CallArgs args, size_t offset) {
  const Stmt &m = *static_cast<const Stmt *>(fn.impl.get());
  auto closure = static_cast<std::weak_ptr<Scope> *>(fn.closure.get())->lock();
  if (!closure)
    return fail(offset, "macro '" + m.name + "' was called after its scope ended");
  if (callDepth_ >= limits_.maxCallDepth)
    return fail(offset, "macro calls nested more than " + std::to_string(limits_.maxCallDepth) +
                            " deep");
  auto scope = std::make_shared<Scope>();
  scope->parent = closure;
  size_t nparams = m.params.size();
  std::vector<bool> bound(nparams, false);
  ValueList varargs;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < nparams) {
      scope->vars[m.params[i]] = args.positional[i];
      bound[i] = true;
    } else if (m.usesVarargs) {
      varargs.push_back(args.positional[i]);
    } else {
      return fail(offset, "macro '" + m.name + "' takes not more than " +
                              std::to_string(nparams) + " argument(s)");
    }
  }
  JinjaDict kwargs;
  for (auto &kw : args.keywords) {
    auto it = std::find(m.params.begin(), m.params.end(), kw.first);
    if (it != m.params.end()) {
      size_t i = it - m.params.begin();
      if (bound[i])
        return fail(offset, "macro '" + m.name + "' got multiple values for argument '" +
                                kw.first + "'");
      scope->vars[kw.first] = kw.second;
      bound[i] = true;
    } else if (m.usesKwargs) {
      kwargs.set(JinjaValue::string(kw.first), kw.second);
    } else {
      return fail(offset, "macro '" + m.name + "' takes no keyword argument '" + kw.first + "'");
    }
  }
  std::shared_ptr<Scope> saved = scope_;
  scope_ = scope;
  for (size_t i = 0; i < nparams && !failed_; ++i) {
    if (bound[i])
      continue;
    // Defaults are evaluated at call time, in the macro's scope.
    scope_->vars[m.params[i]] =
        m.defaults[i] ? eval(*m.defaults[i])
                      : JinjaValue::undefined("parameter '" + m.params[i] + "' was not provided");
  }
  scope_->vars["varargs"] = JinjaValue::list(std::move(varargs), JinjaValue::Seq::Tuple);
  scope_->vars["kwargs"] = JinjaValue::dict(std::move(kwargs));
  std::string text;
  ++callDepth_;
  bool ok = !failed_ && renderBody(m.body, text);
  --callDepth_;
  scope_ = saved;
  if (!ok)
    return JinjaValue();
  return JinjaValue::string(std::move(text));
}

namespace {
const char *const kStrMethods[] = {
    "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find",
    "format", "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit",
    "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper",
    "join", "ljust", "lower", "lstrip", "maketrans", "partition", "removeprefix",
    "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip",
    "split", "splitlines", "startswith", "strip", "swapcase", "title", "translate", "upper",
    "zfill"};
const char *const kDictMethods[] = {"clear", "copy", "fromkeys", "get", "items", "keys",
                                    "pop", "popitem", "setdefault", "update", "values"};
const char *const kDictUnsafe[] = {"clear", "pop", "popitem", "setdefault", "update"};
const char *const kListMethods[] = {"append", "clear", "copy", "count", "extend", "index",
                                    "insert", "pop", "remove", "reverse", "sort"};
const char *const kListUnsafe[] = {"append", "clear", "extend", "insert", "pop", "remove",
                                   "reverse", "sort"};
const char *const kTupleMethods[] = {"count", "index"};

template <size_t N> bool among(const char *const (&names)[N], llvm::StringRef name) {
  for (const char *n : names)
    if (name == n)
      return true;
  return false;
}

std::string objectTypeRepr(const JinjaValue &v) {
  if (v.isNone())
    return "None";
  return typeName(v) + " object";
}
} // namespace

bool isImplementedMethod(const JinjaValue &self, llvm::StringRef name);

JinjaValue Evaluator::getattr(const JinjaValue &obj, llvm::StringRef name, size_t offset) {
  auto method = [&](bool unsafe) {
    if (unsafe)
      return JinjaValue::undefined("access to attribute '" + name.str() + "' of '" +
                                       typeName(obj) + "' object is unsafe.",
                                   /*unsafe=*/true);
    auto fn = std::make_shared<JinjaCallable>();
    fn->kind = JinjaCallable::Kind::Method;
    fn->name = name.str();
    fn->self = obj;
    fn->unsupported = !isImplementedMethod(obj, name);
    return JinjaValue::callable(std::move(fn));
  };
  auto missing = [&]() {
    return JinjaValue::undefined("'" + objectTypeRepr(obj) + "' has no attribute '" + name.str() +
                                 "'");
  };
  if (name.starts_with("_")) // the sandbox hides every _name
    return JinjaValue::undefined("access to attribute '" + name.str() + "' of '" +
                                     typeName(obj) + "' object is unsafe.",
                                 true);
  switch (obj.kind()) {
  case JinjaValue::Kind::String:
    return among(kStrMethods, name) ? method(false) : missing();
  case JinjaValue::Kind::List:
    if (obj.seq() == JinjaValue::Seq::List && among(kListMethods, name))
      return method(among(kListUnsafe, name));
    if (obj.seq() == JinjaValue::Seq::Tuple && among(kTupleMethods, name))
      return method(false);
    return missing();
  case JinjaValue::Kind::Dict:
    if (among(kDictMethods, name))
      return method(among(kDictUnsafe, name));
    if (const JinjaValue *v = obj.getDict().find(name))
      return *v;
    return missing();
  case JinjaValue::Kind::Namespace:
    if (const JinjaValue *v = obj.getNamespace().attrs.find(name))
      return *v;
    return missing();
  case JinjaValue::Kind::Object:
    if (const JinjaValue *v = obj.getObject().attrs.find(name))
      return *v;
    return missing();
  case JinjaValue::Kind::Undefined:
    return undefinedError(obj, offset);
  default:
    return missing();
  }
}

JinjaValue Evaluator::getitem(const JinjaValue &obj, const JinjaValue &key, size_t offset) {
  auto fallback = [&]() {
    // Jinja2: obj[key] failed; a string key is tried as an attribute.
    if (key.isString())
      return getattr(obj, key.getString(), offset);
    return JinjaValue::undefined(objectTypeRepr(obj) + " has no element " + toRepr(key));
  };
  switch (obj.kind()) {
  case JinjaValue::Kind::String: {
    if (!key.isIntegral())
      return fallback();
    std::vector<uint32_t> cps = py::decode(obj.getString());
    int64_t i = key.getInt(), n = int64_t(cps.size());
    if (i < 0)
      i += n;
    if (i < 0 || i >= n)
      return fallback();
    std::string c;
    py::appendUtf8(c, cps[i]);
    return JinjaValue::string(std::move(c));
  }
  case JinjaValue::Kind::List: {
    if (!key.isIntegral() ||
        (obj.seq() != JinjaValue::Seq::List && obj.seq() != JinjaValue::Seq::Tuple))
      return fallback();
    int64_t i = key.getInt(), n = int64_t(obj.getList().size());
    if (i < 0)
      i += n;
    if (i < 0 || i >= n)
      return fallback();
    return obj.getList()[i];
  }
  case JinjaValue::Kind::Dict:
    if (hashable(key))
      if (const JinjaValue *v = obj.getDict().find(key))
        return *v;
    return fallback();
  case JinjaValue::Kind::Undefined:
    return undefinedError(obj, offset);
  default:
    return fallback();
  }
}
