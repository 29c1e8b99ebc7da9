#!/bin/bash
# demo.sh - what `make demo` runs once the binary is built.
#
# The demo is the seed's four pictures, live, on real KVM.  This machine
# has no hardware virtualisation, so the demo boots the lab
# (tests/lab/README.md): an L1 Debian guest under QEMU TCG, whose kvm_amd
# runs real VMs, each workload over and over for as long as the demo runs
# (scenarios/pictures-l1.sh demo=1):
#   - kvmtest VMs: a tick once a second at a fixed phase and a device that
#     wakes the guest a fixed time after each burst of work (interrupts by
#     subsecond offset: a flat line and a rising stair), two address
#     spaces sharing a vCPU 1:1 then 1:19 (samples by cr3), and exact
#     bursts of exits;
#   - an L2 Linux guest under QEMU -enable-kvm (exits of a real OS),
# watched by `kvmscope serve` inside L1.  Its port is forwarded to this
# host, and a small loopback proxy (scripts/demo-proxy.py) adds the
# agent's token, so the one URL printed,
#     kvmscope demo: http://127.0.0.1:PORT/
# is the L1 agent's web UI and API.  The disk and NIC pictures need a
# guest whose I/O QEMU's block layer and a tap device see; that guest runs
# on this host under TCG (tests/lab/hostguest.sh: ext4 "create, sleep,
# read back, delete" and pings), watched by a second agent on this host,
# whose URL is printed on the next line.
#
# TCG hangs now and then, more on a busy machine.  L1 writes a heartbeat
# every 2 s and a state file per workload (lab-out/pictures-l1/demo/);
# when the heartbeat stops, a workload run outlives its limit, or the
# agent is not up in time, the demo boots L1 again (a few times at most),
# on the same forwarded port.
#
# demo-out/STATUS says what is ready and what is not, refreshed every few
# seconds; the proxy serves it at /demo/status and shows it atop the web
# UI's pages.  Each picture is redrawn into demo-out/ from the last
# seconds of its workload once those seconds hold what it shows, and only
# then is it called ready; the files of an earlier run are removed first,
# and on exit the demo names the files this run wrote.
#
# Everything runs until Ctrl-C (or SIGTERM), which stops L1's QEMU, the
# agents, the proxy and the host guest at once (within a few seconds) and
# removes the tap device and the temporary files.  Where the lab cannot
# run (not root, no QEMU, no kernel package), the demo says why and falls
# back to replaying a real KVM trace captured in the lab.
#
# Environment: PORT (default 23181) picks the demo's port; DEMO_QUICK=1
# makes the workloads' runs and the pictures' windows short, and the
# stall limits tighter (tests/lab/t_demo.sh); DEMO_L2=0 leaves the L2
# Linux guest out; LAB_LOCK_HELD=1 says the caller holds the lab lock.
set -u
cd "$(dirname "$0")/.." || exit 1
TOP=$PWD
BIN=$TOP/.output/kvmscope
OUT=$TOP/demo-out
PORT=${PORT:-23181}
QUICK=${DEMO_QUICK:-0}
LABOUT=$TOP/lab-out
PR=$LABOUT/pictures-l1
STATUS=$OUT/STATUS
T_START=$(date +%s)
mkdir -p "$OUT"
# What an earlier run wrote is not this run's to show.
for f in irqs-subsecond.png samples-cr3.png exits-latency.png disk-offsets.png \
	exits-stat.txt exit-latency.png exits-subsecond.png STATUS; do
	rm -f "$OUT/$f"
done

# status LINE...: demo-out/STATUS, whole, with the time and the URL.
# Builtins only (printf's clock): at Ctrl-C on a loaded machine each
# process started costs a few tenths of a second.
status() {
	local TZ=UTC now
	printf -v now '%(%s)T' -1
	{
		printf 'kvmscope demo, %(%Y-%m-%d %H:%M:%S)T UTC, up %d s\n' -1 $((now - T_START))
		echo "url: http://127.0.0.1:$PORT/"
		printf '%s\n' "$@"
	} > "$STATUS.tmp" && mv "$STATUS.tmp" "$STATUS"
}

# written: the demo's files in demo-out/, all written by this run.
written() {
	local f l=""
	for f in "$OUT"/*.png "$OUT"/exits-stat.txt; do
		[ -f "$f" ] && l="$l ${f#"$TOP"/}"
	done
	echo "${l# }"
}

# ---- the fallback: a recorded trace, replayed ------------------------------
replay_demo() {
	local trace=tests/data/kvm-trace-qemu-l2.head3000.txt pid up spec lines=()
	[ -f "$trace" ] || { echo "demo: $trace is missing" >&2; exit 1; }
	echo "== exits by reason over the whole trace (kvmscope replay)"
	"$BIN" replay "$trace" --metric vm.exits --decompose vleavereason
	for spec in "vm.exits latency exit-latency" "vm.exits subsecond exits-subsecond"; do
		set -- $spec
		if "$BIN" replay "$trace" --metric "$1" --decompose vleavereason \
			--decompose "$2" --heatmap-png "$OUT/$3.png" >/dev/null 2>&1; then
			echo "demo: wrote $OUT/$3.png"
			lines+=("picture $3: ready $OUT/$3.png (from the recorded trace)")
		else
			lines+=("picture $3: unavailable (kvmscope replay failed)")
		fi
	done
	status "mode: replay of a recorded trace (the lab cannot run here: $WHY)" \
		"${lines[@]}"
	# No state file: the demo's instrumentations are not kept.
	"$BIN" serve --listen 127.0.0.1:"$PORT" --replay "$trace" --replay-loop \
		--no-state &
	pid=$!
	trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; echo "demo: stopped; written: $(written)"; exit 0' INT TERM
	up=
	for _ in $(seq 100); do
		kill -0 $pid 2>/dev/null || break
		curl -sf --noproxy '*' "http://127.0.0.1:$PORT/ca" >/dev/null 2>&1 && { up=1; break; }
		sleep 0.1
	done
	if [ -z "$up" ]; then
		echo "demo: the agent did not come up on port $PORT (PORT=N make demo" \
			"picks another)" >&2
		kill $pid 2>/dev/null
		exit 1
	fi
	echo "kvmscope demo: http://127.0.0.1:$PORT/"
	echo "(a recorded trace, replayed; Prometheus metrics at" \
		"http://127.0.0.1:$PORT/metrics; Ctrl-C to stop)"
	wait $pid
	exit 0
}

fallback() {
	WHY=$*
	echo "demo: the lab cannot run here: $*" >&2
	echo "demo: falling back to replaying a KVM trace captured in the lab" >&2
	replay_demo
}

[ -x "$BIN" ] || { echo "demo: no $BIN (make first)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fallback "it needs root (QEMU's 9p shares, tap devices, uprobes)"
for c in curl python3 setsid flock; do
	command -v $c >/dev/null || fallback "no $c"
done
status "lab: preparing (tests/lab/build.sh)"
echo "demo: preparing the lab (tests/lab/build.sh)"
LAB_QUIET=1 bash tests/lab/build.sh
rc=$?
[ $rc = 77 ] && fallback "tests/lab/build.sh could not set it up (see above)"
[ $rc = 0 ] || fallback "tests/lab/build.sh failed ($rc)"

# ---- what the demo starts, and how it is taken down --------------------------
# Quick runs (the test) have short windows, so a stall shows sooner.
if [ "$QUICK" = 1 ]; then
	BOOT_LIMIT=240 STALL=40 GRACE=30 REFRESH=4 MAX_BOOTS=4
else
	BOOT_LIMIT=300 STALL=90 GRACE=60 REFRESH=15 MAX_BOOTS=6
fi
TMP=$(mktemp -d /tmp/kvmscope-demo.XXXXXX)
L1=
HOSTAGENT=
PROXY=
TAP=
DRAIN=
HOSTURL=
HOSTGUEST="host guest (disk, NIC): not started"
LAB="lab: not started"
BOOTS=0
LASTWHY=
REFRESHED=()
. tests/lab/hostguest.sh

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
listening() {	# PORT: something answers on 127.0.0.1:PORT
	python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null
}
# l1_pids: run-l1.sh and everything it started (timeout, QEMU): its
# session, since setsid started it.
l1_pids() {
	[ -n "$L1" ] || return 0
	echo "$L1" $(pgrep -s "$L1")
}

# stop_pids PID...: SIGTERM to each, SIGKILL to what is left after 3 s
# (named, so a slow one shows).
stop_pids() {
	local p left
	[ $# = 0 ] && return 0
	kill -TERM "$@" 2>/dev/null
	for i in $(seq 30); do
		left=
		for p in "$@"; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
		[ -z "$left" ] && return 0
		[ "$i" = 10 ] && echo "demo: still ending after 1 s:$(for p in $left; do
			printf ' %s (%s)' "$p" "$(ps -o comm= -p "$p")"; done)" >&2
		sleep 0.1
	done
	for p in $left; do
		echo "demo: $p ($(ps -o comm= -p "$p")) did not end in 3 s: SIGKILL" >&2
	done
	kill -KILL $left 2>/dev/null
}

cleanup() {	# [STATUS]
	local p pids=() w l1 us
	# A second Ctrl-C, or make passing on the signal it got, must not cut
	# the clean-up short and leave L1 or the guest running.
	trap '' INT TERM
	trap - EXIT
	T_STOP=${EPOCHREALTIME/./}
	echo
	echo "demo: stopping"
	# All at once.  Both guests go with SIGKILL: nothing in them needs
	# keeping (L1 lives in tmpfs, the host guest's disk is a temporary
	# file), and a QEMU ending in order takes over a second on a busy
	# machine.  The rest get SIGTERM.
	l1=$(l1_pids)
	kill -KILL $l1 $HG_PID 2>/dev/null
	for p in $l1 $PROXY $HOSTAGENT $HG_PID $DRAIN; do pids+=("$p"); done
	stop_pids "${pids[@]}"
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	hg_stop
	[ -n "$TAP" ] && ip link del "$TAP" 2>/dev/null
	rm -rf "$TMP" "$PR"
	w=$(written)
	status "lab: stopped" "written by this run: ${w:-nothing}"
	us=$(( ${EPOCHREALTIME/./} - T_STOP ))
	printf 'demo: everything ended in %d.%d s\n' $((us / 1000000)) $((us / 100000 % 10))
	if [ -n "$w" ]; then
		echo "demo: stopped; written by this run: $w"
	else
		echo "demo: stopped; no pictures were written (see $STATUS)"
	fi
	exit "${1:-0}"
}
listening "$PORT" && { echo "demo: port $PORT is taken (PORT=N make demo picks another)" >&2; rm -rf "$TMP"; exit 1; }
trap cleanup INT TERM EXIT

# pause SECONDS: a sleep that Ctrl-C and SIGTERM end at once (bash runs a
# trap only after a foreground command, but during `wait`).
pause() { sleep "$1" & wait $!; }

# L1's agent is forwarded to the same port on every boot, so the proxy
# (started now: until L1 is up it answers with the status) stays put.
FWD=$(free_port)
python3 scripts/demo-proxy.py "$PORT" "127.0.0.1:$FWD" "$PR/token" "$STATUS" 9>&- &
PROXY=$!
status "lab: preparing the host guest"
HGOK=0
if (hg_prepare > "$TMP/hg.log" 2>&1); then
	hg_prepare
	HGOK=1
else
	HOSTGUEST="host guest (disk, NIC): unavailable ($(tail -1 "$TMP/hg.log"))"
	echo "demo: no host guest (disk and NIC pictures): $(tail -1 "$TMP/hg.log")" >&2
fi
# ---- the host guest: disk and NIC, with its own agent ------------------------
if [ $HGOK = 1 ]; then
	# Each agent's page links the other (serve --peers).
	"$BIN" serve --listen 127.0.0.1:0 --no-state --sources disk_uprobe,disk_qmp,nic \
		--peers "lab-L1-KVM=http://127.0.0.1:$PORT/" 2> "$TMP/host-agent.err" 9>&- &
	HOSTAGENT=$!
	for _ in $(seq 100); do
		HOSTURL=$(sed -n 's|^kvmscope: listening on \(http://127\.0\.0\.1:[0-9]*\)/$|\1|p' "$TMP/host-agent.err")
		[ -n "$HOSTURL" ] && break
		sleep 0.1
	done
	if [ -n "$HOSTURL" ]; then
		# Before the guest runs, so that the picture has it all.
		curl -s --noproxy '*' -o "$TMP/disk-instn" "$HOSTURL/ca/instrumentations" \
			-d module=vm -d stat=physio_ops -d decomposition=optype,offset
		curl -s --noproxy '*' -o /dev/null "$HOSTURL/ca/instrumentations" \
			-d module=nic -d stat=vnic_bytes -d decomposition=direction
		TAP=ksdemo$$
		truncate -s 256M "$TMP/disk.img"
		mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$TMP/disk.img"
		nic=()
		if ip tuntap add "$TAP" mode tap 2>/dev/null; then
			ip addr add 10.77.0.1/24 dev "$TAP" && ip link set "$TAP" up
			nic=(-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no"
			     -device virtio-net-pci,netdev=n0,id=nic0)
		else
			TAP=
			echo "demo: cannot create a tap device: no NIC traffic" >&2
		fi
		hg_start kvmscope-demo-guest \
			"ks.mode=demo ks.cycles=0 ks.mb=24 ks.sleep=2 ks.ip=10.77.0.2 ks.peer=10.77.0.1" \
			-drive "file=$TMP/disk.img,if=none,id=d0,format=raw" \
			-device virtio-blk-pci,drive=d0,id=vd0 "${nic[@]}" ||
			{ HOSTGUEST="host guest (disk, NIC): unavailable (QEMU did not start)"
			  echo "demo: the host guest did not start" >&2; }
		# Nobody reads its serial line: keep it from filling up.
		if [ -n "$HG_PID" ]; then
			cat <&5 > /dev/null &
			DRAIN=$!
			HOSTGUEST="host guest (disk, NIC): running, QEMU pid $HG_PID, agent $HOSTURL/"
		fi
	else
		HOSTGUEST="host guest (disk, NIC): unavailable (the host agent did not start: $(tail -1 "$TMP/host-agent.err"))"
		echo "demo: the host agent did not start: $(tail -2 "$TMP/host-agent.err")" >&2
	fi
fi

DISKID=
[ -s "$TMP/disk-instn" ] && DISKID=$(sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' "$TMP/disk-instn")

# ---- L1: real KVM, its workloads and its agent -------------------------------
# The lab lock for the whole demo: restarts must not lose it to a test.
if [ "${LAB_LOCK_HELD:-0}" != 1 ]; then
	exec 9> "${LAB_LOCK:-/tmp/kvmscope-lab.lock}"
	if ! flock -n 9; then
		status "lab: waiting for the lab lock (another lab run holds it)" "$HOSTGUEST"
		echo "demo: another lab run holds the lab lock; waiting for it (at most 30 min)"
		flock -w 1800 9 || { echo "demo: the lab lock stayed taken for 30 min" >&2; cleanup 1; }
	fi
fi
# The L2 Linux guest (the host guest's initramfs under L1's QEMU
# -enable-kvm); DEMO_L2=0 leaves it out (its boot takes minutes on a busy
# machine: make check's t_demo.sh).
L2ARG=
[ $HGOK = 1 ] && [ "${DEMO_L2:-1}" != 0 ] && L2ARG=l2=$HG_OUT

l1_start() {
	BOOTS=$((BOOTS + 1))
	T_BOOT=$(date +%s)
	rm -rf "$PR"
	echo "demo: booting the lab's L1 guest, boot $BOOTS (log: $TMP/l1.log)"
	LAB="lab: booting L1 (boot $BOOTS)${LASTWHY:+; the last one stalled: $LASTWHY}"
	LAB_PORT=$FWD LAB_LOCK_HELD=1 LAB_RETRIES=0 LAB_HOSTROOT=1 LAB_TIMEOUT=172800 \
		setsid bash tests/lab/run-l1.sh pictures-l1 phases= demo=1 quick="$QUICK" \
		hold=86400 $L2ARG ${HOSTURL:+peers=this-host-disk-nic=$HOSTURL/} \
		>> "$TMP/l1.log" 2>&1 9>&- &
	L1=$!
}

l1_stop() {
	stop_pids $(l1_pids)
	wait "$L1" 2>/dev/null
	L1=
}

mtime() { stat -c %Y "$1" 2>/dev/null || date +%s; }

# stalled: why L1 must boot again, or nothing.  File times are this
# host's clock (9p writes them here).
stalled() {
	local now=$(date +%s) f lim age
	if ! kill -0 "$L1" 2>/dev/null; then
		echo "L1 ended: $(grep -a -v '^ *|' "$TMP/l1.log" | tail -1)"
		return
	fi
	if [ ! -s "$PR/ready" ]; then
		[ $((now - T_BOOT)) -gt $BOOT_LIMIT ] &&
			echo "its agent was not up after $BOOT_LIMIT s"
		return
	fi
	f=$PR/heartbeat
	[ -e "$f" ] || f=$PR/ready
	age=$((now - $(mtime "$f")))
	[ $age -gt $STALL ] && { echo "no heartbeat from L1 for $age s"; return; }
	for f in "$PR"/demo/irqs "$PR"/demo/cr3 "$PR"/demo/exits "$PR"/demo/l2; do
		[ -s "$f" ] || continue
		lim=$(sed -n 's/.*limit=\([0-9]*\).*/\1/p' "$f")
		age=$((now - $(mtime "$f")))
		[ "${lim:-0}" -gt 0 ] && [ $age -gt $((lim + GRACE)) ] &&
			{ echo "workload ${f##*/} stuck for $age s (limit $lim s)"; return; }
	done
}

l1_start
URLSAID=
T_REFRESH=0
while :; do
	pause 1
	why=$(stalled)
	if [ -n "$why" ]; then
		echo "demo: L1 stalled ($why); stopping it" >&2
		tail -5 "$TMP/l1.log" | sed 's/^/demo:   | /' >&2
		l1_stop
		rm -rf "$PR.hung"
		[ -d "$PR" ] && mv "$PR" "$PR.hung"
		LASTWHY=$why
		if [ $BOOTS -ge $MAX_BOOTS ]; then
			LAB="lab: given up after $BOOTS boots; the last: $why (console in ${PR#"$TOP"/}.hung/)"
			echo "demo: $LAB" >&2
			status "$LAB" "$HOSTGUEST" "${REFRESHED[@]}"
			cleanup 1
		fi
		l1_start
		continue
	fi
	if [ -s "$PR/ready" ]; then
		LAB="lab: up (boot $BOOTS, $(( $(date +%s) - T_BOOT )) s)${LASTWHY:+; the boot before stalled: $LASTWHY}"
		if [ -z "$URLSAID" ]; then
			URLSAID=1
			echo
			echo "kvmscope demo: http://127.0.0.1:$PORT/"
			echo "  the lab's L1 agent: kvmtest VMs and an L2 Linux guest on real KVM"
			[ -n "$HOSTURL" ] && echo "  this host's TCG guest, disk and NIC: $HOSTURL/"
			echo "  what is ready: $STATUS (and http://127.0.0.1:$PORT/demo/status)"
			echo "  (Prometheus metrics at http://127.0.0.1:$PORT/metrics; Ctrl-C stops it all)"
			echo
		fi
	fi
	if [ $(( $(date +%s) - T_REFRESH )) -ge $REFRESH ]; then
		T_REFRESH=$(date +%s)
		python3 scripts/demo-refresh.py "$OUT" "$QUICK" "$PR" \
			${HOSTURL:+"$HOSTURL" "$DISKID"} > "$TMP/refresh" 2> "$TMP/refresh.err" &
		if wait $! && [ -s "$TMP/refresh" ]; then
			mapfile -t REFRESHED < "$TMP/refresh"
		fi
		# A line on the terminal when what is ready changes.
		summary=$(printf '%s\n' "${REFRESHED[@]}" | awk '
			/^picture / { n = $2; sub(/:$/, "", n)
				if ($3 == "ready") r = r " " n; else w = w " " n }
			END { printf "ready:%s; waiting:%s", r ? r : " none", w ? w : " none" }')
		if [ "$summary" != "${SAID:-}" ]; then
			SAID=$summary
			echo "demo: $summary (details: demo-out/STATUS)"
		fi
	fi
	status "$LAB" "$HOSTGUEST" "${REFRESHED[@]}"
done
