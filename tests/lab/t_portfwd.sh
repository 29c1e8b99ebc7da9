#!/bin/bash
# L1 is reachable from the host: run-l1.sh forwards 127.0.0.1:<port> to L1's
# port 23181 (QEMU user networking, restrict=on), where scenarios/agent.sh
# runs `kvmscope serve` (or busybox httpd with a random token when L1 has no
# kvmscope).  The host fetches GET /ca (or the token) through the forward,
# checks it, and tells the scenario to stop by creating lab-out/agent/stop.
set -u
. "$(dirname "$0")/hostlib.sh"
R=$LABOUT/agent
lab_lock
rm -f "$R/ready" "$R/stop"
log=$(mktemp /tmp/lab-agent.XXXXXX)
trap 'rm -f "$log"; [ -n "${rp:-}" ] && kill "$rp" 2>/dev/null' EXIT
t0=$(date +%s)
LAB_TIMEOUT=150 bash "$LABDIR/run-l1.sh" agent hold=120 > "$log" 2>&1 &
rp=$!

# Wait for L1's listener (or for run-l1 to end early: skip or failure).
until [ -s "$R/ready" ]; do
	if ! kill -0 $rp 2>/dev/null; then
		wait $rp
		rc=$?
		cat "$log"
		why=$(grep -a -E 'cannot build the lab:|^SKIP:' "$log" | tail -1 | sed 's/^SKIP: //')
		[ $rc = 77 ] && lab_skip "lab scenario agent: ${why:-unavailable here}"
		lab_fail "run-l1.sh agent ended (status $rc) before L1 listened"
	fi
	[ $(( $(date +%s) - t0 )) -gt 330 ] && lab_fail "L1 did not listen within 330 s"
	sleep 0.5
done
kind=$(sed -n 's/^kind=\([a-z]*\).*/\1/p' "$R/ready")
addr=$(cat "$R/hostfwd")
echo "L1 $kind listening; host side $addr after $(( $(date +%s) - t0 ))s"

get() {	# PATH [TOKEN]: the body of http://$addr/PATH, proxies ignored
	python3 - "http://$addr/$1" "${2:-}" <<'PY'
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
req = urllib.request.Request(sys.argv[1])
if sys.argv[2]:
	req.add_header("Authorization", "Bearer " + sys.argv[2])
with opener.open(req, timeout=30) as r:
	sys.stdout.write(r.read().decode())
PY
}
case $kind in
kvmscope)
	# Listening beyond loopback, the agent asks for the token.
	get ca >/dev/null 2>&1 && { echo "FAIL: GET /ca without a token"; BAD=$((BAD + 1)); }
	body=$(get ca "$(cat "$R/token")") || BAD=$((BAD + 1))
	python3 -c '
import json, sys
ca = json.loads(sys.argv[1])
assert "metrics" in ca and any(m["module"] == "vm" for m in ca["metrics"]), ca
print("ok   GET /ca through the forward:", len(ca["metrics"]), "metrics")' "$body" ||
		BAD=$((BAD + 1))
	;;
httpd)
	check "GET /token through the forward" "$(get token)" "$(cat "$R/token")"
	;;
*) lab_fail "unknown listener kind '$kind'";;
esac

touch "$R/stop"
wait $rp
rc=$?
rp=
cat "$log"
[ $rc = 0 ] || lab_fail "agent scenario ended with status $rc"
[ $BAD = 0 ] || lab_fail "$BAD checks failed"
echo "port forward ok ($kind) in $(( $(date +%s) - t0 ))s"
