#!/bin/bash
# kvmtest's modes on real kvm_amd (scenarios/kvmtest-exits.sh checks each
# case in L1): exact bursts on 1 and 2 vCPUs with count-driven injection at
# several vectors, a timer-like vector at a fixed phase, a wake-up vector
# after work and sleep, and the two-cr3 mode.  Here: every case ran, and
# every injected vector was delivered.
set -u
. "$(dirname "$0")/hostlib.sh"
lab_run kvmtest-exits 360
R=$LABOUT/kvmtest-exits
for c in default io-only mmio-heavy two-vcpus tick worksleep cr3; do
	[ -s "$R/$c.out" ] || { echo "BAD  case $c has no output"; BAD=$((BAD + 1)); continue; }
	check "$c overflow" "$(kv "$R/$c.out" vcpu0 overflow)" 0
	check "$c delivered" "$(kv "$R/$c.out" vcpu0 delivered)" "$(kv "$R/$c.out" vcpu0 injected)"
done
check "cr3 ratio" "$(sed -n 's/.*ratio=\([0-9:]*\).*/\1/p' "$R/cr3.out")" 3:1
[ "$(kv "$R/cr3.out" vcpu0 cycles)" -gt 0 ] 2>/dev/null || { echo "BAD  cr3 made no cycles"; BAD=$((BAD + 1)); }
[ $BAD = 0 ] || lab_fail "$BAD checks failed"
echo "kvmtest modes passed in ${LAB_WALL}s"
