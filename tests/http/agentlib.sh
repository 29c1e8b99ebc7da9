# agentlib.sh - shared by the access-control, TLS and config tests: start
# an agent and wait for its address, make requests with curl, evaluate
# Python expressions on JSON answers, and merge two captures into one
# trace of a host running both VMs.  Source it after setting K (the binary)
# and TOP; it makes $tmp and cleans it (and the agents) up on exit.

command -v curl >/dev/null || { echo "curl is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "python3 is not installed"; exit 77; }

tmp=$(mktemp -d /tmp/kvmscope-http.XXXXXX)
chmod 700 "$tmp"
agents=()
cleanup() {
	for p in "${agents[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	[ -f "$tmp/body" ] && { echo "last body:"; head -c 1500 "$tmp/body"; echo; }
	for f in "$tmp"/err*; do
		[ -f "$f" ] && { echo "== $f"; tail -15 "$f"; }
	done
	exit 1
}

# start NAME SCHEME ARGS...: starts `kvmscope serve ARGS` with stderr in
# $tmp/err.NAME; waits for "listening on SCHEME://HOST:PORT/"; sets $pid,
# $port and $B (the base URL).
start() {
	local name=$1 scheme=$2
	shift 2
	"$K" serve "$@" 2>"$tmp/err.$name" &
	pid=$!
	agents+=("$pid")
	port=
	for _ in $(seq 1 300); do
		port=$(sed -n "s|^kvmscope: listening on $scheme://127\.0\.0\.1:\([0-9]*\)/\$|\1|p" \
			"$tmp/err.$name")
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || fail "$name exited at start"
		sleep 0.1
	done
	[ -n "$port" ] || fail "$name: no 'listening on $scheme://' line"
	B=$scheme://127.0.0.1:$port
}

# stop: SIGTERM the last agent; it must exit 0 without sanitizer reports.
stop() {
	local rc name=$1
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || fail "$name exited with $rc after SIGTERM"
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' \
		"$tmp/err.$name"; then
		fail "$name: sanitizer report"
	fi
}

# req TOKEN METHOD PATH [curl args...]: status in $code, body in
# $tmp/body, headers in $tmp/hdr.  TOKEN "-" sends no Authorization.
req() {
	local tok=$1 m=$2 path=$3
	shift 3
	local auth=()
	[ "$tok" != - ] && auth=(-H "Authorization: Bearer $tok")
	code=$(curl -s -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' \
		"${CURL_EXTRA[@]}" "${auth[@]}" -X "$m" "$B$path" "$@") ||
		fail "curl $m $path"
}
CURL_EXTRA=()

# expect STATUS TOKEN METHOD PATH [curl args...]
expect() {
	local want=$1
	shift
	req "$@"
	[ "$code" = "$want" ] || fail "$2 $3 (token ${1:0:6}): status $code, wanted $want"
}

# py EXPR: prints EXPR evaluated with j = the JSON body, h = headers.
py() {
	python3 - "$tmp/body" "$tmp/hdr" "$1" <<'PY'
import json, sys
body = open(sys.argv[1], "rb").read()
try:
    j = json.loads(body) if body.strip() else None
except ValueError:
    j = None
h = {}
for line in open(sys.argv[2]).read().splitlines()[1:]:
    if ":" in line:
        k, v = line.split(":", 1)
        h[k.strip().lower()] = v.strip()
r = eval(sys.argv[3])
print(json.dumps(r) if not isinstance(r, str) else r)
PY
}

check() {
	[ "$(py "bool($1)")" = true ] || fail "check failed: $1"
}

# merge_traces OUT A B: one tracefs text holding both captures' events, B's
# timestamps shifted so both start together, ordered by time, as a host
# running both VMs would have traced them.
merge_traces() {
	local out=$1 a=$2 b=$3
	awk -v file=0 '
	FNR == 1 { file++ }
	/^#/ { if (file == 1) print > "/dev/stderr"; next }
	{
		for (i = 1; i <= NF; i++)
			if ($i ~ /^[0-9]+\.[0-9]+:$/) break
		if (i > NF) next
		t = substr($i, 1, length($i) - 1) + 0
		if (!(file in first)) first[file] = t
		if (file == 2) t = t - first[2] + first[1]
		s = sprintf("%.6f:", t)
		line = $0
		sub(/[0-9]+\.[0-9]+:/, s, line)
		printf "%.6f\t%d\t%s\n", t, NR, line
	}' "$a" "$b" 2>"$out.head" | sort -t "$(printf '\t')" -k1,1n -k2,2n |
		cut -f3- >"$out.body"
	cat "$out.head" "$out.body" >"$out"
	rm -f "$out.head" "$out.body"
}

# wait_now BASE_TOKEN PATH SECONDS: waits until the engine clock (GET
# PATH's "now") reaches $t0 + SECONDS.
wait_now() {
	local tok=$1 path=$2 secs=$3
	for _ in $(seq 1 200); do
		expect 200 "$tok" GET "$path"
		now=$(py 'j["now"]')
		[ "$now" -ge $((t0 + secs)) ] && return 0
		sleep 0.2
	done
	fail "the engine clock does not advance"
}
