#!/bin/bash
# t_version.sh - the version: --version, `version`, and where it comes from.
#
# `kvmscope --version` and `kvmscope version` print "kvmscope VERSION";
# `version -j` has the same version, the revision, compiler and libbpf.
# scripts/version.sh (the Makefile's source) gives, in this checkout, the
# VERSION file's version or the newest vX.Y.Z tag's; in a tarball without
# git (made here with git archive), the VERSION file's and the REVISION
# file's, else "unknown".  Bad arguments are refused on stderr.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
fail() { echo "FAIL: $*"; exit 1; }

v=$("$K" --version) || fail "--version"
[[ $v =~ ^kvmscope\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "--version: '$v'"
[ "$("$K" version)" = "$v" ] || fail "version: '$("$K" version)' != '$v'"
[ "$("$K" -V)" = "$v" ] || fail "-V"
"$K" version -j | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert "kvmscope " + j["version"] == sys.argv[1], (j, sys.argv[1])
for k in ("revision", "compiler", "libbpf"):
    assert j[k], k
' "$v" || fail "version -j"
"$K" version -v | grep -q '^libbpf v[0-9]' || fail "version -v has no libbpf line"
if "$K" version --bogus 2>/dev/null; then fail "version --bogus exited 0"; fi
"$K" --help | grep -q -- '--version' || fail "--help does not mention --version"
echo "ok   $v"

# Where it comes from: this checkout, then a tarball of it.
base=$(cat "$TOP/VERSION")
mine=$("$TOP/scripts/version.sh" | head -1)
case $mine in
"$base"-g*|[0-9]*.[0-9]*.[0-9]*) ;;
*) fail "version.sh in git: '$mine'" ;;
esac
if git -C "$TOP" rev-parse HEAD >/dev/null 2>&1; then
	d=$(mktemp -d /tmp/ks-ver.XXXXXX)
	git -C "$TOP" archive HEAD VERSION scripts/version.sh | tar -C "$d" -xf -
	out=$("$d/scripts/version.sh" | tr '\n' ' ')
	[ "$out" = "$(cat "$d/VERSION") unknown " ] ||
		{ rm -rf "$d"; fail "tarball: '$out'"; }
	echo 1a2b3c4d5e6f >"$d/REVISION"
	out=$("$d/scripts/version.sh" | tr '\n' ' ')
	rm -rf "$d"
	[ "$out" = "$base 1a2b3c4d5e6f " ] || fail "tarball with REVISION: '$out'"
	echo "ok   version.sh: '$mine' here, the VERSION file's in a tarball"
fi
echo "version ok"
