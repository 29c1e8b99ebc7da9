#!/bin/bash
# soak.sh - `make soak`: about ten minutes of guest churn, client churn and
# state faults against one agent (scripts/soak.py says what is done).
#
# SOAK_SECONDS shortens or lengthens it (default 600).  Uses the optimised
# binary (.output/kvmscope, or $KVMSCOPE_FAST); needs python3 and no root.
# Prints `soak_*` lines: RSS at the start and end of the uninterrupted
# second half, drops and refusals as /metrics counts them, and whether
# every acknowledged create and delete was found again after each restart
# (exit status 1 if one was not).
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
K=${KVMSCOPE_FAST:-$TOP/.output/kvmscope}
SECS=${SOAK_SECONDS:-600}
[ -x "$K" ] || { echo "soak: no binary at $K (run make)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "soak: needs python3" >&2; exit 2; }
tmp=$(mktemp -d /tmp/kvmscope-soak.XXXXXX)
chmod 700 "$tmp"
trap 'rm -rf "$tmp"' EXIT

OP=op-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
TA=acme-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s operator\n%s tenant acme guest0\n' "$OP" "$TA" >"$tmp/tokens"
chmod 600 "$tmp/tokens"
cat >"$tmp/kvmscope.conf" <<CONF
listen = 127.0.0.1:0
tokens = $tmp/tokens
tenant-instrumentations = 1
max-instrumentations = 64
raw-values = 100000
max-body = 65536
CONF
# Three VMs at a time, replaced by new ones every 15 s, 300 s looped: every
# exit at a new RIP, every MMIO access at a new address.
python3 "$TOP/scripts/guestflood.py" --vms 3 --seconds 300 --rate 400 \
	--mmio 100 --churn 15 >"$tmp/trace.txt" || exit 2
echo "soak: $SECS s; trace of $(wc -l <"$tmp/trace.txt") lines; agent $K"
python3 "$TOP/scripts/soak.py" "$K" "$tmp/kvmscope.conf" "$tmp/trace.txt" \
	"$tmp/state.db" "$tmp" "$OP" "$TA" "$SECS"
rc=$?
if [ $rc -ne 0 ]; then
	for f in "$tmp"/agent.*.err; do echo "== $f"; tail -5 "$f"; done
fi
exit $rc
