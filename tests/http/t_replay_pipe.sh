#!/bin/bash
# t_replay_pipe.sh - `serve --replay` from a pipe that stays quiet.
#
# A FIFO whose writer is open but writes nothing (a quiet trace_pipe): the
# agent must listen at once, its clock must advance (GET /ca/admin/status
# "now"), what the writer sends later must be fed, and SIGTERM must stop it
# within seconds while the writer is still open.  Standard input ("-") is
# refused, with a clear error.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
[ -f "$DATA" ] || { echo "no capture to replay"; exit 77; }
. "$TOP/tests/http/agentlib.sh"

mkfifo "$tmp/pipe"
exec 3<>"$tmp/pipe"	# a writer that stays open, and says nothing yet
t0=$(date +%s%N)
start pipe http --listen 127.0.0.1:0 --replay "$tmp/pipe" --no-state
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 10000 ] || fail "listening only after $ms ms, the pipe quiet"
echo "ok   listening after $ms ms, the pipe quiet"

expect 200 - GET /ca/admin/status
n0=$(py 'j["now"]')
check 'j["replay"]["records"] == 0 and not j["replay"]["finished"]'
sleep 2.5
expect 200 - GET /ca/admin/status
n1=$(py 'j["now"]')
[ "$n1" -ge $((n0 + 2)) ] || fail "the clock did not advance: $n0 then $n1"
echo "ok   clock advanced from $n0 to $n1 with the pipe quiet"

# The writer speaks: its records are fed.
head -3000 "$DATA" >&3
for _ in $(seq 1 50); do
	req - GET /ca/admin/status
	[ "$(py 'j["replay"]["records"] > 0')" = true ] && break
	sleep 0.2
done
check 'j["replay"]["records"] > 0 and not j["replay"]["finished"]'
echo "ok   $(py 'j["replay"]["records"]') records fed from the pipe"

# SIGTERM with the writer still open and quiet again.
t0=$(date +%s%N)
kill -TERM "$pid"
for _ in $(seq 1 50); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "still running 5 s after SIGTERM"
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc after SIGTERM"
grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/err.pipe" &&
	fail "sanitizer report"
echo "ok   stopped $(( ($(date +%s%N) - t0) / 1000000 )) ms after SIGTERM"
exec 3>&-

# Standard input is not taken: a quiet one would block the agent's loop.
if echo | "$K" serve --listen 127.0.0.1:0 --replay - --no-state \
	> /dev/null 2> "$tmp/err.stdin"; then
	fail "serve --replay - exited 0"
fi
grep -q "not standard input" "$tmp/err.stdin" ||
	fail "serve --replay -: $(cat "$tmp/err.stdin")"
echo "ok   --replay - refused: $(cat "$tmp/err.stdin")"
echo "replay pipe ok"
