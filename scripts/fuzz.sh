#!/bin/bash
# fuzz.sh - runs every libFuzzer target for SECONDS, then replays the corpora.
#
# usage: scripts/fuzz.sh SECONDS
#
# Each .output-fuzz/fuzz_<name> binary (built by `make fuzz-build`) fuzzes
# for SECONDS starting from a temporary copy of fuzz/corpus/fuzz_<name>/, so
# the inputs it discovers never grow the repository.  Then every file kept
# in the corpus directories (the seeds, and the crash inputs kept as
# regression tests) is run once through its target.  A crash found while
# fuzzing is saved as fuzz/crash-* (ignored by git: move it into the corpus
# once fixed).  Exit status: 0 when nothing crashed, 1 otherwise.
set -u
cd "$(dirname "$0")/.."

if [ $# -ne 1 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
	echo "usage: $0 SECONDS" >&2
	exit 2
fi
secs=$1

shopt -s nullglob
bins=(.output-fuzz/fuzz_*)
if [ ${#bins[@]} -eq 0 ]; then
	echo "fuzz.sh: no .output-fuzz/fuzz_* binaries; run make fuzz-build" >&2
	exit 2
fi

tmp=$(mktemp -d /tmp/kvmscope-fuzz.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for bin in "${bins[@]}"; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	corpus=fuzz/corpus/$name
	work=$tmp/$name
	mkdir -p "$work"
	if [ -d "$corpus" ]; then
		cp -r "$corpus"/. "$work"/
	else
		echo "fuzz.sh: $name has no $corpus/, starting empty" >&2
	fi

	if [ "$secs" -gt 0 ]; then
		echo "== $name: fuzzing ${secs}s"
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix=fuzz/ \
			"$work" >"$tmp/$name.log" 2>&1
		rc=$?
		grep -E '^#[0-9]+[[:space:]]+DONE' "$tmp/$name.log" | tail -1
		if [ $rc -ne 0 ]; then
			echo "FAIL $name: fuzzing stopped with status $rc"
			tail -40 "$tmp/$name.log"
			failed+=("$name")
			continue
		fi
	fi

	files=("$corpus"/*)
	if [ ${#files[@]} -eq 0 ]; then
		echo "== $name: no regression inputs"
		continue
	fi
	echo "== $name: replaying ${#files[@]} inputs from $corpus"
	if ! "$bin" -timeout=10 "${files[@]}" >"$tmp/$name.replay" 2>&1; then
		echo "FAIL $name: a corpus input crashes"
		tail -40 "$tmp/$name.replay"
		failed+=("$name")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz.sh: failed: ${failed[*]}"
	exit 1
fi
echo "fuzz.sh: all targets clean"
