#!/bin/sh
# slowdown-summary.sh - medians and slowdowns of bpf-slowdown's rates.
#
#   slowdown-summary.sh RATES N [KERNEL]
#
# RATES holds "round config exits/s" lines (scenarios/bpf-slowdown.sh
# writes them; bench/bench_lab_slowdown.sh joins those of several L1 boots
# when one hung).  Prints, per configuration, the median exits/s and its
# slowdown against none's median, and the median of the per-round
# slowdowns (each against the same round's none, minutes apart at most:
# less exposed to the drift of a busy host), with every round's rate.
# Used in L1 and on the host alike, so that both say the same thing.
# KERNEL is L1's (uname -r there, the default).  Fails without a baseline (no "none" rate).
set -u
RATES=$1 N=$2 KERNEL=${3:-$(uname -r)}
CONFIGS="none kvmscope kvmscope-tp perf bpftrace kvmscope-lat bpftrace-lat"
tmp=$(mktemp -d /tmp/slowdown-summary.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for c in $CONFIGS; do
	awk -v c=$c '$2 == c { print $3 }' "$RATES" | sort -n |
		awk -v c=$c 'NR { v[NR] = $1 } END { if (!NR) exit
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%s %.0f", c, m
			for (i = 1; i <= NR; i++) printf " %s", v[i]
			printf "\n" }'
done > "$tmp/medians"
none=$(awk '$1 == "none" { print $2 }' "$tmp/medians")
[ -n "$none" ] && [ "$none" -gt 0 ] || { echo "slowdown-summary: no baseline rate in $RATES" >&2; exit 1; }
# Per-round slowdowns against that round's none.
awk 'NR == FNR { if ($2 == "none") base[$1] = $3; next }
     base[$1] > 0 { print $2, 100 * (1 - $3 / base[$1]) }' "$RATES" "$RATES" |
	sort -k1,1 -k2n > "$tmp/paired"
rounds=$(awk '{ print $1 }' "$RATES" | sort -u | wc -l)
echo "kvmtest -n $N -i 64 (userspace exits/s), $rounds rounds, L1 $KERNEL under TCG"
for c in $CONFIGS; do
	p=$(awk -v c=$c '$1 == c { v[++n] = $2 } END {
		if (!n) { print "-"; exit }
		printf "%.1f", n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		}' "$tmp/paired")
	awk -v c=$c -v none="$none" -v p="$p" '$1 == c {
		printf "%-12s median %6d exits/s  slowdown %5.1f%%  paired %5s%%  runs:",
			$1, $2, (none > 0 ? 100 * (1 - $2 / none) : 0), p
		for (i = 3; i <= NF; i++) printf " %s", $i
		printf "\n" }' "$tmp/medians"
done
