#!/bin/bash
# t_disk_uprobe.sh - per-request disk data from uprobes on a real guest.
#
# The same guest as t_disk.sh (BLOCKS x 64 KiB O_DIRECT writes from offset
# 0, then reads of them), recorded with both disk sources, as `kvmscope
# record` runs them by default.  This QEMU binary exports its block layer,
# so disk_uprobe must claim the VM and disk_qmp leave it alone: every
# operation is counted once, and each carries its size (64 KiB), its
# offset (the guest's: 0, 64 KiB, ... exactly once each) and a latency.
# Afterwards no uprobe event or tracefs instance of ours may be left.
# Skips if the binary does not export the functions (then QMP covers it,
# which t_disk.sh tests) or tracefs uprobes are unavailable.
set -u
. "$(dirname "$0")/guest.sh"
KVMSCOPE=${KVMSCOPE:-$KS_TOP/.output-asan/kvmscope}
BLOCKS=64
UUID=5a3f0c1e-7a2b-4c1d-9e8f-00000000d15e
TFS=/sys/kernel/tracing

[ -x "$KVMSCOPE" ] || { echo "no kvmscope binary at $KVMSCOPE"; exit 1; }
ks_guest_prepare
command -v python3 >/dev/null || ks_skip "no python3 (reads replay's JSON)"
[ -w "$TFS/uprobe_events" ] || ks_skip "no writable $TFS/uprobe_events"
nm -D "$(readlink -f "$(command -v qemu-system-x86_64)")" 2>/dev/null |
	grep -q ' T block_acct_start$' ||
	ks_skip "this QEMU does not export block_acct_start (QMP covers it)"
fail() { echo "FAIL: $*"; exit 1; }

img=$(mktemp /tmp/ks-disk.XXXXXX)
trap 'ks_guest_cleanup; rm -f "$img"' EXIT
truncate -s 64M "$img"
ks_guest_boot ks-uprobe-guest "$UUID" "ks.mode=disk ks.blocks=$BLOCKS" \
	-drive "file=$img,if=none,id=d0,format=raw,cache=none,aio=threads" \
	-device virtio-blk-pci,drive=d0,id=vd0 || exit 1

rec=$KS_G/disk.ksr
"$KVMSCOPE" record -o "$rec" -s disk_uprobe,disk_qmp -p "$KS_QPID" -v \
	2>"$KS_G/record.err" &
rpid=$!
sleep 2.5	# discovery, probes placed
ks_guest_say GO
ks_guest_expect KS_DONE 300 || exit 1
sleep 2.5
# One set of probes for the one QEMU binary, however often discovery
# rescanned meanwhile: a second set would count every request twice.
groups=$(sed -n "s|^p:\(ksd${rpid}_[0-9]*\)/.*|\1|p" "$TFS/uprobe_events" | sort -u)
[ "$(echo $groups | wc -w)" = 1 ] ||
	{ kill -INT "$rpid"; fail "uprobe groups of ours: '$groups', expected one"; }
kill -INT "$rpid"
wait "$rpid"
rc=$?
cat "$KS_G/record.err"
[ "$rc" = 0 ] || fail "record exited $rc"
! grep -q "ksd${rpid}_" "$TFS/uprobe_events" || fail "uprobe events left behind"
[ ! -d "$TFS/instances/kvmscope-disk-$rpid" ] || fail "tracefs instance left behind"

count() {	# OPTYPE [PREDICATE]: vm.physio_ops of that type
	local args=("$rec" --metric vm.physio_ops --decompose optype --json)
	[ -z "${2:-}" ] || args+=(--predicate "$2")
	"$KVMSCOPE" replay "${args[@]}" 2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)
v = v[-1] if isinstance(v, list) else v
print(v["value"].get(sys.argv[1], 0))' "$1"
}
last=$(((BLOCKS - 1) * 65536))
for op in write read; do
	n=$(count $op)
	echo "$op: $n ops"
	[ "$n" = "$BLOCKS" ] || fail "$n $op ops, expected $BLOCKS (counted twice, or lost?)"
	s=$(count $op '{"eq":["size",65536]}')
	[ "$s" = "$BLOCKS" ] || fail "$op ops of 64 KiB: $s of $BLOCKS"
	l=$(count $op '{"gt":["latency",0]}')
	[ "$l" = "$BLOCKS" ] || fail "$op ops with a latency: $l of $BLOCKS"
	inrange=$(count $op "{\"le\":[\"offset\",$last]}")
	[ "$inrange" = "$BLOCKS" ] || fail "$op ops at offsets 0..$last: $inrange"
	for off in 0 65536 $((last / 2 / 65536 * 65536)) $last; do
		k=$(count $op "{\"eq\":[\"offset\",$off]}")
		[ "$k" = 1 ] || fail "$op ops at offset $off: $k, expected 1"
	done
done
b=$("$KVMSCOPE" replay "$rec" --metric vm.physio_bytes --decompose disk --json \
	2>/dev/null | python3 -c 'import json, sys
v = json.load(sys.stdin); v = v[-1] if isinstance(v, list) else v
print(v["value"])')
[ "$b" = "{'vd0': $((2 * BLOCKS * 65536))}" ] || fail "bytes by disk: $b"
echo "PASS: uprobes gave each request once, with size, offset and latency"
