#!/bin/bash
# The live probes under Debian 12's other kernel, 6.12 (linux-image-6.12-
# amd64), as L1 (make lab-full): the same tests that run under 6.1 in make
# check, each against its own boot of the 6.12 lab (its own output folder,
# lab-out/k6.12, so the two kernels never share a build):
#   t_exits_count.sh    exits per vCPU and reason exact against KVM's
#                       binary stats, count-only and timed;
#   t_irq_seconds.sh    injections, each in its own wall-clock second;
#   full_samples_cr3.sh samples by cr3 (nested paging only here: the
#                       shadow-paging boot stays in make lab-full);
#   t_check.sh          kvmscope check agrees with KVM's statistics
#                       (the kvmtest VM).
# The host's own kernel (6.18 here) covers load and attach (tests/bpf).
set -u
. "$(dirname "$0")/hostlib.sh"
export LAB_KMETA=linux-image-6.12-amd64 LAB_OUT=$TOP/lab-out/k6.12
export SAMPLES_NPT0=0
failed=""
for t in t_exits_count.sh t_irq_seconds.sh full_samples_cr3.sh t_check.sh; do
	echo "== $t under $LAB_KMETA"
	bash "$LABDIR/$t"
	rc=$?
	case $rc in
	0) echo "== ok   $t";;
	77) lab_skip "$t under 6.12 skipped";;
	*) echo "== FAIL $t (rc $rc)"; failed="$failed $t";;
	esac
done
ver=$(cat "$LAB_OUT/kernel/KVER" 2>/dev/null)
case $ver in 6.12.*) ;; *) lab_fail "the lab did not boot 6.12 (KVER '$ver')";; esac
[ -z "$failed" ] || lab_fail "under $ver:$failed"
echo "live probes pass under $ver"
