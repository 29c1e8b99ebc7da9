#!/bin/bash
# t_install.sh - packaging: `make install` into a staging DESTDIR puts the
# binary, web UI, man page, systemd unit and example config where they
# belong, with bash and zsh completion (and keeps an existing config);
# the installed binary finds its installed web UI by itself and accepts
# the installed example config; the unit passes `systemd-analyze verify`
# with no complaint (when systemd-analyze exists), and its ExecStart names
# the installed binary.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v curl >/dev/null || { echo "curl is not installed"; exit 77; }
[ -x "$TOP/.output/kvmscope" ] || { echo "build first (make)"; exit 77; }

tmp=$(mktemp -d /tmp/t_install.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/err" ] && tail -5 "$tmp/err"; exit 1; }

D=$tmp/root
make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr >"$tmp/make.out" 2>&1 ||
	fail "make install: $(tail -5 "$tmp/make.out")"
for f in usr/sbin/kvmscope usr/share/kvmscope/web/index.html \
	usr/share/kvmscope/web/app.js lib/systemd/system/kvmscope.service \
	etc/kvmscope/kvmscope.conf usr/share/bash-completion/completions/kvmscope \
	usr/share/zsh/vendor-completions/_kvmscope; do
	[ -f "$D/$f" ] || fail "make install did not install /$f"
done
[ -x "$D/usr/sbin/kvmscope" ] || fail "the binary is not executable"
if [ -f "$TOP/man/kvmscope.8" ]; then
	[ -f "$D/usr/share/man/man8/kvmscope.8" ] || fail "no man page installed"
fi
cmp -s "$TOP/web/index.html" "$D/usr/share/kvmscope/web/index.html" ||
	fail "installed index.html differs"
grep -q '^ExecStart=/usr/sbin/kvmscope serve --config /etc/kvmscope/kvmscope.conf$' \
	"$D/lib/systemd/system/kvmscope.service" || fail "unexpected ExecStart"

# An existing config is kept.
echo "# mine" >"$D/etc/kvmscope/kvmscope.conf"
make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr >"$tmp/make.out" 2>&1 ||
	fail "second make install"
[ "$(cat "$D/etc/kvmscope/kvmscope.conf")" = "# mine" ] ||
	fail "make install replaced an existing config"
cp "$TOP/contrib/kvmscope.conf" "$D/etc/kvmscope/kvmscope.conf"

# Another PREFIX: paths in the unit follow it.
make -s -C "$TOP" install DESTDIR="$tmp/local" >"$tmp/make.out" 2>&1 ||
	fail "make install PREFIX=/usr/local"
grep -q '^ExecStart=/usr/local/sbin/kvmscope serve --config /usr/local/etc/kvmscope/kvmscope.conf$' \
	"$tmp/local/usr/local/lib/systemd/system/kvmscope.service" ||
	fail "PREFIX=/usr/local: unexpected ExecStart"
[ -f "$tmp/local/usr/local/share/zsh/site-functions/_kvmscope" ] ||
	fail "PREFIX=/usr/local: zsh completion not in site-functions"

# The installed binary, run as the unit would (but on a free port),
# serves the installed web UI without being told where it is.
"$D/usr/sbin/kvmscope" serve --config "$D/etc/kvmscope/kvmscope.conf" \
	--listen 127.0.0.1:0 --no-state 2>"$tmp/err" &
pid=$!
port=
for _ in $(seq 1 300); do
	port=$(sed -n 's|^kvmscope: listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$tmp/err")
	[ -n "$port" ] && break
	kill -0 "$pid" 2>/dev/null || fail "the installed agent exited at start"
	sleep 0.1
done
[ -n "$port" ] || fail "the installed agent does not listen"
curl -s -o "$tmp/index" "http://127.0.0.1:$port/" || fail "GET /"
cmp -s "$tmp/index" "$TOP/web/index.html" ||
	fail "the installed agent does not serve its installed web UI"
kill -TERM "$pid"
wait "$pid" || fail "the installed agent did not stop cleanly"
pid=

# The unit, as systemd reads it.
if ! command -v systemd-analyze >/dev/null; then
	echo "install ok; systemd-analyze not found: the unit was not verified"
	exit 0
fi
sed "s|^ExecStart=/usr/sbin/kvmscope|ExecStart=$D/usr/sbin/kvmscope|" \
	"$D/lib/systemd/system/kvmscope.service" >"$tmp/kvmscope.service"
systemd-analyze verify --man=no "$tmp/kvmscope.service" >"$tmp/verify" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$tmp/verify")"
# It exits 0 on settings it ignores: any output is a complaint.
[ -s "$tmp/verify" ] && fail "systemd-analyze verify: $(cat "$tmp/verify")"
# The hardening asked for is there.
for k in 'ProtectSystem=strict' 'ProtectHome=' 'NoNewPrivileges=yes' \
	'StateDirectory=kvmscope' 'CapabilityBoundingSet=CAP_BPF'; do
	grep -q "^$k" "$tmp/kvmscope.service" || fail "the unit lacks $k"
done
echo "install ok; unit verified"
