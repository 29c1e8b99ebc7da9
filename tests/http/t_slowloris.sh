#!/bin/bash
# t_slowloris.sh - slow clients cannot lock the operator out.
#
# Real sockets over loopback against the agent with a token file and a
# 3 s request deadline (request-timeout).  Attackers send no token and
# one header line a second, so they are never idle and never finish a
# request.  Two attacks, each about ten seconds, while the operator (from
# 127.0.0.1, with its token) asks GET /ca every second and must be
# answered within 5 s every time:
#   - 70 connections from one address (127.0.0.2): the per-address limit
#     (16) refuses the rest at once, and the 16 are shut at the deadline;
#   - 70 connections from 70 addresses (127.0.1.1-70), each reopened as
#     soon as the agent drops it: the deadline shuts them, and past the
#     slots kept for clients that were let in, the oldest silent one
#     makes way for a new connection.
# Without the guard, 64 such connections hold every slot and the operator
# gets nothing.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/http/agentlib.sh"

OP=op-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$OP operator" >"$tmp/tokens"
chmod 600 "$tmp/tokens"
cat >"$tmp/kvmscope.conf" <<EOF
tokens = $tmp/tokens
request-timeout = 3
EOF
start guard http --listen 127.0.0.1:0 --config "$tmp/kvmscope.conf" \
	--sources none --no-state
echo "agent on $B"

timeout 90 python3 - "$port" "$OP" <<'PY' || fail "the operator was locked out"
import socket, sys, time

port, token = int(sys.argv[1]), sys.argv[2].encode()
DEADLINE = 3.0


def operator():
    """GET /ca with the token; (status, seconds), status None if no answer."""
    t = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /ca HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                  token + b"\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
        return int(data.split(b" ", 2)[1]), time.monotonic() - t
    except (OSError, IndexError, ValueError):
        return None, time.monotonic() - t


class Slow:
    """A client that never finishes its request."""

    def __init__(self, src):
        self.src, self.opened, self.closed = src, time.monotonic(), None
        self.s = socket.socket()
        self.s.settimeout(2)
        self.s.bind((src, 0))
        self.s.connect(("127.0.0.1", port))
        self.s.setblocking(False)
        self.s.send(b"GET /ca HTTP/1.1\r\nHost: x\r\n")

    def alive(self):
        if self.closed is None:
            try:
                if self.s.recv(4096) == b"":
                    self.closed = time.monotonic()
            except BlockingIOError:
                pass
            except OSError:
                self.closed = time.monotonic()
        return self.closed is None

    def drip(self):
        if self.alive():
            try:
                self.s.send(b"X-Slow: 1\r\n")
            except OSError:
                self.closed = time.monotonic()


def attack(name, sources, reopen, seconds=10):
    conns = [Slow(a) for a in sources]
    held, worst, answers = 0, 0.0, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for c in conns:
            c.drip()
        time.sleep(0.2)
        held = max(held, sum(c.alive() for c in conns))
        status, secs = operator()
        print(f"{name}: operator got {status} in {secs:.2f}s; "
              f"{sum(c.alive() for c in conns)} attackers connected")
        if status != 200 or secs > 5:
            sys.exit(f"{name}: operator got {status} after {secs:.2f}s")
        worst = max(worst, secs)
        answers += 1
        if reopen:
            for i, c in enumerate(conns):
                if not c.alive():
                    c.s.close()
                    conns[i] = Slow(c.src)
        time.sleep(0.8)
    # Past the deadline, every connection still open is shut.
    time.sleep(DEADLINE + 1.5)
    for c in conns:
        c.alive()
    late = [c for c in conns if c.closed is None]
    if late:
        sys.exit(f"{name}: {len(late)} attackers still connected "
                 f"{DEADLINE + 1.5}s after their last chance")
    # Without reopening, every attacker was accepted at once: none may
    # outlive the deadline by more than the agent's quarter-second scan
    # and a loaded machine's delay.
    lived = max(c.closed - c.opened for c in conns)
    if not reopen and lived > DEADLINE + 1.5:
        sys.exit(f"{name}: an attacker lasted {lived:.1f}s, past a "
                 f"{DEADLINE}s deadline")
    for c in conns:
        c.s.close()
    print(f"ok   {name}: {answers} answers, worst {worst:.2f}s; at most "
          f"{held} attackers held slots at once; longest {lived:.1f}s")
    return held


held = attack("one address", ["127.0.0.2"] * 70, reopen=False)
if held > 16:
    sys.exit(f"one address held {held} connections (limit 16)")
attack("70 addresses", [f"127.0.1.{i}" for i in range(1, 71)], reopen=True)
PY
expect 200 "$OP" GET /ca
stop guard
echo "slowloris ok"
