#!/bin/bash
# bench_agent_cost.sh - what the agent itself costs the host: CPU and
# memory at idle, and with 20 VMs discovered.
#
# Starts `kvmscope serve` (the optimised binary, $KVMSCOPE_FAST) on a free
# loopback port with its default sources (all that run here: as root the
# BPF probes, the sampler, discovery, QMP, NICs) and no state file, with
# one instrumentation, vm.vcpus by vm, through which the API shows which
# VMs discovery knows.  Then it measures, over BENCH_COST_SECONDS (30) of
# wall time each:
#  - idle: no VM of its own (other VMs on the host are counted and
#    reported as agent_vms_idle: the agent sees them too);
#  - 20 VMs: 20 real QEMU processes (TCG, paused with -S, 64 MB, a name,
#    a UUID and a QMP socket each, as tests/vm/t_discovery.sh starts its
#    VMs), once the API lists all 20 (agent_discovery_s says how long
#    that took).  Paused VMs make no exits, so what is measured is the
#    cost of knowing them: discovery's scans, QMP, per-VM records.
# CPU is utime+stime from /proc/PID/stat over the window, in % of one
# core; memory is Rss and Pss from /proc/PID/smaps_rollup at the end of
# the window, in kB, and the kernel memory of the BPF maps the agent
# holds (the memlock of each map fd in /proc/PID/fdinfo, in kB): RSS
# counts a BPF array only where the agent has it mapped (the .bss the
# count-only planes are read from; lat_slots once latency mode has been
# on), while the maps take their memory mapped or not.  Prints `key value` lines and a one-line summary.
# Every process it started is killed on exit (trap).  Not root, or no
# QEMU: prints "skipped: ..." and exits 0.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
K=${KVMSCOPE_FAST:-$TOP/.output/kvmscope}
SECS=${BENCH_COST_SECONDS:-30}
NVMS=${BENCH_COST_VMS:-20}
QEMU=qemu-system-x86_64

skip() { echo "skipped: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root (BPF sources, other processes' /proc)"
command -v "$QEMU" >/dev/null || skip "no $QEMU"
command -v curl >/dev/null || skip "no curl"
command -v python3 >/dev/null || skip "no python3 (reads the JSON)"
[ -x "$K" ] || { echo "bench_agent_cost: no binary at $K (run make)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/kvmscope-bench-cost.XXXXXX)
pid= qpids=()
cleanup() {
	local p
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	for p in "${qpids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "$tmp"/vm*.pid; do
		[ -f "$p" ] && kill -KILL "$(cat "$p")" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "bench_agent_cost: $*" >&2; exit 1; }

"$K" serve --listen 127.0.0.1:0 --no-state 2>"$tmp/err" &
pid=$!
port=
for _ in $(seq 1 300); do
	port=$(sed -n 's|^kvmscope: listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$tmp/err")
	[ -n "$port" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/err" >&2; fail "the agent exited"; }
	sleep 0.1
done
[ -n "$port" ] || fail "the agent did not start"
B=http://127.0.0.1:$port
id=$(curl -sf "$B/ca/instrumentations" \
	-d "module=vm&stat=vcpus&decomposition=vm" |
	sed -n 's/.*"id":"\([0-9]*\)".*/\1/p')
[ -n "$id" ] || fail "cannot create the vm.vcpus instrumentation"

# vms PREFIX: how many VMs the API lists whose name starts with PREFIX
# ("" for all), in the last complete second.
vms() {
	curl -sf "$B/ca/instrumentations/$id/value/raw" |
		python3 -c '
import json, sys
v = json.load(sys.stdin).get("value") or {}
print(sum(1 for k in v if k.startswith(sys.argv[1])))' "$1"
}

ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
smaps() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/smaps_rollup"; }
# bpfmaps: kB of kernel memory in the agent's BPF maps (memlock, bytes).
bpfmaps() {
	local f n=0 m
	for f in /proc/$pid/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = anon_inode:bpf-map ] || continue
		m=$(awk '$1 == "memlock:" { print $2 }' \
			"/proc/$pid/fdinfo/${f##*/}" 2>/dev/null)
		n=$((n + ${m:-0}))
	done
	echo $((n / 1024))
}

# measure LABEL: CPU over SECS seconds, then memory; key lines.
measure() {
	local t0 t1 w0 w1
	t0=$(ticks)
	w0=$(date +%s.%N)
	sleep "$SECS"
	t1=$(ticks)
	w1=$(date +%s.%N)
	awk -v t=$((t1 - t0)) -v hz="$hz" -v w0="$w0" -v w1="$w1" \
		-v l="$1" 'BEGIN { printf "agent_cpu_pct_%s %.2f\n", l,
					  100 * t / hz / (w1 - w0) }'
	echo "agent_rss_kb_$1 $(smaps Rss)"
	echo "agent_pss_kb_$1 $(smaps Pss)"
	echo "agent_bpf_map_kb_$1 $(bpfmaps)"
	echo "agent_threads_$1 $(awk '$1 == "Threads:" { print $2 }' \
		"/proc/$pid/status")"
}

# ---- idle ------------------------------------------------------------------------
sleep 3		# the sources' start-up work is not idle cost
others=$(vms "")
[ -n "$others" ] || fail "GET value/raw of vm.vcpus failed"
measure idle | tee "$tmp/idle"
echo "agent_vms_idle $others"

# ---- 20 paused VMs ---------------------------------------------------------------
prefix=ks-cost-$$-
for i in $(seq 1 "$NVMS"); do
	uuid=$(printf '6b5e0c2a-%04x-4c1d-9e8f-%012x' $(($$ % 65536)) "$i")
	"$QEMU" -accel tcg -S -m 64 -nodefaults -display none \
		-name "guest=$prefix$i,debug-threads=on" -uuid "$uuid" \
		-qmp "unix:$tmp/qmp$i.sock,server=on,wait=off" \
		-daemonize -pidfile "$tmp/vm$i.pid" >"$tmp/qemu$i.log" 2>&1 ||
		{ cat "$tmp/qemu$i.log" >&2; fail "QEMU $i did not start"; }
	qpids+=("$(cat "$tmp/vm$i.pid")")
done
w0=$(date +%s.%N)
seen=0
for _ in $(seq 1 60); do
	seen=$(vms "$prefix")
	[ "${seen:-0}" -ge "$NVMS" ] && break
	sleep 0.5
done
w1=$(date +%s.%N)
[ "${seen:-0}" -ge "$NVMS" ] ||
	fail "the API lists $seen of the $NVMS VMs after 30 s"
awk -v a="$w0" -v b="$w1" 'BEGIN { printf "agent_discovery_s %.1f\n", b - a }'
sleep 2
measure 20vms | tee "$tmp/vms"
seen=$(vms "$prefix")
echo "agent_vms_20vms $seen"
[ "${seen:-0}" -ge "$NVMS" ] || fail "only $seen of $NVMS VMs listed at the end"
kill -0 "$pid" 2>/dev/null || fail "the agent died"

get() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/idle" "$tmp/vms"; }
awk -v ci="$(get agent_cpu_pct_idle)" -v cv="$(get agent_cpu_pct_20vms)" \
	-v ri="$(get agent_rss_kb_idle)" -v rv="$(get agent_rss_kb_20vms)" \
	-v bi="$(get agent_bpf_map_kb_idle)" \
	-v n="$NVMS" -v o="$others" 'BEGIN {
	printf "agent_rss_kb_per_vm %.0f\n", (rv - ri) / n
	printf "agent cost: idle %.2f%% CPU, %.1f MB RSS (%d other VMs on the host); with %d paused VMs %.2f%% CPU, %.1f MB RSS (+%.0f kB per VM); BPF maps %.1f MB of kernel memory at idle\n",
	       ci, ri / 1024, o, n, cv, rv / 1024, (rv - ri) / n, bi / 1024
}'
