#!/bin/bash
# t_skip_allow.sh - a skip passes make check only when tests/skip-allow.txt
# names it: a missing privilege or tool does, a verifier rejection (what
# bpfload.c reported as "needs root" before it told the two apart) or an
# unknown reason does not.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP" || exit 1
. scripts/skip-allowed.sh
fails=0
want() {	# yes|no TEST REASON
	local got=no
	skip_allowed "$2" "$3" && got=yes
	[ "$got" = "$1" ] || { echo "FAIL: $2: \"$3\": allowed $got, want $1"; fails=1; }
}
want yes tests/bpf/t_load.sh "needs root for BPF"
want yes tests/bpf/t_load.sh "BPF not permitted here: kvmscope stat: bpf_exits: cannot load the BPF probe: Operation not permitted; live data needs root (CAP_BPF and CAP_PERFMON)"
want yes tests/http/t_api.sh "curl is not installed"
want yes tests/cli/t_check.sh "SKIP: the probes need root"
want yes tests/bpf/t_load.sh "no tracepoint kvm/kvm_exit in this kernel (KVM not built or loaded)"
want no tests/bpf/t_load.sh "kvmscope stat: bpf_exits: the kernel's verifier rejected the BPF probe although this process may load BPF: a kvmscope bug"
want no tests/http/t_api.sh "no capture to replay"
want no tests/lab/t_smoke.sh "SKIP: lab scenario smoke: unavailable here"
want no tests/http/t_api.sh ""
[ "$fails" = 0 ] || exit 1
echo "skip allow-list ok"
