#!/bin/bash
# t_perf.sh - replay of what perf users already have.
#
# perf script's text, in its default task form ("COMM TID") and in the
# "COMM PID/TID" form, replays to the same exits by reason, by vCPU and by
# latency as each other, and by reason as awk counts the kvm_exit lines.
# A perf.data file is read through the host's real perf (a record made
# here of a real tracepoint); a damaged one and a missing perf give clear
# errors and a non-zero exit.  The kvm traces are the lab's real capture
# (tests/data/README.md); the lab test t_exits_perf.sh checks a live run.
. "$(dirname "$0")/lib.sh"
command -v perf > /dev/null || {
	echo "no perf on this host (apt-get install linux-perf)"; exit 77; }
D=$DATA/kvm-perf-script.head1500.txt
F=$DATA/kvm-perf-script-F.head1500.txt

# Both forms give the same value, decomposed each way.
for dec in vleavereason vcpu latency "vleavereason --decompose latency"; do
	# shellcheck disable=SC2086
	replay "$D" --metric vm.exits --decompose $dec --json
	cp "$SCRATCH/out" "$SCRATCH/default.json"
	# shellcheck disable=SC2086
	replay "$F" --metric vm.exits --decompose $dec --json
	cmp -s "$SCRATCH/out" "$SCRATCH/default.json" ||
		fail "by $dec: the two perf script forms differ:
$(cat "$SCRATCH/default.json")
$(cat "$SCRATCH/out")"
	grep -q '"value":[{[][[{"]' "$SCRATCH/out" || fail "by $dec: no value"
	nchecks=$((nchecks + 1))
done

# By reason, as awk reads perf's lines (the reason is the word after
# "reason" on each kvm:kvm_exit line).
for f in "$D" "$F"; do
	awk '/ kvm:kvm_exit: / {
		for (i = 1; i < NF; i++) if ($i == "reason") { n[$(i + 1)]++; break }
	} END { for (k in n) printf "%s\t%d\n", k, n[k] }' "$f" > "$SCRATCH/want"
	replay "$f" --metric vm.exits --decompose vleavereason
	expect "$(basename "$f"): exits by reason" "$SCRATCH/want"
done

# The PID/TID form carries the VM's pid; the default form has only the
# thread id, which stands for it (as in ftrace text without record-tgid).
replay "$F" --metric vm.exits --decompose pid --json
grep -q '"value":{"202":' "$SCRATCH/out" || fail "pid from PID/TID: $(cat "$SCRATCH/out")"
replay "$D" --metric vm.exits --decompose pid --json
grep -q '"value":{"205":' "$SCRATCH/out" || fail "pid from TID: $(cat "$SCRATCH/out")"
nchecks=$((nchecks + 2))

# A real perf.data, recorded here: replay reads it through perf script.
P=$SCRATCH/perf.data
perf record -q -o "$P" -e sched:sched_process_exec -a -- \
	sh -c '/bin/true; /bin/true; /bin/true' > "$SCRATCH/rec.log" 2>&1 || {
	echo "perf record cannot record here: $(tail -1 "$SCRATCH/rec.log")"; exit 77; }
n=$(perf script -i "$P" 2>/dev/null | grep -c 'sched:sched_process_exec')
[ "$n" -ge 3 ] || fail "perf recorded $n exec events, want >= 3"
replay "$P" --metric vm.exits
grep -q "is a perf.data file: reading it through perf script" "$SCRATCH/err" ||
	fail "perf.data not recognised: $(cat "$SCRATCH/err")"
grep -q "$n events of other kinds not used" "$SCRATCH/err" ||
	fail "perf.data's $n events were not all read: $(cat "$SCRATCH/err")"
nchecks=$((nchecks + 1))

# A damaged perf.data: perf's own reason, and a non-zero exit.
head -c 200 "$P" > "$SCRATCH/cut.data"
if "$KVMSCOPE" replay "$SCRATCH/cut.data" --metric vm.exits > /dev/null 2> "$SCRATCH/err"; then
	fail "a damaged perf.data replayed with exit 0"
fi
grep -q "perf script failed on this perf.data file" "$SCRATCH/err" ||
	fail "damaged perf.data: $(cat "$SCRATCH/err")"
# No perf to read it with.
if KVMSCOPE_PERF=/nonexistent/perf "$KVMSCOPE" replay "$P" --metric vm.exits \
	> /dev/null 2> "$SCRATCH/err"; then
	fail "perf.data without perf replayed with exit 0"
fi
grep -q "needs perf" "$SCRATCH/err" || fail "missing perf: $(cat "$SCRATCH/err")"
nchecks=$((nchecks + 2))
echo "perf replay: $nchecks checks passed"
