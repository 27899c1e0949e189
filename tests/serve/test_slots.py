"""Slots and the prefix cache: a slot's session saved, erased, restored,
moved to another server process through the cache folder; sessions spilled
to --cache-dir and read back; SIGTERM while a stream runs."""
import json
import os
import threading
import time

GREEDY = {"temperature": 0, "return_tokens": True}


def busy_slot(server, tokens_before):
    """The id of the slot that holds more tokens than before."""
    _, slots = server.request("GET", "/slots")
    grown = [s for s in slots if s["n_tokens"] > tokens_before.get(s["id"], 0)]
    assert len(grown) == 1, slots
    return grown[0]["id"]


def test_save_erase_restore_and_move(start_server, tmp_path):
    cache = str(tmp_path / "cache")
    a = start_server("--slots", "2", "--threads", "1", "--cache-dir", cache, "--cache-ram", "0")
    _, tok = a.post("/tokenize", {"content": "a conversation worth keeping, " * 6,
                                  "add_special": True})
    prompt = tok["tokens"]
    status, first = a.post("/v1/completions", {"prompt": prompt, "max_tokens": 8, **GREEDY})
    assert status == 200 and len(first["choices"][0]["tokens"]) == 8
    slot = busy_slot(a, {})
    status, saved = a.post(f"/slots/{slot}?action=save", {"filename": "conv1"})
    assert status == 200 and saved["n_written"] > 0
    assert os.path.exists(os.path.join(cache, "conv1"))
    assert os.path.exists(os.path.join(cache, "conv1.tokens"))
    assert a.post(f"/slots/{slot}?action=erase", {})[0] == 200
    _, slots = a.request("GET", "/slots")
    assert all(s["n_tokens"] == 0 for s in slots)
    # The conversation goes on: its history and one more line.
    _, more = a.post("/tokenize", {"content": " and then some more"})
    follow = prompt + first["choices"][0]["tokens"] + more["tokens"]
    status, fresh = a.post("/v1/completions", {"prompt": follow, "max_tokens": 8, **GREEDY})
    assert status == 200 and fresh["usage"]["prompt_tokens_details"]["cached_tokens"] == 0

    # Another process restores the saved slot and continues from it: it
    # feeds only what the session lacks, and gives the same tokens.
    b = start_server("--slots", "1", "--threads", "1", "--cache-dir", cache, "--cache-ram", "0")
    status, restored = b.post("/slots/0?action=restore", {"filename": "conv1"})
    assert status == 200 and restored["n_restored"] == len(prompt) + 7
    status, moved = b.post("/v1/completions", {"prompt": follow, "max_tokens": 8, **GREEDY})
    assert status == 200
    assert moved["usage"]["prompt_tokens_details"]["cached_tokens"] == len(prompt) + 7
    assert moved["choices"][0]["tokens"] == fresh["choices"][0]["tokens"]


def test_slot_files_refused_by_name(start_server, tmp_path):
    cache = str(tmp_path / "cache")
    s = start_server("--slots", "1", "--cache-dir", cache)
    for body, words in (({"filename": "../x"}, "plain file name"),
                        ({"filename": ".hidden"}, "plain file name"),
                        ({"filename": 3}, "a string"), ({}, "required")):
        status, out = s.post("/slots/0?action=save", body)
        assert status == 400 and words in out["error"]["message"]
        assert out["error"]["param"] == "filename"
    status, out = s.post("/slots/0?action=save", {"filename": "x"})
    assert status == 409 and "holds no session" in out["error"]["message"]
    status, out = s.post("/slots/0?action=restore", {"filename": "missing"})
    assert status == 400 and "missing" in out["error"]["message"]
    with open(os.path.join(cache, "bad"), "wb") as f:
        f.write(b"not a state image")
    with open(os.path.join(cache, "bad.tokens"), "wb") as f:
        f.write(b"HYBTOK01" + (0).to_bytes(8, "little"))
    status, out = s.post("/slots/0?action=restore", {"filename": "bad"})
    assert status == 400 and "bad" in out["error"]["message"]
    # Nothing was lost: the slot still serves.
    assert s.post("/v1/completions", {"prompt": "ok", "max_tokens": 2})[0] == 200
    plain = start_server("--slots", "1")
    status, out = plain.post("/slots/0?action=save", {"filename": "x"})
    assert status == 400 and "--cache-dir" in out["error"]["message"]


def test_cache_spills_to_folder_and_reads_back(start_server, tmp_path):
    """With no room in memory every kept session goes to the folder; a later
    request sharing a prefix is served from there, same tokens."""
    cache = str(tmp_path / "spill")
    s = start_server("--slots", "1", "--threads", "1", "--cache-dir", cache, "--cache-ram", "0",
                     "--checkpoint-interval", "8")
    long_prompt = "the shared beginning of two requests, " * 5
    _, one = s.post("/v1/completions", {"prompt": long_prompt + "first", "max_tokens": 4, **GREEDY})
    # A different prompt takes the only slot; the first session is evicted.
    s.post("/v1/completions", {"prompt": "something else entirely", "max_tokens": 4, **GREEDY})
    assert any(n.endswith(".state") for n in os.listdir(cache))
    _, metrics = s.request("GET", "/metrics")
    assert "hybridc_prefix_cache_disk_entries 0\n" not in metrics
    _, two = s.post("/v1/completions", {"prompt": long_prompt + "first", "max_tokens": 4, **GREEDY})
    assert two["usage"]["prompt_tokens_details"]["cached_tokens"] > 0
    assert two["choices"][0]["tokens"] == one["choices"][0]["tokens"]


def test_sigterm_ends_streams_and_exits(start_server):
    """SIGTERM ends a running stream with a 503 error event, and the server
    exits 0 (Server.stop checks) long before max_tokens would end it."""
    s = start_server("--slots", "2", "--threads", "1")
    got = []

    def stream():
        try:
            got.append(s.stream("/v1/completions", {"prompt": "go on", "max_tokens": 1900,
                                                    "ignore_eos": True, "stream": True}, timeout=60))
        except Exception as e:  # noqa: BLE001 - reported below
            got.append(e)

    t = threading.Thread(target=stream)
    t.start()
    for _ in range(200):
        _, slots = s.request("GET", "/slots")
        if any(x["is_processing"] for x in slots):
            break
        time.sleep(0.05)
    s.stop()
    t.join(60)
    assert not t.is_alive()
    assert isinstance(got[0], list), got
    assert got[0][-1]["error"]["code"] == "shutting_down"


def test_cache_folder_is_bounded(start_server, tmp_path):
    """--cache-disk bounds the cache's files (the oldest go first); a slot
    saved under the client's own name is not the cache's to delete."""
    cache = str(tmp_path / "bounded")
    s = start_server("--slots", "1", "--threads", "1", "--cache-dir", cache, "--share-cache",
                     "--cache-disk", "0")
    s.post("/v1/completions", {"prompt": "keep me around please", "max_tokens": 4, **GREEDY})
    assert s.post("/slots/0?action=save", {"filename": "mine.state"})[0] == 200
    for i in range(3):
        status, _ = s.post("/v1/completions", {"prompt": f"request {i} of a few more words",
                                               "max_tokens": 4, **GREEDY})
        assert status == 200
    names = sorted(os.listdir(cache))
    assert names == ["mine.state", "mine.state.tokens"], names
    unbounded = str(tmp_path / "unbounded")
    s2 = start_server("--slots", "1", "--threads", "1", "--cache-dir", unbounded, "--share-cache")
    s2.post("/v1/completions", {"prompt": "keep me around please", "max_tokens": 4, **GREEDY})
    assert any(n.startswith("prefix-") for n in os.listdir(unbounded))
