# hostguest.sh - a small real Linux guest with a workload, for the seed's
# pictures and the demo (sourced by bash scripts).
# shellcheck shell=bash
#
# The disk and NIC pictures need a guest that really writes a filesystem
# and sends packets; QEMU's block layer and a tap device see them the same
# under TCG as under KVM, so on this machine (no VMX/SVM) the guest runs
# under TCG on the host, where kvmscope's disk_uprobe and nic sources can
# watch it.  The same initramfs is the L2 Linux guest that QEMU -enable-kvm
# runs inside the lab's L1 (picture 3: "plausible exits of a real guest").
#
# The guest is the lab's Debian kernel (tests/lab/build.sh unpacks it) and
# an initramfs built here: busybox, the virtio, ext4 and crc modules with
# their dependency closure, filefrag (e2fsprogs, for the file's physical
# extents) and an /init that runs one workload chosen on the kernel command
# line, talking over ttyS0:
#
#   ks.mode=disk  mounts /dev/vda (ext4, made by the host; noatime, and no
#                 background bitmap prefetch to read in the quiet times) and
#                 loops ks.cycles times (0: forever) "create a ks.mb MiB
#                 file (fsync, sync), sleep ks.sleep s, drop the page cache,
#                 read it back, sleep, delete it (sync), sleep", printing
#                 "KS_<W|R|D><0|1> CYCLE" before and after each step (with
#                 ks.go=wait, waiting for a line from the host after the
#                 "0" marks, so the host's clock times each step) and
#                 "KS_EXT CYCLE OFFSET BYTES" for each extent of the file
#                 (its place on the disk in bytes, from FIEMAP)
#   ks.mode=nic   eth0 at ks.ip/24, pings ks.peer 5 times a second forever
#   ks.mode=demo  both of the above at once, for ever
#   ks.mode=busy  prints a line and does a little work every second (the
#                 L2 guest: timer, serial port, memory, halts)
#
# With ks.go=wait the guest prints "KS_READY" and waits for a line on
# ttyS0 before its workload (so that a test's instrumentation is ready);
# "KS_DONE" ends a finite workload.
#
# Functions: hg_prepare (or exit 77 with the reason), hg_start NAME ARGS...
# (QEMU TCG, daemonized, serial on a pipe pair: HG_DIR/ser.{in,out}),
# hg_expect WORD SECONDS (sets HG_LINE and HG_TIME, the host's wall clock
# when the line arrived), hg_say LINE, hg_stop.
HG_LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HG_TOP=${TOP:-$(cd "$HG_LAB/../.." && pwd)}
HG_OUT=${LAB_OUT:-$HG_TOP/lab-out}/hostguest
HG_DIR=
HG_PID=
HG_LOG=

hg_skip() { echo "SKIP: $*"; exit 77; }

hg_init() {
	cat <<'EOF'
#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "/lib/ks/$m" 2>/dev/null; done < /modules.list
exec </dev/ttyS0 >/dev/ttyS0 2>&1
arg() { for w in $(cat /proc/cmdline); do
	case $w in "$1"=*) echo "${w#*=}";; esac; done; }
MB=$(arg ks.mb) CYCLES=$(arg ks.cycles) NAP=$(arg ks.sleep) GO=$(arg ks.go)
# A step starts when the host has seen its mark (ks.go=wait): the serial
# line can lag, and the host's clock times the steps.
step() { echo "KS_$1 $i"; [ "$GO" = wait ] && read -r go; }
disk() {
	local i=0
	while [ ! -b /dev/vda ]; do sleep 0.1; done
	mkdir -p /mnt
	mount -t ext4 -o noatime,no_prefetch_block_bitmaps /dev/vda /mnt || { echo "KS_FAIL mount"; return 1; }
	while [ "${CYCLES:-0}" = 0 ] || [ $i -lt "$CYCLES" ]; do
		step W0
		dd if=/dev/zero of=/mnt/big bs=1M count="${MB:-16}" conv=fsync 2>/dev/null
		sync
		echo "KS_W1 $i"
		filefrag -v /mnt/big | awk -v c=$i '
			/blocks of [0-9]+ bytes/ { bs = $(NF - 1) }
			$1 ~ /^[0-9]+:$/ { gsub(/[:.]/, " "); print "KS_EXT", c, $4 * bs, $6 * bs }'
		sleep "${NAP:-2}"
		echo 3 > /proc/sys/vm/drop_caches
		step R0
		dd if=/mnt/big of=/dev/null bs=1M 2>/dev/null
		echo "KS_R1 $i"
		sleep "${NAP:-2}"
		step D0
		rm /mnt/big
		sync
		echo "KS_D1 $i"
		sleep "${NAP:-2}"
		i=$((i + 1))
	done
	umount /mnt
}
nic() {
	ip link set lo up
	ip link set eth0 up
	ip addr add "$(arg ks.ip)/24" dev eth0
	ping -q -i 0.2 -s 1000 "$(arg ks.peer)" > /dev/null 2>&1
}
busy() {
	local i=0
	while :; do
		i=$((i + 1))
		echo "KS_TICK $i"
		dd if=/dev/zero of=/dev/null bs=64k count=64 2>/dev/null
		sleep 1
	done
}
mode=$(arg ks.mode)
if [ "$GO" = wait ]; then
	echo "KS_READY $mode"
	read -r go
fi
case $mode in
disk) disk; echo "KS_DONE $?";;
nic) nic;;
demo) disk & nic;;
busy) busy;;
*) echo "KS_FAIL unknown ks.mode '$mode'";;
esac
read -r go
poweroff -f
EOF
}

# Kernel from the lab build; initramfs built here, cached by a stamp.
hg_prepare() {
	local k kver root stamp want m ff lib
	command -v qemu-system-x86_64 >/dev/null || hg_skip "no qemu-system-x86_64"
	[ -x /bin/busybox ] || hg_skip "no /bin/busybox (busybox-static)"
	k=$HG_TOP/lab-out/kernel
	[ -n "${LAB_OUT:-}" ] && k=$LAB_OUT/kernel
	if [ ! -e "$k/vmlinuz" ] || [ ! -f "$k/KVER" ]; then
		LAB_QUIET=1 bash "$HG_LAB/build.sh" >&2
		[ $? = 77 ] && hg_skip "no guest kernel: tests/lab/build.sh could not fetch it"
	fi
	[ -e "$k/vmlinuz" ] && [ -f "$k/KVER" ] || hg_skip "no guest kernel in $k"
	kver=$(cat "$k/KVER")
	HG_KERNEL=$k/vmlinuz
	HG_INITRD=$HG_OUT/initramfs.gz
	ff=$(command -v filefrag || echo /usr/sbin/filefrag)
	[ -x "$ff" ] || hg_skip "no filefrag (e2fsprogs)"
	stamp=$HG_OUT/stamp
	want="$kver $(hg_init | cksum) $(cksum < /bin/busybox) $(cksum < "$ff")"
	if [ -f "$HG_INITRD" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	mkdir -p "$HG_OUT"
	exec 7> "$HG_OUT/.lock"	# two builders must not share root/
	flock 7
	root=$HG_OUT/root
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,mnt,lib/ks}
	cp /bin/busybox "$root/bin/busybox"
	for m in $(/bin/busybox --list); do
		[ "$m" = busybox ] || ln -s busybox "$root/bin/$m"
	done
	cp "$ff" "$root/sbin/filefrag"
	for lib in $(ldd "$ff" 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	hg_init > "$root/init"
	chmod 755 "$root/init"
	for m in virtio_pci virtio_blk virtio_net ext4 crc32c_generic; do
		modprobe -d "$k" -S "$kver" --show-depends "$m" ||
			hg_skip "module $m not in kernel $kver"
	done | awk '/^insmod/ { print $2 }' | awk '!seen[$0]++' > "$HG_OUT/mods"
	: > "$root/modules.list"
	while read -r m; do
		cp "$m" "$root/lib/ks/"
		basename "$m" >> "$root/modules.list"
	done < "$HG_OUT/mods"
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) \
		> "$HG_INITRD.tmp" || hg_skip "cannot build the initramfs (cpio?)"
	mv "$HG_INITRD.tmp" "$HG_INITRD"
	echo "$want" > "$stamp"
	flock -u 7
}

# hg_start NAME APPEND [QEMU ARGS...]: boots the guest under TCG,
# daemonized; HG_PID is QEMU's pid, QMP at $HG_DIR/qmp.sock.
hg_start() {
	local name=$1 append=$2
	shift 2
	HG_DIR=$(mktemp -d /tmp/ks-hostguest.XXXXXX)
	mkfifo "$HG_DIR/ser.in" "$HG_DIR/ser.out"
	qemu-system-x86_64 -accel tcg -cpu max -m 256 -smp 1 -nodefaults \
		-display none -no-reboot \
		-name "guest=$name,debug-threads=on" \
		-kernel "$HG_KERNEL" -initrd "$HG_INITRD" \
		-append "console=ttyS0 quiet loglevel=0 panic=-1 ipv6.disable=1 $append" \
		-chardev "pipe,id=ser,path=$HG_DIR/ser" -serial chardev:ser \
		-qmp "unix:$HG_DIR/qmp.sock,server=on,wait=off" \
		-daemonize -pidfile "$HG_DIR/qemu.pid" "$@" ||
		{ echo "cannot start QEMU"; return 1; }
	HG_PID=$(cat "$HG_DIR/qemu.pid")
	exec 5<>"$HG_DIR/ser.out" 6<>"$HG_DIR/ser.in"
}

# hg_expect WORD SECONDS: reads serial lines (kept in HG_LOG if set) until
# one starting with WORD; HG_LINE holds it, HG_TIME the host's wall clock.
hg_expect() {
	local word=$1 end=$(( $(date +%s) + $2 )) line part=""
	while [ "$(date +%s)" -lt "$end" ]; do
		# A timeout can split a line: bash leaves what it read in line.
		if ! IFS= read -r -t 1 line <&5; then
			part=$part$line
			continue
		fi
		line=$part${line%$'\r'}
		part=""
		[ -n "$HG_LOG" ] && printf '%s %s\n' "$(date +%s.%N)" "$line" >> "$HG_LOG"
		case $line in
		"$word"*) HG_LINE=$line; HG_TIME=$(date +%s.%N); return 0;;
		KS_FAIL*) echo "guest: $line"; return 1;;
		esac
	done
	echo "the guest did not say $word within $2 s"
	return 1
}

hg_say() { printf '%s\n' "$1" >&6; }

# hg_steps SECONDS: follows a ks.go=wait disk workload to its KS_DONE,
# letting each step start once its mark is logged.
hg_steps() {
	local end=$(( $(date +%s) + $1 ))
	while hg_expect KS_ $(( end - $(date +%s) )); do
		case $HG_LINE in
		KS_[WRD]0\ *) hg_say go;;
		KS_DONE*) return 0;;
		esac
	done
	return 1
}

hg_stop() {
	if [ -n "$HG_PID" ] && kill -0 "$HG_PID" 2>/dev/null; then
		kill "$HG_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$HG_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$HG_PID" 2>/dev/null
	fi
	exec 5<&- 6>&- 2>/dev/null
	[ -z "$HG_DIR" ] || rm -rf "$HG_DIR"
	HG_PID=""
	HG_DIR=""
}
