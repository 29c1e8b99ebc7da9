#!/bin/bash
# test-timeout: 600
# t_ui_views.sh - issue 13's web UI in a real browser, in both scopes: the
# time range (picker, pause and resume, stepping back, drag-select zoom),
# hover counts, the keyboard cursor, readable defaults per map, the
# no-data explanation, dashboards (the default one, saving per scope, the
# share link), and every page as the operator and as a tenant.
#
# One agent with a token file (an operator and two tenants, as
# tests/http/t_auth.sh) replays two real captures merged into one host's
# trace, in a loop: VM qemu-system-x86 is tenant acme's, kvmtest tenant
# beta's.  tests/web/views.mjs drives chromium through the pages and
# checks pixels, numbers and links; its screenshots go to a temporary
# directory (kept with KEEP_SHOTS=1 or on failure), and with
# UPDATE_DOCS=1 the ones the README shows are copied to docs/ui/.
# Skips (77) if chromium or node cannot be had.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
K=${KVMSCOPE:-$TOP/.output-asan/kvmscope}
cd "$TOP" || exit 1
[ -x "$K" ] || { echo "no kvmscope binary at $K"; exit 1; }
bash tests/web/deps.sh ||
	{ echo "chromium or playwright-core cannot be had (tests/web/deps.sh)"
	  exit 77; }
command -v node >/dev/null || { echo "node is not installed"; exit 77; }
[ -x /usr/bin/chromium ] || { echo "/usr/bin/chromium is not installed"; exit 77; }
. "$TOP/tests/http/agentlib.sh"
keep=${KEEP_SHOTS:-0}
trap 'for p in "${agents[@]}"; do kill -KILL "$p" 2>/dev/null; done
	if [ "$keep" = 1 ]; then echo "screenshots kept in $tmp/shots"
	else rm -rf "$tmp"; fi' EXIT

A=$TOP/tests/data/kvm-trace-qemu-l2.head3000.txt
Bt=$TOP/tests/data/kvm-trace-all-events.txt
merge_traces "$tmp/host.txt" "$A" "$Bt"
rnd() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
OP=op-$(rnd)
TA=acme-$(rnd)
TB=beta-$(rnd)
cat >"$tmp/tokens" <<EOT
$OP operator
$TA tenant acme qemu-system-x86
$TB tenant beta kvmtest
EOT
chmod 600 "$tmp/tokens"
start views http --listen 127.0.0.1:0 --tokens "$tmp/tokens" \
	--replay "$tmp/host.txt" --replay-loop --web-root "$TOP/web"
echo "agent on $B"

BASE=$B/ SHOTS=$tmp/shots OP=$OP TA=$TA DOCS=${UPDATE_DOCS:+$TOP/docs/ui} \
	timeout 420 node tests/web/views.mjs 2>"$tmp/node.err"
rc=$?
if grep -q 'ERROR: AddressSanitizer\|runtime error:' "$tmp/err.views" \
	"$tmp/node.err"; then
	echo "FAILED: sanitizer report from the agent:"
	cat "$tmp/err.views"
	rc=1
fi
[ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && { keep=1; cat "$tmp/node.err"; }
exit "$rc"
