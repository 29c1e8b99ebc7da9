#!/bin/bash
# The catalogue as the CLI prints it: text, JSON in CA's shape, docs in sync,
# bad options rejected on stderr with a non-zero exit.
set -eu
K=$KVMSCOPE
out=$("$K" metrics)
grep -q '^vm.exits ' <<<"$out"
grep -q '^nic.vnic_bytes ' <<<"$out"
json=$("$K" metrics --json)
python3 - "$json" <<'PY'
import json, sys
ca = json.loads(sys.argv[1])
for k in ("modules", "fields", "types", "metrics", "transformations"):
    assert k in ca, k
names = {m["module"] + "." + m["stat"] for m in ca["metrics"]}
for want in ("vm.exits", "vm.irqs", "vm.thread_samples", "vm.physio_ops",
             "vm.physio_bytes", "nic.vnic_bytes", "nic.vnic_packets"):
    assert want in names, want
for m in ca["metrics"]:
    for f in m["fields"]:
        assert f in ca["fields"], f
        assert ca["fields"][f]["type"] in ca["types"]
    assert ("unit" in m) != ("type" in m), m
assert ca["types"]["time"]["power"] == -9 and ca["types"]["size"]["base"] == 2
assert ca["fields"]["irqvector"]["type"] == "string"
print("catalogue ok")
PY
# docs/metrics.md is generated from the same table and must be current.
diff <("$K" metrics --markdown) "$TOP/docs/metrics.md"
# Errors go to stderr with a non-zero status.
if "$K" metrics --bogus >/dev/null 2>/tmp/err.$$; then exit 1; fi
grep -q . /tmp/err.$$
if "$K" nosuchcommand 2>/dev/null; then exit 1; fi
"$K" --help | grep -q replay
rm -f /tmp/err.$$
