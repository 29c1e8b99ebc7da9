#!/bin/bash
# bench_fleet.sh - `kvmscope fleet` heatmap latency against Grafana's own
# heatmap query, on one hour of 8 hosts in a local Prometheus.
#
# The data: the real capture tests/data/kvm-trace-all-events.txt's exit
# latency distribution per exit reason (`kvmscope replay --decompose
# vleavereason --decompose latency`), cut at the agents' exported edges
# (2^k ns - 1), is one "pass"; host h's counters grow by (1 + (h + i) % 4)
# passes at scrape i, every 15 s for an hour ending a minute ago.  Written
# as OpenMetrics (kvmscope_vm_exits_latency_seconds_bucket{hostname, vm,
# vleavereason, le}, the agents' family) and imported with Debian's
# `promtool tsdb create-blocks-from openmetrics` into a fresh Prometheus
# 2.42, so no agent has to run for an hour.
#
# Timed, BENCH_FLEET_REPS times each, in one run:
#   fleet: POST an instrumentation (vm.exits by latency, granularity 15,
#     retention 7200, so its backfill covers the whole hour however long the
#     bench has run) to a fresh `kvmscope fleet`, wait until its value over
#     the hour holds every exit the data put there (computed from the
#     generator, so a partial hour fails the bench), then GET its 600x300
#     heatmap image over the hour; the latency is from the POST to the
#     image;
#   grafana: the query a Grafana heatmap panel sends for the same data,
#     sum by (le) (increase(..._bucket[60s])) as query_range, step 15.
# Prints p50 and p99 of each, their ratio, and the 500 ms target's.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
KVMSCOPE_FAST=${KVMSCOPE_FAST:-$TOP/.output/kvmscope}
REPS=${BENCH_FLEET_REPS:-30}
PROM=$(command -v prometheus) PROMTOOL=$(command -v promtool)
if [ -z "$PROM" ] || [ -z "$PROMTOOL" ]; then
	echo "bench_fleet: prometheus and promtool are not installed (Debian's prometheus): not run"
	exit 0
fi
tmp=$(mktemp -d /tmp/kvmscope-bench-fleet.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT

"$KVMSCOPE_FAST" replay "$TOP/tests/data/kvm-trace-all-events.txt" --metric vm.exits \
	--decompose vleavereason --decompose latency --json >"$tmp/pass.json" 2>/dev/null ||
	{ echo "bench_fleet: replay failed" >&2; exit 1; }
end=$(( ($(date +%s) - 60) / 15 * 15 ))
python3 - "$tmp/pass.json" "$end" "$tmp/want" >"$tmp/data.om" <<'PY'
import json, sys
value = json.load(open(sys.argv[1]))["value"]
end = int(sys.argv[2])
# The exits in the windows [end - 3585, end): sample s (time end - 3600 +
# 15 s) adds (1 + (h + s) % 4) passes; the window starting at sample s
# holds sample s + 1's, for s = 1 .. 239.
npass = sum(c for b in value.values() for _, c in b)
want = sum((1 + (h + s) % 4) * npass for h in range(1, 9) for s in range(2, 241))
open(sys.argv[3], "w").write("%d\n" % want)
edges = [2 ** k for k in range(8, 35)]
les = ["%.9g" % ((e - 1) * 1e-9) for e in edges] + ["+Inf"]
print("# TYPE kvmscope_vm_exits_latency_seconds histogram")
for h in range(1, 9):
    for reason, buckets in sorted(value.items()):
        cut = [0] * len(les)
        for (lo, hi), c in buckets:
            cut[next((i for i, e in enumerate(edges) if hi < e), len(edges))] += c
        cum, run = [], 0
        for c in cut:
            run += c
            cum.append(run)
        for i, le in enumerate(les):
            total = 0
            lines = []
            for step in range(241):
                t = end - 3600 + 15 * step
                total += (1 + (h + step) % 4) * cum[i]
                lines.append('kvmscope_vm_exits_latency_seconds_bucket{hostname="host%d",vm="kvmtest",vleavereason="%s",le="%s"} %d %d'
                             % (h, reason, le, total, t))
            print("\n".join(lines))
print("# EOF")
PY
"$PROMTOOL" tsdb create-blocks-from openmetrics "$tmp/data.om" "$tmp/tsdb" >"$tmp/promtool.log" 2>&1 ||
	{ echo "bench_fleet: promtool failed: $(tail -3 "$tmp/promtool.log")" >&2; exit 1; }
echo "series $(grep -c '^# ' "$tmp/data.om" >/dev/null; awk 'NR>1 && !/^#/ {sub(/ [0-9]+ [0-9]+$/, ""); s[$0]} END {print length(s)}' "$tmp/data.om") samples $(grep -vc '^#' "$tmp/data.om") (promtool tsdb create-blocks-from openmetrics)"

mapfile -t ports < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
for s in ss: print(s.getsockname()[1])')
printf 'global:\n  scrape_interval: 15s\n' >"$tmp/prom.yml"
"$PROM" --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/tsdb" \
	--web.listen-address="127.0.0.1:${ports[0]}" --log.level=warn >"$tmp/prom.log" 2>&1 &
pids+=($!)
P=http://127.0.0.1:${ports[0]}
for _ in $(seq 1 150); do curl -sf "$P/-/ready" >/dev/null && break; sleep 0.2; done
"$KVMSCOPE_FAST" fleet --prometheus "$P" --listen "127.0.0.1:${ports[1]}" \
	--scrape-interval 15 2>"$tmp/fleet.log" &
pids+=($!)
F=http://127.0.0.1:${ports[1]}
for _ in $(seq 1 100); do curl -sf "$F/ca" >/dev/null && break; sleep 0.1; done

python3 - "$P" "$F" "$end" "$REPS" "$(cat "$tmp/want")" <<'PY'
import json, sys, time, urllib.parse, urllib.request
P, F, end, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
want = int(sys.argv[5])
start = end - 3600 + 15
def req(url, data=None):
    r = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(r, timeout=30) as f:
        return json.load(f)
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
q = urllib.parse.urlencode({"query": "sum by (le) (increase(kvmscope_vm_exits_latency_seconds_bucket[60s]))",
                            "start": start, "end": end, "step": 15})
graf, fleet = [], []
for i in range(reps):
    t0 = time.monotonic()
    r = req(P + "/api/v1/query_range?" + q)
    graf.append(time.monotonic() - t0)
    assert r["status"] == "success" and r["data"]["result"], r
    body = json.dumps({"module": "vm", "stat": "exits", "decomposition": ["latency"],
                       "granularity": 15, "retention-time": 7200}).encode()
    t0 = time.monotonic()
    uri = req(F + "/ca/instrumentations", body)["uri"]
    while True:
        v = req("%s%s/value/raw?start_time=%d&duration=%d" % (F, uri, start, end - start))
        n = sum(c for _, c in v["value"])
        if n:
            break	# one query feeds the whole backfill at once
        if time.monotonic() - t0 > 60:
            sys.exit("bench_fleet: no value after 60 s")
        time.sleep(0.005)
    img = req("%s%s/value/heatmap/image?start_time=%d&duration=%d&width=600&height=300"
              % (F, uri, start, end - start))
    fleet.append(time.monotonic() - t0)
    assert img["image"]
    assert n == want, "fleet holds %d exits of the hour, the data %d" % (n, want)
    urllib.request.urlopen(urllib.request.Request(F + uri, method="DELETE"), timeout=10).read()
fp50, fp99, gp50, gp99 = pct(fleet, 50), pct(fleet, 99), pct(graf, 50), pct(graf, 99)
print("fleet_heatmap_records %d (8 hosts, 1 h, granularity 15 s, 600x300)" % want)
print("fleet_heatmap_p50_ms %.1f" % (fp50 * 1e3))
print("fleet_heatmap_p99_ms %.1f  (target < 500: %s)" % (fp99 * 1e3, "met" if fp99 < 0.5 else "NOT met"))
print("grafana_query_p50_ms %.1f" % (gp50 * 1e3))
print("grafana_query_p99_ms %.1f" % (gp99 * 1e3))
print("fleet_over_grafana_p99 %.2f" % (fp99 / gp99))
PY
