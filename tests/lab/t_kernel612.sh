#!/bin/bash
# The live probes under Debian 12's other kernel, 6.12 (linux-image-6.12-
# amd64, linux-image-6.12.*+deb12-amd64), as L1: the checks that run
# under 6.1 elsewhere in make check, from ONE boot of the 6.12 lab
# (scenarios/live-probes.sh runs their four scenarios one after another,
# each in its own folder), in an output folder of its own, lab-out/k6.12,
# so the two kernels never share a build.  Each host-side test then
# checks its scenario's folder as it would after a boot of its own
# (LAB_DONE=1, hostlib.sh):
#   t_exits_count.sh    exits per vCPU and reason exact against KVM's
#                       binary stats, count-only and timed (bpf-exits);
#   t_irq_seconds.sh    one 0x22 per vCPU in each wall-clock second
#                       (irq-seconds);
#   t_check.sh          kvmscope check agrees with KVM's statistics
#                       (check, the kvmtest VM);
#   full_samples_cr3.sh samples by cr3 (samples-cr3; nested paging
#                       only: the shadow-paging boot stays in make
#                       lab-full, under 6.1), each within 10% of the
#                       trace's guest time under that cr3; without the
#                       99 Hz bound, which a loaded host breaks under
#                       either kernel (SAMPLES_RATE=0).
# And L1 really ran 6.12: the kernel the lab unpacked (KVER) is 6.12.*,
# and L1's own `uname -r` says the same.
# The host's own kernel (6.18 here) covers load and attach (tests/bpf).
set -u
. "$(dirname "$0")/hostlib.sh"
command -v python3 > /dev/null || lab_skip "no python3"
kvmscope_bin > /dev/null || lab_fail "no kvmscope binary (make first)"
export LAB_KMETA=linux-image-6.12-amd64 LAB_OUT=$TOP/lab-out/k6.12
export SAMPLES_NPT0=0 SAMPLES_RATE=0
LABOUT=$LAB_OUT
R=$LAB_OUT/live-probes
lab_lock
rm -rf "$R"	# a lab that cannot be had leaves no folder: never read an old one
lab_boot live-probes 800
rc=$?
case $rc in
0|1) ;;	# 1: a scenario failed; its test below says how
77) [ -f "$R/status" ] || lab_skip "the 6.12 lab: ${LAB_WHY:-unavailable here}";;
124|137) lab_fail "the 6.12 lab ran past its 800s budget";;
*) lab_fail "the 6.12 lab failed with status $rc";;
esac
wall=$LAB_WALL

ver=$(cat "$LAB_OUT/kernel/KVER" 2>/dev/null)
booted=$(cat "$R/uname" 2>/dev/null)
case $ver in 6.12.*) k612=yes;; *) k612=no;; esac
check "the lab's kernel (KVER '$ver') is 6.12" "$k612" yes
check "L1's uname -r is that kernel" "$booted" "$ver"

failed="" why=""
out=$(mktemp /tmp/t_kernel612.XXXXXX)
trap 'rm -f "$out"' EXIT
for t in t_exits_count.sh t_irq_seconds.sh t_check.sh full_samples_cr3.sh; do
	echo "== $t under $booted"
	LAB_DONE=1 LAB_OUT=$R bash "$LABDIR/$t" 2>&1 | tee "$out"
	case ${PIPESTATUS[0]} in
	0) echo "== ok   $t";;
	77) echo "== SKIP $t"; why="$t: $(tail -1 "$out" | sed 's/^SKIP: //')";;
	*) echo "== FAIL $t"; failed="$failed $t";;
	esac
done
[ $BAD = 0 ] || lab_fail "L1 did not run 6.12 (KVER '$ver', uname -r '$booted')"
[ -z "$failed" ] || lab_fail "under $booted:$failed"
[ -z "$why" ] || lab_skip "under $booted, $why"
echo "live probes pass under $booted, one boot in ${wall}s"
