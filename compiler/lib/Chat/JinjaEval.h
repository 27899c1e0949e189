//===- JinjaEval.h - running a parsed chat template -------------*- C++ -*-===//
//
// The interpreter. Scopes follow Jinja2: a for loop's body gets a fresh
// scope each iteration (a `set` inside does not survive the iteration or
// leak out), `if` blocks share their enclosing scope, a macro call gets a
// scope whose parent is the macro's defining scope, and names resolve at
// use through the chain, then the render context, then the globals.
//
// Errors are values here, not exceptions: the first error is recorded with
// its source offset and every step returns early once one is recorded.
// Limits keep a hostile template from hanging or exhausting memory: total
// loop iterations, macro call depth, output bytes and the size of any one
// string or list built.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_LIB_CHAT_JINJAEVAL_H
#define HYBRIDC_LIB_CHAT_JINJAEVAL_H

#include "JinjaAst.h"
#include "JinjaLexer.h"

#include "hybridc/Chat/ChatTemplate.h"

#include "llvm/ADT/StringMap.h"

#include <memory>
#include <string>

namespace hybridc::jinja {

struct CallArgs {
  ValueList positional;
  std::vector<std::pair<std::string, JinjaValue>> keywords;
};

class Evaluator {
public:
  Evaluator(std::shared_ptr<const Program> program, const RenderLimits &limits);
  ~Evaluator();

  /// Renders the program with `context` (a dict) as its variables.
  bool render(const JinjaValue &context, std::string &out, SourceError &error);

  // Used by the builtins (JinjaBuiltins.cpp).
  JinjaValue fail(size_t offset, std::string message);
  bool failed() const { return failed_; }
  JinjaValue getattr(const JinjaValue &obj, llvm::StringRef name, size_t offset);
  JinjaValue getitem(const JinjaValue &obj, const JinjaValue &key, size_t offset);
  JinjaValue call(const JinjaValue &callee, CallArgs args, size_t offset);
  JinjaValue callFilter(llvm::StringRef name, const JinjaValue &value, CallArgs args,
                        size_t offset);
  /// A test's result; an error leaves failed() set.
  bool callTest(llvm::StringRef name, const JinjaValue &value, const CallArgs &args,
                size_t offset);
  /// The items `for x in value` visits; false (with the error recorded) if
  /// the value is not iterable.
  bool iterate(const JinjaValue &value, ValueList &items, size_t offset);
  /// Errors for operations on an Undefined (UndefinedError / SecurityError).
  JinjaValue undefinedError(const JinjaValue &undefined, size_t offset);
  /// Checks a string or list built by a filter or operator against the limits.
  JinjaValue checkSize(JinjaValue v, size_t offset);
  JinjaValue binaryOp(llvm::StringRef op, const JinjaValue &a, const JinjaValue &b,
                      size_t offset);
  bool contains(const JinjaValue &container, const JinjaValue &item, size_t offset);

private:
  struct Scope;
  enum class Flow { Normal, Break, Continue, Error };

  Flow exec(const StmtList &body);
  Flow execStmt(const Stmt &s);
  Flow execFor(const Stmt &s);
  JinjaValue eval(const Expr &e);
  JinjaValue evalCompare(const Expr &e);
  bool evalArgs(const Expr &e, size_t first, CallArgs &args);
  JinjaValue lookup(llvm::StringRef name);
  void assign(const Expr &target, const JinjaValue &value);
  JinjaValue callMacro(const JinjaCallable &macro, CallArgs args, size_t offset);
  JinjaValue callGlobal(const JinjaCallable &fn, CallArgs args, size_t offset);
  JinjaValue callMethod(const JinjaCallable &method, CallArgs args, size_t offset);
  JinjaValue slice(const JinjaValue &obj, const Expr &slice, size_t offset);
  JinjaValue applyFilterChain(const Expr &chain, JinjaValue value);
  void emit(llvm::StringRef text, size_t offset);
  bool renderBody(const StmtList &body, std::string &into);

  std::shared_ptr<const Program> program_;
  RenderLimits limits_;
  std::shared_ptr<Scope> scope_;
  JinjaDict context_;
  std::string *out_ = nullptr;
  bool failed_ = false;
  SourceError error_;
  uint64_t iterations_ = 0;
  int callDepth_ = 0;
  std::vector<std::weak_ptr<JinjaNamespace>> namespaces_;
};

} // namespace hybridc::jinja

#endif // HYBRIDC_LIB_CHAT_JINJAEVAL_H
