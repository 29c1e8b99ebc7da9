#!/bin/bash
# bench_http_load.sh - the agent's memory holding an hour of data, and its
# HTTP API under constant-rate load, without coordinated omission.
#
# The agent: a real `kvmscope serve` (the optimised binary) replaying both
# real captures (tests/data) as one host, looped.  Five tenants each create
# ten instrumentations of vm.exits of mixed arities (scalar, discrete,
# numeric, discrete + numeric), retention-time 3600: 50 in all, CA's
# capacity of one aggregator, at CA's limit of 10 per customer.  They are
# made with idle-max a week (the most; 0, never, is the operator's): the
# warped hour passes while the bench reads only one of them, and CA's
# default idle-max (an hour) reaped the other 49 before the runs, whose
# requests then timed 404 pages.
#
# An hour of data, sooner: the agent runs under bench/timewarp.c, an
# LD_PRELOAD shim whose clocks run BENCH_HOUR_SPEED times faster (default
# 30) for the first 3600/SPEED seconds, and whose sleeps are as much
# shorter, so that every instrumentation fills its 3,600 1-second slots in
# two minutes; then the clocks run at the normal rate and the replay goes
# on at 1x.  Memory: VmRSS and VmHWM from /proc/PID/status once the hour is
# full, with the hour's oldest second checked present.
#
# Load: bench_loadgen (bench/bench_loadgen.c), an open-loop generator: each
# request is due at a fixed time (constant rate) and its latency counts from
# then, so a stalled server shows as latency, not as a lower rate (wrk's
# closed loop hid that).  Runs, BENCH_HTTP_SECONDS each (default 10):
#  - heatmap images of the whole hour (600x300, 3,600 columns, the numeric
#    instrumentations), each request with its own window (start_time moved
#    by 1..40 s), so that every one renders: first at a low rate to measure
#    the agent's CPU per render, whence the uncached rate one core sustains;
#    then at half that rate, for the p99;
#  - the same images, the live hour of each view, at 500 requests/s: many
#    viewers of the same views, rendered once a second, then cached (the
#    first WARM_SECS seconds, when every view is opened and drawn for the
#    first time, on a row of their own, then the timed run); the
#    agent's drawing thread draws a view's new second while its requests
#    get that view's answer of the second before (http/imgcache.h,
#    api_heatmap.c), so the CPU per answer is about 30 drawings a second
#    shared by 500 answers;
#  - raw values at 500 requests/s.
# Agent CPU: utime+stime deltas of /proc/PID/stat, less its idle rate.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
K=${KVMSCOPE_FAST:-$TOP/.output/kvmscope}
GEN=${BENCH_LOADGEN:-$TOP/.output/bench/bench_loadgen}
SPEED=${BENCH_HOUR_SPEED:-30}
SECS=${BENCH_HTTP_SECONDS:-10}
WARM_SECS=3	# the cached views' opening, measured on its own row
RATE=500
HOUR=3600
TARGET_P99_MS=20
CONNS=16	# the agent's per-address limit (KS_HTTP_PER_ADDR_CONNS, http/server.h):
	# the generator is one address, and past 16 its connections were refused

command -v curl >/dev/null || { echo "bench_http_load: no curl" >&2; exit 1; }
[ -x "$K" ] || { echo "bench_http_load: no binary at $K (run make)" >&2; exit 1; }
[ -x "$GEN" ] || { echo "bench_http_load: no $GEN (run make benches)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/kvmscope-bench-http.XXXXXX)
chmod 700 "$tmp"
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
cc -shared -fPIC -O2 "$TOP/bench/timewarp.c" -o "$tmp/timewarp.so" -ldl ||
	exit 1

# ---- the host: both captures as one trace ---------------------------------------
awk -v file=0 '
FNR == 1 { file++ }
/^#/ { if (file == 1) print; next }
{
	for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) break
	if (i > NF) next
	t = substr($i, 1, length($i) - 1) + 0
	if (!(file in first)) first[file] = t
	if (file == 2) t = t - first[2] + first[1]
	line = $0
	sub(/[0-9]+\.[0-9]+:/, sprintf("%.6f:", t), line)
	printf "%.6f\t%d\t%s\n", t, NR, line
}' "$TOP/tests/data/kvm-trace-qemu-l2.head3000.txt" \
	"$TOP/tests/data/kvm-trace-all-events.txt" >"$tmp/raw"
{ grep -v $'\t' "$tmp/raw"; grep $'\t' "$tmp/raw" | sort -t $'\t' -k1,1n -k2,2n | cut -f3-; } \
	>"$tmp/host.txt"

# ---- tokens: five tenants seeing both VMs ------------------------------------------
: >"$tmp/tokens"
chmod 600 "$tmp/tokens"
for t in 1 2 3 4 5; do
	tok=t$t-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	echo "$tok tenant tenant$t qemu-system-x86,kvmtest" >>"$tmp/tokens"
done

# The warp lasts an hour of agent time plus a minute of real time for
# the creates; the hour is counted from the last create (polled below).
fill=$(awk -v s="$SPEED" -v h="$HOUR" 'BEGIN { printf "%.1f", (h + 30) / s + 60 }')
started=$(date +%s)
LD_PRELOAD=$tmp/timewarp.so TIMEWARP_SPEED=$SPEED TIMEWARP_FOR=$fill \
	"$K" serve --listen 127.0.0.1:0 --no-state --tokens "$tmp/tokens" \
	--replay "$tmp/host.txt" --replay-loop 2>"$tmp/err" &
pid=$!
port=
for _ in $(seq 1 300); do
	port=$(sed -n 's|^kvmscope: listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$tmp/err")
	[ -n "$port" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/err" >&2; exit 1; }
	sleep 0.1
done
[ -n "$port" ] || { echo "bench_http_load: the agent did not start" >&2; exit 1; }
B=http://127.0.0.1:$port
kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
rss0=$(kb VmRSS)

# ---- 50 instrumentations --------------------------------------------------------------
decomps=('' 'vleavereason' 'vcpu' 'vm' 'latency' 'vm,latency'
	 'vleavereason,latency' 'vcpu,latency' 'subsecond' 'vm,subsecond')
: >"$tmp/raw.paths"
: >"$tmp/heatmap.base"
while read -r tok _ name _; do
	for d in "${decomps[@]}"; do
		made=$(curl -s -H "Authorization: Bearer $tok" \
			"$B/ca/customers/$name/instrumentations" \
			-d "module=vm&stat=exits&decomposition=$d&retention-time=$HOUR&idle-max=604800")
		id=$(echo "$made" | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p')
		[ -n "$id" ] || { echo "bench_http_load: create failed: $made" >&2; exit 1; }
		u=/ca/customers/$name/instrumentations/$id
		echo "$tok $u/value/raw" >>"$tmp/raw.paths"
		case $d in
		*latency*|*subsecond*) echo "$tok $u" >>"$tmp/heatmap.base";;
		esac
	done
done <"$tmp/tokens"
ninst=$(wc -l <"$tmp/raw.paths")
nhm=$(wc -l <"$tmp/heatmap.base")
read -r tok1 u1 < <(grep 'latency' "$tmp/heatmap.base" | head -1; head -1 "$tmp/heatmap.base")
rss1=$(kb VmRSS)
t_created=$(curl -sf -H "Authorization: Bearer $tok1" "$B$u1/value/raw" |
	sed -n 's/.*"end_time":\([0-9]*\).*/\1/p')
agent_now() {
	curl -sf -H "Authorization: Bearer $tok1" "$B$u1/value/raw" |
		sed -n 's/.*"end_time":\([0-9]*\).*/\1/p'
}
until [ "$(agent_now)" -ge $((t_created + HOUR + 5)) ] 2>/dev/null; do
	[ $(( $(date +%s) - started )) -lt 900 ] ||
		{ echo "bench_http_load: the hour did not fill in 15 minutes" >&2; exit 1; }
	sleep 1
done
# Past the warp, with a couple of real seconds to spare.
sleep "$(awk -v f="$fill" -v s="$started" -v n="$(date +%s)" 'BEGIN { d = s + f + 2 - n; printf "%.0f", (d > 0 ? d : 0) }')"

# ---- memory, the hour held ----------------------------------------------------------------
rss2=$(kb VmRSS)
hwm=$(kb VmHWM)
now=$(
	curl -sf -H "Authorization: Bearer $tok1" "$B$u1/value/raw" | sed -n 's/.*"end_time":\([0-9]*\).*/\1/p')
first=$(curl -sf -H "Authorization: Bearer $tok1" "$B$u1/value/raw?start_time=$((now - HOUR + 5))&duration=1")
echo "agent: $ninst instrumentations (5 tenants x 10; $nhm numeric), retention $HOUR s, replaying 2 real captures as one host; the hour filled with clocks ${SPEED}x (bench/timewarp.c)"
echo "agent_hour_rss_kb $rss2 (VmRSS holding the hour; $rss1 after the creates, $rss0 at start)"
echo "agent_hour_hwm_kb $hwm (VmHWM)"
case $first in
*'"value":{}'*|*'"value":[]'*|*'"value":0,'*|'')
	echo "bench_http_load: the hour's oldest seconds are empty ($first)" >&2
	held=no;;
*)	held=yes;;
esac
echo "agent_hour: an hour held: $held (second $((now - HOUR + 5)) not empty; $((now - t_created)) agent seconds since the creates); RSS $((rss2 / 1024)) MB, peak $((hwm / 1024)) MB"
[ $held = yes ] || exit 1

# ---- paths: the hour's heatmaps ----------------------------------------------------------
while read -r tok u; do
	echo "$tok $u/value/heatmap/image?duration=$HOUR&width=600&height=300"
done <"$tmp/heatmap.base" >"$tmp/cached.paths"
for k in $(seq 1 40); do
	while read -r tok u; do
		echo "$tok $u/value/heatmap/image?start_time=$((now - HOUR - k))&duration=$HOUR&width=600&height=300"
	done <"$tmp/heatmap.base"
done >"$tmp/uncached.paths"

# Each kind of path must answer 200 before it is timed: a run of errors
# (a wrong path, a window the agent refuses) would time error pages.
check_path() {
	local tok path code
	read -r tok path <"$1"
	code=$(curl -s -o "$tmp/check.body" -w '%{http_code}' \
		-H "Authorization: Bearer $tok" "$B$path")
	[ "$code" = 200 ] && return 0
	echo "bench_http_load: $path answered $code: $(head -c 300 "$tmp/check.body")" >&2
	return 1
}
check_path "$tmp/uncached.paths" && check_path "$tmp/cached.paths" &&
	check_path "$tmp/raw.paths" || exit 1

# run LABEL PATHS RATE: one constant-rate run; prints a row and the
# answers by status, and sets P99, ERRORS, DONE and CPU_MS (agent CPU per
# 2xx answer, less its idle rate: an error page costs next to nothing and
# must not pass for a cheap render).
idle_ticks_per_s=0
run() {
	local label=$1 paths=$2 rate=$3 t0 t1 w0 w1 out ok
	t0=$(ticks)
	w0=$(date +%s.%N)
	out=$("$GEN" 127.0.0.1 "$port" "$rate" "$SECS" "$paths" "$CONNS" 2>&1)
	w1=$(date +%s.%N)
	t1=$(ticks)
	echo "$out" | grep -q '^RESULT' || { echo "$out" >&2; return 1; }
	# STATUS none N 1xx N 2xx N 3xx N 4xx N 5xx N
	ok=$(echo "$out" | awk '$1 == "STATUS" { print $7 }')
	set -- $(echo "$out" | grep '^RESULT')
	# RESULT sent done errors p50 p99 p999 max duration
	P99=$6
	ERRORS=$4
	DONE=$3
	CPU_MS=$(awk -v t="$((t1 - t0))" -v hz="$hz" -v w="$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')" \
		-v idle="$idle_ticks_per_s" -v n="${ok:-0}" 'BEGIN {
		c = (t - idle * w) / hz; if (c < 0) c = 0
		printf "%.3f", 1000 * c / (n ? n : 1) }')
	printf '%-34s %7s %7.0f %8.2f %8.2f %8.2f %6s %8s\n' "$label" "$rate" \
		"$(awk -v n="$3" -v d="$9" 'BEGIN { print n / d }')" "$5" "$6" "$8" "$4" "$CPU_MS"
	echo "$out" | awk '$1 == "STATUS" { printf "%-34s answers: %s\n", "", substr($0, 8) }'
}

# verdict NAME P99 RATE ERRORS DONE: the target line of one run.  A run
# with errors in more than 1% of its requests misses whatever its p99.
verdict() {
	awk -v n="$1" -v p="$2" -v r="$3" -v e="$4" -v d="$5" -v t="$TARGET_P99_MS" 'BEGIN {
		ok = p < t && e <= 0.01 * d
		printf "target (p99 < %d ms at %s/s), %s: %s (p99 %.2f ms, target/p99 = %.2f; %d errors in %d)\n",
		       t, r, n, ok ? "met" : "NOT met", p, t / (p > 0 ? p : 0.001), e, d }'
}

t0=$(ticks); sleep 3; t1=$(ticks)
idle_ticks_per_s=$(awk -v t="$((t1 - t0))" 'BEGIN { print t / 3 }')
echo "load: bench_loadgen, open loop at a constant rate, latency from each request's due time; ${SECS}s per run"
printf '%-34s %7s %7s %8s %8s %8s %6s %8s\n' run offered "done/s" "p50 ms" "p99 ms" "max ms" errors "CPU ms/req"
run "heatmap 1h uncached, probe rate" "$tmp/uncached.paths" 10 || exit 1
probe_errors=$ERRORS
per_core=$(awk -v c="$CPU_MS" 'BEGIN { printf "%.0f", (c > 0 ? 1000 / c : 0) }')
half=$(( per_core / 2 ))
[ "$half" -ge 1 ] || half=1
run "heatmap 1h uncached, half/core" "$tmp/uncached.paths" "$half" || exit 1
p99_unc=$P99; v_unc=$(verdict "heatmap uncached" "$P99" "$half" "$ERRORS" "$DONE")
# The views are first opened all at once: each view's first picture has
# no second before it to stand in, so the requests of the first second or
# two draw (30 views at once) or wait for those draws.  That start is run
# and shown on its own row, then the timed run measures views kept open.
SECS_RUN=$SECS SECS=$WARM_SECS
run "heatmap 1h cached, ${RATE}/s, first ${WARM_SECS}s" "$tmp/cached.paths" "$RATE" || exit 1
p99_cold=$P99 SECS=$SECS_RUN
run "heatmap 1h cached, ${RATE}/s, then" "$tmp/cached.paths" "$RATE" || exit 1
p99_cached=$P99; v_cached=$(verdict "heatmap cached" "$P99" "$RATE" "$ERRORS" "$DONE")
run "raw values, ${RATE}/s" "$tmp/raw.paths" "$RATE" || exit 1
p99_raw=$P99; v_raw=$(verdict "raw" "$P99" "$RATE" "$ERRORS" "$DONE")
echo "http_heatmap_uncached_per_core $per_core (600x300, 3600 columns: 1000 / agent CPU ms per render; $probe_errors errors in the probe run)"
echo "http_heatmap_uncached_p99_ms $p99_unc (at $half/s, half the per-core rate)"
echo "http_heatmap_cached_p99_ms $p99_cached (at $RATE/s, the views open)"
echo "http_heatmap_cached_first_p99_ms $p99_cold (at $RATE/s, the first $WARM_SECS s after the views were opened)"
echo "http_raw_p99_ms $p99_raw (at $RATE/s)"
echo "$v_unc"
echo "$v_cached"
echo "$v_raw"
echo "host load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
kill -TERM "$pid"
wait "$pid"
pid=
