# stat-bursts - `kvmscope stat` (count-only) around short kvmtest bursts,
# ROUNDS times: each tool run starts, one burst of N io exits (about 1.5 s
# under TCG) runs, and the tool is stopped at once, as the slowdown bench
# does; the rows it printed must show the burst's VM with exits.  A count
# path that credits exits to a plane a second late shows here as a round
# with no exits (1-2 in 10 with a per-CPU copy of the plane that lagged;
# 0 in 30 with cur_plane), where the exact-count tests, which wait for
# every second, pass.  Not in `make check` (its bound depends on how soon
# rows come on a loaded host); run by hand: tests/lab/run-l1.sh stat-bursts.
# Arguments: [ROUNDS (10)] [N (30000)].
# lab-timeout: 600
. /lab/l1lib.sh
K=/usr/local/bin/kvmscope
ROUNDS=${1:-10} N=${2:-30000}
[ -x $K ] || skip "no kvmscope in L1: build .output/kvmscope (make)"
need_kvm
bad=0 r=1
while [ $r -le "$ROUNDS" ]; do
	$K stat -w -c -j 1 > ks.$r.json 2> ks.$r.err &
	sp=$!
	wait_for ks.$r.json '"rows"' $sp "kvmscope stat"
	wait_sigint $sp "kvmscope stat"
	kvmtest -q -n "$N" -i 64 > burst.$r.out 2>&1 || fail "kvmtest failed: $(tail -1 burst.$r.out)"
	halt_tool $sp
	pid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' burst.$r.out)
	if grep -q "\"pid\":$pid,.*\"exits\":[1-9]" ks.$r.json; then
		echo "ok   round $r: kvmtest $pid's exits shown"
	else
		echo "BAD  round $r: no exits of kvmtest $pid in $(wc -l < ks.$r.json) rows"
		bad=$((bad + 1))
	fi
	r=$((r + 1))
done
[ $bad = 0 ] || fail "kvmscope stat missed $bad of $ROUNDS bursts"
echo "stat-bursts ok"
