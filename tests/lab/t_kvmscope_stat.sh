#!/bin/bash
# `kvmscope stat 1 3 --json` and `stat -L 1 2 --json` inside L1 against
# real kvm_amd while kvmtest keeps a VM busy (scenarios/kvmscope-stat.sh):
# the -L table must count every exit of the rows, time some, with
# min <= avg, p99 <= max.  Skips (77) until the
# kvmscope binary has a stat command, or where the lab cannot be had.
set -u
. "$(dirname "$0")/hostlib.sh"
lab_run kvmscope-stat 330
R=$LABOUT/kvmscope-stat
[ -s "$R/stat.json" ] || lab_fail "no stat.json"
pid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$R/kvmtest.out")
python3 - "$R/stat.json" "$pid" <<'PY' || lab_fail "kvmscope stat --json did not show the kvmtest VM"
import json, sys
text = open(sys.argv[1]).read().strip()
try:
	docs = [json.loads(text)]
except ValueError:
	docs = [json.loads(l) for l in text.splitlines() if l.strip()]
assert len(docs) >= 3, "want 3 intervals, got %d" % len(docs)
exits = 0
for d in docs:
	for row in d.get("rows", []):
		if str(row.get("pid")) == sys.argv[2]:
			exits += row.get("exits", 0)
assert exits > 0, "no exits for kvmtest pid %s" % sys.argv[2]
print("ok   stat --json: %d intervals, %d exits of kvmtest pid %s" % (len(docs), exits, sys.argv[2]))
PY
[ -s "$R/statL.json" ] || lab_fail "no statL.json (stat -L)"
python3 - "$R/statL.json" "$pid" <<'PY' || lab_fail "kvmscope stat -L --json has no consistent latency table"
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1]).read().splitlines() if l.strip()]
assert len(docs) >= 2, "want 2 intervals, got %d" % len(docs)
timed = 0
for d in docs:
    lat = d.get("latency")
    assert lat is not None, "no latency table with -L"
    exits = sum(r["exits"] for r in d["rows"])
    counted = sum(r["count"] for r in lat)
    # The rows are rates over the wall seconds the read covered
    # ("interval"), the -L table counts: the same exits, to the rows'
    # rounding (half an exit per second per row).
    iv = d["interval"]
    slack = 0.5 * len(d["rows"]) * max(iv, 1.0) + 1
    assert exits > 0 and abs(counted - exits * iv) <= slack, (lat, exits, iv)
    print("     interval %.3f s: rows %d exits/s, -L table %d exits" % (iv, exits, counted))
    if counted:
        assert abs(sum(r["count_pct"] for r in lat) - 100) < 0.01
    for r in lat:
        if r["timed"]:
            timed += r["timed"]
            assert 0 < r["min_ns"] <= r["avg_ns"] <= r["max_ns"], r
            assert r["min_ns"] <= r["p99_ns"] <= r["max_ns"], r
            assert r["max_ns"] < 10**9, r
assert timed > 0, "no exit was timed"
reasons = sorted({r["reason"] for d in docs for r in d["latency"]})
print("ok   stat -L --json: %d intervals, %d timed exits, reasons %s" %
      (len(docs), timed, ",".join(reasons)))
PY
echo "kvmscope stat passed in ${LAB_WALL}s"
