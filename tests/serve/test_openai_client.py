"""OpenAI's official Node client (npm `openai`, pinned in openai-client/)
against the server: a streamed and a whole chat completion, a completion, a
tool-call round trip, an error and the model list, each checked against
what the server's own endpoints and Jinja2 say they must be."""
import json
import os
import shutil
import subprocess

from test_generation import render_with_jinja2

HERE = os.path.dirname(__file__)


def test_official_client(server, paths, model_dir, reference):
    modules = os.path.join(paths.npm_openai, "node_modules")
    assert os.path.isdir(os.path.join(modules, "openai")), \
        f"{modules}/openai is missing: bash .ci/setup.sh test installs it"
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "node is missing: bash .ci/setup.sh test installs it"
    r = subprocess.run([node, os.path.join(HERE, "openai-client", "client.mjs"), modules,
                        f"http://{server.host}:{server.port}/v1"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)

    assert out["streamed"]["text"] == out["whole"]["text"]
    assert out["streamed"]["finish"] == out["whole"]["finish"] == "length"
    assert out["streamed"]["usage"]["completion_tokens"] == 8
    say = [{"role": "user", "content": "Say something."}]
    assert out["whole"]["usage"]["prompt_tokens"] == len(
        reference.tokenize(render_with_jinja2(model_dir, say), add_special=False))

    assert out["completion"]["usage"]["prompt_tokens"] == len(
        reference.tokenize("Once upon a time", add_special=True))
    assert out["completion"]["usage"]["completion_tokens"] == 6

    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}}]
    answered = [{"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [{
                    "id": "call_0", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "call_0", "content": "{\"temperature\": 21}"}]
    for key, messages in (("asked", answered[:1]), ("answered", answered)):
        want = reference.tokenize(render_with_jinja2(model_dir, messages, tools), add_special=False)
        assert out["tools"][key] == len(want), key
    assert out["tools"]["message"]["role"] == "assistant"

    assert out["error"]["status"] == 404
    assert out["error"]["name"] == "NotFoundError"
    assert "does not exist" in out["error"]["message"]
    assert out["models"] == ["chat"]
