#!/bin/bash
# t_vms_names.sh - long VM names keep `vms` in columns; stat and top say
# plainly what they cannot show for real QEMU guests without KVM.
#
# Two paused QEMU TCG VMs (as t_discovery.sh starts them): one named with
# 150 characters, one short, each with a UUID.  `kvmscope vms` must keep
# every column at the header's offset (the long name cut to 32 characters
# with a final '~'), `vms -w` likewise with the name whole, and --json has
# it whole.  `kvmscope stat -n LONGNAME` and `-p PID` must say "no such
# VM" (it runs on TCG: no VM exits) and exit 1 without loading a probe;
# plain `stat` says "no KVM guests on this host" (exit 0) when none runs.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
KVMSCOPE=${KVMSCOPE:-$TOP/.output-asan/kvmscope}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}

[ -x "$KVMSCOPE" ] || { echo "no kvmscope binary at $KVMSCOPE"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (other processes' fds)"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || { echo "no qemu-system-x86_64"; exit 77; }

D=$(mktemp -d /tmp/ks-names.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$D"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

start() {	# NAME UUID
	qemu-system-x86_64 -nodefaults -display none -S -m 32 -daemonize \
		-accel tcg -name "guest=$1" -uuid "$2" -pidfile "$D/$$.$2.pid" ||
		fail "QEMU $1 did not start"
	PIDS+=("$(cat "$D/$$.$2.pid")")
}
LONG=ks-long-$$-$(printf 'abcdefghij%.0s' $(seq 1 14))
SHORT=ks-s$$
U1=1e1d2c3b-4a59-4687-9a0b-c1d2e3f4a5c1
U2=1e1d2c3b-4a59-4687-9a0b-c1d2e3f4a5c2
start "$LONG" "$U1"
start "$SHORT" "$U2"
[ ${#LONG} -gt 140 ] || fail "the long name is only ${#LONG} characters"

# Every line of ours has its UUID where the header has "UUID".
columns() {	# FILE WHAT
	python3 - "$1" "$U1" "$U2" "$2" <<'PY' || fail "$2: columns broken"
import sys
lines = open(sys.argv[1]).read().splitlines()
head, uuids, what = lines[0], sys.argv[2:4], sys.argv[4]
col = head.index("UUID")
acc = head.index("ACCEL")
rows = [l for l in lines[1:] if any(u in l for u in uuids)]
assert len(rows) == 2, (what, lines)
for l in rows:
    u = next(u for u in uuids if u in l)
    assert l.index(u) == col, (what, "UUID at", l.index(u), "not", col, l)
    assert l[acc:acc + 3] == "tcg", (what, l)
print("ok   %s: UUID at column %d on every line" % (what, col))
PY
}
"$KVMSCOPE" vms >"$D/vms.txt" 2>"$D/err" || fail "vms: $(cat "$D/err")"
columns "$D/vms.txt" "vms"
grep -q " ${LONG:0:31}~ " "$D/vms.txt" || fail "vms: the long name is not cut to 32 with '~'"
grep -q "$LONG" "$D/vms.txt" && fail "vms: the long name is whole without -w"
"$KVMSCOPE" vms -w >"$D/vmsw.txt" 2>"$D/err" || fail "vms -w: $(cat "$D/err")"
columns "$D/vmsw.txt" "vms -w"
grep -q " $LONG " "$D/vmsw.txt" || fail "vms -w: the long name is not whole"
"$KVMSCOPE" vms --json | grep -q "\"name\":\"$LONG\"" || fail "vms --json: no whole name"

# stat: the VM is there, but not on KVM.
for sel in "-n $LONG" "-p ${PIDS[1]}"; do
	# shellcheck disable=SC2086
	"$KVMSCOPE" stat $sel 1 1 >"$D/out" 2>"$D/err"
	rc=$?
	[ $rc = 1 ] || fail "stat $sel exited $rc"
	grep -q "no such VM: .* runs without KVM (tcg)" "$D/err" ||
		fail "stat $sel: $(cat "$D/err")"
	grep -qi 'bpf\|source' "$D/err" && fail "stat $sel loaded probes"
	[ -s "$D/out" ] && fail "stat $sel printed a table"
done
echo "ok   stat -n/-p on a TCG VM: no such VM, exit 1"

# With only TCG guests (this host has no KVM guest): stat says so, exit 0.
if "$KVMSCOPE" vms --json | grep -q '"accel":"kvm"'; then
	echo "this host runs KVM guests: the 'no KVM guests' check is the lab's"
else
	"$KVMSCOPE" stat -L 1 1 >"$D/out" 2>"$D/err"
	rc=$?
	[ $rc = 0 ] || fail "stat without KVM guests exited $rc: $(cat "$D/err")"
	grep -qx "kvmscope stat: no KVM guests on this host" "$D/err" ||
		fail "stat without KVM guests: $(cat "$D/err")"
	[ -s "$D/out" ] && fail "stat without KVM guests printed a table"
	echo "ok   stat on a host without KVM guests: says so, exit 0"
fi
# top: both VMs, live, two reports as JSON lines; a name not there.
"$KVMSCOPE" top -n 2 -j >"$D/top.json" 2>"$D/err" || fail "top -n 2 -j: $(cat "$D/err")"
python3 - "$D/top.json" "${PIDS[0]}" "${PIDS[1]}" "$LONG" <<'PY' || fail "top -n 2 -j"
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
assert len(docs) == 2, docs
for d in docs:
    byp = {v["pid"]: v for v in d["vms"]}
    assert int(sys.argv[2]) in byp and int(sys.argv[3]) in byp, d
    assert byp[int(sys.argv[2])]["vm"] == sys.argv[4]
    assert 0.5 < d["interval"] < 5, d
    # Paused TCG guests: no exits, no interrupts.
    assert byp[int(sys.argv[2])]["exits_per_s"] == 0
print("ok   top -n 2 -j: both VMs in both reports")
PY
"$KVMSCOPE" top -n 1 --name "$LONG" -s disk >"$D/top.txt" 2>"$D/err" || fail "top --name"
grep -q "^ *${PIDS[0]} ${LONG:0:24} " "$D/top.txt" || fail "top --name: $(cat "$D/top.txt")"
[ "$(grep -c "^ *[0-9]" "$D/top.txt")" = 1 ] || fail "top --name shows other VMs"
"$KVMSCOPE" top -n 1 --name "nosuch-$$" >"$D/out" 2>"$D/err"
[ $? = 1 ] || fail "top --name (no such VM) did not exit 1"
grep -q "no such VM" "$D/err" || fail "top --name nosuch: $(cat "$D/err")"
echo "ok   top: live rows for real QEMU VMs, --name, no such VM"

# A host without VMs, as a private PID namespace sees it (its own /proc).
if unshare -pf --mount-proc true 2>/dev/null; then
	unshare -pf --mount-proc "$KVMSCOPE" top -n 1 >"$D/out" 2>"$D/err"
	rc=$?
	[ $rc = 0 ] && grep -qx "kvmscope top: no VMs on this host" "$D/err" &&
		[ ! -s "$D/out" ] || fail "top without VMs: rc $rc: $(cat "$D/err")"
	unshare -pf --mount-proc "$KVMSCOPE" stat 1 1 >"$D/out" 2>"$D/err"
	rc=$?
	[ $rc = 0 ] && grep -qx "kvmscope stat: no KVM guests on this host" "$D/err" &&
		[ ! -s "$D/out" ] || fail "stat without VMs: rc $rc: $(cat "$D/err")"
	echo "ok   top and stat where no VM is seen: they say so, exit 0"
else
	echo "unshare -p unavailable: the VM-less host case not checked"
fi
echo "vms names ok"
