#!/bin/bash
# t_formats.sh - the same trace in other layouts gives the same answer.
#
# The kvmtest capture is rewritten with sed/awk into the layouts other
# tools and kernels print - trace-cmd report (no flags column), the
# record-tgid column, CRLF line ends, stdin, and 5.10's kvm_exit without
# "vcpu N" - and with junk lines spliced in; replay must agree with the
# original (or, where identity changes, with awk), and must report the junk
# lines by number.
. "$(dirname "$0")/lib.sh"

orig=$DATA/kvm-trace-all-events.txt
ARGS=(--metric vm.exits --decompose vleavereason,latency)

replay "$orig" "${ARGS[@]}"
cp "$SCRATCH/out" "$SCRATCH/base"
agree() {	# NAME: the last replay's stdout equals the original's
	if ! cmp -s "$SCRATCH/base" "$SCRATCH/out"; then
		diff -u "$SCRATCH/base" "$SCRATCH/out" | head -20
		fail "$1: differs from the original layout"
	fi
	nchecks=$((nchecks + 1))
}

# trace-cmd report: no flags column, event names padded.
sed -E 's/^( *.+-[0-9]+ +\[[0-9]+\]) [^ ]+ /\1 /; s/: (kvm_[a-z_]+): /: \1:      /' \
	"$orig" >"$SCRATCH/tc.txt"
grep -q '\] *[0-9.]*: kvm_exit:      vcpu' "$SCRATCH/tc.txt" ||
	fail "the trace-cmd rewrite did not apply"
replay "$SCRATCH/tc.txt" "${ARGS[@]}"
agree "trace-cmd layout"
# trace-cmd report's own lines before the events: the CPU count and, for
# each CPU that recorded nothing, "CPU N is empty".  Not events, not junk.
{ printf 'cpus=4\nCPU 2 is empty\nCPU 3 is empty\n'; grep -v '^#' \
	"$SCRATCH/tc.txt"; } >"$SCRATCH/tc-head.txt"
replay "$SCRATCH/tc-head.txt" "${ARGS[@]}"
agree "trace-cmd report header lines"
grep -q ' 0 malformed$' "$SCRATCH/err" ||
	fail "trace-cmd header lines counted as malformed: $(cat "$SCRATCH/err")"

# CRLF, and reading stdin.
sed 's/$/\r/' "$orig" >"$SCRATCH/crlf.txt"
replay "$SCRATCH/crlf.txt" "${ARGS[@]}"
agree "CRLF line ends"
if ! "$KVMSCOPE" replay - "${ARGS[@]}" <"$orig" >"$SCRATCH/out" \
	2>"$SCRATCH/err"; then
	fail "reading stdin"
fi
agree "stdin"

# record-tgid: every thread of kvmtest belongs to process 332.
sed -E 's/^( *.+-[0-9]+) +(\[[0-9]+\])/\1 (    332) \2/' "$orig" \
	>"$SCRATCH/tgid.txt"
replay "$SCRATCH/tgid.txt" "${ARGS[@]}"
agree "record-tgid layout"
kawk 'parse($0) && EVENT == "kvm_exit" { n++ }
END { printf "332\t%d\n", n }' "$orig" >"$SCRATCH/want"
replay "$SCRATCH/tgid.txt" --metric vm.exits --decompose pid
expect "record-tgid: pid is the tgid" "$SCRATCH/want"
kawk 'parse($0) && EVENT == "kvm_exit" { n[TID]++ }
END { for (k in n) printf "%s\t%d\n", k, n[k] }' "$orig" >"$SCRATCH/want"
replay "$orig" --metric vm.exits --decompose pid
expect "no tgid: pid is the tid" "$SCRATCH/want"

# Junk lines at known places: counted, numbered, and harmless.
awk 'NR == 20 || NR == 3000 || NR == 3001 { print "garbage line " NR }
     { print }' "$orig" >"$SCRATCH/junk.txt"
replay "$SCRATCH/junk.txt" "${ARGS[@]}"
agree "junk lines"
grep -q '3 malformed' "$SCRATCH/err" || fail "junk not counted: $(cat "$SCRATCH/err")"
grep -q 'first at line 20, 3001, 3003$' "$SCRATCH/err" ||
	fail "junk line numbers wrong: $(cat "$SCRATCH/err")"

# 5.10's kvm_exit has no vcpu: each exit takes the vcpu of the entry
# before it on its thread (awk does the same attribution).
sed -E 's/kvm_exit: vcpu [0-9]+ reason/kvm_exit: reason/' "$orig" \
	>"$SCRATCH/old.txt"
replay "$SCRATCH/old.txt" "${ARGS[@]}"
agree "kvm_exit without vcpu"
kawk '
!parse($0) { next }
EVENT == "kvm_entry" { last[TID] = printed_vcpu(FIELDS) }
EVENT == "kvm_exit" && (TID in last) { n[last[TID]]++ }
END { for (k in n) printf "%s\t%d\n", k, n[k] }' "$SCRATCH/old.txt" \
	>"$SCRATCH/want"
replay "$SCRATCH/old.txt" --metric vm.exits --decompose vcpu
expect "kvm_exit without vcpu: vcpu from the entry" "$SCRATCH/want"
echo "ok: $nchecks comparisons"
