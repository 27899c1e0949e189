"""What the server generates, against the library driven directly (the
Reference in conftest.py: prefill, then one decode per token, greedy), and
chat prompts against Jinja2 rendering the same template."""
import concurrent.futures
import json
import os
import sys

from conftest import same_greedy

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "chat"))
from oracle import make_environment  # noqa: E402  (Jinja2 set up as Hugging Face does)

GREEDY = {"temperature": 0}


def completion(server, prompt, n, **extra):
    status, body = server.post("/v1/completions", {"prompt": prompt, "max_tokens": n,
                                                   "return_tokens": True, **GREEDY, **extra})
    assert status == 200, body
    return body


def test_health_and_models(server):
    assert server.request("GET", "/health") == (200, {"status": "ok"})
    status, body = server.request("GET", "/v1/models")
    assert status == 200
    assert [m["id"] for m in body["data"]] == ["chat"]
    assert body["data"][0]["meta"]["vocab_size"] == 512


def test_completion_is_the_librarys_greedy_decode(server, reference):
    prompt = "The quick brown fox jumps over the lazy dog"
    ids = reference.tokenize(prompt, add_special=True)
    body = completion(server, prompt, 24)
    choice = body["choices"][0]
    steps = reference.greedy(ids, 24)
    assert same_greedy(steps, choice["tokens"])
    assert body["usage"]["prompt_tokens"] == len(ids)
    assert body["usage"]["completion_tokens"] == len(choice["tokens"])
    if steps[len(choice["tokens"]) - 1][0] != reference.eos and len(choice["tokens"]) == 24:
        assert choice["finish_reason"] == "length"
    assert choice["text"] == reference.detokenize(choice["tokens"])


def test_token_prompt_equals_text_prompt(server, reference):
    ids = reference.tokenize("once upon a time", add_special=True)
    by_text = completion(server, "once upon a time", 12)
    by_ids = completion(server, ids, 12)
    assert by_ids["choices"][0]["tokens"] == by_text["choices"][0]["tokens"]


def test_stream_equals_whole(server):
    body = {"prompt": "streams of text", "max_tokens": 20, **GREEDY}
    whole = server.post("/v1/completions", body)[1]["choices"][0]
    events = server.stream("/v1/completions", {**body, "stream": True,
                                               "stream_options": {"include_usage": True}})
    text = "".join(e["choices"][0]["text"] for e in events if e["choices"])
    assert text == whole["text"]
    finals = [e["choices"][0]["finish_reason"] for e in events if e["choices"]]
    assert finals[-1] == whole["finish_reason"] and all(f is None for f in finals[:-1])
    usage = events[-1]["usage"]
    assert events[-1]["choices"] == [] and usage["completion_tokens"] <= 20


def test_concurrent_requests_batch_and_match(server, reference):
    """Six requests on four slots: each is its own greedy decode, though the
    engine ran them in batched decode steps."""
    prompts = [f"request number {i} asks something" for i in range(6)]
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        bodies = list(pool.map(lambda p: completion(server, p, 32), prompts))
    for p, b in zip(prompts, bodies):
        steps = reference.greedy(reference.tokenize(p, add_special=True), 32)
        assert same_greedy(steps, b["choices"][0]["tokens"]), p
    status, metrics = server.request("GET", "/metrics")
    values = dict(line.split(" ") for line in metrics.splitlines() if not line.startswith("#"))
    assert float(values["hybridc_decode_step_streams_total"]) > float(
        values["hybridc_decode_steps_total"])  # some steps advanced several streams


def test_stop_strings(server, reference):
    prompt = "stop here please"
    full = completion(server, prompt, 24)["choices"][0]["text"]
    assert len(full) > 4
    stop = full[2:4]
    cut = completion(server, prompt, 24, stop=[stop, "\u0000never"])["choices"][0]
    assert cut["text"] == full[:full.index(stop)]
    assert cut["finish_reason"] == "stop"
    streamed = server.stream("/v1/completions", {"prompt": prompt, "max_tokens": 24, "stop": stop,
                                                 "stream": True, **GREEDY})
    assert "".join(e["choices"][0]["text"] for e in streamed) == cut["text"]


def render_with_jinja2(model_dir, messages, tools=None):
    """The prompt Hugging Face's apply_chat_template makes from the
    template and special tokens the compiled library records."""
    with open(os.path.join(model_dir, "hybridc-model.json")) as f:
        d = json.load(f)["description"]
    template = d["chat_templates"][0]["text"]
    return make_environment().from_string(template).render(
        messages=messages, tools=tools, documents=None, add_generation_prompt=True,
        bos_token=d["bos_token"], eos_token=d["eos_token"])


def test_chat_prompt_is_jinja2s_render(server, reference, model_dir):
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather.",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "What is the weather in Paris? \u00e9"}]
    for with_tools in (False, True):
        body = {"messages": messages, "max_tokens": 16, "return_tokens": True, **GREEDY}
        if with_tools:
            body["tools"] = tools
        status, out = server.post("/v1/chat/completions", body)
        assert status == 200, out
        text = render_with_jinja2(model_dir, messages, tools if with_tools else None)
        ids = reference.tokenize(text, add_special=False)
        assert out["usage"]["prompt_tokens"] == len(ids)
        choice = out["choices"][0]
        assert choice["message"]["role"] == "assistant"
        assert same_greedy(reference.greedy(ids, 16), choice["tokens"])


def test_conversation_reuses_its_prefix(server, reference, model_dir):
    """Turn 2 carries turn 1's prompt and reply: the server starts it from a
    kept session (cached tokens), and its reply is what a fresh session fed
    the whole prompt gives."""
    messages = [{"role": "user", "content": "Tell me a long story about a cat " * 4}]
    status, first = server.post("/v1/chat/completions",
                                {"messages": messages, "max_tokens": 12, **GREEDY})
    assert status == 200
    messages += [{"role": "assistant", "content": first["choices"][0]["message"]["content"]},
                 {"role": "user", "content": "And then?"}]
    status, second = server.post("/v1/chat/completions", {"messages": messages, "max_tokens": 12,
                                                          "return_tokens": True, **GREEDY})
    assert status == 200
    cached = second["usage"]["prompt_tokens_details"]["cached_tokens"]
    assert cached >= first["usage"]["prompt_tokens"] - 1
    ids = reference.tokenize(render_with_jinja2(model_dir, messages), add_special=False)
    assert second["usage"]["prompt_tokens"] == len(ids)
    assert same_greedy(reference.greedy(ids, 12), second["choices"][0]["tokens"])


def test_sampling_is_seeded(server):
    body = {"prompt": "random words", "max_tokens": 16, "temperature": 1.0, "top_k": 40,
            "top_p": 0.9, "min_p": 0.01, "repeat_penalty": 1.1, "seed": 7, "return_tokens": True}
    a = server.post("/v1/completions", body)[1]["choices"][0]["tokens"]
    b = server.post("/v1/completions", body)[1]["choices"][0]["tokens"]
    c = server.post("/v1/completions", {**body, "seed": 8})[1]["choices"][0]["tokens"]
    assert a == b and a != c


def test_tokenize_detokenize(server, reference):
    text = "Hello world, <|end_of_text|> \u00e9"
    status, body = server.post("/tokenize", {"content": text})
    assert status == 200 and body["tokens"] == reference.tokenize(text, add_special=False)
    status, body2 = server.post("/tokenize", {"content": text, "add_special": True,
                                               "parse_special": False})
    assert body2["tokens"] == reference.tokenize(text, add_special=True, parse_special=False)
    status, back = server.post("/detokenize", {"tokens": body["tokens"]})
    assert status == 200 and back["content"] == reference.detokenize(body["tokens"])
