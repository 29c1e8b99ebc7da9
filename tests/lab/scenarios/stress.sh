# stress [ROUNDS] [tmp|out] - repeated short kvmtest runs, alternating 2
# vCPUs and 1 vCPU, each under `timeout 30`, to measure the lab's rare hangs
# (see the README): prints one line per run, and fails on a wrong count or
# an L2 that did not finish.  kvmtest writes to tmpfs, or with "out" to the
# 9p share.  A hang of the whole L1 shows as a run-l1 timeout.
# lab-timeout: 600
. /lab/l1lib.sh
R=${1:-20}
O=/tmp/k.out
[ "${2:-tmp}" = out ] && O=/out/k.out
need_kvm
r=1
while [ $r -le "$R" ]; do
	for c in 2 1; do
		s=$(ut)
		timeout 30 kvmtest -q -c $c -n 500 -i 50 > $O 2>&1
		rc=$?
		io=$(kv $O TOTAL io)
		echo "round $r vcpus $c rc $rc io $io start $s end $(ut)"
		[ $rc = 0 ] || fail "round $r vcpus $c: kvmtest rc $rc"
		expect "round $r vcpus $c io" "$io" $((500 * c)) > /dev/null
	done
	r=$((r + 1))
done
[ $BAD = 0 ] || fail "$BAD wrong counts"
echo "stress ok: $R rounds"
