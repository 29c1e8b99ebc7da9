#!/bin/bash
# Exact exit counts, three ways, from one real kvm_amd run in the lab: a
# 1000-iteration kvmtest burst (scenarios/trace-exits.sh) traced with every
# kvm event.  kvmtest's own userspace exits must be what it was asked to
# do; the trace's kvm_exit "io" lines and KVM_EXIT_IO userspace exits must
# equal its port writes plus its interrupt handlers' reports; KVM's debugfs
# counters, read while the VM was open, must equal the trace's; and
# `kvmscope replay` of the trace must count the same io exits, and every
# kvm_exit line once.
set -u
. "$(dirname "$0")/hostlib.sh"
K=$(kvmscope_bin) || lab_fail "no kvmscope binary (make first)"
N=1000 EVERY=64
lab_run trace-exits 320 $N 1 $EVERY
R=$LABOUT/trace-exits
out=$R/kvmtest.out tr=$R/trace.txt dbg=$R/debugfs-live.txt
[ -s "$tr" ] || lab_fail "no trace in $tr"

# 1. kvmtest did what it was asked.
io=$(kv "$out" vcpu0 io) isr=$(kv "$out" vcpu0 isr)
check "kvmtest io" "$io" $N
check "kvmtest isr" "$isr" $((N / EVERY))
check "kvmtest mmio" "$(kv "$out" vcpu0 mmio)" $((N / 16))
check "kvmtest hlt" "$(kv "$out" vcpu0 hlt)" 1

# 2. The trace is whole and agrees.
read -r have written < <(sed -n 's/.*entries-in-buffer\/entries-written: \([0-9]*\)\/\([0-9]*\).*/\1 \2/p' "$tr")
check "trace entries kept (of written)" "$have" "$written"
tio=$(lines "$tr" ' kvm_exit: vcpu 0 reason io ')
texits=$(lines "$tr" ' kvm_exit: ')
check "trace kvm_exit reason io" "$tio" $((io + isr))
check "trace KVM_EXIT_IO" "$(lines "$tr" 'kvm_userspace_exit: reason KVM_EXIT_IO ')" $((io + isr))
check "trace KVM_EXIT_MMIO" "$(lines "$tr" 'kvm_userspace_exit: reason KVM_EXIT_MMIO ')" "$(kv "$out" vcpu0 mmio)"
check "trace KVM_EXIT_HLT" "$(lines "$tr" 'kvm_userspace_exit: reason KVM_EXIT_HLT ')" 1
check "trace kvm_pio port 0x10" "$(lines "$tr" 'kvm_pio: pio_write at 0x10 ')" "$io"

# 3. KVM's own counters for the VM (debugfs <pid>-<fd>/) agree.
vm=$(awk '$1 ~ /^[0-9]+-[0-9]+\/exits$/ { split($1, a, "/"); print a[1]; exit }' "$dbg")
[ -n "$vm" ] || lab_fail "no VM directory in $dbg"
dv() { awk -v k="$vm/$1" '$1 == k { print $2 }' "$dbg"; }
check "debugfs exits" "$(dv exits)" "$texits"
check "debugfs io_exits" "$(dv io_exits)" "$tio"
check "debugfs mmio_exits" "$(dv mmio_exits)" "$(kv "$out" vcpu0 mmio)"
check "debugfs halt_exits" "$(dv halt_exits)" 1
check "debugfs irq_injections" "$(dv irq_injections)" "$(lines "$tr" ' kvm_inj_virq: ')"

# 4. kvmscope replays the trace to the same counts.
json=$("$K" replay "$tr" --metric vm.exits --decompose vleavereason --json) ||
	lab_fail "kvmscope replay failed"
read -r rio rsum < <(python3 -c '
import json, sys
v = json.loads(sys.argv[1])["value"]
print(v.get("io", 0), sum(v.values()))' "$json")
check "replay io" "$rio" "$tio"
check "replay all exits" "$rsum" "$texits"
[ $BAD = 0 ] || lab_fail "$BAD checks failed"
echo "exits exact: $tio io exits agree in kvmtest, trace, debugfs and replay (${LAB_WALL}s)"
