#!/bin/bash
# bench_lab_probe_cost.sh - what kvmscope's BPF programs cost per event on
# the real KVM tracepoints, against a bare per-CPU counter on the same
# tracepoints, measured in one run in the nested KVM lab.
#
# Boots the lab's L1 (tests/lab/run-l1.sh) with the host's root shared in
# and runs scenarios/probe-cost.sh there: `kvmscope stat` (count-only) and
# `kvmscope stat -L` (latency) in alternating rounds, each next to
# `bench_probe_cost --kvm` (the counters), while kvmtest makes io exits to
# user space; prints each program's ns per run, the counter's on its hook,
# and the ratio (medians), labelled "in L1 under TCG": an emulated CPU's
# times, so the ratios are what carries over.
#
# Environment: PROBECOST_CLOCKSOURCES ("hpet tsc"), PROBECOST_N (iterations per burst, 50000), PROBECOST_ROUNDS
# (4: each mode gets both attach orders twice), PROBECOST_SKIP=1 to skip (a few minutes).
set -u
cd "$(dirname "$0")/.."
TOP=$PWD
N=${PROBECOST_N:-50000}
ROUNDS=${PROBECOST_ROUNDS:-4}
B=$TOP/.output/bench/bench_probe_cost
skip() { echo "bench_lab_probe_cost: skipped: $*"; exit 0; }

[ "${PROBECOST_SKIP:-0}" = 1 ] && skip "PROBECOST_SKIP=1"
[ "$(id -u)" = 0 ] || skip "needs root (the lab)"
[ -x "$TOP/.output/kvmscope" ] || skip "no .output/kvmscope (make)"
[ -x "$B" ] || skip "no $B (make benches)"

# Twice: L1's own clocksource under TCG, the emulated HPET (each
# bpf_ktime_get_ns() an MMIO read that QEMU emulates: 5x a counter), and
# the TSC (clocksource=tsc tsc=reliable), which the hosts users run have;
# the latency mode reads the clock on each hook, so its ratio is the TSC
# run's that carries over.  PROBECOST_CLOCKSOURCES picks (default both).
log=$(mktemp /tmp/bench-probecost.XXXXXX)
trap 'rm -f "$log"' EXIT
res=${LAB_OUT:-$TOP/lab-out}/probe-cost
for clock in ${PROBECOST_CLOCKSOURCES:-hpet tsc}; do
	append=""
	[ "$clock" = tsc ] && append="clocksource=tsc tsc=reliable"
	LAB_APPEND=$append LAB_HOSTROOT=1 bash "$TOP/tests/lab/run-l1.sh" \
		probe-cost "$B" "$N" "$ROUNDS" > "$log" 2>&1
	rc=$?
	case $rc in
	0) ;;
	77) skip "$(grep -a -E '^SKIP:|lab unavailable' "$log" | tail -1)";;
	*) tail -20 "$log"; echo "bench_lab_probe_cost: the lab run failed (rc $rc, clocksource $clock)"; exit 1;;
	esac
	echo "lab: $(head -1 "$res/lab-run.txt")"
	cat "$res/summary.txt"
	cp "$res/summary.txt" "$res/summary.$clock.txt"
done
echo "targets: count-only ks_exit <= 1.2x the counter on kvm_exit; latency ks_exit and ks_entry <= 1.5x on each hook"
