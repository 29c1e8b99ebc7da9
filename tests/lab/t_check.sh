#!/bin/bash
# `kvmscope check` agrees with KVM in the nested lab (scenarios/check.sh):
# with a kvmtest VM whose every compared statistic moves (exits, HLT
# exits, port I/O and MMIO exits to the VMM, injections), and, with
# CHECK_L2=1 (full_check_l2.sh, in make lab-full), with an L2 Linux guest
# under QEMU -enable-kvm.  Each check exits 0 with verdict
# "agree"; the VM's statistics are all compared and non-zero where the
# workload makes them so; its per-vCPU exits sum to its exits; the host
# report names kvm_amd, SVM and npt; the cost section has the exits
# program's runs and run time.
# test-timeout: 1200
set -u
. "$(dirname "$0")/hostlib.sh"
. "$(dirname "$0")/hostguest.sh"
command -v python3 > /dev/null || lab_skip "no python3"
# CHECK_L2=1 adds the L2 Linux guest (make lab-full: full_check_l2.sh);
# its boot under nested TCG takes 100 s on a quiet machine and several
# minutes on a busy one, too long for make check.
if [ "${CHECK_L2:-0}" = 1 ]; then
	hg_prepare
	export LAB_HOSTROOT=1
	lab_run check 900 l2="$HG_OUT"
else
	lab_run check 900
fi
R=$LABOUT/check
python3 - "$R" <<'PY' || lab_fail "kvmscope check did not agree with KVM"
import json, os, sys
r = sys.argv[1]
bad = 0
def check(ok, msg):
    global bad
    bad += not ok
    print(("ok   " if ok else "BAD  ") + msg)

def one(name, pid, moving):
    rc = int(open("%s/check-%s.rc" % (r, name)).read())
    d = json.load(open("%s/check-%s.json" % (r, name)))
    check(rc == 0 and d["verdict"] == "agree",
          "%s: exit %d, verdict %s (%s); edges %s" % (name, rc, d["verdict"],
          d.get("why"), d["agreement"].get("edges")))
    h = d["host"]
    check(h["virtualization"] == "AMD SVM" and h["kvm_module"] == "kvm_amd"
          and h["parameters"].get("npt") in ("Y", "1") and h["dev_kvm"],
          "%s: host %s, %s, npt=%s" % (name, h["virtualization"], h["kvm_module"],
                                      h["parameters"].get("npt")))
    vms = [v for v in d["agreement"]["vms"] if v["pid"] == pid]
    check(len(vms) == 1, "%s: VM pid %d in the report" % (name, pid))
    if not vms:
        return
    if vms[0].get("not_compared_because"):
        print("     (%s: %s)" % (name, vms[0]["not_compared_because"]))
    st = vms[0]["statistics"]
    for s, v in sorted(st.items()):
        check(v["verdict"] in ("exact", "within edges"),
              "%s: %-14s kvmscope %d, KVM %s..%s: %s" % (name, s, v["kvmscope"],
              v.get("kvm_min"), v.get("kvm_max"), v["verdict"]))
    for s in moving:
        check(st[s]["kvmscope"] > 0, "%s: %s moved (%d)" % (name, s, st[s]["kvmscope"]))
    byv = vms[0]["exits_by_vcpu"]
    check(sum(byv.values()) == st["exits"]["kvmscope"] and len(byv) == 2,
          "%s: exits by vCPU %s sum to %d" % (name, byv, st["exits"]["kvmscope"]))
    progs = {p["program"]: p for p in d["cost"]["programs"]}
    ex = progs.get("ks_exit", {})
    check(ex.get("runs", 0) > 0 and ex.get("ns_per_run", 0) > 0,
          "%s: cost of ks_exit: %s" % (name, ex))
    check(d["cost"]["lost_events"] == 0, "%s: nothing lost" % name)

kpid = None
for line in open(r + "/kvmtest.out"):
    if line.startswith("pid="):
        kpid = int(line.split()[0][4:])
check(kpid is not None, "kvmtest's pid")
if kpid:
    one("kvmtest", kpid, ["exits", "halt_exits", "io_exits", "mmio_exits",
                          "irq_injections"])
names = ["kvmtest"]
if os.path.exists(r + "/l2.pid"):
    names.append("l2")
    one("l2", int(open(r + "/l2.pid").read()), ["exits", "halt_exits", "irq_injections"])
for name in names:
    txt = open("%s/check-%s.txt" % (r, name)).read()
    rc = int(open("%s/check-%s.txt.rc" % (r, name)).read())
    check(rc == 0 and "verdict: agree" in txt and "agreement with KVM" in txt,
          "%s: the text report (exit %d)" % (name, rc))
sys.exit(1 if bad else 0)
PY
echo "kvmscope check agrees with KVM in ${LAB_WALL}s"
