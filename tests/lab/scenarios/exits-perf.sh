# exits-perf - the same run counted by kvmscope and by `perf kvm stat`.
# One exact kvmtest burst (2000 port writes, 125 MMIO writes, 125 cpuid,
# one hlt) runs under three tools at once: `perf kvm stat record` (the
# host's Debian linux-perf, from the host's root in a chroot: needs
# LAB_HOSTROOT=1), `kvmscope stat` count-only with columns for the
# burst's reasons (-x), and `kvmscope stat --records` (exits timed).
# perf starts kvmtest; the VM's binary stats come from kvmtest.  Writes perf-report.txt
# (`perf kvm stat report --event=vmexit` for kvmtest's pid), stat.json,
# records.json, kvmtest.out; ftrace.txt (every kvm event of the same run,
# from tracefs), perf.data and its `perf script` text in both of perf's
# task forms (perf-script.txt, perf-script-F.txt); t_exits_perf.sh
# compares them, replaying each trace.
# lab-timeout: 400
. /lab/l1lib.sh
K=/usr/local/bin/kvmscope
[ -x $K ] || skip "no kvmscope in L1: build .output/kvmscope (make), or set LAB_KVMSCOPE"
need_kvm
host_chroot_tools perf
mark CHROOT_READY
REASONS=io,npf,cpuid,hlt,interrupt,vintr,msr,pause

$K stat -w -c -j -x $REASONS 1 > stat.json 2> stat.err &
SP=$!
$K stat -w -r 1 > records.json 2> records.err &
RP=$!
wait_for stat.json '"rows"' $SP "kvmscope stat"
wait_for records.json '"tick"' $RP "kvmscope stat --records"
wait_sigint $SP "kvmscope stat"
wait_sigint $RP "kvmscope stat --records"
# perf starts kvmtest itself once its events are on, so it misses none
# (perf reads itself over 9p: its start takes seconds).
cp "$(command -v kvmtest)" $H/tmp/kvmtest
# ftrace records the same run, for replay to compare with perf's record.
trace_start
$CH perf kvm -o /tmp/perf.data stat record -a -- \
	/tmp/kvmtest -n 2000 -m 125 -C 125 > perf-record.log 2>&1 ||
	fail "perf kvm stat record: $(tail -3 perf-record.log)"
trace_stop /tmp/trace.txt
cp /tmp/trace.txt ftrace.txt
cp $H/tmp/perf.data perf.data
# perf script's text of the same record, in its default form ("COMM TID")
# and in the "COMM PID/TID" form, for kvmscope replay to read as a trace.
$CH perf script -i /tmp/perf.data > perf-script.txt 2> perf-script.err ||
	fail "perf script: $(tail -3 perf-script.err)"
$CH perf script -F comm,pid,tid,cpu,time,event,trace -i /tmp/perf.data \
	> perf-script-F.txt 2>> perf-script.err ||
	fail "perf script -F: $(tail -3 perf-script.err)"
grep -v '^\[ perf record' perf-record.log > kvmtest.out
grep -q '^TOTAL' kvmtest.out || fail "kvmtest under perf: $(tail -3 perf-record.log)"
sleep 2.5	# two more seconds: every count has been read
halt_tool $SP
halt_tool $RP
pid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' kvmtest.out)
# perf writes its table to stderr.
$CH perf kvm -i /tmp/perf.data stat report --event=vmexit --pid "$pid" \
	> perf-report.txt 2>&1 ||
	fail "perf kvm stat report: $(tail -3 perf-report.txt)"
echo "$pid" > pid
grep -E '^(vcpu|TOTAL|binstats)' kvmtest.out | head -40
cat perf-report.txt
mark DONE
