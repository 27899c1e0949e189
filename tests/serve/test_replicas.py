"""Two `hybridc serve` replicas behind Debian's haproxy on 127.0.0.1, routed by
a session header (consistent hashing), sharing one cache folder: one is
killed with SIGKILL mid-conversation and the conversation goes on on the
other, from the session written at the end of the last turn, with the same
tokens as a conversation that met no failure."""
import os
import shutil
import socket
import subprocess
import time

from conftest import Client

TURN = {"max_tokens": 10, "temperature": 0, "ignore_eos": True, "return_tokens": True}
HEADER = {"X-Session-Id": "conversation-7"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def conversation_turns(send, turns):
    """Runs `turns` user turns through send(messages) -> response; returns
    the responses."""
    messages, out = [], []
    for k in range(turns):
        messages.append({"role": "user", "content": f"Turn {k}: tell me more about the river. " * 3})
        r = send(messages)
        out.append(r)
        messages.append({"role": "assistant", "content": r["choices"][0]["message"]["content"]})
    return out


class Balancer:
    def __init__(self, work, backends):
        self.port = free_port()
        cfg = os.path.join(work, "haproxy.cfg")
        servers = "\n".join(f"  server r{i} 127.0.0.1:{p} check" for i, p in enumerate(backends))
        with open(cfg, "w") as f:
            f.write(f"""global
  maxconn 256
defaults
  mode http
  timeout connect 1s
  timeout client 120s
  timeout server 120s
  retries 3
  option redispatch 1
frontend front
  bind 127.0.0.1:{self.port}
  default_backend replicas
backend replicas
  balance hdr(X-Session-Id)
  hash-type consistent
  option httpchk GET /health
  default-server inter 200ms fall 1 rise 1
{servers}
""")
        self.proc = subprocess.Popen([shutil.which("haproxy"), "-db", "-f", cfg],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.time() + 20
        while time.time() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        raise AssertionError("haproxy did not listen: " + self.proc.stderr.read().decode())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def requests_served(server):
    status, metrics = server.request("GET", "/metrics")
    assert status == 200
    line = next(l for l in metrics.splitlines() if l.startswith("hybridc_requests_total "))
    return int(float(line.split()[1]))


def test_replica_killed_mid_conversation(start_server, tmp_path):
    assert shutil.which("haproxy"), "haproxy is missing: bash .ci/setup.sh test installs it"
    # The same conversation with no failure, on a server of its own.
    alone = start_server("--slots", "1", "--threads", "1")
    expected = conversation_turns(
        lambda m: alone.post("/v1/chat/completions", {"messages": m, **TURN})[1], 4)

    shared = str(tmp_path / "shared")
    replicas = [start_server("--slots", "2", "--threads", "1", "--cache-dir", shared,
                             "--share-cache") for _ in range(2)]
    lb = Balancer(str(tmp_path), [r.port for r in replicas])
    try:
        front = Client("127.0.0.1", lb.port)
        got, killed = [], []

        def send(messages):
            if len(got) == 2:
                # Before turn 3: kill the replica that served turns 1 and 2.
                served = [requests_served(r) for r in replicas]
                assert sorted(served) == [0, 2], served  # one replica had them all
                victim = replicas[served.index(2)]
                victim.kill()
                killed.append(victim)
            status, body = front.post("/v1/chat/completions", {"messages": messages, **TURN},
                                      headers=HEADER)
            assert status == 200, body
            got.append(body)
            return body

        conversation_turns(send, 4)
        for want, have in zip(expected, got):
            assert have["choices"][0]["tokens"] == want["choices"][0]["tokens"]
        # Turn 3 ran on the survivor, from the session the killed replica
        # wrote at the end of turn 2: only the new message was prefilled.
        turn2_end = got[1]["usage"]["prompt_tokens"] + TURN["max_tokens"] - 1
        assert got[2]["usage"]["prompt_tokens_details"]["cached_tokens"] >= \
            got[1]["usage"]["prompt_tokens"]
        assert got[2]["usage"]["prompt_tokens_details"]["cached_tokens"] <= turn2_end
        survivor = next(r for r in replicas if r not in killed)
        assert requests_served(survivor) == 2
    finally:
        lb.stop()
