#!/bin/bash
# t_deb.sh - `make deb` builds a Debian package that installs and runs in
# a clean Debian.
#
# The package must hold the binary, the web UI, the man page, the systemd
# unit, the example config (a conffile) and bash and zsh completion, and
# depend on the libraries it links.  It is installed with apt into a fresh
# minimal Debian of the host's release (tests/packaging/chroot.sh: made by
# debootstrap once, then cached), which fetches those dependencies.  There
# the agent is started as the unit's ExecStart starts it (the chroot has
# no systemd), with the installed config told to listen on a free port,
# in its own mount namespace with /proc, /sys and /dev; GET /ca must
# answer the catalogue, / the installed web UI and /healthz ok, and
# `kvmscope --version` is the tree's.  bash completion works in the
# chroot, and the package purges cleanly, conffile included.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
[ "$(id -u)" = 0 ] || { echo "needs root (chroot, mounts)"; exit 77; }
for c in dpkg-buildpackage dh debootstrap curl python3 unshare; do
	command -v $c >/dev/null || { echo "$c is not installed (make deps)"; exit 77; }
done
. "$TOP/tests/packaging/chroot.sh"

O=$(mktemp -d /tmp/t_deb.XXXXXX)
C=$O/root
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ks_chroot_free "$C"
	rm -rf "$O"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$O/err" ] && tail -20 "$O/err"; exit 1; }

# ---- build ------------------------------------------------------------
tree_version=$("$TOP/scripts/version.sh" | head -1)
make -s -C "$TOP" O="$O/build" deb >"$O/make.out" 2>&1 ||
	fail "make deb: $(tail -20 "$O/make.out")"
deb=$(ls "$O"/build/deb/kvmscope_*_amd64.deb 2>/dev/null | head -1)
[ -f "$deb" ] || fail "make deb made no .deb: $(tail -5 "$O/make.out")"
ver=$(dpkg-deb -f "$deb" Version)
echo "ok   make deb: $(basename "$deb")"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$O/files"
for f in /usr/sbin/kvmscope /usr/share/kvmscope/web/index.html \
	/usr/share/kvmscope/web/app.js /usr/share/man/man8/kvmscope.8.gz \
	/lib/systemd/system/kvmscope.service /etc/kvmscope/kvmscope.conf \
	/usr/share/bash-completion/completions/kvmscope \
	/usr/share/zsh/vendor-completions/_kvmscope; do
	grep -qx "$f" "$O/files" || fail "the package lacks $f"
done
dpkg-deb -I "$deb" conffiles | grep -qx /etc/kvmscope/kvmscope.conf ||
	fail "the config is not a conffile"
deps=$(dpkg-deb -f "$deb" Depends)
for l in libbpf1 libjansson4 libmicrohttpd12 libsqlite3-0 zlib1g; do
	grep -q "$l" <<<"$deps" || fail "Depends lacks $l: $deps"
done
dpkg-deb -I "$deb" postinst | grep -q 'deb-systemd-helper' ||
	fail "postinst does not enable the unit"
echo "ok   contents, conffile, Depends ($deps), unit enabled by postinst"

# ---- install in a clean Debian -------------------------------------------
ks_chroot_make "$C" || { echo "no clean Debian root could be made (debootstrap, mirror)"; exit 77; }
cp "$deb" "$C/tmp/"
cp /etc/resolv.conf "$C/etc/resolv.conf" 2>/dev/null
ks_chroot_apt "$C" install --no-install-recommends "/tmp/$(basename "$deb")" \
	>"$O/apt.out" 2>&1 || fail "apt install in the chroot: $(tail -10 "$O/apt.out")"
[ "$(chroot "$C" dpkg-query -W -f '${Status} ${Version}' kvmscope)" = \
	"install ok installed $ver" ] || fail "kvmscope is not installed in the chroot"
got=$(chroot "$C" /usr/sbin/kvmscope --version) || fail "kvmscope --version in the chroot"
[ "$got" = "kvmscope $tree_version" ] ||
	fail "the packaged version '$got' is not the tree's ($tree_version)"
echo "ok   installed in a clean $(ks_chroot_release) with its dependencies: $got"

# ---- start it as the unit does ---------------------------------------------
exec_start=$(sed -n 's/^ExecStart=//p' "$C/lib/systemd/system/kvmscope.service")
[ -n "$exec_start" ] || fail "the installed unit has no ExecStart"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "listen = 127.0.0.1:$port" >>"$C/etc/kvmscope/kvmscope.conf"
mkdir -p "$C/var/lib/kvmscope"
unshare --mount --propagation private sh -c '
	C=$1; shift
	mount -t proc proc "$C/proc" && mount --rbind /sys "$C/sys" &&
	mount --rbind /dev "$C/dev" && exec chroot "$C" "$@"' _ "$C" \
	$exec_start 2>"$O/err" &
pid=$!
for _ in $(seq 1 300); do
	grep -q "listening on http://127.0.0.1:$port/" "$O/err" && break
	kill -0 "$pid" 2>/dev/null || fail "the installed agent exited at start"
	sleep 0.1
done
grep -q "listening on http://127.0.0.1:$port/" "$O/err" || fail "the agent does not listen"
curl -sf "http://127.0.0.1:$port/ca" >"$O/ca.json" || fail "GET /ca"
python3 - "$O/ca.json" <<'PY' || fail "GET /ca is not the catalogue"
import json, sys
ca = json.load(open(sys.argv[1]))
names = {m["module"] + "." + m["stat"] for m in ca["metrics"]}
assert "vm.exits" in names and "nic.vnic_bytes" in names, names
print("ok   GET /ca from the packaged agent: %d metrics" % len(names))
PY
curl -sf "http://127.0.0.1:$port/" >"$O/index.html" || fail "GET /"
cmp -s "$O/index.html" "$C/usr/share/kvmscope/web/index.html" ||
	fail "GET / is not the packaged web UI"
curl -sf "http://127.0.0.1:$port/healthz" | grep -q '"status": *"ok"' || fail "GET /healthz"
kill -TERM "$pid"
wait "$pid" || fail "the packaged agent did not stop cleanly on SIGTERM"
pid=
echo "ok   the packaged agent, started as its unit, serves /ca, / and /healthz"

# ---- completion and removal ---------------------------------------------------
chroot "$C" bash -c '. /usr/share/bash-completion/completions/kvmscope;
	COMP_WORDS=(kvmscope to); COMP_CWORD=1; _kvmscope; echo "${COMPREPLY[*]}"' \
	>"$O/comp" 2>&1 && [ "$(cat "$O/comp")" = top ] ||
	fail "bash completion in the chroot: $(cat "$O/comp")"
ks_chroot_apt "$C" purge kvmscope >"$O/apt.out" 2>&1 || fail "apt purge: $(tail -5 "$O/apt.out")"
[ -e "$C/usr/sbin/kvmscope" ] && fail "purge left the binary"
[ -e "$C/etc/kvmscope/kvmscope.conf" ] && fail "purge left the conffile"
echo "deb ok: $(basename "$deb")"
