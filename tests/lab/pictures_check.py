#!/usr/bin/env python3
"""pictures_check.py - the numbers behind the seed's pictures 2, 3 and 4.

Usage: pictures_check.py VALUES_DIR RESULTS_DIR

VALUES_DIR holds what the host fetched from kvmscope's API in L1 (raw
values per second, one JSON array per instrumentation: exitsr.json,
uexits.json, irqs.json, samples.json, l2exits.json, and status.json);
RESULTS_DIR is lab-out/pictures-l1 (the scenario's phases, kvmtest's
output, kvmscope stat's JSON).  Every phase the scenario ran is checked
(tests/lab/t_pictures_l1.sh and full_pictures.sh say what and why); one line
per check, and the exit status is the number of failed checks.
"""
import json
import os
import sys

W, PR = sys.argv[1:3]
bad = 0


def check(what, ok, detail):
    global bad
    print("%s %s: %s" % ("ok  " if ok else "BAD ", what, detail))
    bad += not ok


def points(name):
    return json.load(open(os.path.join(W, name + ".json")))


def count(v):
    return v if isinstance(v, int) else sum(c for _, c in v)


def totals(name, lo=None, hi=None):
    """Counts per key over the points whose second is in [lo, hi]."""
    t = {}
    for p in points(name):
        if (lo is None or p["start_time"] >= lo) and \
           (hi is None or p["start_time"] <= hi):
            for k, v in p["value"].items():
                t[k] = t.get(k, 0) + count(v)
    return t


def kvout(name):
    """kvmtest's key=value lines, by their words without '='."""
    out = {}
    for line in open(os.path.join(PR, name + ".out")):
        f = line.split()
        key = " ".join(x for x in f if "=" not in x)
        out.setdefault(key, {}).update(x.split("=", 1) for x in f if "=" in x)
    return out


def stat_rows(name, pid):
    return [r for line in open(os.path.join(PR, name + ".json"))
            for r in json.loads(line)["rows"] if r["pid"] == pid]


PH = {}
for line in open(os.path.join(PR, "phases")):
    f = line.split()
    PH.setdefault(f[0], {})[f[1]] = int(f[2])
    PH[f[0]].update(x.split("=", 1) for x in f[3:])


def exits():
    """3: exact exits of one kvmtest burst, by reason, VM and vCPU."""
    t = totals("exitsr")
    ut = totals("uexits")
    check("exits io = port writes", t.get("io") == 2000, t)
    check("exits hlt = 1", t.get("hlt") == 1, t.get("hlt"))
    check("exits npf >= MMIO writes", t.get("npf", 0) >= 125, t.get("npf"))
    check("userspace exits io, mmio, hlt",
          (ut.get("KVM_EXIT_IO"), ut.get("KVM_EXIT_MMIO"),
           ut.get("KVM_EXIT_HLT")) == (2000, 125, 1), ut)
    rows = stat_rows("stat-exits", int(PH["exits"]["pid"]))
    st = {k: sum(r[k] for r in rows) for k in ("exits", "iox", "haltx", "mmiox")}
    # kvmtest names no VM: discovery and the probes call it comm-pid,
    # in every row, the first included (a first read that brings only
    # the VM's counters names its row by them).
    pid = int(PH["exits"]["pid"])
    names = {r["vm"] for r in rows}
    check("kvmscope stat: the burst's VM and vCPU",
          names == {"kvmtest-%d" % pid} and
          {r["vcpu"] for r in rows} == {0},
          {(r["vm"], r["vcpu"]) for r in rows})
    check("kvmscope stat: io, hlt, mmio",
          (st["iox"], st["haltx"], st["mmiox"]) == (2000, 1, 125), st)
    check("kvmscope stat and the API count the same exits",
          st["exits"] == sum(t.values()),
          "%d vs %d" % (st["exits"], sum(t.values())))


def vector_rows(phase, vec):
    """second -> [(lo, hi)] rows where vector vec was injected."""
    rows = {}
    for p in points("irqs"):
        s = p["start_time"]
        if PH[phase]["start"] <= s <= PH[phase]["end"] + 1:
            for k, d in p["value"].items():
                if int(k, 16) == vec:
                    rows[s] = [tuple(b) for b, n in d if n > 0]
    return rows


def irqs():
    """2: a flat line (0x20 at 120 ms) and a rising stair (0x21)."""
    ws = kvout("irqs")["vcpu0 worksleep"]
    work, cycle = float(ws["work_ms"]), float(ws["cycle_ms"])
    tick, wake = vector_rows("irqs", 0x20), vector_rows("irqs", 0x21)
    secs = range(PH["irqs"]["start"] + 1, PH["irqs"]["end"])
    missing = [s for s in secs if s not in tick]
    check("0x20 in every whole second of the run", not missing,
          "missing in %s" % missing)
    los = [lo for s in tick for lo, hi in tick[s]]
    # kvmtest's injecting thread runs in L1 under TCG: on a busy 2-core
    # host it wakes up to ~25 ms late (rows 120..144 seen at load 12),
    # never early (an early row is a clock error of ours: it was one).
    check("0x20 a flat line: spread under 40 ms",
          los and max(los) - min(los) <= 32,
          "rows %s..%s ms" % (min(los, default=None), max(los, default=None)))
    check("0x20 at its phase, 120 ms (injected within 40 ms, never early)",
          los and 120 <= min(los) and max(los) < 160, sorted(set(los)))
    # One wake-up per cycle (a cycle is over 1 s): at most one a second;
    # its time is the second plus the middle of its row.
    multi = {s: r for s, r in wake.items()
             if len(r) > 1 and max(r)[0] - min(r)[0] > 10}
    check("0x21 at most once a second", not multi, multi)
    t = sorted(s + (min(r)[0] + min(r)[1] + 1) / 2000.0 for s, r in wake.items())
    n = len(t)
    period = 1000 * (t[-1] - t[0]) / (n - 1) if n > 2 else 0
    check("0x21 a stair: one step per wake-up", n >= 12, "%d wake-ups" % n)
    check("0x21 interval = kvmtest's wake-to-wake time (10 ms)",
          abs(period - cycle) <= 10, "%.1f ms vs %.1f ms" % (period, cycle))
    step = period - 1000
    check("0x21 stair's slope = the work time (10% + 5 ms)",
          step > 20 and abs(step - work) <= 0.1 * work + 5,
          "%.1f ms per second vs work %.1f ms" % (step, work))


def cr3():
    """4: samples by cr3 follow a 1:1 and then a 1:19 split of time."""
    st = json.load(open(os.path.join(W, "status.json")))
    src = {s["name"]: s for s in st["sources"]}
    if src.get("bpf_samples", {}).get("status") != "running":
        check("bpf_samples runs in L1", False, src.get("bpf_samples"))
        return
    sw = [kvout("cr3")["vcpu%d switch" % i] for i in (0, 1)]
    cut1 = int(max(float(x["switch_wall"]) for x in sw))
    cut2 = int(min(float(x["resume_wall"]) for x in sw))
    # The pause leaves second cut2 - 1 idle, and it takes any sample of
    # the second ratio that a late read credits to the second before.
    check("the ratio changed on both vCPUs, with an idle second between",
          all(x["switched"] == "1" for x in sw) and cut2 >= cut1 + 2,
          (cut1, cut2))
    # kvmtest's ratio is of loop iterations, the samples' of guest time:
    # each loop also pays a fixed cost per cycle (its cr3 load, which
    # flushes QEMU's soft TLB, and the refill after the cycle's port
    # exit).  At 1:1 the two costs cancel; at 1:19 they raise 0x4000's
    # share (5.67% in a loaded run), never lower it, so that bound is
    # 10% below and 20% above.  full_samples_cr3.sh checks the samples
    # against the true time split, from the exits' trace, within 10%.
    for label, lo, hi, want, up in (
            ("1:1", PH["cr3"]["start"], cut1, 0.5, 0.1),
            ("1:19", cut2 - 1, PH["cr3"]["end"] + 1, 0.05, 0.2)):
        c = totals("samples", lo, hi)
        ab = c.get("4000", 0) + c.get("5000", 0)
        check("%s: nearly all samples under cr3 0x4000 or 0x5000" % label,
              ab > 0 and ab >= 0.9 * sum(c.values()), c)
        share = c.get("4000", 0) / max(ab, 1)
        check("cr3 0x4000 share %s within -10%%/+%d%%" % (label, 100 * up),
              -0.1 * want <= share - want <= up * want,
              "%.2f%% (want %.1f%% -%.2f +%.2f)" % (100 * share, 100 * want,
                                                    10 * want, 100 * up * want))


def edge():
    """An event 2 ms into a second is counted in that second."""
    tick = vector_rows("edge", 0x20)
    secs = range(PH["edge"]["start"] + 1, PH["edge"]["end"])
    missing = [s for s in secs if s not in tick]
    check("0x20 at 2 ms past the second: in every whole second",
          not missing, "missing in %s; %s" % (missing, sorted(tick.items())))


def qemu():
    """3: a real Linux guest's exits are plausible, next to kvmtest's."""
    t = totals("l2exits")
    want = {"hlt", "io", "msr", "npf", "interrupt"}
    check("L2 Linux exits include %s" % sorted(want), want <= set(t), t)
    check("L2 Linux exits: many", sum(t.values()) >= 1000, sum(t.values()))
    pid, kpid = int(PH["qemu"]["pid"]), int(PH["qemu"]["kvmtest"])
    rows = [r for line in open(os.path.join(PR, "stat-qemu.json"))
            for r in json.loads(line)["rows"]]
    vms = {(r["pid"], r["vm"]) for r in rows if r["exits"] > 0}
    check("kvmscope stat shows both VMs side by side",
          (pid, "l2-linux") in vms and
          any(p == kpid and v.startswith("kvmtest") for p, v in vms), vms)
    # (A row with vcpu null holds interrupts sent before the probe knew
    # the target's vCPU.)
    vcpus = {r["vcpu"] for r in rows if r["pid"] == pid and r["exits"] > 0}
    check("kvmscope stat: both vCPUs of the L2 guest", vcpus == {0, 1}, vcpus)


for name, fn in (("exits", exits), ("irqs", irqs), ("cr3", cr3),
                 ("edge", edge), ("qemu", qemu)):
    if name in PH:
        fn()
sys.exit(bad)
