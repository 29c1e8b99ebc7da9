#!/bin/bash
# The 99 Hz vCPU sampler (source bpf_samples) on this host's real perf
# events, with real vCPU threads:
#   - a QEMU TCG guest (`-name guest=sampletest,debug-threads=on`) spinning
#     in its boot sector: its vCPU thread "CPU 0/TCG" must get 99 samples
#     per second of CPU time it used (measured from its schedstat), all on
#     vCPU 0, all "host" mode (a TCG vCPU never runs guest code in guest
#     mode: claiming guest mode would be a lie), with the VM's UUID;
#   - a process named like a QEMU KVM vCPU thread ("CPU 3/KVM", found by
#     the name fallback) that spins only in the first half of every
#     wall-clock second: 99 samples per CPU second, vCPU 3, and every
#     subsecond value below 500 ms - the wall-clock alignment is real;
#   - a busy process that is no vCPU thread: never sampled;
#   - with -p, only that VM's samples.
# Guest-mode samples, rings and cr3 need real KVM: tests/lab/t_samples_cr3.sh.
set -u
K=${KVMSCOPE:-$TOP/.output-asan/kvmscope}
TOL=${SAMPLES_TOL:-20}	# percent: binomial noise on a loaded 2-CPU host
UUID=5a3f0c1e-7a2b-4c1d-9e8f-000000005a11
tmp=$(mktemp -d /tmp/kvmscope-t_samples.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	[ -f "$tmp/q.pid" ] && kill "$(cat "$tmp/q.pid")" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "$*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root for BPF and perf events"
command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64"
command -v python3 >/dev/null || skip "no python3"
[ -x "$K" ] || fail "no kvmscope binary at $K"

# A boot sector that spins: jmp $.
python3 -c '
import sys
b = bytearray(512); b[0:2] = b"\xeb\xfe"; b[510:512] = b"\x55\xaa"
open(sys.argv[1], "wb").write(b)' "$tmp/boot.img"
qemu-system-x86_64 -accel tcg -smp 1 -m 32 -nodefaults -display none \
	-name guest=sampletest,debug-threads=on -uuid "$UUID" \
	-drive "file=$tmp/boot.img,format=raw,if=ide" \
	-daemonize -pidfile "$tmp/q.pid" || skip "QEMU would not start"
qpid=$(cat "$tmp/q.pid")

# A vCPU-named process busy in the first half of each wall-clock second.
python3 - <<'PY' &
import ctypes, time
ctypes.CDLL(None).prctl(15, b"CPU 3/KVM", 0, 0, 0)	# PR_SET_NAME
while True:
    f = time.time() % 1.0
    if f < 0.5:
        while time.time() % 1.0 < 0.5:
            pass
    else:
        time.sleep(1.0 - f + 0.001)
PY
fpid=$!
pids+=("$fpid")
# A busy process that is no vCPU.
bash -c 'while :; do :; done' &
bpid=$!
pids+=("$bpid")

vcpu_tid() {	# PID NAME
	local t
	for t in /proc/"$1"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "$2" ] && { basename "$t"; return 0; }
	done
	return 1
}
i=0
until qtid=$(vcpu_tid "$qpid" "CPU 0/TCG") && [ "$(cat /proc/$fpid/comm)" = "CPU 3/KVM" ]; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "no 'CPU 0/TCG' thread in QEMU $qpid, or the fake vCPU is unnamed"
	sleep 0.1
done
runtime() { cut -d' ' -f1 "/proc/$1/task/$2/schedstat"; }	# ns on CPU

# --- record 5 s; CPU time measured over the same window ---
"$K" record -o "$tmp/all.ksr" -s bpf_samples -d 5 -v 2> "$tmp/rec.err" &
rpid=$!
i=0
until grep -q 'source bpf_samples running' "$tmp/rec.err"; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 $rpid 2>/dev/null; then
		grep -q 'needs root' "$tmp/rec.err" && skip "BPF not permitted: $(cat "$tmp/rec.err")"
		fail "sampler did not start: $(cat "$tmp/rec.err")"
	fi
	sleep 0.05
done
q0=$(runtime "$qpid" "$qtid") f0=$(runtime "$fpid" "$fpid")
wait $rpid || fail "record exited $?: $(cat "$tmp/rec.err")"
q1=$(runtime "$qpid" "$qtid") f1=$(runtime "$fpid" "$fpid")
cat "$tmp/rec.err"

q() {	# FILE DECOMPOSE [PREDICATE]: the value object as JSON
	local a=("$1" --metric vm.thread_samples --decompose "$2" --json)
	[ -z "${3:-}" ] || a+=(--predicate "$3")
	"$K" replay "${a[@]}" 2>/dev/null
}
onpid() { echo "{\"eq\":[\"pid\",\"$1\"]}"; }
q "$tmp/all.ksr" pid > "$tmp/pid.json" || fail "replay by pid"
q "$tmp/all.ksr" guestmode "$(onpid "$qpid")" > "$tmp/qmode.json"
q "$tmp/all.ksr" vcpu "$(onpid "$qpid")" > "$tmp/qvcpu.json"
q "$tmp/all.ksr" vmuuid "$(onpid "$qpid")" > "$tmp/quuid.json"
q "$tmp/all.ksr" guestmode "$(onpid "$fpid")" > "$tmp/fmode.json"
q "$tmp/all.ksr" vcpu "$(onpid "$fpid")" > "$tmp/fvcpu.json"
# The fake vCPU ran only in the first half of each second: rows 0..490
# (500 allows for the instant between its clock read and its sleep).
q "$tmp/all.ksr" pid "{\"and\":[$(onpid "$fpid"),{\"gt\":[\"subsecond\",500]}]}" > "$tmp/flate.json"
q "$tmp/all.ksr" pid "{\"and\":[$(onpid "$fpid"),{\"le\":[\"subsecond\",500]}]}" > "$tmp/fearly.json"
q "$tmp/all.ksr" pid "{\"and\":[$(onpid "$qpid"),{\"gt\":[\"subsecond\",500]}]}" > "$tmp/qlate.json"

python3 - "$tmp" "$qpid" "$fpid" "$bpid" "$UUID" "$TOL" \
	$((q1 - q0)) $((f1 - f0)) <<'PY' || fail "sample checks"
import json, sys
d, qpid, fpid, bpid, uuid, tol = sys.argv[1:7]
qns, fns = int(sys.argv[7]), int(sys.argv[8])
tol = float(tol)
def val(name):
    return json.load(open("%s/%s.json" % (d, name)))["value"]
bad = 0
def check(what, ok, detail):
    global bad
    print("%s %s: %s" % ("ok  " if ok else "BAD ", what, detail))
    bad += not ok
def near(what, got, cpu_ns):
    want = cpu_ns / 1e9 * 99
    check(what, want >= 40 and abs(got - want) <= want * tol / 100,
          "%d samples, %.1f expected (%.3f CPU s x 99 Hz, +-%d%%)"
          % (got, want, cpu_ns / 1e9, tol))
by_pid = val("pid")
near("QEMU vCPU thread", by_pid.get(qpid, 0), qns)
near("'CPU 3/KVM' process", by_pid.get(fpid, 0), fns)
check("busy non-vCPU process not sampled", bpid not in by_pid,
      "%d samples" % by_pid.get(bpid, 0))
check("TCG samples are host mode", set(val("qmode")) == {"host"}, val("qmode"))
check("TCG vCPU is 0", set(val("qvcpu")) == {"0"}, val("qvcpu"))
check("VM UUID from discovery", val("quuid") == {uuid: by_pid.get(qpid)},
      val("quuid"))
check("named vCPU is host mode", set(val("fmode")) == {"host"}, val("fmode"))
check("named vCPU is 3", set(val("fvcpu")) == {"3"}, val("fvcpu"))
late, early = val("flate").get(fpid, 0), val("fearly").get(fpid, 0)
check("half-second process: no sample after 500 ms into the second",
      late == 0 and early == by_pid.get(fpid, 0),
      "%d early, %d late" % (early, late))
qlate = val("qlate").get(qpid, 0)
check("always-busy vCPU: samples in both halves of the second",
      0.3 < qlate / max(by_pid.get(qpid, 1), 1) < 0.7,
      "%d of %d after 500 ms" % (qlate, by_pid.get(qpid, 0)))
sys.exit(bad)
PY

# --- -p: only that VM ---
"$K" record -o "$tmp/one.ksr" -s bpf_samples -d 2 -p "$qpid" 2> "$tmp/one.err" ||
	fail "record -p exited $?: $(cat "$tmp/one.err")"
q "$tmp/one.ksr" pid > "$tmp/one.json" || fail "replay of the -p recording"
python3 - "$tmp/one.json" "$qpid" <<'PY' || fail "-p recorded other processes"
import json, sys
v = json.load(open(sys.argv[1]))["value"]
assert list(v) == [sys.argv[2]] and v[sys.argv[2]] > 0, v
print("ok   -p %s: %d samples, no other process" % (sys.argv[2], v[sys.argv[2]]))
PY
echo "t_samples ok"
