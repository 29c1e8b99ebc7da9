# skip-allowed.sh - sourced by run-tests.sh (and its test): whether a
# skip is one tests/skip-allow.txt allows.

# skip_allowed TEST REASON [LIST]: true if a line of LIST (default
# tests/skip-allow.txt) matches: TEST against its glob, REASON against its
# extended regular expression.
skip_allowed() {
	local t=$1 why=$2 list=${3:-tests/skip-allow.txt} glob re
	while read -r glob re; do
		case $glob in ''|'#'*) continue;; esac
		# shellcheck disable=SC2053
		[[ $t == $glob ]] && [[ $why =~ $re ]] && return 0
	done < "$list"
	return 1
}
