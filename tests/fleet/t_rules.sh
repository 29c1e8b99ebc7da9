#!/bin/bash
# t_rules.sh - the fleet's Prometheus rules (contrib/prometheus/
# kvmscope.rules.yml) are valid, tested, and work on a real Prometheus
# scraping a real agent.
#
#  1. `promtool check rules` accepts the file.
#  2. `promtool test rules` passes kvmscope.rules.test.yml, whose cases
#     hold each recording rule's numbers (worked out by hand) and each
#     alert's firing, pending and not-firing cases.
#  3. The tests can fail: every alert has a case where it fires and one
#     where it must not; replacing any rule's expression by one that never
#     fires (alerts), always fires (alerts) or loses its labels (recording
#     rules) makes `promtool test rules` fail.
#  4. A real Prometheus (Debian's; promtool comes with it) loads the rules
#     and scrapes two agents, one replaying tests/data/kvm-trace-all-events.txt
#     (exits, interrupts) as host exits-host, one tests/data/disk-qmp.ksr
#     (a real guest's disk I/O) as disk-host, both in a loop, plus a
#     target where nothing listens: every rule evaluates without error;
#     every recording rule has data; the recorded exits per VM and host equal
#     the agent's own counters' rates; KvmscopeAgentDown is pending for the
#     dead target only, naming it.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
DISK=$TOP/tests/data/disk-qmp.ksr
RULES=$TOP/contrib/prometheus/kvmscope.rules.yml
CASES=$TOP/contrib/prometheus/kvmscope.rules.test.yml
MUT=$TOP/tests/fleet/opslib.py
. "$TOP/tests/http/promlib.sh"
. "$TOP/tests/fleet/opslib.sh"
prom_init t_rules
find_prometheus
PROMTOOL=$(dirname "$PROM")/promtool
[ -x "$PROMTOOL" ] || { echo "no promtool beside $PROM"; exit 77; }
echo "promtool: $PROMTOOL ($("$PROMTOOL" --version 2>&1 | head -1))"

# 1, 2.
"$PROMTOOL" check rules "$RULES" >"$tmp/check.log" 2>&1 ||
	{ cat "$tmp/check.log"; fail "promtool check rules"; }
nrules=$(python3 "$MUT" list "$RULES" | wc -l)
grep -q "SUCCESS: $nrules rules found" "$tmp/check.log" ||
	{ cat "$tmp/check.log"; fail "promtool found other than the $nrules rules"; }
"$PROMTOOL" test rules "$CASES" >"$tmp/test.log" 2>&1 ||
	{ cat "$tmp/test.log"; fail "promtool test rules"; }
echo "promtool: $nrules rules checked, test cases pass"

# 3. Cases on both sides of every alert.
python3 - "$RULES" "$CASES" "$MUT" <<'PY' || fail "an alert lacks a firing or a not-firing case"
import re, subprocess, sys
rules, cases, mut = sys.argv[1:]
alerts = [l.split('\t')[0].split()[1] for l in
          subprocess.check_output([sys.executable, mut, 'list', rules], text=True).splitlines()
          if l.startswith('alert ')]
text = open(cases).read()
fire, quiet = {}, {}
for m in re.finditer(r'alertname: (\S+)\s*\n\s*exp_alerts:( \[\])?', text):
    (quiet if m.group(2) else fire).setdefault(m.group(1), 0)
    (quiet if m.group(2) else fire)[m.group(1)] += 1
bad = [a for a in alerts if not fire.get(a) or not quiet.get(a)]
assert alerts and not bad, ("missing cases", bad)
print("cases: %d alerts, each with firing and not-firing cases" % len(alerts))
PY
# ... and they fail when a rule is broken.  Each mutated rules file goes
# beside a copy of the cases (which name kvmscope.rules.yml); promtool
# runs three at a time (it mostly waits).
t0=$(date +%s)
n=0
while IFS=$'\t' read -r kindname _; do
	kind=${kindname%% *} name=${kindname#* }
	if [ "$kind" = alert ]; then
		muts=('vector(1) == 2' 'vector(1)')
	else
		muts=('vector(0)')
	fi
	for e in "${muts[@]}"; do
		n=$((n + 1))
		mkdir -p "$tmp/mut/$n"
		cp "$CASES" "$tmp/mut/$n/cases.yml"
		python3 "$MUT" mutate "$RULES" "$name" "$e" >"$tmp/mut/$n/kvmscope.rules.yml" ||
			fail "mutating $name"
		printf '%s = %s\n' "$name" "$e" >"$tmp/mut/$n/what"
	done
done < <(python3 "$MUT" list "$RULES")
# shellcheck disable=SC2016
seq 1 "$n" | xargs -P 3 -I{} sh -c '"$1" test rules "$2/{}/cases.yml" >"$2/{}/log" 2>&1; echo $? >"$2/{}/rc"' \
	sh "$PROMTOOL" "$tmp/mut"
for i in $(seq 1 "$n"); do
	[ "$(cat "$tmp/mut/$i/rc")" = 1 ] && grep -q FAILED "$tmp/mut/$i/log" ||
		{ cat "$tmp/mut/$i/log"; fail "the cases still pass (or promtool failed otherwise) with $(cat "$tmp/mut/$i/what")"; }
done
echo "mutations: $n broken rules, each caught by the cases ($(( $(date +%s) - t0 )) s)"

# 4. A real Prometheus with the rules, scraping two agents (one replaying
# the exits trace, one a real guest's disk I/O, both in a loop so that
# their counters keep rising) and a dead port.
two_agents
dead=$(free_port)	# nothing listens there
prom_start --web.enable-lifecycle
cp "$RULES" "$tmp/rules.yml"
prom_scrape "$tmp/rules.yml" "127.0.0.1:$aport1" "127.0.0.1:$aport" "127.0.0.1:$dead"
# Until the recorded exit rate is positive (the rules ran on two scrapes
# of a rising counter), then two more evaluations.
wait_positive 'sum(hostname_vm:kvmscope_vm_exits:rate1m)'
wait_positive 'sum(hostname_vm:kvmscope_vm_physio_ops:rate1m)'
sleep 2
{ curl -s "$A1/metrics" && curl -s "$A/metrics"; } >"$tmp/metrics.txt" || fail "GET /metrics"
curl -s "$P/api/v1/rules" >"$tmp/rules.json" || fail "GET /api/v1/rules"
curl -s "$P/api/v1/alerts" >"$tmp/alerts.json" || fail "GET /api/v1/alerts"
python3 - "$tmp" "$P" "$MUT" "$RULES" "127.0.0.1:$dead" "127.0.0.1:$aport" <<'PY' ||
import json, math, os, re, subprocess, sys, urllib.parse, urllib.request
d, base, mut, rules, dead, live = sys.argv[1:]
def api(path, **params):
    with urllib.request.urlopen(base + path + "?" + urllib.parse.urlencode(params)) as f:
        r = json.load(f)
    assert r["status"] == "success", (path, params, r)
    return r["data"]
def q(expr):
    return api("/api/v1/query", query=expr)["result"]

listed = [l.split('\t') for l in
          subprocess.check_output([sys.executable, mut, 'list', rules], text=True).splitlines()]
# Every rule loaded and evaluated without error.
loaded = {}
for g in json.load(open(d + "/rules.json"))["data"]["groups"]:
    for r in g["rules"]:
        loaded[r["name"]] = r
        assert r["health"] == "ok", ("rule unhealthy", r["name"], r.get("lastError"))
assert sorted(loaded) == sorted(kn.split()[1] for kn, _ in listed), \
    ("rules loaded", sorted(loaded))

# The agent's families: declared (# TYPE) and with series.
sys.path.insert(0, os.path.dirname(mut))
from opslib import families, family
declared, present = families(d + "/metrics.txt")

records = {kn.split()[1]: e for kn, e in listed if kn.startswith("record ")}
def inputs(expr, seen=()):
    """The agent series a recording rule reads, through other rules."""
    out = set()
    for name in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        if name in records and name not in seen:
            out |= inputs(records[name], seen + (name,))
        elif name.startswith("kvmscope_"):
            out.add(name)
    return out
with_data = 0
for name, expr in records.items():
    ins = inputs(expr)
    assert ins, ("no agent input", name)
    for s in ins:
        assert s in present or family(s) in declared, \
            ("the agent neither exports nor declares", s, "read by", name)
    res = q(name)
    if all(s in present for s in ins):
        assert res, ("no data", name, expr)
        vals = [float(r["value"][1]) for r in res]
        assert all(math.isfinite(v) for v in vals), (name, vals)
        if not name.endswith("_bucket:rate5m"):
            assert any(v > 0 for v in vals), (name, vals)
        with_data += 1
        print("ok %-66s %d series" % (name, len(res)))
    else:
        missing = sorted(s for s in ins if s not in present)
        assert not res, (name, "has data, yet the agent has no", missing)
        print("-- %-66s no input in the trace (%s declared, no series)" %
              (name, ", ".join(missing)))
assert with_data == len(records), ("recording rules without data", with_data, len(records))

# Recorded exits per VM and per host equal the raw counters' rate that
# Prometheus computes at the instant each was recorded.  (A scrape in
# flight during an evaluation lands after it: one of the last five may
# differ, no more.)
def at(expr, t):
    return {tuple(sorted((k, v) for k, v in r["metric"].items() if k != "__name__")):
            float(r["value"][1]) for r in api("/api/v1/query", query=expr, time=t)["result"]}
now = api("/api/v1/query", query="time()")["result"][1]
for rec, raw in (("hostname_vm:kvmscope_vm_exits:rate1m",
                  "sum by (hostname, vm) (rate(kvmscope_vm_exits_total[1m]))"),
                 ("hostname:kvmscope_vm_exits:rate1m",
                  "sum by (hostname) (rate(kvmscope_vm_exits_total[1m]))")):
    series = api("/api/v1/query", query=rec + "[6s]", time=now)["result"]
    assert series, rec
    for s in series:
        key = tuple(sorted((k, v) for k, v in s["metric"].items() if k != "__name__"))
        bad = []
        for ts, v in s["values"][-5:]:
            want = at(raw, ts).get(key)
            if want is None or abs(float(v) - want) > 1e-9 * max(1.0, want):
                bad.append((ts, v, want))
        assert len(s["values"]) >= 3 and len(bad) <= 1, (rec, key, s["values"], bad)
        print("ok %s%s = the raw rate at %d instants" % (rec, dict(key), len(s["values"][-5:]) - len(bad)))

# The dead target: KvmscopeAgentDown pending (for: 2m) for it alone.
alerts = json.load(open(d + "/alerts.json"))["data"]["alerts"]
down = [a for a in alerts if a["labels"]["alertname"] == "KvmscopeAgentDown"]
assert [a["labels"]["instance"] for a in down] == [dead], down
assert down[0]["state"] == "pending", down
assert dead in down[0]["annotations"]["summary"], down
assert not [a for a in alerts if a["labels"]["alertname"] == "KvmscopeAgentsAbsent"]
print("real Prometheus: %d rules healthy, %d recording rules with data, "
      "KvmscopeAgentDown pending for %s only" % (len(loaded), with_data, dead))
PY
	fail "the rules on a real Prometheus"

stop_agent1
prom_stop
echo "rules ok"
