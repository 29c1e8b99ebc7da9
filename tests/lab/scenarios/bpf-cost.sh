# bpf-cost - what kvmscope's BPF probes cost per VM exit, on real kvm_amd.
# kvmtest runs the same burst without probes and with `kvmscope stat`
# attached (RUNS times each, alternating); the kernel's BPF statistics
# (kernel.bpf_stats_enabled, read from the programs' fdinfo) give each
# program's run count and time.  Prints exits/s both ways and BPF ns per
# exit; fails only when the numbers are impossible (programs that did not
# run, or ran fewer times than there were exits).  L1 runs under TCG, so
# absolute times are those of an emulated CPU: compare ratios, not ns.
# Arguments: [N iterations per run (100000)] [RUNS (3)].
# lab-timeout: 400
. /lab/l1lib.sh
K=/usr/local/bin/kvmscope
N=${1:-100000} RUNS=${2:-3}
[ -x $K ] || skip "no kvmscope in L1"
need_kvm
[ -w /proc/sys/kernel/bpf_stats_enabled ] || skip "no kernel.bpf_stats_enabled"

rate() { kvmtest -q -n "$N" -i 64 | awk '$1 == "TOTAL" { for (i = 2; i <= NF; i++) if ($i ~ /^exits_per_s=/) print substr($i, 13) }'; }

# progstats PID: "tag run_cnt run_time_ns" per BPF program PID holds.
progstats() {
	for fd in /proc/$1/fd/*; do
		[ "$(readlink "$fd")" = "anon_inode:bpf-prog" ] || continue
		awk '$1 == "prog_tag:" { t = $2 } $1 == "run_cnt:" { c = $2 }
		     $1 == "run_time_ns:" { n = $2 }
		     END { print t, c + 0, n + 0 }' "/proc/$1/fdinfo/${fd##*/}"
	done
}

echo 1 > /proc/sys/kernel/bpf_stats_enabled
# Attach and detach around each traced run, so untraced runs are untraced;
# alternate to spread TCG's drift over both.
r=0
: > with.txt; : > without.txt
while [ $r -lt "$RUNS" ]; do
	rate >> without.txt
	$K stat -w -j 1 > stat.json 2> stat.err &
	sp=$!
	i=0
	until [ -s stat.json ]; do
		kill -0 $sp 2>/dev/null || fail "kvmscope stat exited: $(tail -1 stat.err)"
		i=$((i + 1)); [ $i -gt 900 ] && fail "kvmscope stat did not attach"
		sleep 0.1
	done
	kvmtest -q -n "$N" -i 64 > with.out
	awk '$1 == "TOTAL" { for (i = 2; i <= NF; i++) if ($i ~ /^exits_per_s=/) print substr($i, 13) }' with.out >> with.txt
	progstats $sp > "progs.$r.txt"
	kill -INT $sp; wait $sp
	r=$((r + 1))
done
echo 0 > /proc/sys/kernel/bpf_stats_enabled

echo "exits/s without probes: $(tr '\n' ' ' < without.txt)"
echo "exits/s with probes:    $(tr '\n' ' ' < with.txt)"
# Exits of one run: kvmtest's in-kernel exits are about its userspace exits
# plus cpuid and interrupts; take the exit program's own count instead: the
# largest run count among the programs (kvm_exit, kvm_entry fire equally).
for f in progs.*.txt; do
	awk -v n="$N" '{ cnt[NR] = $2; ns[NR] = $3; tot += $3; if ($2 > max) max = $2 }
	     END {
		if (max < n) { print "BAD programs ran " max " times for " n " iterations"; exit 1 }
		printf "%s: %d programs, %d exits, BPF %.0f ns per exit (all programs)\n",
			FILENAME, NR, max, tot / max
		for (i = 1; i <= NR; i++) if (cnt[i])
			printf "  program %d: %d runs, %.0f ns/run\n", i, cnt[i], ns[i] / cnt[i]
	     }' "$f" || BAD=$((BAD + 1))
done
awk 'NR == FNR { a += $1; na++; next } { b += $1; nb++ }
     END { if (na && nb) printf "mean exits/s: %.0f without, %.0f with (%.1f%%)\n",
		a / na, b / nb, 100 * (b / nb - a / na) / (a / na) }' without.txt with.txt
[ $BAD = 0 ] || fail "$BAD checks failed"
echo "bpf-cost ok"
