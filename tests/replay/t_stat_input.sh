#!/bin/bash
# t_stat_input.sh - `kvmscope stat -L --input` on recorded traces, against awk.
#
# awk pairs each kvm_exit with the next kvm_entry of its thread (an exit
# followed by another exit, or by nothing, has no latency; kvm.awk) and
# sums, per exit reason, the exits, those with a latency, and the least,
# greatest and total latency in ns.  stat's -L table (JSON) must say the
# same, exactly (a trace's latencies are exact), with shares that add up
# to 100% and a mean and 99th percentile inside [min, max]; the text table
# must have a line per reason with the same count.  A -p that matches no
# VM in the trace is "no such VM", exit 1.
. "$(dirname "$0")/lib.sh"

PER_REASON='
!parse($0) { next }
EVENT == "kvm_exit" {
	if (TID in t)
		seen(r[TID], -1)
	t[TID] = TS
	r[TID] = exit_reason(FIELDS)
}
EVENT == "kvm_entry" && (TID in t) {
	lat = TS - t[TID]
	seen(r[TID], lat >= 0 ? lat : -1)
	delete t[TID]
}
function seen(reason, lat) {
	n[reason]++
	if (lat < 0)
		return
	timed[reason]++
	sum[reason] += lat
	if (!(reason in lo) || lat < lo[reason])
		lo[reason] = lat
	if (!(reason in hi) || lat > hi[reason])
		hi[reason] = lat
}
END {
	for (k in t)
		n[r[k]]++
	for (k in n)
		printf "%s\t%d\t%d\t%s\t%s\t%.0f\n", k, n[k], timed[k] + 0,
			(k in lo) ? lo[k] : "-", (k in hi) ? hi[k] : "-", sum[k]
}'

for cap in $CAPTURES; do
	f=$DATA/$cap
	kawk "$PER_REASON" "$f" >"$SCRATCH/want" || fail "awk on $cap"
	"$KVMSCOPE" stat -L --input "$f" --json >"$SCRATCH/out.json" \
		2>"$SCRATCH/err" || { cat "$SCRATCH/err"; fail "stat -L --input $cap"; }
	python3 - "$SCRATCH/out.json" >"$SCRATCH/out" <<'PY' || fail "$cap: stat's -L JSON is inconsistent"
import json, sys
d = json.load(open(sys.argv[1]))
lat = d["latency"]
assert lat, "no latency rows"
assert abs(sum(r["count_pct"] for r in lat) - 100) < 0.01
assert abs(sum(r["time_pct"] for r in lat) - 100) < 0.01
assert sum(r["count"] for r in lat) == sum(r["exits"] for r in d["rows"])
for r in lat:
    if r["timed"]:
        assert r["min_ns"] <= r["avg_ns"] <= r["max_ns"], r
        assert r["min_ns"] <= r["p99_ns"] <= r["max_ns"], r
        assert abs(r["avg_ns"] * r["timed"] - r["time_ns"]) <= 1e-5 * r["time_ns"] + 1, r
    print("%s\t%d\t%d\t%s\t%s\t%.0f" % (r["reason"], r["count"], r["timed"],
          r.get("min_ns", "-"), r.get("max_ns", "-"), r["time_ns"]))
PY
	expect "$cap: exits by reason" "$SCRATCH/want"

	# The text table: a line per reason, with its count.
	"$KVMSCOPE" stat -L --input "$f" >"$SCRATCH/text" 2>/dev/null ||
		fail "stat -L --input $cap (text)"
	grep -q '^ *VM-EXIT  *count  *count%  *time%  *min  *avg  *p99  *max$' \
		"$SCRATCH/text" || fail "$cap: no latency table header"
	while IFS=$'\t' read -r reason n _; do
		grep -Eq "^ *$reason +$n +[0-9.]+% +[0-9.]+% " "$SCRATCH/text" ||
			fail "$cap: no text line '$reason $n'"
	done <"$SCRATCH/want"
	echo "ok   $cap: $(wc -l <"$SCRATCH/want") exit reasons, as awk has them"
done

# top on the same traces: its rates times the span are stat's counts,
# and each sort key orders the rows.
for cap in $CAPTURES; do
	f=$DATA/$cap
	"$KVMSCOPE" stat --input "$f" --json >"$SCRATCH/stat.json" 2>/dev/null
	for key in exits time irqs disk; do
		"$KVMSCOPE" top --input "$f" -s $key -j >"$SCRATCH/top.$key" \
			2>"$SCRATCH/err" || fail "top --input $cap -s $key"
	done
	python3 - "$SCRATCH" <<'PY' || fail "$cap: top --input disagrees with stat"
import json, os, sys
d = sys.argv[1]
stat = json.load(open(os.path.join(d, "stat.json")))
want = {}
for r in stat["rows"]:
    e = want.setdefault(r["pid"], [0, 0])
    e[0] += r["exits"]
    e[1] += r["irqs"]
key = {"exits": "exits_per_s", "time": "exit_time_pct", "irqs": "irqs_per_s",
       "disk": "disk_avg_ns"}
for k, field in key.items():
    top = json.load(open(os.path.join(d, "top." + k)))
    assert top["sort"] == k
    got = {v["pid"]: [round(v["exits_per_s"] * top["interval"]),
                      round(v["irqs_per_s"] * top["interval"])]
           for v in top["vms"]}
    assert got == want, (k, got, want)
    vals = [v.get(field, 0) for v in top["vms"]]
    assert vals == sorted(vals, reverse=True), (k, vals)
print("ok   top --input: %d VMs, counts as stat's, sorted by each key" % len(want))
PY
done
"$KVMSCOPE" top --input "$DATA/kvm-trace-all-events.txt" >"$SCRATCH/top.txt" 2>&1 ||
	fail "top --input (text)"
grep -q '^ *PID VM  *EXITS/s  *EXIT%  *IRQS/s  *DISK/s  *DISKAVG  *DISKP99$' \
	"$SCRATCH/top.txt" || fail "top --input: no header: $(cat "$SCRATCH/top.txt")"

# A VM the trace does not have.
if "$KVMSCOPE" stat --input "$DATA/kvm-trace-all-events.txt" -p 4000000 \
	>"$SCRATCH/out" 2>"$SCRATCH/err"; then
	fail "stat --input -p (no such pid) exited 0"
fi
grep -q '^no such VM' "$SCRATCH/out" || fail "no 'no such VM' for a pid not in the trace"
# --input is one report: no interval.
if "$KVMSCOPE" stat --input "$DATA/kvm-trace-all-events.txt" 1 2>"$SCRATCH/err"; then
	fail "stat --input with an interval exited 0"
fi
grep -q 'no interval' "$SCRATCH/err" || fail "stat --input 1: $(cat "$SCRATCH/err")"
# Bad input: a clear line on stderr, a non-zero exit, nothing on stdout.
bad() {	# WHAT-TO-FIND ARGS...
	local want=$1
	shift
	if "$KVMSCOPE" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"; then
		fail "kvmscope $* exited 0"
	fi
	grep -q "$want" "$SCRATCH/err" || fail "kvmscope $*: $(cat "$SCRATCH/err")"
	[ -s "$SCRATCH/out" ] && fail "kvmscope $* printed on stdout"
	return 0
}
bad "cannot open '/nonexistent'" stat --input /nonexistent
bad "is not a trace" top --input /etc/passwd
bad "is not a trace" stat -L --input /etc/passwd
bad "one of exits, time, irqs, disk" top -s bogus
bad "must be a whole number" top -n 0
bad "must be a whole number" top -d x
echo "stat --input ok"
