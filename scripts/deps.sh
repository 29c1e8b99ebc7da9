#!/bin/sh
# deps.sh - installs the Debian packages kvmscope's build, tests, demo and
# benchmarks need, by name, only those missing.  Idempotent; needs root (or
# sudo) only when something is missing.
set -eu

PKGS="build-essential pkg-config clang llvm libjansson-dev libpng-dev zlib1g-dev
libcmocka-dev libmicrohttpd-dev libsqlite3-dev libbpf-dev libelf-dev bpftool
libcurl4-openssl-dev
gawk python3 curl openssl wrk qemu-system-x86 qemu-utils busybox-static cpio kmod
e2fsprogs iproute2 linux-perf bpftrace
debhelper dpkg-dev debootstrap zsh
prometheus victoria-metrics"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
