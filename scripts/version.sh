#!/bin/sh
# version.sh - prints kvmscope's version and revision, one per line, for
# the build (Makefile: `kvmscope --version`, kvmscope_build_info) and for
# `make deb`.
#
# The version is `git describe` of the newest vX.Y.Z tag, v dropped
# ("0.2.0", or "0.2.0-3-g1a2b3c4" three commits later); without such a tag,
# the VERSION file's version and the commit ("0.1.0-g1a2b3c4").  A tree
# with uncommitted changes adds "-dirty".  Outside git (a release tarball,
# or `make deb`'s copy of the tree) it is the VERSION file's, and the
# revision the REVISION file's, else "unknown".
set -u
cd "$(dirname "$0")/.." || exit 1
base=$(cat VERSION 2>/dev/null || echo 0.0.0)
# Only this tree's own git: a copy inside a checkout is not that checkout.
if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ] &&
	rev=$(git rev-parse --short=12 HEAD 2>/dev/null); then
	if v=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then
		v=${v#v}
	else
		v=$base-g$(git describe --always --abbrev=7 --dirty)
	fi
else
	v=$base rev=$(cat REVISION 2>/dev/null || echo unknown)
fi
echo "$v"
echo "$rev"
