#!/bin/bash
# t_disk.sh - the QMP disk source counts a real guest's I/O, within 1%.
#
# Boots a real Linux guest (tests/source/guest.sh) with a virtio-blk disk
# (device id vd0) on a scratch raw image and records with `kvmscope
# record -s disk_qmp` while the guest writes BLOCKS x 64 KiB to the disk
# with O_DIRECT and reads them back.  The recording, replayed, must show
# those bytes and operations by op type within 1%, on disk vd0 of this VM,
# and every operation must carry a latency: the source asked QEMU for a
# histogram on kvmscope's own bucket edges, so none may lack one.
set -u
. "$(dirname "$0")/guest.sh"
KVMSCOPE=${KVMSCOPE:-$KS_TOP/.output-asan/kvmscope}
BLOCKS=160
UUID=5a3f0c1e-7a2b-4c1d-9e8f-00000000d15c

[ -x "$KVMSCOPE" ] || { echo "no kvmscope binary at $KVMSCOPE"; exit 1; }
ks_guest_prepare
command -v python3 >/dev/null || ks_skip "no python3 (reads replay's JSON)"
trap ks_guest_cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

img=$(mktemp /tmp/ks-disk.XXXXXX)
trap 'ks_guest_cleanup; rm -f "$img"' EXIT
truncate -s 64M "$img"
ks_guest_boot ks-disk-guest "$UUID" "ks.mode=disk ks.blocks=$BLOCKS" \
	-drive "file=$img,if=none,id=d0,format=raw,cache=none,aio=threads" \
	-device virtio-blk-pci,drive=d0,id=vd0 || exit 1

rec=$KS_G/disk.ksr
"$KVMSCOPE" record -o "$rec" -s disk_qmp -p "$KS_QPID" 2>"$KS_G/record.err" &
rpid=$!
sleep 2.5	# discovery, histograms set, a baseline tick
ks_guest_say GO
ks_guest_expect KS_DONE 300 || exit 1
sleep 2.5
kill -INT "$rpid"
wait "$rpid"
rc=$?
[ "$rc" = 0 ] || { cat "$KS_G/record.err"; fail "record exited $rc"; }
cat "$KS_G/record.err"

# replay_value METRIC DECOMPOSE KEY [PREDICATE]
replay_value() {
	local args=("$rec" --metric "$1" --decompose "$2" --json)
	[ -z "${4:-}" ] || args+=(--predicate "$4")
	"$KVMSCOPE" replay "${args[@]}" 2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)
v = v[-1] if isinstance(v, list) else v
print(v["value"].get(sys.argv[1], 0))' "$3"
}
want=$((BLOCKS * 65536))
wb=$(replay_value vm.physio_bytes optype write)
rb=$(replay_value vm.physio_bytes optype read)
wo=$(replay_value vm.physio_ops optype write)
ro=$(replay_value vm.physio_ops optype read)
echo "kvmscope: write $wb B / $wo ops, read $rb B / $ro ops; workload $want B, $BLOCKS ops each"
ks_within 1 "$wb" "$want" || fail "write bytes $wb, expected $want"
ks_within 1 "$rb" "$want" || fail "read bytes $rb, expected $want"
ks_within 1 "$wo" "$BLOCKS" || fail "write ops $wo, expected $BLOCKS"
ks_within 1 "$ro" "$BLOCKS" || fail "read ops $ro, expected $BLOCKS"

# Every operation has a latency from QEMU's histogram.
wl=$(replay_value vm.physio_ops optype write '{"ge":["latency",0]}')
rl=$(replay_value vm.physio_ops optype read '{"ge":["latency",0]}')
[ "$wl" = "$wo" ] && [ "$rl" = "$ro" ] ||
	fail "ops with a latency: write $wl of $wo, read $rl of $ro"
# ... and a plausible one: more than 1 us, less than 10 s, for each op.
sl=$(replay_value vm.physio_ops optype write \
	'{"and":[{"gt":["latency",1000]},{"lt":["latency",10000000000]}]}')
[ "$sl" = "$wo" ] || fail "write latencies out of (1 us, 10 s): $sl of $wo"

d=$("$KVMSCOPE" replay "$rec" --metric vm.physio_bytes --decompose disk --json \
	2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)
v = v[-1] if isinstance(v, list) else v
print(",".join(sorted(v["value"])))')
[ "$d" = vd0 ] || fail "disks recorded: '$d', expected vd0"
v=$(replay_value vm.physio_bytes vmuuid "$UUID")
[ "$v" -ge $((2 * want)) ] || fail "bytes under vmuuid $UUID: $v"
echo "PASS: disk_qmp within 1% of the workload, every op with its latency"
