#!/bin/bash
# The 99 Hz vCPU sampler on real kvm_amd (scenarios/samples-cr3.sh), with
# nested paging (the guest's cr3 read from the VMCB) and, in a second L1
# boot, with shadow paging (kvm_amd.npt=0: KVM's own copy of the guest's
# cr3, since the VMCB then holds KVM's shadow root).  kvmtest spins in
# ring 0 under two page directories, 0x4000 and 0x5000, asked for a 1:1
# and a 1:19 split of time.  From each recording, for the kvmtest VM:
#   - the samples' cr3 (vmmmuctx) split is within 10% of each share of the
#     true split: the guest time of each loop, from the kvm_entry/kvm_exit
#     trace of the same run (entry to exit, by the loop the exit's RIP is
#     in).  Under nested TCG the loops do not run exactly the A:B asked
#     for (5.45% for 1:19 was seen), so the split asked for is only held
#     to 25%;
#   - every guest sample is "kernel" with a cr3 of 0x4000 or 0x5000 (ring
#     and cr3 read, never guessed), and nearly all samples are guest;
#   - both vCPUs are sampled, at about 99 Hz each;
#   - guest RIPs, when the CLI can ask for them, lie in kvmtest's code,
#     the commonest under each cr3 being that cr3's loop.
# SAMPLES_NPT0=0 skips the shadow-paging boot.  SAMPLES_RATE=0 leaves
# out the 99 Hz bound (t_kernel612.sh in make check): L1's timers run
# late when this host is loaded, and the sampler's perf hrtimer with
# them; at a load average of 10-13 on 2 cores both kernels gave 57-73 Hz
# of guest time (6.1 and 6.12 alike), every sample still read right.
set -u
. "$(dirname "$0")/hostlib.sh"
K=$(kvmscope_bin) || lab_fail "no kvmscope binary (make first)"
R=$LABOUT/samples-cr3
keep=$(mktemp -d /tmp/t_samples_cr3.XXXXXX)
trap 'rm -rf "$keep"' EXIT

# replay FILE DECOMPOSE PREDICATE OUT: the value object of the kvmtest VM.
replay() {
	"$K" replay "$1" --metric vm.thread_samples --decompose "$2" --json \
		--predicate "$3" > "$4" 2> "$keep/replay.err" ||
		lab_fail "replay of $1 by $2: $(tail -1 "$keep/replay.err")"
}

check_run() {	# DIR LABEL
	local d=$1 label=$2 c p on
	for c in cr3-1-1 cr3-1-19; do
		p=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$d/$c.out")
		[ -n "$p" ] || { echo "BAD  $label $c: no kvmtest pid"; BAD=$((BAD + 1)); continue; }
		on="{\"eq\":[\"pid\",\"$p\"]}"
		for f in guestmode vmmmuctx vcpu; do
			replay "$d/$c.ksr" "$f" "$on" "$keep/$f.json"
		done
		replay "$d/$c.ksr" vmmmuctx \
			"{\"and\":[$on,{\"eq\":[\"guestmode\",\"kernel\"]}]}" "$keep/kcr3.json"
		replay "$d/$c.ksr" guestrip "$on" "$keep/guestrip.json"
		for a in 4000 5000; do
			replay "$d/$c.ksr" guestrip \
				"{\"and\":[$on,{\"eq\":[\"vmmmuctx\",\"$a\"]}]}" "$keep/rip$a.json"
		done
		python3 - "$keep" "$label $c" "$c" "$d" "$p" <<'PY' || BAD=$((BAD + 1))
import collections, json, os, re, sys
d, label, case, run, pid = sys.argv[1:6]
def val(n):
    return json.load(open("%s/%s.json" % (d, n)))["value"]
mode, cr3, vcpu, kcr3 = (val(n) for n in ("guestmode", "vmmmuctx", "vcpu", "kcr3"))
bad = 0
def check(what, ok, detail):
    global bad
    print("%s %s %s: %s" % ("ok  " if ok else "BAD ", label, what, detail))
    bad += not ok

# The truth: guest time per loop from the trace.  Each entry..exit
# interval is charged to the loop whose RIP is nearest the exit's; the two
# loops are the two commonest exit RIPs, A's first in the code.
ev = re.compile(r"\s(\d+\.\d+): kvm_(entry|exit): vcpu (\d+),? "
                r"(?:reason \S+ )?rip (0x[0-9a-f]+)")
text = open("%s/%s.trace" % (run, case)).read()
m = re.search(r"entries-in-buffer/entries-written: (\d+)/(\d+)", text)
check("trace whole", m and m.group(1) == m.group(2), m and m.group(0))
spans, since, rips = [], {}, collections.Counter()
for line in text.splitlines():
    m = ev.search(line)
    if not m or line.lstrip().split("-")[0] != "kvmtest":
        continue
    t, kind, v, rip = float(m.group(1)), m.group(2), m.group(3), int(m.group(4), 16)
    if kind == "entry":
        since[v] = t
    elif v in since:
        spans.append((t - since.pop(v), rip))
        rips[rip] += 1
(la, _), (lb, _) = rips.most_common(2)
la, lb = min(la, lb), max(la, lb)
time = collections.Counter()
for dt, rip in spans:
    time["4000" if abs(rip - la) < abs(rip - lb) else "5000"] += dt
a, b = map(int, case.split("-")[1:])
truth = time["4000"] / (time["4000"] + time["5000"])
asked = a / (a + b)
got = kcr3.get("4000", 0) / max(sum(kcr3.values()), 1)
guest = sum(v for k, v in mode.items() if k != "host")
total = sum(vcpu.values())
print("     %s: loops at %#x/%#x; guest time %.2f s under 0x4000, %.2f s under 0x5000"
      % (label, la, lb, time["4000"], time["5000"]))
for share, what in ((truth, "0x4000"), (1 - truth, "0x5000")):
    mine = got if what == "0x4000" else 1 - got
    check("samples under cr3 %s within 10%% of its true time share" % what,
          abs(mine - share) <= 0.1 * share,
          "%.2f%% of samples, %.2f%% of guest time" % (100 * mine, 100 * share))
check("the %d:%d asked for, within 25%%" % (a, b), abs(got - asked) <= 0.25 * asked,
      "%.2f%% under 0x4000 (asked %.2f%%)" % (100 * got, 100 * asked))
check("guest samples are all 'kernel' (ring 0 read from the VMCB)",
      guest > 0 and mode.get("kernel", 0) == guest, mode)
check("nearly all samples in guest mode", guest >= 0.9 * total,
      "%d of %d" % (guest, total))
check("every guest sample has cr3 0x4000 or 0x5000",
      set(kcr3) <= {"4000", "5000"} and sum(kcr3.values()) == guest
      and cr3 == kcr3, kcr3)
secs = time["4000"] + time["5000"]
rate = os.environ.get("SAMPLES_RATE", "1") != "0"
check("both vCPUs sampled" + (", at about 99 Hz of guest time" if rate else ""),
      set(vcpu) == {"0", "1"} and min(vcpu.values()) >= 0.3 * total
      and (not rate or 0.8 <= guest / (99 * secs) <= 1.2),
      "%s; %d guest samples in %.1f s of guest time (%.0f Hz)"
      % (vcpu, guest, secs, guest / max(secs, 1e-9)))
note = [l for l in open("%s/%s.err" % (run, case)) if l.startswith("bpf_samples:")]
m = re.search(r"(\d+) in guest \((\d+) without ring, (\d+) without cr3",
              note[-1]) if note else None
check("the sampler read every guest sample's ring and cr3",
      m is not None and int(m.group(1)) > 0 and m.group(2) == "0" and m.group(3) == "0",
      note[-1].strip()[-170:] if note else "no note")
rip, ripa, ripb = val("guestrip"), val("rip4000"), val("rip5000")
if rip:
    top = lambda v: int(max(v, key=v.get), 16) if v else None
    check("guest RIPs in kvmtest's code, loop A's commonest under 0x4000, "
          "loop B's under 0x5000",
          all(la - 16 <= int(r, 16) <= lb + 16 for r in rip)
          and top(ripa) == la and top(ripb) == lb,
          "%s / %s" % (sorted(ripa), sorted(ripb)))
else:
    print("     %s: no guest RIPs (the CLI cannot ask for them)" % label)
sys.exit(bad)
PY
	done
}

lab_run samples-cr3 330
cp -r "$R" "$keep/npt"
grep -q '^npt Y' "$keep/npt/kvm_amd.txt" ||
	lab_fail "the default L1 did not use nested paging: $(cat "$keep/npt/kvm_amd.txt")"
check_run "$keep/npt" npt
if [ "${SAMPLES_NPT0:-1}" != 0 ]; then
	LAB_KVMOPTS=npt=0 lab_run samples-cr3 330
	grep -q '^npt N' "$R/kvm_amd.txt" || lab_fail "npt=0 did not take: $(cat "$R/kvm_amd.txt")"
	check_run "$R" npt0
fi
[ $BAD = 0 ] || lab_fail "$BAD checks failed"
echo "samples cr3: ring, cr3 and the time split under each cr3 within 10%"
