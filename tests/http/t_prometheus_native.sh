#!/bin/bash
# t_prometheus_native.sh - Prometheus with native histograms scrapes the
# agent's protobuf exposition, and PromQL gives back the agent's numbers.
#
# The agent replays tests/data/kvm-trace-all-events.txt once.  /metrics
# must answer text by default and protobuf when asked the way Prometheus
# asks.  A real Prometheus (Debian's package, as in t_prometheus.sh),
# started with --enable-feature=native-histograms, scrapes it every
# second.  After the replay and two more scrapes:
#   histogram_count/_sum(sum(kvmscope_vm_exits_latency_nanoseconds))
#       = the exits with a latency the replay counts, and the sum of their
#         latencies the agent's text exposition reports
#   every native bucket of that sum = the replay's distribution summed
#       over each power of two [2^(i-1), 2^i) (a value at exactly 2^i is
#       counted in the bucket above: see src/expo/prom_pb.h)
#   histogram_quantile(q, ...) inside the native bucket holding the exact
#       quantile of the replay's distribution
#   the classic _seconds histogram, the counters and the agent's own
#       counters are still there, with the same values as in t_prometheus.sh.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
. "$TOP/tests/http/promlib.sh"
prom_init t_prometheus_native

find_prometheus
ver=$("$PROM" --version 2>&1 | sed -n 's/^prometheus, version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r major minor <<<"$ver"
if [ -z "$ver" ] || [ "$major" -lt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -lt 40 ]; }; then
	echo "Prometheus $ver has no native histograms (2.40 or later needed)"
	exit 77
fi
echo "prometheus: $PROM ($("$PROM" --version 2>&1 | head -1))"

"$K" replay "$DATA" --metric vm.exits --json >"$tmp/total.json" 2>/dev/null ||
	fail "replay total"
"$K" replay "$DATA" --metric vm.exits --decompose latency --json \
	>"$tmp/latency.json" 2>/dev/null || fail "replay latency"

agent_replay

# Negotiation: text by default and when text is preferred, protobuf when
# it is preferred (this is the header Prometheus 2.4x sends).
PB='application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'
ctype() { curl -s -o "$tmp/body" -w '%{content_type}' "$@" "$A/metrics"; }
[ "$(ctype)" = "text/plain; version=0.0.4" ] || fail "default: $(ctype)"
[ "$(ctype -H "Accept: $PB;q=0.5,text/plain;version=0.0.4;q=0.6")" = \
	"text/plain; version=0.0.4" ] || fail "text preferred"
want="application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
got=$(ctype -H "Accept: $PB;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2")
[ "$got" = "$want" ] || fail "protobuf asked for: Content-Type '$got'"
[ -s "$tmp/body" ] || fail "empty protobuf body"
head -c 1 "$tmp/body" | grep -q '#' && fail "protobuf asked for, text served"
curl -s -D "$tmp/headers" -o /dev/null "$A/metrics"
grep -qi '^Vary: Accept' "$tmp/headers" || fail "no Vary: Accept"

prom_start --enable-feature=native-histograms

wait_replay
curl -sf "$A/metrics" >"$tmp/metrics.txt" || fail "GET /metrics after the replay"
wait_scrapes

H=kvmscope_vm_exits_latency_nanoseconds
query "sum($H)" >"$tmp/q_hist.json"
query "histogram_count(sum($H))" >"$tmp/q_count.json"
query "histogram_sum(sum($H))" >"$tmp/q_sum.json"
for q in 0.5 0.9 0.99; do
	query "histogram_quantile($q, sum($H))" >"$tmp/q_quantile_$q.json"
done
query 'sum(kvmscope_vm_exits_total)' >"$tmp/q_total.json"
query 'sum(kvmscope_vm_exits_latency_seconds_count)' >"$tmp/q_classic.json"
query "count($H)" >"$tmp/q_series.json"
query 'count(kvmscope_vm_exits_latency_seconds_count)' >"$tmp/q_cseries.json"
query 'kvmscope_build_info' >"$tmp/q_build.json"
"$K" version --json >"$tmp/version.json" || fail "kvmscope version --json"

python3 - "$tmp" <<'PY' || fail "PromQL answers differ from the agent's numbers"
import json, math, os, re, sys
d = sys.argv[1]
def load(name):
    with open(os.path.join(d, name)) as f:
        return json.load(f)
def result(name):
    r = load(name)
    assert r["status"] == "success", (name, r)
    return r["data"]["result"]
def one(name):
    r = result(name)
    assert len(r) == 1, (name, r)
    return float(r[0]["value"][1])

total = load("total.json")["value"]
dist = load("latency.json")["value"]	# [[[lo, hi], count], ...], ns
ntotal = sum(c for _, c in dist)
assert total > 0 and ntotal > 0, "the replay counted nothing"

# The agent's own sum of latencies, from its text exposition (seconds).
text = open(os.path.join(d, "metrics.txt")).read()
tsum = sum(float(m) for m in re.findall(
    r"^kvmscope_vm_exits_latency_seconds_sum\{[^}]*\} (\S+)$", text, re.M))
assert tsum > 0, "no _sum in the text exposition"

assert one("q_count.json") == ntotal, (one("q_count.json"), ntotal)
hsum = one("q_sum.json")
assert abs(hsum - tsum * 1e9) <= 1e-6 * hsum, (hsum, tsum * 1e9)
print("native: count %d = the replay's, sum %.0f ns = the agent's" % (ntotal, hsum))
assert one("q_series.json") == one("q_cseries.json")
assert int(one("q_total.json")) == total, (one("q_total.json"), total)
assert int(one("q_classic.json")) == ntotal, "classic _seconds histogram"
print("classic histogram and counters still there: %d exits, %d series" %
      (total, one("q_series.json")))
# The build, scraped from the protobuf exposition: the binary's own.
b = result("q_build.json")
v = load("version.json")
assert len(b) == 1 and b[0]["value"][1] == "1", b
assert b[0]["metric"]["version"] == v["version"], (b, v)
assert b[0]["metric"]["revision"] == v["revision"], (b, v)
print("kvmscope_build_info{version=%s} scraped" % v["version"])

# Bucket by bucket: the replay's buckets summed per power of two.
def native_index(v):
    return 0 if v == 0 else v.bit_length()	# [2^(i-1), 2^i) -> i
want = {}
for (lo, hi), c in dist:
    assert native_index(lo) == native_index(hi), ("straddles", lo, hi)
    want[native_index(lo)] = want.get(native_index(lo), 0) + c
r = result("q_hist.json")
assert len(r) == 1 and "histogram" in r[0], r
h = r[0]["histogram"][1]
got = {}
for rule, lo, hi, c in h["buckets"]:
    lo, hi, c = float(lo), float(hi), float(c)
    if lo <= 0 <= hi:
        i = 0				# the zero bucket
    else:
        i = round(math.log2(hi))
        assert hi == 2.0 ** i and lo == 2.0 ** (i - 1), (lo, hi)
    got[i] = got.get(i, 0) + int(c)
got = {i: c for i, c in got.items() if c}
assert got == want, ("native buckets", got, want)
print("native buckets: %d, each equal to the replay's power-of-two sums" % len(got))

# Quantiles: inside the native bucket holding the exact quantile.
for q in ("0.5", "0.9", "0.99"):
    v = one("q_quantile_%s.json" % q)
    assert math.isfinite(v), (q, v)
    rank, cum = float(q) * ntotal, 0
    for (lo, hi), c in sorted(dist):
        cum += c
        if cum >= rank:
            break
    i = native_index(lo)
    blo, bhi = (0, 0) if i == 0 else (2 ** (i - 1), 2 ** i)
    assert blo <= v <= bhi, (q, v, lo, hi, blo, bhi)
    print("p%g: %.0f ns (exact quantile in [%d, %d], native bucket (%d, %d])" %
          (float(q) * 100, v, lo, hi, blo, bhi))
PY

prom_stop
echo "prometheus native histograms ok"
