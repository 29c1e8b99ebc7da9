#!/bin/bash
# t_fleet_ui.sh - the web UI served by `kvmscope fleet`, in a real browser,
# over 8 replaying agents scraped by a real Prometheus.
#
# Eight agents (`kvmscope serve --replay-loop`, --hostname host1..host8)
# are scraped every second by Debian's Prometheus; a fleet serves the web
# UI from it.  tests/web/fleet_ui.mjs, in Debian's chromium, checks that
# the Hosts card lists the 8 hosts, each a link to its agent; creates
# vm.exits by hostname and latency, clicks a heatmap cell and checks that
# each hostname key in the details links to that host's agent with the
# same view (metric, decomposition, a hostname predicate, no id) in the
# hash; then stops host8's agent and checks the card says 7 reporting,
# 1 stale, host8 marked.  Skips (77) without chromium, node or Prometheus.
set -u
K=${KVMSCOPE:?}
KF=${KVMSCOPE_FAST:-$K}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-qemu-l2.head3000.txt
NAGENTS=8
cd "$TOP" || exit 1
. "$TOP/tests/http/promlib.sh"
prom_init t_fleet_ui
pids=() apids=()
fleet_ui_cleanup() {
	for p in "${pids[@]}"; do { kill -KILL "$p" && wait "$p"; } 2>/dev/null; done
	prom_cleanup
}
trap fleet_ui_cleanup EXIT

bash tests/web/deps.sh >/dev/null 2>&1 ||
	{ echo "chromium or playwright-core cannot be had (tests/web/deps.sh)"; exit 77; }
command -v node >/dev/null || { echo "node is not installed"; exit 77; }
find_prometheus

mapfile -t ports < <(python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss:
    s.bind(("127.0.0.1", 0))
for s in ss:
    print(s.getsockname()[1])' $NAGENTS)
targets=$(printf "'127.0.0.1:%s'," "${ports[@]}")
cat >"$tmp/scrape.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: kvmscope
    static_configs:
      - targets: [${targets%,}]
YML
PROM_YML=$tmp/scrape.yml prom_start

agent_pids={
for n in $(seq 1 $NAGENTS); do
	"$KF" serve --listen "127.0.0.1:${ports[$((n - 1))]}" --no-state \
		--hostname "host$n" --replay "$DATA" --replay-loop \
		2>"$tmp/agent$n.log" &
	pids+=($!)
	agent_pids+="\"host$n\":$!,"
done
agent_pids="${agent_pids%,}}"
for n in $(seq 1 $NAGENTS); do
	for _ in $(seq 1 100); do
		grep -q '^kvmscope: listening on' "$tmp/agent$n.log" && break
		sleep 0.1
	done
	grep -q '^kvmscope: listening on' "$tmp/agent$n.log" || fail "agent $n did not start"
done

"$K" fleet --prometheus "$P" --listen 127.0.0.1:0 --scrape-interval 1 \
	--timeout 3000 --web-root "$TOP/web" 2>"$tmp/fleet.log" &
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

BASE=$F/ SHOTS=$tmp/shots AGENT_PIDS=$agent_pids NAGENTS=$NAGENTS \
	timeout 90 node tests/web/fleet_ui.mjs 2>"$tmp/node.log"
rc=$?
grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/fleet.log" &&
	fail "sanitizer report: $(cat "$tmp/fleet.log")"
[ "$rc" -eq 77 ] && exit 77
[ "$rc" -eq 0 ] || fail "fleet_ui.mjs failed ($rc)"
echo "PASS: t_fleet_ui ($NAGENTS agents through Prometheus, in chromium)"
