#!/bin/bash
# t_prometheus.sh - a real Prometheus scrapes the agent's /metrics while it
# replays a real capture, and PromQL gives back the replay's own numbers.
#
# The agent replays tests/data/kvm-trace-all-events.txt once; Prometheus
# (Debian's package; fetched with apt-get if it is not installed) scrapes
# it every second into a temporary store.  After the replay has finished
# and two more scrapes have landed, Prometheus' HTTP API must say:
#   sum(kvmscope_vm_exits_total)             = the exits `kvmscope replay`
#                                              counts in the same file
#   sum by (vleavereason) (...)              = its per-reason counts
#   sum by (le) (..._latency_seconds_bucket)  = its latency distribution
#                                              cumulated at each le edge
#   histogram_quantile(q, ...)               finite, inside the
#                                              distribution's range and in
#                                              the bucket holding the exact
#                                              quantile
#   sum by (le) (..._subsecond_seconds_bucket) = its distribution of exits
#                                              over the second's
#                                              milliseconds, at each le
# The agent runs with --hostname: every kvmscope_* series carries that
# hostname label, and CA's hostname field (an instrumentation decomposed
# by hostname) says the same name.  Both processes are stopped and their
# files removed at the end.  (The Grafana dashboard's queries are tested
# with the fleet content, by its own test.)
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
. "$TOP/tests/http/promlib.sh"
prom_init t_prometheus

find_prometheus
echo "prometheus: $PROM ($("$PROM" --version 2>&1 | head -1))"

# The replay's own numbers, for the comparison.
"$K" replay "$DATA" --metric vm.exits --json >"$tmp/total.json" 2>/dev/null ||
	fail "replay total"
"$K" replay "$DATA" --metric vm.exits --decompose vleavereason --json \
	>"$tmp/reasons.json" 2>/dev/null || fail "replay by reason"
"$K" replay "$DATA" --metric vm.exits --decompose latency --json \
	>"$tmp/latency.json" 2>/dev/null || fail "replay latency"
"$K" replay "$DATA" --metric vm.exits --decompose subsecond --json \
	>"$tmp/subsecond.json" 2>/dev/null || fail "replay subsecond"

# The agent, replaying the capture once, under a host name of its own.
HOST=t-prometheus-host
agent_replay --hostname "$HOST"
# Prometheus on a free loopback port, scraping the agent every second.
prom_start

# Wait for the end of the replay, then for two more scrapes.
wait_replay
wait_scrapes

query 'sum(kvmscope_vm_exits_total)' >"$tmp/q_total.json"
query 'sum by (vleavereason) (kvmscope_vm_exits_total)' >"$tmp/q_reasons.json"
query 'sum by (le) (kvmscope_vm_exits_latency_seconds_bucket)' >"$tmp/q_buckets.json"
query 'sum(kvmscope_vm_exits_latency_seconds_count)' >"$tmp/q_count.json"
query 'sum by (le) (kvmscope_vm_exits_subsecond_seconds_bucket)' >"$tmp/q_subsec.json"
query 'count by (__name__) ({__name__=~"kvmscope_.*"})' >"$tmp/q_all.json"
query 'count by (__name__) ({__name__=~"kvmscope_.*",hostname!="'"$HOST"'"})' \
	>"$tmp/q_nohost.json"
query 'kvmscope_vm_exits_total{reason!=""} or kvmscope_vm_exit_handling_seconds_count' \
	>"$tmp/q_old.json"
for q in 0.5 0.9 0.99; do
	query "histogram_quantile($q, sum by (le) (kvmscope_vm_exits_latency_seconds_bucket))" \
		>"$tmp/q_quantile_$q.json"
done

python3 - "$tmp" "$HOST" <<'PY' || fail "PromQL answers differ from the replay"
import json, math, os, sys
d, host = sys.argv[1], sys.argv[2]
def load(name):
    with open(os.path.join(d, name)) as f:
        return json.load(f)
def result(name):
    r = load(name)
    assert r["status"] == "success", (name, r)
    return r["data"]["result"]

total = load("total.json")["value"]
reasons = load("reasons.json")["value"]
dist = load("latency.json")["value"]	# [[[lo, hi], count], ...], ns
assert total > 0 and reasons and dist, "the replay counted nothing"

r = result("q_total.json")
assert len(r) == 1 and int(r[0]["value"][1]) == total, (r, total)
got = {s["metric"].get("vleavereason", ""): int(s["value"][1])
       for s in result("q_reasons.json")}
assert got == reasons, ("by reason", got, reasons)
print("exits: %d in Prometheus and in the replay, by reason %s" % (total, got))

# Buckets: each le is 2^k - 1 ns (values are integers); the count at it
# is the number of replayed exits with latency < 2^k.  The replay's
# buckets are finer, and must not straddle an edge.
ntotal = sum(c for _, c in dist)
buckets = {}
for s in result("q_buckets.json"):
    buckets[s["metric"]["le"]] = int(float(s["value"][1]))
assert int(buckets.pop("+Inf")) == ntotal, ("+Inf", ntotal)
r = result("q_count.json")
assert int(float(r[0]["value"][1])) == ntotal
edges = []
for le, n in buckets.items():
    k = round(math.log2(float(le) * 1e9 + 1))
    edge = 1 << k
    assert abs(float(le) * 1e9 - (edge - 1)) <= 1e-6 * edge, le
    for (lo, hi), c in dist:
        assert not (lo < edge <= hi), ("replay bucket straddles", lo, hi, edge)
    want = sum(c for (lo, hi), c in dist if hi < edge)
    assert n == want, ("le", le, n, want)
    edges.append(edge)
edges.sort()
print("latency: %d exits, %d le edges, all equal to the replay's" %
      (ntotal, len(edges)))

# Every kvmscope_* family carries the hostname label, and it is the name
# CA's hostname field gives; the old names are gone.
names = {s["metric"]["__name__"] for s in result("q_all.json")}
for want in ("kvmscope_vm_exits_total", "kvmscope_vm_exits_latency_seconds_bucket",
             "kvmscope_vm_irqs_total", "kvmscope_build_info",
             "kvmscope_records_total", "kvmscope_prom_series_expired_total"):
    assert want in names, (want, sorted(names))
assert not result("q_nohost.json"), ("without hostname", result("q_nohost.json"))
assert not result("q_old.json"), ("old names", result("q_old.json"))
print("hostname %s on all %d kvmscope_* families" % (host, len(names)))

# Subsecond: le = 64k - 1 ms, each the count of exits less than 64k ms
# into their second, as the replay's own distribution over milliseconds.
sub = load("subsecond.json")["value"]
nsub = sum(c for _, c in sub)
got = {s["metric"]["le"]: int(float(s["value"][1])) for s in result("q_subsec.json")}
assert got.pop("+Inf") == nsub, ("subsecond +Inf", nsub)
assert len(got) == 15, sorted(got)
for le, n in got.items():
    edge = round(float(le) * 1000) + 1
    assert edge % 64 == 0, le
    for (lo, hi), c in sub:
        assert not (lo < edge <= hi), ("replay bucket straddles", lo, hi, edge)
    want = sum(c for (lo, hi), c in sub if hi < edge)
    assert n == want, ("subsecond le", le, n, want)
print("subsecond: %d exits, 15 le edges, all equal to the replay's" % nsub)

# Quantiles: finite, in the distribution's range, and in the Prometheus
# bucket that holds the exact quantile of the replayed distribution.
lo_all = min(lo for (lo, hi), c in dist if c)
hi_all = max(hi for (lo, hi), c in dist if c)
for q in ("0.5", "0.9", "0.99"):
    r = result("q_quantile_%s.json" % q)
    assert len(r) == 1, r
    v = float(r[0]["value"][1])
    assert math.isfinite(v), (q, v)
    ns = v * 1e9
    assert lo_all - 1 <= ns <= hi_all + 1, (q, ns, lo_all, hi_all)
    rank, cum, exact = float(q) * ntotal, 0, None
    for (lo, hi), c in sorted(dist):
        cum += c
        if cum >= rank:
            exact = (lo, hi)
            break
    upper = next(e for e in edges if exact[1] < e)
    lower = max([0] + [e for e in edges if e <= exact[0]])
    assert lower - 1 <= ns <= upper - 1 + 1e-3 * upper, (q, ns, exact, lower, upper)
    print("p%g: %.0f ns (exact quantile in [%d, %d], bucket [%d, %d])" %
          (float(q) * 100, ns, exact[0], exact[1], lower - 1 if lower else 0, upper - 1))
PY

prom_stop

# CA's hostname field says the same name as the label: an agent replaying
# the capture in a loop (so exits come after the instrumentation exists).
agent_replay --hostname "$HOST" --replay-loop
curl -sf -X POST "$A/ca/instrumentations?module=vm&stat=exits&decomposition=hostname" \
	>"$tmp/instn.json" || fail "create an instrumentation by hostname"
id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <"$tmp/instn.json") ||
	fail "instrumentation id: $(cat "$tmp/instn.json")"
for _ in $(seq 1 50); do	# a second of the replay with exits in it
	curl -sf "$A/ca/instrumentations/$id/value/raw" >"$tmp/ca_host.json" ||
		fail "the instrumentation's value"
	grep -q '"value":{"' "$tmp/ca_host.json" && break
	sleep 0.2
done
ctype=$(curl -s -o "$tmp/metrics.txt" -w '%{content_type}' "$A/metrics") ||
	fail "GET /metrics"
[ "$ctype" = "text/plain; version=0.0.4" ] || fail "/metrics Content-Type '$ctype'"

python3 - "$tmp/ca_host.json" "$HOST" <<'PY' || fail "CA's hostname field"
import json, sys
ca = json.load(open(sys.argv[1]))["value"]
assert list(ca) == [sys.argv[2]], ca
print("CA's hostname field: %s" % ca)
PY
kill -INT "$agent"
wait "$agent" || fail "the looping agent exited with $?"
agent=
echo "prometheus ok"
