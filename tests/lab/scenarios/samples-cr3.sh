# samples-cr3 - kvmscope's 99 Hz vCPU sampler against real kvm_amd guests
# with two address spaces.  kvmtest's cr3 mode (-r A:B) spins A units of
# time under page directory 0x4000 and B under 0x5000, in ring 0, on 2
# vCPUs, and `kvmscope record -s bpf_samples` records around a 1:1 and a
# 1:19 run (with --guest-rip when the CLI has it: guest RIPs are opt-in).
# Units are long (about 0.1 s): a 99 Hz sampler then counts each unbroken
# stretch almost exactly (to a sample), instead of catching a
# fast-switching guest at random phases, which would need tens of
# thousands of samples for a 10% bound on a 5% share.  kvm_entry and
# kvm_exit are traced meanwhile: the time each vCPU really spent in each
# loop (under nested TCG, not exactly the A:B asked for) is the truth the
# host side (tests/lab/t_samples_cr3.sh) holds the samples' cr3 split to,
# with the guest ring and the vCPUs.  Here: every run worked.
# Arguments: [seconds of 1:1 (10)] [seconds of 1:19 (30)] [spin unit in
# loop iterations (10000000)].
# Files: cr3-1-1.ksr, cr3-1-19.ksr (recordings), *.out (kvmtest), *.trace
# (kvm_entry/kvm_exit), *.err (kvmscope's stderr, with the sampler's
# note), kvm_amd.txt (npt, BTF, kernel).
# lab-timeout: 300
. /lab/l1lib.sh
K=/usr/local/bin/kvmscope
D11=${1:-10} D119=${2:-30} U=${3:-10000000}
[ -x $K ] || skip "no kvmscope in L1: build .output/kvmscope (make), or set LAB_KVMSCOPE"
$K record --help 2>&1 | grep -q bpf_samples || skip "this kvmscope has no bpf_samples source"
need_kvm

{
	echo "npt $(cat /sys/module/kvm_amd/parameters/npt)"
	ls /sys/kernel/btf/kvm_amd >/dev/null 2>&1 && echo "btf kvm_amd yes" || echo "btf kvm_amd no"
	echo "kernel $(uname -r)"
} | tee kvm_amd.txt
extra=""
$K record --help 2>&1 | grep -q -- '--guest-rip' && extra=--guest-rip

# kvmtest exits 4 when its guest shut down (a triple fault of code that
# takes no exception: the emulated platform's doing, see kvmtest.c); such
# a run is said, kept as CASE.shutdown.out, and run once more.
run() {	# A B SECONDS [again]
	local c="cr3-$1-$2" i=0 sp rc
	$K record -o "$c.ksr" -s bpf_samples -v $extra > /dev/null 2> "$c.err" &
	sp=$!
	until grep -q 'source bpf_samples running' "$c.err" 2>/dev/null; do
		kill -0 $sp 2>/dev/null || fail "kvmscope record exited: $(tail -2 "$c.err")"
		i=$((i + 1))
		[ $i -gt 600 ] && fail "the sampler did not attach in 60 s"
		sleep 0.1
	done
	mark "SAMPLING $c"
	echo 0 > $T/tracing_on
	echo > $T/trace
	echo 16384 > $T/buffer_size_kb
	echo 1 > $T/events/kvm/kvm_entry/enable
	echo 1 > $T/events/kvm/kvm_exit/enable
	echo 1 > $T/tracing_on
	kvmtest -q -c 2 -r "$1:$2" -u "$U" -d "$3" > "$c.out" 2>&1
	rc=$?
	echo 0 > $T/tracing_on
	if [ $rc = 4 ] && [ "${4:-}" != again ]; then
		echo 0 > $T/events/kvm/enable
		kill -INT $sp
		wait $sp
		echo "$c: $(tail -1 "$c.out"); once more"
		mv "$c.out" "$c.shutdown.out"
		run "$1" "$2" "$3" again
		return
	fi
	[ $rc = 0 ] || fail "kvmtest -r $1:$2 failed: $(tail -1 "$c.out")"
	cat $T/trace > "$c.trace"
	echo 0 > $T/events/kvm/enable
	sleep 1.2	# one more tick: every sample has been read
	kill -INT $sp
	wait $sp || fail "kvmscope record exited $? ($(tail -2 "$c.err"))"
	grep -E '^(kvmtest|pid=|vcpu|TOTAL)' "$c.out" | sed "s/^/$c: /"
	grep 'bpf_samples:' "$c.err" | tail -1
	[ -s "$c.ksr" ] || fail "no recording $c.ksr"
}
run 1 1 "$D11"
run 1 19 "$D119"
echo "samples-cr3 ok"
