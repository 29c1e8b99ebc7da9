#!/bin/bash
# t_memory.sh - what guests and clients send does not grow the agent for good.
#
# An agent, over real HTTP, replaying a trace of hostile guests (every
# exit at a new RIP, every MMIO at a new address: scripts/guestflood.py):
#  - the guests' keys stay within guest-keys (new keys per VM and second)
#    and instrumentation-keys (keys per second of an instrumentation), and
#    what was refused is counted in /metrics and status;
#  - a raw value over raw-values is refused (409, CA's ECA_INVAL) naming
#    ndatapoints;
#  - creates past instrumentation-memory are refused with 409, and a
#    delete gives the room back;
#  - a tenant at its cap sends creates with 200 new predicate constants
#    each (all refused, 409), the operator creates and deletes as many:
#    the symbol table is back where it was;
#  - then on a fresh agent of the optimised build (ASan's allocator keeps
#    what is freed), 1,500 such refused creates and 1,200 such creates and
#    deletes: RSS stays flat (each grew it by ~40 MB before symbols were
#    counted).
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
[ -r /proc/self/status ] || { echo "no /proc/PID/status for RSS"; exit 77; }
. "$TOP/tests/http/agentlib.sh"

OP=op-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
TA=acme-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat >"$tmp/tokens" <<EOF
$OP operator
$TA tenant acme guest0
EOF
chmod 600 "$tmp/tokens"
cat >"$tmp/kvmscope.conf" <<EOF
listen = 127.0.0.1:0
tokens = $tmp/tokens
tenant-instrumentations = 1
guest-keys = 1000
instrumentation-keys = 500
raw-values = 1200
instrumentation-memory = 48
max-body = 65536
EOF
# 2 VMs x 30 s x 2,000 exits and 500 MMIO accesses a second, all new.
python3 "$TOP/scripts/guestflood.py" --vms 2 --seconds 30 --rate 2000 \
	--mmio 500 >"$tmp/flood.txt" || fail "guestflood.py"

start mem http --config "$tmp/kvmscope.conf" --replay "$tmp/flood.txt" \
	--replay-speed 2
echo "agent on $B (pid $pid)"
OPH=(-H "Authorization: Bearer $OP")

rss() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$pid/status"; }

# The guests' instrumentations first, so they see the whole flood.
expect 201 "$OP" POST /ca/instrumentations -d module=vm -d stat=exits \
	-d decomposition=guestrip -d idle-max=0
RIP=$(py 'j["id"]')
expect 201 "$OP" POST /ca/instrumentations -d module=vm -d stat=mmio_ops \
	-d decomposition=gpa -d idle-max=0
GPA=$(py 'j["id"]')

# flood MODE N: N creates over one keep-alive connection, each with 200
# constants never seen before; MODE refused (the tenant at its cap: each
# must be 409) or churn (the operator: 201, then 204 for its delete).
flood() {
	python3 - "$port" "$1" "$2" "$OP" "$TA" <<'PY' || fail "flood $1"
import http.client, json, sys, os
port, mode, n, op, ta = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), \
    sys.argv[4], sys.argv[5]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
tag = os.urandom(6).hex()
base = "/ca/customers/acme/instrumentations" if mode == "refused" \
    else "/ca/instrumentations"
tok = ta if mode == "refused" else op
for i in range(n):
    pred = {"or": [{"eq": ["vleavereason", "%s-%d-%d-%s" % (tag, i, k, "x" * 140)]}
                   for k in range(200)]}
    body = json.dumps({"module": "vm", "stat": "exits", "predicate": pred})
    c.request("POST", base, body, {"Authorization": "Bearer " + tok,
                                   "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    want = 409 if mode == "refused" else 201
    if r.status != want:
        sys.exit("create %d: %d %s" % (i, r.status, data[:300]))
    if mode == "churn":
        c.request("DELETE", "%s/%s" % (base, json.loads(data)["id"]), None,
                  {"Authorization": "Bearer " + tok})
        r = c.getresponse()
        r.read()
        if r.status != 204:
            sys.exit("delete %d: %d" % (i, r.status))
PY
}

nohost() {	# /metrics without the hostname label every line has
	sed 's/{hostname="[^"]*"}//; s/{hostname="[^"]*",/{/' "$tmp/body"
}

metric() {	# NAME[{labels}]: its value in /metrics
	req "$OP" GET /metrics
	nohost | awk -v m="$1" '$1 == m { print $2 }'
}

# ---- the guests' flood stays within the caps --------------------------------
for _ in $(seq 1 100); do
	grep -q "replay of .* finished" "$tmp/err.mem" && break
	sleep 0.2
done
grep -q "replay of .* finished" "$tmp/err.mem" || fail "the replay did not finish"
sleep 2.5
req "$OP" GET /metrics
nohost >"$tmp/metrics"
gk=$(awk '$1 == "kvmscope_guest_keys_dropped_total" { print $2 }' "$tmp/metrics")
kc=$(awk '$1 == "kvmscope_records_dropped_total{reason=\"keycap\"}" { print $2 }' "$tmp/metrics")
sy=$(awk '$1 == "kvmscope_symbols" { print $2 }' "$tmp/metrics")
echo "guest flood: symbols $sy, guest keys dropped $gk, records dropped by the key cap $kc (at ${SECONDS}s)"
[ "${gk:-0}" -gt 0 ] || fail "no guest key refused by guest-keys"
# 150,000 distinct RIPs and addresses came; what may stay is what the two
# instrumentations' slots hold (500 keys each, 20 s at most) and two
# seconds of new keys (1,000 per VM).
[ "${sy:-999999}" -le $((2 * 500 * 20 + 2 * 2 * 1000 + 100)) ] ||
	fail "$sy symbols after the flood"
expect 200 "$OP" GET /ca/admin/status
T=$(( $(py 'j["now"]') - 40 ))
W="start_time=$T&duration=1"
# keys ID: the most keys a second of the last 40 held, and their sum (two
# seconds a request: within raw-values).
keys() {
	python3 - "$B" "$OP" "$1" "$T" <<'PY' || fail "raw values of $1"
import json, sys, urllib.request
b, tok, iid, t0 = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
most = total = 0
for t in range(t0, t0 + 40, 2):
    q = urllib.request.Request("%s/ca/instrumentations/%s/value/raw?"
                               "start_time=%d&duration=1&ndatapoints=2"
                               % (b, iid, t),
                               headers={"Authorization": "Bearer " + tok})
    for p in json.load(urllib.request.urlopen(q)):
        most = max(most, len(p["value"]))
        total += len(p["value"])
print(most, total)
PY
}
read -r most sum < <(keys "$RIP")
echo "RIPs: at most $most keys a second, $sum in 40 s (at ${SECONDS}s)"
[ "$most" = 500 ] && [ "$sum" -ge 1000 ] || fail "RIP keys: $most a second, $sum"
read -r most sum < <(keys "$GPA")
echo "MMIO addresses: at most $most keys a second, $sum in 40 s (at ${SECONDS}s)"
[ "$most" = 500 ] || fail "gpa keys: $most a second"
expect 200 "$OP" GET /ca/admin/status
check 'j["memory"]["symbols"]["guest_dropped"] > 0'
check 'j["records"]["keycap"] >= 0 and "overbudget" in j["records"]'
check 'j["memory"]["instrumentations"]["budget"] == 48 << 20'

# ---- raw answers are budgeted ----------------------------------------------
# The flood's seconds hold up to 500 keys each: 40 of them are over 1,200
# (what came back in pieces just above).
expect 409 "$OP" GET "/ca/instrumentations/$RIP/value/raw?$W&ndatapoints=40"
check '"ndatapoints" in json.dumps(j) and "raw-values" in json.dumps(j)'
expect 200 "$OP" GET "/ca/instrumentations/$RIP/value/raw?$W&ndatapoints=2"
expect 409 "$OP" GET "/ca/instrumentations/$RIP/value/raw?duration=1&ndatapoints=1201"

# ---- creates are checked against the memory budget ---------------------------
made=()
for i in $(seq 1 200); do
	req "$OP" POST /ca/instrumentations -d module=vm -d stat=exits \
		-d retention-time=3600 -d idle-max=0
	[ "$code" = 201 ] || break
	made+=("$(py 'j["id"]')")
done
[ "$code" = 409 ] || fail "200 instrumentations of an hour fit 48 MiB (last status $code)"
check '"memory budget" in json.dumps(j)'
echo "memory budget: ${#made[@]} instrumentations of 3,600 slots fit 48 MiB, the next got 409 (at ${SECONDS}s)"
[ "$(metric kvmscope_instrumentations_refused_total)" -ge 1 ] ||
	fail "the refusal is not counted"
expect 204 "$OP" DELETE "/ca/instrumentations/${made[0]}"
expect 201 "$OP" POST /ca/instrumentations -d module=vm -d stat=exits \
	-d retention-time=3600 -d idle-max=0
made[0]=$(py 'j["id"]')
for i in "${made[@]}"; do
	expect 204 "$OP" DELETE "/ca/instrumentations/$i"
done

# ---- refused creates and deletes keep no constant ----------------------------
# The guests are done: only the clients change the symbol table now.
sleep 2.5
s0=$(metric kvmscope_symbols)
expect 201 "$TA" POST /ca/customers/acme/instrumentations -d module=vm \
	-d stat=exits
expect 409 "$TA" POST /ca/customers/acme/instrumentations -d module=vm \
	-d stat=exits
flood refused 200
flood churn 200
sleep 2.5	# two sweeps
s1=$(metric kvmscope_symbols)
echo "400 creates with 200 new constants each, refused or deleted: symbols $s0 -> $s1 (at ${SECONDS}s)"
[ "$s1" = "$s0" ] || fail "symbols $s0 -> $s1 after refused and deleted creates"
stop mem

# ---- and the agent's RSS stays flat --------------------------------------------
# Measured on the optimised build: ASan's allocator keeps what is freed.
K=${KVMSCOPE_FAST:-$K}
start rss http --config "$tmp/kvmscope.conf" --sources none
echo "agent on $B (pid $pid, $K)"
expect 201 "$TA" POST /ca/customers/acme/instrumentations -d module=vm \
	-d stat=exits
flood refused 300
r0=$(rss)
flood refused 1200
r1=$(rss)
echo "refused creates: RSS ${r0} MB -> ${r1} MB after 1,200 more (240,000 constants) (at ${SECONDS}s)"
[ $((r1 - r0)) -le 12 ] || fail "1,200 refused creates grew RSS by $((r1 - r0)) MB"
flood churn 200
r0=$(rss)
flood churn 1000
r1=$(rss)
echo "create+delete: RSS ${r0} MB -> ${r1} MB after 1,000 (200,000 constants) (at ${SECONDS}s)"
[ $((r1 - r0)) -le 12 ] || fail "1,000 create+delete grew RSS by $((r1 - r0)) MB"
stop rss
echo "PASS"
