#!/bin/bash
# The manual page: man/kvmscope.8 renders with man(1) without a groff
# warning, has the sections it promises, names every subcommand that
# `kvmscope --help` lists in both SYNOPSIS and COMMANDS, and states a cost
# in OVERHEAD for every source `kvmscope serve --help` lists, with the
# date of the measurement.  Installs man-db and groff-base (by name) when
# missing and it can; else skips.
set -u
K=${KVMSCOPE:-$TOP/.output-asan/kvmscope}
PAGE=$TOP/man/kvmscope.8
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "$*"; exit 77; }

[ -f "$PAGE" ] || fail "no $PAGE"
if ! command -v man > /dev/null || ! command -v nroff > /dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends man-db groff-base > /dev/null 2>&1
	fi
	command -v man > /dev/null && command -v nroff > /dev/null ||
		skip "man-db and groff-base are not installed (apt-get install man-db groff-base)"
fi

out=$(mktemp /tmp/kvmscope-t_man.XXXXXX)
err=$out.err
trap 'rm -f "$out" "$err"' EXIT
MANWIDTH=80 MAN_KEEP_FORMATTING=0 man --warnings -l "$PAGE" 2> "$err" |
	col -bx > "$out"
[ -s "$out" ] || fail "man -l rendered nothing: $(head -3 "$err")"
[ ! -s "$err" ] || fail "groff warnings: $(head -5 "$err")"
echo "ok   renders: $(wc -l < "$out") lines, no warnings"

# section NAME: the rendered text of one section.
section() {
	awk -v s="$1" '/^[A-Z][A-Z ]*$/ { on = ($0 == s); next } on' "$out"
}
for s in NAME SYNOPSIS DESCRIPTION COMMANDS METRICS OVERHEAD; do
	[ -n "$(section "$s")" ] || fail "no $s section"
done
echo "ok   sections NAME SYNOPSIS DESCRIPTION COMMANDS METRICS OVERHEAD"

# The subcommands, as the binary lists them.
cmds=$("$K" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
[ -n "$cmds" ] || fail "kvmscope --help lists no commands"
syn=$(section SYNOPSIS | tr -s ' \n' '  ')
for c in $cmds; do
	grep -q "kvmscope $c\b" <<< "$syn" || fail "SYNOPSIS lacks 'kvmscope $c'"
	section COMMANDS | grep -Eq "^       $c( |$)" || fail "COMMANDS has no entry for $c"
done
echo "ok   every subcommand in SYNOPSIS and COMMANDS: $(echo $cmds)"

# Every live source states its cost, measured on a dated day.
srcs=$("$K" serve --help 2>&1 | awk '/^Sources:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
[ -n "$srcs" ] || fail "kvmscope serve --help lists no sources"
ovh=$(section OVERHEAD)
for s in $srcs; do
	grep -q "\b$s\b" <<< "$ovh" || fail "OVERHEAD says nothing of source $s"
done
grep -Eq '(Measured|measured).* 20[0-9]{2}-[0-9]{2}-[0-9]{2}|20[0-9]{2}-[0-9]{2}-[0-9]{2}' <<< "$ovh" ||
	fail "OVERHEAD gives no date for its measurements"
grep -q 'probe_ns_per_event\|BPF ns per exit' <<< "$ovh" || fail "OVERHEAD has no ns per exit"
echo "ok   OVERHEAD covers every source: $(echo $srcs)"
echo "t_man ok"
