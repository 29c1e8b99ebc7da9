#!/bin/bash
# bench_replay.sh - replay throughput against awk on the same trace.
#
# Builds nothing: takes the optimised binary from $KVMSCOPE_FAST.  The
# trace is the real captures' kvm_exit lines (tests/data), repeated with
# shifted timestamps to about 2M lines (BENCH_REPLAY_LINES to change).
# `kvmscope replay --metric vm.exits --decompose vleavereason` is timed
# against the awk one-liner a user would otherwise write to count exit
# reasons; both answers are compared, then lines per second are printed:
# replay_lines_per_s, awk_lines_per_s and their ratio, each from the
# lowest CPU time (user + system, of the command and its children) of 3
# alternating runs: on a shared host, wall time mostly measures the others.
# Target: replay >= 10x awk.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
KVMSCOPE_FAST=${KVMSCOPE_FAST:-$TOP/.output/kvmscope}
LINES=${BENCH_REPLAY_LINES:-2000000}
DATA=$TOP/tests/data

if [ ! -x "$KVMSCOPE_FAST" ]; then
	echo "bench_replay: no binary at $KVMSCOPE_FAST (run make)" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/kvmscope-bench-replay.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trace=$tmp/trace.txt

# The exit lines, re-timed at 2000 per second from trace second 100.
grep -h ' kvm_exit: ' "$DATA"/kvm-trace-*.txt >"$tmp/exits"
awk -v n="$LINES" '
{ line[NR] = $0 }
END {
	for (i = 0; i < n; i++) {
		l = line[i % NR + 1]
		match(l, /[0-9]+\.[0-9]+: kvm_exit:/)
		t = 100 + i * 0.0005
		printf "%s%d.%06d: kvm_exit:%s\n", substr(l, 1, RSTART - 1),
		       int(t), (i % 2000) * 500, substr(l, RSTART + RLENGTH)
	}
}' "$tmp/exits" >"$trace"
nlines=$(wc -l <"$trace")
cat "$trace" >/dev/null	# both runs start from the page cache

calc() { awk "BEGIN { printf \"$1\\n\", $2 }"; }	# FORMAT EXPR
# cpu OUT COMMAND...: CPU seconds (user + system) of COMMAND, stdout to OUT.
cpu() {
	local out=$1 t
	shift
	t=$( { TIMEFORMAT='%3U %3S'; time "$@" >"$out" 2>"$tmp/err"; } 2>&1 ) ||
		{ cat "$tmp/err" >&2; exit 1; }
	calc %.3f "${t% *} + ${t#* }"
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }

count_awk() {
	awk '/ kvm_exit: / {
		for (i = 1; i <= NF; i++)
			if ($i == "reason") { c[$(i + 1)]++; break }
	} END { for (k in c) print k, c[k] }' "$trace"
}
t_replay= t_awk=
for _ in 1 2 3; do
	t_replay=$(min "$t_replay" "$(cpu "$tmp/out.replay" "$KVMSCOPE_FAST" replay \
		"$trace" --metric vm.exits --decompose vleavereason)")
	t_awk=$(min "$t_awk" "$(cpu "$tmp/out.awk" count_awk)")
done
grep -v '^#' "$tmp/out.replay" | awk -F'\t' '{ gsub(/ /, ""); print $1, $2 }' |
	sort >"$tmp/replay.counts"
sort "$tmp/out.awk" >"$tmp/awk.counts"
if ! cmp -s "$tmp/replay.counts" "$tmp/awk.counts"; then
	echo "bench_replay: replay and awk disagree:" >&2
	diff "$tmp/awk.counts" "$tmp/replay.counts" >&2
	exit 1
fi

awkname=$(awk --version 2>/dev/null | head -1 | cut -d, -f1)
echo "lines $nlines ($(du -m "$trace" | cut -f1) MB), awk is ${awkname:-awk}"
echo "replay_cpu_s $t_replay"
echo "awk_cpu_s $t_awk"
echo "replay_lines_per_s $(calc %.0f "$nlines / $t_replay")"
echo "awk_lines_per_s $(calc %.0f "$nlines / $t_awk")"
r=$(calc %.2f "$t_awk / $t_replay")
echo "ratio $r (replay speed / awk speed, CPU time, best of 3 each)"
echo "replay: target >= 10x awk: $(awk -v r="$r" 'BEGIN { print r >= 10 ? "met" : "NOT met" }')"
