#!/bin/bash
# t_completion.sh - bash and zsh completion match the binary, and work.
#
# The commands (and, for zsh, their summaries) must be those of
# `kvmscope --help`, which prints main.c's command table, and each
# command's options those its --help lists (lines that start with an
# option), in both files: a command or option added without its
# completion fails here.  Then bash really completes: the script is
# sourced and _kvmscope run on typed words (a command prefix, a command's
# options, top's sort keys, a file for --input).  zsh, when installed,
# must parse the file (zsh -n).
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$TOP/contrib/completion/kvmscope.bash
Z=$TOP/contrib/completion/_kvmscope
fail() { echo "FAIL: $*"; exit 1; }

"$K" --help >/tmp/ks-comp.$$ || fail "kvmscope --help"
cmds=$(sed -n 's/^  \([a-z][a-z]*\)  *.*/\1/p' /tmp/ks-comp.$$)
[ -n "$cmds" ] || fail "no commands in kvmscope --help"
bash_cmds=$(sed -n 's/^_kvmscope_commands="\(.*\)"$/\1/p' "$B")
[ "$(echo $cmds)" = "$bash_cmds" ] ||
	fail "bash commands '$bash_cmds', the binary has '$(echo $cmds)'"
# zsh: 'name:summary' lines, as --help prints "  name  summary".
sed -n "s/^  \([a-z][a-z]*\)  *\(.*\)$/\1:\2/p" /tmp/ks-comp.$$ >/tmp/ks-comp-want.$$
python3 - "$Z" /tmp/ks-comp-want.$$ <<'PY' || fail "zsh commands differ from the binary's"
import re, sys
text = open(sys.argv[1]).read()
block = re.search(r"commands=\(\n(.*?)\n\)", text, re.S).group(1)
got = []
for line in block.splitlines():
    # '...'"'"'...' is a quote inside single quotes
    s = line.strip().replace("'\"'\"'", "\x00")
    got.append(s.strip("'").replace("\x00", "'"))
want = open(sys.argv[2]).read().splitlines()
assert got == want, (got, want)
PY
rm -f /tmp/ks-comp.$$ /tmp/ks-comp-want.$$

n=0
for c in $cmds; do
	# Option lines: "  -j, --json   text", "      --width N, --height N  text".
	want=$("$K" "$c" --help 2>&1 |
		awk '/^ +-/ { sub(/^ +/, ""); split($0, a, /   */); print a[1] }' |
		grep -o -- '--[a-z][a-z0-9-]*' | sort -u | tr '\n' ' ')
	b=$(sed -n "s/^	$c) opts=\"\(.*\)\" ;;\$/\1/p" "$B" | tr ' ' '\n' | sort -u | tr '\n' ' ')
	z=$(sed -n "s/^$c) opts=(\(.*\)) ;;\$/\1/p" "$Z" | tr ' ' '\n' | sort -u | tr '\n' ' ')
	[ -n "$want" ] || fail "$c --help lists no options"
	[ "$b" = "$want" ] || fail "bash: $c options '$b', --help has '$want'"
	[ "$z" = "$want" ] || fail "zsh: $c options '$z', --help has '$want'"
	n=$((n + 1))
done
echo "ok   $n commands, their summaries and options, in both files"

# bash, for real.
complete_words() {	# WORDS... (the last is being typed)
	PATH="$(dirname "$K"):$PATH" bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
		_kvmscope; printf "%s\n" "${COMPREPLY[@]}"' _ "$B" "$@"
}
[ "$(complete_words kvmscope to)" = top ] || fail "bash: 'kvmscope to' -> '$(complete_words kvmscope to)'"
[ "$(complete_words kvmscope st)" = stat ] || fail "bash: 'kvmscope st'"
[ "$(complete_words kvmscope stat --la)" = --latency ] || fail "bash: 'stat --la'"
[ "$(complete_words kvmscope sta --inp)" = --input ] || fail "bash: prefix 'sta --inp'"
[ "$(complete_words kvmscope top -s d | tr '\n' ' ')" = "disk " ] || fail "bash: 'top -s d'"
[ "$(complete_words kvmscope top --sort '' | sort | tr '\n' ' ')" = "disk exits irqs time " ] ||
	fail "bash: 'top --sort'"
d=$(mktemp -d /tmp/ks-comp.XXXXXX)
touch "$d/trace-one.txt"
[ "$(complete_words kvmscope stat --input "$d/trace-o")" = "$d/trace-one.txt" ] ||
	{ rm -rf "$d"; fail "bash: 'stat --input FILE'"; }
rm -rf "$d"
[ "$(complete_words kvmscope replay x --metric vm.ex)" = vm.exits ] ||
	fail "bash: 'replay --metric vm.ex' -> '$(complete_words kvmscope replay x --metric vm.ex)'"
echo "ok   bash completes commands, options, sort keys, files and metrics"

if command -v zsh >/dev/null; then
	zsh -n "$Z" || fail "zsh cannot parse $Z"
	echo "ok   zsh parses _kvmscope"
else
	echo "zsh is not installed: _kvmscope was not parsed (scripts/deps.sh installs it)"
fi
echo "completion ok"
