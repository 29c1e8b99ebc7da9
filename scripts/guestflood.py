#!/usr/bin/env python3
"""guestflood.py - a tracefs text of hostile guests, for tests, bench, soak.

Writes what `trace-cmd`/tracefs would show for VMs whose guests never
repeat themselves: every kvm_exit at a new guest RIP, every kvm_mmio at a
new guest physical address.  VMs are QEMU processes (comm NAME, pid = tid)
named PREFIX0, PREFIX1, ... with pids from --pid; each writes --rate exits
and --mmio MMIO accesses a second for --seconds seconds.  --seed shifts
every address, so two runs (two generations of VMs) share none.  With
--churn C the VMs are replaced every C seconds by new ones (new names,
pids and addresses): VMs coming and going.

usage: guestflood.py [--vms N] [--seconds S] [--rate R] [--mmio M]
                     [--prefix NAME] [--pid P] [--seed K] [--churn C]
                     > trace.txt
"""
import argparse
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vms", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--mmio", type=int, default=200)
    ap.add_argument("--prefix", default="guest")
    ap.add_argument("--pid", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--churn", type=int, default=0)
    a = ap.parse_args()
    out = sys.stdout
    out.write("# tracer: nop\n#\n")
    base_rip = 0xffffffff81000000 + a.seed * (1 << 32)
    base_gpa = 0xfe000000 + a.seed * (1 << 36)
    t0 = 100.0
    for s in range(a.seconds):
        n = max(a.rate, a.mmio)
        gen = s // a.churn if a.churn else 0
        for i in range(n):
            ts = t0 + s + i / n
            for v in range(a.vms):
                comm = "%s%d" % (a.prefix, gen * a.vms + v) if gen else \
                    "%s%d" % (a.prefix, v)
                tid = a.pid + gen * a.vms + v
                k = (s * n + i) * a.vms + v
                who = "%16s-%-7d [000] d..1. %12.6f:" % (comm, tid, ts)
                if i < a.rate:
                    rip = base_rip + k * 16
                    out.write("%s kvm_exit: vcpu 0 reason hlt rip 0x%x "
                              "info1 0x0 info2 0x0 intr_info 0x00000000 "
                              "error_code 0x00000000\n" % (who, rip))
                    out.write("%s kvm_entry: vcpu 0, rip 0x%x\n"
                              % (who, rip + 1))
                if i < a.mmio:
                    out.write("%s kvm_mmio: mmio write len 4 gpa 0x%x "
                              "val 0x0\n" % (who, base_gpa + k * 8))


if __name__ == "__main__":
    main()
