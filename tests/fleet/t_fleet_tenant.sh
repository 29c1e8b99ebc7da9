#!/bin/bash
# t_fleet_tenant.sh - tenants of `kvmscope fleet`: each sees the sum of
# its own VMs across agents, exactly, and nothing of anyone else's.
#
# Four agents (`kvmscope serve --replay --replay-vm-prefix`, --hostname
# host1..host4, one token file, --tenant-label tenant) replay the real
# tracefs captures of tests/data, each as a VM of its own: a-kvmtest and
# b-qemu-system-x86 are tenant acme's (on host1 and host2), c-qemu-...
# is tenant globex's (host3), d-kvmtest nobody's (host4); they start 2 s
# apart, so each one's data lie in windows of their own.  A real
# Prometheus and a real VictoriaMetrics scrape them every second with the
# operator's token.  Then, for each of the two in turn:
#   - each agent's /metrics puts tenant="acme" (or globex) on exactly the
#     series of that tenant's VMs, and no tenant label on d-kvmtest's;
#   - `kvmscope fleet --tokens FILE --tenant-label tenant`, asked with
#     each token: vm.exits by vm and by vleavereason per 1 s window (whole
#     scrape windows) equal exactly the per-series increases of the
#     series labelled with the asker's tenant (all series: the operator),
#     and summed over the windows each agent's own value (`kvmscope
#     replay`) for the asker's VMs only; the latency heatmap's cells sum
#     to the own latency counts of those VMs; a tenant's predicate on
#     another tenant's VM (and on the unowned one) yields nothing;
#     hostname is refused to tenants (409 naming it), and a tenant's
#     status lists no hosts (the operator's does); a wrong token gets
#     401, a tenant's token on another tenant's routes 404 and on the
#     operator's 403;
#   - the same fleet without --tenant-label answers the operator and
#     gives each tenant a 403 JSON naming the missing tenant label.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
TRACES=("$TOP/tests/data/kvm-trace-all-events.txt"
	"$TOP/tests/data/kvm-trace-qemu-l2.head3000.txt"
	"$TOP/tests/data/kvm-trace-qemu-l2.virtio-window2000.txt"
	"$TOP/tests/data/kvm-trace-all-events.txt")
PREFIX=(a- b- c- d-)
NAGENTS=4
. "$TOP/tests/fleet/fleetlib.sh"
fleet_init t_fleet_tenant
fleet_scrapers

OP=operator-token-0123456789abcdef
ACME=acme-token-0123456789abcdef
GLOBEX=globex-token-0123456789abcdef
cat >"$tmp/tokens" <<EOF
$OP operator
$ACME tenant acme a-kvmtest,b-qemu-system-x86
$GLOBEX tenant globex c-qemu-system-x86
EOF
chmod 600 "$tmp/tokens"

# Bad command lines: exit 2 naming the cause, nothing started.
"$KF" fleet --prometheus http://127.0.0.1:1 --tenant-label tenant \
	--listen 127.0.0.1:0 2>"$tmp/bad.err"
[ $? = 2 ] && grep -q -- '--tokens' "$tmp/bad.err" ||
	fail "--tenant-label without --tokens: $(cat "$tmp/bad.err")"
for l in vm le 9x __x 'a-b'; do
	"$KF" fleet --prometheus http://127.0.0.1:1 --tokens "$tmp/tokens" \
		--tenant-label "$l" --listen 127.0.0.1:0 2>"$tmp/bad.err"
	[ $? = 2 ] && grep -q -- '--tenant-label' "$tmp/bad.err" ||
		fail "--tenant-label $l: $(cat "$tmp/bad.err")"
done
"$KF" serve --replay "$DATA" --no-state --listen 127.0.0.1:0 \
	--tenant-label tenant 2>"$tmp/bad.err"
[ $? = 2 ] && grep -q 'token file' "$tmp/bad.err" ||
	fail "serve --tenant-label without tokens: $(cat "$tmp/bad.err")"
printf '%s tenant x vm1\n%s tenant y vm1\n' "$ACME" "$GLOBEX" >"$tmp/shared"
chmod 600 "$tmp/shared"
"$KF" serve --replay "$DATA" --no-state --listen 127.0.0.1:0 \
	--tokens "$tmp/shared" --tenant-label tenant 2>"$tmp/bad.err"
[ $? = 2 ] && grep -q 'vm1' "$tmp/bad.err" ||
	fail "serve with a VM two tenants list: $(cat "$tmp/bad.err")"
echo "bad command lines refused, each naming the cause"

# The agents' own values, per trace.
for i in 0 1 2; do
	own_values $i "${TRACES[$i]}"
done

mapfile -t ports < <(free_ports $((NAGENTS + 1)))
vport=${ports[$NAGENTS]}
ports=("${ports[@]:0:$NAGENTS}")
targets=$(printf "'127.0.0.1:%s'," "${ports[@]}")
cat >"$tmp/scrape.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: kvmscope
    authorization:
      credentials: $OP
    static_configs:
      - targets: [${targets%,}]
YML
PROM_YML=$tmp/scrape.yml prom_start
vm_start "$tmp/scrape.yml" "$vport"
t_begin=$(date +%s)
for n in $(seq 1 $NAGENTS); do
	"$KF" serve --listen "127.0.0.1:${ports[$((n - 1))]}" --no-state \
		--hostname "host$n" --tokens "$tmp/tokens" --tenant-label tenant \
		--replay "${TRACES[$((n - 1))]}" --replay-vm-prefix "${PREFIX[$((n - 1))]}" \
		2>"$tmp/agent$n.log" &
	pids+=($!)
	sleep 2	# each agent's data in windows of its own
done
agents_wait $NAGENTS

# Every replay finished, 4 more seconds of scrapes; then each agent's
# /metrics labels its tenant's series, and only those.
agents_replayed "$OP" "$P" "$VURL" "${ports[@]}"
t_end=$(( $(date +%s) - 3 ))
python3 - "$OP" "${ports[@]}" <<'PY' || fail "the tenant labels are wrong"
import re, sys, urllib.request
op, ports = sys.argv[1], sys.argv[2:]
owner = {"a-kvmtest": "acme", "b-qemu-system-x86": "acme",
         "c-qemu-system-x86": "globex", "d-kvmtest": None}
for p in ports:
    r = urllib.request.Request("http://127.0.0.1:%s/metrics" % p,
                               headers={"Authorization": "Bearer " + op})
    with urllib.request.urlopen(r, timeout=5) as f:
        text = f.read().decode()
    seen = 0
    for line in text.splitlines():
        m = re.match(r'kvmscope_vm_\w+\{(.*)\} ', line)
        if not m:
            continue
        vm = re.search(r'(?:^|,)vm="([^"]*)"', m.group(1)).group(1)
        t = re.search(r',tenant="([^"]*)"', m.group(1))
        assert (t.group(1) if t else None) == owner[vm], line
        seen += 1
    assert seen, "no VM series at %s" % p
PY
start=$((t_begin - 2)) n=$((t_end - t_begin + 2))
echo "agents label their tenants' series; windows $start + $n"

# req TOKEN METHOD URL [JSON]: the body in $tmp/req.json, the code echoed.
req() {
	curl -s -o "$tmp/req.json" -w '%{http_code}' -m 10 -X "$2" \
		-H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
		${4:+-d "$4"} "$3"
}
# create NAME TOKEN BASE JSON: its URI in $tmp/NAME.uri.
create() {
	code=$(req "$2" POST "$F$3/instrumentations" "$4")
	[ "$code" = 201 ] || fail "create $1: $code $(cat "$tmp/req.json")"
	grep -o '"uri":"[^"]*/instrumentations/[0-9]*"' "$tmp/req.json" |
		head -1 | cut -d'"' -f4 >"$tmp/$1.uri"
	[ -s "$tmp/$1.uri" ] || fail "create $1: no uri in $(cat "$tmp/req.json")"
}
# bad STATUS WORD TOKEN METHOD URL [JSON]: a JSON error naming WORD.
bad() {
	code=$(req "$3" "$4" "$5" "${6:-}")
	[ "$code" = "$1" ] || fail "$4 $5 ${6:-}: $code, not $1: $(cat "$tmp/req.json")"
	grep -q '"error":\|"message":' "$tmp/req.json" && grep -qiF "$2" "$tmp/req.json" ||
		fail "$4 $5: the error does not name $2: $(cat "$tmp/req.json")"
}

C=/ca/customers
check_backend() {	# NAME URL
	local name=$1 url=$2 who sc tok base i k
	fleet_start "$url" --tokens "$tmp/tokens" --tenant-label tenant
	for who in op:"$OP":/ca acme:"$ACME":$C/acme globex:"$GLOBEX":$C/globex; do
		IFS=: read -r sc tok base <<<"$who"
		create "$sc.vm" "$tok" "$base" '{"module":"vm","stat":"exits","decomposition":["vm"]}'
		create "$sc.reason" "$tok" "$base" '{"module":"vm","stat":"exits","decomposition":["vleavereason"]}'
		create "$sc.lat" "$tok" "$base" '{"module":"vm","stat":"exits","decomposition":["latency"]}'
	done
	create acme.other "$ACME" $C/acme '{"module":"vm","stat":"exits","predicate":{"or":[{"eq":["vm","c-qemu-system-x86"]},{"eq":["vm","d-kvmtest"]}]}}'
	create globex.other "$GLOBEX" $C/globex '{"module":"vm","stat":"exits","predicate":{"eq":["vm","a-kvmtest"]}}'
	# Refusals, each a JSON error naming its cause.
	bad 409 hostname "$ACME" POST "$F$C/acme/instrumentations" '{"module":"vm","stat":"exits","decomposition":["hostname"]}'
	bad 409 hostname "$GLOBEX" POST "$F$C/globex/instrumentations" '{"module":"vm","stat":"exits","predicate":{"eq":["hostname","host3"]}}'
	bad 401 token wrong-token-0123456789abcdef POST "$F$C/acme/instrumentations" '{"module":"vm","stat":"exits"}'
	bad 404 "" "$ACME" GET "$F$C/globex/instrumentations"
	bad 403 "" "$ACME" GET "$F/ca/instrumentations"
	# A tenant's status: no host list, no host name.
	code=$(req "$ACME" GET "$F$C/acme/admin/status")
	[ "$code" = 200 ] && ! grep -q '"fleet"\|host[0-9]' "$tmp/req.json" ||
		fail "$name: a tenant's status: $code $(cat "$tmp/req.json")"
	code=$(req "$OP" GET "$F/ca/admin/status")
	[ "$code" = 200 ] && grep -q '"fleet"' "$tmp/req.json" && grep -q host3 "$tmp/req.json" ||
		fail "$name: the operator's status: $code $(cat "$tmp/req.json")"
	# The fleet fetches windows 3 s (2 scrapes + 1) after they end.
	fleet_wait_clock $((t_end + 5)) -H "Authorization: Bearer $OP"
	for i in op acme globex; do
		tok=$OP; [ $i = acme ] && tok=$ACME; [ $i = globex ] && tok=$GLOBEX
		for k in vm reason lat other; do
			[ -f "$tmp/$i.$k.uri" ] || continue
			code=$(req "$tok" GET "$F$(cat "$tmp/$i.$k.uri")/value/raw?start_time=$start&duration=1&ndatapoints=$n")
			[ "$code" = 200 ] || fail "value of $i.$k: $code $(cat "$tmp/req.json")"
			cp "$tmp/req.json" "$tmp/$name.$i.$k.json"
		done
	done
	exit_samples "$url" "$name" "$start" "$n"
	python3 - "$tmp" "$name" "$start" "$n" <<'PY' || fail "$name: a scope's values are not its VMs' sums"
import json, os, sys
d, name, start, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def load(f):
    with open(os.path.join(d, f)) as fh:
        return json.load(fh)
# VM -> (trace, tenant)
vms = {"a-kvmtest": (0, "acme"), "b-qemu-system-x86": (1, "acme"),
       "c-qemu-system-x86": (2, "globex"), "d-kvmtest": (0, None)}
scopes = {"op": None, "acme": "acme", "globex": "globex"}
samples = load(name + ".samples.json")
assert samples["status"] == "success", samples
# Per-window increases of each scope's series: the operator's all, a
# tenant's those labelled with it (the agents label, the test checks).
win = {s: [dict(vm={}, reason={}) for _ in range(n)] for s in scopes}
for s in samples["data"]["result"]:
    m = s["metric"]
    assert m.get("tenant") == vms[m["vm"]][1], m
    at = {int(round(float(t))): float(v) for t, v in s["values"]}
    last = at.get(start)
    for i in range(n):
        v = at.get(start + i + 1)
        if v is None:
            continue
        inc = v if last is None or v < last else v - last
        last = v
        if not inc:
            continue
        for sc, tn in scopes.items():
            if tn is not None and m.get("tenant") != tn:
                continue
            w = win[sc][i]
            w["vm"][m["vm"]] = w["vm"].get(m["vm"], 0) + inc
            w["reason"][m["vleavereason"]] = w["reason"].get(m["vleavereason"], 0) + inc
own = [load("own_reason_%d.json" % t)["value"] for t in range(3)]
ownlat = [sum(c for _, c in load("own_lat_%d.json" % t)["value"]) for t in range(3)]
for sc, tn in scopes.items():
    got_vm, got_reason, got_lat = (load("%s.%s.%s.json" % (name, sc, k)) for k in ("vm", "reason", "lat"))
    assert len(got_vm) == n and len(got_reason) == n, (sc, len(got_vm), n)
    nonempty = 0
    for i in range(n):
        assert got_vm[i]["start_time"] == start + i, (sc, got_vm[i], start + i)
        assert got_vm[i]["value"] == win[sc][i]["vm"], (sc, i, got_vm[i]["value"], win[sc][i]["vm"])
        assert got_reason[i]["value"] == win[sc][i]["reason"], (sc, i, got_reason[i]["value"], win[sc][i]["reason"])
        nonempty += bool(win[sc][i]["vm"])
    # Not a trivial comparison: the data are there, in several windows
    # for the operator (agents started 2 s apart).
    want_windows = 2 if tn is None else 1
    assert nonempty >= want_windows, (sc, "the data span only %d windows" % nonempty)
    # Totals: the own values of the scope's VMs, and of no other.
    mine = [vm for vm, (t, owner) in vms.items() if tn is None or owner == tn]
    tot_vm, tot_reason, tot_lat = {}, {}, 0
    for p in got_vm:
        for k, v in p["value"].items():
            tot_vm[k] = tot_vm.get(k, 0) + v
    for p in got_reason:
        for k, v in p["value"].items():
            tot_reason[k] = tot_reason.get(k, 0) + v
    for p in got_lat:
        tot_lat += sum(c for _, c in p["value"])
    want_vm = {vm: sum(own[vms[vm][0]].values()) for vm in mine}
    want_reason = {}
    for vm in mine:
        for k, v in own[vms[vm][0]].items():
            want_reason[k] = want_reason.get(k, 0) + v
    want_lat = sum(ownlat[vms[vm][0]] for vm in mine)
    assert tot_vm == want_vm, (sc, tot_vm, want_vm)
    assert tot_reason == want_reason, (sc, tot_reason, want_reason)
    assert tot_lat == want_lat and want_lat > 0, (sc, tot_lat, want_lat)
    print("%s, %s: exits by vm %s, latency count %d" % (name, sc, tot_vm, tot_lat))
for sc in ("acme", "globex"):
    other = load("%s.%s.other.json" % (name, sc))
    assert len(other) == n and all(p["value"] == 0 for p in other), (sc, other)
print("%s: a tenant's predicate on others' VMs: nothing" % name)
PY
	fleet_stop
}
check_backend prometheus "$P"
check_backend victoria-metrics "$VURL"

# Without the tenant label: the operator is answered, tenants get 403.
fleet_start "$P" --tokens "$tmp/tokens"
create op2 "$OP" /ca '{"module":"vm","stat":"exits","decomposition":["vm"]}'
bad 403 "tenant label" "$ACME" POST "$F$C/acme/instrumentations" '{"module":"vm","stat":"exits"}'
bad 403 "tenant label" "$OP" POST "$F$C/globex/instrumentations" '{"module":"vm","stat":"exits"}'
fleet_stop
echo "PASS: t_fleet_tenant ($NAGENTS agents, tenants acme and globex; Prometheus and VictoriaMetrics)"
