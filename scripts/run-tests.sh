#!/bin/bash
# run-tests.sh - runs every test and ends with "N passed, N failed".
#
# Unit tests (cmocka) run in the normal and the ASan+UBSan builds; each
# cmocka case counts once per build.  Script tests (tests/*/t_*.sh) run the
# sanitizer build of the binary against real inputs; they exit 0 to pass,
# 77 to skip (printing why on their last line) and anything else to fail.
# A skip counts as a failure unless tests/skip-allow.txt names the test and
# its reason: a skip is for a capability the machine lacks, and a reason
# nobody listed may be a failure of ours dressed as one.  Script tests
# that only replay traces into their own agents run beside the ones that
# watch the host; the nested lab's run last, alone (see the groups below).
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

# run_script TEST DIR: runs one script test, its output in DIR/NAME.out
# and "STATUS SECONDS [REASON]" in DIR/NAME.st.
run_script() {
	local t=$1 d=$2 name start limit rc
	name=$(echo "$t" | tr / _)
	start=$(date +%s)
	# A test may ask for more than 900 s ("# test-timeout: N").
	limit=$(sed -n 's/^# test-timeout: *\([0-9]*\)$/\1/p' "$t" | head -1)
	timeout "${limit:-900}" bash "$t" >"$d/$name.out" 2>&1
	rc=$?
	echo "$rc $(( $(date +%s) - start ))" > "$d/$name.st"
}

# report TEST DIR: counts and prints one test's result.
report() {
	local t=$1 d=$2 name rc secs why
	name=$(echo "$t" | tr / _)
	read -r rc secs < "$d/$name.st"
	case $rc in
	0) pass=$((pass + 1)); echo "ok   $t (${secs}s)";;
	77) why=$(tail -1 "$d/$name.out")
	    if skip_allowed "$t" "$why"; then
		skip=$((skip + 1)); echo "SKIP $t: $why"
	    else
		fail=$((fail + 1)); failed+=("$t")
		echo "FAIL $t: skipped for a reason tests/skip-allow.txt" \
		     "does not allow: $why"
	    fi;;
	*) fail=$((fail + 1)); failed+=("$t"); echo "FAIL $t (rc $rc, ${secs}s)"
	   tail -40 "$d/$name.out";;
	esac
}

# Three groups, so that 2 cores are kept busy and timing-sensitive tests
# run alone:
#  - alone: the nested lab (tests/lab/: QEMU TCG with real KVM inside,
#    whose timings a second test's load would stretch), last, one at a
#    time;
#  - host: tests that watch this host's processes, BPF programs, QEMUs
#    or a browser's timing (tests/bpf, source, vm, web, packaging,
#    cli/t_check.sh, http/t_live.sh, fleet/t_fleet_ui.sh), one at a time;
#  - beside them, at the same time: tests that only replay recorded
#    traces into their own agents on free ports (the rest), one at a time.
# RUN_TESTS_SERIAL=1 runs everything one at a time.
alone=() host=() beside=()
for t in tests/*/t_*.sh; do
	[ -f "$t" ] || continue
	case $t in
	tests/lab/*) alone+=("$t");;
	tests/bpf/*|tests/source/*|tests/vm/*|tests/web/*|tests/packaging/*|\
	tests/cli/t_check.sh|tests/http/t_live.sh|tests/fleet/t_fleet_ui.sh)
		host+=("$t");;
	# Replay-only, but long: it evens the two lanes (about 10 min each).
	tests/http/t_auth.sh) host+=("$t");;
	*) beside+=("$t");;
	esac
done
mkdir -p "$log/host" "$log/beside" "$log/alone"
if [ "${RUN_TESTS_SERIAL:-0}" = 1 ]; then
	for t in "${host[@]}" "${beside[@]}"; do
		run_script "$t" "$log/host"
		report "$t" "$log/host"
	done
else
	( for t in "${beside[@]}"; do run_script "$t" "$log/beside"; done ) &
	bpid=$!
	for t in "${host[@]}"; do
		run_script "$t" "$log/host"
		report "$t" "$log/host"
	done
	wait $bpid
	for t in "${beside[@]}"; do report "$t" "$log/beside"; done
fi
for t in "${alone[@]}"; do
	run_script "$t" "$log/alone"
	report "$t" "$log/alone"
done

[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
