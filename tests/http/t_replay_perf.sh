#!/bin/bash
# t_replay_perf.sh - `serve --replay` of a perf.data file, through perf.
#
# The agent reads perf.data as `kvmscope replay` does (replay/input.c),
# through the host's real perf: a record made here of a real tracepoint
# (no kvm events on a host without KVM) is read to its end and the replay
# finishes with its records counted (none of kvm's); a damaged perf.data
# stops the replay with perf's own reason while the agent keeps serving
# and stops cleanly; without perf, the replay stops saying perf is needed.
# The lab's t_exits_perf.sh replays a perf.data of kvmtest's exits and
# checks the agent's counts against `kvmscope replay`'s.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/http/agentlib.sh"
command -v perf > /dev/null || {
	echo "no perf on this host (apt-get install linux-perf)"; exit 77; }

P=$tmp/perf.data
perf record -q -o "$P" -e sched:sched_process_exec -a -- \
	sh -c '/bin/true; /bin/true; /bin/true' > "$tmp/rec.log" 2>&1 || {
	echo "perf record cannot record here: $(tail -1 "$tmp/rec.log")"; exit 77; }

# waitdone NAME: until the replay says it finished (10 s).
waitdone() {
	for _ in $(seq 1 100); do
		req - GET /ca/admin/status
		[ "$(py 'j["replay"]["finished"]')" = true ] && return 0
		sleep 0.1
	done
	fail "$1: the replay did not finish"
}

start good http --listen 127.0.0.1:0 --replay "$P" --replay-speed 1000000 \
	--no-state
waitdone good
check 'j["replay"]["records"] == 0 and j["replay"]["file"].endswith("perf.data")'
grep -q "replay of '$P' finished: 0 records" "$tmp/err.good" ||
	fail "no 'finished' line: $(cat "$tmp/err.good")"
grep -q "perf script failed" "$tmp/err.good" && fail "perf said it failed"
stop good
echo "ok   perf.data read through perf to its end, 0 kvm records"

# A damaged perf.data: perf's reason, the agent still serving.
head -c 200 "$P" > "$tmp/cut.data"
start cut http --listen 127.0.0.1:0 --replay "$tmp/cut.data" --no-state
waitdone cut
grep -q "replay of '$tmp/cut.data' stopped: perf script failed on this perf.data file" \
	"$tmp/err.cut" || fail "damaged perf.data: $(cat "$tmp/err.cut")"
expect 200 - GET /ca/admin/status
stop cut
echo "ok   a damaged perf.data stops the replay with perf's reason; the agent serves on"

# No perf: the replay stops saying so (as for a damaged file), the agent
# serves on.
KVMSCOPE_PERF=/nonexistent/perf start noperf http --listen 127.0.0.1:0 \
	--replay "$P" --no-state
waitdone noperf
grep -q "replay of '$P' stopped: .*needs perf" "$tmp/err.noperf" ||
	fail "without perf: $(cat "$tmp/err.noperf")"
grep -q "holds no kvm records" "$tmp/err.noperf" &&
	fail "a stopped replay also said it holds no kvm records"
stop noperf
echo "ok   without perf: the replay stopped, saying perf is needed"
echo "replay perf.data ok"
