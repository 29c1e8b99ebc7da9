#!/bin/bash
# demo.sh - what `make demo` runs once the binary is built.
#
# Until the real-VM lab lands, the demo replays real KVM traces captured in
# the lab (tests/data/) through the engine: it writes their heatmaps to
# demo-out/, then serves them live over CA's API, with the trace replayed
# in a loop paced to real time, until Ctrl-C.
set -eu
cd "$(dirname "$0")/.."
BIN=$PWD/.output/kvmscope
OUT=$PWD/demo-out
PORT=${PORT:-23181}
TRACE=tests/data/kvm-trace-qemu-l2.head3000.txt
[ -f "$TRACE" ] || { echo "demo: $TRACE is missing" >&2; exit 1; }
mkdir -p "$OUT"

echo "== exits by reason over the whole trace (kvmscope replay)"
"$BIN" replay "$TRACE" --metric vm.exits --decompose vleavereason
for spec in "vm.exits latency exit-latency" "vm.exits subsecond exits-subsecond"; do
	set -- $spec
	if "$BIN" replay "$TRACE" --metric "$1" --decompose vleavereason \
		--decompose "$2" --heatmap-png "$OUT/$3.png" >/dev/null 2>&1; then
		echo "demo: wrote $OUT/$3.png"
	fi
done

if ! "$BIN" serve --help >/dev/null 2>&1; then
	echo "demo: this build has no 'serve' yet; the pictures are in $OUT"
	exit 0
fi
# No state file: the demo's instrumentations are not kept.
"$BIN" serve --listen 127.0.0.1:"$PORT" --replay "$TRACE" --replay-loop \
	--no-state &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; exit 0' INT TERM
up=
for _ in $(seq 100); do
	kill -0 $pid 2>/dev/null || break
	curl -sf "http://127.0.0.1:$PORT/ca" >/dev/null 2>&1 && { up=1; break; }
	sleep 0.1
done
if [ -z "$up" ]; then
	echo "demo: the agent did not come up on port $PORT (PORT=N make demo" \
		"picks another)" >&2
	kill $pid 2>/dev/null
	exit 1
fi
echo "kvmscope demo: http://127.0.0.1:$PORT/"
echo "(Prometheus metrics at http://127.0.0.1:$PORT/metrics; Ctrl-C to stop)"
wait $pid
