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
#   sum by (reason) (...)                    = its per-reason counts
#   sum by (le) (..._handling_seconds_bucket) = its latency distribution
#                                              cumulated at each le edge
#   histogram_quantile(q, ...)               finite, inside the
#                                              distribution's range and in
#                                              the bucket holding the exact
#                                              quantile
# Every PromQL target of contrib/grafana/kvmscope-fleet.json (with
# $__rate_interval = 5s and template variables = .*) must be accepted, and
# the exits panels must return data.  Both processes are stopped and their
# files removed at the end.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
DASH=$TOP/contrib/grafana/kvmscope-fleet.json
. "$TOP/tests/http/promlib.sh"
prom_init t_prometheus
[ -f "$DASH" ] || { echo "FAIL: no dashboard at $DASH"; exit 1; }

find_prometheus
echo "prometheus: $PROM ($("$PROM" --version 2>&1 | head -1))"

# The replay's own numbers, for the comparison.
"$K" replay "$DATA" --metric vm.exits --json >"$tmp/total.json" 2>/dev/null ||
	fail "replay total"
"$K" replay "$DATA" --metric vm.exits --decompose vleavereason --json \
	>"$tmp/reasons.json" 2>/dev/null || fail "replay by reason"
"$K" replay "$DATA" --metric vm.exits --decompose latency --json \
	>"$tmp/latency.json" 2>/dev/null || fail "replay latency"

# The agent, replaying the capture once.
agent_replay
ctype=$(curl -s -o "$tmp/metrics.txt" -w '%{content_type}' "$A/metrics") ||
	fail "GET /metrics"
[ "$ctype" = "text/plain; version=0.0.4" ] || fail "/metrics Content-Type '$ctype'"

# Prometheus on a free loopback port, scraping the agent every second.
prom_start

# Wait for the end of the replay, then for two more scrapes.
wait_replay
wait_scrapes

query 'sum(kvmscope_vm_exits_total)' >"$tmp/q_total.json"
query 'sum by (reason) (kvmscope_vm_exits_total)' >"$tmp/q_reasons.json"
query 'sum by (le) (kvmscope_vm_exit_handling_seconds_bucket)' >"$tmp/q_buckets.json"
query 'sum(kvmscope_vm_exit_handling_seconds_count)' >"$tmp/q_count.json"
for q in 0.5 0.9 0.99; do
	query "histogram_quantile($q, sum by (le) (kvmscope_vm_exit_handling_seconds_bucket))" \
		>"$tmp/q_quantile_$q.json"
done

python3 - "$tmp" <<'PY' || fail "PromQL answers differ from the replay"
import json, math, os, sys
d = sys.argv[1]
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
got = {s["metric"].get("reason", ""): int(s["value"][1])
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

# The dashboard: every target accepted, the exits panels with data.
python3 - "$DASH" "$P" <<'PY' || fail "the Grafana dashboard's queries"
import json, re, sys, urllib.parse, urllib.request
dash, base = sys.argv[1], sys.argv[2]
def api(path, **params):
    url = base + path + "?" + urllib.parse.urlencode(params, doseq=True)
    try:
        with urllib.request.urlopen(url) as f:
            return json.load(f)
    except urllib.error.HTTPError as e:
        return json.load(e)
def promql(expr):
    expr = expr.replace("$__rate_interval", "5s").replace("${__rate_interval}", "5s")
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}?", ".*", expr)
d = json.load(open(dash))
n = 0
for p in d["panels"]:
    for t in p.get("targets", []):
        expr = promql(t["expr"])
        r = api("/api/v1/query", query=expr)
        assert r.get("status") == "success", (p["title"], expr, r)
        n += 1
        if "exit" in p["title"].lower():
            assert r["data"]["result"], ("no data", p["title"], expr)
        print("ok %-32s %d series" % (p["title"][:32], len(r["data"]["result"])))
assert n > 0, "no targets"
# Template variables: label_values(SELECTOR, LABEL) must find the label.
for v in d.get("templating", {}).get("list", []):
    m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\)\s*", str(v.get("query", "")))
    if not m:
        continue
    r = api("/api/v1/series", **{"match[]": promql(m.group(1))})
    assert r.get("status") == "success", (v["name"], r)
    assert any(m.group(2) in s for s in r["data"]), ("no values", v["name"])
    print("ok variable %s" % v["name"])
PY

prom_stop
echo "prometheus ok"
