# chroot.sh - a clean Debian root for the packaging tests (sourced).
#
# ks_chroot_make DIR: DIR becomes a fresh minimal Debian (debootstrap
# --variant=minbase) of the host's release, from the mirror apt uses.
# debootstrap takes minutes, so its result is kept as a tarball under
# $TOP/.cache/deb-chroot (gitignored; remove it to start over), with the
# packages apt later downloads into it; a run unpacks the tarball (seconds)
# and bind-mounts that package cache.  A clean clone makes the cache on
# its first run.  Needs root and debootstrap; without them, or without the
# mirror, the caller skips.

KS_CACHE=${KS_CACHE:-$TOP/.cache/deb-chroot}

# The host's release and the first Debian mirror apt is configured with.
ks_chroot_release() {
	. /etc/os-release
	echo "${VERSION_CODENAME:-bookworm}"
}
ks_chroot_mirror() {
	local m
	m=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources \
		2>/dev/null | grep -v security | head -1)
	[ -n "$m" ] || m=$(sed -n 's/^deb  *\(\[[^]]*\] *\)\{0,1\}\([^ ]*\).*/\2/p' \
		/etc/apt/sources.list 2>/dev/null | grep -v security | head -1)
	echo "${m:-http://deb.debian.org/debian}"
}

ks_chroot_make() {
	local dir=$1 rel tar
	rel=$(ks_chroot_release)
	tar=$KS_CACHE/$rel-minbase.tar
	mkdir -p "$KS_CACHE/archives/partial" "$dir"
	if [ ! -s "$tar" ]; then
		local b=$KS_CACHE/build.$$
		rm -rf "$b"
		echo "chroot: debootstrap $rel from $(ks_chroot_mirror) (once; cached in $tar)"
		debootstrap --variant=minbase "$rel" "$b" "$(ks_chroot_mirror)" \
			>"$KS_CACHE/debootstrap.log" 2>&1 || {
			echo "debootstrap failed: $(tail -3 "$KS_CACHE/debootstrap.log")"
			rm -rf "$b"
			return 1
		}
		cp /etc/resolv.conf "$b/etc/resolv.conf" 2>/dev/null
		chroot "$b" apt-get update -qq >"$KS_CACHE/update.log" 2>&1 || {
			echo "apt-get update in the chroot failed: $(tail -3 "$KS_CACHE/update.log")"
			rm -rf "$b"
			return 1
		}
		rm -rf "$b/var/cache/apt/archives"/*.deb
		tar -C "$b" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
		rm -rf "$b"
	fi
	tar -C "$dir" -xf "$tar" || return 1
	mount --bind "$KS_CACHE/archives" "$dir/var/cache/apt/archives"
}

# ks_chroot_apt DIR ARGS...: apt-get in the chroot; on a failure (lists
# older than the mirror) updates them once and tries again.
ks_chroot_apt() {
	local dir=$1
	shift
	DEBIAN_FRONTEND=noninteractive chroot "$dir" apt-get -y -q "$@" && return 0
	chroot "$dir" apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive chroot "$dir" apt-get -y -q "$@"
}

ks_chroot_free() {
	local dir=$1
	[ -d "$dir" ] || return 0
	umount "$dir/var/cache/apt/archives" 2>/dev/null
	rm -rf --one-file-system "$dir"
}
