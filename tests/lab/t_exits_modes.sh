#!/bin/bash
# The agent switches the exits probe between count-only and latency mode
# at run time (lab scenario exits-modes): an instrumentation by
# vleavereason alone leaves it count-only, one by latency (or with a
# latency predicate) switches it to latency, deleting that switches back.
# Across the switches no exit may be lost or counted twice: for each
# kvmtest burst - one per mode and one with two switches while it runs -
# the by-reason instrumentation's values over the burst's seconds must
# equal KVM's binary stats of the burst's vCPUs: every exit, io exits
# and halt exits.
set -u
. "$(dirname "$0")/hostlib.sh"
lab_run exits-modes 300
R=$LABOUT/exits-modes
[ -s "$R/values.json" ] || lab_fail "no values.json"
python3 - "$R" <<'PY' || lab_fail "exit counts across mode switches differ from KVM's binary stats"
import json, re, sys
r = sys.argv[1]
ph = {}
for line in open(r + "/phases"):
    f = line.split()
    ph.setdefault(f[0], {})[f[1]] = int(f[2])
    ph[f[0]].update(x.split("=", 1) for x in f[3:])
pts = json.load(open(r + "/values.json"))
modes = {"one": "count-only", "two": "latency", "three": "count-only",
         "warm": "latency", "five": "latency"}
bad = checked = 0
for case in ("one", "two", "three", "four", "warm", "five"):
    lo, hi = ph[case]["start"], ph[case]["end"]
    got = {}
    for p in pts:
        if lo <= p["start_time"] <= hi:
            for k, v in p["value"].items():
                got[k] = got.get(k, 0) + v
    text = open("%s/%s.out" % (r, case)).read()
    bs = {}
    for m in re.finditer(r"^binstats vcpu\d+ (\S+) (\d+)$", text, re.M):
        bs[m.group(1)] = bs.get(m.group(1), 0) + int(m.group(2))
    want = {"all": bs.get("exits"), "io": bs.get("io_exits"),
            "hlt": bs.get("halt_exits")}
    have = {"all": sum(got.values()), "io": got.get("io", 0),
            "hlt": got.get("hlt", 0)}
    if case in modes and ph[case].get("mode") != modes[case]:
        bad += 1
        print("BAD  %s ran in mode %s, expected %s" %
              (case, ph[case].get("mode"), modes[case]))
    for k in want:
        if want[k] is None:
            continue
        ok = want[k] == have[k]
        bad += not ok
        checked += 1
        print("%s %s %s: values %d, binstats %d" %
              ("ok  " if ok else "BAD ", case, k, have[k], want[k]))
# Nothing between the bursts: their seconds hold every exit.
tot = sum(sum(p["value"].values()) for p in pts)
inb = sum(sum(p["value"].values()) for p in pts
          if any(ph[c]["start"] <= p["start_time"] <= ph[c]["end"]
                 for c in ("one", "two", "three", "four", "warm", "five")))
print("%s exits outside the bursts: %d" % ("ok  " if tot == inb else "BAD ",
      tot - inb))
bad += tot != inb
assert checked >= 12, "only %d checks" % checked
sys.exit(1 if bad else 0)
PY
# Latency predicates at a bucket's middle split it where the exits'
# latencies lie: gt + le = every timed exit, each within the bucket's
# bounds, and a busy bucket split between the two.
python3 - "$R" <<'PY' || lab_fail "latency predicates are not exact inside a bucket"
import json, sys
r = sys.argv[1]
dist = [(b[0][0], b[0][1], b[1]) for b in
        json.load(open(r + "/five.latd.json"))["value"]]
total = sum(c for _, _, c in dist)
bad = split = 0
for line in open(r + "/cuts.txt"):
    k, x, lo, hi, _ = map(int, line.split())
    gt = json.load(open("%s/five.gt%d.json" % (r, k)))["value"]
    le = json.load(open("%s/five.le%d.json" % (r, k)))["value"]
    above = sum(c for l, h, c in dist if l > x)
    inb = sum(c for l, h, c in dist if l <= x <= h)
    ok = gt + le == total and above <= gt <= above + inb
    split += ok and inb >= 2 and above < gt < above + inb
    bad += not ok
    print("%s latency %d: gt %d + le %d = %d of %d; bucket [%d, %d] holds "
          "%d, %d above it" % ("ok  " if ok else "BAD ", x, gt, le, gt + le,
                               total, lo, hi, inb, above))
if not split:
    print("BAD  no busy bucket was split: the cuts did not reach the probe")
sys.exit(1 if bad or not split or total < 1000 else 0)
PY
echo "exits exact across mode switches, latency predicates exact in ${LAB_WALL}s"
