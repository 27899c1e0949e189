//===- JinjaAst.h - a parsed chat template ----------------------*- C++ -*-===//
//
// The parser's output: expressions and statements mirroring Jinja2's nodes
// for the subset hybridc runs. Every node keeps its source offset, so that a
// runtime error names the line and column of what failed.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_LIB_CHAT_JINJAAST_H
#define HYBRIDC_LIB_CHAT_JINJAAST_H

#include "hybridc/Chat/JinjaValue.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hybridc::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind : uint8_t {
    Const,    // value
    Name,     // name
    NSRef,    // name.attr as an assignment target
    Getattr,  // args[0].name
    Getitem,  // args[0][args[1]]
    Slice,    // args[0]:args[1]:args[2], each possibly null
    Call,     // args[0](args[1..], kwargs)
    Filter,   // args[0] | name(args[1..], kwargs); args[0] null in filter blocks
    Test,     // args[0] is name(args[1..], kwargs)
    Not, Neg, Pos,
    BinOp,    // args[0] op args[1], op in name: + - * / // % **
    And, Or,
    Concat,   // args joined with ~
    Compare,  // args[0] ops[0] args[1] ops[1] args[2] ...
    CondExpr, // args[1] if args[0] else args[2] (null: undefined)
    List, Tuple,
    Dict,     // args: key, value, key, value, ...
  };
  Kind kind;
  size_t offset = 0;
  JinjaValue value;
  std::string name;
  std::string attr; // NSRef's attribute
  std::vector<ExprPtr> args;
  std::vector<std::string> ops;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;

  Expr(Kind kind, size_t offset) : kind(kind), offset(offset) {}
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using StmtList = std::vector<StmtPtr>;

struct Stmt {
  enum class Kind : uint8_t {
    Data,        // text
    Print,       // {{ expr }}
    If,          // expr, body, orelse (an elif is an If alone in orelse)
    For,         // target in expr [if cond], body, orelse
    Set,         // target = expr
    SetBlock,    // {% set target [| filters] %}body{% endset %}; expr: the filter chain
    Macro,       // name(params = defaults), body
    FilterBlock, // {% filter chain %}body{% endfilter %}
    With,        // targets = values, body
    Break,
    Continue,
    Generation,  // Hugging Face's {% generation %}: renders its body
  };
  Kind kind;
  size_t offset = 0;
  std::string text;
  ExprPtr expr, target, cond;
  StmtList body, orelse;
  // Macros.
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults; // null where a parameter has no default
  bool usesVarargs = false, usesKwargs = false;
  // With.
  std::vector<ExprPtr> targets, values;

  Stmt(Kind kind, size_t offset) : kind(kind), offset(offset) {}
};

/// A parsed template: its normalized source (for error places) and body.
struct Program {
  std::string name;
  std::string source;
  StmtList body;
};

} // namespace hybridc::jinja

#endif // HYBRIDC_LIB_CHAT_JINJAAST_H
