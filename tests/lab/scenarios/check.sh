# check [l2=DIR] - `kvmscope check` in L1 against real kvm_amd: first a
# kvmtest VM on 2 vCPUs doing bursts of port I/O, MMIO and cpuid with
# halts between them and a vector injected every 100 ms (every statistic
# the check compares moves), then, with l2=DIR (the host directory with
# the hostguest initramfs; needs LAB_HOSTROOT=1), a 2-vCPU Linux guest
# under QEMU -enable-kvm.  Saves each check's JSON, text and exit status
# (check-kvmtest.*, check-l2.*) and kvmtest's output; t_check.sh reads them.
# lab-timeout: 420
. /lab/l1lib.sh
K=/usr/local/bin/kvmscope
[ -x $K ] || skip "no kvmscope in L1: build .output/kvmscope (make), or set LAB_KVMSCOPE"
need_kvm
L2=
for a in "$@"; do
	case $a in
	l2=*) L2=${a#l2=};;
	*) fail "unknown argument $a";;
	esac
done

# Edges are read 250 ms each side: under nested TCG on a busy machine a
# read meant for 100 ms before an edge can end after it (the check then
# tries the next second).  Longer than both checks (loading the probes under TCG takes seconds);
# stopped when they are done.
kvmtest -q -c 2 -d 120 -n 300 -m 20 -C 20 -s 150 -V 0x21 -v 0x20 -p 100 \
	> kvmtest.out 2>&1 &
kp=$!
until grep -q '^pid=' kvmtest.out 2>/dev/null; do
	kill -0 $kp 2>/dev/null || fail "kvmtest exited: $(tail -2 kvmtest.out)"
	sleep 0.2
done
mark CHECK_KVMTEST
# A check that could not compare (exit 3: a reading lacked the VM, or the
# host kept it from reading in time) is run once more; the first one's
# output is kept beside (.first) and its reason printed, so a test still
# fails on a disagreement (exit 1) and shows every inability.
check_once() {	# OUT ARGS...
	local out=$1 rc
	shift
	$K check "$@" > "$out" 2>> "${out%%.*}.err"
	rc=$?
	if [ $rc = 3 ]; then
		mv "$out" "$out.first"
		echo "check $*: not compared on the first try:" \
			"$(grep -o '"why": *"[^"]*"\|"not_compared_because": *"[^"]*"\|not compared.*' "$out.first" | head -3)"
		$K check "$@" > "$out" 2>> "${out%%.*}.err"
		rc=$?
	fi
	echo $rc > "$out.rc"
}
check_once check-kvmtest.json -d 5 -e 250 --json
mv check-kvmtest.json.rc check-kvmtest.rc
check_once check-kvmtest.txt -d 3 -e 250
kill $kp 2>/dev/null
wait $kp
grep -E '^(pid|vcpu|TOTAL)' kvmtest.out
cat check-kvmtest.txt

if [ -n "$L2" ]; then
	hostroot_chroot
	l2_start "$L2" l2-linux 2
	echo "$L2PID" > l2.pid
	mark CHECK_L2
	check_once check-l2.json -d 5 -e 250 --json
	mv check-l2.json.rc check-l2.rc
	check_once check-l2.txt -d 3 -e 250
	l2_stop
	cat check-l2.txt
fi
mark DONE
