#!/bin/bash
# run-tests.sh - runs every test and ends with "N passed, N failed".
#
# Unit tests (cmocka) run in the normal and the ASan+UBSan builds; each
# cmocka case counts once per build.  Script tests (tests/*/t_*.sh) run the
# sanitizer build of the binary against real inputs; they exit 0 to pass,
# 77 to skip (printing why on their last line) and anything else to fail.
# A skip counts as a failure unless tests/skip-allow.txt names the test and
# its reason: a skip is for a capability the machine lacks, and a reason
# nobody listed may be a failure of ours dressed as one.
set -u
cd "$(dirname "$0")/.."

pass=0 fail=0 skip=0
failed=()
log=$(mktemp -d /tmp/kvmscope-tests.XXXXXX)
trap 'rm -rf "$log"' EXIT

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_unit() {	# binary
	local b=$1 name out p f
	name=${b#./}
	out="$log/unit.out"
	"$b" >"$out" 2>&1
	local rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	p=${p:-0} f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	pass=$((pass + p)) fail=$((fail + f))
	if [ "$f" -ne 0 ]; then
		failed+=("$name")
		echo "FAIL $name"; cat "$out"
	else
		echo "ok   $name ($p cases)"
	fi
}

for b in .output/tests/test_* .output-asan/tests/test_*; do
	[ -x "$b" ] && run_unit "$b"
done

. scripts/skip-allowed.sh

export KVMSCOPE=${KVMSCOPE:-$PWD/.output-asan/kvmscope}
export KVMSCOPE_FAST=$PWD/.output/kvmscope
export TOP=$PWD
for t in tests/*/t_*.sh; do
	[ -f "$t" ] || continue
	out="$log/script.out"
	start=$(date +%s)
	# A test may ask for more than 900 s ("# test-timeout: N").
	limit=$(sed -n 's/^# test-timeout: *\([0-9]*\)$/\1/p' "$t" | head -1)
	timeout "${limit:-900}" bash "$t" >"$out" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); echo "ok   $t (${secs}s)";;
	77) why=$(tail -1 "$out")
	    if skip_allowed "$t" "$why"; then
		skip=$((skip + 1)); echo "SKIP $t: $why"
	    else
		fail=$((fail + 1)); failed+=("$t")
		echo "FAIL $t: skipped for a reason tests/skip-allow.txt" \
		     "does not allow: $why"
	    fi;;
	*) fail=$((fail + 1)); failed+=("$t"); echo "FAIL $t (rc $rc)"
	   tail -40 "$out";;
	esac
done

[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
