#!/bin/busybox sh
# init.sh - /init of the lab's L1 guest (busybox initramfs, Debian kernel).
#
# Sets up what every scenario needs and then runs one: pseudo filesystems
# (proc, sys, dev, tracefs, debugfs, bpffs), kvm_amd (options from
# lab.kvmopts=a=1,b=2), the two 9p shares from the host - "lab" is
# tests/lab read-only at /lab, "out" is lab-out/<scenario> read-write at
# /out, and with lab.hostroot=1 "hostroot" (the host's /) at /host - and,
# with lab.net=1, eth0 on QEMU's user network.  Then it runs
# /lab/scenarios/<lab.scenario>.sh with the words of /out/args as its
# arguments, in /out, its output on the console and in /out/scenario.log.
# The scenario's exit status goes to /out/status, and the console gets a
# "LAB_STATUS <rc>" line, before the guest powers off.  Without
# lab.scenario it starts a shell on the console.  "T_<stage> <uptime>"
# lines time the boot.
/bin/busybox --install -s /bin
export PATH=/usr/local/bin:/bin:/sbin
umask 022
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
ip link set lo up 2>/dev/null

ut() { cut -d' ' -f1 /proc/uptime; }
arg() {
	for a in $(cat /proc/cmdline); do
		case $a in "$1"=*) echo "${a#*=}";; esac
	done
}
echo "T_INIT $(ut)"

# kvm_amd first: everything in the lab is about it.
t0=$(ut)
if modprobe kvm_amd $(arg lab.kvmopts | tr ',' ' '); then
	echo "T_KVM_AMD $(ut) (modprobe from $t0)"
else
	echo "LAB_KVM_AMD_FAILED"
fi

# 9p shares, found by their mount tags.
modprobe virtio_pci
modprobe 9pnet_virtio
modprobe 9p
mount9p() {	# tag dir [extra options]; fails quietly when the tag is absent
	mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000$3" \
		"$1" "$2" 2>/dev/null
}
mount9p lab /lab ",ro" || echo "LAB_NO_LAB_SHARE"
mount9p out /out || echo "LAB_NO_OUT_SHARE"
if [ "$(arg lab.hostroot)" = 1 ]; then
	mount9p hostroot /host ",ro" && echo "host root at /host (read-only)"
fi

if [ "$(arg lab.net)" = 1 ]; then
	modprobe virtio_net
	ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 &&
		ip route add default via 10.0.2.2 && echo "eth0 10.0.2.15/24"
fi
echo "T_READY $(ut)"

S=$(arg lab.scenario)
if [ -z "$S" ]; then
	echo "no lab.scenario: shell on the console (poweroff -f to leave)"
	setsid cttyhack sh
	poweroff -f
fi

# Watchdog: a heartbeat on the console shows whether L1 itself is alive,
# and shortly before the host's timeout the blocked tasks and every CPU's
# backtrace go to the console, to tell a stuck guest from a stuck TCG.
watchdog() {	# seconds the host gives this boot
	local n=0 dump=$(($1 - 25)) dumped=""
	while sleep 10; do
		n=$((n + 10))
		[ $((n % 30)) = 0 ] && echo "T_ALIVE $(ut)"
		if [ $n -ge $dump ] && [ -z "$dumped" ]; then
			dumped=1
			echo "LAB_WATCHDOG: ${n}s into the scenario; blocked tasks and CPUs:"
			echo w > /proc/sysrq-trigger
			echo l > /proc/sysrq-trigger
		fi
	done
}
TO=$(arg lab.timeout)
[ -n "$TO" ] && { watchdog "$TO" & }

cd /out
if [ -f "/lab/scenarios/$S.sh" ]; then
	echo "T_SCENARIO_START $(ut) $S"
	{ sh "/lab/scenarios/$S.sh" $(cat /out/args 2>/dev/null) 2>&1
	  echo $? > /tmp/rc; } | tee /out/scenario.log
	rc=$(cat /tmp/rc)
else
	echo "no scenario $S in /lab/scenarios" | tee /out/scenario.log
	rc=2
fi
echo "$rc" > /out/status
sync
echo "T_SCENARIO_DONE $(ut)"
echo "LAB_STATUS $rc"
poweroff -f
