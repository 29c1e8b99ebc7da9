#!/bin/bash
# t_caps.sh - the agent keeps only the capabilities it needs.  Run as root,
# it starts with everything; once its sources are attached and its socket
# bound it narrows itself, before the server thread exists, so every
# thread in /proc/PID/task shows the reduced sets:
#  - replaying a trace it needs nothing: CapEff, CapPrm, CapBnd all 0;
#  - with its live sources it keeps what the sources' periodic work needs
#    (at most CAP_BPF, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH,
#    CAP_DAC_OVERRIDE), exactly the set it announces;
#  - no_new_privs is set, and the agent still serves afterwards;
#  - --keep-capabilities leaves them as they were.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
[ -f "$DATA" ] || { echo "no capture to replay"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "needs root: nothing to narrow otherwise"; exit 77; }
. "$TOP/tests/http/agentlib.sh"

full=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
[ "$full" != 0000000000000000 ] || { echo "this root has no capabilities"; exit 77; }

# Every thread's NAME field, one per line, deduplicated.
field() {	# PID NAME
	cat /proc/"$1"/task/*/status | awk -v f="$2:" '$1 == f { print $2 }' | sort -u
}
# The capability mask of a list of names (cap_bpf,cap_sys_ptrace).
mask() {
	python3 - "$1" <<'PY'
import sys
bits = {"cap_dac_override": 1, "cap_dac_read_search": 2,
        "cap_sys_ptrace": 19, "cap_bpf": 39}
m = 0
for n in sys.argv[1].split(","):
    if n and n != "none":
        m |= 1 << bits[n]
print("%016x" % m)
PY
}

# ---- replay: nothing ---------------------------------------------------------
start replay http --listen 127.0.0.1:0 --no-state --replay "$DATA" --replay-loop
grep -q 'capabilities narrowed to: none' "$tmp/err.replay" ||
	fail "no 'narrowed to: none' line"
[ "$(ls /proc/$pid/task | wc -l)" -ge 2 ] || fail "the server thread is missing"
for f in CapEff CapPrm CapBnd CapInh CapAmb; do
	[ "$(field "$pid" "$f")" = 0000000000000000 ] ||
		fail "replay: $f is $(field "$pid" "$f")"
done
[ "$(field "$pid" NoNewPrivs)" = 1 ] || fail "no_new_privs is not set"
expect 200 - GET /ca
expect 201 - POST /ca/instrumentations -d 'module=vm&stat=exits'
stop replay

# ---- live sources: what they need --------------------------------------------
start live http --listen 127.0.0.1:0 --no-state
said=$(sed -n 's/^kvmscope serve: capabilities narrowed to: //p' "$tmp/err.live")
[ -n "$said" ] || fail "no 'narrowed to' line"
want=$(mask "$said")
allowed=$(mask cap_bpf,cap_sys_ptrace,cap_dac_read_search,cap_dac_override)
for f in CapEff CapPrm CapBnd; do
	[ "$(field "$pid" "$f")" = "$want" ] ||
		fail "live: $f is $(field "$pid" "$f"), announced $said ($want)"
done
(( (0x$want & ~0x$allowed) == 0 )) || fail "live keeps more than it may: $said"
expect 200 - GET /ca/admin/status
check 'isinstance(j["sources"], list)'
echo "live sources: $(py '", ".join(s["name"] + " " + s["status"] for s in j["sources"])')"
echo "kept: $said"
stop live

# ---- --keep-capabilities: untouched --------------------------------------------
start keep http --listen 127.0.0.1:0 --no-state --replay "$DATA" --keep-capabilities
grep -q 'narrowed' "$tmp/err.keep" && fail "narrowed despite --keep-capabilities"
[ "$(field "$pid" CapEff)" = "$full" ] || fail "--keep-capabilities: CapEff $(field "$pid" CapEff)"
stop keep
echo "caps ok"
