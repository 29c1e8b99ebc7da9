#!/bin/bash
# Exact exit counts in count-only mode, against real kvm_amd.  The bpf-exits
# scenario runs `kvmscope stat --records` (exits timed: kvm_exit paired with
# kvm_entry; the scenario checks those records itself) and, beside it,
# `kvmscope stat --counts --json`, whose exits probe counts with kvm_exit
# alone into per-thread slots and wall-second planes.  Here: that table's
# totals per process and vCPU must equal KVM's binary stats of each
# kvmtest vCPU, column by column - every exit, io exits, halt exits, MMIO
# exits to user space and emulated instructions - so count-only mode loses
# and double-counts nothing across its second planes.
set -u
. "$(dirname "$0")/hostlib.sh"
lab_run bpf-exits 420
R=$LABOUT/bpf-exits
[ -s "$R/counts.json" ] || lab_fail "no counts.json (stat --counts --json)"
python3 - "$R" <<'PY' || lab_fail "count-only totals differ from KVM's binary stats"
import json, re, sys
r = sys.argv[1]
tot = {}
for line in open(r + "/counts.json"):
    if not line.strip():
        continue
    for row in json.loads(line)["rows"]:
        t = tot.setdefault((str(row["pid"]), row["vcpu"]), {})
        for c in ("exits", "iox", "haltx", "mmiox", "emul"):
            t[c] = t.get(c, 0) + row[c]
cols = {"exits": "exits", "iox": "io_exits", "haltx": "halt_exits",
        "mmiox": "mmio_exits", "emul": "insn_emulation"}
bad = checked = 0
for case in ("one", "two"):
    text = open("%s/%s.out" % (r, case)).read()
    pid = re.search(r"^pid=(\d+)", text, re.M).group(1)
    bs = {(m.group(1), m.group(2)): int(m.group(3)) for m in
          re.finditer(r"^binstats (vcpu\d+) (\S+) (\d+)$", text, re.M)}
    for v in sorted({k[0] for k in bs}):
        got = tot.get((pid, int(v[4:])), {})
        for col, stat in cols.items():
            want = bs.get((v, stat))
            if want is None:
                continue
            ok = got.get(col) == want
            bad += not ok
            checked += 1
            print("%s %s %s %s = binstats %s = %s" % ("ok  " if ok else "BAD ",
                  case, v, col, stat, want) + ("" if ok else
                  " (stat says %s)" % got.get(col)))
assert checked >= 10, "only %d checks" % checked
sys.exit(1 if bad else 0)
PY
echo "count-only exits exact in ${LAB_WALL}s"
