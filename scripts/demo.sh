#!/bin/bash
# demo.sh - what `make demo` runs once the binary is built.
#
# The demo is the seed's four pictures, live, on real KVM.  This machine
# has no hardware virtualisation, so the demo boots the lab
# (tests/lab/README.md): an L1 Debian guest under QEMU TCG, whose kvm_amd
# runs real VMs:
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
# The four pictures are written to demo-out/ as PNGs once their workloads
# have run (about three minutes).  Everything runs until Ctrl-C; then the
# guests, agents, proxy, tap device and temporary files are removed.
# Where the lab cannot run (not root, no QEMU, no kernel package), the demo
# says why and falls back to replaying a real KVM trace captured in the
# lab.  PORT (default 23181) picks the demo's port.
set -u
cd "$(dirname "$0")/.." || exit 1
TOP=$PWD
BIN=$TOP/.output/kvmscope
OUT=$TOP/demo-out
PORT=${PORT:-23181}
LABOUT=$TOP/lab-out
PR=$LABOUT/pictures-l1
mkdir -p "$OUT"

# ---- the fallback: a recorded trace, replayed ------------------------------
replay_demo() {
	local trace=tests/data/kvm-trace-qemu-l2.head3000.txt pid up spec
	[ -f "$trace" ] || { echo "demo: $trace is missing" >&2; exit 1; }
	echo "== exits by reason over the whole trace (kvmscope replay)"
	"$BIN" replay "$trace" --metric vm.exits --decompose vleavereason
	for spec in "vm.exits latency exit-latency" "vm.exits subsecond exits-subsecond"; do
		set -- $spec
		if "$BIN" replay "$trace" --metric "$1" --decompose vleavereason \
			--decompose "$2" --heatmap-png "$OUT/$3.png" >/dev/null 2>&1; then
			echo "demo: wrote $OUT/$3.png"
		fi
	done
	# No state file: the demo's instrumentations are not kept.
	"$BIN" serve --listen 127.0.0.1:"$PORT" --replay "$trace" --replay-loop \
		--no-state &
	pid=$!
	trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; exit 0' INT TERM
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
	echo "demo: the lab cannot run here: $*" >&2
	echo "demo: falling back to replaying a KVM trace captured in the lab" >&2
	replay_demo
}

[ -x "$BIN" ] || { echo "demo: no $BIN (make first)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fallback "it needs root (QEMU's 9p shares, tap devices, uprobes)"
for c in curl python3; do
	command -v $c >/dev/null || fallback "no $c"
done
echo "demo: preparing the lab (tests/lab/build.sh)"
LAB_QUIET=1 bash tests/lab/build.sh
rc=$?
[ $rc = 77 ] && fallback "tests/lab/build.sh could not set it up (see above)"
[ $rc = 0 ] || fallback "tests/lab/build.sh failed ($rc)"

# ---- what the demo starts, and how it is taken down --------------------------
TMP=$(mktemp -d /tmp/kvmscope-demo.XXXXXX)
L1=
HOSTAGENT=
PROXY=
TAP=
WRITER=
DRAIN=
. tests/lab/hostguest.sh
cleanup() {	# [STATUS]
	local c
	# A second Ctrl-C, or make passing on the signal it got, must not cut
	# the clean-up short and leave L1 or the guest running.
	trap '' INT TERM
	trap - EXIT
	echo
	echo "demo: stopping"
	[ -n "$WRITER" ] && kill "$WRITER" 2>/dev/null
	[ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null
	[ -n "$DRAIN" ] && kill "$DRAIN" 2>/dev/null
	if [ -n "$L1" ]; then
		touch "$PR/stop"	# L1 ends its scenario and powers off
		for _ in $(seq 100); do kill -0 "$L1" 2>/dev/null || break; sleep 0.2; done
		if kill -0 "$L1" 2>/dev/null; then
			# timeout(1) runs QEMU in a process group of its own and
			# passes SIGTERM on to it.
			for c in $(pgrep -P "$L1"); do kill -TERM "$c" 2>/dev/null; done
			kill -TERM -- -"$L1" 2>/dev/null
		fi
		wait "$L1" 2>/dev/null
	fi
	[ -n "$HOSTAGENT" ] && kill "$HOSTAGENT" 2>/dev/null && wait "$HOSTAGENT" 2>/dev/null
	hg_stop
	[ -n "$TAP" ] && ip link del "$TAP" 2>/dev/null
	rm -rf "$TMP" "$PR"
	echo "demo: stopped; the pictures are in $OUT"
	exit "${1:-0}"
}
trap cleanup INT TERM EXIT

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
listening() {	# PORT: something answers on 127.0.0.1:PORT
	python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null
}
listening "$PORT" && { echo "demo: port $PORT is taken (PORT=N make demo picks another)" >&2; exit 1; }

HGOK=0
if (hg_prepare > "$TMP/hg.log" 2>&1); then
	hg_prepare
	HGOK=1
else
	echo "demo: no host guest (disk and NIC pictures): $(tail -1 "$TMP/hg.log")" >&2
fi
# ---- the host guest: disk and NIC, with its own agent ------------------------
HOSTURL=
if [ $HGOK = 1 ]; then
	# Each agent's page links the other (serve --peers).
	"$BIN" serve --listen 127.0.0.1:0 --no-state --sources disk_uprobe,disk_qmp,nic \
		--peers "lab-L1-KVM=http://127.0.0.1:$PORT/" 2> "$TMP/host-agent.err" &
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
			echo "demo: the host guest did not start" >&2
		# Nobody reads its serial line: keep it from filling up.
		if [ -n "$HG_PID" ]; then
			cat <&5 > /dev/null &
			DRAIN=$!
		fi
	else
		echo "demo: the host agent did not start: $(tail -2 "$TMP/host-agent.err")" >&2
	fi
fi

# ---- L1: real KVM, its workloads and its agent -------------------------------
L2ARG=
[ $HGOK = 1 ] && L2ARG=l2=$HG_OUT
rm -f "$PR/ready" "$PR/done" "$PR/demo-running"
echo "demo: booting the lab's L1 guest (log: $TMP/l1.log)"
LAB_HOSTROOT=1 LAB_TIMEOUT=172800 setsid bash tests/lab/run-l1.sh pictures-l1 \
	phases=exits,irqs,cr3 demo=1 hold=86400 $L2ARG \
	${HOSTURL:+peers=this-host-disk-nic=$HOSTURL/} > "$TMP/l1.log" 2>&1 &
L1=$!

# ---- the one URL --------------------------------------------------------------
echo "demo: waiting for L1's agent (boot about 10 s; longer if another lab run holds the lock)"
until [ -s "$PR/ready" ] && [ -s "$PR/token" ] && [ -s "$PR/hostfwd" ]; do
	if ! kill -0 "$L1" 2>/dev/null; then
		tail -20 "$TMP/l1.log" >&2
		echo "demo: L1 ended before its agent came up" >&2
		L1=
		cleanup 1
	fi
	sleep 0.5
done
python3 scripts/demo-proxy.py "$PORT" "$(cat "$PR/hostfwd")" "$PR/token" &
PROXY=$!
for _ in $(seq 100); do listening "$PORT" && break; sleep 0.1; done
echo
echo "kvmscope demo: http://127.0.0.1:$PORT/"
echo "  the lab's L1 agent: kvmtest VMs and an L2 Linux guest on real KVM"
[ -n "$HOSTURL" ] && echo "  this host's TCG guest, disk and NIC: $HOSTURL/"
echo "  (Prometheus metrics at http://127.0.0.1:$PORT/metrics; Ctrl-C stops it all)"
echo

# ---- the four pictures, once their workloads have run -------------------------
picture() {	# BASE TOKEN ID START DURATION PARAMS FILE
	local auth=()
	[ -n "$2" ] && auth=(-H "Authorization: Bearer $2")
	curl -s --noproxy '*' "${auth[@]}" -o "$TMP/img.json" \
		"$1/ca/instrumentations/$3/value/heatmap/image?start_time=$4&duration=$5&width=600&height=300&$6" &&
	python3 -c 'import base64, json, sys
img = base64.b64decode(json.load(open(sys.argv[1]))["image"])
assert img[:8] == b"\x89PNG\r\n\x1a\n"
open(sys.argv[2], "wb").write(img)' "$TMP/img.json" "$OUT/$7.png" 2>/dev/null &&
	echo "demo: wrote $OUT/$7.png"
}
write_pictures() {
	local api tok s e id t0
	api=http://$(cat "$PR/hostfwd")
	tok=$(cat "$PR/token")
	t0=$(date +%s)
	until [ -s "$PR/done" ]; do sleep 1; done
	iid() { awk -v n="$1" '$1 == n { print $2 }' "$PR/instn"; }
	ph() { awk -v n="$1" -v w="$2" '$1 == n && $2 == w { print $3 }' "$PR/phases"; }
	s=$(ph irqs start) e=$(ph irqs end)
	picture "$api" "$tok" "$(iid irqs)" "$s" $((e - s + 1)) \
		"ymin=0&ymax=1000&nbuckets=100&decompose_all=true" irqs-subsecond
	s=$(ph cr3 start) e=$(ph cr3 end)
	picture "$api" "$tok" "$(iid samples)" "$s" $((e - s + 1)) \
		"ymin=0&ymax=1000&nbuckets=50&decompose_all=true" samples-cr3
	until [ -s "$PR/demo-running" ]; do sleep 1; done
	sleep 5
	[ -s "$PR/stat-demo.txt" ] && cp "$PR/stat-demo.txt" "$OUT/exits-stat.txt" &&
		echo "demo: wrote $OUT/exits-stat.txt (kvmscope stat in L1)"
	s=$(ph exits start) e=$(date +%s)
	picture "$api" "$tok" "$(iid exits)" "$s" 60 "ymin=0&ymax=200000&nbuckets=50&decompose_all=true" exits-latency
	if [ -n "$HOSTURL" ]; then
		id=$(sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' "$TMP/disk-instn")
		while [ $(( $(date +%s) - t0 )) -lt 60 ]; do sleep 1; done
		picture "$HOSTURL" "" "$id" $(( $(date +%s) - 50 )) 48 \
			"ymin=0&ymax=268435456&nbuckets=64&decompose_all=true" disk-offsets
	fi
}
write_pictures &
WRITER=$!

wait "$L1"
L1=
echo "demo: L1 ended:" >&2
tail -5 "$TMP/l1.log" >&2
cleanup 1
