# probe-cost - what each of kvmscope's BPF programs costs per event on the
# real KVM tracepoints, against a bare per-CPU counter on the same
# tracepoints in the same run.  For each mode - count-only (`kvmscope
# stat`: kvm_exit alone) and latency (`kvmscope stat -L`: kvm_exit paired
# with kvm_entry) - ROUNDS times, alternating: kvmscope stat attaches,
# and `bench_probe_cost --kvm` (from the host's root: LAB_HOSTROOT=1)
# attaches its counters to kvm_exit, kvm_entry, kvm_userspace_exit and
# kvm_pio - before kvmscope in every other run, since the programs on a
# tracepoint run in attach order - one kvmtest burst runs (each iteration an io exit to user
# space), and the bench reports the BPF statistics of its counters and of
# every kvmscope program over that window.  Writes costs.txt (one line per
# program and round) and summary.txt (medians and ratios).  Fails when a
# program did not see the burst or the agent's kvm_exit program and the
# counter disagree on the number of exits.  L1 runs under TCG: absolute
# times are an emulated CPU's; compare the ratios.
# Arguments: BENCH (host path of .output/bench/bench_probe_cost)
#            [N iterations per burst (50000)] [ROUNDS (4)].
# lab-timeout: 900
. /lab/l1lib.sh
K=/usr/local/bin/kvmscope
B=/host${1:-/nonexistent}
N=${2:-50000} ROUNDS=${3:-4}
[ -x $K ] || skip "no kvmscope in L1: build .output/kvmscope (make)"
[ -d /host/usr/bin ] || skip "no host root at /host: run with LAB_HOSTROOT=1"
[ -x "$B" ] || skip "no $B: build it (make benches)"
need_kvm

# one MODE R ORDER: a burst under `kvmscope stat` (-L for lat) and the
# counters; ORDER "agent" attaches kvmscope first (its programs run first
# on each event), "counter" the counters first.
one() {
	local opt="" sp bp
	[ "$1" = lat ] && opt=-L
	if [ "$3" = counter ]; then
		rm -f agent.pid
		"$B" --kvm @/out/agent.pid > "pc.$1.$2.txt" 2> "pc.$1.$2.err" &
		bp=$!
		wait_for "pc.$1.$2.txt" 'probe_cost attached' $bp "bench_probe_cost --kvm"
	fi
	$K stat -w $opt -c -j 1 > "ks.$1.$2.json" 2> "ks.$1.$2.err" &
	sp=$!
	wait_for "ks.$1.$2.json" '"rows"' $sp "kvmscope stat"
	wait_sigint $sp "kvmscope stat"
	if [ "$3" = counter ]; then
		echo $sp > agent.pid
		kill -USR1 $bp
	else
		"$B" --kvm $sp > "pc.$1.$2.txt" 2> "pc.$1.$2.err" &
		bp=$!
	fi
	wait_for "pc.$1.$2.txt" 'probe_cost agent' $bp "bench_probe_cost --kvm"
	kvmtest -q -n "$N" -i 64 > "burst.$1.$2.out" 2>&1 ||
		fail "kvmtest failed: $(tail -1 "burst.$1.$2.out")"
	kill -INT $bp
	wait $bp || fail "bench_probe_cost --kvm failed: $(tail -2 "pc.$1.$2.err")"
	halt_tool $sp
	grep -q '^per_exit ' "pc.$1.$2.txt" || fail "no report in pc.$1.$2.txt"
	# "MODE R HOOK|- PROGRAM RUNS NS COUNTER_NS RATIO ORDER" per program.
	awk -v m=$1 -v r=$2 -v n="$N" -v o=$3 '
	$1 == "counter" { cnt[$2] = $4; cns[$2] = $6 }
	$1 == "agent" { hook = $7 == "on" ? $8 : "-"
		print m, r, hook, $2, $4, $6, hook == "-" ? "-" : cns[hook],
			hook == "-" ? "-" : $10, o
		if ($2 == "ks_exit") kx = $4 }
	$1 == "per_exit" { print m, r, "per-exit", "all", $3, $5, $7, $9, o }
	END {
		if (cnt["kvm_exit"] < n) { print "BAD counter saw " cnt["kvm_exit"] " exits for " n " iterations" > "/dev/stderr"; exit 1 }
		d = kx - cnt["kvm_exit"]; if (d < 0) d = -d
		if (d > cnt["kvm_exit"] / 100) { print "BAD ks_exit ran " kx " times, the counter " cnt["kvm_exit"] > "/dev/stderr"; exit 1 }
	}' "pc.$1.$2.txt" >> costs.txt || fail "implausible counts in pc.$1.$2.txt"
}

: > costs.txt
r=0
while [ $r -lt "$ROUNDS" ]; do
	# Each mode gets both attach orders, and runs first every other round.
	if [ $((r % 2)) = 0 ]; then
		one count $r agent; one lat $r counter
	else
		one lat $r agent; one count $r counter
	fi
	echo "round $r done"
	r=$((r + 1))
done
mark RUNS_DONE

# Medians per mode and hook (and the per-exit total) over the rounds.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b <= 0) print "-"; else printf "%.2f", a / b }'; }
med() { sort -n | awk '{ v[NR] = $1 } END { if (!NR) { print "-"; exit }
	m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m }'; }
{
	echo "in L1 under TCG ($(uname -r), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)): kvmtest -n $N -i 64, 2 vCPU L1, $ROUNDS rounds per mode, BPF statistics (run_time_ns/run_cnt), medians; ratio: same run, either attach order"
	# The agent's other programs (no counter beside them), ns per run.
	for m in count lat; do
		awk -v m=$m '$1 == m && $3 == "-" { print $4 }' costs.txt | sort -u |
		while read -r prog; do
			printf "%-5s %-18s %-13s %7s ns (no counter: rare events)\n" $m - "$prog" \
				"$(awk -v m=$m -v p=$prog '$1 == m && $4 == p { print $6 }' costs.txt | med)"
		done
	done
	for m in count lat; do
		awk -v m=$m '$1 == m && $3 != "-" { print $3, $4 }' costs.txt | sort -u |
		while read -r hook prog; do
			a=$(awk -v m=$m -v p=$prog '$1 == m && $4 == p { print $6 }' costs.txt | med)
			c=$(awk -v m=$m -v p=$prog '$1 == m && $4 == p { print $7 }' costs.txt | med)
			x=$(awk -v m=$m -v p=$prog '$1 == m && $4 == p { print $8 }' costs.txt | med)
			# Under TCG the first program on a tracepoint pays much
			# more than the next: compare like positions, across
			# rounds (agent second against counter second).
			a2=$(awk -v m=$m -v p=$prog '$1 == m && $4 == p && $9 == "counter" { print $6 }' costs.txt | med)
			c2=$(awk -v m=$m -v p=$prog '$1 == m && $4 == p && $9 == "agent" { print $7 }' costs.txt | med)
			a1=$(awk -v m=$m -v p=$prog '$1 == m && $4 == p && $9 == "agent" { print $6 }' costs.txt | med)
			c1=$(awk -v m=$m -v p=$prog '$1 == m && $4 == p && $9 == "counter" { print $7 }' costs.txt | med)
			printf "%-5s %-18s %-13s %7s ns  counter %6s ns  ratio %-5s  both second %s, both first %s\n" \
				$m "$hook" "$prog" "$a" "$c" "$x" \
				"$(ratio "$a2" "$c2")" "$(ratio "$a1" "$c1")"
		done
	done
} > summary.txt
cat summary.txt
echo "probe-cost ok"
