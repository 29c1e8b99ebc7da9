#!/bin/bash
# t_serve.sh - `kvmscope serve` as a command: options, bad addresses, a
# port already taken, the no-source notice, replay pacing and looping
# (checked through /ca/admin/status), and a clean exit on SIGINT.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
[ -f "$DATA" ] || DATA=/work/shared/lab/captures/kvm-trace-all-events.txt
command -v curl >/dev/null || { echo "curl is not installed"; exit 77; }
[ -f "$DATA" ] || { echo "no capture to replay"; exit 77; }

tmp=$(mktemp -d /tmp/t_serve.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/err*; do echo "== $f"; tail -5 "$f"; done; exit 1; }

# usage_err EXIT PATTERN ARGS...: the command fails with EXIT, saying PATTERN.
usage_err() {
	local want=$1 pat=$2
	shift 2
	"$K" serve "$@" >"$tmp/out" 2>"$tmp/err.u"
	local rc=$?
	[ "$rc" -eq "$want" ] || fail "serve $*: exit $rc, wanted $want"
	grep -q -- "$pat" "$tmp/err.u" || fail "serve $*: no '$pat' on stderr"
}
usage_err 2 'need --replay' --replay-loop
usage_err 2 'replay-speed' --replay "$DATA" --replay-speed 0
usage_err 2 'replay-speed' --replay "$DATA" --replay-speed fast
usage_err 2 'unexpected argument' extra
usage_err 1 '0 to 65535' --listen 127.0.0.1:70000
usage_err 1 'HOST:PORT' --listen 23181
usage_err 1 'needs a host' --listen :23181
usage_err 1 'cannot open' --replay "$tmp/missing"
usage_err 2 "no source 'bogus'" --sources bpf_exits,bogus
usage_err 2 'needs a list' --sources ,
usage_err 2 'not go with --replay' --sources none --replay "$DATA"
usage_err 2 'contradict' --state "$tmp/s.db" --no-state
usage_err 2 'needs a state file' --checkpoint-interval 5
usage_err 2 'from 1 to 86400' --state "$tmp/s.db" --checkpoint-interval 0
usage_err 2 'from 1 to 86400' --state "$tmp/s.db" --checkpoint-interval 1x
"$K" serve --help | grep -q -- '--replay-loop' || fail "--help"

# start NAME ARGS...: starts an agent, sets $port.
start() {
	local name=$1
	shift
	"$K" serve "$@" 2>"$tmp/err.$name" &
	pids+=($!)
	port=
	for _ in $(seq 1 300); do
		port=$(sed -n 's|^kvmscope: listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' \
			"$tmp/err.$name")
		[ -n "$port" ] && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || fail "$name exited at start"
		sleep 0.1
	done
	fail "$name: no 'listening on' line"
}

# Without --replay and without live sources it serves anyway, and says
# there is no data.
start bare --listen 127.0.0.1:0 --sources none
bare=${pids[-1]} bport=$port
grep -q 'no live sources' "$tmp/err.bare" || fail "no notice without sources"
curl -sf "http://127.0.0.1:$bport/ca" >/dev/null || fail "GET /ca"

# A port in use is a clear error, exit 1.
usage_err 1 'cannot listen on 127.0.0.1' --listen "127.0.0.1:$bport"

# Replay at 20x, looping: the capture's kvm events span under a second,
# so within a few seconds it must have looped, and the records fed must be
# whole cycles plus the current one.
start loop --listen 127.0.0.1:0 --replay "$DATA" --replay-speed 20 --replay-loop
sleep 3
st=$(curl -sf "http://127.0.0.1:$port/ca/admin/status") || fail "status"
python3 - "$st" <<'PY' || fail "replay status: $st"
import json, sys
r = json.loads(sys.argv[1])["replay"]
assert r["loop"] and r["speed"] == 20 and not r["finished"], r
assert r["loops"] >= 2, r
assert r["records"] >= r["loops"] * 1000, r
PY

# Without a loop it finishes and says how many records it fed.
start once --listen 127.0.0.1:0 --replay "$DATA" --replay-speed 1000
for _ in $(seq 1 100); do
	grep -q 'finished' "$tmp/err.once" && break
	sleep 0.1
done
grep -q "replay of '.*' finished: [1-9][0-9]* records" "$tmp/err.once" ||
	fail "no end-of-replay line"

# SIGINT and SIGTERM both end it with status 0 and no sanitizer report.
for i in "${!pids[@]}"; do
	p=${pids[$i]}
	if [ $((i % 2)) -eq 0 ]; then kill -INT "$p"; else kill -TERM "$p"; fi
	wait "$p"
	rc=$?
	[ "$rc" -eq 0 ] || fail "agent $p exited with $rc"
done
pids=()
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp"/err.*; then
	fail "sanitizer report"
fi
echo "serve ok"
