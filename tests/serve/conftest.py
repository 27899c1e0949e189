"""Fixtures of the server tests: a compiled test model with a chat template,
`hybridc serve` processes on 127.0.0.1 (each started on a free port and
stopped with SIGTERM, its exit checked), and a reference that drives the
same library through its C API with ctypes, one token at a time.

Paths come from ctest: --hybridc, --make-model, --template, --work,
--npm-openai (where .ci/setup.sh test installed OpenAI's Node client) and
--model-dir (the test model compiled once for every suite; without it the
session compiles its own)."""
import ctypes
import http.client
import json
import os
import signal
import subprocess
import threading
import time

import pytest


def pytest_addoption(parser):
    parser.addoption("--hybridc", required=True)
    parser.addoption("--make-model", required=True)
    parser.addoption("--template", required=True)
    parser.addoption("--work", required=True)
    parser.addoption("--npm-openai", default="")
    parser.addoption("--model-dir", default="")


@pytest.fixture(scope="session")
def paths(request):
    o = request.config.option
    os.makedirs(o.work, exist_ok=True)
    return o


@pytest.fixture(scope="session")
def model_dir(paths):
    """The tiny preset (vocab 512, f32) compiled as library 'chat' with the
    sample Granite-style chat template."""
    if paths.model_dir:
        return paths.model_dir
    src = os.path.join(paths.work, "model")
    out = os.path.join(paths.work, "out")
    subprocess.run([paths.make_model, "-o", src, "--preset", "tiny", "--seed", "1", "--untied"],
                   check=True, stdout=subprocess.DEVNULL, timeout=120)
    with open(paths.template, "rb") as f, open(os.path.join(src, "chat_template.jinja"), "wb") as g:
        g.write(f.read())
    subprocess.run([paths.hybridc, "compile", src, "-o", out, "--name", "chat", "--quiet"],
                   check=True, timeout=300)
    return out


class Client:
    """HTTP to one address: a server, or a load balancer in front of some."""

    def __init__(self, host, port):
        self.host, self.port = host, port

    def connection(self, timeout=60):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=60):
        """(status, parsed JSON or text) of one request on a new connection."""
        c = self.connection(timeout)
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        c.request(method, path, body=data, headers=headers or {})
        r = c.getresponse()
        raw = r.read().decode("utf-8")
        c.close()
        ctype = r.getheader("Content-Type", "")
        return r.status, (json.loads(raw) if ctype.startswith("application/json") else raw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def stream(self, path, body, timeout=60):
        """The data lines of a server-sent event stream, parsed, until [DONE]."""
        c = self.connection(timeout)
        c.request("POST", path, body=json.dumps(body))
        r = c.getresponse()
        assert r.status == 200, r.read()
        assert r.getheader("Content-Type").startswith("text/event-stream")
        events = []
        for line in r:
            line = line.decode("utf-8").rstrip("\n")
            if not line.startswith("data: "):
                assert line == "", line
                continue
            payload = line[len("data: "):]
            if payload == "[DONE]":
                break
            events.append(json.loads(payload))
        c.close()
        return events

    def slots_idle(self, within=20.0):
        """Waits until no slot is generating; True if that happened in time."""
        end = time.time() + within
        while time.time() < end:
            status, slots = self.request("GET", "/slots")
            assert status == 200
            if not any(s["is_processing"] for s in slots):
                return True
            time.sleep(0.05)
        return False


class Server(Client):
    """One `hybridc serve` process."""

    def __init__(self, hybridc, out_dir, *args):
        self.killed = False
        self.proc = subprocess.Popen([hybridc, "serve", out_dir, "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self._first_line(timeout=60)
        prefix = "hybridc serve: listening on http://"
        assert line.startswith(prefix), f"unexpected first line {line!r}: {self.proc.stderr.read()}"
        host, port = line[len(prefix):].strip().rsplit(":", 1)
        super().__init__(host, int(port))

    def _first_line(self, timeout):
        got = []
        reader = threading.Thread(target=lambda: got.append(self.proc.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        if not got:
            self.proc.kill()
            raise AssertionError("the server did not start listening in time")
        return got[0]

    def kill(self):
        """SIGKILL, as a crash would; stop() then checks nothing."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.killed = True

    def stop(self):
        """SIGTERM; the server must exit 0 within 30 s."""
        if self.killed:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("the server did not stop within 30 s of SIGTERM")
        err = self.proc.stderr.read()
        assert rc == 0, f"the server exited with {rc}: {err}"


@pytest.fixture
def start_server(paths, model_dir):
    started = []

    def start(*args, out_dir=None):
        s = Server(paths.hybridc, out_dir or model_dir, *args)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope="module")
def server(paths, model_dir):
    """A shared server: 4 slots, one thread each, a small checkpoint interval."""
    s = Server(paths.hybridc, model_dir, "--slots", "4", "--threads", "1",
               "--checkpoint-interval", "16", "--max-context", "2048")
    yield s
    s.stop()


class Reference:
    """The compiled library driven through its C API, as a C program would:
    one session, prefill then one decode per token, greedy."""

    def __init__(self, out_dir, name="chat"):
        lib = ctypes.CDLL(os.path.join(out_dir, f"lib{name}.so"))
        self.lib = lib
        self.name = name
        p = ctypes.c_void_p
        i32, i64 = ctypes.c_int32, ctypes.c_int64
        fn = lambda n: getattr(lib, f"{name}_{n}")
        fn("model_open").argtypes = [ctypes.c_char_p, ctypes.POINTER(p)]
        fn("session_create").argtypes = [p, ctypes.POINTER(p)]
        fn("session_free").argtypes = [p]
        fn("session_free").restype = None
        fn("prefill").argtypes = [p, ctypes.POINTER(i32), i64, ctypes.POINTER(ctypes.c_float), i32]
        fn("decode").argtypes = [p, i32, ctypes.POINTER(ctypes.c_float)]
        fn("tokenize").argtypes = [p, ctypes.c_char_p, i64, i32, ctypes.POINTER(i32), i64,
                                   ctypes.POINTER(i64)]
        fn("detokenize").argtypes = [p, ctypes.POINTER(i32), i64, ctypes.c_char_p, i64,
                                     ctypes.POINTER(i64)]
        fn("token_eos").argtypes = [p]
        fn("token_eos").restype = i32
        self.model = p()
        weights = os.path.join(out_dir, f"{name}.weights").encode()
        assert fn("model_open")(weights, ctypes.byref(self.model)) == 0
        with open(os.path.join(out_dir, "hybridc-model.json")) as f:
            self.vocab = json.load(f)["vocab_size"]
        self.eos = fn("token_eos")(self.model)
        self.fn = fn

    def tokenize(self, text, add_special, parse_special=True):
        data = text.encode("utf-8")
        ids = (ctypes.c_int32 * (len(data) + 8))()
        n = ctypes.c_int64()
        flags = (1 if add_special else 0) | (2 if parse_special else 0)
        assert self.fn("tokenize")(self.model, data, len(data), flags, ids, len(ids),
                                   ctypes.byref(n)) == 0
        return list(ids[:n.value])

    def detokenize(self, ids):
        arr = (ctypes.c_int32 * max(1, len(ids)))(*ids)
        buf = ctypes.create_string_buffer(64 * len(ids) + 64)
        n = ctypes.c_int64()
        assert self.fn("detokenize")(self.model, arr, len(ids), buf, len(buf), ctypes.byref(n)) == 0
        return buf.raw[:n.value].decode("utf-8", errors="replace")

    def greedy(self, prompt, n):
        """[(token, margin between the two best logits)] for up to n tokens,
        stopping after the end-of-text token."""
        session = ctypes.c_void_p()
        assert self.fn("session_create")(self.model, ctypes.byref(session)) == 0
        logits = (ctypes.c_float * self.vocab)()
        ids = (ctypes.c_int32 * len(prompt))(*prompt)
        assert self.fn("prefill")(session, ids, len(prompt), logits, 0) == 0
        out = []
        for _ in range(n):
            order = sorted(range(self.vocab), key=lambda i: -logits[i])
            token = order[0]
            out.append((token, logits[order[0]] - logits[order[1]]))
            if token == self.eos:
                break
            assert self.fn("decode")(session, token, logits) == 0
        self.fn("session_free")(session)
        return out


@pytest.fixture(scope="session")
def reference(model_dir):
    return Reference(model_dir)


def same_greedy(reference_steps, tokens, tie=1e-3):
    """Whether `tokens` (what the server generated) are the reference's
    greedy tokens. Batched decode equals one-stream decode within a rounding
    tolerance, so the two may part only where the reference's two best
    logits are within `tie` of each other; after that nothing is compared."""
    for (want, margin), got in zip(reference_steps, tokens):
        if got != want:
            return margin < tie
    return True
