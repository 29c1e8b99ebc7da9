# probe-cost - what each of kvmscope's BPF programs costs per event on the
# real KVM tracepoints, against a bare per-CPU counter on the same
# tracepoints in the same run.  For each mode - count-only (`kvmscope
# stat`: kvm_exit alone) and latency (`kvmscope stat -L`: kvm_exit paired
# with kvm_entry) - ROUNDS times, alternating: kvmscope stat attaches,
# then `bench_probe_cost --kvm` (from the host's root: LAB_HOSTROOT=1)
# attaches its counters to kvm_exit, kvm_entry, kvm_userspace_exit and
# kvm_pio, one kvmtest burst runs (each iteration an io exit to user
# space), and the bench reports the BPF statistics of its counters and of
# every kvmscope program over that window.  Writes costs.txt (one line per
# program and round) and summary.txt (medians and ratios).  Fails when a
# program did not see the burst or the agent's kvm_exit program and the
# counter disagree on the number of exits.  L1 runs under TCG: absolute
# times are an emulated CPU's; compare the ratios.
# Arguments: BENCH (host path of .output/bench/bench_probe_cost)
#            [N iterations per burst (50000)] [ROUNDS (3)].
# lab-timeout: 900
. /lab/l1lib.sh
K=/usr/local/bin/kvmscope
B=/host${1:-/nonexistent}
N=${2:-50000} ROUNDS=${3:-3}
[ -x $K ] || skip "no kvmscope in L1: build .output/kvmscope (make)"
[ -d /host/usr/bin ] || skip "no host root at /host: run with LAB_HOSTROOT=1"
[ -x "$B" ] || skip "no $B: build it (make benches)"
need_kvm

# one MODE R: a burst under `kvmscope stat` (-L for lat) and the counters.
one() {
	local opt="" sp bp
	[ "$1" = lat ] && opt=-L
	$K stat -w $opt -c -j 1 > "ks.$1.$2.json" 2> "ks.$1.$2.err" &
	sp=$!
	wait_for "ks.$1.$2.json" '"rows"' $sp "kvmscope stat"
	wait_sigint $sp "kvmscope stat"
	"$B" --kvm $sp > "pc.$1.$2.txt" 2> "pc.$1.$2.err" &
	bp=$!
	wait_for "pc.$1.$2.txt" 'probe_cost attached' $bp "bench_probe_cost --kvm"
	kvmtest -q -n "$N" -i 64 > "burst.$1.$2.out" 2>&1 ||
		fail "kvmtest failed: $(tail -1 "burst.$1.$2.out")"
	kill -INT $bp
	wait $bp || fail "bench_probe_cost --kvm failed: $(tail -2 "pc.$1.$2.err")"
	halt_tool $sp
	grep -q '^per_exit ' "pc.$1.$2.txt" || fail "no report in pc.$1.$2.txt"
	# "MODE R HOOK|- PROGRAM RUNS NS COUNTER_NS RATIO" per agent program.
	awk -v m=$1 -v r=$2 -v n="$N" '
	$1 == "counter" { cnt[$2] = $4; cns[$2] = $6 }
	$1 == "agent" { hook = $7 == "on" ? $8 : "-"
		print m, r, hook, $2, $4, $6, hook == "-" ? "-" : cns[hook],
			hook == "-" ? "-" : $10
		if ($2 == "ks_exit") kx = $4 }
	$1 == "per_exit" { print m, r, "per-exit", "all", $3, $5, $7, $9 }
	END {
		if (cnt["kvm_exit"] < n) { print "BAD counter saw " cnt["kvm_exit"] " exits for " n " iterations" > "/dev/stderr"; exit 1 }
		d = kx - cnt["kvm_exit"]; if (d < 0) d = -d
		if (d > cnt["kvm_exit"] / 100) { print "BAD ks_exit ran " kx " times, the counter " cnt["kvm_exit"] > "/dev/stderr"; exit 1 }
	}' "pc.$1.$2.txt" >> costs.txt || fail "implausible counts in pc.$1.$2.txt"
}

: > costs.txt
r=0
while [ $r -lt "$ROUNDS" ]; do
	if [ $((r % 2)) = 0 ]; then one count $r; one lat $r; else one lat $r; one count $r; fi
	echo "round $r done"
	r=$((r + 1))
done
mark RUNS_DONE

# Medians per mode and hook (and the per-exit total) over the rounds.
med() { sort -n | awk '{ v[NR] = $1 } END { if (!NR) { print "-"; exit }
	m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m }'; }
{
	echo "in L1 under TCG ($(uname -r)): kvmtest -n $N -i 64, 2 vCPU L1, $ROUNDS rounds per mode, BPF statistics (run_time_ns/run_cnt), medians"
	for m in count lat; do
		awk -v m=$m '$1 == m { print $3, $4 }' costs.txt | sort -u |
		while read -r hook prog; do
			a=$(awk -v m=$m -v p=$prog '$1 == m && $4 == p { print $6 }' costs.txt | med)
			c=$(awk -v m=$m -v p=$prog '$1 == m && $4 == p { print $7 }' costs.txt | med)
			x=$(awk -v m=$m -v p=$prog '$1 == m && $4 == p { print $8 }' costs.txt | med)
			printf "%-5s %-18s %-9s %6s ns  counter %6s ns  ratio %s\n" \
				$m "$hook" "$prog" "$a" "$c" "$x"
		done
	done
} > summary.txt
cat summary.txt
echo "probe-cost ok"
