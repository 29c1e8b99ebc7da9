#!/bin/bash
# kvmscope counts the lab's deterministic guest's exits as `perf kvm stat`
# counts them, in the same run (lab scenario exits-perf): for every exit
# reason perf reports for kvmtest's process, `kvmscope stat -x` (count-
# only: kvm_exit alone) and `kvmscope stat --records` (exits timed) give
# the same count, and their totals equal KVM's binary stats.  One known
# difference is checked rather than hidden: perf counts an exit when the
# next entry closes it, so the guest's last exit (the hlt that ends it,
# never re-entered) is missing from perf's table, and kvmscope (like
# KVM's own statistic) counts it.  The host then replays perf's record:
# `kvmscope replay` of ftrace's text, both forms of perf script's text and
# perf.data agree, and `kvmscope serve --replay perf.data` counts on
# /metrics what replay counts.  Needs perf in the host's root
# (linux-perf, installed by scripts/deps.sh); skips otherwise.
set -u
. "$(dirname "$0")/hostlib.sh"
command -v perf > /dev/null || lab_skip "no perf on this host (apt-get install linux-perf)"
export LAB_HOSTROOT=1
lab_run exits-perf 400
R=$LABOUT/exits-perf
python3 - "$R" <<'PY' || lab_fail "kvmscope and perf kvm stat count kvmtest's exits differently"
import json, re, sys
r = sys.argv[1]
pid = int(open(r + "/pid").read())
perf = {}
for line in open(r + "/perf-report.txt"):
    m = re.match(r"^\s*([a-z_0-9]+)\s+(\d+)\s+[\d.]+%", line)
    if m and m.group(1) not in ("samples", "vm"):
        perf[m.group(1)] = int(m.group(2))
stat, recs = {}, {}
for line in open(r + "/stat.json"):
    for row in json.loads(line)["rows"]:
        if row["pid"] == pid:
            stat["exits"] = stat.get("exits", 0) + row["exits"]
            for k, v in row.get("reasons", {}).items():
                stat[k] = stat.get(k, 0) + v
for line in open(r + "/records.json"):
    j = json.loads(line)
    f = j.get("fields", {})
    if j.get("metric") == "vm.exits" and f.get("pid") == str(pid):
        k = f.get("vleavereason")
        recs[k] = recs.get(k, 0) + j["value"]
bs = {}
for m in re.finditer(r"^binstats vcpu\d+ (\S+) (\d+)$",
                     open(r + "/kvmtest.out").read(), re.M):
    bs[m.group(1)] = bs.get(m.group(1), 0) + int(m.group(2))
bad = 0
def check(ok, msg):
    global bad
    bad += not ok
    print(("ok   " if ok else "BAD  ") + msg)
check(len(perf) >= 3 and perf.get("io") == 2000,
      "perf's table for pid %d: %s" % (pid, perf))
for reason in sorted(set(perf) | set(recs)):
    want = perf.get(reason, 0) + (1 if reason == "hlt" else 0)
    check(recs.get(reason, 0) == want,
          "%-6s perf %d (+1 for the last hlt: %s), records %d, stat -x %s"
          % (reason, perf.get(reason, 0), reason == "hlt", recs.get(reason, 0),
             stat.get(reason, "-")))
    if reason in stat:
        check(stat[reason] == want, "%-6s stat -x %d" % (reason, stat[reason]))
total = sum(perf.values()) + 1
check(sum(recs.values()) == total == stat.get("exits") == bs.get("exits"),
      "total: perf %d + 1, records %d, stat %s, KVM binary stats %s"
      % (total - 1, sum(recs.values()), stat.get("exits"), bs.get("exits")))
sys.exit(1 if bad else 0)
PY
# Replay reads perf's record of the run as it reads ftrace's: the same
# exits by reason and by vCPU from the tracefs text, both forms of `perf
# script` text, and the perf.data file itself (through the host's perf).
K=$(kvmscope_bin) || lab_fail "no kvmscope binary: make"
export KVMSCOPE=$K
replay_counts() {	# FILE FIELD
	"$K" replay "$1" --metric vm.exits --decompose "$2" --json \
		2> "$R/replay.err" ||
		lab_fail "replay of $1: $(tail -2 "$R/replay.err")"
}
for f in vleavereason vcpu; do
	want=$(replay_counts "$R/ftrace.txt" $f)
	echo "ftrace.txt by $f: $want"
	case $want in *'"value":{}'*|"") lab_fail "no exits in ftrace.txt";; esac
	for t in perf-script.txt perf-script-F.txt perf.data; do
		got=$(replay_counts "$R/$t" $f)
		[ "$got" = "$want" ] ||
			lab_fail "replay of $t by $f: $got, ftrace's: $want"
		echo "ok   $t by $f equals ftrace.txt's"
	done
done
python3 - "$R" <<'PY' || lab_fail "replay of perf's record and perf's own table differ"
import json, re, subprocess, sys, os
r = sys.argv[1]
got = json.loads(subprocess.run([os.environ["KVMSCOPE"], "replay", r + "/perf.data",
    "--metric", "vm.exits", "--decompose", "vleavereason", "--json"],
    capture_output=True, text=True, check=True).stdout)["value"]
perf = {}
for line in open(r + "/perf-report.txt"):
    m = re.match(r"^\s*([a-z_0-9]+)\s+(\d+)\s+[\d.]+%", line)
    if m and m.group(1) not in ("samples", "vm"):
        perf[m.group(1)] = int(m.group(2))
want = dict(perf)
want["hlt"] = want.get("hlt", 0) + 1	# the last hlt, never re-entered
print("perf.data replayed:", got, " perf kvm stat report (+1 hlt):", want)
sys.exit(0 if got == want else 1)
PY
# The agent replays the same perf.data (serve --replay, through perf) to
# the same exits by reason on /metrics as kvmscope replay's.
log=$(mktemp /tmp/t_exits_perf.XXXXXX)
"$K" serve --listen 127.0.0.1:0 --no-state --replay "$R/perf.data" \
	--replay-speed 1000000 2> "$log" &
spid=$!
trap 'kill $spid 2>/dev/null; rm -f "$log"' EXIT
python3 - "$R" "$log" "$spid" <<'PY' || lab_fail "serve --replay perf.data and replay differ"
import json, os, re, subprocess, sys, time, urllib.request
r, log, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = None
for _ in range(300):
    m = re.search(r"listening on (http://127\.0\.0\.1:\d+)/", open(log).read())
    if m:
        base = m.group(1)
        break
    time.sleep(0.1)
if not base:
    sys.exit("serve did not listen: " + open(log).read())
for _ in range(300):
    st = json.load(urllib.request.urlopen(base + "/ca/admin/status"))
    if st["replay"]["finished"]:
        break
    time.sleep(0.1)
got = {}
for line in urllib.request.urlopen(base + "/metrics").read().decode().splitlines():
    m = re.match(r'kvmscope_vm_exits_total\{.*vleavereason="([^"]*)".*\} (\d+)$', line)
    if m:
        got[m.group(1)] = got.get(m.group(1), 0) + int(m.group(2))
want = json.loads(subprocess.run([os.environ["KVMSCOPE"], "replay", r + "/perf.data",
    "--metric", "vm.exits", "--decompose", "vleavereason", "--json"],
    capture_output=True, text=True, check=True).stdout)["value"]
print("serve --replay perf.data: %s (finished %s); replay: %s"
      % (got, st["replay"]["finished"], want))
sys.exit(0 if st["replay"]["finished"] and got == want else 1)
PY
kill "$spid"
wait "$spid" || lab_fail "serve --replay perf.data exited non-zero after SIGTERM"
echo "kvmscope and perf kvm stat agree in ${LAB_WALL}s"
