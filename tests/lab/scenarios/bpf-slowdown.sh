# bpf-slowdown - how much each tool slows a guest's exits, side by side.
# kvmtest runs the same burst with nothing attached, with `kvmscope stat`
# (the exits and irqs probes; exits count-only, kvm_exit alone), with
# `perf kvm stat record`, with a bpftrace script counting the same keys
# (/lab/kvmkeys.bt), and, as a second comparison, with `kvmscope stat
# --latency` and its bpftrace peer (/lab/kvmkeys-lat.bt), which also time
# each exit (kvm_exit paired with kvm_entry), RUNS rounds
# whose order rotates so that TCG's drift falls on every configuration.
# Each tool is started before and stopped after its burst, and must have
# counted the burst (else the run fails: a tool that saw nothing costs
# nothing).  perf and bpftrace are the host's Debian packages (linux-perf,
# bpftrace), run in a chroot of the host's root: needs LAB_HOSTROOT=1.
# Writes rates.txt (one "round config rate" line per burst) and
# summary.txt: per configuration the median exits/s and its slowdown
# against none's median, and the median of the per-round slowdowns (each
# against the same round's none, minutes apart at most: less exposed to
# the drift of a busy host).
# Rounds FIRST to RUNS-1 run (FIRST 0 unless given): a bench whose L1
# hung after some whole rounds boots again for the rest, keeping the
# rates of the whole ones (bench/bench_lab_slowdown.sh); summary.txt is
# this boot's rounds alone.
# kvmscope-tp is `kvmscope stat` with the exit hooks on perf tracepoints
# (KVMSCOPE_EXIT_HOOKS=tp) instead of the raw ones it picks on AMD: what
# the raw hooks save, in the same rounds.
# Arguments: [N iterations per burst (50000)] [RUNS (5)] [FIRST (0)]
# [CONFIGS, comma-separated (default: all seven)].
# lab-timeout: 2400
. /lab/l1lib.sh
K=/usr/local/bin/kvmscope
H=/host
N=${1:-50000} RUNS=${2:-5} FIRST=${3:-0}
CONFIGS=$(echo "${4:-none,kvmscope,kvmscope-tp,perf,bpftrace,kvmscope-lat,bpftrace-lat}" | tr , ' ')
NCONF=$(echo $CONFIGS | wc -w)
[ -x $K ] || skip "no kvmscope in L1: build .output/kvmscope (make), or set LAB_KVMSCOPE"
need_kvm
host_chroot_tools perf bpftrace
mark CHROOT_READY

# burst FILE: one kvmtest burst; prints its exits/s (userspace exits).
burst() {
	kvmtest -q -n "$N" -i 64 > "$1" 2>&1 || fail "kvmtest failed: $(tail -1 "$1")"
	awk '$1 == "TOTAL" { for (i = 2; i <= NF; i++)
		if ($i ~ /^exits_per_s=/) print substr($i, 13) }' "$1"
}

# start CONFIG R: attaches the tool; sets TP (its pid, or "").
start() {
	TP=""
	case $1 in
	kvmscope|kvmscope-lat|kvmscope-tp)
		if [ "$1" = kvmscope ]; then
			$K stat -w -c -j 1 > "ks.$2.json" 2> "ks.$2.err" &
		elif [ "$1" = kvmscope-tp ]; then
			KVMSCOPE_EXIT_HOOKS=tp $K stat -w -c -j 1 > "ks.$2.json" 2> "ks.$2.err" &
		else
			$K stat -w -L -c -j 1 > "ks.$2.json" 2> "ks.$2.err" &
		fi
		TP=$!
		wait_for "ks.$2.json" '"rows"' $TP "kvmscope stat"
		wait_sigint $TP "kvmscope stat";;
	perf)
		$CH perf kvm -o /tmp/perf.data stat record -a > "perftool.$2.log" 2>&1 &
		TP=$!
		# perf says nothing once it records: its SIGINT handler is
		# set up just before it enables the events.
		wait_sigint $TP "perf kvm stat record"
		sleep 1
		kill -0 $TP 2>/dev/null || fail "perf kvm stat record exited: $(tail -3 "perftool.$2.log")";;
	bpftrace|bpftrace-lat)
		bt=/mnt/kvmkeys.bt
		[ "$1" = bpftrace-lat ] && bt=/mnt/kvmkeys-lat.bt
		$CH bpftrace $bt > "bt.$2.out" 2>&1 &
		TP=$!
		wait_for "bt.$2.out" 'kvmkeys attached' $TP "bpftrace"
		wait_sigint $TP "bpftrace";;
	esac
}

# stop CONFIG R BURST_FILE: detaches, and checks the tool counted the
# burst's exits.
stop() {
	local pid exits n
	[ -n "$TP" ] || return 0
	HALT_WAIT=900 halt_tool $TP
	# bpftrace 0.17 in L1 now and then ignores SIGINT after a burst (seen
	# once a few rounds, on a loaded host): that burst is run again.
	if [ "$HALT_KILLED" = 1 ]; then
		echo "$2 $1 killed: ignored SIGINT" >> killed.txt
		return 2
	fi
	pid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$3")
	exits=$(awk '$1 == "TOTAL" { for (i = 2; i <= NF; i++)
		if ($i ~ /^exits=/) print substr($i, 7) }' "$3")
	case $1 in
	kvmscope|kvmscope-lat|kvmscope-tp)
		grep -q "\"pid\":$pid,.*\"exits\":[1-9]" "ks.$2.json" ||
			fail "kvmscope stat saw no exits of kvmtest $pid";;
	perf)
		# "[ perf record: Captured and wrote X MB FILE (N samples) ]":
		# an exit and an entry per exit, less what its ring buffer
		# lost when perf's reader fell behind (the kernel did the work
		# of each event all the same); at least half must be there.
		n=$(sed -n 's/.*(\([0-9]*\) samples).*/\1/p' "perftool.$2.log" | tail -1)
		[ -n "$n" ] && [ "$n" -ge "$exits" ] ||
			fail "perf recorded ${n:-no} samples for $exits exits: $(tail -2 "perftool.$2.log")"
		echo "$2 perf kept $n of $((2 * exits)) events" >> perf-kept.txt
		$CH rm -f /tmp/perf.data;;
	bpftrace|bpftrace-lat)
		grep -q "^@exits\[$pid," "bt.$2.out" ||
			fail "bpftrace counted no exits of kvmtest $pid: $(tail -3 "bt.$2.out")";;
	esac
}

: > rates.txt
uname -r > kernel.txt
cat /sys/devices/system/clocksource/clocksource0/current_clocksource > clocksource.txt
r=$FIRST
while [ $r -lt "$RUNS" ]; do
	# Rotate the order: round r starts with config r mod NCONF.
	set -- $CONFIGS
	k=0
	while [ $k -lt $((r % NCONF)) ]; do c=$1; shift; set -- "$@" "$c"; k=$((k + 1)); done
	for c in "$@"; do
		for try in 1 2; do
			start "$c" $r
			rate=$(burst "burst.$c.$r.out")
			[ -n "$rate" ] || fail "kvmtest gave no rate: $(tail -1 "burst.$c.$r.out")"
			stop "$c" $r "burst.$c.$r.out" && break
			[ $try = 2 ] && fail "$c ignored SIGINT twice in round $r"
		done
		echo "$r $c $rate" >> rates.txt
		echo "round $r: $c $rate exits/s"
	done
	r=$((r + 1))
done
mark RUNS_DONE

sh /lab/slowdown-summary.sh rates.txt "$N" > summary.txt ||
	fail "no summary of rates.txt"
cat summary.txt
echo "bpf-slowdown ok"
