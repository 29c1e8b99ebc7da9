#!/bin/bash
# t_nic.sh - the nic source counts a real guest's traffic, within 1%.
#
# Boots a real Linux guest (tests/source/guest.sh: Debian kernel, busybox,
# QEMU TCG) with a virtio NIC on a fresh tap, and records with `kvmscope
# record` while traffic of known shape flows both ways and unevenly: the
# guest pings the host (COUNT x SIZE bytes each way), then the host sends
# DGRAMS UDP datagrams to the guest (received only; nothing listens, so
# the guest answers a few with rate-limited ICMP errors).  The guest reports
# its own eth0 counters (an independent count, from inside) before and
# after; the recording, replayed, must match them within 1% per direction
# in bytes and packets - which also checks the tap's rx/tx swap, since
# the two directions differ by the UDP stream - and be attributed to this
# VM (name, uuid, pid) and this NIC (the tap's name).
#
# Then the same for a macvtap NIC (on a veth, its fd passed to QEMU as
# libvirt does), where the host's counters are NOT swapped: a second guest
# only sends (static neighbour, nobody answers), and kvmscope must count
# its bytes as sent, nothing as received, and discovery must see the NIC
# as a macvtap with the guest's MAC.
set -u
. "$(dirname "$0")/guest.sh"
KVMSCOPE=${KVMSCOPE:-$KS_TOP/.output-asan/kvmscope}
COUNT=200 SIZE=1000 DGRAMS=300 DSIZE=1400
UUID=5a3f0c1e-7a2b-4c1d-9e8f-00000000a1c1

[ -x "$KVMSCOPE" ] || { echo "no kvmscope binary at $KVMSCOPE"; exit 1; }
ks_guest_prepare
command -v python3 >/dev/null || ks_skip "no python3 (it sends the UDP stream)"
trap ks_guest_cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

TAP=ksnic$$
ks_tap_add "$TAP" 10.213.7.1/24 || ks_skip "cannot create tap $TAP"
ks_guest_boot ks-nic-guest "$UUID" \
	"ks.mode=nic ks.ip=10.213.7.2 ks.peer=10.213.7.1 ks.count=$COUNT ks.size=$SIZE" \
	-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" \
	-device virtio-net-pci,netdev=n0,mac=52:54:00:ab:cd:01,id=nic0 || exit 1
read -r _ rx0 tx0 rxp0 txp0 <<<"$KS_LINE"

rec=$KS_G/nic.ksr
"$KVMSCOPE" record -o "$rec" -s nic -p "$KS_QPID" 2>"$KS_G/record.err" &
rpid=$!
sleep 2.5	# discovery, then a baseline tick

ks_guest_say GO
ks_guest_expect KS_PINGED 120 || exit 1
echo "guest: $KS_LINE"
python3 - "$DGRAMS" "$DSIZE" <<'EOF'
import socket, sys, time
n, size = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    s.sendto(b"k" * size, ("10.213.7.2", 9999))
    time.sleep(0.002)
EOF
sleep 1
ks_guest_say END
ks_guest_expect KS_DONE 60 || exit 1
read -r _ rx1 tx1 rxp1 txp1 <<<"$KS_LINE"
sleep 2.5	# a tick after the last packet
kill -INT "$rpid"
wait "$rpid"
rc=$?
[ "$rc" = 0 ] || { cat "$KS_G/record.err"; fail "record exited $rc"; }
cat "$KS_G/record.err"

# What the guest itself counted on eth0 while we recorded.
grx=$((rx1 - rx0)) gtx=$((tx1 - tx0)) grxp=$((rxp1 - rxp0)) gtxp=$((txp1 - txp0))
echo "guest eth0: received $grx B / $grxp pkts, sent $gtx B / $gtxp pkts"
# The workload's floor (Ethernet frames: 42 bytes of headers each): the
# pings both ways, the datagrams in.
ping_b=$((COUNT * (SIZE + 42)))
[ "$gtx" -ge "$ping_b" ] || fail "guest sent $gtx < $ping_b bytes of pings"
[ "$grx" -ge $((ping_b + DGRAMS * (DSIZE + 42))) ] ||
	fail "guest received $grx, less than the pings and the datagrams"
[ "$grxp" -ge $((COUNT + DGRAMS)) ] || fail "guest received $grxp packets"

# kvmscope's view, replayed: by direction, then by identity.
value() {	# METRIC DIRECTION
	"$KVMSCOPE" replay "$rec" --metric "$1" --decompose direction --json \
		2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)
v = v[-1] if isinstance(v, list) else v
print(v["value"].get(sys.argv[1], 0))' "$2"
}
ksent=$(value nic.vnic_bytes sent) krecv=$(value nic.vnic_bytes received)
ksentp=$(value nic.vnic_packets sent) krecvp=$(value nic.vnic_packets received)
echo "kvmscope: received $krecv B / $krecvp pkts, sent $ksent B / $ksentp pkts"
ks_within 1 "$ksent" "$gtx" || fail "sent bytes $ksent vs guest's $gtx"
ks_within 1 "$krecv" "$grx" || fail "received bytes $krecv vs guest's $grx"
ks_within 1 "$ksentp" "$gtxp" || fail "sent packets $ksentp vs guest's $gtxp"
ks_within 1 "$krecvp" "$grxp" || fail "received packets $krecvp vs guest's $grxp"

for f in vm:ks-nic-guest vmuuid:$UUID pid:$KS_QPID nic:$TAP; do
	field=${f%%:*} want=${f#*:}
	got=$("$KVMSCOPE" replay "$rec" --metric nic.vnic_bytes --decompose "$field" \
		--json 2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)
v = v[-1] if isinstance(v, list) else v
print(",".join(sorted(v["value"])))')
	[ "$got" = "$want" ] || fail "$field: recorded '$got', expected '$want'"
done
echo "ok: tap counted within 1% of the guest's own counters, both directions"

# ---- macvtap --------------------------------------------------------------
ks_guest_cleanup
KS_TAPS=() KS_G= KS_QPID=
PAR=ksp$$ MVT=ksm$$
if ! ip link add "$PAR" type veth peer name "${PAR}p" 2>/dev/null; then
	echo "PASS (tap only: no veth here for the macvtap part)"
	exit 0
fi
KS_TAPS+=("$PAR")
ip link set "$PAR" up && ip link set "${PAR}p" up &&
	ip link add link "$PAR" name "$MVT" type macvtap mode bridge &&
	ip link set "$MVT" up || fail "cannot make macvtap $MVT"
for i in "$PAR" "${PAR}p" "$MVT"; do	# no host IPv6 chatter on them
	sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1" 2>/dev/null
done
idx=$(cat "/sys/class/net/$MVT/ifindex")
mac=$(cat "/sys/class/net/$MVT/address")
[ -c "/dev/tap$idx" ] || fail "no /dev/tap$idx for macvtap $MVT"
exec 7<>"/dev/tap$idx"	# kept open until up: a second boot passes it too
ks_guest_boot ks-nic-mvt "${UUID%?}2" \
	"ks.mode=nicsend ks.ip=10.213.8.2 ks.peer=10.213.8.1 ks.count=$COUNT ks.size=$SIZE" \
	-netdev tap,id=n1,fd=7 \
	-device "virtio-net-pci,netdev=n1,mac=$mac,id=nic1" || exit 1
exec 7>&-
read -r _ rx0 tx0 rxp0 txp0 <<<"$KS_LINE"
"$KVMSCOPE" vms --json | python3 -c '
import json, sys
pid, ifn, mac = int(sys.argv[1]), sys.argv[2], sys.argv[3]
vm = [v for v in json.load(sys.stdin)["vms"] if v["pid"] == pid]
nics = [(n["ifname"], n["kind"], n["mac"]) for n in vm[0]["nics"]] if vm else None
sys.exit(0 if nics == [(ifn, "macvtap", mac)] else f"macvtap NIC seen as {nics}")' \
	"$KS_QPID" "$MVT" "$mac" || fail "discovery of the macvtap NIC"
rec=$KS_G/mvt.ksr
"$KVMSCOPE" record -o "$rec" -s nic -p "$KS_QPID" 2>"$KS_G/record.err" &
rpid=$!
sleep 2.5
ks_guest_say GO
ks_guest_expect KS_DONE 120 || exit 1
read -r _ rx1 tx1 rxp1 txp1 <<<"$KS_LINE"
sleep 2.5
kill -INT "$rpid"
wait "$rpid"
rc=$?
[ "$rc" = 0 ] || { cat "$KS_G/record.err"; fail "record exited $rc"; }
grx=$((rx1 - rx0)) gtx=$((tx1 - tx0))
ksent=$(value nic.vnic_bytes sent) krecv=$(value nic.vnic_bytes received)
echo "macvtap: guest sent $gtx B, received $grx B; kvmscope sent $ksent B, received $krecv B"
[ "$gtx" -ge $((COUNT * (SIZE + 42))) ] || fail "the guest sent only $gtx bytes"
ks_within 1 "$ksent" "$gtx" || fail "macvtap sent $ksent vs guest's $gtx"
if [ "$grx" = 0 ]; then
	[ "$krecv" = 0 ] || fail "macvtap: received $krecv, the guest received nothing"
else
	ks_within 1 "$krecv" "$grx" || fail "macvtap received $krecv vs guest's $grx"
fi
echo "PASS: nic source within 1% of the guests' own counters (tap and macvtap)"
