#!/bin/bash
# t_readme.sh - every `replay` example in README.md prints something.
#
# The examples are read from the README itself (continuation lines
# joined), $K is the binary under test and /tmp/ paths go to the scratch
# directory; each must exit 0 and print at least one data line (not only
# the '#' header) on stdout.
. "$(dirname "$0")/lib.sh"

cd "$TOP" || fail "no $TOP"
sed -e ':a' -e '/\\$/N; s/\\\n *//; ta' README.md |
	grep -E '^\$K replay ' | sed "s#/tmp/#$SCRATCH/#g" >"$SCRATCH/examples"
n=$(wc -l <"$SCRATCH/examples")
[ "$n" -ge 5 ] || fail "only $n replay examples found in README.md"
while IFS= read -r cmd; do
	cmd=${cmd%%#*}
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
