//===- JinjaParser.cpp - tokens to a template's syntax tree ---------------===//
//
// Recursive descent with Jinja2's grammar (jinja2/parser.py): the same
// precedence ladder (if-else < or < and < not < comparisons < + - < ~ <
// * / // % < ** < unary - + < filters and tests < postfix), the same
// quirks (`**` is left-associative, `-x|abs` filters the negation, adjacent
// string literals join). Nesting is bounded so a hostile template cannot
// exhaust the stack.
//
//===----------------------------------------------------------------------===//
#include "JinjaParser.h"

#include "llvm/ADT/STLExtras.h"

#include <initializer_list>

using namespace hybridc;
using namespace hybridc::jinja;

namespace {

constexpr int kMaxNesting = 200;

class Parser {
public:
  Parser(const std::vector<Token> &tokens, SourceError &error) : toks(tokens), error(error) {}

  bool parse(StmtList &body) {
    if (!subparse(body, {}))
      return false;
    if (cur().kind != Tok::Eof)
      return fail(cur().offset, "unexpected " + describe(cur()));
    return checkNames(body, false);
  }

private:
  // ---- filter and test names ---------------------------------------------
  // Jinja2's compiler rejects an unknown filter or test, except directly
  // inside an `if` (its test and branches) or an inline if-expression,
  // where it only fails if reached ("soft" frames; a loop, macro or block
  // inside starts a normal frame again). hybridc does the same, counting
  // the Jinja2 filters it does not run as unknown.
  bool checkNames(const StmtList &body, bool soft) {
    for (const StmtPtr &s : body)
      if (!checkStmt(*s, soft))
        return false;
    return true;
  }

  bool checkStmt(const Stmt &s, bool soft) {
    auto expr = [&](const ExprPtr &e, bool sf) { return !e || checkExpr(*e, sf); };
    switch (s.kind) {
    case Stmt::Kind::If:
      return expr(s.expr, true) && checkNames(s.body, true) && checkNames(s.orelse, true);
    case Stmt::Kind::For:
      return expr(s.expr, soft) && expr(s.cond, false) && checkNames(s.body, false) &&
             checkNames(s.orelse, false);
    case Stmt::Kind::Macro:
      for (const ExprPtr &d : s.defaults)
        if (!expr(d, false))
          return false;
      return checkNames(s.body, false);
    case Stmt::Kind::With:
      for (const ExprPtr &v : s.values)
        if (!expr(v, false))
          return false;
      return checkNames(s.body, false);
    case Stmt::Kind::SetBlock:
    case Stmt::Kind::FilterBlock:
    case Stmt::Kind::Generation:
      return checkNames(s.body, false) && expr(s.expr, false);
    default:
      return expr(s.expr, soft) && expr(s.target, soft);
    }
  }

  bool checkExpr(const Expr &e, bool soft) {
    if (e.kind == Expr::Kind::CondExpr)
      soft = true;
    if (!soft && e.kind == Expr::Kind::Filter && !isSupportedFilter(e.name))
      return fail(e.offset, isJinjaOnlyFilter(e.name) ? "filter '" + e.name + "' is not supported"
                                                       : "no filter named '" + e.name + "'");
    if (!soft && e.kind == Expr::Kind::Test && !isSupportedTest(e.name))
      return fail(e.offset, "no test named '" + e.name + "'");
    for (const ExprPtr &a : e.args)
      if (a && !checkExpr(*a, soft))
        return false;
    for (const auto &kw : e.kwargs)
      if (!checkExpr(*kw.second, soft))
        return false;
    return true;
  }

  // ---- token stream -------------------------------------------------------
  const Token &cur() const { return toks[pos]; }
  const Token &look(size_t k = 1) const {
    return toks[std::min(pos + k, toks.size() - 1)];
  }
  void advance() {
    if (pos + 1 < toks.size())
      ++pos;
  }
  bool isName(llvm::StringRef n) const { return cur().kind == Tok::Name && cur().text == n; }
  bool isOp(llvm::StringRef op) const { return cur().kind == Tok::Op && cur().text == op; }
  bool skipName(llvm::StringRef n) {
    if (!isName(n))
      return false;
    advance();
    return true;
  }
  bool skipOp(llvm::StringRef op) {
    if (!isOp(op))
      return false;
    advance();
    return true;
  }

  static std::string describe(const Token &t) {
    switch (t.kind) {
    case Tok::Eof: return "end of template";
    case Tok::VarBegin: return "begin of print statement";
    case Tok::VarEnd: return "end of print statement";
    case Tok::BlockBegin: return "begin of statement block";
    case Tok::BlockEnd: return "end of statement block";
    case Tok::Data: return "template data";
    case Tok::String: return "string";
    case Tok::Int: return "integer";
    case Tok::Float: return "float";
    case Tok::Name:
    case Tok::Op: return "'" + t.text + "'";
    }
    return "token";
  }

  bool fail(size_t offset, std::string message) {
    if (error.message.empty()) {
      error.offset = offset;
      error.message = std::move(message);
    }
    return false;
  }
  std::nullptr_t failExpr(size_t offset, std::string message) {
    fail(offset, std::move(message));
    return nullptr;
  }
  bool expectOp(llvm::StringRef op) {
    if (skipOp(op))
      return true;
    return fail(cur().offset, "expected '" + op.str() + "', got " + describe(cur()));
  }
  bool expectKind(Tok kind, llvm::StringRef what) {
    if (cur().kind == kind) {
      advance();
      return true;
    }
    return fail(cur().offset, "expected " + what.str() + ", got " + describe(cur()));
  }
  bool expectBlockEnd() { return expectKind(Tok::BlockEnd, "end of statement block"); }

  // ---- statements ---------------------------------------------------------
  /// Template data, prints and tags until a block whose first name is one of
  /// `ends` (left as the current token) or the end of the template.
  bool subparse(StmtList &body, std::initializer_list<llvm::StringRef> ends) {
    if (++depth > kMaxNesting)
      return fail(cur().offset, "blocks nested more than " + std::to_string(kMaxNesting) +
                                    " deep");
    struct Leave {
      int &d;
      ~Leave() { --d; }
    } leave{depth};
    while (cur().kind != Tok::Eof) {
      const Token &t = cur();
      if (t.kind == Tok::Data) {
        auto s = std::make_unique<Stmt>(Stmt::Kind::Data, t.offset);
        s->text = t.text;
        body.push_back(std::move(s));
        advance();
      } else if (t.kind == Tok::VarBegin) {
        size_t at = t.offset;
        advance();
        ExprPtr e = parseTuple(false, true, {}, false);
        if (!e)
          return false;
        if (!expectKind(Tok::VarEnd, "end of print statement"))
          return false;
        auto s = std::make_unique<Stmt>(Stmt::Kind::Print, at);
        s->expr = std::move(e);
        body.push_back(std::move(s));
      } else if (t.kind == Tok::BlockBegin) {
        advance();
        if (cur().kind == Tok::Name)
          for (llvm::StringRef end : ends)
            if (cur().text == end)
              return true;
        StmtPtr s = parseStatement();
        if (!s)
          return false;
        if (!expectBlockEnd())
          return false;
        body.push_back(std::move(s));
      } else {
        return fail(t.offset, "unexpected " + describe(t));
      }
    }
    return true;
  }

  /// The body of a tag up to one of `ends`: the current token is then that
  /// end name, unless dropNeedle (then it is consumed).
  bool statements(StmtList &body, std::initializer_list<llvm::StringRef> ends, bool dropNeedle,
                  llvm::StringRef tag, size_t tagOffset) {
    skipOp(":");
    if (!expectBlockEnd())
      return false;
    if (!subparse(body, ends))
      return false;
    if (cur().kind == Tok::Eof) {
      std::string expected;
      for (llvm::StringRef e : ends)
        expected += (expected.empty() ? "'" : " or '") + e.str() + "'";
      size_t line = 0, column = 0;
      (void)line;
      (void)column;
      return fail(tagOffset, "unexpected end of template: the '" + tag.str() +
                                 "' tag here is never closed (expected " + expected + ")");
    }
    if (dropNeedle)
      advance();
    return true;
  }

  StmtPtr parseStatement() {
    const Token &t = cur();
    if (t.kind != Tok::Name) {
      fail(t.offset, "tag name expected");
      return nullptr;
    }
    std::string tag = t.text;
    size_t at = t.offset;
    if (tag == "if")
      return parseIf();
    if (tag == "for")
      return parseFor();
    if (tag == "set")
      return parseSet();
    if (tag == "macro")
      return parseMacro();
    if (tag == "filter")
      return parseFilterBlock();
    if (tag == "with")
      return parseWith();
    if (tag == "print") {
      advance();
      auto s = std::make_unique<Stmt>(Stmt::Kind::Print, at);
      s->expr = parseTuple(false, true, {}, false);
      return s->expr ? std::move(s) : nullptr;
    }
    if (tag == "break" || tag == "continue") {
      if (!loopDepth) {
        fail(at, "'" + tag + "' outside of a for loop");
        return nullptr;
      }
      advance();
      return std::make_unique<Stmt>(tag == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue, at);
    }
    if (tag == "generation") {
      advance();
      auto s = std::make_unique<Stmt>(Stmt::Kind::Generation, at);
      if (!statements(s->body, {"endgeneration"}, true, tag, at))
        return nullptr;
      return s;
    }
    if (tag == "block" || tag == "extends" || tag == "include" || tag == "import" ||
        tag == "from" || tag == "call" || tag == "autoescape" || tag == "do") {
      fail(at, "tag '" + tag + "' is not supported");
      return nullptr;
    }
    fail(at, "unknown tag '" + tag + "'");
    return nullptr;
  }

  StmtPtr parseIf() {
    size_t at = cur().offset;
    advance();
    auto result = std::make_unique<Stmt>(Stmt::Kind::If, at);
    Stmt *node = result.get();
    while (true) {
      node->expr = parseTuple(false, false, {}, false);
      if (!node->expr)
        return nullptr;
      if (!statements(node->body, {"elif", "else", "endif"}, false, "if", at))
        return nullptr;
      std::string which = cur().text;
      size_t whichAt = cur().offset;
      advance();
      if (which == "elif") {
        auto elif = std::make_unique<Stmt>(Stmt::Kind::If, whichAt);
        Stmt *next = elif.get();
        node->orelse.push_back(std::move(elif));
        node = next;
        continue;
      }
      if (which == "else" && !statements(node->orelse, {"endif"}, true, "if", at))
        return nullptr;
      break;
    }
    return result;
  }

  StmtPtr parseFor() {
    size_t at = cur().offset;
    advance();
    auto s = std::make_unique<Stmt>(Stmt::Kind::For, at);
    s->target = parseAssignTarget({"in"}, false);
    if (!s->target)
      return nullptr;
    if (!skipName("in")) {
      fail(cur().offset, "expected 'in', got " + describe(cur()));
      return nullptr;
    }
    s->expr = parseTuple(false, false, {"recursive"}, false);
    if (!s->expr)
      return nullptr;
    if (skipName("if")) {
      s->cond = parseExpression(true);
      if (!s->cond)
        return nullptr;
    }
    if (isName("recursive")) {
      fail(cur().offset, "recursive for loops are not supported");
      return nullptr;
    }
    ++loopDepth;
    bool ok = statements(s->body, {"endfor", "else"}, false, "for", at);
    --loopDepth;
    if (!ok)
      return nullptr;
    std::string which = cur().text;
    advance();
    if (which == "else" && !statements(s->orelse, {"endfor"}, true, "for", at))
      return nullptr;
    return s;
  }

  StmtPtr parseSet() {
    size_t at = cur().offset;
    advance();
    ExprPtr target = parseAssignTarget({}, true);
    if (!target)
      return nullptr;
    if (skipOp("=")) {
      auto s = std::make_unique<Stmt>(Stmt::Kind::Set, at);
      s->target = std::move(target);
      s->expr = parseTuple(false, true, {}, false);
      return s->expr ? std::move(s) : nullptr;
    }
    auto s = std::make_unique<Stmt>(Stmt::Kind::SetBlock, at);
    s->target = std::move(target);
    if (isOp("|")) {
      s->expr = parseFilterChain(nullptr);
      if (!s->expr)
        return nullptr;
    }
    int saved = loopDepth;
    loopDepth = 0;
    bool ok = statements(s->body, {"endset"}, true, "set", at);
    loopDepth = saved;
    return ok ? std::move(s) : nullptr;
  }

  StmtPtr parseMacro() {
    size_t at = cur().offset;
    advance();
    auto s = std::make_unique<Stmt>(Stmt::Kind::Macro, at);
    if (cur().kind != Tok::Name) {
      fail(cur().offset, "expected a macro name, got " + describe(cur()));
      return nullptr;
    }
    s->name = cur().text;
    advance();
    if (!expectOp("("))
      return nullptr;
    while (!isOp(")")) {
      if (!s->params.empty() && !expectOp(","))
        return nullptr;
      if (isOp(")"))
        break;
      if (cur().kind != Tok::Name) {
        fail(cur().offset, "expected a parameter name, got " + describe(cur()));
        return nullptr;
      }
      s->params.push_back(cur().text);
      advance();
      if (skipOp("=")) {
        ExprPtr d = parseExpression(true);
        if (!d)
          return nullptr;
        s->defaults.push_back(std::move(d));
      } else {
        if (!s->defaults.empty() && s->defaults.back()) {
          fail(cur().offset, "a parameter without a default follows one with a default");
          return nullptr;
        }
        s->defaults.push_back(nullptr);
      }
    }
    advance();
    int savedLoop = loopDepth;
    loopDepth = 0;
    std::vector<std::string> savedNames;
    std::swap(savedNames, namesSeen);
    bool ok = statements(s->body, {"endmacro"}, true, "macro", at);
    loopDepth = savedLoop;
    for (const std::string &n : namesSeen) {
      s->usesVarargs |= n == "varargs";
      s->usesKwargs |= n == "kwargs";
    }
    namesSeen.insert(namesSeen.end(), savedNames.begin(), savedNames.end());
    return ok ? std::move(s) : nullptr;
  }

  StmtPtr parseFilterBlock() {
    size_t at = cur().offset;
    advance();
    auto s = std::make_unique<Stmt>(Stmt::Kind::FilterBlock, at);
    s->expr = parseFilterChain(nullptr, /*startInline=*/true);
    if (!s->expr)
      return nullptr;
    if (!statements(s->body, {"endfilter"}, true, "filter", at))
      return nullptr;
    return s;
  }

  StmtPtr parseWith() {
    size_t at = cur().offset;
    advance();
    auto s = std::make_unique<Stmt>(Stmt::Kind::With, at);
    while (cur().kind != Tok::BlockEnd) {
      if (!s->targets.empty() && !expectOp(","))
        return nullptr;
      ExprPtr t = parseAssignTarget({}, false);
      if (!t || !expectOp("="))
        return nullptr;
      ExprPtr v = parseExpression(true);
      if (!v)
        return nullptr;
      s->targets.push_back(std::move(t));
      s->values.push_back(std::move(v));
    }
    if (!statements(s->body, {"endwith"}, true, "with", at))
      return nullptr;
    return s;
  }

  /// A name, a tuple of names, or (in set) ns.attr.
  ExprPtr parseAssignTarget(std::initializer_list<llvm::StringRef> extraEnds, bool withNamespace) {
    size_t at = cur().offset;
    std::vector<ExprPtr> items;
    bool isTuple = false;
    while (true) {
      if (!items.empty() && !expectOp(","))
        return nullptr;
      if (isTupleEnd(extraEnds))
        break;
      if (cur().kind != Tok::Name || isName("true") || isName("false") || isName("True") ||
          isName("False") || isName("none") || isName("None")) {
        return failExpr(cur().offset, "can't assign to " + describe(cur()));
      }
      std::string n = cur().text;
      size_t nameAt = cur().offset;
      advance();
      if (withNamespace && isOp(".")) {
        advance();
        if (cur().kind != Tok::Name)
          return failExpr(cur().offset, "expected an attribute name, got " + describe(cur()));
        auto e = std::make_unique<Expr>(Expr::Kind::NSRef, nameAt);
        e->name = n;
        e->attr = cur().text;
        advance();
        items.push_back(std::move(e));
      } else {
        auto e = std::make_unique<Expr>(Expr::Kind::Name, nameAt);
        e->name = n;
        items.push_back(std::move(e));
      }
      if (isOp(","))
        isTuple = true;
      else
        break;
    }
    if (items.empty())
      return failExpr(at, "expected an assignment target, got " + describe(cur()));
    if (!isTuple)
      return std::move(items[0]);
    auto t = std::make_unique<Expr>(Expr::Kind::Tuple, at);
    t->args = std::move(items);
    return t;
  }

  // ---- expressions --------------------------------------------------------
  bool isTupleEnd(std::initializer_list<llvm::StringRef> extraEnds) const {
    if (cur().kind == Tok::VarEnd || cur().kind == Tok::BlockEnd || cur().kind == Tok::Eof ||
        isOp(")"))
      return true;
    for (llvm::StringRef e : extraEnds)
      if (isName(e))
        return true;
    return false;
  }

  ExprPtr parseTuple(bool simplified, bool withCondexpr,
                     std::initializer_list<llvm::StringRef> extraEnds, bool explicitParens) {
    size_t at = cur().offset;
    std::vector<ExprPtr> args;
    bool isTuple = false;
    while (true) {
      if (!args.empty() && !expectOp(","))
        return nullptr;
      if (isTupleEnd(extraEnds))
        break;
      ExprPtr e = simplified ? parsePrimary() : parseExpression(withCondexpr);
      if (!e)
        return nullptr;
      args.push_back(std::move(e));
      if (isOp(","))
        isTuple = true;
      else
        break;
    }
    if (!isTuple) {
      if (!args.empty())
        return std::move(args[0]);
      if (!explicitParens)
        return failExpr(cur().offset, "expected an expression, got " + describe(cur()));
    }
    auto t = std::make_unique<Expr>(Expr::Kind::Tuple, at);
    t->args = std::move(args);
    return t;
  }

  ExprPtr parseExpression(bool withCondexpr) {
    if (++depth > kMaxNesting) {
      --depth;
      return failExpr(cur().offset, "expression nested more than " +
                                        std::to_string(kMaxNesting) + " deep");
    }
    ExprPtr e = withCondexpr ? parseCondexpr() : parseOr();
    --depth;
    return e;
  }

  ExprPtr parseCondexpr() {
    size_t at = cur().offset;
    ExprPtr expr1 = parseOr();
    if (!expr1)
      return nullptr;
    while (skipName("if")) {
      ExprPtr expr2 = parseOr();
      if (!expr2)
        return nullptr;
      ExprPtr expr3;
      if (skipName("else")) {
        expr3 = parseExpression(true);
        if (!expr3)
          return nullptr;
      }
      auto c = std::make_unique<Expr>(Expr::Kind::CondExpr, at);
      c->args.push_back(std::move(expr2));
      c->args.push_back(std::move(expr1));
      c->args.push_back(std::move(expr3));
      expr1 = std::move(c);
      at = cur().offset;
    }
    return expr1;
  }

  ExprPtr binary(Expr::Kind kind, size_t at, ExprPtr l, ExprPtr r, std::string op = "") {
    auto e = std::make_unique<Expr>(kind, at);
    e->name = std::move(op);
    e->args.push_back(std::move(l));
    e->args.push_back(std::move(r));
    return e;
  }

  /// One left-associative level: operands from `operand`, joined while
  /// the current token is one of `ops` (names for or/and, else operators,
  /// which the node keeps).
  template <typename Operand>
  ExprPtr leftAssoc(Operand operand, std::initializer_list<llvm::StringRef> ops, bool names,
                    Expr::Kind kind) {
    ExprPtr left = operand();
    auto atOp = [&] {
      return llvm::any_of(ops, [&](llvm::StringRef o) { return names ? isName(o) : isOp(o); });
    };
    while (left && atOp()) {
      std::string op = names ? "" : cur().text;
      size_t at = cur().offset;
      advance();
      ExprPtr right = operand();
      if (!right)
        return nullptr;
      left = binary(kind, at, std::move(left), std::move(right), op);
    }
    return left;
  }

  ExprPtr parseOr() {
    return leftAssoc([&] { return parseAnd(); }, {"or"}, true, Expr::Kind::Or);
  }

  ExprPtr parseAnd() {
    return leftAssoc([&] { return parseNot(); }, {"and"}, true, Expr::Kind::And);
  }


  ExprPtr parseNot() {
    if (isName("not")) {
      size_t at = cur().offset;
      advance();
      if (++depth > kMaxNesting)
        return failExpr(at, "expression nested too deeply");
      ExprPtr inner = parseNot();
      --depth;
      if (!inner)
        return nullptr;
      auto e = std::make_unique<Expr>(Expr::Kind::Not, at);
      e->args.push_back(std::move(inner));
      return e;
    }
    return parseCompare();
  }

  ExprPtr parseCompare() {
    size_t at = cur().offset;
    ExprPtr expr = parseMath1();
    if (!expr)
      return nullptr;
    std::unique_ptr<Expr> cmp;
    while (true) {
      std::string op;
      if (cur().kind == Tok::Op && (cur().text == "==" || cur().text == "!=" ||
                                    cur().text == "<" || cur().text == "<=" ||
                                    cur().text == ">" || cur().text == ">=")) {
        op = cur().text;
        advance();
      } else if (isName("in")) {
        op = "in";
        advance();
      } else if (isName("not") && look().kind == Tok::Name && look().text == "in") {
        op = "notin";
        advance();
        advance();
      } else {
        break;
      }
      ExprPtr rhs = parseMath1();
      if (!rhs)
        return nullptr;
      if (!cmp) {
        cmp = std::make_unique<Expr>(Expr::Kind::Compare, at);
        cmp->args.push_back(std::move(expr));
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(std::move(rhs));
    }
    return cmp ? std::move(cmp) : std::move(expr);
  }

  ExprPtr parseMath1() {
    return leftAssoc([&] { return parseConcat(); }, {"+", "-"}, false, Expr::Kind::BinOp);
  }

  ExprPtr parseConcat() {
    size_t at = cur().offset;
    ExprPtr first = parseMath2();
    if (!first || !isOp("~"))
      return first;
    auto c = std::make_unique<Expr>(Expr::Kind::Concat, at);
    c->args.push_back(std::move(first));
    while (skipOp("~")) {
      ExprPtr next = parseMath2();
      if (!next)
        return nullptr;
      c->args.push_back(std::move(next));
    }
    return c;
  }

  ExprPtr parseMath2() {
    return leftAssoc([&] { return parsePow(); }, {"*", "/", "//", "%"}, false, Expr::Kind::BinOp);
  }

  ExprPtr parsePow() {
    return leftAssoc([&] { return parseUnary(true); }, {"**"}, false, Expr::Kind::BinOp);
  }

  ExprPtr parseUnary(bool withFilter) {
    size_t at = cur().offset;
    ExprPtr node;
    if (isOp("-") || isOp("+")) {
      Expr::Kind kind = isOp("-") ? Expr::Kind::Neg : Expr::Kind::Pos;
      advance();
      if (++depth > kMaxNesting)
        return failExpr(at, "expression nested too deeply");
      ExprPtr inner = parseUnary(false);
      --depth;
      if (!inner)
        return nullptr;
      node = std::make_unique<Expr>(kind, at);
      node->args.push_back(std::move(inner));
    } else {
      node = parsePrimary();
    }
    if (!node)
      return nullptr;
    node = parsePostfix(std::move(node));
    if (node && withFilter)
      node = parseFilterExpr(std::move(node));
    return node;
  }

  ExprPtr parsePrimary() {
    const Token &t = cur();
    size_t at = t.offset;
    if (t.kind == Tok::Name) {
      std::string n = t.text;
      advance();
      auto e = std::make_unique<Expr>(Expr::Kind::Const, at);
      if (n == "true" || n == "True" || n == "false" || n == "False") {
        e->value = JinjaValue::boolean(n == "true" || n == "True");
      } else if (n == "none" || n == "None") {
        e->value = JinjaValue::none();
      } else {
        e->kind = Expr::Kind::Name;
        e->name = n;
        namesSeen.push_back(n);
      }
      return e;
    }
    if (t.kind == Tok::String) {
      std::string s;
      while (cur().kind == Tok::String) {
        s += cur().text;
        advance();
      }
      auto e = std::make_unique<Expr>(Expr::Kind::Const, at);
      e->value = JinjaValue::string(std::move(s));
      return e;
    }
    if (t.kind == Tok::Int || t.kind == Tok::Float) {
      auto e = std::make_unique<Expr>(Expr::Kind::Const, at);
      e->value = t.kind == Tok::Int ? JinjaValue::integer(t.intValue)
                                    : JinjaValue::number(t.floatValue);
      advance();
      return e;
    }
    if (isOp("(")) {
      advance();
      if (++depth > kMaxNesting)
        return failExpr(at, "expression nested too deeply");
      ExprPtr e = parseTuple(false, true, {}, true);
      --depth;
      if (!e || !expectOp(")"))
        return nullptr;
      return e;
    }
    if (isOp("["))
      return parseList();
    if (isOp("{"))
      return parseDict();
    return failExpr(at, "unexpected " + describe(t));
  }

  ExprPtr parseList() {
    size_t at = cur().offset;
    advance();
    auto e = std::make_unique<Expr>(Expr::Kind::List, at);
    while (!isOp("]")) {
      if (!e->args.empty() && !expectOp(","))
        return nullptr;
      if (isOp("]"))
        break;
      ExprPtr item = parseExpression(true);
      if (!item)
        return nullptr;
      e->args.push_back(std::move(item));
    }
    advance();
    return e;
  }

  ExprPtr parseDict() {
    size_t at = cur().offset;
    advance();
    auto e = std::make_unique<Expr>(Expr::Kind::Dict, at);
    while (!isOp("}")) {
      if (!e->args.empty() && !expectOp(","))
        return nullptr;
      if (isOp("}"))
        break;
      ExprPtr key = parseExpression(true);
      if (!key || !expectOp(":"))
        return nullptr;
      ExprPtr value = parseExpression(true);
      if (!value)
        return nullptr;
      e->args.push_back(std::move(key));
      e->args.push_back(std::move(value));
    }
    advance();
    return e;
  }

  ExprPtr parsePostfix(ExprPtr node) {
    while (node) {
      if (isOp(".") || isOp("["))
        node = parseSubscript(std::move(node));
      else if (isOp("("))
        node = parseCall(std::move(node));
      else
        break;
    }
    return node;
  }

  ExprPtr parseFilterExpr(ExprPtr node) {
    while (node) {
      if (isOp("|"))
        node = parseFilterChain(std::move(node));
      else if (isName("is"))
        node = parseTest(std::move(node));
      else if (isOp("("))
        node = parseCall(std::move(node));
      else
        break;
    }
    return node;
  }

  ExprPtr parseSubscript(ExprPtr node) {
    size_t at = cur().offset;
    if (skipOp(".")) {
      const Token &t = cur();
      if (t.kind == Tok::Name) {
        auto e = std::make_unique<Expr>(Expr::Kind::Getattr, at);
        e->name = t.text;
        e->args.push_back(std::move(node));
        advance();
        return e;
      }
      if (t.kind != Tok::Int)
        return failExpr(t.offset, "expected name or number after '.'");
      auto idx = std::make_unique<Expr>(Expr::Kind::Const, t.offset);
      idx->value = JinjaValue::integer(t.intValue);
      advance();
      auto e = std::make_unique<Expr>(Expr::Kind::Getitem, at);
      e->args.push_back(std::move(node));
      e->args.push_back(std::move(idx));
      return e;
    }
    advance(); // [
    std::vector<ExprPtr> args;
    while (!isOp("]")) {
      if (!args.empty() && !expectOp(","))
        return nullptr;
      ExprPtr a = parseSubscribed();
      if (!a)
        return nullptr;
      args.push_back(std::move(a));
    }
    advance();
    auto e = std::make_unique<Expr>(Expr::Kind::Getitem, at);
    e->args.push_back(std::move(node));
    if (args.size() == 1) {
      e->args.push_back(std::move(args[0]));
    } else {
      auto t = std::make_unique<Expr>(Expr::Kind::Tuple, at);
      t->args = std::move(args);
      e->args.push_back(std::move(t));
    }
    return e;
  }

  ExprPtr parseSubscribed() {
    size_t at = cur().offset;
    std::vector<ExprPtr> parts;
    if (isOp(":")) {
      advance();
      parts.push_back(nullptr);
    } else {
      ExprPtr node = parseExpression(true);
      if (!node)
        return nullptr;
      if (!isOp(":"))
        return node;
      advance();
      parts.push_back(std::move(node));
    }
    if (isOp(":")) {
      parts.push_back(nullptr);
    } else if (!isOp("]") && !isOp(",")) {
      ExprPtr stop = parseExpression(true);
      if (!stop)
        return nullptr;
      parts.push_back(std::move(stop));
    } else {
      parts.push_back(nullptr);
    }
    if (isOp(":")) {
      advance();
      if (!isOp("]") && !isOp(",")) {
        ExprPtr step = parseExpression(true);
        if (!step)
          return nullptr;
        parts.push_back(std::move(step));
      } else {
        parts.push_back(nullptr);
      }
    } else {
      parts.push_back(nullptr);
    }
    auto s = std::make_unique<Expr>(Expr::Kind::Slice, at);
    s->args = std::move(parts);
    return s;
  }

  /// `(args, name=value)` into e->args (after what is already there) and
  /// e->kwargs.
  bool parseCallArgs(Expr &e) {
    size_t at = cur().offset;
    if (!expectOp("("))
      return false;
    bool requireComma = false;
    while (!isOp(")")) {
      if (requireComma) {
        if (!expectOp(","))
          return false;
        if (isOp(")"))
          break;
      }
      if (isOp("*") || isOp("**"))
        return fail(cur().offset, "*args and **kwargs in calls are not supported");
      if (cur().kind == Tok::Name && look().kind == Tok::Op && look().text == "=") {
        std::string key = cur().text;
        advance();
        advance();
        ExprPtr v = parseExpression(true);
        if (!v)
          return false;
        e.kwargs.emplace_back(key, std::move(v));
      } else {
        if (!e.kwargs.empty())
          return fail(at, "invalid syntax for function call expression (a positional "
                          "argument after a keyword argument)");
        ExprPtr v = parseExpression(true);
        if (!v)
          return false;
        e.args.push_back(std::move(v));
      }
      requireComma = true;
    }
    advance();
    return true;
  }

  ExprPtr parseCall(ExprPtr node) {
    auto e = std::make_unique<Expr>(Expr::Kind::Call, cur().offset);
    e->args.push_back(std::move(node));
    if (!parseCallArgs(*e))
      return nullptr;
    return e;
  }

  ExprPtr parseFilterChain(ExprPtr node, bool startInline = false) {
    while (isOp("|") || startInline) {
      if (!startInline)
        advance();
      startInline = false;
      if (cur().kind != Tok::Name)
        return failExpr(cur().offset, "expected a filter name, got " + describe(cur()));
      size_t at = cur().offset;
      std::string name = cur().text;
      advance();
      while (isOp(".")) {
        advance();
        if (cur().kind != Tok::Name)
          return failExpr(cur().offset, "expected a name, got " + describe(cur()));
        name += "." + cur().text;
        advance();
      }
      auto e = std::make_unique<Expr>(Expr::Kind::Filter, at);
      e->name = name;
      e->args.push_back(std::move(node));
      if (isOp("(") && !parseCallArgs(*e))
        return nullptr;
      node = std::move(e);
    }
    return node;
  }

  ExprPtr parseTest(ExprPtr node) {
    size_t at = cur().offset;
    advance(); // is
    bool negated = skipName("not");
    if (cur().kind != Tok::Name)
      return failExpr(cur().offset, "expected a test name, got " + describe(cur()));
    size_t nameAt = cur().offset;
    std::string name = cur().text;
    advance();
    while (isOp(".")) {
      advance();
      if (cur().kind != Tok::Name)
        return failExpr(cur().offset, "expected a name, got " + describe(cur()));
      name += "." + cur().text;
      advance();
    }
    (void)nameAt;
    auto e = std::make_unique<Expr>(Expr::Kind::Test, nameAt);
    e->name = name;
    e->args.push_back(std::move(node));
    if (isOp("(")) {
      if (!parseCallArgs(*e))
        return nullptr;
    } else if ((cur().kind == Tok::Name || cur().kind == Tok::String || cur().kind == Tok::Int ||
                cur().kind == Tok::Float || isOp("(") || isOp("[") || isOp("{")) &&
               !isName("else") && !isName("or") && !isName("and")) {
      if (isName("is"))
        return failExpr(cur().offset, "you cannot chain multiple tests with is");
      ExprPtr arg = parsePrimary();
      if (!arg)
        return nullptr;
      arg = parsePostfix(std::move(arg));
      if (!arg)
        return nullptr;
      e->args.push_back(std::move(arg));
    }
    if (!negated)
      return e;
    auto n = std::make_unique<Expr>(Expr::Kind::Not, at);
    n->args.push_back(std::move(e));
    return n;
  }

  const std::vector<Token> &toks;
  SourceError &error;
  size_t pos = 0;
  int depth = 0;
  int loopDepth = 0;
  std::vector<std::string> namesSeen;
};

} // namespace

bool jinja::parseTemplate(const std::vector<Token> &tokens, StmtList &body, SourceError &error) {
  return Parser(tokens, error).parse(body);
}
