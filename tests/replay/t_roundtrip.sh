#!/bin/bash
# t_roundtrip.sh - text trace -> record file -> replay gives the same answer.
#
# Each capture is converted with --write-record and both files are replayed
# with the same instrumentations (every metric, decomposed by each of its
# fields, as tables, JSON and per-second values): the outputs must be
# byte-identical.  Then the record file is damaged (a flipped byte, a cut)
# and replay must say so, keep going while records remain, and fail when
# damage left nothing usable.
. "$(dirname "$0")/lib.sh"

# Fields of each metric that a trace gives values to.
declare -A FIELDS=(
	[vm.exits]="vm pid vcpu vleavereason latency subsecond guestrip"
	[vm.irqs]="vm pid vcpu irqvector subsecond"
	[vm.apic_irqs]="vm pid vcpu irqvector deliverymode subsecond"
	[vm.userspace_exits]="vm pid vcpu uexitreason"
	[vm.pio_ops]="vm pid vcpu port direction size"
	[vm.mmio_ops]="vm pid vcpu gpa direction size"
)

same() {	# NAME ARGS...: replays text and record file with ARGS, compares
	local name=$1
	shift
	replay "$txt" "$@"
	mv "$SCRATCH/out" "$SCRATCH/out.txt"
	replay "$rec" "$@"
	if ! cmp -s "$SCRATCH/out.txt" "$SCRATCH/out"; then
		diff -u "$SCRATCH/out.txt" "$SCRATCH/out" | head -20
		fail "$name: record file replay differs from text replay"
	fi
	[ -s "$SCRATCH/out" ] || fail "$name: empty output"
	nchecks=$((nchecks + 1))
}

for cap in $CAPTURES; do
	txt=$DATA/$cap
	rec=$SCRATCH/$cap.ksr

	# Convert only (no --metric): nothing on stdout, the file written.
	replay "$txt" --write-record "$rec"
	[ -s "$SCRATCH/out" ] && fail "$cap: conversion printed a value"
	grep -q "wrote $rec" "$SCRATCH/err" || fail "$cap: no 'wrote' line"
	head -c 8 "$rec" | od -An -tx1 | grep -q '89 4b 53 52 0d 0a 1a 0a' ||
		fail "$cap: record file without its magic"

	for m in "${!FIELDS[@]}"; do
		same "$cap $m" --metric "$m"
		for fld in ${FIELDS[$m]}; do
			same "$cap $m by $fld" --metric "$m" --decompose "$fld"
		done
	done
	same "$cap exits json" --metric vm.exits -d vleavereason,latency --json
	same "$cap exits per second" --metric vm.exits -d vcpu --per-second
	same "$cap exits per second json" --metric vm.exits -d latency \
		--per-second --json
	same "$cap predicate" --metric vm.exits -d vleavereason \
		-p '{"and":[{"eq":["vcpu","0"]},{"ge":["latency",1000]}]}'
done

# Re-converting a record file gives the same records.
txt=$DATA/kvm-trace-all-events.txt
rec=$SCRATCH/kvm-trace-all-events.txt.ksr
replay "$rec" --write-record "$SCRATCH/again.ksr"
txt=$rec rec=$SCRATCH/again.ksr
same "record file re-written" --metric vm.exits -d vleavereason

# Damage: a flipped byte in the middle is reported.  The capture's
# records fill one block, so nothing usable is left: replay must fail
# rather than print an empty answer with status 0.
rec=$SCRATCH/kvm-trace-qemu-l2.head3000.txt.ksr
size=$(stat -c %s "$rec")
cp "$rec" "$SCRATCH/bad.ksr"
printf '\xff' | dd of="$SCRATCH/bad.ksr" bs=1 seek=$((size / 2)) \
	conv=notrunc status=none
if "$KVMSCOPE" replay "$SCRATCH/bad.ksr" --metric vm.exits \
	>"$SCRATCH/out" 2>"$SCRATCH/err"; then
	fail "a record file whose only records block is damaged replayed with status 0"
fi
grep -q 'damaged block at offset' "$SCRATCH/err" ||
	fail "flipped byte not reported: $(cat "$SCRATCH/err")"
grep -q 'no usable record' "$SCRATCH/err" ||
	fail "no 'no usable record' in: $(cat "$SCRATCH/err")"
# A cut file (its end block lost, its records whole) is reported as
# truncated and still replays.
head -c $((size - 10)) "$rec" >"$SCRATCH/cut.ksr"
replay "$SCRATCH/cut.ksr" --metric vm.exits
grep -q 'truncated' "$SCRATCH/err" ||
	fail "truncation not reported: $(cat "$SCRATCH/err")"
grep -Eq '[1-9]' "$SCRATCH/out" || fail "the cut file gave no values"
# A newer version is refused with a clear error.
cp "$rec" "$SCRATCH/v9.ksr"
printf '\x09' | dd of="$SCRATCH/v9.ksr" bs=1 seek=8 conv=notrunc status=none
if "$KVMSCOPE" replay "$SCRATCH/v9.ksr" --metric vm.exits \
	>"$SCRATCH/out" 2>"$SCRATCH/err"; then
	fail "a version 9 record file was accepted"
fi
grep -q 'version 9' "$SCRATCH/err" || fail "no version in: $(cat "$SCRATCH/err")"
[ -s "$SCRATCH/out" ] && fail "output despite the error"
echo "ok: $nchecks comparisons"
