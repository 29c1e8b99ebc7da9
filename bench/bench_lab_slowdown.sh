#!/bin/bash
# bench_lab_slowdown.sh - a guest's exit rate under kvmscope, perf and
# bpftrace, side by side, in the nested KVM lab.
#
# Boots the lab's L1 (tests/lab/run-l1.sh) with the host's root shared in,
# and runs scenarios/bpf-slowdown.sh there: kvmtest bursts with nothing
# attached, with `kvmscope stat` (and again with its exit hooks on perf
# tracepoints, kvmscope-tp), with `perf kvm stat record` and with a
# bpftrace script counting the same keys, RUNS alternating rounds; prints
# the median exits/s of each and its slowdown against none, and the
# targets' ratios (kvmscope <= 1/3 of perf's slowdown, below bpftrace's)
# from the same run.  perf and
# bpftrace are Debian's linux-perf and bpftrace, installed here by name if
# missing (the lab runs them from this host's root).  Under TCG the rates
# are an emulated CPU's: compare the slowdowns, not the rates.
#
# L1's clocksource is the TSC (clocksource=tsc tsc=reliable), as on the
# hosts users run, not the emulated HPET that L1 picks under TCG: every
# bpf_ktime_get_ns() (bpftrace's and kvmscope's timed hooks) is an HPET
# MMIO read there, emulated by QEMU, while perf stamps its events with
# sched_clock(), the TSC, whichever the clocksource: the HPET would charge
# the BPF tools alone for an artefact of the lab (bench_lab_probe_cost.sh
# measures both clocksources).  SLOWDOWN_CLOCKSOURCE=hpet keeps L1's own.
#
# Environment: SLOWDOWN_N (iterations per burst, 50000), SLOWDOWN_RUNS (5;
# fewer where time is short, and the ratios say how many), SLOWDOWN_BOOTS
# (5: L1 boots at most; the rounds of a boot that hangs are run again), SLOWDOWN_SKIP=1 to skip (it takes
# several minutes a round).
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

# One L1 boot runs the rounds; L1 under TCG now and then hangs (soft
# lockups), and a round takes minutes, so a boot that hangs keeps its
# whole rounds (each config's rate of that round) and the next boot runs
# the rest: at most BOOTS boots in all.
log=$(mktemp /tmp/bench-slowdown.XXXXXX)
acc=$(mktemp /tmp/bench-slowdown-rates.XXXXXX)
trap 'rm -f "$log" "$acc"' EXIT
res=${LAB_OUT:-$TOP/lab-out}/bpf-slowdown
BOOTS=${SLOWDOWN_BOOTS:-5}
CLOCK=${SLOWDOWN_CLOCKSOURCE:-tsc}
append=""
[ "$CLOCK" = tsc ] && append="clocksource=tsc tsc=reliable"
first=0 boots=0 hung=0 kern=""
hangs=$res-hangs	# (run-l1.sh empties $res at each boot)
rm -rf "$hangs"
mkdir -p "$hangs"
while [ "$first" -lt "$RUNS" ] && [ "$boots" -lt "$BOOTS" ]; do
	boots=$((boots + 1))
	LAB_APPEND=$append LAB_RETRIES=0 LAB_HOSTROOT=1 bash "$TOP/tests/lab/run-l1.sh" \
		bpf-slowdown "$N" "$RUNS" "$first" > "$log" 2>&1
	rc=$?
	[ "$rc" = 77 ] && skip "$(grep -a -E '^SKIP:|lab unavailable' "$log" | tail -1)"
	[ -s "$res/kernel.txt" ] && kern=$(cat "$res/kernel.txt")
	# Whole rounds only: all seven configurations' rates.
	whole=$(awk '{ n[$1]++ } END { for (r in n) if (n[r] == 7) print r }' \
		"$res/rates.txt" 2>/dev/null | sort -n)
	if [ "$rc" = 0 ]; then
		for r in $whole; do awk -v r="$r" '$1 == r' "$res/rates.txt" >> "$acc"; done
		break
	fi
	if ! grep -q 'status=none' "$res/lab-run.txt" 2>/dev/null; then
		tail -20 "$log"; echo "bench_lab_slowdown: the lab run failed (rc $rc)"; exit 1
	fi
	# A boot that hangs runs slow before it does (its rounds held every
	# low "none" rate of two runs: 13,923 against 22,200 exits/s), so
	# its rounds are dropped, not kept: the next boot runs them again.
	hung=$((hung + 1))
	# Where each hang came, for finding its cause: the boot's console
	# is kept, and the last burst L1 finished before it is named.
	cp "$res/console.log" "$hangs/console.boot$boots.log" 2>/dev/null
	last=$(grep -a -o '^round [0-9]*: [a-z-]* ' "$res/console.log" 2>/dev/null | tail -1)
	echo "bench_lab_slowdown: L1 hung in boot $boots after $(echo $whole | wc -w) whole rounds (last burst done: ${last:-none}), dropped (L1 slows before it hangs); next boot from round $first; console in $hangs/console.boot$boots.log"
done
rounds=$(awk '{ print $1 }' "$acc" | sort -u | wc -l)
[ "$rounds" -gt 0 ] || { tail -20 "$log"; echo "bench_lab_slowdown: no whole round in $boots boots"; exit 1; }
echo "lab: $boots boots of L1 ($hung hung), $rounds of $RUNS rounds whole, clocksource $(cat "$res/clocksource.txt" 2>/dev/null); last: $(head -1 "$res/lab-run.txt")"
sh "$TOP/tests/lab/slowdown-summary.sh" "$acc" "$N" "$kern" > "$res/summary.all.txt" || exit 1
cat "$res/summary.all.txt"
# The targets, from the medians of this one run: kvmscope's slowdown at
# most a third of perf's, and below bpftrace's with the same keys (each
# mode against its own bpftrace peer); per-round (paired) slowdowns too.
awk -v rounds="$rounds" '
	$2 == "median" { s[$1] = $6 + 0; p[$1] = $8 + 0 }
	# A slowdown of 0 or less says the baseline itself ran slow (a
	# disturbed round, the host busy): no ratio is judged from it.
	function cmp(a, b, what, lim,   r, v) {
		r = s[b] > 0 ? s[a] / s[b] : 0
		v = (lim == "below" ? s[a] < s[b] : s[a] <= s[b] / 3) ? "met" : "NOT met"
		if (s[a] <= 0 || s[b] <= 0)
			v = "NOT MEASURED (a slowdown of 0 or less: the baseline ran slow)"
		printf "%s: %s %.1f%% / %s %.1f%% = %.2f (paired %.2f), target %s: %s\n",
			what, a, s[a], b, s[b], r, (p[b] > 0 ? p[a] / p[b] : 0), lim, v
	}
	END {
		print "in L1 under TCG, medians of " rounds " rounds of alternating order"
		cmp("kvmscope", "perf", "kvmscope vs perf kvm stat record", "<= 1/3")
		cmp("kvmscope", "bpftrace", "kvmscope vs bpftrace, same keys", "below")
		cmp("kvmscope-lat", "bpftrace-lat", "kvmscope -L vs bpftrace timing exits", "below")
		printf "raw exit hooks (kvmscope) vs perf tracepoint hooks (kvmscope-tp): %.1f%% / %.1f%% = %.2f (paired %.2f)\n",
			s["kvmscope"], s["kvmscope-tp"], (s["kvmscope-tp"] > 0 ? s["kvmscope"] / s["kvmscope-tp"] : 0),
			(p["kvmscope-tp"] > 0 ? p["kvmscope"] / p["kvmscope-tp"] : 0)
	}' "$res/summary.all.txt"
