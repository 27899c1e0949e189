"""`hybridc chat` as a person uses it: in a terminal (tmux), type a message,
see the prompt, the streamed reply and the next prompt; /stats, /undo and
/exit answer. Bounded: every wait gives up after 60 s.

Usage: tmux_check.py HYBRIDC OUT_DIR SOCKET
"""
import subprocess
import sys
import time

hybridc, out, socket = sys.argv[1:4]
tmux = ["tmux", "-S", socket]
session = "hybridc-chat-test"


def capture():
    return subprocess.run(tmux + ["capture-pane", "-p", "-t", session], capture_output=True,
                          text=True).stdout


def send(*keys):
    subprocess.run(tmux + ["send-keys", "-t", session, *keys], check=True)


def wait_for(predicate, what):
    deadline = time.time() + 60
    while time.time() < deadline:
        screen = capture()
        if predicate(screen):
            return screen
        time.sleep(0.1)
    sys.exit("timed out waiting for %s; the screen:\n%s" % (what, capture()))


subprocess.run(tmux + ["kill-server"], capture_output=True)
subprocess.run(tmux + ["new-session", "-d", "-s", session, "-x", "160", "-y", "40",
                       "%s chat %s --max-tokens 8; echo CHAT-EXITED-$?; sleep 30" % (hybridc, out)],
               check=True)
try:
    wait_for(lambda s: "/help lists the commands" in s and ">>>" in s, "the banner and prompt")
    send("Hello there", "Enter")
    # The reply, then a blank line and the next prompt.
    screen = wait_for(lambda s: s.count(">>>") >= 2, "the reply and the next prompt")
    lines = [l for l in screen.splitlines() if l.strip()]
    if not any(l.startswith(">>> Hello there") for l in lines):
        sys.exit("the typed message is not on the screen:\n" + screen)
    send("/stats", "Enter")
    wait_for(lambda s: "last turn: prompt" in s and "1 exchanges" in s, "/stats")
    send("/undo", "Enter")
    wait_for(lambda s: "forgot the last exchange" in s, "/undo")
    send("/exit", "Enter")
    wait_for(lambda s: "CHAT-EXITED-0" in s, "chat to exit with status 0")
finally:
    subprocess.run(tmux + ["kill-server"], capture_output=True)
print("ok: typed, streamed, /stats, /undo, /exit in a terminal")
