#!/bin/bash
# bench.sh - every benchmark, measured in one run, with ratios to targets
# and peers.  Run through `make bench`, which builds the optimised binaries.
#
# Compiled benchmarks (.output/bench/bench_*) run first, then the scripted
# ones (bench/bench_*.sh).  Each prints its own `key value` lines; a
# benchmark that cannot run here (no root, no lab) says so and exits 0.
# One that fails does not stop the others, but is named at the end and
# makes the exit status 1, so a broken benchmark is never mistaken for a
# slow one.  Each prints its target or ratio lines ("target ...", "ratio
# ...", "...: target ... met / NOT met"); they are repeated at the end, one
# place to read the run against the README's "Measured" table.
set -u
cd "$(dirname "$0")/.."
export KVMSCOPE_FAST=$PWD/.output/kvmscope TOP=$PWD

shopt -s nullglob
bins=()
for b in .output/bench/bench_*; do
	[ -x "$b" ] && [[ $b != *.d ]] && bins+=("$b")
done
scripts=(bench/bench_*.sh)
if [ ${#bins[@]} -eq 0 ]; then
	echo "bench.sh: no .output/bench/bench_* binaries; run make benches" >&2
	exit 2
fi

failed=()
log=$(mktemp /tmp/kvmscope-bench.XXXXXX)
trap 'rm -f "$log"' EXIT
run() {	# NAME COMMAND...
	local name=$1 start rc
	shift
	echo "== $name"
	start=$(date +%s)
	"$@" 2>&1 | tee "$log.one"
	rc=${PIPESTATUS[0]}
	grep -iE 'target|ratio' "$log.one" | sed "s|^|$name: |" >>"$log"
	rm -f "$log.one"
	if [ $rc -ne 0 ]; then
		echo "FAILED: $name (status $rc)"
		failed+=("$name")
	fi
	echo "   ($name took $(( $(date +%s) - start ))s)"
}

for b in "${bins[@]}"; do
	run "${b##*/}" "$b"
done
for s in "${scripts[@]}"; do
	run "${s##*/}" bash "$s"
done

echo "== summary: targets and ratios"
cat "$log"
n=$(( ${#bins[@]} + ${#scripts[@]} ))
if [ ${#failed[@]} -gt 0 ]; then
	echo "bench.sh: $n benchmarks, ${#failed[@]} failed: ${failed[*]}"
	exit 1
fi
echo "bench.sh: $n benchmarks, all ran"
