# lib.sh - shared by the replay script tests (sourced, not run).
#
# Sets up $KVMSCOPE and $TOP as scripts/run-tests.sh exports them (with
# fallbacks for running a test by hand), a scratch directory removed on
# exit, and helpers to run a replay and compare its table with one an
# independent awk program computed from the same trace.

set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
KVMSCOPE=${KVMSCOPE:-$TOP/.output-asan/kvmscope}
DATA=$TOP/tests/data
AWKLIB=$TOP/tests/replay/kvm.awk
CAPTURES="kvm-trace-all-events.txt kvm-trace-qemu-l2.head3000.txt
kvm-trace-qemu-l2.virtio-window2000.txt"

if [ ! -x "$KVMSCOPE" ]; then
	echo "no kvmscope binary at $KVMSCOPE (build it first)"
	exit 1
fi
SCRATCH=$(mktemp -d /tmp/kvmscope-replay.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
nchecks=0

fail() {
	echo "FAIL: $*"
	exit 1
}

# replay ARGS...: runs kvmscope replay; stdout to $SCRATCH/out, stderr to
# $SCRATCH/err; fails the test on a non-zero exit.
replay() {
	if ! "$KVMSCOPE" replay "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"; then
		cat "$SCRATCH/err"
		fail "kvmscope replay $* exited non-zero"
	fi
}

# table: the replay's text table without its header, columns trimmed,
# tab-separated, sorted: comparable with what the awk programs print.
table() {
	grep -v '^#' "$SCRATCH/out" |
		awk -F'\t' -v OFS='\t' '{
			for (i = 1; i <= NF; i++)
				gsub(/^ +| +$/, "", $i)
			$1 = $1
			print
		}' | LC_ALL=C sort
}

# expect NAME FILE: compares the replay's table with FILE (already in the
# same form), failing with a diff.
expect() {
	local name=$1 want=$2
	table >"$SCRATCH/cmp.got"
	LC_ALL=C sort "$want" >"$SCRATCH/cmp.want"
	if [ ! -s "$SCRATCH/cmp.want" ]; then
		fail "$name: the awk reference is empty (nothing to compare)"
	fi
	if ! diff -u "$SCRATCH/cmp.want" "$SCRATCH/cmp.got"; then
		fail "$name: kvmscope (+) differs from awk (-)"
	fi
	nchecks=$((nchecks + 1))
}

# kawk PROGRAM FILE...: awk with the trace-parsing library (kvm.awk).
kawk() {
	printf '%s\n' "$1" >"$SCRATCH/prog.awk"
	shift
	awk -f "$AWKLIB" -f "$SCRATCH/prog.awk" "$@"
}
