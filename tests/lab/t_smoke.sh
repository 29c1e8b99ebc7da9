#!/bin/bash
# The lab's smoke test: L1 boots under QEMU TCG, kvm_amd loads, /dev/kvm
# works, and a kvmtest burst makes exactly the exits its parameters say
# (checked in L1 by scenarios/smoke.sh and again here from its output).
# Skips (77) where the lab cannot be had: no qemu or no kernel package.
set -u
. "$(dirname "$0")/hostlib.sh"
lab_run smoke 200
R=$LABOUT/smoke
N=1000 K=64
check "kvmtest io" "$(kv "$R/kvmtest.out" vcpu0 io)" $N
check "kvmtest isr" "$(kv "$R/kvmtest.out" vcpu0 isr)" $((N / K))
check "kvmtest mmio" "$(kv "$R/kvmtest.out" vcpu0 mmio)" $((N / 16))
check "kvmtest hlt" "$(kv "$R/kvmtest.out" vcpu0 hlt)" 1
check "kvm_amd npt" "$(sed -n 's/^kvm_amd.npt=//p' "$R/l1-env.txt")" Y
[ $BAD = 0 ] || lab_fail "$BAD checks failed"
echo "smoke passed in ${LAB_WALL}s"
