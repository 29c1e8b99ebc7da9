#!/bin/bash
# bench_agent_memory.sh - a real agent's RSS under guest and client floods.
#
# `kvmscope serve --replay` of hostile guests (scripts/guestflood.py: every
# exit at a new RIP, every MMIO access at a new address, looped), with
# instrumentations decomposed by guestrip and gpa (10 s retention, so that
# they are full before the start is measured), while clients over real
# HTTP send creates with 200 never-seen predicate constants each: a tenant
# at its cap (every create refused, 409) and the operator (create, then
# delete).  Prints the agent's RSS once the floods are running (start) and
# after BENCH_MEMORY_S seconds more (default 60), with their ratio (target
# 1.0: flat), every 10 s between them and the second half's own ratio
# (growth that levels off from growth that goes on), and the symbols and
# drops /metrics reports.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
K=${KVMSCOPE_FAST:-$TOP/.output/kvmscope}
SECS=${BENCH_MEMORY_S:-60}
[ -x "$K" ] || { echo "bench_agent_memory: no binary at $K" >&2; exit 1; }
tmp=$(mktemp -d /tmp/kvmscope-bench-mem.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

OP=op-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
TA=acme-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s operator\n%s tenant acme guest0\n' "$OP" "$TA" >"$tmp/tokens"
chmod 600 "$tmp/tokens"
printf 'listen = 127.0.0.1:0\ntokens = %s\ntenant-instrumentations = 1\nmax-body = 65536\n' \
	"$tmp/tokens" >"$tmp/conf"
python3 "$TOP/scripts/guestflood.py" --vms 2 --seconds 60 --rate 2000 \
	--mmio 500 >"$tmp/flood.txt"
"$K" serve --config "$tmp/conf" --replay "$tmp/flood.txt" --replay-loop \
	2>"$tmp/err" &
pid=$!
for _ in $(seq 1 100); do
	port=$(sed -n 's|^kvmscope: listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$tmp/err")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { echo "bench_agent_memory: the agent did not start" >&2; cat "$tmp/err" >&2; exit 1; }

python3 - "$port" "$OP" "$TA" "$SECS" "$pid" <<'PY'
import http.client, json, os, re, sys, time
port, op, ta, secs, pid = int(sys.argv[1]), sys.argv[2], sys.argv[3], \
    int(sys.argv[4]), sys.argv[5]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

def call(method, path, tok, body=None):
    h = {"Authorization": "Bearer " + tok}
    if body is not None:
        h["Content-Type"] = "application/json"
    c.request(method, path, body, h)
    r = c.getresponse()
    return r.status, r.read()

def rss():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

n = [0]
def creates(k):
    for _ in range(k):
        n[0] += 1
        pred = {"or": [{"eq": ["vleavereason", "%d-%d-%s" % (n[0], i, "x" * 140)]}
                       for i in range(200)]}
        body = json.dumps({"module": "vm", "stat": "exits", "predicate": pred})
        s, _ = call("POST", "/ca/customers/acme/instrumentations", ta, body)
        assert s == 409, s
        s, b = call("POST", "/ca/instrumentations", op, body)
        assert s == 201, (s, b[:200])
        s, _ = call("DELETE", "/ca/instrumentations/" + json.loads(b)["id"], op)
        assert s == 204, s

for d in ("guestrip", "gpa"):
    stat = "exits" if d == "guestrip" else "mmio_ops"
    s, _ = call("POST", "/ca/instrumentations", op,
                json.dumps({"module": "vm", "stat": stat, "decomposition": d,
                            "retention-time": 10}))
    assert s == 201, s
call("POST", "/ca/customers/acme/instrumentations", ta,
     json.dumps({"module": "vm", "stat": "exits"}))
t_end = time.time() + 15
while time.time() < t_end:
    creates(20)
start = rss()
t0 = time.time()
t_end = t0 + secs
trail, t_next = [], t0 + 10
while time.time() < t_end:
    creates(20)
    for i in ("1", "2"):
        call("GET", "/ca/instrumentations/%s/value/raw?duration=1&ndatapoints=30" % i, op)
    if time.time() >= t_next:
        trail.append(rss())
        t_next += 10
end = rss()
half = trail[len(trail) // 2 - 1] if len(trail) >= 2 else start
s, m = call("GET", "/metrics", op)
# Every family carries the hostname label: keyed here without it.
metrics = dict(re.sub(r'hostname="[^"]*",?', "", l).replace("{}", "")
               .rsplit(" ", 1) for l in m.decode().splitlines()
               if l and not l.startswith("#"))
print("agent_memory_seconds %d" % secs)
print("agent_memory_creates %d (each 200 new constants, one refused and "
      "one created+deleted)" % n[0])
print("agent_memory_rss_start_kb %d" % start)
print("agent_memory_rss_end_kb %d" % end)
print("agent_memory_rss_end_over_start %.3f (target 1.0: flat)" % (end / start))
print("agent_memory_rss_every_10s_kb %s" % " ".join(str(k) for k in trail))
print("agent_memory_rss_end_over_half %.3f (the second half alone: 1.0 "
      "if it levelled off)" % (end / half))
for k in ("kvmscope_symbols", "kvmscope_symbols_freed_total",
          "kvmscope_guest_keys_dropped_total",
          'kvmscope_records_dropped_total{reason="keycap"}',
          "kvmscope_instrumentation_memory_bytes"):
    print("agent_memory_%s %s" % (k.replace('{reason="keycap"}', "_keycap"),
                                  metrics.get(k, "?")))
PY
