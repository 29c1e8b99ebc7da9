#!/bin/bash
# t_prometheus_expiry.sh - the series of a VM that is gone stop being
# exposed after the grace period, and are counted.
#
# The agent replays tests/data/kvm-trace-all-events.txt once (one VM,
# renamed gone-kvmtest by --replay-vm-prefix) with --series-grace 2: while
# the VM sends records its series are on /metrics, labelled with the
# renamed VM and UUID; once the replay has ended (the VM stopped), within
# the grace period and a tick, none of its series is exposed any more,
# kvmscope_prom_series_expired_total counts at least as many as were
# exposed, kvmscope_prom_series is 0, and the agent-level families are
# still there.  Before expiry existed, the series stayed forever.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
. "$TOP/tests/http/promlib.sh"
prom_init t_prometheus_expiry

agent_replay --series-grace 2 --replay-vm-prefix gone- --hostname expiry-host

# metric NAME: the value of the first line starting with NAME in $tmp/m.txt.
metric() {
	sed -n "s|^$1 \([0-9.e+]*\)$|\1|p" "$tmp/m.txt" | head -1
}

seen=0 series=0
for _ in $(seq 1 100); do
	curl -sf "$A/metrics" >"$tmp/m.txt" || fail "GET /metrics"
	n=$(grep -c 'vm="gone-kvmtest"' "$tmp/m.txt")
	[ "$n" -gt "$seen" ] && seen=$n
	s=$(metric 'kvmscope_prom_series{hostname="expiry-host"}')
	[ "${s:-0}" -gt "$series" ] && series=$s
	grep -q '^kvmscope_vm_exits_total{hostname="expiry-host",vm="gone-kvmtest",vmuuid="[^"]*",' \
		"$tmp/m.txt" && break
	sleep 0.1
done
[ "$seen" -gt 0 ] || fail "the replayed VM's series never showed: $(head -c 2000 "$tmp/m.txt")"
grep 'vm="kvmtest"' "$tmp/m.txt" && fail "a series with the trace's own VM name"
wait_replay
echo "replay finished; up to $seen sample lines and $series series of the VM were exposed"

# The VM stopped with the replay: within the grace (2 s) and a tick, gone.
gone=
for _ in $(seq 1 60); do
	curl -sf "$A/metrics" >"$tmp/m.txt" || fail "GET /metrics"
	if ! grep -q 'vm="gone-kvmtest"' "$tmp/m.txt"; then
		gone=1
		break
	fi
	sleep 0.1
done
[ -n "$gone" ] || fail "the gone VM's series were still exposed 6 s after its last record"
expired=$(metric 'kvmscope_prom_series_expired_total{hostname="expiry-host"}')
[ "$(metric 'kvmscope_prom_series{hostname="expiry-host"}')" = 0 ] ||
	fail "kvmscope_prom_series is not 0 once the VM is gone"
[ -n "$expired" ] && [ "$series" -gt 0 ] && [ "$expired" -ge "$series" ] ||
	fail "expired_total $expired < the $series series exposed"
[ -n "$(metric 'kvmscope_records_total{hostname="expiry-host"}')" ] ||
	fail "the agent-level families went too"
echo "after the grace: no series of the VM, $expired expired, agent-level families still there"

kill -INT "$agent"
wait "$agent" || fail "the agent exited with $?"
agent=
grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/agent.log" &&
	fail "sanitizer report"
echo "prometheus expiry ok"
