#!/bin/bash
# t_record.sh - `kvmscope record`: clean ends, valid files, clear errors.
#
# Runs every source this host supports (those it cannot are skipped with
# a message) and checks that the recording ends on its own after
# --duration, and on SIGINT and SIGTERM, with exit status 0 and a file
# that replay reads to its end block (not truncated, nothing missing);
# then that bad options are refused with exit status 2 and a message
# naming the option, and an unwritable file with status 1.
# The data itself is checked by t_nic.sh, t_disk.sh and t_disk_uprobe.sh.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
KVMSCOPE=${KVMSCOPE:-$TOP/.output-asan/kvmscope}
[ -x "$KVMSCOPE" ] || { echo "no kvmscope binary at $KVMSCOPE"; exit 1; }
D=$(mktemp -d /tmp/ks-record.XXXXXX)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# valid FILE: replay reads it whole.
valid() {
	"$KVMSCOPE" replay "$1" --metric vm.exits > /dev/null 2> "$D/replay.err" ||
		{ cat "$D/replay.err"; fail "replay of $1 exited non-zero"; }
	grep -qE 'truncated|no end block|damaged|corrupt' "$D/replay.err" &&
		{ cat "$D/replay.err"; fail "$1 is not a complete record file"; }
	grep -q "record file v" "$D/replay.err" || fail "replay did not read $1"
}

# --duration: ends by itself, about on time.
t0=$(date +%s%N)
"$KVMSCOPE" record -o "$D/d.ksr" -d 2 2> "$D/d.err" ||
	{ cat "$D/d.err"; fail "record -d 2 exited $?"; }
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
cat "$D/d.err"
[ "$ms" -ge 1000 ] && [ "$ms" -le 6000 ] || fail "record -d 2 took $ms ms"
valid "$D/d.ksr"

# SIGINT and SIGTERM: a last reading, the file closed.
for sig in INT TERM; do
	"$KVMSCOPE" record -o "$D/$sig.ksr" 2> "$D/$sig.err" &
	pid=$!
	sleep 1.5
	kill -"$sig" "$pid"
	t0=$(date +%s%N)
	wait "$pid"
	rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$rc" = 0 ] || { cat "$D/$sig.err"; fail "record exited $rc on SIG$sig"; }
	[ "$ms" -le 3000 ] || fail "record took $ms ms to end on SIG$sig"
	valid "$D/$sig.ksr"
done

# Bad input: exit 2 and the option named; an unwritable file: exit 1.
expect() {	# STATUS WORD ARGS...
	local want=$1 word=$2
	shift 2
	"$KVMSCOPE" record "$@" > /dev/null 2> "$D/bad.err"
	local rc=$?
	[ "$rc" = "$want" ] || fail "record $* exited $rc, expected $want"
	grep -q -- "$word" "$D/bad.err" ||
		{ cat "$D/bad.err"; fail "record $*: no mention of '$word'"; }
}
expect 2 output -d 1
expect 2 metrics -o "$D/x.ksr" -m vm.exits,vm.nosuch
expect 2 sources -o "$D/x.ksr" -s nic,nosuch
expect 2 duration -o "$D/x.ksr" -d 0
expect 2 duration -o "$D/x.ksr" -d -5
expect 2 pid -o "$D/x.ksr" -p abc
expect 2 unexpected -o "$D/x.ksr" extra
expect 1 "$D/no/such/dir" -o "$D/no/such/dir/x.ksr" -d 1
echo "PASS: record ends cleanly (duration, SIGINT, SIGTERM) and refuses bad input"
