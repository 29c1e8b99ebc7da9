# promlib.sh - shared by the Prometheus tests (t_prometheus.sh,
# t_prometheus_native.sh): a real Prometheus, found or fetched, scraping
# an agent that replays a capture once, and PromQL helpers.  Source it
# after setting K (the binary), TOP and DATA (the capture); it makes $tmp
# (named after NAME, the test) and removes it, the agent and Prometheus
# on exit.

prom_init() {	# NAME
	for c in curl python3; do
		command -v $c >/dev/null || { echo "$c is not installed"; exit 77; }
	done
	[ -f "$DATA" ] || { echo "no capture to replay ($DATA)"; exit 77; }
	tmp=$(mktemp -d "/tmp/$1.XXXXXX")
	agent= prom=
	trap prom_cleanup EXIT
}

prom_cleanup() {
	[ -n "$prom" ] && kill -TERM "$prom" 2>/dev/null && wait "$prom" 2>/dev/null
	[ -n "$agent" ] && kill -KILL "$agent" 2>/dev/null
	rm -rf "$tmp"
}

fail() {
	echo "FAIL: $*"
	for f in "$tmp"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -15 "$f"; }; done
	exit 1
}

# Prometheus from PATH, else Debian's package, fetched with apt-get and
# unpacked into the temporary directory: unlike `apt-get install`, this
# starts no system service as a side effect, and leaves nothing behind.
# Sets PROM, or exits 77.
find_prometheus() {
	PROM=$(command -v prometheus) && return 0
	if command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null; then
		PROM=$tmp/pkg/usr/bin/prometheus
		(cd "$tmp" && apt-get download prometheus >"$tmp/apt.log" 2>&1) &&
			dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/pkg" &&
			[ -x "$PROM" ] && return 0
	fi
	echo "Prometheus is not installed and apt-get could not fetch Debian's prometheus package"
	exit 77
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# agent_replay [ARGS...]: the agent, replaying $DATA once, with ARGS
# added; sets agent, aport and A.
agent_replay() {
	"$K" serve --listen 127.0.0.1:0 --no-state --replay "$DATA" "$@" \
		2>"$tmp/agent.log" &
	agent=$!
	aport=
	for _ in $(seq 1 300); do
		aport=$(sed -n 's|^kvmscope: listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' \
			"$tmp/agent.log")
		[ -n "$aport" ] && break
		kill -0 "$agent" 2>/dev/null || fail "the agent exited at start"
		sleep 0.1
	done
	[ -n "$aport" ] || fail "the agent did not start"
	A=http://127.0.0.1:$aport
}

# prom_start [ARGS...]: Prometheus on a free loopback port (three tries),
# scraping the agent every second (or as $PROM_YML, a file, says), with
# ARGS added; sets prom and P.
prom_start() {
	[ -n "${PROM_YML:-}" ] && cp "$PROM_YML" "$tmp/prometheus.yml" ||
	cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: kvmscope
    static_configs:
      - targets: ['127.0.0.1:$aport']
YML
	P=
	for _ in 1 2 3; do
		pport=$(free_port)
		"$PROM" --config.file="$tmp/prometheus.yml" \
			--storage.tsdb.path="$tmp/data" \
			--web.listen-address="127.0.0.1:$pport" \
			--log.level=warn "$@" >"$tmp/prometheus.log" 2>&1 &
		prom=$!
		for _ in $(seq 1 150); do
			curl -sf "http://127.0.0.1:$pport/-/ready" >/dev/null 2>&1 && break
			kill -0 "$prom" 2>/dev/null || break
			sleep 0.2
		done
		if curl -sf "http://127.0.0.1:$pport/-/ready" >/dev/null 2>&1; then
			P=http://127.0.0.1:$pport
			break
		fi
		kill -TERM "$prom" 2>/dev/null
		wait "$prom" 2>/dev/null
		prom=
	done
	[ -n "$P" ] || fail "Prometheus did not start"
	echo "agent ${A:-(several)}, prometheus $P"
}

# query PROMQL: prints the API's JSON answer (status checked later).
query() {
	curl -s "$P/api/v1/query" --data-urlencode "query=$1"
}
# scalar PROMQL: the single value of a one-series answer, or nothing.
scalar() {
	query "$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "")' 2>/dev/null
}

# wait_replay: until the agent's replay has finished; sets st (its
# status) and fed (records fed).
wait_replay() {
	local done='import json,sys; sys.exit(0 if json.loads(sys.argv[1])["replay"]["finished"] else 1)'
	for _ in $(seq 1 300); do
		st=$(curl -sf "$A/ca/admin/status") || fail "status"
		python3 -c "$done" "$st" && break
		sleep 0.2
	done
	python3 -c "$done" "$st" || fail "the replay did not finish: $st"
	fed=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["records"]["fed"])' "$st")
}

# wait_scrapes: after wait_replay, until two more scrapes have landed; the
# last must have succeeded and carry every record the agent was fed.
wait_scrapes() {
	local n0 n
	n0=$(scalar 'count_over_time(up{job="kvmscope"}[10m])')
	n0=${n0:-0}
	n=$n0
	for _ in $(seq 1 100); do
		n=$(scalar 'count_over_time(up{job="kvmscope"}[10m])')
		[ "${n:-0}" -ge $((n0 + 2)) ] && break
		sleep 0.2
	done
	[ "${n:-0}" -ge $((n0 + 2)) ] || fail "fewer than 2 scrapes after the replay ($n0 -> $n)"
	[ "$(scalar 'up{job="kvmscope"}')" = 1 ] || fail "the last scrape failed: $(query up)"
	[ "$(scalar 'kvmscope_records_total')" = "$fed" ] ||
		fail "kvmscope_records_total is not the $fed records the status says were fed"
}

# prom_stop: stops Prometheus and the agent; the agent must exit 0 with no
# sanitizer report.
prom_stop() {
	local rc
	kill -TERM "$prom"
	wait "$prom" 2>/dev/null
	prom=
	kill -INT "$agent"
	wait "$agent"
	rc=$?
	agent=
	[ "$rc" -eq 0 ] || fail "the agent exited with $rc"
	grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/agent.log" &&
		fail "sanitizer report"
	return 0
}
