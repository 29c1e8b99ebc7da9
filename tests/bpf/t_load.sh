#!/bin/bash
# The BPF probes on this host's real tracepoints: `kvmscope stat` loads and
# attaches both probe objects (exits, with its userspace exit, port and
# MMIO programs, and irqs), bpftool sees each program
# attached to its tracepoint while it runs and none after it exits, a
# program fed by real events (sched_process_exit) runs, the JSON and text
# outputs have kvmstat's shape (no VM runs here, so rows are empty), and
# without root the command fails with a clear message.  The exit hooks
# come in two kinds (exits.bpf.c): perf tracepoints, which this host
# picks (no kvm_amd here), checked first with KVMSCOPE_EXIT_HOOKS=tp, and
# the raw BTF-typed hooks the agent picks on AMD, forced with =btf: they
# must load and attach on this kernel too; where the kernel refuses them,
# at load or at attach, the perf hooks run instead, said.  Exact counts need real KVM:
# tests/lab/scenarios/bpf-exits.sh (the lab picks the raw hooks).
set -u
K=${KVMSCOPE:-$TOP/.output-asan/kvmscope}
T=/sys/kernel/tracing
tmp=$(mktemp -d /tmp/kvmscope-t_load.XXXXXX)
stats_was=""
cleanup() {
	[ -n "${spid:-}" ] && kill "$spid" 2>/dev/null
	[ -n "$stats_was" ] && echo "$stats_was" > /proc/sys/kernel/bpf_stats_enabled
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "$*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root for BPF"
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
[ -x "$BPFTOOL" ] || skip "bpftool is not installed"
if [ ! -d $T/events ] || [ -z "$(ls $T/events 2>/dev/null)" ]; then
	mount -t tracefs nodev $T 2>/dev/null || skip "cannot mount tracefs on $T"
fi
for e in kvm/kvm_exit kvm/kvm_entry kvm/kvm_inj_virq kvm/kvm_apic_accept_irq \
	 kvm/kvm_emulate_insn kvm/kvm_userspace_exit kvm/kvm_pio kvm/kvm_mmio \
	 sched/sched_process_exit; do
	[ -d $T/events/$e ] || skip "no tracepoint $e in this kernel (KVM not built or loaded)"
done

# --- without root: a clear error, non-zero, nothing on stdout ---
if command -v setpriv >/dev/null; then
	cp "$K" "$tmp/ks" && chmod 755 "$tmp" "$tmp/ks"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$tmp/ks" stat 1 1 \
		> "$tmp/nr.out" 2> "$tmp/nr.err"
	rc=$?
	[ $rc != 0 ] || fail "stat as nobody exited 0"
	[ ! -s "$tmp/nr.out" ] || fail "stat as nobody printed data: $(head -2 "$tmp/nr.out")"
	grep -q 'needs root' "$tmp/nr.err" || fail "no clear message as nobody: $(cat "$tmp/nr.err")"
	echo "ok   non-root: rc $rc, $(cat "$tmp/nr.err")"
	# The raw hooks forced: both loads fail alike, and the error is not
	# told as a refusal of the raw hooks.
	KVMSCOPE_EXIT_HOOKS=btf setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$tmp/ks" stat 1 1 > /dev/null 2> "$tmp/nr2.err"
	grep -q 'needs root' "$tmp/nr2.err" || fail "no clear message as nobody (btf): $(cat "$tmp/nr2.err")"
	grep -q 'refused' "$tmp/nr2.err" && fail "a failed load as nobody told as a refusal: $(cat "$tmp/nr2.err")"
	echo "ok   non-root, raw hooks forced: the same error, no fallback claimed"
fi

# --- bad arguments: usage errors, status 2 ---
for args in "0" "1 0" "x" "1 2 3" "-p 0" "--bogus"; do
	# shellcheck disable=SC2086
	"$K" stat $args > /dev/null 2>&1
	[ $? = 2 ] || fail "stat $args: want status 2"
done
"$K" stat --help | grep -q 'mmiox' || fail "stat --help lacks the columns"
echo "ok   usage errors"

# --- attach: every program on its tracepoint while stat runs ---
if [ -w /proc/sys/kernel/bpf_stats_enabled ]; then
	stats_was=$(cat /proc/sys/kernel/bpf_stats_enabled)
	echo 1 > /proc/sys/kernel/bpf_stats_enabled
fi
# Long enough for a busy host to get through the checks while it runs;
# stopped with SIGINT (a clean exit) once they are done.
KVMSCOPE_EXIT_HOOKS=tp "$K" stat -w 1 60 --json > "$tmp/bg.json" 2> "$tmp/bg.err" &
spid=$!
i=0
# Both objects attached: 4 exits programs (stat counts exits with kvm_exit
# alone: nothing on kvm_entry; userspace exits by reason only: nothing on
# kvm_pio or kvm_mmio) and 2 irqs programs; the benchmark's and tests'
# programs in the exits object are not loaded.
until [ "$("$BPFTOOL" -j perf show 2>/dev/null | grep -o "\"pid\":$spid," | wc -l)" = 6 ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 $spid 2>/dev/null; then
		if grep -q 'needs root' "$tmp/bg.err"; then
			skip "BPF not permitted here: $(cat "$tmp/bg.err")"
		fi
		fail "stat did not attach: $(cat "$tmp/bg.err")"
	fi
	sleep 0.1
done
# Threads that end fire sched_process_exit: its program must run.
for _ in $(seq 20); do /bin/true; done
"$BPFTOOL" -j perf show > "$tmp/perf.json"
# Its programs, by id: other kvmscope processes may run beside this test.
python3 -c 'import json, sys
print(" ".join(str(p["prog_id"]) for p in json.load(open(sys.argv[1]))
               if p.get("pid") == int(sys.argv[2])))' "$tmp/perf.json" "$spid" > "$tmp/ids"
"$BPFTOOL" -j prog show > "$tmp/prog.json"
python3 - "$spid" "$tmp/perf.json" "$tmp/prog.json" "$stats_was" <<'PY' || fail "attachments"
import json, sys
pid = int(sys.argv[1])
perf = [p for p in json.load(open(sys.argv[2])) if p.get("pid") == pid]
progs = {p["id"]: p for p in json.load(open(sys.argv[3]))}
want = {"kvm_exit": "ks_exit_tp",
        "kvm_emulate_insn": "ks_emul", "sched_process_exit": "ks_thread_end",
        "kvm_inj_virq": "ks_inj_virq", "kvm_apic_accept_irq": "ks_apic_accept",
        "kvm_userspace_exit": "ks_uexit_tp"}
seen = {}
for p in perf:
    assert p["fd_type"] == "tracepoint", p
    name = progs[p["prog_id"]]["name"]
    seen.setdefault(p["tracepoint"], set()).add(name)
for tp, names in want.items():
    names = {names} if isinstance(names, str) else names
    assert seen.get(tp) == names, (tp, seen.get(tp), names)
assert len(perf) == 6, perf
assert not {"kvm_entry", "kvm_pio", "kvm_mmio"} & set(seen), seen
assert not any(progs[p["prog_id"]]["name"].startswith(("ks_bench", "ks_test")) for p in perf)
if sys.argv[4] != "":
    end = [progs[p["prog_id"]] for p in perf if p["tracepoint"] == "sched_process_exit"][0]
    assert end.get("run_cnt", 0) >= 20, ("sched_process_exit ran", end.get("run_cnt"))
    print("ok   ks_thread_end ran %d times" % end["run_cnt"])
print("ok   %d programs attached: %s" % (len(perf), sorted(seen)))
PY
kill -INT $spid
wait $spid
rc=$?
spid=""
[ $rc = 0 ] || fail "stat 1 60 --json, interrupted, exited $rc: $(cat "$tmp/bg.err")"
[ -s "$tmp/ids" ] || fail "no program ids noted"
for id in $(cat "$tmp/ids"); do
	"$BPFTOOL" prog show id "$id" > /dev/null 2>&1 &&
		fail "program $id left loaded after exit: $("$BPFTOOL" prog show id "$id" | head -1)"
done
echo "ok   detached and unloaded after exit"

# --- the raw hooks: kvm_exit, kvm_entry (latency) and kvm_userspace_exit
# as raw tracepoint links, nothing of theirs on perf ---
KVMSCOPE_EXIT_HOOKS=btf "$K" stat -w -L 1 60 --json > "$tmp/raw.json" 2> "$tmp/raw.err" &
spid=$!
links() {
	for f in /proc/$spid/fdinfo/*; do
		awk '$1 == "link_type:" { t = $2 } $1 == "prog_id:" { p = $2 }
		     $1 == "tp_name:" { n = $2 } END { if (t) print t, n, p }' "$f" 2>/dev/null
	done
}
i=0
until [ "$(links | grep -c '^raw_tracepoint ')" = 3 ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 $spid 2>/dev/null; then
		fail "stat with the raw hooks did not attach: $(cat "$tmp/raw.err")"
	fi
	sleep 0.1
done
links > "$tmp/links"
while read -r type tp prog; do
	name=$("$BPFTOOL" -j prog show id "$prog" | python3 -c 'import json, sys; print(json.load(sys.stdin)["name"])')
	echo "$type $tp $name"
done < "$tmp/links" > "$tmp/links.named"
for want in "raw_tracepoint kvm_exit ks_exit" "raw_tracepoint kvm_entry ks_entry" \
	    "raw_tracepoint kvm_userspace_exit ks_uexit"; do
	grep -qx "$want" "$tmp/links.named" || fail "no $want: $(cat "$tmp/links.named")"
done
grep -E '^perf (kvm_exit|kvm_entry|kvm_userspace_exit) ' "$tmp/links.named" &&
	fail "an exit hook also on perf"
kill -INT $spid
wait $spid
rc=$?
spid=""
[ $rc = 0 ] || fail "stat with the raw hooks, interrupted, exited $rc: $(cat "$tmp/raw.err")"
echo "ok   raw hooks: $(grep -c '^raw_tracepoint' "$tmp/links.named") raw tracepoint links, $(grep -c '^perf' "$tmp/links.named") perf links"

# --- the raw hooks refused, at load (KVMSCOPE_TEST_RAW_REFUSE: a verifier
# log too small for ks_exit, so the kernel refuses its load) and at attach
# (KVMSCOPE_TEST_RAW_ATTACH_REFUSE: ks_exit's link made with no descriptor
# free, so the kernel refuses it, EMFILE, after taking the load): the
# probe falls back to the perf hooks, says so on stderr, in kvmscope
# check's cost notes and in the agent's status ---
fallback() {	# STEP ENVVAR
	local step=$1 var=$2
	# exit 3 where no VM can run (no /dev/kvm): nothing to compare, the rest reported
	env KVMSCOPE_EXIT_HOOKS=btf "$var=1" "$K" check --duration 1 --json \
		> "$tmp/fb.json" 2> "$tmp/fb.err"
	rc=$?
	[ $rc = 0 ] || [ $rc = 3 ] || fail "check with the raw hooks refused at $step exited $rc: $(cat "$tmp/fb.err")"
	grep -q "the raw exit hooks were refused ($step: .*); perf tracepoint hooks instead" "$tmp/fb.err" ||
		fail "no fallback line on stderr ($step): $(cat "$tmp/fb.err")"
	python3 - "$tmp/fb.json" "$step" <<'PY' || fail "check's report of the fallback ($step): $(cat "$tmp/fb.json")"
import json, sys
c = json.load(open(sys.argv[1]))["cost"]
progs = {p["program"] for p in c["programs"]}
assert {"ks_exit_tp", "ks_uexit_tp"} <= progs, progs
assert not progs & {"ks_exit", "ks_entry", "ks_uexit"}, progs
notes = [n for n in c["notes"] if "raw exit hooks were refused" in n]
assert len(notes) == 1 and "(%s: " % sys.argv[2] in notes[0], c["notes"]
PY
	env KVMSCOPE_EXIT_HOOKS=btf "$var=1" "$K" serve --listen 127.0.0.1:0 \
		--no-state --sources bpf_exits 2> "$tmp/fbserve.err" &
	spid=$!
	timeout 30 sh -c 'until grep -q "^kvmscope: listening on" "$1" || ! kill -0 $2; do
		sleep 0.1; done' sh "$tmp/fbserve.err" $spid 2>/dev/null
	port=$(sed -n 's|^kvmscope: listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$tmp/fbserve.err")
	[ -n "$port" ] || fail "serve is not listening ($step): $(cat "$tmp/fbserve.err")"
	curl -sf "http://127.0.0.1:$port/ca/admin/status" > "$tmp/fbstatus.json" ||
		fail "no /ca/admin/status"
	python3 - "$tmp/fbstatus.json" "$step" <<'PY' || fail "the agent's status of the fallback ($step): $(cat "$tmp/fbstatus.json")"
import json, sys
by = {s["name"]: s for s in json.load(open(sys.argv[1]))["sources"]}
s = by["bpf_exits"]
assert s["status"] == "running", s
assert "raw exit hooks were refused (%s: " % sys.argv[2] in s.get("note", ""), s
PY
	kill $spid
	wait $spid 2>/dev/null
	spid=""
	echo "ok   raw hooks refused at $step: perf hooks instead, said on stderr, by check and by the agent's status"
}
fallback load KVMSCOPE_TEST_RAW_REFUSE
fallback attach KVMSCOPE_TEST_RAW_ATTACH_REFUSE

# --- a KVMSCOPE_EXIT_HOOKS that names no kind of hook: said, then ignored ---
KVMSCOPE_EXIT_HOOKS=bogus timeout -s INT 3 "$K" stat -w -j 1 > /dev/null 2> "$tmp/bogus.err"
grep -q 'KVMSCOPE_EXIT_HOOKS=bogus is neither tp nor btf' "$tmp/bogus.err" ||
	fail "KVMSCOPE_EXIT_HOOKS=bogus not reported: $(cat "$tmp/bogus.err")"
echo "ok   KVMSCOPE_EXIT_HOOKS=bogus: said and ignored"

# --- interrupted: a last report of the seconds ended since the one before
# (none came yet at a 5 s interval) ---
"$K" stat -w -j 5 > "$tmp/int.json" 2> "$tmp/int.err" &
spid=$!
i=0
# Attached: the exits probe's links are open.
until [ "$(links | grep -c .)" -ge 4 ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "stat -j 5 did not attach: $(cat "$tmp/int.err")"
	sleep 0.1
done
sleep 2.5
kill -INT $spid
wait $spid
rc=$?
spid=""
[ $rc = 0 ] || fail "stat -j 5, interrupted, exited $rc"
python3 - "$tmp/int.json" <<'PY' || fail "the last report when interrupted: $(cat "$tmp/int.json")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 1, lines
assert 1 <= lines[0]["interval"] < 4, lines
PY
echo "ok   interrupted: one last report of $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["interval"])' "$tmp/int.json") s"

# --- the JSON shape: one object per interval ---
"$K" stat -w 1 2 --json > "$tmp/stat.json" 2> "$tmp/stat.err" || fail "stat 1 2 --json: $(cat "$tmp/stat.err")"
python3 - "$tmp/stat.json" <<'PY' || fail "JSON shape"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
cols = ["exits", "haltx", "irqx", "irqwx", "iox", "mmiox", "irqs", "emul", "eptv"]
prev = None
for i, l in enumerate(lines):
    o = json.loads(l)
    assert set(o) == {"time", "interval", "drops", "rows"}, o
    assert isinstance(o["time"], int) and isinstance(o["rows"], list)
    # The wall seconds the read covered: the first from the probes'
    # attach to the end of the last whole second (under 2 s), then whole
    # seconds (one, or two when a busy host woke the loop late).
    if i == 0:
        assert 0 < o["interval"] < 2, o["interval"]
    else:
        assert o["interval"] in (1.0, 2.0), o["interval"]
        assert o["interval"] == o["time"] - prev, (o, prev)
    assert o["drops"] == 0
    if prev is not None:
        assert o["time"] - prev in (1, 2), (prev, o["time"])
    prev = o["time"]
    for r in o["rows"]:
        assert set(r) == {"pid", "vm", "vcpu"} | set(cols), r
        assert all(isinstance(r[c], int) and r[c] >= 0 for c in cols)
print("ok   JSON: %d intervals, %s rows" % (len(lines), [len(json.loads(l)["rows"]) for l in lines]))
PY

# --- text: kvmstat's header; records mode: JSON lines, a tick each interval ---
"$K" stat -w 1 1 > "$tmp/stat.txt" || fail "stat 1 1"
head -1 "$tmp/stat.txt" | grep -Eq '^ +pid vcpu \| +exits : +haltx +irqx +irqwx +iox +mmiox \| +irqs +emul +eptv vm$' ||
	fail "header: $(head -1 "$tmp/stat.txt")"
"$K" stat -w -r 1 1 > "$tmp/rec.json" || fail "stat -r"
python3 - "$tmp/rec.json" <<'PY' || fail "records mode"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ticks = [l for l in lines if "tick" in l]
assert len(ticks) == 1 and ticks[0]["drops"] == 0, lines
for l in lines:
    assert "tick" in l or ("metric" in l and "fields" in l) or "counter" in l, l
PY
echo "ok   text header and records mode"
echo "t_load ok"
