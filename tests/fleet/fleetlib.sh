# fleetlib.sh - shared by the fleet tests (t_fleet.sh, t_fleet_ui.sh,
# t_fleet_tenant.sh, t_fleet_pause.sh): the common start of a test, free
# ports, the scrape config of the agents, the agents' own values, waiting
# for them, a fleet on a free port, and cleaning up.  Either source it
# alone and call fleet_init NAME (it sources promlib.sh and runs its
# prom_init), or source it after promlib.sh's prom_init.  It uses K, KF,
# TOP, DATA, tmp, fail and the array pids.

K=${KVMSCOPE:?}
KF=${KVMSCOPE_FAST:-$K}

# fleet_init NAME: promlib.sh's prom_init NAME ($tmp, fail), no process
# started yet (pids).
fleet_init() {
	. "$TOP/tests/http/promlib.sh"
	prom_init "$1"
	pids=()
}

# fleet_scrapers: Prometheus and VictoriaMetrics found (else exit 77),
# everything started killed on exit.
fleet_scrapers() {
	trap fleet_cleanup EXIT
	find_prometheus
	find_victoria
}

# free_ports N: N free loopback ports, one a line (one Python for all:
# Python starts slowly on a loaded machine).
free_ports() {
	python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss:
    s.bind(("127.0.0.1", 0))
for s in ss:
    print(s.getsockname()[1])' "$1"
}

# scrape_yml FILE PORT...: every agent scraped each second.
scrape_yml() {
	local f=$1 targets
	shift
	targets=$(printf "'127.0.0.1:%s'," "$@")
	cat >"$f" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: kvmscope
    static_configs:
      - targets: [${targets%,}]
YML
}

# fleet_cleanup: kills what the test started (pids), then Prometheus.
fleet_cleanup() {
	for p in "${pids[@]}"; do { kill -KILL "$p" && wait "$p"; } 2>/dev/null; done
	prom_cleanup
}

# own_values I TRACE: an agent's own vm.exits of TRACE, by `kvmscope
# replay`, in $tmp/own_{reason,vm,lat}_I.json (by vleavereason, vm,
# latency).
own_values() {
	local d
	for d in reason:vleavereason vm:vm lat:latency; do
		"$KF" replay "$2" --metric vm.exits --decompose "${d#*:}" --json \
			>"$tmp/own_${d%%:*}_$1.json" 2>/dev/null || fail "replay $2"
	done
}

# find_victoria: VictoriaMetrics from PATH, else Debian's package
# unpacked into $tmp; sets VM, or exits 77.
find_victoria() {
	VM=$(command -v victoria-metrics) && return 0
	VM=$tmp/vmpkg/usr/bin/victoria-metrics
	(cd "$tmp" && apt-get download victoria-metrics >"$tmp/apt-vm.log" 2>&1) &&
		dpkg-deb -x "$tmp"/victoria-metrics_*.deb "$tmp/vmpkg" ||
		{ echo "VictoriaMetrics is not installed and apt-get could not fetch it"; exit 77; }
}

# vm_start YML PORT: VictoriaMetrics (single node, its own scraper) on
# PORT, scraping as YML says; sets VURL.
vm_start() {
	"$VM" -promscrape.config="$1" -storageDataPath="$tmp/vmdata" \
		-httpListenAddr="127.0.0.1:$2" -search.latencyOffset=1s \
		-search.disableCache -loggerLevel=ERROR >"$tmp/vm.log" 2>&1 &
	pids+=($!)
	VURL=http://127.0.0.1:$2
	for _ in $(seq 1 100); do
		curl -sf "$VURL/health" >/dev/null 2>&1 && break
		sleep 0.1
	done
	curl -sf "$VURL/health" >/dev/null || fail "VictoriaMetrics did not start"
}

# agents_replayed TOKEN PURL VURL PORT...: every agent (on PORT...) has
# finished its replay, then after 4 s more of scrapes both Prometheus
# (PURL) and VictoriaMetrics (VURL) hold every agent's hostname.  TOKEN
# (or "") is the bearer token the agents want.
agents_replayed() {
	python3 - "$@" <<'PY' || fail "the replays did not finish, or a scraper lacks a host"
import json, sys, time, urllib.parse, urllib.request
token, purl, vurl, ports = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def get(u):
    r = urllib.request.Request(u, headers={"Authorization": "Bearer " + token} if token else {})
    with urllib.request.urlopen(r, timeout=5) as f:
        return json.load(f)
for p in ports:
    for _ in range(200):
        if get("http://127.0.0.1:%s/ca/admin/status" % p)["replay"]["finished"]:
            break
        time.sleep(0.2)
    else:
        sys.exit("agent on %s did not finish" % p)
time.sleep(4)
q = urllib.parse.quote("count(count by (hostname) (kvmscope_records_total))")
for u in (purl, vurl):
    r = get("%s/api/v1/query?query=%s" % (u, q))["data"]["result"]
    assert r and r[0]["value"][1] == str(len(ports)), (u, r)
PY
}

# exit_samples URL NAME START N: the raw samples of every agent's
# vm.exits counter over [START - 1, START + N], each second, from the
# scraper at URL, in $tmp/NAME.samples.json.
exit_samples() {
	curl -s "$1/api/v1/query_range" --data-urlencode 'query=kvmscope_vm_exits_total' \
		--data-urlencode "start=$(($3 - 1))" --data-urlencode "end=$(($3 + $4))" \
		--data-urlencode step=1 >"$tmp/$2.samples.json"
}

# agents_wait N: agents 1..N (logs $tmp/agentI.log) listen.
agents_wait() {
	local n
	for n in $(seq 1 "$1"); do
		for _ in $(seq 1 100); do
			grep -q '^kvmscope: listening on' "$tmp/agent$n.log" && break
			sleep 0.1
		done
		grep -q '^kvmscope: listening on' "$tmp/agent$n.log" ||
			fail "agent $n did not start"
	done
}

# fleet_start URL [ARGS...]: a fleet on a free port; sets fleet, F.
fleet_start() {
	# Emptied here, not by the redirection below, which runs in the
	# background: the loop must not read the last fleet's address.
	: >"$tmp/fleet.log"
	"$K" fleet --prometheus "$1" --listen 127.0.0.1:0 --scrape-interval 1 \
		--timeout 3000 "${@:2}" 2>"$tmp/fleet.log" &
	fleet=$!
	pids+=($fleet)
	F=
	for _ in $(seq 1 100); do
		F=$(sed -n 's|^kvmscope: listening on \(http://127\.0\.0\.1:[0-9]*\)/$|\1|p' \
			"$tmp/fleet.log")
		[ -n "$F" ] && break
		kill -0 "$fleet" 2>/dev/null || fail "the fleet exited: $(cat "$tmp/fleet.log")"
		sleep 0.1
	done
	[ -n "$F" ] || fail "the fleet did not start"
}

# fleet_wait_clock T [CURL_ARGS...]: until the fleet's clock (its
# status' now) reaches T, at most 10 s; CURL_ARGS, such as a token header.
fleet_wait_clock() {
	local now
	for _ in $(seq 1 50); do
		now=$(curl -s "${@:2}" "$F/ca/admin/status" | grep -o '"now":[0-9]*' | cut -d: -f2)
		[ "${now:-0}" -ge "$1" ] && return 0
		sleep 0.2
	done
}

fleet_stop() {
	kill -INT "$fleet"
	wait "$fleet"
	[ $? -eq 0 ] || fail "the fleet exited with an error"
	grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/fleet.log" &&
		fail "sanitizer report: $(cat "$tmp/fleet.log")"
}
