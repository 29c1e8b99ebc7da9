#!/bin/bash
# t_fleet.sh - `kvmscope fleet` answers Cloud Analytics over 8 agents from
# a real Prometheus and a real VictoriaMetrics, and its values are the sum
# of the agents' own.
#
# Eight agents (`kvmscope serve --replay`, --hostname host1..host8) replay
# the three real tracefs captures of tests/data in turn, started a
# second apart so their data span several scrape windows.  Debian's
# Prometheus 2.42 and Debian's VictoriaMetrics (single node, its own
# scraper) both scrape them every second.  Then, for each of the two in
# turn, `kvmscope fleet --prometheus URL` is asked, through CA's API:
#   vm.exits by hostname, by vleavereason, with {"eq":["vm","kvmtest"]}
#     - per 1 s window (whole scrape windows): equal, exactly, to the sum of
#       the per-agent counter increases computed here from the raw samples
#       of every agent's series (no aggregation in PromQL);
#     - summed over all windows: equal, exactly, to each agent's own value
#       (`kvmscope replay` of the trace the agent replayed);
#   vm.exits by latency: the fleet heatmap's cells, summed, equal the
#     agents' own latency distributions merged and cut at the exported
#     bucket edges; the heatmap image answers a PNG.
# One agent is then stopped: the fleet's status says it is stale, the
# others still report, and every value answered before is answered again
# unchanged.  Bad requests get a 4xx JSON naming the cause (an unknown
# field, a field Prometheus does not carry, a numeric predicate,
# granularity under the scrape interval, a tenant: 403), and a fleet whose
# Prometheus is unreachable answers a create with 502 JSON naming it, in
# bounded time; a stalled one (SIGSTOP) leaves creates and the status
# answered (the create check does no network I/O under the API's lock).
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
TRACES=("$TOP/tests/data/kvm-trace-all-events.txt"
	"$TOP/tests/data/kvm-trace-qemu-l2.head3000.txt"
	"$TOP/tests/data/kvm-trace-qemu-l2.virtio-window2000.txt")
NAGENTS=8
. "$TOP/tests/fleet/fleetlib.sh"
fleet_init t_fleet
apids=()

# Bad command lines: exit 2 with a sentence naming the option, nothing
# started.
for bad in "--prometheus ftp://x" "--prometheus http://127.0.0.1:1 --agents garbage" \
	"--prometheus http://127.0.0.1:1 --agents h1=http://a:1,h2" \
	"--prometheus http://127.0.0.1:1 --scrape-interval 0"; do
	# shellcheck disable=SC2086
	"$KF" fleet $bad --listen 127.0.0.1:0 > "$tmp/bad.out" 2> "$tmp/bad.err"
	rc=$?
	opt=$(echo "$bad" | awk '{ print $(NF - 1) }')
	[ $rc = 2 ] && grep -q -- "$opt" "$tmp/bad.err" ||
		fail "fleet $bad: exit $rc, '$(cat "$tmp/bad.err")'"
done
echo "bad command lines refused, each naming its option"
fleet_scrapers
echo "prometheus: $("$PROM" --version 2>&1 | head -1)"
echo "victoria-metrics: $VM"

# The agents' own values: each trace through `kvmscope replay`.
for i in 0 1 2; do
	own_values $i "${TRACES[$i]}"
done

# The agents' ports, chosen first so the scrapers run before they start.
mapfile -t ports < <(free_ports $((NAGENTS + 2)))
vport=${ports[$NAGENTS]} dead=${ports[$((NAGENTS + 1))]}
ports=("${ports[@]:0:$NAGENTS}")
scrape_yml "$tmp/scrape.yml" "${ports[@]}"
# Prometheus, scraping every agent.
PROM_YML=$tmp/scrape.yml prom_start
PURL=$P
vm_start "$tmp/scrape.yml" "$vport"

# The agents, a second apart, while both scrape every second.
t_begin=$(date +%s)
for n in $(seq 1 $NAGENTS); do
	"$KF" serve --listen "127.0.0.1:${ports[$((n - 1))]}" --no-state --hostname "host$n" \
		--replay "${TRACES[$(( (n - 1) % 3 ))]}" 2>"$tmp/agent$n.log" &
	pids+=($!)
	apids+=($!)
	sleep 1
done
agents_wait $NAGENTS

# Every replay finished, then 4 more seconds of scrapes by both, which
# must hold every host.
agents_replayed "" "$PURL" "$VURL" "${ports[@]}"
t_end=$(( $(date +%s) - 3 ))

# create NAME JSON: POST an instrumentation; its URI in $tmp/NAME.uri.
create() {
	code=$(curl -s -o "$tmp/$1.create" -w '%{http_code}' -m 10 \
		-H 'Content-Type: application/json' -d "$2" \
		"$F/ca/instrumentations")
	[ "$code" = 201 ] || fail "create $1: $code $(cat "$tmp/$1.create")"
	grep -o '"uri":"/ca/instrumentations/[0-9]*"' "$tmp/$1.create" |
		head -1 | cut -d'"' -f4 >"$tmp/$1.uri"
	[ -s "$tmp/$1.uri" ] || fail "create $1: no uri in $(cat "$tmp/$1.create")"
}
# bad STATUS PARAM URL JSON
bad() {
	code=$(curl -s -o "$tmp/bad.json" -w '%{http_code}' -m 10 \
		-H 'Content-Type: application/json' -d "$4" "$3")
	[ "$code" = "$1" ] || fail "$4 at $3: $code, not $1: $(cat "$tmp/bad.json")"
	grep -q '"error":' "$tmp/bad.json" && grep -qF "$2" "$tmp/bad.json" ||
		fail "$4: the error does not name $2: $(cat "$tmp/bad.json")"
}

check_backend() {	# NAME URL
	local name=$1 url=$2
	fleet_start "$url"
	create host '{"module":"vm","stat":"exits","decomposition":["hostname"]}'
	create reason '{"module":"vm","stat":"exits","decomposition":["vleavereason"]}'
	create pred '{"module":"vm","stat":"exits","predicate":{"eq":["vm","kvmtest"]}}'
	create lat '{"module":"vm","stat":"exits","decomposition":["latency"]}'
	# The fleet fetches windows 3 s (2 scrapes + 1) after they end.
	local start=$((t_begin - 2)) n=$((t_end - t_begin + 2))
	fleet_wait_clock $((t_end + 5))
	for i in host reason pred lat; do
		curl -sf "$F$(cat "$tmp/$i.uri")/value/raw?start_time=$start&duration=1&ndatapoints=$n" \
			>"$tmp/$name.$i.json" || fail "$name: value of $i"
	done
	curl -sf -o "$tmp/$name.img.json" "$F$(cat "$tmp/lat.uri")/value/heatmap/image?start_time=$start&duration=$n&width=600&height=300" ||
		fail "$name: heatmap image"
	python3 -c 'import base64,json,sys; sys.exit(base64.b64decode(json.load(open(sys.argv[1]))["image"])[:4] != b"\x89PNG")' \
		"$tmp/$name.img.json" || fail "$name: the heatmap image is not a PNG"
	# The raw samples of every agent's series, for the per-window sums.
	exit_samples "$url" "$name" "$start" "$n"
	curl -s "$url/api/v1/query" --data-urlencode 'query=kvmscope_vm_exits_latency_seconds_bucket{hostname="host1"}' \
		>"$tmp/$name.edges.json"
	python3 - "$tmp" "$name" "$start" "$n" "$NAGENTS" <<'PY' || fail "$name: the fleet's values are not the agents' sums"
import json, math, os, sys
d, name, start, n, nagents = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def load(f):
    with open(os.path.join(d, f)) as fh:
        return json.load(fh)
# Per-series increases in each 1 s window [start+i, start+i+1): the value
# at the window's end minus the value at its start (a counter born inside
# counts from 0; a reset counts from 0; a gap keeps the last value).
samples = load(name + ".samples.json")
assert samples["status"] == "success", samples
win = [dict(host={}, reason={}, pred=0) for _ in range(n)]
for s in samples["data"]["result"]:
    m = s["metric"]
    at = {int(round(float(t))): float(v) for t, v in s["values"]}
    last = at.get(start - 1)
    last = at.get(start)
    for i in range(n):
        v = at.get(start + i + 1)
        if v is None:
            continue
        inc = v if last is None or v < last else v - last
        last = v
        if inc:
            w = win[i]
            w["host"][m["hostname"]] = w["host"].get(m["hostname"], 0) + inc
            w["reason"][m["vleavereason"]] = w["reason"].get(m["vleavereason"], 0) + inc
            if m["vm"] == "kvmtest":
                w["pred"] += inc
host, reason, pred, lat = (load("%s.%s.json" % (name, k)) for k in ("host", "reason", "pred", "lat"))
assert len(host) == n and len(reason) == n and len(pred) == n, (len(host), n)
nonempty = 0
for i in range(n):
    assert host[i]["start_time"] == start + i, (host[i], start + i)
    assert host[i]["value"] == win[i]["host"], (i, host[i]["value"], win[i]["host"])
    assert reason[i]["value"] == win[i]["reason"], (i, reason[i]["value"], win[i]["reason"])
    assert pred[i]["value"] == win[i]["pred"], (i, pred[i]["value"], win[i]["pred"])
    nonempty += bool(win[i]["host"])
assert nonempty >= 3, "the data span only %d windows" % nonempty
# Totals over all windows: each agent's own value.
own = [load("own_reason_%d.json" % t)["value"] for t in range(3)]
ownvm = [load("own_vm_%d.json" % t)["value"] for t in range(3)]
tot_host, tot_reason, tot_pred = {}, {}, 0
for p in host:
    for k, v in p["value"].items():
        tot_host[k] = tot_host.get(k, 0) + v
for p in reason:
    for k, v in p["value"].items():
        tot_reason[k] = tot_reason.get(k, 0) + v
tot_pred = sum(p["value"] for p in pred)
want_host, want_reason, want_pred = {}, {}, 0
for a in range(1, nagents + 1):
    t = (a - 1) % 3
    want_host["host%d" % a] = sum(own[t].values())
    for k, v in own[t].items():
        want_reason[k] = want_reason.get(k, 0) + v
    want_pred += ownvm[t].get("kvmtest", 0)
assert tot_host == want_host, (tot_host, want_host)
assert tot_reason == want_reason, (tot_reason, want_reason)
assert tot_pred == want_pred and want_pred > 0, (tot_pred, want_pred)
# The latency heatmap, cut at the exported edges (raw ns: le * 1e9).
edges = sorted({float(s["metric"]["le"]) for s in load(name + ".edges.json")["data"]["result"]})
ns_edges = [round(e * 1e9) for e in edges if not math.isinf(e)]
def cut(buckets):
    out = [0] * (len(ns_edges) + 1)
    for (lo, hi), c in buckets:
        i = next((k for k, e in enumerate(ns_edges) if hi <= e), len(ns_edges))
        j = next((k for k, e in enumerate(ns_edges) if lo <= e), len(ns_edges))
        assert i == j, ("a bucket straddles an exported edge", lo, hi, ns_edges)
        out[i] += c
    return out
fleet_cells = [0] * (len(ns_edges) + 1)
for p in lat:
    for i, c in enumerate(cut(p["value"])):
        fleet_cells[i] += c
want_cells = [0] * (len(ns_edges) + 1)
for a in range(1, nagents + 1):
    for i, c in enumerate(cut(load("own_lat_%d.json" % ((a - 1) % 3))["value"])):
        want_cells[i] += c
assert fleet_cells == want_cells and sum(want_cells) > 0, (fleet_cells, want_cells)
print("%s: %d windows with data; exits by host %s; latency cells %s" %
      (name, nonempty, tot_host, fleet_cells))
PY
	# Bad requests, named.
	bad 409 nosuchfield "$F/ca/instrumentations" '{"module":"vm","stat":"exits","decomposition":["nosuchfield"]}'
	bad 409 guestrip "$F/ca/instrumentations" '{"module":"vm","stat":"exits","decomposition":["guestrip"]}'
	bad 409 pid "$F/ca/instrumentations" '{"module":"vm","stat":"exits","predicate":{"eq":["pid","1"]}}'
	bad 409 latency "$F/ca/instrumentations" '{"module":"vm","stat":"exits","predicate":{"gt":["latency",1000]}}'
	bad 409 vcpu "$F/ca/instrumentations" '{"module":"vm","stat":"exits","decomposition":["vcpu","latency"]}'
	bad 403 tenant "$F/ca/customers/acme/instrumentations" '{"module":"vm","stat":"exits"}'
}

check_backend prometheus "$PURL"
# One agent stops: stale, and nothing else changes.
kill -INT "${apids[$((NAGENTS - 1))]}"
wait "${apids[$((NAGENTS - 1))]}"
sleep 4
curl -sf "$F/ca/admin/status" >"$tmp/status.json" || fail "status"
python3 - "$tmp/status.json" "$NAGENTS" <<'PY' || fail "the stopped agent is not stale: $(cat "$tmp/status.json")"
import json, sys
hosts = {h["hostname"]: h for h in json.load(open(sys.argv[1]))["fleet"]["hosts"]}
n = int(sys.argv[2])
assert len(hosts) == n, hosts
assert not hosts["host%d" % n]["reporting"], hosts["host%d" % n]
assert all(hosts["host%d" % i]["reporting"] for i in range(1, n)), hosts
assert all(h["agent"].startswith("http://127.0.0.1:") for h in hosts.values())
PY
start=$((t_begin - 2)); n=$((t_end - t_begin + 2))
for i in host reason pred lat; do
	curl -sf "$F$(cat "$tmp/$i.uri")/value/raw?start_time=$start&duration=1&ndatapoints=$n" \
		>"$tmp/after.$i.json" || fail "value of $i after the stop"
	cmp -s "$tmp/after.$i.json" "$tmp/prometheus.$i.json" ||
		fail "$i changed when an agent stopped"
done
fleet_stop
check_backend victoria-metrics "$VURL"
fleet_stop

# An unreachable Prometheus: a 502 naming it, in bounded time.
fleet_start "http://127.0.0.1:$dead"
bad 502 "127.0.0.1:$dead" "$F/ca/instrumentations" '{"module":"vm","stat":"exits"}'
fleet_stop

# A stalled Prometheus (stopped: its socket still accepts) stalls the
# poller, not the API: while the poller's request waits out a 10-minute
# --timeout, a create is answered (the check asks no network) and so is
# the status.
fleet_start "$PURL" --timeout 600000
kill -STOP "$prom"
sleep 2
code=$(curl -s -o "$tmp/stall.json" -w '%{http_code} in %{time_total} s' -m 20 \
	-H 'Content-Type: application/json' -d '{"module":"vm","stat":"exits"}' \
	"$F/ca/instrumentations")
scode=$(curl -s -o /dev/null -w '%{http_code} in %{time_total} s' -m 20 "$F/ca/admin/status")
alive=$(kill -0 "$fleet" 2>/dev/null && echo running || echo gone)
kill -CONT "$prom"
[ "${code%% *}" = 201 ] && [ "${scode%% *}" = 200 ] ||
	fail "with Prometheus stalled: create $code, status $scode (fleet $alive): $(cat "$tmp/stall.json" 2>/dev/null)"
fleet_stop
echo "a stalled Prometheus stalls the poller, not the API"
echo "PASS: t_fleet ($NAGENTS agents; Prometheus and VictoriaMetrics)"
