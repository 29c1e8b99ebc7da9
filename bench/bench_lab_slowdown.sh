#!/bin/bash
# bench_lab_slowdown.sh - a guest's exit rate under kvmscope, perf and
# bpftrace, side by side, in the nested KVM lab.
#
# Boots the lab's L1 (tests/lab/run-l1.sh) with the host's root shared in,
# and runs scenarios/bpf-slowdown.sh there: kvmtest bursts with nothing
# attached, with `kvmscope stat`, with `perf kvm stat record` and with a
# bpftrace script counting the same keys, RUNS alternating rounds; prints
# the median exits/s of each and its slowdown against none, and the
# targets' ratios (kvmscope <= 1/3 of perf's slowdown, below bpftrace's)
# from the same run.  perf and
# bpftrace are Debian's linux-perf and bpftrace, installed here by name if
# missing (the lab runs them from this host's root).  Under TCG the rates
# are an emulated CPU's: compare the slowdowns, not the rates.
#
# Environment: SLOWDOWN_N (iterations per burst, 50000), SLOWDOWN_RUNS (5;
# fewer where time is short, and the ratios say how many), SLOWDOWN_SKIP=1
# to skip (it takes several minutes).
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
# The targets, from the medians of this one run: kvmscope's slowdown at
# most a third of perf's, and below bpftrace's with the same keys (each
# mode against its own bpftrace peer); per-round (paired) slowdowns too.
awk -v runs="$RUNS" '
	$2 == "median" { s[$1] = $6 + 0; p[$1] = $8 + 0 }
	function cmp(a, b, what, lim,   r) {
		r = s[b] > 0 ? s[a] / s[b] : 0
		printf "%s: %s %.1f%% / %s %.1f%% = %.2f (paired %.2f), target %s: %s\n",
			what, a, s[a], b, s[b], r, (p[b] > 0 ? p[a] / p[b] : 0),
			lim, ((lim == "below" ? s[a] < s[b] : s[a] <= s[b] / 3) ? "met" : "NOT met")
	}
	END {
		print "in L1 under TCG, medians of " runs " rounds of alternating order"
		cmp("kvmscope", "perf", "kvmscope vs perf kvm stat record", "<= 1/3")
		cmp("kvmscope", "bpftrace", "kvmscope vs bpftrace, same keys", "below")
		cmp("kvmscope-lat", "bpftrace-lat", "kvmscope -L vs bpftrace timing exits", "below")
	}' "$res/summary.txt"
