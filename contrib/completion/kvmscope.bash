# kvmscope(8) completion for bash: commands, each command's options, and
# the values some options take (files, top's sort keys, metric names).
# Installed by `make install` (and the Debian package) as
# bash-completion/completions/kvmscope.  tests/cli/t_completion.sh checks
# the commands against the binary's command table and each list of
# options against the command's --help, so they cannot drift apart.

_kvmscope_commands="replay metrics stat serve vms record check top fleet version"

_kvmscope_options()
{
	local opts
	case $1 in
	replay) opts="--decompose --granularity --heatmap-png --height --help --json --log --metric --per-second --predicate --raw --width --write-record --ymax" ;;
	metrics) opts="--json --markdown" ;;
	stat) opts="--count-only --counts --exits --help --input --json --latency --name --pid --records --verbose --wait" ;;
	serve) opts="--check-config --checkpoint-interval --config --guest-rip --help --hostname --keep-capabilities --listen --no-state --peers --replay --replay-loop --replay-speed --replay-vm-prefix --series-grace --sources --state --tenant-label --tls-cert --tls-key --tls-priorities --tokens --web-root" ;;
	vms) opts="--follow --help --json --no-watch --scan-stats --wide" ;;
	record) opts="--duration --guest-rip --help --metrics --output --pid --sources --verbose" ;;
	check) opts="--duration --edge-ms --help --json --verbose" ;;
	top) opts="--delay --help --input --iterations --json --name --pid --sort --verbose" ;;
	fleet) opts="--agents --help --lag --listen --prometheus --scrape-interval --tenant-label --timeout --tokens --web-root" ;;
	version) opts="--help --json --verbose" ;;
	esac
	echo "$opts"
}

# The command a word names, by unique prefix as kvmscope matches it.
_kvmscope_command()
{
	local c match=
	for c in $_kvmscope_commands; do
		[ "$c" = "$1" ] && { echo "$c"; return; }
		case $c in "$1"*) [ -n "$match" ] && return; match=$c ;; esac
	done
	echo "$match"
}

_kvmscope()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cmd

	COMPREPLY=()
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$_kvmscope_commands --help --version" -- "$cur"))
		return
	fi
	cmd=$(_kvmscope_command "${COMP_WORDS[1]}")
	case $prev in
	--input|-i|--replay|--config|--tokens|--tls-cert|--tls-key|--state|\
	--output|--write-record|--heatmap-png|--web-root)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--sort|-s)
		[ "$cmd" = top ] &&
			COMPREPLY=($(compgen -W "exits time irqs disk" -- "$cur"))
		return ;;
	--metric|-m)
		[ "$cmd" = replay ] && COMPREPLY=($(compgen -W \
			"$("${COMP_WORDS[0]}" metrics 2>/dev/null | awk '{print $1}')" \
			-- "$cur"))
		return ;;
	esac
	case $cur in
	-*) COMPREPLY=($(compgen -W "$(_kvmscope_options "$cmd")" -- "$cur")) ;;
	*) [ "$cmd" = replay ] && COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
}
complete -F _kvmscope kvmscope
