#!/bin/bash
# t_persist.sh - instrumentations and persisted data survive kill -9 and a
# clean stop; damaged and foreign state files are set aside; bad --state
# paths are refused clearly.
#
# An agent replaying a real capture in a loop, with --state and a 2 s
# checkpoint interval, gets instrumentations created, cloned, modified and
# deleted over the API (one with persist-data=true); once a checkpoint
# covers seconds with data, it is killed with SIGKILL and restarted on the
# same file: the same instrumentations must come back under the same ids
# and parameters, the persisted one with values identical, second by
# second, to those read before the kill, the other one empty.  Then a
# clean stop (SIGTERM) with no periodic checkpoint must save the newer
# data too.  A state file of schema version 2 (ids from one counter) still
# opens, keeping every id.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
for c in curl python3; do
	command -v $c >/dev/null || { echo "$c is not installed"; exit 77; }
done
[ -f "$DATA" ] || { echo "no capture to replay"; exit 77; }

tmp=$(mktemp -d /tmp/t_persist.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in "$tmp"/err.*; do [ -f "$f" ] && { echo "== $f"; tail -8 "$f"; }; done
	exit 1
}
S=$tmp/state.db

# start NAME ARGS...: starts an agent, sets $pid and $A (its URL).
start() {
	local name=$1 port=
	shift
	"$K" serve --listen 127.0.0.1:0 "$@" 2>"$tmp/err.$name" &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 1 300); do
		port=$(sed -n 's|^kvmscope: listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' \
			"$tmp/err.$name")
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || fail "$name exited at start"
		sleep 0.1
	done
	[ -n "$port" ] || fail "$name: no 'listening on' line"
	A=http://127.0.0.1:$port
}

# stop SIGNAL: stops the last agent; with TERM it must exit 0.
stop() {
	kill -"$1" "$pid"
	wait "$pid" 2>/dev/null
	local rc=$?
	pids=("${pids[@]/$pid}")
	if [ "$1" = TERM ] && [ "$rc" -ne 0 ]; then
		fail "agent exited with $rc on SIGTERM"
	fi
}

api() {	# METHOD PATH [curl args...]: the body; fails on HTTP errors
	local m=$1 p=$2
	shift 2
	curl -sf -X "$m" "$A$p" "$@" || fail "$m $p"
}
field() {	# JSON KEY...: prints json[key][key]...
	python3 -c '
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2:]:
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$@"
}

# ---- bad paths: exit 1, a sentence naming --state, nothing created -------
bad() {	# PATTERN PATH
	"$K" serve --listen 127.0.0.1:0 --sources none --state "$2" \
		>/dev/null 2>"$tmp/err.bad"
	local rc=$?
	[ "$rc" -eq 1 ] || fail "--state '$2': exit $rc, wanted 1"
	grep -q -- "--state: .*$1" "$tmp/err.bad" ||
		fail "--state '$2': no '$1' on stderr: $(cat "$tmp/err.bad")"
}
touch "$tmp/plain"
bad 'needs a file name' ''
bad 'is a directory' "$tmp"
bad 'names a directory' "$tmp/"
bad 'does not exist' "$tmp/missing/state.db"
bad 'is not a directory' "$tmp/plain/state.db"
bad 'not a regular file' /dev/null
[ "$(ls "$tmp" | grep -v '^err\.' | tr '\n' ' ')" = "plain " ] ||
	fail "bad paths left files: $(ls "$tmp")"

# ---- kill -9 after a checkpoint ------------------------------------------
start a --state "$S" --checkpoint-interval 2 --replay "$DATA" --replay-loop
grep -q "state $S: 0 instrumentations restored" "$tmp/err.a" ||
	fail "no 'restored' line"
p1=$(api POST /ca/instrumentations -d module=vm -d stat=exits \
	-d decomposition=vleavereason -d persist-data=true)
[ "$(field "$p1" id)" = 1 ] || fail "first id: $p1"
api POST /ca/instrumentations -d module=vm -d stat=exits >/dev/null	# 2
# The seconds checked start after both exist: one created during a second
# counts only what comes after it (a slow POST under load left 2 empty in
# the one second checked, its records fed before it was made).
c=$(field "$(api GET /ca/admin/status)" now)
api POST /ca/instrumentations -d module=vm -d stat=irqs \
	-d decomposition=irqvector >/dev/null				# 3
api PUT /ca/instrumentations/3 -d retention-time=120 -d idle-max=0 >/dev/null
api POST '/ca/instrumentations/1?action=clone' -d persist-data=false >/dev/null # 4
api POST /ca/instrumentations/2/clone -d granularity=5 >/dev/null	# 5
api DELETE /ca/instrumentations/4 >/dev/null
before=$(api GET /ca/instrumentations)

# values ID FROM N: the raw values of N seconds from FROM, as one line.
values() {
	curl -sf "$A/ca/instrumentations/$1/value/raw?start_time=$2&duration=1&ndatapoints=$3" |
		python3 -c 'import json, sys; print(json.dumps([(p["start_time"], p["value"]) for p in json.load(sys.stdin)]))' ||
		fail "values of $1"
}
# has_data VALUES: whether any of the seconds has a count.
has_data() {
	python3 -c '
import json, sys
def n(v):
    return sum(n(x) for x in v.values()) if isinstance(v, dict) else v
sys.exit(0 if any(n(v) for _, v in json.loads(sys.argv[1])) else 1)' "$1"
}
# covered: waits until a checkpoint covers whole seconds after $1 holding
# data of instrumentation 1; sets $w, the last such second.
covered() {
	local from=$1 st ck
	for _ in $(seq 1 60); do
		st=$(api GET /ca/admin/status)
		ck=$(field "$st" state last_checkpoint_ms)
		w=$((ck / 1000 - 1))
		if [ "$w" -ge "$from" ] &&
			has_data "$(values 1 "$from" $((w - from + 1)))"; then
			return 0
		fi
		sleep 0.5
	done
	fail "no checkpoint covered data: $st"
}
covered $((c + 1))
n=$((w - c))
v1=$(values 1 $((c + 1)) "$n")
v2=$(values 2 $((c + 1)) "$n")
echo "seconds $((c + 1))..$w checkpointed; instrumentation 1: $v1"
has_data "$v2" || fail "instrumentation 2 saw no data: $v2"
stop KILL

start b --state "$S" --checkpoint-interval 3600 --replay "$DATA" --replay-loop
grep -q "state $S: 4 instrumentations restored" "$tmp/err.b" ||
	fail "not 4 restored: $(cat "$tmp/err.b")"
after=$(api GET /ca/instrumentations)
python3 - "$before" "$after" <<'PY' || fail "instrumentations changed across kill -9"
import json, sys
b, a = (json.loads(x) for x in sys.argv[1:])
keys = ("id", "module", "stat", "predicate", "decomposition", "granularity",
        "retention-time", "idle-max", "persist-data", "crtime", "uri")
pick = lambda l: [{k: i.get(k) for k in keys} for i in l]
assert [i["id"] for i in b] == ["1", "2", "3", "5"], b
assert pick(a) == pick(b), (pick(b), pick(a))
assert a[2]["retention-time"] == 120 and a[2]["idle-max"] == 0, a[2]
assert a[3]["granularity"] == 5, a[3]
PY
[ "$(values 1 $((c + 1)) "$n")" = "$v1" ] ||
	fail "persisted values differ: before $v1, after $(values 1 $((c + 1)) "$n")"
z=$(values 2 $((c + 1)) "$n")
has_data "$z" && fail "instrumentation 2 kept data without persist-data: $z"
p6=$(api POST /ca/instrumentations -d module=vm -d stat=exits)
[ "$(field "$p6" id)" = 6 ] || fail "new id after restore: $p6"

# ---- a clean stop saves the newer data -----------------------------------
c2=$(field "$(api GET /ca/admin/status)" now)
for _ in $(seq 1 40); do
	now=$(field "$(api GET /ca/admin/status)" now)
	[ "$now" -gt $((c2 + 1)) ] &&
		has_data "$(values 1 $((c2 + 1)) $((now - c2 - 1)))" && break
	sleep 0.5
done
m=$((now - c2 - 1))
v3=$(values 1 $((c2 + 1)) "$m")
has_data "$v3" || fail "no new data after the restart: $v3"
[ "$(field "$(api GET /ca/admin/status)" state checkpoints)" = 0 ] ||
	fail "a checkpoint ran before the stop"
stop TERM
grep -q "state saved to $S" "$tmp/err.b" || fail "no 'state saved' at the stop"
start c --state "$S" --sources none
[ "$(values 1 $((c2 + 1)) "$m")" = "$v3" ] ||
	fail "data saved at the stop differs: $v3 / $(values 1 $((c2 + 1)) "$m")"
[ "$(values 1 $((c + 1)) "$n")" = "$v1" ] || fail "older data lost"
stop TERM

# ---- damaged and foreign files are set aside ------------------------------
aside() {	# NAME FILE: the agent starts clean and moves FILE aside
	start "$1" --state "$2" --sources none
	grep -q "$2 is not a usable kvmscope database; moved it to $2.bad-" \
		"$tmp/err.$1" || fail "$1: no set-aside message: $(cat "$tmp/err.$1")"
	[ "$(api GET /ca/instrumentations)" = "[]" ] || fail "$1: not clean"
	[ "$(field "$(api GET /ca/admin/status)" state set_aside)" = True ] ||
		fail "$1: status does not say set_aside"
	api POST /ca/instrumentations -d module=vm -d stat=exits >/dev/null
	stop TERM
	moved=$(ls "$2".bad-* | grep -v -- '-wal$\|-shm$' | head -1)
	[ -f "$moved" ] || fail "$1: no $2.bad-* file"
}
head -c 65536 /dev/urandom >"$tmp/garbage.db"
cp "$tmp/garbage.db" "$tmp/garbage.orig"
aside garbage "$tmp/garbage.db"
cmp -s "$moved" "$tmp/garbage.orig" || fail "garbage: the moved file changed"

python3 - "$tmp/foreign.db" <<'PY' || fail "cannot make a foreign sqlite file"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE people (name TEXT)")
db.execute("INSERT INTO people VALUES ('ada')")
db.commit()
PY
aside foreign "$tmp/foreign.db"
python3 - "$moved" <<'PY' || fail "foreign: the moved file is not the original"
import sqlite3, sys
assert sqlite3.connect(sys.argv[1]).execute("SELECT name FROM people").fetchall() == [("ada",)]
PY
# The fresh file that replaced it is kvmscope's: it restores what was made.
start again --state "$tmp/foreign.db" --sources none
grep -q "1 instrumentation restored" "$tmp/err.again" || fail "fresh file not ours"
grep -q 'not a usable' "$tmp/err.again" && fail "our own file was set aside"
stop TERM

# ---- a version 2 state file is migrated, ids kept --------------------------
# As an agent with one id counter wrote it: the operator's 3 and tenant
# acme's 5.  Without a token file acme's comes back as the operator's, and
# keeps its id, free in the operator's namespace.
python3 - "$tmp/v2.db" <<'PY' || fail "cannot make a version 2 state file"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
PRAGMA application_id=1802923379; PRAGMA user_version=2;
CREATE TABLE instn (id TEXT PRIMARY KEY, params TEXT NOT NULL,
  crtime INTEGER NOT NULL, owner TEXT NOT NULL DEFAULT '', shown TEXT);
CREATE TABLE data (id TEXT PRIMARY KEY, saved INTEGER NOT NULL,
  blob BLOB NOT NULL);
INSERT INTO instn VALUES ('3', '{"module":"vm","stat":"exits"}', 3000, '', NULL);
INSERT INTO instn VALUES ('5', '{"module":"vm","stat":"irqs"}', 5000, 'acme', '{}');
""")
db.commit()
PY
start v2 --state "$tmp/v2.db" --sources none
grep -q "2 instrumentations restored" "$tmp/err.v2" ||
	fail "v2: $(cat "$tmp/err.v2")"
grep -q "not a usable" "$tmp/err.v2" && fail "v2: the file was set aside"
grep -q "tenant acme's instrumentation 5 is now the operator's instrumentation 5" \
	"$tmp/err.v2" || fail "v2: no message for acme's: $(cat "$tmp/err.v2")"
l=$(api GET /ca/instrumentations)
[ "$(field "$l" 0 id) $(field "$l" 0 crtime) $(field "$l" 1 id) $(field "$l" 1 stat)" = \
	"3 3000 5 irqs" ] || fail "v2: restored $l"
[ "$(field "$(api POST /ca/instrumentations -d module=vm -d stat=exits)" id)" = 6 ] ||
	fail "v2: the next id is not 6"
stop TERM
python3 - "$tmp/v2.db" <<'PY' || fail "v2: not migrated to version 3"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("PRAGMA user_version").fetchone()[0] == 3
rows = db.execute("SELECT owner, id FROM instn ORDER BY CAST(id AS INTEGER)").fetchall()
assert rows == [("", "3"), ("", "5"), ("", "6")], rows
PY

if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp"/err.*; then
	fail "sanitizer report"
fi
echo "persist ok"
