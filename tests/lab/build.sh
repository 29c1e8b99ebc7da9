#!/bin/bash
# build.sh - prepares the lab: the L1 kernel, kvmtest and the L1 initramfs.
#
# The lab runs real KVM on a machine without hardware virtualisation: QEMU's
# TCG emulates an AMD EPYC with SVM and nested paging, and a stock Debian
# kernel booted as the L1 guest loads kvm_amd.  This script gets what that
# needs and nothing more, into lab-out/ at the repository root (git-ignored):
#
#   lab-out/cache/      the kernel .deb, fetched with `apt-get download`
#   lab-out/kernel/     the .deb unpacked (never installed on the host)
#   lab-out/build/      kvmtest (static) and initramfs.gz: busybox, the
#                       modules L1 loads with their dependency closure,
#                       kvmtest and /init (tests/lab/init.sh)
#
# It is idempotent and cheap when nothing changed (each step compares its
# inputs with a stamp), so run-l1.sh calls it before every boot.  Packages
# are installed by Debian name with apt-get when missing.  Exit status 77,
# with the reason as the last line, means the lab cannot be had here (not
# root, no package mirror, no kernel package): tests treat that as a skip.
#
# Environment: LAB_KPKG (kernel package, default: what LAB_KMETA depends
# on), LAB_KMETA (a Debian kernel meta-package, default linux-image-amd64,
# Debian 12's 6.1; linux-image-6.12-amd64 gives 6.12), LAB_OUT (default
# <repo>/lab-out: one kernel per output folder, so tests of another kernel
# give it a folder of its own), LAB_QUIET=1 (less output).
set -euo pipefail
LAB=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$LAB/../.." && pwd)
OUT=${LAB_OUT:-$TOP/lab-out}
CACHE=$OUT/cache
BUILD=$OUT/build
PKGS="qemu-system-x86 busybox-static cpio kmod gcc libc6-dev python3"
# Modules /init loads; their dependencies are found by modprobe.
MODS="kvm_amd virtio_pci 9p 9pnet_virtio virtio_net"

say() { [ "${LAB_QUIET:-0}" = 1 ] || echo "lab-build: $*"; }
skip() { echo "lab-build: cannot build the lab: $*" >&2; exit 77; }

apt_updated=0
apt_update() {
	[ $apt_updated = 1 ] && return 0
	apt-get update -qq >/dev/null 2>&1 || skip "apt-get update failed (no package mirror?)"
	apt_updated=1
}

install_packages() {
	local p missing=""
	for p in $PKGS; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || skip "missing packages:$missing (need root to install)"
	say "installing$missing"
	apt_update
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $missing >/dev/null ||
		skip "apt-get install$missing failed"
}

# The kernel package: the one linux-image-amd64 depends on (6.1 on
# Debian 12), unless LAB_KPKG names one.  A .deb already in the cache is
# used without asking the mirror, so the lab works offline once fetched.
kernel_package() {
	local k=${LAB_KPKG:-} meta=${LAB_KMETA:-linux-image-amd64}
	if [ -z "$k" ]; then
		k=$(apt-cache depends "$meta" 2>/dev/null |
		    awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	fi
	if [ -z "$k" ]; then
		apt_update
		k=$(apt-cache depends "$meta" 2>/dev/null |
		    awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	fi
	if [ -z "$k" ]; then	# offline: fall back on the cache
		k=$(ls "$CACHE"/linux-image-*_amd64.deb 2>/dev/null | tail -1)
		k=$(basename "${k%%_*}" 2>/dev/null || true)
	fi
	[ -n "$k" ] || skip "no kernel package: $meta is unknown to apt and $CACHE is empty"
	echo "$k"
}

fetch_kernel() {
	local kpkg=$1 kver=${1#linux-image-} deb
	if [ -f "$OUT/kernel/boot/vmlinuz-$kver" ]; then
		return 0
	fi
	mkdir -p "$CACHE"
	deb=$(ls "$CACHE/${kpkg}"_*.deb 2>/dev/null | tail -1 || true)
	if [ -z "$deb" ]; then
		say "downloading $kpkg"
		# apt-get download as root warns that _apt cannot write here.
		(cd "$CACHE" && apt-get download "$kpkg" >/dev/null 2>&1) ||
			{ apt_update; (cd "$CACHE" && apt-get download "$kpkg" >/dev/null 2>&1); } ||
			skip "apt-get download $kpkg failed (no network to the Debian mirror?)"
		deb=$(ls "$CACHE/${kpkg}"_*.deb | tail -1)
	fi
	say "unpacking $(basename "$deb")"
	rm -rf "$OUT/kernel.tmp"
	dpkg-deb -x "$deb" "$OUT/kernel.tmp"
	rm -rf "$OUT/kernel"
	mv "$OUT/kernel.tmp" "$OUT/kernel"
}

build_kvmtest() {
	local src=$LAB/kvmtest.c bin=$BUILD/kvmtest
	if [ -x "$bin" ] && [ "$bin" -nt "$src" ]; then
		return 0
	fi
	say "compiling kvmtest"
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -static -pthread \
		-o "$bin.tmp" "$src" -lm
	mv "$bin.tmp" "$bin"
}

# Copies the modules in $MODS and everything they depend on, as modprobe
# resolves it against the unpacked kernel's own modules.dep.
copy_modules() {
	local root=$1 kver=$2 kdir=$OUT/kernel m ko rel
	depmod -b "$kdir" "$kver"
	for m in $MODS; do
		modprobe -d "$kdir" -S "$kver" --show-depends "$m" ||
			{ echo "lab-build: module $m not in $kver" >&2; return 1; }
	done | awk '/^insmod/ { print $2 }' | sort -u | while read -r ko; do
		rel=${ko#"$kdir"/}
		mkdir -p "$root/$(dirname "$rel")"
		cp "$ko" "$root/$rel"
	done
	cp "$kdir/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} \
		"$root/lib/modules/$kver/"
	depmod -b "$root" "$kver"
}

build_initramfs() {
	local kver=$1 root=$BUILD/initramfs stamp=$BUILD/initramfs.stamp
	local want="$kver|$MODS|$(cksum < "$LAB/init.sh")|$(cksum < "$BUILD/kvmtest")"
	if [ -f "$BUILD/initramfs.gz" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
	   gzip -t "$BUILD/initramfs.gz" 2>/dev/null; then
		return 0
	fi
	say "building initramfs for $kver"
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,lab,out,host} \
		"$root/lib/modules/$kver" "$root/usr/local/bin"
	cp /bin/busybox "$root/bin/busybox"
	cp "$BUILD/kvmtest" "$root/bin/kvmtest"
	cp "$LAB/init.sh" "$root/init"
	chmod 755 "$root/init"
	echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
	echo "root:x:0:" > "$root/etc/group"
	copy_modules "$root" "$kver"
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) \
		> "$BUILD/initramfs.gz.tmp"
	mv "$BUILD/initramfs.gz.tmp" "$BUILD/initramfs.gz"
	echo "$want" > "$stamp"
}

main() {
	local kpkg kver
	mkdir -p "$OUT" "$BUILD"
	# Two builds at once (two engineers, two tests) would interleave their
	# writes to the same files: one at a time.
	exec 7> "$OUT/.build.lock"
	flock -w 600 7 || { echo "lab-build: $OUT/.build.lock held for 10 minutes" >&2; exit 1; }
	install_packages
	kpkg=$(kernel_package)
	kver=${kpkg#linux-image-}
	fetch_kernel "$kpkg"
	if [ "$(cat "$OUT/kernel/KVER" 2>/dev/null)" != "$kver" ]; then
		ln -sfn "boot/vmlinuz-$kver" "$OUT/kernel/vmlinuz"
		echo "$kver" > "$OUT/kernel/KVER"
	fi
	build_kvmtest
	build_initramfs "$kver"
	say "ready: kernel $kver, $(du -h "$BUILD/initramfs.gz" | cut -f1) initramfs"
}

main "$@"
