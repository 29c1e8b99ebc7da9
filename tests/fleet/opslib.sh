# opslib.sh - shared by tests/fleet/t_rules.sh and t_grafana.sh, sourced
# after tests/http/promlib.sh (it uses scalar and fail).

# wait_positive PROMQL: until PROMQL's single value is positive (30 s at
# most: two scrapes of a rising counter, or rules evaluated on them).
wait_positive() {
	local r=
	for _ in $(seq 1 100); do
		r=$(scalar "$1")
		[ -n "$r" ] && [ "$r" != 0 ] && return 0
		sleep 0.3
	done
	fail "$1 is not positive after 30 s: '$r'"
}

# two_agents: the agent replaying $DATA (the exits trace) as host
# exits-host, and one replaying $DISK (a real guest's disk I/O recorded by
# the disk_qmp source) as disk-host, both in a loop; sets A1, aport1,
# agent1 for the first, and agent, A, aport (promlib's) for the second.
two_agents() {
	agent_replay --replay-loop --hostname exits-host
	agent1=$agent A1=$A aport1=$aport
	mv "$tmp/agent.log" "$tmp/agent1.log"
	trap 'kill -KILL "$agent1" 2>/dev/null; prom_cleanup' EXIT
	DATA=$DISK agent_replay --replay-loop --hostname disk-host
}

# prom_scrape [RULES] TARGET...: Prometheus (started with
# --web.enable-lifecycle) reloads a configuration scraping the TARGETs
# (host:port) every second in job kvmscope, with the rules file RULES if
# it names a file.
prom_scrape() {
	local rules= t list=
	[ -f "$1" ] && { rules="rule_files: ['$1']"; shift; }
	for t in "$@"; do list="$list${list:+, }'$t'"; done
	cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
$rules
scrape_configs:
  - job_name: kvmscope
    static_configs:
      - targets: [$list]
YML
	curl -sf -X POST "$P/-/reload" >/dev/null ||
		fail "Prometheus did not reload its configuration"
}

# stop_agent1: the first agent of two_agents must exit 0 on SIGINT.
stop_agent1() {
	local rc
	kill -INT "$agent1"
	wait "$agent1"
	rc=$?
	[ "$rc" -eq 0 ] || fail "the first agent exited with $rc"
}
