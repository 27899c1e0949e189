"""Bad input gets a 4xx with OpenAI's error object naming the field, and
leaves the server as it was: every slot free, the next request served."""
import json
import socket
import time

import pytest

GOOD = {"prompt": "hello", "max_tokens": 2, "temperature": 0}
CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}

# (path, body, status, param, words in the message)
CASES = [
    ("/v1/completions", "{not json", 400, None, "not valid JSON"),
    ("/v1/completions", "[1, 2]", 400, None, "must be a JSON object"),
    ("/v1/completions", {"max_tokens": 2}, 400, "prompt", "'prompt' is required"),
    ("/v1/completions", {**GOOD, "prompt": 5}, 400, "prompt", "a string or an array"),
    ("/v1/completions", {**GOOD, "prompt": []}, 400, "prompt", "empty array"),
    ("/v1/completions", {**GOOD, "prompt": ["a", "b"]}, 400, "prompt", "several strings"),
    ("/v1/completions", {**GOOD, "prompt": [1, 512]}, 400, "prompt", "outside the vocabulary"),
    ("/v1/completions", {**GOOD, "prompt": [1, -1]}, 400, "prompt", "outside the vocabulary"),
    ("/v1/completions", {**GOOD, "prompt": [1, 2.5]}, 400, "prompt", "must be a token id"),
    ("/v1/completions", {**GOOD, "prompt": [18446744073709551615]}, 400, "prompt",
     "outside the vocabulary"),
    ("/v1/completions", {**GOOD, "model": "gpt-4"}, 404, "model", "does not exist"),
    ("/v1/completions", {**GOOD, "model": 3}, 400, "model", "must be a string"),
    ("/v1/completions", {**GOOD, "max_tokens": 0}, 400, "max_tokens", "must be in [1, 2048]"),
    ("/v1/completions", {**GOOD, "max_tokens": "8"}, 400, "max_tokens", "an integer, not a string"),
    ("/v1/completions", {**GOOD, "max_tokens": 1e9}, 400, "max_tokens", "an integer, not a float"),
    ("/v1/completions", {**GOOD, "temperature": 3}, 400, "temperature", "[0, 2]"),
    ("/v1/completions", {**GOOD, "temperature": "hot"}, 400, "temperature", "a number"),
    ("/v1/completions", {**GOOD, "top_p": 0}, 400, "top_p", "(0, 1]"),
    ("/v1/completions", {**GOOD, "top_k": -1}, 400, "top_k", "[0,"),
    ("/v1/completions", {**GOOD, "min_p": 1.5}, 400, "min_p", "[0, 1]"),
    ("/v1/completions", {**GOOD, "repeat_penalty": 0}, 400, "repeat_penalty", "(0, 100]"),
    ("/v1/completions", {**GOOD, "seed": -4}, 400, "seed", "[0,"),
    ("/v1/completions", {**GOOD, "n": 2}, 400, "n", "[1, 1]"),
    ("/v1/completions", {**GOOD, "presence_penalty": 0.5}, 400, "presence_penalty",
     "not supported"),
    ("/v1/completions", {**GOOD, "logprobs": 3}, 400, "logprobs", "not supported"),
    ("/v1/completions", {**GOOD, "logit_bias": {"5": 1}}, 400, "logit_bias", "not supported"),
    ("/v1/completions", {**GOOD, "stream": "yes"}, 400, "stream", "a boolean"),
    ("/v1/completions", {**GOOD, "stop": ""}, 400, "stop", "empty string"),
    ("/v1/completions", {**GOOD, "stop": [1]}, 400, "stop[0]", "a string"),
    ("/v1/completions", {**GOOD, "stop": ["x"] * 17}, 400, "stop", "at most 16"),
    ("/v1/completions", {**GOOD, "stop": "x" * 2000}, 400, "stop", "longer than 1024"),
    ("/v1/completions", {**GOOD, "prompt": "x " * 3000}, 400, "prompt", "--max-context"),
    ("/v1/completions", {**GOOD, "stream_options": []}, 400, "stream_options", "an object"),
    ("/v1/chat/completions", {"max_tokens": 2}, 400, "messages", "'messages' is required"),
    ("/v1/chat/completions", {"messages": []}, 400, "messages", "is empty"),
    ("/v1/chat/completions", {"messages": ["hi"]}, 400, "messages[0]", "an object"),
    ("/v1/chat/completions", {"messages": [{"content": "hi"}]}, 400, "messages[0].role",
     "must be a string"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": 5}]}, 400,
     "messages[0].content", "a string, an array of parts or null"),
    ("/v1/chat/completions", {**CHAT, "tools": {}}, 400, "tools", "an array"),
    ("/v1/chat/completions", {**CHAT, "tools": [{"type": "function"}]}, 400,
     "tools[0].function.name", "must be a string"),
    ("/v1/chat/completions", {**CHAT, "tool_choice": {"type": "function"}}, 400, "tool_choice",
     "not supported"),
    ("/v1/chat/completions", {**CHAT, "tool_choice": "required"}, 400, "tool_choice",
     "not supported"),
    ("/v1/chat/completions", {**CHAT, "chat_template_name": "rag"}, 400, "chat_template_name",
     "no chat template named 'rag'"),
    ("/tokenize", {"content": 5}, 400, "content", "a string"),
    ("/tokenize", {}, 400, "content", "required"),
    ("/detokenize", {"tokens": [1, 9999]}, 400, "tokens", "outside the vocabulary"),
    ("/detokenize", {"tokens": "abc"}, 400, "tokens", "an array"),
    ("/slots/0?action=fly", {}, 400, "action", "save, restore or erase"),
    ("/slots/99?action=erase", {}, 404, "id_slot", "no slot 99"),
]


@pytest.mark.parametrize("path,body,status,param,words", CASES,
                         ids=[f"{c[0]}:{c[3]}:{i}" for i, c in enumerate(CASES)])
def test_refused_by_name(server, path, body, status, param, words):
    got, out = server.post(path, body)
    assert got == status, out
    err = out["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["param"] == param
    assert words in err["message"], err["message"]
    assert err["type"] == "invalid_request_error"


def test_unknown_endpoint_and_method(server):
    status, out = server.request("GET", "/v1/nothing")
    assert status == 404 and "no such endpoint" in out["error"]["message"]
    status, out = server.request("GET", "/v1/completions")
    assert status in (404, 405) and out["error"]["message"]


def test_server_is_intact_after_bad_input(server):
    assert server.slots_idle()
    status, out = server.post("/v1/completions", GOOD)
    assert status == 200 and out["choices"][0]["finish_reason"] in ("length", "stop")


def test_body_limit(start_server):
    s = start_server("--max-body", "1")
    status, out = s.post("/v1/completions", {**GOOD, "prompt": "a" * (2 << 20)})
    assert status == 413 and "too large" in out["error"]["message"]
    assert s.post("/v1/completions", GOOD)[0] == 200


def test_api_key(start_server):
    s = start_server("--api-key", "sekret")
    assert s.request("GET", "/health")[0] == 200  # probes need no key
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "sekret"}):
        status, out = s.post("/v1/completions", GOOD, headers=headers)
        assert status == 401 and out["error"]["type"] == "authentication_error"
        assert s.request("GET", "/metrics", headers=headers)[0] == 401
    status, out = s.post("/v1/completions", GOOD, headers={"Authorization": "Bearer sekret"})
    assert status == 200


def test_full_queue_is_503_then_served(start_server):
    """One slot and no queue: a second request while the first generates is
    refused with 503 at once; afterwards the server serves again."""
    s = start_server("--slots", "1", "--max-queue", "0", "--threads", "1")
    c = s.connection()
    c.request("POST", "/v1/completions",
              body=json.dumps({"prompt": "long", "max_tokens": 400, "ignore_eos": True,
                               "stream": True}))
    r = c.getresponse()
    r.readline()  # the first token arrived: the slot is taken
    status, out = s.post("/v1/completions", GOOD)
    assert status == 503 and out["error"]["code"] == "server_busy"
    c.close()
    assert s.slots_idle()
    assert s.post("/v1/completions", GOOD)[0] == 200
    _, metrics = s.request("GET", "/metrics")
    assert "hybridc_requests_rejected_total 1\n" in metrics


def test_client_gone_frees_its_slot(start_server):
    """A streaming client that disconnects stops its generation: the slot is
    free long before max_tokens would have ended it."""
    s = start_server("--slots", "2", "--threads", "1")
    sock = socket.create_connection((s.host, s.port))
    body = json.dumps({"prompt": "never ending", "max_tokens": 2000, "stream": True,
                       "ignore_eos": True}).encode()
    sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    got = b""
    while b"data: " not in got:
        chunk = sock.recv(4096)
        assert chunk, got
        got += chunk
    sock.close()
    assert s.slots_idle(within=20)
    _, metrics = s.request("GET", "/metrics")
    assert "hybridc_requests_cancelled_total 1\n" in metrics
    _, out = s.post("/v1/completions", {**GOOD, "return_tokens": True})
    assert len(out["choices"][0]["tokens"]) == 2


def test_bad_flags_are_refused(paths, model_dir):
    import subprocess
    for args, words in ((["--port", "70000"], "the port"), (["--slots", "0"], "the slot count"),
                        (["--max-context", "1"], "the context in tokens"),
                        (["--cache-ram", "-1"], "the prefix cache size"),
                        (["--cache-disk", "-1"], "the cache folder size"),
                        (["--max-queue", "-1"], "the queue length"),
                        (["--prefill-chunk", "0"], "the prefill chunk"),
                        (["--checkpoint-interval", "0"], "the checkpoint interval"),
                        (["--max-body", "0"], "the request body limit"),
                        (["--threads", "0"], "the thread count"),
                        (["--share-cache"], "--cache-dir")):
        r = subprocess.run([paths.hybridc, "serve", model_dir, *args], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode != 0 and words in r.stderr, (args, r.stderr)
    r = subprocess.run([paths.hybridc, "serve", "/nonexistent/folder", "--port", "0"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "/nonexistent/folder" in r.stderr


def test_port_in_use(start_server, paths, model_dir):
    import subprocess
    s = start_server()
    r = subprocess.run([paths.hybridc, "serve", model_dir, "--port", str(s.port)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and f"cannot listen on 127.0.0.1:{s.port}" in r.stderr
