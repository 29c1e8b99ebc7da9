# hostlib.sh - shared by the lab's host-side tests (tests/lab/t_*.sh).
# shellcheck shell=bash
#
# lab_run boots one scenario through run-l1.sh inside a time budget and
# turns the outcome into the test protocol: a lab that cannot be had here
# (no qemu, no kernel package, no mirror) or a scenario that skips exits
# 77 with the reason as the last line; anything else that is not a pass
# fails the test.  With LAB_DONE=1 it boots nothing and reads the
# scenario's folder under LAB_OUT, left by a boot that ran several
# scenarios (t_kernel612.sh), so a test checks the same results either
# way.  The rest are small readers for kvmtest's key=value
# output and tracefs text, and a check helper that counts failures.
LABDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=${TOP:-$(cd "$LABDIR/../.." && pwd)}
LABOUT=${LAB_OUT:-$TOP/lab-out}
BAD=0

lab_skip() { echo "SKIP: $*"; exit 77; }
lab_fail() { echo "FAIL: $*"; exit 1; }

# lab_lock: holds the machine's lab lock until the test exits, so that no
# other run of the same scenario replaces lab-out/<scenario>/ while the
# test still reads it; run-l1.sh is told not to take it again.
lab_lock() {
	[ "${LAB_LOCK_HELD:-0}" = 1 ] && return 0
	exec 8> "${LAB_LOCK:-/tmp/kvmscope-lab.lock}"
	flock -w 1800 8 || lab_fail "another lab run held the lock for 30 minutes"
	export LAB_LOCK_HELD=1
}

# lab_boot SCENARIO BUDGET_S [ARG...]: boots it under the lock within
# the budget; returns the scenario's status (124 or 137: past the
# budget), sets LAB_WALL (seconds) and LAB_WHY (a skip's reason).
lab_boot() {
	local s=$1 budget=$2 log t0 rc
	shift 2
	lab_lock
	log=$(mktemp /tmp/lab-run.XXXXXX)
	t0=$(date +%s)
	timeout -k 15 "$budget" bash "$LABDIR/run-l1.sh" "$s" "$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	LAB_WALL=$(( $(date +%s) - t0 ))
	echo "lab: scenario $s: status $rc in ${LAB_WALL}s (budget ${budget}s)"
	LAB_WHY=$(grep -a -E 'cannot build the lab:|^SKIP:' "$log" | tail -1 | sed 's/^SKIP: //')
	rm -f "$log"
	return "$rc"
}

# lab_done SCENARIO [ARG...]: with LAB_DONE=1 the scenario has already
# run, in a boot that ran several (scenarios/live-probes.sh), and left
# its folder under LAB_OUT as a boot of its own would; returns its status
# and sets LAB_WHY.  The arguments it ran with must be the ones asked for.
lab_done() {
	local s=$1 d=$LABOUT/$1 rc
	shift
	[ -z "${LAB_KVMOPTS:-}" ] ||
		lab_fail "LAB_KVMOPTS=$LAB_KVMOPTS needs a boot of its own, not the shared one"
	[ -f "$d/status" ] || lab_fail "scenario $s did not run in the shared boot (no $d/status)"
	[ "$(cat "$d/args")" = "$(printf '%s\n' "$@")" ] ||
		lab_fail "scenario $s ran with arguments '$(cat "$d/args")', not '$*'"
	cat "$d/scenario.log"
	rc=$(cat "$d/status")
	LAB_WALL=0
	echo "lab: scenario $s (in a shared boot): status $rc"
	LAB_WHY=$(grep -a '^SKIP:' "$d/scenario.log" | tail -1 | sed 's/^SKIP: //')
	return "$rc"
}

# lab_run SCENARIO BUDGET_S [ARG...]: boots it (or, with LAB_DONE=1,
# reads its results from a shared boot) and maps the outcome onto the
# test protocol; sets LAB_WALL (seconds).
lab_run() {
	local s=$1 rc
	if [ "${LAB_DONE:-0}" = 1 ]; then
		lab_done "$s" "${@:3}"
	else
		lab_boot "$@"
	fi
	rc=$?
	case $rc in
	0) ;;
	77) lab_skip "lab scenario $s: ${LAB_WHY:-unavailable here}";;
	124|137) lab_fail "lab scenario $s ran past its ${2}s budget";;
	*) lab_fail "lab scenario $s failed with status $rc";;
	esac
}

# kv FILE PREFIX KEY: KEY= value on the first line starting "PREFIX ".
kv() {
	awk -v p="$2 " -v k="$3=" 'index($0, p) == 1 {
		for (i = 1; i <= NF; i++)
			if (index($i, k) == 1) { print substr($i, length(k) + 1); exit }
	}' "$1"
}

# check NAME GOT WANT
check() {
	if [ -n "$2" ] && [ "$2" = "$3" ]; then
		echo "ok   $1 = $2"
	else
		echo "BAD  $1 = '$2', want '$3'"
		BAD=$((BAD + 1))
	fi
}

# lines FILE ERE: number of lines matching.
lines() { grep -c -E "$2" "$1"; }

kvmscope_bin() {
	local b
	for b in "${KVMSCOPE:-}" "$TOP/.output-asan/kvmscope" "$TOP/.output/kvmscope"; do
		[ -n "$b" ] && [ -x "$b" ] && { echo "$b"; return 0; }
	done
	return 1
}

# ---- kvmscope's API, for the picture tests ----------------------------
# API is the agent's base URL (http://127.0.0.1:PORT), API_TOKEN its bearer
# token or empty.  Proxies are ignored: the agents are on loopback.

# api_get PATH OUTFILE: the body of GET $API$PATH in OUTFILE; fails the
# test on a transport error or a status other than 200.
api_get() {
	local code auth=()
	[ -n "${API_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $API_TOKEN")
	code=$(curl -s --noproxy '*' --max-time 60 -o "$2" -w '%{http_code}' \
		"${auth[@]}" "$API$1") || lab_fail "GET $1: curl failed"
	[ "$code" = 200 ] || lab_fail "GET $1: status $code: $(head -c 300 "$2")"
}

# api_create NAME FORM...: POST /ca/instrumentations with the form fields
# (module=vm stat=exits ...); prints the new id.
api_create() {
	local code auth=() f args=() body
	body=$(mktemp /tmp/lab-api.XXXXXX)
	[ -n "${API_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $API_TOKEN")
	for f in "${@:2}"; do args+=(--data-urlencode "$f"); done
	code=$(curl -s --noproxy '*' --max-time 60 -o "$body" -w '%{http_code}' \
		"${auth[@]}" "${args[@]}" "$API/ca/instrumentations") ||
		lab_fail "create $1: curl failed"
	[ "$code" = 201 ] || lab_fail "create $1: status $code: $(head -c 300 "$body")"
	sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' "$body"
	rm -f "$body"
}

# ui_shoot NAME URL KEY... [-- NAME URL KEY...]...: screenshots of the
# web UI as a person sees it (shoot.mjs: title, axes, legend naming each
# KEY, coloured pixels), into $PICTURES/ui/NAME.png, with API_TOKEN as the
# page's token.  UPDATE_DOCS=1 copies them to docs/pictures/ui-NAME.png,
# which the README shows.  Returns 1 on a failed check, or when no
# browser can be had (tests/web/deps.sh installs one from Debian); pages
# that could not be loaded in time are said (NOT TAKEN), not failed.
ui_shoot() {
	local out a next=1
	out=$(mktemp /tmp/ui_shoot.XXXXXX)
	if ! bash "$TOP/tests/web/deps.sh" > "$out" 2>&1; then
		echo "BAD  no browser for the UI's screenshots: $(tail -1 "$out")"
		rm -f "$out"
		return 1
	fi
	rm -f "$out"
	for a in "$@"; do	# no older screenshot may pass for a new one
		[ $next = 1 ] && rm -f "$PICTURES/ui/$a.png"
		next=0
		[ "$a" = -- ] && next=1
	done
	next=1
	SHOOT_TOKEN=${API_TOKEN:-} node "$LABDIR/shoot.mjs" "$PICTURES/ui" "$@"
	case $? in
	0) ;;
	3) # Pages an agent in L1 could not serve in time on a loaded host:
	   # said, not failed; the numbers behind the pictures are checked
	   # from the API either way.
	   echo "NOTE the UI's screenshots were not all taken (timeouts): see NOT TAKEN above"
	   return 0;;
	*) return 1;;
	esac
	[ "${UPDATE_DOCS:-0}" = 1 ] || return 0
	for a in "$@"; do
		[ $next = 1 ] && [ -s "$PICTURES/ui/$a.png" ] &&
			cp "$PICTURES/ui/$a.png" "$TOP/docs/pictures/ui-$a.png"
		next=0
		[ "$a" = -- ] && next=1
	done
	return 0
}

# save_picture NAME JSONFILE: the PNG of a heatmap image answer (CA's
# "image" member, base64) as $PICTURES/NAME.png, checked to be a PNG.
PICTURES=${PICTURES:-$LABOUT/pictures}
save_picture() {
	mkdir -p "$PICTURES"
	python3 - "$2" "$PICTURES/$1.png" <<'PY' || lab_fail "picture $1: no PNG in the answer"
import base64, json, sys
img = base64.b64decode(json.load(open(sys.argv[1]))["image"])
assert img[:8] == b"\x89PNG\r\n\x1a\n", img[:8]
open(sys.argv[2], "wb").write(img)
PY
	echo "picture: $PICTURES/$1.png"
}

# source_status FILE NAME: the status of source NAME in a saved
# GET /ca/admin/status answer.
source_status() {
	python3 -c 'import json, sys
print(next((s["status"] for s in json.load(open(sys.argv[1]))["sources"]
            if s["name"] == sys.argv[2]), "absent"))' "$1" "$2" 2>/dev/null
}
