# exits-modes - `kvmscope serve` switches the exits probe between
# count-only and latency mode as instrumentations come and go, and no exit
# is lost or counted twice across a switch.  The agent runs the exits
# source alone; one instrumentation by vleavereason stays all along.
# Exact kvmtest bursts run: one in count-only mode, one in latency mode
# (a second instrumentation decomposes by latency), one back in
# count-only mode after it is deleted, and a time-driven one during which
# a latency instrumentation is created and deleted (two switches with
# exits in flight).  The status's mode is checked at each step.  The
# by-reason instrumentation's per-second values go to values.json and
# each burst's kvmtest output (one vCPU: kvmtest dumps its binary stats)
# to NAME.out; the host side
# (t_exits_modes.sh) sums each burst's seconds against KVM's stats.
# Then latency cuts: a warm-up burst by latency finds the four busiest
# buckets (cuts.txt), gt/le predicates at their middles watch a fifth
# burst (five.NAME.json) and must split those buckets exactly.
# lab-net: yes
# lab-timeout: 300
. /lab/l1lib.sh
need_kvm
: > /out/instn
: > /out/phases
agent_start bpf_exits
mark LISTENING

# The exits source's mode in GET /ca/admin/status.
mode() {
	api /ca/admin/status | tr '{}' '\n\n' |
		sed -n 's/.*"name":"bpf_exits".*"mode":"\([a-z-]*\)".*/\1/p' |
		head -1
}
# wait_mode M: the status says M within 5 s (the agent decides each tick).
wait_mode() {
	local i=0 m
	until [ "$(mode)" = "$1" ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && fail "exits mode stays '$(mode)', expected $1"
		sleep 0.1
	done
	echo "mode $1"
	mark "MODE_$(echo "$1" | tr a-z- A-Z_)"
}
# delete ID: DELETE /ca/instrumentations/ID (busybox wget cannot).
delete() {
	local st
	st=$(printf 'DELETE /ca/instrumentations/%s HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n' \
		"$1" "$TOKEN" | nc 127.0.0.1 $AGENT_PORT | head -1)
	case $st in
	"HTTP/1."?" 2"*) ;;
	*) fail "DELETE instrumentation $1: '$st'";;
	esac
}
id_of() { sed -n "s/^$1 //p" /out/instn; }
# burst NAME ARGS...: kvmtest with its binary stats, as a phase.
burst() {
	local c=$1
	shift
	phase "$c" start
	kvmtest "$@" > "$c.out" 2>&1 || fail "kvmtest $*: $(tail -1 "$c.out")"
	phase "$c" end mode="$(mode)"
	grep -E '^(vcpu|TOTAL)' "$c.out" | sed "s/^/$c: /"
	sleep 1.2	# no second holds two bursts
}

echo "$(date +%s)" > t0
instn exitsr "module=vm&stat=exits&decomposition=vleavereason"
wait_mode count-only
sleep 1.2
burst one -n 2000 -m 125 -C 7
instn lat "module=vm&stat=exits&decomposition=vleavereason,latency"
wait_mode latency
burst two -n 2000 -m 125 -C 7
delete "$(id_of lat)"
wait_mode count-only
burst three -n 2000 -m 125 -C 7
# Switches with exits in flight: 6 s of port writes and ticks.
phase four start
kvmtest -d 6 -n 2000 -v 0x20 -p 500 -P 250 > four.out 2>&1 &
kp=$!
sleep 1.5
instn lat2 "module=vm&stat=exits&predicate=%7B%22gt%22%3A%5B%22latency%22%2C1000%5D%7D"
wait_mode latency
sleep 2
delete "$(id_of lat2)"
wait_mode count-only
wait $kp || fail "kvmtest four: $(tail -1 four.out)"
phase four end
grep -E '^(vcpu|TOTAL)' four.out | sed "s/^/four: /"
# Latency predicates are exact on bucketed latencies (latency cuts): a
# warm-up burst under a latency instrumentation shows the busiest
# buckets; gt/le predicates at the middle of the four busiest must split
# them exactly where the exits' own latencies lie.
instn latd "module=vm&stat=exits&decomposition=latency"
wait_mode latency
burst warm -n 2000 -m 125 -C 7
sleep 1.2
w0=$(sed -n 's/^warm start \([0-9]*\).*/\1/p' /out/phases)
w1=$(sed -n 's/^warm end \([0-9]*\).*/\1/p' /out/phases)
api "/ca/instrumentations/$(id_of latd)/value/raw?start_time=$w0&duration=$((w1 - w0 + 1))" > warm.json ||
	fail "cannot read the warm-up's latencies"
# "count lo hi" of up to eight buckets wider than 1 ns (the probe's most
# cuts): the four busiest, and those holding the warm-up's 50th, 80th,
# 95th and 99th percentiles.  Several, spread: the fifth burst's
# latencies may fall elsewhere than the warm-up's (a fresh check here saw
# the fifth's all above the four busiest, L1 slower by then), and one
# split bucket proves the cuts.
grep -o '\[\[[0-9]*,[0-9]*\],[0-9]*' warm.json | tr -d '[]' |
	awk -F, '$2 > $1 + 1 { print $3, $1, $2 }' | sort -n -k2 > buckets.txt
{
	sort -rn buckets.txt | head -4
	awk '{ n[NR] = $0; c[NR] = $1; t += $1 }
	END { q[1] = .5; q[2] = .8; q[3] = .95; q[4] = .99; k = 1
		for (i = 1; i <= NR && k <= 4; i++) {
			s += c[i]
			while (k <= 4 && s >= q[k] * t) { print n[i]; k++ } } }' buckets.txt
} | awk '!seen[$2]++' | head -8 > busiest.txt
[ -s busiest.txt ] || fail "no latency buckets in the warm-up: $(head -c 300 warm.json)"
: > cuts.txt
k=0
while read -r c lo hi; do
	k=$((k + 1))
	x=$(( (lo + hi) / 2 ))
	instn "gt$k" "module=vm&stat=exits&predicate=%7B%22gt%22%3A%5B%22latency%22%2C$x%5D%7D"
	instn "le$k" "module=vm&stat=exits&predicate=%7B%22le%22%3A%5B%22latency%22%2C$x%5D%7D"
	echo "$k $x $lo $hi $c" >> cuts.txt
done < busiest.txt
sleep 2.2	# the cuts reach the probe at the next read
burst five -n 2000 -m 125 -C 7
sleep 2.5	# two more ticks: everything counted has been read
f0=$(sed -n 's/^five start \([0-9]*\).*/\1/p' /out/phases)
f1=$(sed -n 's/^five end \([0-9]*\).*/\1/p' /out/phases)
for n in latd $(awk '{ print "gt" $1, "le" $1 }' cuts.txt); do
	api "/ca/instrumentations/$(id_of $n)/value/raw?start_time=$f0&duration=$((f1 - f0 + 1))" > "five.$n.json" ||
		fail "cannot read $n"
	delete "$(id_of $n)"
done
wait_mode count-only
sleep 1.2
api /metrics | grep 'kvmscope_source_latency_mode' > metrics.txt
grep -Eq 'latency_mode\{hostname="[^"]*",source="bpf_exits"\} 0' metrics.txt ||
	fail "/metrics lacks the exits mode: $(cat metrics.txt)"
s=$(cat t0)
n=$(( $(date +%s) - s ))
api "/ca/instrumentations/$(id_of exitsr)/value/raw?start_time=$s&duration=1&ndatapoints=$n" > values.json ||
	fail "cannot read the values"
api /ca/admin/status > status.json
kill -INT $AGENT
wait $AGENT
grep -i 'cannot switch' serve.log && fail "the agent could not switch modes"
mark DONE
echo "exits-modes: 6 bursts, values of $n s"
