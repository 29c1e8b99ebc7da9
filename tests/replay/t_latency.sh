#!/bin/bash
# t_latency.sh - exit-handling latency distributions, against awk.
#
# awk pairs each kvm_exit with the next kvm_entry of the same thread,
# computes the time between them in ns from the printed timestamps, and
# counts it in the log-linear buckets it computes itself (kvm.awk); every
# bucket of the replay's distribution must match, overall and per exit
# reason, and so must the count of exits with no entry after them.  A
# latency predicate must filter on exact values, not bucket edges.
. "$(dirname "$0")/lib.sh"

PAIR='
!parse($0) { next }
EVENT == "kvm_exit" {
	if (TID in t)
		unpaired++
	t[TID] = TS
	r[TID] = exit_reason(FIELDS)
}
EVENT == "kvm_entry" && (TID in t) {
	lat = TS - t[TID]
	if (lat >= 0)
		seen(r[TID], lat)
	delete t[TID]
}
END {
	for (k in t)
		unpaired++
	done()
}'

for cap in $CAPTURES; do
	f=$DATA/$cap

	# Overall and per-reason distributions, every bucket.
	kawk "$PAIR"'
	function seen(reason, lat,  i) {
		i = ll_index(lat)
		all[i]++
		by[reason SUBSEP i]++
	}
	function done(  k, i, a) {
		for (i in all)
			printf "all\t%.0f\t%.0f\t%d\n", ll_lo(i), ll_hi(i), all[i] \
				>"/dev/stdout"
		for (k in by) {
			split(k, a, SUBSEP)
			printf "%s\t%.0f\t%.0f\t%d\n", a[1], ll_lo(a[2]),
				ll_hi(a[2]), by[k] >"/dev/stderr"
		}
		printf "%d\n", unpaired >"'"$SCRATCH"'/unpaired"
	}' "$f" >"$SCRATCH/want.all" 2>"$SCRATCH/want.by"

	replay "$f" --metric vm.exits --decompose latency --raw
	expect "$cap: latency buckets" "$SCRATCH/want.all"
	want=$(cat "$SCRATCH/unpaired")
	got=$(sed -n 's/.*: \([0-9]*\) exits had no following entry.*/\1/p' \
		"$SCRATCH/err")
	[ "${got:-0}" = "$want" ] ||
		fail "$cap: $want exits without an entry, kvmscope says ${got:-0}"
	if [ "$want" -gt 0 ]; then
		grep -q "$want records lack field latency" "$SCRATCH/err" ||
			fail "$cap: the exits without latency are not reported"
	fi

	replay "$f" --metric vm.exits --decompose vleavereason,latency --raw
	expect "$cap: latency buckets by reason" "$SCRATCH/want.by"

	# Exact predicate: latency > 20000 ns, whatever bucket it is in.
	kawk "$PAIR"'
	function seen(reason, lat) { if (lat > 20000) n[reason]++ }
	function done(  k) { for (k in n) printf "%s\t%d\n", k, n[k] }' \
		"$f" >"$SCRATCH/want"
	replay "$f" --metric vm.exits --decompose vleavereason \
		--predicate '{"gt":["latency",20000]}'
	expect "$cap: exits slower than 20 us" "$SCRATCH/want"
done

# CA's JSON shape carries the same buckets: [[lo,hi],count], sorted.
if command -v python3 >/dev/null; then
	f=$DATA/kvm-trace-qemu-l2.virtio-window2000.txt
	replay "$f" --metric vm.exits --decompose latency --json
	python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for (lo, hi), c in v["value"]:
    print("all\t%d\t%d\t%d" % (lo, hi, c))
lows = [r[0][0] for r in v["value"]]
assert lows == sorted(lows), "ranges not sorted"
' "$SCRATCH/out" >"$SCRATCH/json.rows" || fail "JSON value not in CA's shape"
	kawk "$PAIR"'
	function seen(reason, lat) { all[ll_index(lat)]++ }
	function done(  i) {
		for (i in all)
			printf "all\t%.0f\t%.0f\t%d\n", ll_lo(i), ll_hi(i), all[i]
	}' "$f" >"$SCRATCH/want"
	cp "$SCRATCH/json.rows" "$SCRATCH/out"
	expect "JSON latency buckets" "$SCRATCH/want"
fi
# Without --raw the same table reads in human units (12.3us, 1.5ms): the
# same rows and counts, each bound within rounding of the integer.
f=$DATA/kvm-trace-qemu-l2.virtio-window2000.txt
replay "$f" --metric vm.exits --decompose latency --raw
table >"$SCRATCH/raw"
replay "$f" --metric vm.exits --decompose latency
table >"$SCRATCH/human"
python3 - "$SCRATCH/raw" "$SCRATCH/human" <<'PY' || fail "human units"
import re, sys
scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
def rows(path, human):
    out = []
    for line in open(path):
        key, lo, hi, count = line.rstrip("\n").split("\t")
        vals = []
        for v in (lo, hi):
            if not human:
                vals.append(float(v))
                continue
            m = re.fullmatch(r"([0-9.]+)(ns|us|ms|s)|0", v)
            assert m, "not in human units: " + v
            vals.append(float(m.group(1)) * scale[m.group(2)] if m.group(1) else 0)
        out.append((key, vals, count))
    return sorted(out, key=lambda r: r[1][0])
raw, human = rows(sys.argv[1], False), rows(sys.argv[2], True)
assert len(raw) == len(human) > 3, "row counts differ"
assert any(r[1][0] >= 1e6 for r in raw), "no millisecond rows to check"
for (k1, v1, c1), (k2, v2, c2) in zip(raw, human):
    assert k1 == k2 and c1 == c2, (k1, k2, c1, c2)
    for a, b in zip(v1, v2):
        assert abs(a - b) <= 0.006 * a, "%s shown as %s" % (a, b)
PY
nchecks=$((nchecks + 1))

echo "ok: $nchecks comparisons"
