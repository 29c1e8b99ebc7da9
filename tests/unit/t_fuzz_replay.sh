#!/bin/bash
# t_fuzz_replay.sh - every fuzz target replays its kept inputs.
#
# `make tests` builds each fuzz/fuzz_*.c with fuzz/replay_main.c (no
# libFuzzer) into $O/fuzz/ (the ASan+UBSan build in `make check`); this runs
# every file of fuzz/corpus/<target>/ (the seeds, and the crash inputs kept
# as regression tests) through its target once.  Any sanitizer report, a
# crash, or a target without inputs fails.  Fuzzing itself (new inputs) is
# `make fuzz`.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
O=$(dirname "${KVMSCOPE:-$TOP/.output-asan/kvmscope}")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fails=0 n=0
for src in "$TOP"/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	bin=$O/fuzz/$name
	corpus=$TOP/fuzz/corpus/$name
	[ -x "$bin" ] || { echo "FAIL: $bin not built (make tests)"; fails=$((fails + 1)); continue; }
	[ -d "$corpus" ] || { echo "FAIL: $name has no $corpus"; fails=$((fails + 1)); continue; }
	if out=$(timeout 120 "$bin" "$corpus" 2>&1); then
		echo "ok   $(echo "$out" | tail -1 | sed "s|.*/||")"
		n=$((n + 1))
	else
		echo "FAIL: $name on its corpus:"; echo "$out" | tail -30
		fails=$((fails + 1))
	fi
done
[ "$fails" -eq 0 ] || exit 1
echo "fuzz replay ok: $n targets"
