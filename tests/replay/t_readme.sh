#!/bin/bash
# t_readme.sh - every `replay` example in README.md prints something.
#
# The examples are read from the README itself (continuation lines
# joined), $K is the binary under test and /tmp/ paths go to the scratch
# directory; each must exit 0 and print at least one data line (not only
# the '#' header) on stdout.  An example whose input is the reader's own
# file (perf.data: no kvm perf.data can be recorded here) is named, not
# run; every other input is in the tree or made by an earlier example.
. "$(dirname "$0")/lib.sh"

cd "$TOP" || fail "no $TOP"
sed -e ':a' -e '/\\$/N; s/\\\n *//; ta' README.md |
	grep -E '^\$K replay ' | sed "s#/tmp/#$SCRATCH/#g" >"$SCRATCH/examples"
n=$(wc -l <"$SCRATCH/examples")
[ "$n" -ge 5 ] || fail "only $n replay examples found in README.md"
while IFS= read -r cmd; do
	cmd=${cmd%%#*}
	read -r _ _ input _ <<<"$cmd"
	if [ "$input" = perf.data ]; then
		echo "not run (the reader's own file): $cmd"
		continue
	fi
	[ -e "$input" ] || fail "README example reads a missing file: $cmd"
	if ! K=$KVMSCOPE eval "\"\$K\" ${cmd#\$K }" >"$SCRATCH/out" \
		2>"$SCRATCH/err"; then
		cat "$SCRATCH/err"
		fail "README example failed: $cmd"
	fi
	grep -qv '^#' "$SCRATCH/out" ||
		fail "README example printed nothing: $cmd ($(tail -2 "$SCRATCH/err"))"
	nchecks=$((nchecks + 1))
done <"$SCRATCH/examples"
[ -s "$SCRATCH/latency.png" ] || fail "the heatmap example wrote no PNG"
echo "ok: $nchecks examples"
