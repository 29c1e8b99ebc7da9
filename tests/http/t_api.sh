#!/bin/bash
# t_api.sh - `kvmscope serve` end to end, driven with curl.
#
# Starts the sanitizer build of the agent on a kernel-chosen free loopback
# port, replaying a real kvm capture in a loop, and walks CA's API:
# instrumentations created from a query string, a form and JSON bodies;
# get, list, modify, clone (both spellings), delete; raw values in every
# arity once data has arrived, checked against each other (the parts of a
# decomposition add up to the scalar); heatmap image (a real PNG),
# details, average, percentile, grid; then a battery of bad requests, each
# of which must get a 4xx JSON error naming the parameter and leave the
# instrumentations as they were.  Finally SIGTERM: exit 0, no sanitizer
# report.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
[ -f "$DATA" ] || DATA=/work/shared/lab/captures/kvm-trace-all-events.txt
command -v curl >/dev/null || { echo "curl is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "python3 is not installed"; exit 77; }
[ -f "$DATA" ] || { echo "no capture to replay"; exit 77; }

tmp=$(mktemp -d /tmp/t_api.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	[ -f "$tmp/body" ] && { echo "last body:"; head -c 2000 "$tmp/body"; echo; }
	echo "agent stderr:"; tail -30 "$tmp/err"
	exit 1
}

"$K" serve --listen 127.0.0.1:0 --replay "$DATA" --replay-loop \
	2>"$tmp/err" &
pid=$!
port=
for _ in $(seq 1 300); do
	port=$(sed -n 's|^kvmscope: listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' \
		"$tmp/err")
	[ -n "$port" ] && break
	kill -0 "$pid" 2>/dev/null || fail "the agent exited at start"
	sleep 0.1
done
[ -n "$port" ] || fail "no 'listening on' line"
B=http://127.0.0.1:$port
echo "agent on $B, replaying $DATA"

# req METHOD PATH [curl args...]: status in $code, body in $tmp/body.
req() {
	code=$(curl -s -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' \
		-X "$1" "$B$2" "${@:3}") || fail "curl $1 $2"
}
# expect STATUS METHOD PATH [curl args...]
expect() {
	local want=$1
	shift
	req "$@"
	[ "$code" = "$want" ] || fail "$1 $2: status $code, wanted $want"
}
# py EXPR: evaluates EXPR with j = the JSON body, h = headers; prints it.
py() {
	python3 - "$tmp/body" "$tmp/hdr" "$1" <<'PY'
import json, sys
body = open(sys.argv[1], "rb").read()
try:
    j = json.loads(body) if body.strip() else None
except ValueError:
    j = None	# not JSON (the web page)
h = {}
for line in open(sys.argv[2]).read().splitlines()[1:]:
    if ":" in line:
        k, v = line.split(":", 1)
        h[k.strip().lower()] = v.strip()
r = eval(sys.argv[3])
print(json.dumps(r) if not isinstance(r, str) else r)
PY
}
# check EXPR: fails unless EXPR is true of the body.
check() {
	[ "$(py "bool($1)")" = true ] || fail "check failed: $1"
}

# ---- self-description -------------------------------------------------
expect 200 GET /ca
check '"vm.exits" in [m["module"] + "." + m["stat"] for m in j["metrics"]]'
check 'h["x-api-version"] == "ca/0.1.8"'
expect 200 GET /ca/metrics
check '"exits" in j["vm"]["stats"]'
# The web UI's page, or the placeholder linking to /ca without it.
expect 200 GET /
check 'h["content-type"].startswith("text/html")'
grep -qi '<html' "$tmp/body" || fail "GET / is not a page"
expect 200 HEAD /ca -I

# ---- create, get, list, modify, clone, delete ---------------------------
expect 201 POST '/ca/instrumentations?module=vm&stat=exits'
check 'j["value-arity"] == "scalar" and h["location"] == j["uri"]'
S=$(py 'j["id"]')
expect 201 POST /ca/instrumentations -d 'module=vm&stat=exits&decomposition=vleavereason'
check 'j["value-arity"] == "discrete-decomposition"'
D=$(py 'j["id"]')
expect 201 POST /ca/instrumentations -H 'Content-Type: application/json' \
	-d '{"module":"vm","stat":"exits","decomposition":["latency"],"retention-time":120}'
check 'j["value-arity"] == "numeric-decomposition" and j["retention-time"] == 120'
N=$(py 'j["id"]')
expect 201 POST /ca/customers/acme/instrumentations -H 'Content-Type: application/json' \
	-d '{"module":"vm","stat":"exits","decomposition":"vleavereason,latency"}'
check 'j["value-dimension"] == 3 and j["uri"].startswith("/ca/customers/acme/")'
DN=$(py 'j["id"]')
expect 200 GET "/ca/instrumentations/$D"
check "j['id'] == '$D' and j['decomposition'] == ['vleavereason']"
expect 200 PUT "/ca/instrumentations/$N" -H 'Content-Type: application/json' \
	-d '{"retention-time":300,"idle-max":600}'
check 'j["retention-time"] == 300 and j["idle-max"] == 600'
expect 201 POST "/ca/instrumentations/$D/clone" -d decomposition=vcpu
check 'j["decomposition"] == ["vcpu"]'
C1=$(py 'j["id"]')
expect 201 POST "/ca/instrumentations/$D?action=clone"
check 'j["decomposition"] == ["vleavereason"]'
C2=$(py 'j["id"]')
expect 200 GET /ca/instrumentations
check 'len(j) == 6'
expect 204 DELETE "/ca/instrumentations/$C1"
expect 204 DELETE "/ca/customers/acme/instrumentations/$C2"
expect 404 GET "/ca/instrumentations/$C1"
expect 200 GET /ca/instrumentations
check "sorted(i['id'] for i in j) == sorted(['$S', '$D', '$N', '$DN'])"

# ---- values once data has arrived ----------------------------------------
# The window starts after every instrumentation existed and is complete
# (two seconds behind the clock) before it is read.
expect 200 GET /ca/admin/status
t0=$(( $(py 'j["now"]') + 1 ))
for _ in $(seq 1 150); do
	expect 200 GET /ca/admin/status
	now=$(py 'j["now"]')
	[ "$now" -ge $((t0 + 6)) ] && break
	sleep 0.2
done
[ "$now" -ge $((t0 + 6)) ] || fail "the engine clock does not advance"
check 'j["replay"]["records"] > 0 and j["instrumentations"] == 4'
T="start_time=$t0&duration=4"
expect 200 GET "/ca/instrumentations/$S/value/raw"
check 'j["value"] > 0'
expect 200 GET "/ca/instrumentations/$S/value/raw?$T"
check "j['start_time'] == $t0 and j['duration'] == 4"
total=$(py 'j["value"]')
[ "$total" -gt 0 ] || fail "no exits in the window"
expect 200 GET "/ca/instrumentations/$D/value/raw?$T"
check "sum(j['value'].values()) == $total"
expect 200 GET "/ca/instrumentations/$N/value/raw?$T"
check 'all(len(b) == 2 and b[0][0] <= b[0][1] and b[1] > 0 for b in j["value"])'
check 'all(a[0][1] < b[0][0] for a, b in zip(j["value"], j["value"][1:]))'
ntotal=$(py 'sum(b[1] for b in j["value"])')
# Exits without a following entry have no latency: never more than all.
[ "$ntotal" -gt 0 ] && [ "$ntotal" -le "$total" ] ||
	fail "latency total $ntotal vs exits $total"
expect 200 GET "/ca/customers/acme/instrumentations/$DN/value/raw?$T"
check "sum(b[1] for d in j['value'].values() for b in d) == $ntotal"
expect 200 GET "/ca/instrumentations/$S/value/raw?start_time=$t0&duration=1&ndatapoints=4"
check "isinstance(j, list) and len(j) == 4 and sum(p['value'] for p in j) == $total"

# ---- heatmaps ---------------------------------------------------------------
expect 200 GET "/ca/instrumentations/$N/value/heatmap"
check '[e["name"] for e in j][:4] == ["image", "details", "average", "percentile"]'
expect 200 GET "/ca/instrumentations/$N/value/heatmap/image?$T&width=200&height=100"
check 'j["width"] == 200 and j["height"] == 100 and j["ymax"] > j["ymin"]'
check '__import__("base64").b64decode(j["image"])[:8] == b"\x89PNG\r\n\x1a\n"'
ymax=$(py 'j["ymax"]')
expect 200 GET "/ca/instrumentations/$N/value/heatmap/grid?$T&ymax=$ymax&nbuckets=20"
check '"grid" in j and "image" not in j'
expect 200 GET "/ca/instrumentations/$N/value/heatmap/details?$T&ymax=$ymax&x=3&y=299"
check '"bucket_time" in j and "total" in j'
expect 200 GET "/ca/instrumentations/$N/value/heatmap/average?$T&ymax=$ymax"
check '"average" in j and not isinstance(j["average"], list) and len(j["averages"]) == len(j["times"])'
expect 200 GET "/ca/instrumentations/$N/value/heatmap/percentile?$T&ymax=$ymax&percentile=0.9"
check '"percentile" in j and not isinstance(j["percentile"], list) and len(j["percentiles"]) == len(j["times"])'
expect 200 GET "/ca/customers/acme/instrumentations/$DN/value/heatmap/image?$T&decompose_all=true"
check 'len(j["present"]) > 0'

# ---- bad requests: a 4xx JSON error naming the parameter, nothing changed ----
expect 200 GET /ca/instrumentations
py 'sorted(json.dumps(i, sort_keys=True) for i in j)' >"$tmp/before"
big=$tmp/big
head -c 5000 /dev/zero | tr '\0' a >"$big"
bad() {	# STATUS PARAM METHOD PATH [curl args...]
	local want=$1 param=$2
	shift 2
	expect "$want" "$@"
	# CA's error shape; our param inside it; CA's CORS header.
	check "j['error']['param'] == '$param' and j['error']['code'] == ('ECA_NOENT' if $want == 404 else 'ECA_INVAL') and j['error']['message']"
	check "h['access-control-allow-origin'] == '*'"
	expect 200 GET /ca/instrumentations
	py 'sorted(json.dumps(i, sort_keys=True) for i in j)' >"$tmp/after"
	cmp -s "$tmp/before" "$tmp/after" || fail "$* changed the instrumentations"
}
J='Content-Type: application/json'
bad 409 module POST /ca/instrumentations -d stat=exits
bad 409 stat POST '/ca/instrumentations?module=vm&stat=nope'
bad 409 granularity POST /ca/instrumentations -d 'module=vm&stat=exits&granularity=7'
bad 409 decomposition POST /ca/instrumentations -H "$J" \
	-d '{"module":"vm","stat":"exits","decomposition":["nosuch"]}'
bad 409 predicate POST /ca/instrumentations -H "$J" \
	-d '{"module":"vm","stat":"exits","predicate":{"lt":["vleavereason",3]}}'
bad 409 predicate POST /ca/instrumentations -d 'module=vm&stat=exits&predicate={bad'
bad 409 retention-time POST /ca/instrumentations -d 'module=vm&stat=exits&retention-time=5'
bad 409 body POST /ca/instrumentations -H "$J" -d '{"module":'
bad 409 body POST /ca/instrumentations -H "$J" -d '["module"]'
# CA: a body of another media type is not read (so: no module); multipart 415.
bad 409 module POST /ca/instrumentations -H 'Content-Type: text/plain' -d module=vm
bad 415 Content-Type POST /ca/instrumentations -F module=vm
bad 413 body POST /ca/instrumentations --data-binary @"$big"
bad 413 body POST /ca/instrumentations -H 'Transfer-Encoding: chunked' --data-binary @"$big"
bad 409 X-API-Version POST /ca/instrumentations -H 'X-API-Version: 2' -d 'module=vm&stat=exits'
bad 409 idle-max PUT "/ca/instrumentations/$N" -d idle-max=-1
bad 404 id PUT /ca/instrumentations/424242 -d retention-time=60
bad 404 id DELETE /ca/instrumentations/424242
bad 404 id POST /ca/instrumentations/424242/clone
bad 409 action POST "/ca/instrumentations/$D?action=launch"
bad 409 granularity POST "/ca/instrumentations/$D/clone" -d granularity=3
bad 404 '' GET /ca/nothing/here
bad 404 '' GET /ca//instrumentations
bad 404 method PATCH /ca/instrumentations
bad 404 method PUT /ca/instrumentations
bad 404 method DELETE /ca
bad 409 duration GET "/ca/instrumentations/$S/value/raw?duration=99999"
bad 409 start_time GET "/ca/instrumentations/$S/value/raw?start_time=soon"
bad 409 start_time GET "/ca/instrumentations/$S/value/raw?start_time=$((now + 3600))"
bad 409 ndatapoints GET "/ca/instrumentations/$S/value/raw?ndatapoints=0"
bad 404 id GET "/ca/instrumentations/$S/value/heatmap/image"
bad 409 width GET "/ca/instrumentations/$N/value/heatmap/image?width=100000"
bad 409 ymax GET "/ca/instrumentations/$N/value/heatmap/image?ymin=50&ymax=10"
bad 409 hues GET "/ca/instrumentations/$N/value/heatmap/image?hues=400"
bad 409 percentile GET "/ca/instrumentations/$N/value/heatmap/percentile?percentile=1.5"
bad 409 ndatapoints GET "/ca/instrumentations/$N/value/heatmap/image?start_time=$((now - 11000))&duration=3600&ndatapoints=3"
bad 409 y GET "/ca/instrumentations/$N/value/heatmap/details?x=1&y=5000"
bad 400 path GET '/ca/instrumentations/%0A'
# What CA ignored is ignored: unknown parameters, and on PUT what cannot
# change.
expect 200 GET "/ca/instrumentations/$S/value/raw?frob=1&profile=none"
expect 200 PUT "/ca/instrumentations/$N" -d 'module=nic&granularity=5&frob=1'
check 'j["module"] == "vm" and j["granularity"] != 5'
expect 200 GET "/ca/instrumentations/$S/value/raw"

# ---- clean exit ---------------------------------------------------------------
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ "$rc" -eq 0 ] || fail "the agent exited with $rc after SIGTERM"
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/err"; then
	fail "sanitizer report"
fi
grep -q 'kvmscope serve: stopping' "$tmp/err" || fail "no clean stop"
echo "api ok"
