//===- JinjaSemanticsTest.cpp - each construct, against Jinja2's output ---===//
//
// Expected strings are what Python's Jinja2 3.1 prints in Hugging Face's
// environment (checked by hand with it); the oracle test covers the same
// ground at scale.
//
//===----------------------------------------------------------------------===//
#include "ChatTestUtil.h"

using hybridc::test::render;

TEST(JinjaSemantics, LiteralsPrintAsPython) {
  EXPECT_EQ(render("{{ true }} {{ False }} {{ none }} {{ None }}"), "True False None None");
  EXPECT_EQ(render("{{ 1 }} {{ 1.0 }} {{ 1e16 }} {{ 1e15 }} {{ 1.5e-5 }} {{ 0.1 + 0.2 }}"),
            "1 1.0 1e+16 1000000000000000.0 1.5e-05 0.30000000000000004");
  EXPECT_EQ(render("{{ [1, 'a', none, true, 2.5] }} {{ (1,) }} {{ {'k': 'v'} }}"),
            "[1, 'a', None, True, 2.5] (1,) {'k': 'v'}");
  EXPECT_EQ(render("{{ [\"it's\", 'say \"x\"', 'a\\nb'] }}"),
            "[\"it's\", 'say \"x\"', 'a\\nb']");
  EXPECT_EQ(render("{{ 'a' 'b' }} {{ 0x10 }} {{ 0b11 }} {{ 1_000 }} {{ '\\u00e9\\x41' }}"),
            "ab 16 3 1000 éA");
}

TEST(JinjaSemantics, Arithmetic) {
  EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 10 / 4 }} {{ 2 ** 3 ** 2 }}"),
            "3 -4 2 2.5 64");
  EXPECT_EQ(render("{{ 'ab' * 2 }} {{ [1] + [2] }} {{ 1 ~ 'x' ~ none }} {{ -1|abs }}"),
            "abab [1, 2] 1xNone 1");
  EXPECT_EQ(render("{{ 1 < 2 < 3 }} {{ 'a' in 'cat' }} {{ 3 not in [1] }} {{ 1 == 1.0 }}"),
            "True True True True");
  EXPECT_EQ(render("{{ 0 or 'x' }} {{ 1 and [] }} {{ not none }}"), "x [] True");
}

TEST(JinjaSemantics, UndefinedBehavesAsJinja2Default) {
  EXPECT_EQ(render("[{{ nope }}][{{ nope|length }}][{{ nope is defined }}][{{ nope ~ 'x' }}]"),
            "[][0][False][x]");
  EXPECT_EQ(render("{{ nope|default('d') }} {{ ''|default('e', true) }}"), "d e");
  EXPECT_EQ(render("{% for x in nope %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{{ {'a': 1}.b is defined }} {{ [1][5] is defined }} {{ none.x is defined }}"),
            "False False False");
  EXPECT_EQ(render("{{ nope == nope }} {{ nope != 1 }} {{ 1 in nope }}"), "True True False");
}

TEST(JinjaSemantics, AttributesAndItems) {
  const char *ctx = R"({"m": {"role": "user", "items": 3, "list": [1, 2, 3]}})";
  EXPECT_EQ(render("{{ m.role }} {{ m['role'] }} {{ m.list[-1] }} {{ m.list.1 }}", ctx),
            "user user 3 2");
  EXPECT_EQ(render("{{ m['items'] }} {{ m.items()|list|length }}", ctx), "3 3");
  EXPECT_EQ(render("{{ m.list[::-1] }} {{ m.list[1:] }} {{ 'héllo'[1:3] }} {{ 'abc'[::-1] }}", ctx),
            "[3, 2, 1] [2, 3] él cba");
}

TEST(JinjaSemantics, ForLoops) {
  EXPECT_EQ(render("{% for x in [1, 2, 3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}"
                   "{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};"
                   "{% endfor %}"),
            "1032TrueFalse3;2121FalseFalse3;3210FalseTrue3;");
  EXPECT_EQ(render("{% for x in 'ab' %}{{ loop.previtem }}|{{ loop.nextitem }};{% endfor %}"),
            "|b;a|;");
  EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }} {% endfor %}"),
            "a=1 b=2 ");
  EXPECT_EQ(render("{% for x in range(10) if x is odd %}{{ x }}{{ loop.length }} {% endfor %}"),
            "15 35 55 75 95 ");
  EXPECT_EQ(render("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}"
                   "{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
            "013");
  EXPECT_EQ(render("{% for x in [1, 2] %}{{ loop.cycle('a', 'b') }}{% endfor %}"), "ab");
}

TEST(JinjaSemantics, ScopesFollowJinja2) {
  // A set inside a loop body lasts one iteration and does not leak.
  EXPECT_EQ(render("{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + 1 %}{{ x }}"
                   "{% endfor %}{{ x }}"),
            "12121");
  EXPECT_EQ(render("{% if true %}{% set y = 3 %}{% endif %}{{ y }}"), "3");
  EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}"
                   "{% endfor %}{{ ns.n }} {{ ns }}"),
            "6 <Namespace {'n': 6}>");
  EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}"), "12");
  EXPECT_EQ(render("{% set t %}  x {{ 1 }}{% endset %}[{{ t }}]"), "[  x 1]");
  EXPECT_EQ(render("{% set t | upper %}abc{% endset %}{{ t }}"), "ABC");
  EXPECT_EQ(render("{% with a = 5 %}{{ a }}{% endwith %}[{{ a }}]"), "5[]");
}

TEST(JinjaSemantics, Macros) {
  EXPECT_EQ(render("{% macro m(a, b='B') %}{{ a }}{{ b }}{% endmacro %}{{ m(1) }}{{ m(1, 2) }}"
                   "{{ m(b=3, a=4) }}"),
            "1B1243");
  EXPECT_EQ(render("{% macro m() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, k=2) }}"),
            "(1,){'k': 2}");
  EXPECT_EQ(render("{% macro m() %}{{ later }}{% endmacro %}{% set later = 7 %}{{ m() }}"), "7");
  EXPECT_EQ(render("{% macro m(a) %}{{ a }}{% endmacro %}[{{ m() }}]"), "[]");
}

TEST(JinjaSemantics, IfElifElse) {
  const char *t = "{% if x == 1 %}one{% elif x == 2 %}two{% else %}other{% endif %}";
  EXPECT_EQ(render(t, R"({"x": 1})"), "one");
  EXPECT_EQ(render(t, R"({"x": 2})"), "two");
  EXPECT_EQ(render(t, R"({"x": 3})"), "other");
  EXPECT_EQ(render("{{ 'y' if x else 'n' }}[{{ 'y' if not x }}]", R"({"x": 1})"), "y[]");
}

TEST(JinjaSemantics, WhitespaceControl) {
  EXPECT_EQ(render("a  {%- if true -%}  b  {%- endif -%}  c"), "abc");
  EXPECT_EQ(render("{% if true %}\nx\n{% endif %}\ny"), "x\ny");            // trim_blocks
  EXPECT_EQ(render("  {% if true %}x{% endif %}\n  {{ 'v' }}"), "x  v");  // lstrip_blocks
  EXPECT_EQ(render("  {%+ if true %}x{% endif %}"), "  x");
  EXPECT_EQ(render("{% if true +%}\nx{% endif %}"), "\nx");
  EXPECT_EQ(render("a {# note #}\nb {#- x -#} c"), "a bc");
  EXPECT_EQ(render("{{- ' a ' -}}\n  b"), " a b");
  EXPECT_EQ(render("x\n"), "x");          // one trailing newline is dropped
  EXPECT_EQ(render("x\r\ny\r\n\n"), "x\ny\n");
  EXPECT_EQ(render("{% raw %}{{ x }}{% endraw %}"), "{{ x }}");
}

TEST(JinjaSemantics, Filters) {
  EXPECT_EQ(render("{{ '  a  '|trim }}|{{ 'xax'|trim('x') }}|{{ [1, 2]|join(', ') }}|"
                   "{{ 'héllo'|length }}|{{ [3, 1, 2]|sort }}|{{ 'ab'|upper }}"),
            "a|a|1, 2|5|[1, 2, 3]|AB");
  const char *ctx = R"({"m": [{"role": "user", "n": 2}, {"role": "tool", "n": 1}]})";
  EXPECT_EQ(render("{{ m|selectattr('role', 'equalto', 'user')|list|length }} "
                   "{{ m|rejectattr('role', 'eq', 'user')|map(attribute='role')|join }} "
                   "{{ m|map(attribute='n')|sum }} {{ m|sort(attribute='n')|first }}",
                   ctx),
            "1 tool 3 {'role': 'tool', 'n': 1}");
  EXPECT_EQ(render("{{ {'b': 1, 'a': 2}|dictsort }} {{ {'a': 1}|items|list }}"),
            "[('a', 2), ('b', 1)] [('a', 1)]");
  EXPECT_EQ(render("{{ [1, 1, 'A', 'a']|unique|list }} {{ [1, 2, 3]|reverse|list }} "
                   "{{ [1, 2, 3]|batch(2)|list }}"),
            "[1, 'A'] [3, 2, 1] [[1, 2], [3]]");
  EXPECT_EQ(render("{{ 'a\\nb'|indent(2) }}|{{ '<&>'|e }}|{{ 'they\\'re here'|title }}|"
                   "{{ 'x y z'|wordcount }}|{{ '3.7'|int }}|{{ '2'|float }}|{{ 2.5|round }}"),
            "a\n  b|&lt;&amp;&gt;|They're Here|3|3|2.0|2.0");
  EXPECT_EQ(render("{{ ['a', 'B']|map('upper')|list }} {{ [1, 2, 3]|select('odd')|list }} "
                   "{{ [4, 9]|max }} {{ ['b', 'A']|min }}"),
            "['A', 'B'] [1, 3] 9 A");
  // A generator is always true, even when empty (Jinja2 quirk kept).
  EXPECT_EQ(render("{{ 'yes' if ([]|select) else 'no' }}"), "yes");
}

TEST(JinjaSemantics, ToJsonIsHuggingFaces) {
  EXPECT_EQ(render("{{ {'b': [1, 2.0, none, true], 'a': 'é\"\\n\\u001f'}|tojson }}"),
            "{\"b\": [1, 2.0, null, true], \"a\": \"é\\\"\\n\\u001f\"}");
  EXPECT_EQ(render("{{ {'b': 1, 'a': [1]}|tojson(indent=2, sort_keys=true) }}"),
            "{\n  \"a\": [\n    1\n  ],\n  \"b\": 1\n}");
  EXPECT_EQ(render("{{ {'a': 1}|tojson(separators=(',', ':')) }} {{ 'é'|tojson(true) }}"),
            "{\"a\":1} \"\\u00e9\"");
}

TEST(JinjaSemantics, Tests) {
  EXPECT_EQ(render("{{ 'a' is string }}{{ 1 is number }}{{ true is number }}{{ 1 is integer }}"
                   "{{ 1.0 is float }}{{ {} is mapping }}{{ [] is iterable }}{{ 'a' is sequence }}"),
            "TrueTrueTrueTrueTrueTrueTrueTrue");
  EXPECT_EQ(render("{{ none is none }}{{ 1 is not none }}{{ 4 is even }}{{ 9 is divisibleby 3 }}"
                   "{{ 1 is eq 1 }}{{ 2 is gt 1 }}{{ 'x' is in 'xy' }}{{ true is true }}{{ 1 is true }}"),
            "TrueTrueTrueTrueTrueTrueTrueTrueFalse");
}

TEST(JinjaSemantics, StringAndDictMethods) {
  EXPECT_EQ(render("{{ ' a b '.strip() }}|{{ 'a,b'.split(',') }}|{{ 'a b  c'.split() }}|"
                   "{{ 'a.b.c'.rsplit('.', 1) }}|{{ 'abc'.startswith('a') }}|"
                   "{{ 'abc'.endswith(('x', 'c')) }}|{{ 'aXa'.replace('a', 'b') }}"),
            "a b|['a', 'b']|['a', 'b', 'c']|['a.b', 'c']|True|True|bXb");
  EXPECT_EQ(render("{{ '{} {x}'.format(1, x=2) }}|{{ '-'.join(['a', 'b']) }}|{{ 'hello'.find('l') }}|"
                   "{{ 'hello'.count('l') }}|{{ '\\n\\nx\\n'.lstrip('\\n') }}|{{ 'Ab'.lower() }}"),
            "1 2|a-b|2|2|x\n|ab");
  EXPECT_EQ(render("{{ {'a': 1}.get('a') }} {{ {'a': 1}.get('z', 0) }} {{ {'a': 1}.keys()|list }} "
                   "{{ {'a': 1}.values()|list }}"),
            "1 0 ['a'] [1]");
}

TEST(JinjaSemantics, GlobalsAndHuggingFaceExtras) {
  EXPECT_EQ(render("{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ dict(a=1) }}"),
            "[0, 1, 2] [1, 3, 5] {'a': 1}");
  EXPECT_EQ(render("{% generation %}kept{% endgeneration %}"), "kept");
  EXPECT_EQ(render("{{ strftime_now('%Y')|length }}"), "4");
}
