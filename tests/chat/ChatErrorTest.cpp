//===- ChatErrorTest.cpp - every kind of bad template and bad input -------===//
//
// Errors are returned, never thrown or aborted on, and name the template,
// the line and the column.
//
//===----------------------------------------------------------------------===//
#include "ChatTestUtil.h"

using hybridc::test::render;
using namespace hybridc;

namespace {
void expectError(const std::string &source, const std::string &where, const std::string &what,
                 const std::string &context = "{}", const RenderLimits &limits = {}) {
  std::string out = render(source, context, limits);
  EXPECT_EQ(out.rfind("ERROR: chat template 'test': " + where + ": ", 0), 0u)
      << source << "\n  gave: " << out;
  EXPECT_NE(out.find(what), std::string::npos) << source << "\n  gave: " << out;
}
} // namespace

TEST(ChatErrors, SyntaxErrorsNameLineAndColumn) {
  expectError("{% if x %}\nno end", "line 1, column 4", "'if' tag here is never closed");
  expectError("{% for x in y %}", "line 1, column 4", "expected 'endfor' or 'else'");
  expectError("ok\n{{ x", "line 2, column 5", "expected end of print statement");
  expectError("{{ x | xmlattr }}", "line 1, column 8", "filter 'xmlattr' is not supported");
  expectError("a\n  {{ x|nosuchfilter }}", "line 2, column 8", "no filter named 'nosuchfilter'");
  expectError("{{ x is nosuchtest }}", "line 1, column 9", "no test named 'nosuchtest'");
  expectError("{% frobnicate %}", "line 1, column 4", "unknown tag 'frobnicate'");
  expectError("{% include 'x' %}", "line 1, column 4", "tag 'include' is not supported");
  expectError("{{ 1 + }}", "line 1, column 8", "unexpected end of print statement");
  expectError("{{ (1 }}", "line 1, column 7", "unexpected '}'");
  expectError("{{ 'abc }}", "line 1, column 4", "unterminated string");
  expectError("{# never closed", "line 1, column 1", "missing end of comment");
  expectError("{% endif %}", "line 1, column 4", "unknown tag 'endif'");
  expectError("{% break %}", "line 1, column 4", "'break' outside of a for loop");
  expectError("{{ a ! b }}", "line 1, column 6", "unexpected character '!'");
  expectError("{% for x in y recursive %}{% endfor %}", "line 1, column 15",
              "recursive for loops are not supported");
  expectError("{{ 99999999999999999999 }}", "line 1, column 4", "does not fit in 64 bits");
}

TEST(ChatErrors, RuntimeErrorsNameLineAndColumn) {
  expectError("\n{{ raise_exception('no system message') }}", "line 2, column 19",
              "no system message");
  expectError("{{ m.a.b }}", "line 1, column 7", "'dict object' has no attribute 'a'",
              R"({"m": {}})");
  expectError("{{ nope + 1 }}", "line 1, column 9", "'nope' is undefined");
  expectError("{{ 'a' + 1 }}", "line 1, column 8", "can only concatenate str (not \"int\") to str");
  expectError("{{ 'x'() }}", "line 1, column 7", "'str' object is not callable");
  expectError("{{ [1].append(2) }}", "line 1, column 14",
              "access to attribute 'append' of 'list' object is unsafe");
  expectError("{{ {}.pop('a') }}", "line 1, column 10", "unsafe");
  expectError("{% set x = 1 %}{% set x.a = 2 %}", "line 1, column 23",
              "cannot assign attribute on non-namespace object");
  expectError("{{ 1 / 0 }}", "line 1, column 6", "division by zero");
  expectError("{{ 'a' < 1 }}", "line 1, column 10", "'<' not supported");
  expectError("{{ nope|tojson }}", "line 1, column 9", "Undefined is not JSON serializable");
  expectError("{{ 'x'.zfill }}{{ 'x'.casefold() }}", "line 1, column 31",
              "method 'casefold' of str objects is not supported");
  expectError("{{ 'x' % 1 }}", "line 1, column 8", "% string formatting operator is not supported");
  expectError("{% for a, b in [[1, 2, 3]] %}{% endfor %}", "line 1, column 8",
              "too many values to unpack");
  expectError("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", "line 1, column 35",
              "takes not more than 1 argument");
}

TEST(ChatErrors, HostileTemplatesHitLimits) {
  RenderLimits small;
  small.maxIterations = 5000;
  expectError("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
              "line 1, column 32", "more than 5000 loop iterations", "{}", small);
  expectError("{{ range(1000000) }}", "line 1, column 9", "Range too big");
  expectError("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "line 1, column 21",
              "macro calls nested more than");
  expectError("{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(40) %}"
              "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
              "line 1, column 77", "grew past the render limit");
  expectError("{{ 'x' * 100000000000 }}", "line 1, column 8", "render limit");
  expectError("{{ " + std::string(500, '(') + "1" + std::string(500, ')') + " }}",
              "line 1, column 103", "nested too deeply");
  expectError("{{ " + std::string(500, '[') + std::string(500, ']') + " }}",
              "line 1, column 203", "nested more than 200 deep");
  std::string ifs;
  for (int i = 0; i < 300; ++i)
    ifs += "{% if true %}";
  expectError(ifs, "line 1, column 2594", "nested more than 200 deep");
  // A namespace holding itself is freed (no leak under LeakSanitizer).
  EXPECT_EQ(render("{% set ns = namespace() %}{% set ns.me = ns %}ok"), "ok");
}

TEST(ChatErrors, BadMessageLists) {
  auto check = [](const std::string &messages, const std::string &what) {
    llvm::Expected<jinja::JinjaValue> m = jinja::parseJson(messages, "messages.json");
    ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
    ChatInputs in;
    in.messages = *m;
    llvm::Expected<jinja::JinjaValue> ctx = buildChatContext(in);
    ASSERT_FALSE(bool(ctx)) << messages;
    std::string msg = llvm::toString(ctx.takeError());
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  };
  check(R"({"role": "user"})", "messages: expected a JSON array");
  check(R"(["hi"])", "messages[0]: expected an object");
  check(R"([{"content": "hi"}])", "messages[0]: no \"role\"");
  check(R"([{"role": "user", "content": "a"}, {"role": 3}])", "messages[1].role: expected a string");
  check(R"([{"role": "user", "content": 5}])", "messages[0].content: expected a string");

  ChatInputs in;
  in.messages = *jinja::parseJson("[]", "m");
  in.tools = *jinja::parseJson(R"([{"type": "function"}, 3])", "t");
  llvm::Expected<jinja::JinjaValue> ctx = buildChatContext(in);
  ASSERT_FALSE(bool(ctx));
  EXPECT_NE(llvm::toString(ctx.takeError()).find("tools[1]: expected an object"),
            std::string::npos);
}

TEST(ChatErrors, UnknownFiltersInsideIfFailOnlyWhenReached) {
  // Jinja2's compiler defers these checks inside if-blocks and inline ifs.
  EXPECT_EQ(render("{% if false %}{{ x|nosuch }}{{ x is nosuch }}{% endif %}ok"), "ok");
  EXPECT_EQ(render("{{ 'a' if true else x|xmlattr }}"), "a");
  expectError("{% if true %}{{ x|nosuch }}{% endif %}", "line 1, column 19",
              "no filter named 'nosuch'");
  // A loop inside the if is checked again when parsed.
  expectError("{% if false %}{% for y in [] %}{{ x|nosuch }}{% endfor %}{% endif %}",
              "line 1, column 37", "no filter named 'nosuch'");
}
