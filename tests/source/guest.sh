# guest.sh - a real, tiny Linux guest for the live source tests (sourced).
#
# The NIC and disk sources are only honest if a guest really sends,
# receives, writes and reads.  This boots the lab's Debian kernel
# (tests/lab/build.sh fetches it into lab-out/) under QEMU TCG - no KVM
# needed - with a busybox initramfs built here whose /init runs one
# workload, chosen on the kernel command line (ks.mode=nic|disk), and
# talks to the test over the serial line: it prints "KS_READY ..." when
# set up, waits for lines from the test, and prints "KS_DONE ..." with
# its own counters at the end.  The serial line is a QEMU pipe chardev:
# $KS_G/ser.in (test -> guest) and $KS_G/ser.out (guest -> test).
#
# Functions: ks_guest_prepare (or exit 77), ks_guest_start ARGS...,
# ks_guest_expect WORD SECONDS (sets KS_LINE), ks_guest_say LINE,
# ks_guest_cleanup.  Needs root (taps), qemu-system-x86_64, busybox.

KS_TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KS_OUT=$KS_TOP/lab-out/ksguest
KS_G=
KS_QPID=
KS_TAPS=()

ks_skip() { echo "$*"; exit 77; }

# The guest's /init: insmod the virtio drivers, then the workload.
ks_guest_init() {
	cat <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/ttyS0 >/dev/ttyS0 2>&1
while read -r m; do insmod "/lib/ks/$m"; done < /modules.list
arg() { for w in $(cat /proc/cmdline); do
	case $w in "$1"=*) echo "${w#*=}";; esac; done; }
ctr() { cat "/sys/class/net/eth0/statistics/$1"; }
ctrs() { echo "$(ctr rx_bytes) $(ctr tx_bytes) $(ctr rx_packets) $(ctr tx_packets)"; }
case $(arg ks.mode) in
nic)
	ip link set lo up
	ip link set eth0 up
	ip addr add "$(arg ks.ip)/24" dev eth0
	sleep 1
	echo "KS_READY $(ctrs)"
	read -r go
	ping -q -A -c "$(arg ks.count)" -s "$(arg ks.size)" "$(arg ks.peer)" \
		> /tmp/ping.out 2>&1
	echo "KS_PINGED $(grep -o '[0-9]* packets received' /tmp/ping.out)"
	read -r go
	echo "KS_DONE $(ctrs)"
	;;
nicsend)
	# Sends only: a static neighbour, so no ARP, and no one answers.
	ip link set lo up
	ip link set eth0 up
	ip addr add "$(arg ks.ip)/24" dev eth0
	arp -s "$(arg ks.peer)" 02:00:00:00:00:01
	sleep 1
	echo "KS_READY $(ctrs)"
	read -r go
	ping -q -c "$(arg ks.count)" -i 0.02 -W 1 -s "$(arg ks.size)" \
		"$(arg ks.peer)" > /dev/null 2>&1
	echo "KS_DONE $(ctrs)"
	;;
disk)
	while [ ! -b /dev/vda ]; do sleep 0.1; done
	echo "KS_READY"
	read -r go
	n=$(arg ks.blocks)
	dd if=/dev/zero of=/dev/vda bs=65536 count="$n" oflag=direct 2>/dev/null
	dd if=/dev/vda of=/dev/null bs=65536 count="$n" iflag=direct 2>/dev/null
	echo "KS_DONE $n"
	;;
esac
read -r go
poweroff -f
EOF
}

# Kernel from the lab build; initramfs built here, cached by a stamp.
ks_guest_prepare() {
	local k kver root stamp want m
	[ "$(id -u)" = 0 ] || ks_skip "needs root (tap devices, QEMU)"
	command -v qemu-system-x86_64 >/dev/null || ks_skip "no qemu-system-x86_64"
	[ -x /bin/busybox ] || ks_skip "no /bin/busybox (busybox-static)"
	k=$KS_TOP/lab-out/kernel
	if [ ! -e "$k/vmlinuz" ]; then
		LAB_QUIET=1 "$KS_TOP/tests/lab/build.sh" >&2 ||
			ks_skip "no guest kernel: tests/lab/build.sh could not fetch it"
	fi
	[ -e "$k/vmlinuz" ] && [ -f "$k/KVER" ] || ks_skip "no guest kernel in $k"
	kver=$(cat "$k/KVER")
	KS_KERNEL=$k/vmlinuz
	KS_INITRD=$KS_OUT/initramfs.gz
	stamp=$KS_OUT/stamp
	want="$kver $(ks_guest_init | cksum) $(cksum < /bin/busybox)"
	if [ -f "$KS_INITRD" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	root=$KS_OUT/root
	rm -rf "$root"
	mkdir -p "$root"/{bin,proc,sys,dev,tmp,lib/ks}
	cp /bin/busybox "$root/bin/busybox"
	for m in $(/bin/busybox --list); do
		[ "$m" = busybox ] || ln -s busybox "$root/bin/$m"
	done
	ks_guest_init > "$root/init"
	chmod 755 "$root/init"
	for m in virtio_pci virtio_net virtio_blk; do
		modprobe -d "$k" -S "$kver" --show-depends "$m" ||
			ks_skip "module $m not in kernel $kver"
	done | awk '/^insmod/ { print $2 }' | awk '!seen[$0]++' > "$KS_OUT/mods"
	: > "$root/modules.list"
	while read -r m; do
		cp "$m" "$root/lib/ks/"
		basename "$m" >> "$root/modules.list"
	done < "$KS_OUT/mods"
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) \
		> "$KS_INITRD.tmp" || ks_skip "cannot build the initramfs (cpio?)"
	mv "$KS_INITRD.tmp" "$KS_INITRD"
	echo "$want" > "$stamp"
}

# ks_guest_start NAME UUID APPEND [QEMU ARGS...]: boots the guest
# (daemonized; its pid in KS_QPID, QMP socket $KS_G/qmp.sock).
ks_guest_start() {
	local name=$1 uuid=$2 append=$3
	shift 3
	KS_G=$(mktemp -d /tmp/ks-guest.XXXXXX)
	mkfifo "$KS_G/ser.in" "$KS_G/ser.out"
	qemu-system-x86_64 -accel tcg -m 256 -smp 1 -nodefaults -display none \
		-no-reboot -name "guest=$name,debug-threads=on" -uuid "$uuid" \
		-kernel "$KS_KERNEL" -initrd "$KS_INITRD" \
		-append "console=ttyS0 quiet loglevel=0 panic=-1 ipv6.disable=1 $append" \
		-chardev "pipe,id=ser,path=$KS_G/ser" -serial chardev:ser \
		-qmp "unix:$KS_G/qmp.sock,server=on,wait=off" \
		-daemonize -pidfile "$KS_G/qemu.pid" "$@" ||
		{ echo "cannot start QEMU"; return 1; }
	KS_QPID=$(cat "$KS_G/qemu.pid")
	exec 8<>"$KS_G/ser.out" 9<>"$KS_G/ser.in"
}

# ks_guest_expect WORD SECONDS: reads serial lines until one starting with
# WORD (then KS_LINE holds it), or fails after SECONDS, or as soon as the
# guest's QEMU is gone (a guest panic ends it: -no-reboot).
ks_guest_expect() {
	local word=$1 end=$(( $(date +%s) + $2 )) line last=
	while [ "$(date +%s)" -lt "$end" ]; do
		if IFS= read -r -t 1 line <&8; then
			line=${line%$'\r'}
			case $line in "$word"*) KS_LINE=$line; return 0;; esac
			last=$line
		elif [ -n "$KS_QPID" ] && ! kill -0 "$KS_QPID" 2>/dev/null; then
			echo "guest's QEMU ended before the guest said $word${last:+ (its last line: $last)}"
			return 1
		fi
	done
	echo "guest did not say $word within $2 s${last:+ (its last line: $last)}"
	return 1
}

# ks_guest_boot NAME UUID APPEND [QEMU ARGS...]: ks_guest_start, then
# waits for KS_READY.  A boot that does not get there (TCG now and then
# stalls a guest's boot on a busy machine: a fresh check here saw one in
# December 2026) is said, stopped and started once more; a second fails.
ks_guest_boot() {
	local try
	for try in 1 2; do
		ks_guest_start "$@" || return 1
		ks_guest_expect KS_READY 240 && return 0
		[ "$try" = 2 ] && return 1
		echo "guest boot 1 did not come up; booting it again"
		ks_guest_stop
	done
}

ks_guest_say() { printf '%s\n' "$1" >&9; }

ks_tap_add() {	# NAME [ADDR/PREFIX]
	ip tuntap add "$1" mode tap || return 1
	KS_TAPS+=("$1")
	sysctl -qw "net.ipv6.conf.$1.disable_ipv6=1" 2>/dev/null
	ip link set "$1" up || return 1
	[ -z "${2:-}" ] || ip addr add "$2" dev "$1"
}

# ks_guest_stop: the guest's QEMU, its serial line and files go (the
# taps stay).
ks_guest_stop() {
	local i
	if [ -n "$KS_QPID" ] && kill -0 "$KS_QPID" 2>/dev/null; then
		kill "$KS_QPID" 2>/dev/null
		for i in $(seq 50); do kill -0 "$KS_QPID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$KS_QPID" 2>/dev/null
	fi
	exec 8<&- 9>&- 2>/dev/null
	[ -z "$KS_G" ] || rm -rf "$KS_G"
	KS_QPID= KS_G=
}

ks_guest_cleanup() {
	local t
	ks_guest_stop
	for t in "${KS_TAPS[@]}"; do ip link del "$t" 2>/dev/null; done
}

# within PCT A B: true if A is within PCT percent of B (B > 0).
ks_within() {
	awk -v p="$1" -v a="$2" -v b="$3" 'BEGIN {
		d = a - b; if (d < 0) d = -d; exit !(b > 0 && d * 100 <= p * b) }'
}
