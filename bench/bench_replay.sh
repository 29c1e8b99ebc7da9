#!/bin/bash
# bench_replay.sh - replay throughput against awk on the same trace.
#
# Builds nothing: takes the optimised binary from $KVMSCOPE_FAST.  The
# trace is the real captures' kvm_exit lines (tests/data), repeated with
# shifted timestamps to about 2M lines (BENCH_REPLAY_LINES to change).
# `kvmscope replay --metric vm.exits --decompose vleavereason` is timed
# against the awk one-liner a user would otherwise write to count exit
# reasons; both answers are compared, then lines per second are printed:
# replay_lines_per_s, awk_lines_per_s and their ratio (best of 3 runs).
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
best() {	# COMMAND...: best wall time of 3 runs (s), output to $tmp/out
	local b="" t0 t1
	for _ in 1 2 3; do
		t0=$(date +%s%N)
		"$@" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
		t1=$(date +%s%N)
		if [ -z "$b" ] || [ $((t1 - t0)) -lt "$b" ]; then
			b=$((t1 - t0))
		fi
	done
	calc %.3f "$b / 1e9"
}

t_replay=$(best "$KVMSCOPE_FAST" replay "$trace" --metric vm.exits \
	--decompose vleavereason)
grep -v '^#' "$tmp/out" | awk -F'\t' '{ gsub(/ /, ""); print $1, $2 }' |
	sort >"$tmp/replay.counts"
t_awk=$(best awk '/ kvm_exit: / {
	for (i = 1; i <= NF; i++)
		if ($i == "reason") { c[$(i + 1)]++; break }
} END { for (k in c) print k, c[k] }' "$trace")
sort "$tmp/out" >"$tmp/awk.counts"
if ! cmp -s "$tmp/replay.counts" "$tmp/awk.counts"; then
	echo "bench_replay: replay and awk disagree:" >&2
	diff "$tmp/awk.counts" "$tmp/replay.counts" >&2
	exit 1
fi

awkname=$(awk --version 2>/dev/null | head -1 | cut -d, -f1)
echo "lines $nlines ($(du -m "$trace" | cut -f1) MB), awk is ${awkname:-awk}"
echo "replay_s $t_replay"
echo "awk_s $t_awk"
echo "replay_lines_per_s $(calc %.0f "$nlines / $t_replay")"
echo "awk_lines_per_s $(calc %.0f "$nlines / $t_awk")"
echo "ratio $(calc %.2f "$t_awk / $t_replay") (replay speed / awk speed)"
