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
. "$TOP/tests/fleet/fleetlib.sh"
pids=()
fleet_ui_cleanup() {
	for p in "${pids[@]}"; do { kill -KILL "$p" && wait "$p"; } 2>/dev/null; done
	prom_cleanup
}
trap fleet_ui_cleanup EXIT

bash tests/web/deps.sh >/dev/null 2>&1 ||
	{ echo "chromium or playwright-core cannot be had (tests/web/deps.sh)"; exit 77; }
command -v node >/dev/null || { echo "node is not installed"; exit 77; }
find_prometheus

mapfile -t ports < <(free_ports $NAGENTS)
scrape_yml "$tmp/scrape.yml" "${ports[@]}"
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
agents_wait $NAGENTS

fleet_start "$P" --web-root "$TOP/web"

BASE=$F/ SHOTS=$tmp/shots AGENT_PIDS=$agent_pids NAGENTS=$NAGENTS \
	timeout 150 node tests/web/fleet_ui.mjs 2>"$tmp/node.log"
rc=$?
[ "$rc" -eq 77 ] && exit 77
[ "$rc" -eq 0 ] || fail "fleet_ui.mjs failed ($rc)"
fleet_stop
echo "PASS: t_fleet_ui ($NAGENTS agents through Prometheus, in chromium)"
