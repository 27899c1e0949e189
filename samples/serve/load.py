#!/usr/bin/env python3
"""A load client for `hybridc serve` (docs/serving.md), standard library only.

  load.py URL streams  --streams N --requests R --prompt-tokens P --max-tokens T
      N clients, each sending its share of R streaming completions of a
      P-token prompt (token ids, distinct per request) for exactly T tokens
      (ignore_eos); prints aggregate tokens/s, time to first token (as the
      server timed it) and the time between text chunks as received (p50,
      p99), each stream's decode rate, and the errors.
  load.py URL conversation --turns K --history H --reply-tokens T
      one chat of K turns whose first user message is about H tokens; prints
      each turn's time to first token and prompt/cached tokens, and the
      tokens of every reply (greedy) so two runs can be compared.

Everything goes to 127.0.0.1 or wherever URL points; each run is bounded by
its request count and a per-request timeout."""
import argparse
import http.client
import json
import statistics
import threading
import time
import urllib.parse


def connect(url, timeout):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)


def post(url, path, body, timeout=600):
    c = connect(url, timeout)
    c.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = json.loads(r.read())
    c.close()
    if r.status != 200:
        raise RuntimeError(f"{r.status}: {data}")
    return data


def stream(url, path, body, timeout=600):
    """(time to first token, [times between tokens], tokens, the server's
    timings) of one stream."""
    c = connect(url, timeout)
    t0 = time.perf_counter()
    c.request("POST", path, body=json.dumps({**body, "stream": True,
                                             "stream_options": {"include_usage": True}}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError(f"{r.status}: {r.read()[:300]}")
    first, last, gaps, usage, timings = None, None, [], None, {}
    for line in r:
        line = line.strip()
        if not line.startswith(b"data: "):
            continue
        payload = line[6:]
        if payload == b"[DONE]":
            break
        event = json.loads(payload)
        if "error" in event:
            raise RuntimeError(event["error"]["message"])
        if event.get("usage"):
            usage = event["usage"]
            timings = event.get("timings", {})
        if not event["choices"] or not event["choices"][0].get("text"):
            continue
        now = time.perf_counter()
        if first is None:
            first = now - t0
        else:
            gaps.append(now - last)
        last = now
    c.close()
    return first, gaps, usage["completion_tokens"] if usage else 0, timings


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def get(url, path, timeout=60):
    c = connect(url, timeout)
    c.request("GET", path)
    data = json.loads(c.getresponse().read())
    c.close()
    return data


def run_streams(a):
    vocab = get(a.url, "/v1/models")["data"][0]["meta"]["vocab_size"]
    results, errors, lock = [], [], threading.Lock()
    counter = iter(range(a.requests))

    def client():
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            # A distinct prompt per request, from its first token on: no
            # prefix is shared.
            prompt = [(7919 * (i + 1) + 104729 * k) % vocab for k in range(a.prompt_tokens)]
            try:
                r = stream(a.url, "/v1/completions", {"prompt": prompt, "max_tokens": a.max_tokens,
                                                      "ignore_eos": True, "temperature": 0})
                with lock:
                    results.append(r)
            except Exception as e:  # noqa: BLE001 - counted and shown
                with lock:
                    errors.append(str(e))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(a.streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    tokens = sum(r[2] for r in results)
    # Time to first token as the server timed it (submitted to sampled): a
    # random model may generate tokens without text, which send no chunk.
    ttft = [r[3]["first_token_ms"] / 1e3 for r in results if "first_token_ms" in r[3]]
    # Between tokens: the gaps between text chunks the client saw.
    itl = [g for r in results for g in r[1]]
    out = {"streams": a.streams, "requests": a.requests, "errors": len(errors),
           "tokens": tokens, "seconds": wall, "tokens_per_s": tokens / wall,
           "ttft_p50_ms": pct(ttft, 50) * 1e3, "ttft_p99_ms": pct(ttft, 99) * 1e3,
           "itl_p50_ms": pct(itl, 50) * 1e3, "itl_p99_ms": pct(itl, 99) * 1e3,
           # One stream's decode rate, first to last token, as the server timed it.
           "per_stream_decode_tokens_per_s": statistics.median(
               (r[2] - 1) / (r[3]["generation_ms"] / 1e3) for r in results
               if r[3].get("generation_ms")) if results else 0}
    if errors:
        out["first_error"] = errors[0]
    print(json.dumps(out))


def run_conversation(a):
    filler = ("The history of the river town is long and full of small events that "
              "nobody wrote down. ")
    per = len(post(a.url, "/tokenize", {"content": filler})["tokens"])
    messages = [{"role": "user", "content": filler * max(1, a.history // per)}]
    turns = []
    for k in range(a.turns):
        t0 = time.perf_counter()
        out = post(a.url, "/v1/chat/completions",
                   {"messages": messages, "max_tokens": a.reply_tokens, "temperature": 0,
                    "ignore_eos": True, "return_tokens": True})
        total = time.perf_counter() - t0
        choice = out["choices"][0]
        turns.append({"turn": k + 1, "prompt_tokens": out["usage"]["prompt_tokens"],
                      "cached_tokens": out["usage"]["prompt_tokens_details"]["cached_tokens"],
                      "ttft_ms": out["timings"]["first_token_ms"], "total_ms": total * 1e3,
                      "tokens": choice["tokens"]})
        messages += [{"role": "assistant", "content": choice["message"]["content"]},
                     {"role": "user", "content": f"Go on with part {k + 2}."}]
    print(json.dumps({"turns": turns}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("url")
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("streams")
    s.add_argument("--streams", type=int, default=8)
    s.add_argument("--requests", type=int, default=8)
    s.add_argument("--prompt-tokens", type=int, default=64)
    s.add_argument("--max-tokens", type=int, default=128)
    c = sub.add_parser("conversation")
    c.add_argument("--turns", type=int, default=8)
    c.add_argument("--history", type=int, default=4096)
    c.add_argument("--reply-tokens", type=int, default=32)
    a = p.parse_args()
    (run_streams if a.mode == "streams" else run_conversation)(a)


if __name__ == "__main__":
    main()
