#!/bin/bash
# run-all.sh - the lab's tests, one after another, with a wall time each.
#
#   tests/lab/run-all.sh           every tests/lab/t_*.sh (what `make check`
#                                  runs of the lab), then a summary line
#   tests/lab/run-all.sh --full    also tests/lab/full_*.sh (too long for
#                                  make check) and the scenarios no test covers
#                                  (stress 40 rounds, and any other
#                                  scenario), each through run-l1.sh
#
# Ends with "N passed, N failed, N skipped" and a non-zero status if any
# failed.  Uses KVMSCOPE (default: the ASan build if present, else
# .output/kvmscope) for host-side replays.
set -u
LAB=$(cd "$(dirname "$0")" && pwd)
export TOP=${TOP:-$(cd "$LAB/../.." && pwd)}
FULL=0
[ "${1:-}" = --full ] && FULL=1
pass=0 fail=0 skip=0
log=$(mktemp -d /tmp/lab-all.XXXXXX)
trap 'rm -rf "$log"' EXIT

report() {	# name rc secs outfile
	case $2 in
	0) pass=$((pass + 1)); printf 'ok   %-28s %4ss\n' "$1" "$3";;
	77) skip=$((skip + 1)); printf 'SKIP %-28s %4ss  %s\n' "$1" "$3" "$(tail -1 "$4")";;
	*) fail=$((fail + 1)); printf 'FAIL %-28s %4ss  (rc %s)\n' "$1" "$3" "$2"
	   tail -30 "$4" | sed 's/^/     | /';;
	esac
}

covered=""
for t in "$LAB"/t_*.sh; do
	n=$(basename "$t")
	s=$(date +%s)
	bash "$t" > "$log/out" 2>&1
	report "$n" $? $(( $(date +%s) - s )) "$log/out"
	covered="$covered $(grep -o -E 'lab_(run|boot) [a-z0-9-]+|run-l1.sh" [a-z0-9-]+' "$t" | awk '{ print $2 }')"
done
if [ $FULL = 1 ]; then
	# Tests too long for make check's 10-minute lab budget.
	for t in "$LAB"/full_*.sh; do
		[ -f "$t" ] || continue
		n=$(basename "$t")
		s=$(date +%s)
		bash "$t" > "$log/out" 2>&1
		report "$n" $? $(( $(date +%s) - s )) "$log/out"
		covered="$covered $(grep -o -E 'lab_(run|boot) [a-z0-9-]+|run-l1.sh" [a-z0-9-]+' "$t" | awk '{ print $2 }')"
	done
	# Scenarios the tests' helpers boot (picturelib.sh: pictures-l1).
	covered="$covered $(cat "$LAB"/*lib.sh | grep -o -E 'lab_(run|boot) [a-z0-9-]+|run-l1.sh" [a-z0-9-]+' | awk '{ print $2 }')"
	for f in "$LAB"/scenarios/*.sh; do
		sc=$(basename "$f" .sh)
		case " $(echo $covered) " in *" $sc "*) continue;; esac
		args=""
		[ "$sc" = stress ] && args=40
		s=$(date +%s)
		bash "$LAB/run-l1.sh" "$sc" $args > "$log/out" 2>&1
		report "scenario $sc" $? $(( $(date +%s) - s )) "$log/out"
	done
fi
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
