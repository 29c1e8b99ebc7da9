#!/bin/bash
# t_cli.sh - replay's command line: help, errors, span limits, per-second.
#
# Bad input must give a clear message on stderr, nothing on stdout and a
# non-zero exit; a trace longer than 3600 data points at the granularity
# must be refused with the granularity that would fit; per-second values
# must put each exit in its own interval.
. "$(dirname "$0")/lib.sh"

f=$DATA/kvm-trace-all-events.txt

"$KVMSCOPE" replay --help >"$SCRATCH/out" 2>&1 || fail "--help failed"
grep -q 'usage: kvmscope replay FILE' "$SCRATCH/out" || fail "no usage"

bad() {	# PATTERN ARGS...: replay must fail, saying PATTERN on stderr
	local pat=$1
	shift
	if "$KVMSCOPE" replay "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"; then
		fail "accepted: $*"
	fi
	grep -q -- "$pat" "$SCRATCH/err" ||
		fail "for '$*' expected '$pat', got: $(cat "$SCRATCH/err")"
	[ -s "$SCRATCH/out" ] && fail "stdout not empty for: $*"
	nchecks=$((nchecks + 1))
}
bad 'FILE: a trace file is required' --metric vm.exits
bad 'only one trace file' "$f" "$f" --metric vm.exits
bad -- '--metric: required' "$f"
bad "unknown metric 'vm.nope'" "$f" --metric vm.nope
bad -- '--decompose: "nope" is not a field of vm.exits' "$f" -m vm.exits -d nope
bad 'at most one discrete' "$f" -m vm.exits -d vcpu,vleavereason
# An empty name in a list is a mistake, not "no field".
bad -- '--decompose: decomposition has an empty field name' "$f" \
	-m vm.exits -d vcpu,
bad -- '--decompose: decomposition has an empty field name' "$f" \
	-m vm.exits -d ''
bad -- '--predicate' "$f" -m vm.exits -p '{"eq":["vcpu",0]}'
bad -- '--predicate' "$f" -m vm.exits -p '{"eq":'
bad -- '--granularity' "$f" -m vm.exits -g 7
bad "cannot open '/nonexistent'" /nonexistent -m vm.exits
bad 'unrecognized option' "$f" -m vm.exits --bogus
head -c 4096 /bin/sh >"$SCRATCH/elf"
bad 'not a trace' "$SCRATCH/elf" -m vm.exits
bad 'cannot create' "$f" --write-record /nonexistent/dir/x.ksr
cp "$f" "$SCRATCH/in.txt"
bad 'is the input' "$SCRATCH/in.txt" --write-record "$SCRATCH/in.txt"
cmp -s "$f" "$SCRATCH/in.txt" || fail "--write-record clobbered its input"

# Two exits an hour and a bit apart: too long at 1 s, fine at 5 s.
{
	echo ' v-1 [000] ..... 10.5: kvm_exit: vcpu 0 reason io rip 0x1'
	echo ' v-1 [000] ..... 10.6: kvm_entry: vcpu 0, rip 0x1'
	echo ' v-1 [000] ..... 4000.25: kvm_exit: vcpu 0 reason hlt rip 0x2'
	echo ' v-1 [000] ..... 4000.5: kvm_entry: vcpu 0, rip 0x3'
} >"$SCRATCH/long.txt"
bad 'more than 3600 data points at granularity 1 s' "$SCRATCH/long.txt" \
	-m vm.exits
replay "$SCRATCH/long.txt" -m vm.exits -d vleavereason -g 5
printf 'hlt\t1\nio\t1\n' >"$SCRATCH/want"
expect "long trace at 5 s" "$SCRATCH/want"
grep -q 'over trace seconds \[10, 4005), granularity 5 s' "$SCRATCH/out" ||
	fail "span header: $(head -1 "$SCRATCH/out")"

# Per-second: one row per interval with data, at its start time.
replay "$SCRATCH/long.txt" -m vm.exits -d vleavereason -g 5 --per-second
printf '10\tio\t1\n4000\thlt\t1\n' >"$SCRATCH/want"
expect "per-second rows" "$SCRATCH/want"
if command -v python3 >/dev/null; then
	replay "$SCRATCH/long.txt" -m vm.exits -g 5 --per-second --json
	python3 -c '
import json, sys
pts = json.load(open(sys.argv[1]))
assert len(pts) == (4000 - 10) // 5 + 1, len(pts)
assert all(p["duration"] == 5 for p in pts)
assert [p["start_time"] for p in pts] == list(range(10, 4001, 5))
got = {p["start_time"]: p["value"] for p in pts if p["value"]}
assert got == {10: 1, 4000: 1}, got
' "$SCRATCH/out" || fail "per-second JSON"
	nchecks=$((nchecks + 1))
fi

# Subsecond offsets: ms into the second of each exit.
replay "$SCRATCH/long.txt" -m vm.exits -d subsecond -g 5 --raw
printf 'all\t248\t255\t1\nall\t496\t511\t1\n' >"$SCRATCH/want"
expect "subsecond buckets" "$SCRATCH/want"
# A heatmap PNG of exit latency: a real PNG, CA's default 600 x 300
# heatmap inside its axes and legend (t_heatmap_png.sh checks the pixels).
f=$DATA/kvm-trace-qemu-l2.virtio-window2000.txt
replay "$f" -m vm.exits -d latency --heatmap-png "$SCRATCH/h.png"
[ "$(head -c 8 "$SCRATCH/h.png" | od -An -tx1 | tr -d ' ')" = \
	89504e470d0a1a0a ] || fail "--heatmap-png wrote no PNG"
grep -q "wrote $SCRATCH/h.png (.*heatmap 600 x 300 at" "$SCRATCH/err" ||
	fail "no 'wrote' for the PNG, or not 600 x 300"
bad 'needs a numeric --decompose' "$f" -m vm.exits -d vcpu \
	--heatmap-png "$SCRATCH/h2.png"
[ -e "$SCRATCH/h2.png" ] && fail "PNG written despite the error"
echo "ok: $nchecks comparisons"
