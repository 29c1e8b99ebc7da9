#!/bin/bash
# t_state_full.sh - a full disk never costs the state file or an
# acknowledged change (issue 10, "Losing state").
#
# The state file lives on a real, small tmpfs, filled to the last block
# with a real file:
#  - A create answered while the disk is full is not saved, is retried,
#    and is written once space comes back ("saving works again"): after a
#    kill -9 it is there.
#  - An agent started on the full disk refuses to start, saying the disk
#    is full; started again within the same second, the same.  The file is
#    byte for byte what it was and nothing is set aside.  (Before, the good
#    file was moved to .bad-SECOND, an empty one was left, and the restart
#    renamed that onto the same .bad-SECOND: the only copy was gone.)
#  - With space again, the agent starts with every instrumentation.
#  - On a read-only file system the agent refuses, file kept.
# Needs root, to mount the tmpfs.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
[ "$(id -u)" = 0 ] || { echo "needs root to mount a small tmpfs"; exit 77; }
. "$TOP/tests/http/agentlib.sh"

mnt=$tmp/small
mkdir "$mnt"
mount -t tmpfs -o size=512k,mode=0700 kvmscope-state-test "$mnt" 2>"$tmp/mount.err" || {
	echo "cannot mount a tmpfs here: $(cat "$tmp/mount.err")"
	exit 77
}
trap 'for p in "${agents[@]}"; do kill -KILL "$p" 2>/dev/null; done
	umount "$mnt"; cleanup' EXIT
S=$mnt/state.db

fill() {	# takes every free block of the tmpfs
	dd if=/dev/zero of="$mnt/fill" bs=4k 2>/dev/null
	[ "$(df --output=avail "$mnt" | tail -1 | tr -d ' ')" = 0 ] ||
		fail "the tmpfs is not full: $(df "$mnt")"
}

count() {
	expect 200 - GET /ca/instrumentations
	py 'len(j)'
}

create() {
	req - POST /ca/instrumentations "$@"
	case $code in 2??) ;; *) fail "create: status $code" ;; esac
}

said() {	# FILE PATTERN: waits (up to 30 s) for PATTERN in FILE
	for _ in $(seq 1 300); do
		grep -q "$2" "$1" && return 0
		sleep 0.1
	done
	fail "no '$2' in $1"
}

# ---- a create while the disk is full is retried until it is saved --------
part_pending() {
	start full1 http --listen 127.0.0.1:0 --sources none --state "$S" \
		--checkpoint-interval 1
	create -d module=vm -d stat=exits
	create -d module=vm -d stat=irqs
	sleep 2	# saved, and checkpointed
	fill
	create -d module=vm -d stat=exits -d decomposition=vleavereason	# 3
	said "$tmp/err.full1" "failed: "
	rm "$mnt/fill"
	said "$tmp/err.full1" "saving works again"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	start full2 http --listen 127.0.0.1:0 --sources none --state "$S"
	[ "$(count)" = 3 ] || fail "full2: $(count) instrumentations after kill -9"
	stop full2
	echo "full: the create made on a full disk was saved once space came back"
}

# ---- an agent started on a full disk refuses and keeps the file -----------
part_refuse() {
	if [ ! -f "$S" ]; then	# run alone: a file with 3 instrumentations
		start full0 http --listen 127.0.0.1:0 --sources none --state "$S"
		for st in exits irqs exits; do create -d module=vm -d stat=$st; done
		stop full0
	fi
	cp "$S" "$tmp/orig.db"
	fill
	for n in 1 2; do
		timeout 20 "$K" serve --listen 127.0.0.1:0 --sources none --state "$S" \
			>/dev/null 2>"$tmp/err.refused$n"
		rc=$?
		[ "$rc" = 1 ] || fail "start $n on a full disk: exit $rc, wanted 1"
		grep -q "cannot use '$S': its file system is full; not starting; the file is kept" \
			"$tmp/err.refused$n" ||
			fail "start $n: no clear message: $(cat "$tmp/err.refused$n")"
	done
	cmp -s "$S" "$tmp/orig.db" || fail "the state file changed on the full disk"
	if ls "$S".bad-* >/dev/null 2>&1; then
		fail "set aside on a full disk: $(ls -l "$mnt")"
	fi
	rm "$mnt/fill"
	start full3 http --listen 127.0.0.1:0 --sources none --state "$S"
	[ "$(count)" = 3 ] || fail "full3: $(count) instrumentations"
	stop full3
	echo "full: refused twice, file kept, all back with space"
}

# ---- a read-only file system: refused, kept ------------------------------
part_readonly() {
	if [ ! -f "$S" ]; then	# run alone: a file with an instrumentation
		start ro0 http --listen 127.0.0.1:0 --sources none --state "$S"
		create -d module=vm -d stat=exits
		stop ro0
	fi
	cp "$S" "$tmp/orig.db"
	mount -o remount,ro "$mnt" || fail "cannot remount the tmpfs read-only"
	timeout 20 "$K" serve --listen 127.0.0.1:0 --sources none --state "$S" \
		>/dev/null 2>"$tmp/err.ro"
	rc=$?
	mount -o remount,rw "$mnt" || fail "cannot remount the tmpfs read-write"
	[ "$rc" = 1 ] || fail "start on a read-only file system: exit $rc"
	grep -q -- "--state: .*Read-only file system" "$tmp/err.ro" ||
		fail "read-only: no clear message: $(cat "$tmp/err.ro")"
	cmp -s "$S" "$tmp/orig.db" || fail "read-only: the state file changed"
	if ls "$S".bad-* >/dev/null 2>&1; then
		fail "set aside on a read-only file system"
	fi
	echo "read-only: refused, kept"
}

# Each part alone: T_STATE_PARTS=refuse; all by default.
for part in ${T_STATE_PARTS:-pending refuse readonly}; do
	"part_$part"
done

if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp"/err.*; then
	fail "sanitizer report"
fi
echo "state full ok"
