#!/bin/bash
# The seed's pictures 2, 3 and 4 on real KVM, end to end: workloads in the
# lab's L1 (scenarios/pictures-l1.sh), `kvmscope serve` in L1 with its BPF
# sources, and this host reading CA's API through the forwarded port with
# the agent's token.  Checked from the raw values per second:
#
# 3. VM exits by reason (and by VM and vCPU in `kvmscope stat`): one
#    kvmtest burst of 2000 port writes, 125 MMIO writes and a hlt gives
#    exactly io = 2000 and hlt = 1 exits, npf >= 125, userspace exits
#    KVM_EXIT_IO = 2000, KVM_EXIT_MMIO = 125, KVM_EXIT_HLT = 1; kvmscope
#    stat's rows for that VM and vCPU 0 add up to the same io, hlt and mmio
#    and to the API's total.
# 2. Interrupts by subsecond offset, by vector: kvmtest injects 0x20 once a
#    second at 50 ms past the wall-clock second - a flat line: every
#    second has it, all within one 10 ms row or two adjacent ones (spread
#    under 20 ms), at 50..69 ms - and 0x21 one second after each burst of
#    work - a rising stair: the interval between its injections, from the
#    heatmap's offsets, matches kvmtest's own wake-to-wake time within
#    10 ms, and the step (interval - 1 s) matches the measured work time.
# 4. vCPU samples by cr3: two page directories on 2 vCPUs, 1:1 then
#    (after 2 idle seconds) 1:19: the samples' cr3 0x4000 share is 50% and
#    then 5%, each within 10% of itself.
#
# The heatmaps are saved in lab-out/pictures/: exits-latency.png,
# irqs-subsecond.png, samples-cr3.png, with the values behind them.
set -u
. "$(dirname "$0")/hostlib.sh"
. "$(dirname "$0")/picturelib.sh"
for c in curl python3; do
	command -v $c >/dev/null || lab_skip "no $c"
done
W=$(mktemp -d /tmp/t_pictures.XXXXXX)
PICTURES_CLEANUP="rm -rf $W"

pictures_boot phases=exits,irqs,cr3 hold=300

mkdir -p "$PICTURES"
raw exits exits "$W/exits.json"
raw uexits exits "$W/uexits.json"
raw irqs irqs "$W/irqs.json"
raw samples cr3 "$W/samples.json"
api_get /ca/admin/status "$W/status.json"
image exits exits exits-latency "decompose_all=true"
image irqs irqs irqs-subsecond "ymin=0&ymax=1000&nbuckets=100&decompose_all=true"
image samples cr3 samples-cr3 "ymin=0&ymax=1000&nbuckets=50&decompose_all=true"
for f in exits uexits irqs samples; do cp "$W/$f.json" "$PICTURES/l1-$f.json"; done
cp "$PR/stat-exits.json" "$PR/exits.out" "$PR/irqs.out" "$PR/cr3.out" "$PR/phases" "$PICTURES/"
pictures_stop

python3 - "$W" "$PR" <<'PY' || BAD=$((BAD + 1))
import json, re, sys
w, pr = sys.argv[1:3]
bad = 0
def check(what, ok, detail):
    global bad
    print("%s %s: %s" % ("ok  " if ok else "BAD ", what, detail))
    bad += not ok
def points(n):
    return json.load(open("%s/%s.json" % (w, n)))
def count(v):
    return v if isinstance(v, int) else sum(c for _, c in v)
def kvout(name):
    out = {}
    for line in open("%s/%s.out" % (pr, name)):
        f = line.split()
        key = " ".join(x for x in f if "=" not in x)
        out.setdefault(key, {}).update(x.split("=", 1) for x in f if "=" in x)
    return out
def phases():
    ph = {}
    for line in open("%s/phases" % pr):
        f = line.split()
        ph.setdefault(f[0], {})[f[1]] = int(f[2])
        ph[f[0]].update(x.split("=", 1) for x in f[3:])
    return ph
ph = phases()
status = json.load(open("%s/status.json" % w))
src = {s["name"]: s for s in status["sources"]}

# ---- 3: exits -------------------------------------------------------------
total = {}
for p in points("exits"):
    for k, v in p["value"].items():
        total[k] = total.get(k, 0) + count(v)
ut = {}
for p in points("uexits"):
    for k, v in p["value"].items():
        ut[k] = ut.get(k, 0) + count(v)
check("exits io", total.get("io") == 2000, total)
check("exits hlt", total.get("hlt") == 1, total.get("hlt"))
check("exits npf >= MMIO writes", total.get("npf", 0) >= 125, total.get("npf"))
check("userspace exits", (ut.get("KVM_EXIT_IO"), ut.get("KVM_EXIT_MMIO"),
                          ut.get("KVM_EXIT_HLT")) == (2000, 125, 1), ut)
pid = int(ph["exits"]["pid"])
rows = [r for line in open("%s/stat-exits.json" % pr)
        for r in json.loads(line)["rows"] if r["pid"] == pid]
st = {k: sum(r[k] for r in rows) for k in ("exits", "iox", "haltx", "mmiox")}
check("kvmscope stat: the burst's VM and vCPU",
      rows and {(r["vm"], r["vcpu"]) for r in rows} == {("kvmtest", 0)},
      {(r["vm"], r["vcpu"]) for r in rows})
check("kvmscope stat: io, hlt, mmio", (st["iox"], st["haltx"], st["mmiox"]) ==
      (2000, 1, 125), st)
check("kvmscope stat and the API count the same exits",
      st["exits"] == sum(total.values()), "%d vs %d" % (st["exits"], sum(total.values())))

# ---- 2: interrupts by subsecond offset -----------------------------------
ko = kvout("irqs")
ws = ko["vcpu0 worksleep"]
work, cycle = float(ws["work_ms"]), float(ws["cycle_ms"])
tick, wake = {}, {}		# second -> list of (lo, hi) rows with counts
for p in points("irqs"):
    for vec, d in p["value"].items():
        rows = [tuple(b) for b, n in d if n > 0]
        if vec in ("20", "0x20"):
            tick[p["start_time"]] = rows
        elif vec in ("21", "0x21"):
            wake[p["start_time"]] = rows
        else:
            check("only vectors 0x20 and 0x21", False, vec)
secs = range(ph["irqs"]["start"] + 1, ph["irqs"]["end"])
missing = [s for s in secs if s not in tick]
check("0x20 in every whole second of the run", not missing, "missing %s" % missing)
los = [lo for s in tick for lo, hi in tick[s]]
check("0x20 a flat line: spread under 20 ms", los and max(los) - min(los) <= 10,
      "rows %s..%s ms" % (min(los, default=None), max(los, default=None)))
check("0x20 at its phase, 50 ms (injected within 20 ms)",
      los and 50 <= min(los) and max(los) < 70, sorted(set(los)))
# One wake-up per cycle (cycle > 1 s): each second has at most one; its
# time is the second plus the row's middle.
multi = {s: r for s, r in wake.items() if len(r) > 1 and max(r)[0] - min(r)[0] > 10}
check("0x21 at most once a second", not multi, multi)
t = sorted(s + (min(r)[0] + min(r)[1] + 1) / 2000.0 for s, r in wake.items())
n = len(t)
period = 1000 * (t[-1] - t[0]) / (n - 1) if n > 2 else 0
check("0x21 a stair: one step per wake-up", n >= 12, "%d wake-ups" % n)
check("0x21 interval = kvmtest's wake-to-wake time (10 ms)",
      abs(period - cycle) <= 10, "%.1f ms vs %.1f ms" % (period, cycle))
step = period - 1000
check("0x21 stair's slope = the work time (10%% + 5 ms)",
      step > 20 and abs(step - work) <= 0.1 * work + 5,
      "%.1f ms per second vs work %.1f ms" % (step, work))

# ---- 4: vCPU samples by cr3 ----------------------------------------------
if src.get("bpf_samples", {}).get("status") != "running":
    check("bpf_samples runs in L1", False, src.get("bpf_samples"))
else:
    ko = kvout("cr3")
    sw = [ko["vcpu%d switch" % i] for i in (0, 1)]
    cut1 = int(max(float(x["switch_wall"]) for x in sw))
    cut2 = int(min(float(x["resume_wall"]) for x in sw))
    check("the ratio changed on both vCPUs, with idle seconds between",
          all(x["switched"] == "1" for x in sw) and cut2 > cut1 + 0, (cut1, cut2))
    share = {}
    for label, lo, hi in (("1:1", 0, cut1), ("1:19", cut2, 1 << 40)):
        c = {}
        for p in points("samples"):
            if lo <= p["start_time"] <= hi:
                for k, v in p["value"].items():
                    c[k] = c.get(k, 0) + count(v)
        ab = c.get("4000", 0) + c.get("5000", 0)
        check("%s: nearly all samples under cr3 0x4000 or 0x5000" % label,
              ab > 0 and ab >= 0.9 * sum(c.values()), c)
        share[label] = c.get("4000", 0) / max(ab, 1)
    for label, want in (("1:1", 0.5), ("1:19", 0.05)):
        check("cr3 0x4000 share %s within 10%%" % label,
              abs(share[label] - want) <= 0.1 * want,
              "%.2f%% (want %.1f%% +- %.2f)" % (100 * share[label], 100 * want, 10 * want))
sys.exit(bad)
PY
[ $BAD = 0 ] || lab_fail "$BAD checks failed"
echo "pictures 2, 3, 4 ok through the forwarded API"
