#!/bin/bash
# t_fleet_pause.sh - an agent Prometheus cannot scrape for a while (frozen
# with SIGSTOP: its counters keep their values, only the scrapes fail)
# comes back, and the fleet counts nothing for the gap.
#
# A real Prometheus scrapes one agent (`kvmscope serve --replay` of a real
# capture) every second; a fleet polls it with a live instrumentation
# (vm.exits by hostname, granularity 1).  The agent is frozen for 5 s:
# each failed scrape makes Prometheus mark its series stale, so the steps
# where each poll's range starts hold no sample.  After it is thawed, the
# fleet's value summed over every window must be exactly the agent's own
# total (`kvmscope replay` of the capture): a series differenced against
# nothing at a poll's first step would count its whole cumulative value
# again (src/fleet/carry.c).  The test first checks that Prometheus did
# see the gap, so it cannot pass without testing it.
set -u
K=${KVMSCOPE:?}
KF=${KVMSCOPE_FAST:-$K}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
. "$TOP/tests/http/promlib.sh"
prom_init t_fleet_pause
. "$TOP/tests/fleet/fleetlib.sh"
pids=()
pause_cleanup() {
	[ -n "$agent" ] && kill -CONT "$agent" 2>/dev/null
	for p in "${pids[@]}"; do { kill -KILL "$p" && wait "$p"; } 2>/dev/null; done
	prom_cleanup
}
trap pause_cleanup EXIT
find_prometheus

own=$("$KF" replay "$DATA" --metric vm.exits --json 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])') ||
	fail "replay of $DATA"
t0=$(date +%s)
agent_replay --hostname paused
prom_start
wait_replay
wait_scrapes
fleet_start "$P"
code=$(curl -s -o "$tmp/create.json" -w '%{http_code}' -m 10 \
	-H 'Content-Type: application/json' \
	-d '{"module":"vm","stat":"exits","decomposition":["hostname"],"granularity":1}' \
	"$F/ca/instrumentations")
[ "$code" = 201 ] || fail "create: $code $(cat "$tmp/create.json")"
uri=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uri"])' "$tmp/create.json")
sleep 5	# live polls, one window each
kill -STOP "$agent"
t_stop=$(date +%s)
sleep 5
kill -CONT "$agent"
t_cont=$(date +%s)
wait_scrapes
sleep 5	# the fleet fetches windows 3 s after they end
t_end=$(( $(date +%s) - 4 ))

# Prometheus saw the gap: steps inside the freeze without a sample.
curl -s "$P/api/v1/query_range" --data-urlencode 'query=kvmscope_vm_exits_total' \
	--data-urlencode "start=$t_stop" --data-urlencode "end=$t_cont" \
	--data-urlencode step=1 >"$tmp/gap.json"
python3 - "$tmp/gap.json" "$t_stop" "$t_cont" <<'PY' || fail "Prometheus did not miss the frozen agent's scrapes: $(head -c 600 "$tmp/gap.json")"
import json, sys
r = json.load(open(sys.argv[1]))["data"]["result"]
steps = set(range(int(sys.argv[2]), int(sys.argv[3]) + 1))
held = {int(round(float(t))) for s in r for t, _ in s["values"]}
missing = sorted(steps - held)
assert len(missing) >= 2, ("steps held", sorted(held & steps))
print("Prometheus has no sample at %d of %d steps of the freeze" % (len(missing), len(steps)))
PY

n=$((t_end - t0 + 1))
curl -sf "$F$uri/value/raw?start_time=$t0&duration=1&ndatapoints=$n" >"$tmp/values.json" ||
	fail "the fleet's values"
python3 - "$tmp/values.json" "$own" <<'PY' || fail "the fleet counted the gap"
import json, sys
vals = json.load(open(sys.argv[1]))
own = int(sys.argv[2])
got = sum(v["value"].get("paused", 0) for v in vals)
per = [(v["start_time"], v["value"]["paused"]) for v in vals if v["value"].get("paused")]
assert got == own, "the fleet holds %d exits, the agent %d; windows with exits: %s" % (got, own, per)
print("fleet total %d = the agent's own %d, over %d windows" % (got, own, len(vals)))
PY
st=$(curl -sf "$F/ca/admin/status") || fail "status"
python3 -c 'import json,sys; f = json.loads(sys.argv[1])["fleet"]; assert f["carried_series"] >= 1 and f["carry_dropped"] == 0, f' "$st" ||
	fail "the status does not say what is carried: $st"
fleet_stop
prom_stop
echo "PASS: t_fleet_pause (an agent frozen 5 s: nothing counted twice)"
