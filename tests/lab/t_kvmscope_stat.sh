#!/bin/bash
# `kvmscope stat 1 3 --json` inside L1 against real kvm_amd while kvmtest
# keeps a VM busy (scenarios/kvmscope-stat.sh).  Skips (77) until the
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
echo "kvmscope stat passed in ${LAB_WALL}s"
