"""`hybridc chat` against fresh sessions. A conversation from a pipe (four
turns and an /undo, greedy) is saved; the session it leaves must be the one
a new session fed all the conversation's tokens at once makes: the logits of
one more token agree within 1e-3, where a history with one token changed
with its first half changed differs by more than ten times that (so the
comparison can fail). Each turn
after the first must have fed only its own tokens.

Usage: incremental_check.py HYBRIDC OUT_DIR WORK_DIR [CHAT OPTIONS...]
"""
import json
import os
import struct
import subprocess
import sys

hybridc, out, work = sys.argv[1:4]
options = sys.argv[4:]
TOLERANCE = 1e-3
NEXT = "42"


def run(*args, stdin=None):
    r = subprocess.run([hybridc, *args], input=stdin, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        sys.exit("hybridc %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
    return r


def last_row(path, vocab):
    data = open(path, "rb").read()
    n = len(data) // 4
    return struct.unpack("<%df" % vocab, data[(n - vocab) * 4:])


def max_diff(a, b):
    return max(abs(x - y) for x, y in zip(a, b))


os.makedirs(work, exist_ok=True)
save = os.path.join(work, "conversation")
script = "\n".join(["Hello there", "Tell me about \"quotes\" and caf\u00e9s", "Forget this one",
                    "/undo", "One more, please", "/stats", "/save " + save]) + "\n"
chat = run("chat", out, "--max-tokens", "8", *options, stdin=script)
saved = json.load(open(save + ".json", encoding="utf-8"))
roles = [m["role"] for m in saved["messages"]]
if roles != ["user", "assistant"] * 3:
    sys.exit("saved roles %s" % roles)
tokens = saved["tokens"]

# The last turn fed its own tokens only.
fed = int(chat.stderr.split("last turn: prompt ")[1].split(" tokens")[0])
held = int(chat.stderr.split("session: ")[1].split(" tokens")[0])
if held != len(tokens) or not 0 < fed < held // 2:
    sys.exit("the last turn fed %d tokens; the session holds %d, the conversation %d:\n%s"
             % (fed, held, len(tokens), chat.stderr))


def fresh(ids, name):
    path = os.path.join(work, name)
    with open(path + ".ids", "w") as f:
        f.write(" ".join(str(t) for t in ids))
    run("run", out, "--tokens-file", path + ".ids", "--logits-out", path + ".f32")
    return path + ".f32"


continued = os.path.join(work, "continued.f32")
run("run", out, "--load-state", save, "--tokens", NEXT, "--logits-out", continued)
vocab = os.path.getsize(continued) // 4
chat_row = last_row(continued, vocab)
same = max_diff(chat_row, last_row(fresh(tokens + [int(NEXT)], "fresh"), vocab))
# The same length of history with its first half's tokens changed.
altered = [(t + 1) % vocab if i < len(tokens) // 2 else t for i, t in enumerate(tokens)]
other = max_diff(chat_row, last_row(fresh(altered + [int(NEXT)], "altered"), vocab))
if same > TOLERANCE:
    sys.exit("the chat's session differs from a fresh one by %g (limit %g; a changed history: "
             "%g)" % (same, TOLERANCE, other))
if other <= 10 * TOLERANCE:
    sys.exit("a changed history differs by only %g: the comparison cannot tell" % other)
print("ok: the chat's session equals a fresh one fed its %d tokens (max abs logit "
      "difference %.1e; a changed history: %.1e); the last turn fed %d of them"
      % (len(tokens), same, other, fed))
