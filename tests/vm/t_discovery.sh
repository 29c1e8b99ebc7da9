#!/bin/bash
# t_discovery.sh - discovery finds real QEMU VMs, and notices one ending.
#
# Starts two tiny QEMU TCG VMs (no guest OS: -S keeps them paused, which
# is enough for a process with named threads, tap fds, disks and a QMP
# socket), each with a name, a UUID, a tap NIC with a guest MAC and a
# disk.  The first uses QEMU's key=value options and -qmp; the second the
# JSON options libvirt writes (-netdev/-device/-blockdev {...}) and a
# -chardev socket + -mon monitor.  `kvmscope vms --json` must show both
# with the right pid, name, uuid, accelerator, vCPU thread, NIC (tap name
# and MAC), disk (device id, image) and QMP socket.  Then `kvmscope vms
# --follow` watches while one VM is killed: its "removed" event must come
# within about a second, and the watcher must exit cleanly (the ASan build
# fails on leaks).  If KVM works here, a third VM with -accel kvm must
# show accel "kvm".
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
KVMSCOPE=${KVMSCOPE:-$TOP/.output-asan/kvmscope}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}

[ -x "$KVMSCOPE" ] || { echo "no kvmscope binary at $KVMSCOPE"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (tap devices, other processes' fds)"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || { echo "no qemu-system-x86_64"; exit 77; }
command -v python3 >/dev/null || { echo "no python3 (reads the JSON)"; exit 77; }

D=$(mktemp -d /tmp/ks-disc.XXXXXX)
TAPS=() PIDS=() FPID=
cleanup() {
	local p
	[ -z "$FPID" ] || kill "$FPID" 2>/dev/null
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${TAPS[@]}"; do ip link del "$p" 2>/dev/null; done
	rm -rf "$D"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

tap() {
	ip tuntap add "$1" mode tap || { echo "cannot create tap $1"; exit 77; }
	TAPS+=("$1")
}

# start NAME ARGS...: a paused TCG VM, daemonized; its pid in $D/NAME.pid.
start() {
	local name=$1
	shift
	qemu-system-x86_64 -nodefaults -display none -S -m 32 -daemonize \
		-pidfile "$D/$name.pid" "$@" || fail "QEMU $name did not start"
	PIDS+=("$(cat "$D/$name.pid")")
}

T1=ksd1$$ T2=ksd2$$
U1=0e1d2c3b-4a59-4687-9a0b-c1d2e3f4a5b1
U2=0E1D2C3B-4A59-4687-9A0B-C1D2E3F4A5B2
tap "$T1"
tap "$T2"
truncate -s 8M "$D/a.img" "$D/b.img"
start vm-a -accel tcg -name guest=ks-disc-a,debug-threads=on -uuid "$U1" \
	-netdev "tap,id=n0,ifname=$T1,script=no,downscript=no" \
	-device virtio-net-pci,netdev=n0,mac=52:54:00:d1:5c:01,id=nic0 \
	-drive "file=$D/a.img,if=none,id=d0,format=raw" \
	-device virtio-blk-pci,drive=d0,id=vd0 \
	-qmp "unix:$D/a.qmp,server=on,wait=off"
start vm-b -machine accel=tcg -name guest=ks-disc-b,debug-threads=on \
	-uuid "$U2" \
	-netdev "{\"type\":\"tap\",\"id\":\"hostnet0\",\"ifname\":\"$T2\",\"script\":\"no\",\"downscript\":\"no\"}" \
	-device '{"driver":"virtio-net-pci","netdev":"hostnet0","id":"net0","mac":"52:54:00:d1:5c:02"}' \
	-blockdev "{\"driver\":\"file\",\"filename\":\"$D/b.img\",\"node-name\":\"libvirt-1-storage\"}" \
	-blockdev '{"node-name":"libvirt-1-format","driver":"raw","file":"libvirt-1-storage"}' \
	-device '{"driver":"virtio-blk-pci","drive":"libvirt-1-format","id":"virtio-disk0"}' \
	-chardev "socket,id=charmonitor,path=$D/b.mon,server=on,wait=off" \
	-mon chardev=charmonitor,id=monitor,mode=control
PA=${PIDS[0]} PB=${PIDS[1]}

"$KVMSCOPE" vms --json > "$D/vms.json" 2> "$D/vms.err" ||
	{ cat "$D/vms.err"; fail "kvmscope vms exited $?"; }
python3 - "$D/vms.json" "$PA" "$PB" "$T1" "$T2" "$U1" "$D" <<'EOF' || fail "kvmscope vms --json is wrong"
import json, os, sys
doc = json.load(open(sys.argv[1]))
pa, pb, t1, t2, u1, d = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
vms = {v["pid"]: v for v in doc["vms"]}
bad = []
def check(what, got, want):
    if got != want:
        bad.append(f"{what}: got {got!r}, want {want!r}")
for pid in (pa, pb):
    if pid not in vms:
        sys.exit(f"pid {pid} not listed; listed: {sorted(vms)}")
a, b = vms[pa], vms[pb]
check("a.name", a["name"], "ks-disc-a"); check("b.name", b["name"], "ks-disc-b")
check("a.uuid", a["uuid"], u1)
check("b.uuid", b["uuid"], "0e1d2c3b-4a59-4687-9a0b-c1d2e3f4a5b2")
for v in (a, b):
    check(v["name"] + ".accel", v["accel"], "tcg")
    check(v["name"] + ".qemu", v["qemu"], True)
    # vCPU 0's thread is a thread of this process, named CPU 0/TCG.
    vc = v["vcpus"]
    check(v["name"] + ".vcpus", [c["index"] for c in vc], [0])
    if vc:
        comm = open(f"/proc/{v['pid']}/task/{vc[0]['tid']}/comm").read().strip()
        check(v["name"] + ".vcpu0 thread", comm, "CPU 0/TCG")
check("a.nics", [(n["ifname"], n["mac"], n["netdev"], n["device"]) for n in a["nics"]],
      [(t1, "52:54:00:d1:5c:01", "n0", "nic0")])
check("b.nics", [(n["ifname"], n["mac"], n["netdev"], n["device"]) for n in b["nics"]],
      [(t2, "52:54:00:d1:5c:02", "hostnet0", "net0")])
check("a.disks", [(k["id"], k["drive"], k["file"]) for k in a["disks"]],
      [("vd0", "d0", f"{d}/a.img")])
check("b.disks", [(k["id"], k["drive"], k["file"]) for k in b["disks"]],
      [("virtio-disk0", "libvirt-1-format", f"{d}/b.img")])
check("a.qmp", a["qmp"], f"{d}/a.qmp")
check("b.qmp", b["qmp"], f"{d}/b.mon")
if bad:
    print("\n".join(bad))
    sys.exit(1)
EOF
echo "ok: both VMs listed with their identity and devices"

# KVM, when this host has it: the accelerator is seen from the VM fd.
if qemu-system-x86_64 -accel kvm -nodefaults -display none -S -m 32 \
	-name guest=ks-disc-kvm -daemonize -pidfile "$D/kvm.pid" 2>/dev/null; then
	PK=$(cat "$D/kvm.pid")
	PIDS+=("$PK")
	"$KVMSCOPE" vms --json > "$D/vms2.json" || fail "kvmscope vms exited $?"
	acc=$(python3 -c 'import json, sys
print([v["accel"] for v in json.load(open(sys.argv[1]))["vms"] if v["pid"] == int(sys.argv[2])])' \
		"$D/vms2.json" "$PK")
	[ "$acc" = "['kvm']" ] || fail "KVM VM $PK: accel $acc"
	echo "ok: a KVM VM shows accel kvm"
else
	echo "note: -accel kvm does not work here; KVM check skipped"
fi

# Watch, kill vm-a, time its removal.
"$KVMSCOPE" vms --follow --json > "$D/follow.json" 2> "$D/follow.err" &
FPID=$!
for i in $(seq 100); do
	grep -q "\"pid\":$PB," "$D/follow.json" 2>/dev/null && break
	sleep 0.1
done
grep -q "\"pid\":$PB," "$D/follow.json" || fail "follow did not list vm-b"
t_kill=$(date +%s%3N)
kill -9 "$PA"
for i in $(seq 50); do
	grep -q "\"event\":\"removed\",\"vm\":{\"pid\":$PA," "$D/follow.json" && break
	sleep 0.1
done
kill -INT "$FPID"
wait "$FPID"
rc=$?
FPID=
[ "$rc" = 0 ] || { cat "$D/follow.err"; fail "vms --follow exited $rc (leak or crash?)"; }
t_gone=$(python3 -c 'import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event"] == "removed" and e["vm"]["pid"] == int(sys.argv[2]):
        print(e["time_ms"]); break' "$D/follow.json" "$PA")
[ -n "$t_gone" ] || fail "vm-a (pid $PA) never reported removed"
lag=$((t_gone - t_kill))
echo "vm-a removed $lag ms after SIGKILL"
[ "$lag" -le 1500 ] || fail "removal took $lag ms (> 1.5 s)"
grep -q "\"event\":\"removed\",\"vm\":{\"pid\":$PB," "$D/follow.json" &&
	fail "vm-b reported removed while running"
echo "PASS: discovery lists real VMs and sees one end in $lag ms"
