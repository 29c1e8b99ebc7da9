#!/bin/bash
# bench.sh - every benchmark, measured in one run, with ratios to targets
# and peers.  Run through `make bench`, which builds the optimised binaries.
set -u
cd "$(dirname "$0")/.."
export KVMSCOPE_FAST=$PWD/.output/kvmscope TOP=$PWD
for b in .output/bench/bench_*; do
	[ -x "$b" ] || continue
	echo "== ${b##*/}"
	"$b" || echo "FAILED: $b"
done
for s in bench/bench_*.sh; do
	[ -f "$s" ] || continue
	echo "== ${s##*/}"
	bash "$s" || echo "FAILED: $s"
done
