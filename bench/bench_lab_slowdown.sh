#!/bin/bash
# bench_lab_slowdown.sh - a guest's exit rate under kvmscope, perf and
# bpftrace, side by side, in the nested KVM lab.
#
# Boots the lab's L1 (tests/lab/run-l1.sh) with the host's root shared in,
# and runs scenarios/bpf-slowdown.sh there: kvmtest bursts with nothing
# attached, with `kvmscope stat`, with `perf kvm stat record` and with a
# bpftrace script counting the same keys, RUNS alternating rounds; prints
# the median exits/s of each and its slowdown against none.  perf and
# bpftrace are Debian's linux-perf and bpftrace, installed here by name if
# missing (the lab runs them from this host's root).  Under TCG the rates
# are an emulated CPU's: compare the slowdowns, not the rates.
#
# Environment: SLOWDOWN_N (iterations per burst, 50000), SLOWDOWN_RUNS (5),
# SLOWDOWN_SKIP=1 to skip (it takes several minutes).
set -u
cd "$(dirname "$0")/.."
TOP=$PWD
N=${SLOWDOWN_N:-50000}
RUNS=${SLOWDOWN_RUNS:-5}
skip() { echo "bench_lab_slowdown: skipped: $*"; exit 0; }

[ "${SLOWDOWN_SKIP:-0}" = 1 ] && skip "SLOWDOWN_SKIP=1"
[ "$(id -u)" = 0 ] || skip "needs root (the lab, apt-get)"
[ -x "$TOP/.output/kvmscope" ] || skip "no .output/kvmscope (make)"
for p in linux-perf:perf bpftrace:bpftrace; do
	command -v "${p#*:}" > /dev/null && continue
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${p%%:*}" > /dev/null 2>&1 ||
		skip "cannot install ${p%%:*}"
done

log=$(mktemp /tmp/bench-slowdown.XXXXXX)
trap 'rm -f "$log"' EXIT
LAB_HOSTROOT=1 bash "$TOP/tests/lab/run-l1.sh" bpf-slowdown "$N" "$RUNS" > "$log" 2>&1
rc=$?
res=${LAB_OUT:-$TOP/lab-out}/bpf-slowdown
case $rc in
0) ;;
77) skip "$(grep -a -E '^SKIP:|lab unavailable' "$log" | tail -1)";;
*) tail -20 "$log"; echo "bench_lab_slowdown: the lab run failed (rc $rc)"; exit 1;;
esac
echo "lab: $(head -1 "$res/lab-run.txt")"
cat "$res/summary.txt"
