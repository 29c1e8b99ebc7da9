#!/bin/bash
# t_ui.sh - the web UI in a real browser, against a live agent.
#
# Starts `kvmscope serve` replaying a captured kvm trace in a loop (so the
# UI sees live-looking data), then runs tests/web/ui.mjs in Debian's
# chromium: create vm.exits by vleavereason and latency, check the
# heatmap's pixels, units, legend, details, isolate, the share link, a line
# chart, clone/delete, kvmstat, and the unreachable banner (the script kills
# the agent and starts it again on the same port).  Screenshots go to a
# temporary directory, kept (and named) when a check fails or when
# KEEP_SHOTS=1.  Skips (77) if chromium or node cannot be had.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
KVMSCOPE=${KVMSCOPE:-$TOP/.output-asan/kvmscope}
cd "$TOP" || exit 1

skip() {
	echo "$1"
	exit 77
}

[ -x "$KVMSCOPE" ] || { echo "no kvmscope binary at $KVMSCOPE"; exit 1; }
bash tests/web/deps.sh ||
	skip "chromium or playwright-core cannot be had (tests/web/deps.sh)"
command -v node >/dev/null || skip "node is not installed"
[ -x /usr/bin/chromium ] || skip "/usr/bin/chromium is not installed"

tmp=$(mktemp -d /tmp/kvmscope-ui.XXXXXX)
keep=${KEEP_SHOTS:-0}
cleanup() {
	for f in "$tmp/agent.pid" "$tmp/agent2.pid"; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "$keep" = 1 ]; then
		echo "screenshots kept in $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

trace=$TOP/tests/data/kvm-trace-qemu-l2.head3000.txt
# A peer, as an operator with two hosts would list it: the UI links it.
peers='host-b=http://192.0.2.7:23181/'
"$KVMSCOPE" serve --listen 127.0.0.1:0 --replay "$trace" --replay-loop \
	--web-root "$TOP/web" --peers "$peers" 2>"$tmp/agent.log" &
echo $! >"$tmp/agent.pid"

# Port 0: the agent says which port it got.
port=
for _ in $(seq 100); do
	port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' \
		"$tmp/agent.log")
	[ -n "$port" ] && break
	kill -0 "$(cat "$tmp/agent.pid")" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$port" ]; then
	echo "the agent did not start:"
	cat "$tmp/agent.log"
	exit 1
fi

# Static files: types, and nothing outside the web root.
base=http://127.0.0.1:$port
fail=0
expect() {	# path status [content-type prefix]
	local got
	got=$(curl -s --path-as-is -o /dev/null -w '%{http_code} %{content_type}' \
		"$base$1")
	case "$got" in
	"$2 ${3:-}"*) echo "ok: GET $1 -> $got";;
	*) echo "FAILED: GET $1 -> $got, wanted $2 ${3:-}"; fail=1;;
	esac
}
if command -v curl >/dev/null; then
	expect / 200 text/html
	expect /app.js 200 text/javascript
	expect /style.css 200 text/css
	expect /favicon.svg 200 image/svg+xml
	expect /kvmstat.html 200 text/html
	expect /../Makefile 404
	expect /%2e%2e/Makefile 404
	expect /.gitignore 404
	expect /nosuch.js 404
	expect /ca 200 application/json
fi

agent_cmd=$(printf '%s\n' "$KVMSCOPE" serve --listen "127.0.0.1:$port" \
	--replay "$trace" --replay-loop --web-root "$TOP/web" --peers "$peers" |
	node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>
		console.log(JSON.stringify(s.trim().split("\n"))))')

BASE=$base/ SHOTS=$tmp/shots AGENT_PID=$(cat "$tmp/agent.pid") \
AGENT_CMD=$agent_cmd AGENT2_PIDFILE=$tmp/agent2.pid \
	timeout 120 node tests/web/ui.mjs 2>"$tmp/node.err"
rc=$?
if grep -q 'ERROR: AddressSanitizer\|runtime error:' "$tmp/agent.log" \
	"$tmp/node.err"; then
	echo "FAILED: sanitizer report from the agent:"
	cat "$tmp/agent.log" "$tmp/node.err"
	rc=1
fi
[ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && { keep=1; cat "$tmp/node.err"; }
[ "$fail" -ne 0 ] && [ "$rc" -eq 0 ] && rc=1
exit "$rc"
