#!/bin/bash
# t_auth.sh - access control end to end: an operator and two tenants on one
# agent replaying two real captures as one host (VM "qemu-system-x86" is
# tenant acme's, VM "kvmtest" tenant beta's).
#
# First the operator's view shows both VMs counting, so that the rest is
# not vacuous; then every way for acme to see beta's VM is tried: GET /ca,
# the operator's routes, beta's routes, listing, ids (get, value, heatmap,
# details, modify, delete, clone), values decomposed by vm and pid, a
# predicate naming beta's VM, heatmap keys and details, status, /metrics,
# and every error message.  Each must fail or show nothing of beta; acme's
# own numbers must equal the operator's for acme's VM.  The tenant cap and
# the token checks (missing, wrong, group-readable file) come from a
# config file, so it is exercised too.  Ids are numbered per namespace
# (CA's /ca/customers/:custid/instrumentations/:id): at the end acme does
# the same things on two fresh agents, on one of which the operator and
# beta are busy too, and must get the very same answers from both.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
A=$TOP/tests/data/kvm-trace-qemu-l2.head3000.txt
Bt=$TOP/tests/data/kvm-trace-all-events.txt
for f in "$A" "$Bt"; do
	[ -f "$f" ] || { echo "no capture $f"; exit 77; }
done
. "$TOP/tests/http/agentlib.sh"

VA=qemu-system-x86
VB=kvmtest
OP=op-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
TA=acme-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
TB=beta-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
merge_traces "$tmp/host.txt" "$A" "$Bt"

cat >"$tmp/tokens" <<EOF
# kvmscope tokens
$OP operator
$TA tenant acme $VA
$TB tenant beta $VB
EOF
cat >"$tmp/kvmscope.conf" <<EOF
listen = 127.0.0.1:0
tokens = $tmp/tokens
tenant-instrumentations = 3
peers = otherhost=http://192.0.2.9:23181/
EOF

# A token file others can read is refused, naming the config line.
chmod 644 "$tmp/tokens"
"$K" serve --config "$tmp/kvmscope.conf" --replay "$tmp/host.txt" \
	2>"$tmp/err.mode" && fail "started with a world-readable token file"
grep -q "kvmscope.conf:2: key \"tokens\".*chmod 600" "$tmp/err.mode" ||
	fail "no clear error for the token file's mode"
grep -q "$OP" "$tmp/err.mode" && fail "the error quotes a token"
chmod 600 "$tmp/tokens"

start auth http --config "$tmp/kvmscope.conf" --replay "$tmp/host.txt" \
	--replay-loop
echo "agent on $B"
CA=/ca/customers/acme
CB=/ca/customers/beta
J=(-H 'Content-Type: application/json')

# Every answer acme gets is kept, to check none names beta's VM.
alog=$tmp/acme-answers
: >"$alog"
acme() {	# STATUS METHOD PATH [curl args...]
	expect "$1" "$TA" "${@:2}"
	case "${*:2}" in
	*"$VB"*) ;;	# acme wrote beta's name itself: may be echoed
	*) { echo "== ${*:2}"; cat "$tmp/hdr" "$tmp/body"; echo; } >>"$alog";;
	esac
}

# ---- authentication ------------------------------------------------------
expect 401 - GET /ca
check 'h["www-authenticate"] == "Bearer realm=\"kvmscope\"" and j["error"]["param"] == "Authorization"'
expect 401 - GET "$CA/instrumentations"
expect 401 - GET /metrics
expect 401 "x$OP" GET /ca
expect 401 "${OP%?}" GET /ca
expect 200 - GET /
expect 200 "$OP" GET /ca

# ---- the operator sees both VMs --------------------------------------------
expect 201 "$OP" POST /ca/instrumentations "${J[@]}" \
	-d '{"module":"vm","stat":"exits","decomposition":["vm"]}'
OVM=$(py 'j["id"]')
expect 201 "$OP" POST /ca/instrumentations "${J[@]}" \
	-d '{"module":"vm","stat":"exits","decomposition":["latency"]}'
OLAT=$(py 'j["id"]')

# ---- what acme makes, and beta ---------------------------------------------
acme 201 POST "$CA/instrumentations" "${J[@]}" \
	-d '{"module":"vm","stat":"exits","decomposition":["vm","latency"]}'
AVM=$(py 'j["id"]')
check 'j["uri"].startswith("/ca/customers/acme/") and j["predicate"] == {}'
acme 201 POST "$CA/instrumentations" "${J[@]}" \
	-d "{\"module\":\"vm\",\"stat\":\"exits\",\"predicate\":{\"eq\":[\"vm\",\"$VB\"]}}"
APRED=$(py 'j["id"]')
check "j['predicate'] == {'eq': ['vm', '$VB']}"
acme 201 POST "$CA/instrumentations" -d 'module=vm&stat=exits'
ASCALAR=$(py 'j["id"]')
expect 201 "$TB" POST "$CB/instrumentations" "${J[@]}" \
	-d '{"module":"vm","stat":"exits","decomposition":["vm","latency"]}'
BVM=$(py 'j["id"]')
# Each namespace numbers its own.
[ "$OVM $OLAT $AVM $APRED $ASCALAR $BVM" = "1 2 1 2 3 1" ] ||
	fail "ids are not per namespace: $OVM $OLAT $AVM $APRED $ASCALAR $BVM"

# The cap (3, from the config file) counts acme's alone.
acme 409 POST "$CA/instrumentations" -d 'module=vm&stat=exits'
check '"at most 3" in j["error"]["message"]'
expect 201 "$TB" POST "$CB/instrumentations" -d 'module=vm&stat=exits'
BS=$(py 'j["id"]')
# Ids that exist in beta's and the operator's namespaces but not acme's:
# beta's 4 (a deleted 3 is not reused), the operator's 4 and 5.
expect 201 "$TB" POST "$CB/instrumentations" -d 'module=vm&stat=exits'
expect 204 "$TB" DELETE "$CB/instrumentations/3"
expect 201 "$TB" POST "$CB/instrumentations" -d 'module=vm&stat=exits'
B4=$(py 'j["id"]')
for want in 3 4 5; do
	expect 201 "$OP" POST /ca/instrumentations -d 'module=vm&stat=irqs'
	[ "$(py 'j["id"]')" = "$want" ] || fail "operator's id $want: $(cat "$tmp/body")"
done
[ "$B4" = 4 ] || fail "beta's id after a delete: $B4"

# ---- routes that are not acme's ------------------------------------------
for p in /ca /ca/instrumentations /ca/admin/status /ca/metrics /metrics \
	"/ca/instrumentations/$OVM"; do
	acme 403 GET "$p"
	check "'/ca/customers/acme/' in j['error']['message']"
done
for p in instrumentations "instrumentations/$BVM" "instrumentations/$BVM/value/raw" \
	admin/status ""; do
	expect 404 "$TA" GET "$CB/$p"
	py '[j["error"]["code"], j["error"]["param"], j["error"]["message"].replace("beta", "X")]' >"$tmp/beta404"
	expect 404 "$TA" GET "/ca/customers/nosuch/$p"
	py '[j["error"]["code"], j["error"]["param"], j["error"]["message"].replace("nosuch", "X")]' >"$tmp/none404"
	cmp -s "$tmp/beta404" "$tmp/none404" ||
		fail "beta's routes answer differently from a missing tenant's ($p)"
done
expect 404 "$TA" POST "$CB/instrumentations" -d 'module=vm&stat=exits'
expect 404 "$TA" DELETE "$CB/instrumentations/$BVM"

# ---- ids of other namespaces ------------------------------------------------
# 4 and 5 exist, but not in acme's namespace; 999 exists nowhere.  The
# answers are the same but for the id.
for id in 4 5 999; do
	acme 404 GET "$CA/instrumentations/$id"
	py "[j['error']['code'], j['error']['param'], j['error']['message'].replace('\"$id\"', 'ID')]" \
		>"$tmp/404.$id"
done
cmp -s "$tmp/404.4" "$tmp/404.999" && cmp -s "$tmp/404.5" "$tmp/404.999" ||
	fail "another namespace's id answers differently from no id: $(cat "$tmp"/404.*)"
grep -q ID "$tmp/404.999" || fail "the 404 does not name the id: $(cat "$tmp/404.999")"
for id in "$B4" 5; do
	for tail in "" /value /value/raw /value/heatmap /value/heatmap/image \
		"/value/heatmap/details?x=1&y=1&ymax=100" \
		"/value/heatmap/average?ymax=100" \
		"/value/heatmap/percentile?percentile=0.5"; do
		acme 404 GET "$CA/instrumentations/$id$tail"
		check 'j["error"]["param"] == "id"'
	done
	acme 404 PUT "$CA/instrumentations/$id" -d retention-time=60
	acme 404 DELETE "$CA/instrumentations/$id"
	acme 404 POST "$CA/instrumentations/$id/clone"
	acme 404 POST "$CA/instrumentations/$id?action=clone"
done
expect 200 "$TB" GET "$CB/instrumentations/$B4"	# still there
expect 200 "$OP" GET /ca/instrumentations/5

# Lists per namespace.
acme 200 GET "$CA/instrumentations"
check "sorted(i['id'] for i in j) == sorted(['$AVM', '$APRED', '$ASCALAR'])"
expect 200 "$TB" GET "$CB/instrumentations"
check "sorted(i['id'] for i in j) == sorted(['$BVM', '$BS', '$B4'])"
expect 200 "$OP" GET /ca/instrumentations
check "sorted(i['id'] for i in j) == ['1', '2', '3', '4', '5']"
# The operator sees and manages every tenant's through CA's customer URIs.
expect 200 "$OP" GET "$CA/instrumentations"
check "sorted(i['id'] for i in j) == sorted(['$AVM', '$APRED', '$ASCALAR']) and all(i['uri'].startswith('$CA/') for i in j)"
expect 200 "$OP" GET "$CB/instrumentations/$B4"
expect 200 "$OP" PUT "$CB/instrumentations/$B4" -d retention-time=60
check 'j["retention-time"] == 60'
expect 204 "$OP" DELETE "$CB/instrumentations/$B4"
expect 404 "$TB" GET "$CB/instrumentations/$B4"
expect 200 "$OP" GET /ca/instrumentations/4	# the operator's own 4 stays
expect 404 "$OP" GET /ca/customers/nosuch/instrumentations

# ---- the host's fields are not a tenant's -------------------------------------
acme 409 POST "$CA/instrumentations" -d 'module=vm&stat=exits&decomposition=pid'
check 'j["error"]["param"] == "decomposition"'
acme 409 POST "$CA/instrumentations" "${J[@]}" \
	-d '{"module":"vm","stat":"exits","predicate":{"eq":["pid","1"]}}'
check 'j["error"]["param"] == "predicate"'
# A field a metric lacks: the error lists the metric's fields, without
# the host's (whatever the error's status and shape).
for bad in 'decomposition=nosuch' 'predicate={"eq":["nosuch","1"]}'; do
	req "$TA" POST "$CA/instrumentations" --data-urlencode "$bad" \
		-d 'module=vm&stat=exits'
	case $code in 4??) ;; *) fail "tenant $bad: status $code";; esac
	check 'b"fields: " in body and b"vcpu" in body and b"pid" not in body'
	req "$OP" POST /ca/instrumentations --data-urlencode "$bad" \
		-d 'module=vm&stat=exits'
	check 'b"fields: " in body and b"pid" in body'
done
acme 200 GET "$CA"
check '"pid" not in j["fields"] and all("pid" not in m["fields"] for m in j["metrics"])'
check 'all("vm" in m["fields"] for m in j["metrics"])'
acme 200 GET "$CA/metrics"
check 'all("pid" not in s["fields"] for m in j.values() for s in m["stats"].values())'
expect 200 "$OP" GET /ca
check '"pid" in j["fields"]'

# ---- values once data has arrived ---------------------------------------------
expect 200 "$OP" GET /ca/admin/status
check 'j["peers"] == [{"label": "otherhost", "url": "http://192.0.2.9:23181/"}]'
t0=$(( $(py 'j["now"]') + 1 ))
wait_now "$OP" /ca/admin/status 5
T="start_time=$t0&duration=3"
expect 200 "$OP" GET "/ca/instrumentations/$OVM/value/raw?$T"
check "j['value'].get('$VA', 0) > 0 and j['value'].get('$VB', 0) > 0"
opA=$(py "j['value']['$VA']")
opB=$(py "j['value']['$VB']")
echo "operator: $VA $opA exits, $VB $opB exits in [$t0, +3)"

acme 200 GET "$CA/instrumentations/$ASCALAR/value/raw?$T"
check "j['value'] == $opA"
acme 200 GET "$CA/instrumentations/$AVM/value/raw?$T"
check "list(j['value']) == ['$VA']"
acme 200 GET "$CA/instrumentations/$APRED/value/raw?$T"
check "j['value'] == 0"
expect 200 "$TB" GET "$CB/instrumentations/$BVM/value/raw?$T"
check "list(j['value']) == ['$VB'] and sum(c for _, c in j['value']['$VB']) <= $opB"
expect 200 "$TB" GET "$CB/instrumentations/$BS/value/raw?$T"
check "j['value'] == $opB"
acme 200 GET "$CA/instrumentations/$AVM/value/raw?start_time=$t0&duration=1&ndatapoints=3"
check "all(list(p['value']) in ([], ['$VA']) for p in j)"

# Heatmaps: the keys present and details are acme's VM only.
acme 200 GET "$CA/instrumentations/$AVM/value/heatmap/image?$T&decompose_all=true"
check "j['present'] == ['$VA']"
ymax=$(py 'j["ymax"]')
for x in 10 100 300 500; do
	for y in 0 150 299; do
		acme 200 GET "$CA/instrumentations/$AVM/value/heatmap/details?$T&ymax=$ymax&x=$x&y=$y&decompose_all=true"
		check "set(j.get('present', {})) <= {'$VA'}"
	done
done
acme 200 GET "$CA/instrumentations/$AVM/value/heatmap/image?$T&selected=$VB"
check "'$VB' not in j.get('present', [])"

# A tenant's status: no host counters, no replay file, no sources, no
# other hosts (peers).
acme 200 GET "$CA/admin/status"
check 'sorted(j) == ["api_version", "instrumentations", "now", "service"] and j["instrumentations"] == 3'

# /metrics is the operator's.
acme 403 GET /metrics
expect 200 "$OP" GET /metrics
check 'h["content-type"].startswith("text/plain")'

# No answer names beta's VM, errors included, except where acme's own
# predicate is shown back to it.
acme 409 POST "$CA/instrumentations" -d 'module=vm&stat=exits&decomposition=nosuch'
acme 409 GET "$CA/instrumentations/$AVM/value/raw?start_time=soon"
acme 404 GET "$CA/nothing"
acme 404 PATCH "$CA/instrumentations"
own="{\"eq\":\[\"vm\",\"$VB\"\]}"
if sed "s/$own//g" "$alog" | grep -q "$VB"; then
	sed "s/$own//g" "$alog" | grep -n "$VB" | head -5
	fail "an answer to acme names $VB"
fi
grep -q "$VA" "$alog" || fail "the answer log is empty: the check above is vacuous"
grep -q -e otherhost -e 192.0.2.9 "$alog" && fail "an answer to acme names another host (peers)"

stop auth

# ---- ownership survives kill -9 with a state file --------------------------
# acme's instrumentation comes back to acme (same id, its own predicate,
# still limited to its VM); beta and the operator still get 404 for it.
start persist http --config "$tmp/kvmscope.conf" --replay "$tmp/host.txt" \
	--replay-loop --state "$tmp/state.db"
ppred='{"ne":["vleavereason","hlt"]}'
acme 201 POST "$CA/instrumentations" "${J[@]}" \
	-d "{\"module\":\"vm\",\"stat\":\"exits\",\"decomposition\":[\"vm\"],\"predicate\":$ppred}"
PID1=$(py 'j["id"]')
expect 201 "$OP" POST /ca/instrumentations -d 'module=vm&stat=irqs'
expect 201 "$OP" POST /ca/instrumentations "${J[@]}" \
	-d '{"module":"vm","stat":"exits"}'
OPID=$(py 'j["id"]')
[ "$PID1 $OPID" = "1 2" ] || fail "ids with a state file: $PID1 $OPID"
{ kill -9 "$pid"; wait "$pid"; } 2>/dev/null
start persist2 http --config "$tmp/kvmscope.conf" --replay "$tmp/host.txt" \
	--replay-loop --state "$tmp/state.db"
grep -q "3 instrumentations restored" "$tmp/err.persist2" ||
	fail "restart: $(cat "$tmp/err.persist2")"
acme 200 GET "$CA/instrumentations"
[ "$(py "[i['id'] for i in j] == ['$PID1']")" = true ] ||
	fail "acme's list after restart: $(cat "$tmp/body")"
acme 200 GET "$CA/instrumentations/$PID1"
[ "$(py "json.dumps(j['predicate'], separators=(',', ':')) == '$ppred' and j['uri'] == '$CA/instrumentations/$PID1'")" = true ] ||
	fail "acme's instrumentation after restart: $(cat "$tmp/body")"
expect 404 "$TB" GET "$CB/instrumentations/$PID1"
expect 404 "$TB" GET "$CB/instrumentations/$PID1/value/raw"
expect 200 "$OP" GET "/ca/instrumentations/$PID1"	# the operator's own 1
check 'j["stat"] == "irqs"'
expect 200 "$OP" GET "/ca/instrumentations/$OPID"
acme 404 GET "$CA/instrumentations/$OPID"
# Each namespace's sequence goes on after its restored ids.
acme 201 POST "$CA/instrumentations" -d 'module=vm&stat=exits'
check 'j["id"] == "2"'
expect 201 "$TB" POST "$CB/instrumentations" -d 'module=vm&stat=exits'
check 'j["id"] == "1"'
expect 201 "$OP" POST /ca/instrumentations -d 'module=vm&stat=exits'
check 'j["id"] == "3"'
# Still limited to acme's VM: whatever it counts is acme's.
for _ in $(seq 1 50); do
	acme 200 GET "$CA/instrumentations/$PID1/value/raw"
	[ "$(py "'$VA' in (j['value'] or {})")" = true ] && break
	sleep 0.2
done
[ "$(py "set(j['value']) == {'$VA'}")" = true ] ||
	fail "acme's restored instrumentation counts other VMs or nothing: $(cat "$tmp/body")"
stop persist2

# ---- acme's ids and answers say nothing of others -----------------------------
# The same requests of acme's on two fresh agents; on the busy one the
# operator and beta create (and beta deletes) between acme's first and
# second create.  Every answer acme gets - ids, lists, objects, errors,
# status - must be the same on both, the clock (crtime, now) apart.
view() {	# METHOD PATH [curl args...]: acme's request, logged
	req "$TA" "$@"
	{
		echo "== $1 $2 -> $code"
		py '__import__("re").sub(r"\"(crtime|now)\": [0-9]+", "\"\\1\": T", json.dumps(j, sort_keys=True)) + " location=" + h.get("location", "-")'
	} >>"$vlog"
}
others() {
	for _ in 1 2 3 4; do
		expect 201 "$OP" POST /ca/instrumentations -d 'module=vm&stat=exits'
	done
	expect 201 "$TB" POST "$CB/instrumentations" -d 'module=vm&stat=exits'
	local first
	first=$(py 'j["id"]')
	expect 201 "$TB" POST "$CB/instrumentations" -d 'module=vm&stat=irqs'
	expect 204 "$TB" DELETE "$CB/instrumentations/$first"
	expect 201 "$TB" POST "$CB/instrumentations" -d 'module=vm&stat=exits'
}
scenario() {	# NAME quiet|busy
	start "$1" http --config "$tmp/kvmscope.conf" --replay "$tmp/host.txt" \
		--replay-loop
	vlog=$tmp/view.$1
	: >"$vlog"
	view POST "$CA/instrumentations" -d 'module=vm&stat=exits&decomposition=vm'
	[ "$2" = busy ] && others
	view POST "$CA/instrumentations" "${J[@]}" \
		-d "{\"module\":\"vm\",\"stat\":\"exits\",\"predicate\":{\"eq\":[\"vm\",\"$VA\"]}}"
	view GET "$CA/instrumentations"
	view GET "$CA/instrumentations/1"
	view GET "$CA/instrumentations/2"
	for id in 3 4 5 999 01 x; do
		view GET "$CA/instrumentations/$id"
		view GET "$CA/instrumentations/$id/value/raw"
		view GET "$CA/instrumentations/$id/value/heatmap/image"
		view PUT "$CA/instrumentations/$id" -d retention-time=60
		view DELETE "$CA/instrumentations/$id"
		view POST "$CA/instrumentations/$id/clone"
	done
	view POST "$CA/instrumentations/1/clone" -d granularity=5
	view GET "$CA/admin/status"
	view POST "$CA/instrumentations" -d 'module=vm&stat=exits'
	view DELETE "$CA/instrumentations/3"
	view POST "$CA/instrumentations" -d 'module=vm&stat=exits'
	view GET "$CA/instrumentations"
	view GET "$CA/instrumentations/4"
	stop "$1"
}
scenario quiet quiet
scenario busy busy
grep -q '"id": "4"' "$tmp/view.quiet" || fail "the view is vacuous: $(cat "$tmp/view.quiet")"
[ "$(grep -c -- '-> 404' "$tmp/view.quiet")" -ge 30 ] ||
	fail "too few 404s in the view: $(cat "$tmp/view.quiet")"
diff "$tmp/view.quiet" "$tmp/view.busy" >"$tmp/view.diff" ||
	fail "acme's answers depend on what others do: $(head -20 "$tmp/view.diff")"

echo "auth ok: $(grep -c '^== ' "$alog") answers to acme, none naming $VB"
