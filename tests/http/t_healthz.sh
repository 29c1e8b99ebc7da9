#!/bin/bash
# t_healthz.sh - GET /healthz on a real agent, and `serve` on a taken port.
#
# A port held by another process: `kvmscope serve --listen` on it must
# exit non-zero at once, naming HOST:PORT, before any source is opened
# (no source lines on stderr: the probes never loaded).  Then an agent
# with its live sources (whatever this host can run) and a token file:
# /healthz answers without a token, 200 {"status":"ok"}, its source counts
# are those of /ca/admin/status, and HEAD works; /ca still needs the
# token; /metrics has kvmscope_build_info with the binary's version.
# What makes it unhealthy (a failing source, a stalled clock) is
# tests/unit/test_health.c's.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/http/agentlib.sh"

# ---- a taken port ----------------------------------------------------
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(60)' >"$tmp/holder" &
holder=$!
agents+=("$holder")
for _ in $(seq 1 50); do [ -s "$tmp/holder" ] && break; sleep 0.1; done
taken=$(cat "$tmp/holder")
[ -n "$taken" ] || fail "no port held"
start_s=$(date +%s%N)
timeout 60 "$K" serve --listen "127.0.0.1:$taken" --no-state 2>"$tmp/err.taken"
rc=$?
ms=$(( ($(date +%s%N) - start_s) / 1000000 ))
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "serve on a taken port exited $rc"
grep -q "cannot listen on 127\.0\.0\.1:$taken: Address already in use" \
	"$tmp/err.taken" || fail "the error does not name 127.0.0.1:$taken"
grep -qi 'source' "$tmp/err.taken" &&
	fail "sources were opened before the port was found taken"
echo "ok   taken port: exit $rc in $ms ms: $(head -1 "$tmp/err.taken")"
kill "$holder" 2>/dev/null

# ---- /healthz on a live agent -------------------------------------------
echo "op-0123456789abcdef operator" >"$tmp/tokens"
chmod 600 "$tmp/tokens"
start live http --listen 127.0.0.1:0 --no-state --tokens "$tmp/tokens"
expect 200 - GET /healthz
python3 - "$tmp/body" <<'PY' >"$tmp/health.txt" || fail "/healthz body"
import json, sys
h = json.load(open(sys.argv[1]))
assert h["status"] == "ok" and h["problems"] == [], h
print(json.dumps(h["sources"], sort_keys=True))
PY
expect 401 - GET /ca/admin/status
expect 200 op-0123456789abcdef GET /ca/admin/status
python3 - "$tmp/body" "$(cat "$tmp/health.txt")" <<'PY' || fail "/healthz counts differ from /ca/admin/status"
import collections, json, sys
st = json.load(open(sys.argv[1]))
counts = {"running": 0, "failing": 0, "unavailable": 0, "off": 0}
for s in st["sources"]:
    counts[s["status"]] += 1
assert counts == json.loads(sys.argv[2]), (counts, sys.argv[2])
print("ok   /healthz: ok, sources %s" % sys.argv[2])
PY
code=$(curl -s -I -o /dev/null -w '%{http_code}' "$B/healthz")
[ "$code" = 200 ] || fail "HEAD /healthz: $code"
# The build, in the text exposition (the protobuf one: t_prometheus_native).
ver=$("$K" version -j | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["version"], j["revision"])')
read -r v r <<<"$ver"
expect 200 op-0123456789abcdef GET /metrics
grep -qx "kvmscope_build_info{hostname=\"$(hostname)\",version=\"$v\",revision=\"$r\"} 1" "$tmp/body" ||
	fail "/metrics has no kvmscope_build_info for $v $r"
echo "ok   /metrics: kvmscope_build_info{version=\"$v\"} 1"
stop live
echo "healthz ok"
