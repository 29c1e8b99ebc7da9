#!/bin/bash
# t_vcpus.sh - the vm_vcpus source reports each VM's vCPU count per second.
#
# Starts two real QEMU guests under TCG (no KVM needed, CPUs held stopped
# with -S so they cost nothing; QEMU still creates their vCPUs), one with
# -smp 1 and one with -smp 2, each with a name and a UUID.  `kvmscope
# record` runs the vm_vcpus source for 2 seconds; the recording, replayed
# per second and decomposed by vm, must say 1 and 2 for them in every
# second - a point metric: the first report of a second, never a sum of
# the ticks in it - and over the whole recording too.  Decomposed by
# vmuuid and by pid, it must name each guest by its UUID and QEMU pid
# (the same identity every live source writes).  Other VMs on the host
# are ignored.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
KVMSCOPE=${KVMSCOPE:-$TOP/.output-asan/kvmscope}
[ -x "$KVMSCOPE" ] || { echo "no kvmscope binary at $KVMSCOPE"; exit 1; }
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "no qemu-system-x86_64"; exit 77; }
command -v python3 >/dev/null || { echo "no python3 (reads the JSON)"; exit 77; }
D=$(mktemp -d /tmp/ks-vcpus.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$D"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# guest N: a stopped TCG QEMU with N vCPUs, named ks-vcpusN-$$.
guest() {
	local n=$1
	qemu-system-x86_64 -accel tcg -S -display none -nodefaults -m 32 \
		-smp "$n" -name "guest=ks-vcpus$n-$$" \
		-uuid "00000000-0000-4000-8000-00000000000$n" \
		-daemonize -pidfile "$D/q$n.pid" 2> "$D/q$n.err" ||
		{ cat "$D/q$n.err"; echo "cannot start qemu-system-x86_64 -accel tcg"; exit 77; }
	PIDS+=("$(cat "$D/q$n.pid")")
}
guest 1
guest 2

"$KVMSCOPE" record -o "$D/v.ksr" --duration 2 -s vm_vcpus 2> "$D/rec.err" ||
	{ cat "$D/rec.err"; fail "record exited $?"; }
replay() {	# DECOMPOSE [--per-second]
	"$KVMSCOPE" replay "$D/v.ksr" --metric vm.vcpus --decompose "$@" \
		--json 2> "$D/replay.err" ||
		{ cat "$D/replay.err"; fail "replay --decompose $* exited $?"; }
}
replay vm --per-second > "$D/sec.json"
replay vm > "$D/all.json"
replay vmuuid > "$D/uuid.json"
replay pid > "$D/pid.json"

python3 - "$D" "$$" "${PIDS[0]}" "${PIDS[1]}" <<'EOF' || exit 1
import json, sys
d, me, pid1, pid2 = sys.argv[1:]
want = {"ks-vcpus1-" + me: 1, "ks-vcpus2-" + me: 2}
def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)
secs = json.load(open(d + "/sec.json"))
if len(secs) < 2:
    fail("%d seconds recorded, expected at least 2" % len(secs))
for s in secs:
    got = {k: v for k, v in s["value"].items() if k in want}
    if got != want:
        fail("second %d: %s, expected %s" % (s["start_time"], got, want))
whole = json.load(open(d + "/all.json"))["value"]
got = {k: v for k, v in whole.items() if k in want}
if got != want:
    fail("whole recording: %s, expected %s" % (got, want))
uuids = json.load(open(d + "/uuid.json"))["value"]
for n in (1, 2):
    u = "00000000-0000-4000-8000-00000000000%d" % n
    if uuids.get(u) != n:
        fail("vmuuid %s: %s, expected %d" % (u, uuids.get(u), n))
pids = json.load(open(d + "/pid.json"))["value"]
if pids.get(pid1) != 1 or pids.get(pid2) != 2:
    fail("pid %s: %s, pid %s: %s; expected 1 and 2"
         % (pid1, pids.get(pid1), pid2, pids.get(pid2)))
print("PASS: vm.vcpus 1 and 2 in each of %d seconds, by name, vmuuid and pid"
      % len(secs))
EOF
