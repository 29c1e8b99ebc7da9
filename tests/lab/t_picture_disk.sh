#!/bin/bash
# The seed's first picture: disk operations by offset over time,
# decomposed by op type, from a real guest filesystem.
#
# A Linux guest (tests/lab/hostguest.sh, QEMU TCG on this host: a disk
# looks the same to QEMU's block layer under TCG as under KVM, and this
# machine has no KVM) loops "create a 24 MiB file on ext4 (fsync), sleep,
# drop the page cache, read it back, sleep, delete it" three times on a
# virtio disk.  `kvmscope serve` watches it with the disk_uprobe source,
# which gives each request's byte offset into the guest disk (QMP's
# counters have no offsets, so that source could not draw this picture;
# the test skips where QEMU does not export its block layer).  Through
# CA's API, for each cycle:
#   - the write step wrote at least the file's bytes and read almost
#     nothing; the read step read the file's bytes and wrote nothing;
#   - the seconds of the sleeps between are quiet;
#   - where the guest put the file (its extents, from FIEMAP in the
#     guest): every read but a few metadata blocks lands in them, and so
#     do most writes (the rest is the journal and metadata);
#   - the file's reads fall in the offset buckets its writes used.
# The heatmap (vm.physio_ops by offset, decomposed by optype) is saved as
# lab-out/pictures/disk-offsets.png.
#
# The agent watches every VM on the host, and other tests (t_disk.sh's
# guest, another run of this one, make demo) run theirs on it at the
# same time: their I/O landed in these numbers (1 run in 9 came out
# doubled; a passing one held t_disk.sh's 10 MiB in unchecked seconds).
# So the instrumentations are scoped to the guest's pid, as a CA user
# would scope them, and a second, paused QEMU beside it keeps reading
# and writing its own disk (qemu-io through QMP, so no guest has to
# boot) all along: an instrumentation by pid must see that noise, and
# none of it may reach the picture's numbers.
set -u
. "$(dirname "$0")/hostlib.sh"
. "$(dirname "$0")/hostguest.sh"
CYCLES=3 MB=24 NAP=2 DISK_MB=256
TFS=/sys/kernel/tracing

[ "$(id -u)" = 0 ] || lab_skip "needs root (tracefs uprobes)"
for c in curl python3 mkfs.ext4; do
	command -v $c >/dev/null || lab_skip "no $c"
done
K=$(kvmscope_bin) || lab_fail "no kvmscope binary (make first)"
[ -w "$TFS/uprobe_events" ] || lab_skip "no writable $TFS/uprobe_events (disk offsets need the uprobe source)"
nm -D "$(readlink -f "$(command -v qemu-system-x86_64)")" 2>/dev/null |
	grep -q ' T block_acct_start$' ||
	lab_skip "this QEMU does not export its block layer: no per-request offsets (QMP has none)"
hg_prepare

W=$(mktemp -d "${TMPDIR:-/tmp}/t_picture_disk.XXXXXX")
agent= noise= npid=

# noise_start: a second QEMU, paused (-S: nothing to boot, no CPU spent),
# with a 16 MiB drive; a QMP client issues a 1 MiB qemu-io aio_write and
# aio_read on it every 0.25 s until $W/noise.stop exists.  qemu-io's aio
# commands account their requests and go through blk_aio_*, the same
# functions a guest's virtio-blk requests take.  npid is its pid.
noise_start() {
	truncate -s 16M "$W/noise.img" || return 1
	qemu-system-x86_64 -S -accel tcg -nodefaults -display none -m 64 \
		-name guest=ks-picture-noise \
		-drive "file=$W/noise.img,if=none,id=n0,format=raw" \
		-qmp "unix:$W/noise.sock,server=on,wait=off" \
		-daemonize -pidfile "$W/noise.pid" || return 1
	npid=$(cat "$W/noise.pid")
	[[ $npid =~ ^[0-9]+$ ]] || return 1
	python3 - "$W/noise.sock" "$W/noise.stop" > "$W/noise.log" 2>&1 <<'PY' &
import json, os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
def call(cmd, **args):
    f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            return r
f.readline()			# the greeting
call("qmp_capabilities")
n = 0
while not os.path.exists(sys.argv[2]):
    for op in ("aio_write -P 0x5a", "aio_read"):
        r = call("human-monitor-command", **{"command-line":
                 'qemu-io n0 "%s %d 1M"' % (op, (n % 16) << 20)})
        if r.get("return") != "":
            sys.exit("qemu-io %s: %s" % (op, r))
    n += 1
    time.sleep(0.25)
print("noise: %d requests" % (2 * n))
PY
	noise=$!
}

cleanup() {
	hg_stop
	[ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	[ -n "$noise" ] && kill "$noise" 2>/dev/null
	[ -n "$npid" ] && kill "$npid" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
t0=$(date +%s)

# The image lives on a real filesystem: cache=none needs O_DIRECT.
img=$LABOUT/picture-disk.img
mkdir -p "$LABOUT"
rm -f "$img"
truncate -s ${DISK_MB}M "$img"
# Initialised now, so the guest's ext4lazyinit writes nothing later.
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$img" ||
	lab_fail "mkfs.ext4"
trap 'cleanup; rm -f "$img"' EXIT

"$K" serve --listen 127.0.0.1:0 --no-state --sources disk_uprobe 2> "$W/serve.err" &
agent=$!
port=
for _ in $(seq 300); do
	port=$(sed -n 's|^kvmscope: listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$W/serve.err")
	[ -n "$port" ] && break
	kill -0 $agent 2>/dev/null || lab_fail "kvmscope serve exited: $(tail -3 "$W/serve.err")"
	sleep 0.1
done
[ -n "$port" ] || lab_fail "kvmscope serve did not listen"
API=http://127.0.0.1:$port

HG_LOG=$W/guest.log
hg_start ks-picture-disk \
	"ks.mode=disk ks.go=wait ks.cycles=$CYCLES ks.mb=$MB ks.sleep=$NAP" \
	-drive "file=$img,if=none,id=d0,format=raw,cache=none,aio=threads" \
	-device virtio-blk-pci,drive=d0,id=vd0 || lab_fail "QEMU did not start"
[[ $HG_PID =~ ^[0-9]+$ ]] || lab_fail "no QEMU pid: '$HG_PID'"
noise_start || lab_fail "the noise QEMU did not start"
scope="predicate={\"eq\":[\"pid\",\"$HG_PID\"]}"
ops=$(api_create ops module=vm stat=physio_ops decomposition=optype,offset "$scope")
bytes=$(api_create bytes module=vm stat=physio_bytes decomposition=optype "$scope")
bypid=$(api_create bypid module=vm stat=physio_bytes decomposition=pid)
[[ $ops =~ ^[0-9]+$ && $bytes =~ ^[0-9]+$ && $bypid =~ ^[0-9]+$ ]] ||
	lab_fail "instrumentations: '$ops' '$bytes' '$bypid'"
hg_expect KS_READY 300 || lab_fail "the guest did not boot"
# The source places its uprobes when discovery sees the VM: wait until
# the agent reports it running, and a little more.
for _ in $(seq 100); do
	api_get /ca/admin/status "$W/status.json"
	[ "$(source_status "$W/status.json" disk_uprobe)" = running ] && break
	sleep 0.1
done
[ "$(source_status "$W/status.json" disk_uprobe)" = running ] ||
	lab_fail "disk_uprobe is not running: $(head -c 600 "$W/status.json")"
sleep 3
hg_say GO
hg_steps $((CYCLES * 60)) || lab_fail "the workload did not finish"
sleep 2.5	# the last second's records reach the engine
t1=$(date +%s)
touch "$W/noise.stop"
wait "$noise" || lab_fail "the noise QEMU's I/O failed: $(tail -3 "$W/noise.log")"
noise=
start=$(awk 'NR == 1 { printf "%d", $1 - 2 }' "$HG_LOG")
n=$(( t1 - start ))
api_get "/ca/instrumentations/$ops/value/raw?start_time=$start&duration=1&ndatapoints=$n" "$W/ops.json"
api_get "/ca/instrumentations/$bytes/value/raw?start_time=$start&duration=1&ndatapoints=$n" "$W/bytes.json"
api_get "/ca/instrumentations/$bypid/value/raw?start_time=$start&duration=1&ndatapoints=$n" "$W/bypid.json"
api_get "/ca/instrumentations/$ops/value/heatmap/image?start_time=$start&duration=$n&width=600&height=300&ymin=0&ymax=$((DISK_MB << 20))&nbuckets=64&decompose_all=true" "$W/image.json"
mkdir -p "$PICTURES"
cp "$HG_LOG" "$PICTURES/disk-guest.log"
cp "$W/ops.json" "$PICTURES/disk-ops.json"
cp "$W/bytes.json" "$PICTURES/disk-bytes.json"
save_picture disk-offsets "$W/image.json"
# As the web UI shows it, pinned to the workload's seconds (the link
# carries the instrumentation's predicate: the page reuses only one that
# measures what the link says).
pred=$(python3 -c 'import sys, urllib.parse
print(urllib.parse.quote(sys.argv[1], safe=""))' "{\"eq\":[\"pid\",\"$HG_PID\"]}")
ui_shoot disk-offsets "$API/#metric=vm.physio_ops&decomp=optype,offset&pred=$pred&id=$ops&sel=read,write&nb=100&lines=none&t=$(( n < 10 ? 10 : n ))&end=$t1" \
	read write || BAD=$((BAD + 1))

python3 - "$HG_LOG" "$W/ops.json" "$W/bytes.json" "$MB" "$CYCLES" \
	"$W/bypid.json" "$HG_PID" "$npid" <<'PY' || BAD=$((BAD + 1))
import json, math, sys
log, opsf, bytesf = sys.argv[1:4]
mb, cycles = int(sys.argv[4]), int(sys.argv[5])
bypidf, gpid, npid = sys.argv[6:9]
fsize = mb << 20
ops = {p["start_time"]: p["value"] for p in json.load(open(opsf))}
byt = {p["start_time"]: p["value"] for p in json.load(open(bytesf))}
bypid = {p["start_time"]: p["value"] for p in json.load(open(bypidf))}
marks, ext = {}, {}
for line in open(log):
    w = line.split()
    t, word = float(w[0]), w[1]
    if word[:4] in ("KS_W", "KS_R", "KS_D") and len(word) == 5:
        marks[(word[3], word[4], int(w[2]))] = t
    elif word == "KS_EXT":
        ext.setdefault(int(w[2]), []).append((int(w[3]), int(w[3]) + int(w[4])))
bad = 0
def check(what, ok, detail):
    global bad
    print("%s %s: %s" % ("ok  " if ok else "BAD ", what, detail))
    bad += not ok
def secs(a, b):			# whole seconds from time a to time b
    return range(int(math.floor(a)), int(math.floor(b)) + 1)
def total(d, s, op):
    v = d.get(s, {}).get(op, 0)
    return v if isinstance(v, int) else sum(n for _, n in v)
def buckets(s, op):
    return ops.get(s, {}).get(op, [])
def overlaps(lo, hi, ranges):
    return any(lo < b and hi >= a for a, b in ranges)
# The noise VM's bytes reached the agent, and the scoped numbers are
# exactly the guest's share of everything, second by second.
nbytes = sum(v.get(npid, 0) for v in bypid.values())
check("the noise VM's I/O was seen (pid %s)" % npid, nbytes >= 16 << 20,
      "%d bytes" % nbytes)
leak = [(s, sum(v.values()), bypid.get(s, {}).get(gpid, 0))
        for s, v in byt.items() if sum(v.values()) != bypid.get(s, {}).get(gpid, 0)]
check("the picture's bytes are the guest's (pid %s) alone" % gpid, not leak,
      "seconds (scoped, guest's share) that differ: %s" % leak[:5])
for c in range(cycles):
    w0, w1 = marks[("W", "0", c)], marks[("W", "1", c)]
    r0, r1 = marks[("R", "0", c)], marks[("R", "1", c)]
    d0 = marks[("D", "0", c)]
    ws, rs = secs(w0, w1), secs(r0, r1)
    wrote = sum(total(byt, s, "write") for s in ws)
    wread = sum(total(byt, s, "read") for s in ws)
    read = sum(total(byt, s, "read") for s in rs)
    rwrote = sum(total(byt, s, "write") for s in rs)
    check("cycle %d: the write step wrote the file" % c,
          fsize <= wrote <= fsize + (4 << 20), "%d bytes in s %d..%d" % (wrote, ws[0], ws[-1]))
    check("cycle %d: the write step read almost nothing" % c,
          wread <= (1 << 20), "%d bytes" % wread)
    check("cycle %d: the read step read the file back" % c,
          fsize <= read <= fsize + (2 << 20), "%d bytes in s %d..%d" % (read, rs[0], rs[-1]))
    check("cycle %d: the read step wrote nothing" % c, rwrote == 0, "%d bytes" % rwrote)
    quiet = [s for s in range(ws[-1] + 1, rs[0])] + [s for s in range(rs[-1] + 1, int(d0))]
    noise = sum(total(ops, s, op) for s in quiet for op in ("read", "write"))
    check("cycle %d: the sleeps are quiet" % c, quiet and noise == 0,
          "%d ops in seconds %s" % (noise, quiet))
    e = ext.get(c, [])
    check("cycle %d: FIEMAP extents cover the file" % c,
          sum(b - a for a, b in e) == fsize, e)
    rb = [(lo, hi, n) for s in rs for (lo, hi), n in buckets(s, "read")]
    wb = [(lo, hi, n) for s in ws for (lo, hi), n in buckets(s, "write")]
    rin = sum(n for lo, hi, n in rb if overlaps(lo, hi, e))
    rall = sum(n for _, _, n in rb)
    win = sum(n for lo, hi, n in wb if overlaps(lo, hi, e))
    wall = sum(n for _, _, n in wb)
    # After the cache was dropped, reading the file also reads its inode
    # and extent blocks: a few small reads outside the extents.
    check("cycle %d: reads land in the file's extents, but for a few "
          "metadata blocks" % c, rin > 0 and rall - rin <= 4,
          "%d of %d ops" % (rin, rall))
    check("cycle %d: most writes land in the file's extents" % c,
          wall > 0 and win >= 0.6 * wall, "%d of %d ops" % (win, wall))
    wset = {(lo, hi) for lo, hi, _ in wb}
    rsame = sum(n for lo, hi, n in rb if (lo, hi) in wset and overlaps(lo, hi, e))
    check("cycle %d: the file's reads are at offsets its writes used" % c,
          rsame == rin, "%d of %d; extents %s" % (rsame, rin, e))
sys.exit(bad)
PY
[ $BAD = 0 ] || lab_fail "$BAD checks failed"
echo "disk picture ok: $CYCLES cycles of writes then reads over the same extents ($(( $(date +%s) - t0 ))s)"
