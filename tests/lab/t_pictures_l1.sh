#!/bin/bash
# test-timeout: 1500
# The seed's pictures 2, 3 and 4 on real KVM, end to end: workloads in the
# lab's L1 (scenarios/pictures-l1.sh), `kvmscope serve` in L1 with its BPF
# sources, and this host reading CA's API through the forwarded port with
# the agent's token.  Checked from the raw values per second:
#
# 3. VM exits by reason (and by VM and vCPU in `kvmscope stat`): one
#    kvmtest burst of 2000 port writes, 125 MMIO writes and a hlt gives
#    exactly io = 2000 and hlt = 1 exits, npf >= 125, userspace exits
#    KVM_EXIT_IO = 2000, KVM_EXIT_MMIO = 125, KVM_EXIT_HLT = 1; kvmscope
#    stat's rows for that VM and vCPU 0 add up to the same io, hlt and mmio
#    and to the API's total.
# 2. Interrupts by subsecond offset, by vector: kvmtest injects 0x20 once a
#    second at 120 ms past the wall-clock second - a flat line: every
#    second has it, all within one 10 ms row or two adjacent ones (spread
#    under 20 ms), at 120..139 ms - and 0x21 one second after each burst of
#    work - a rising stair: the interval between its injections, from the
#    heatmap's offsets, matches kvmtest's own wake-to-wake time within
#    10 ms, and the step (interval - 1 s) matches the measured work time.
# 4. vCPU samples by cr3: two page directories on 2 vCPUs, 1:1 then
#    (after 3 idle seconds) 1:19: the samples' cr3 0x4000 share is 50% and
#    then 5%, within 10% of itself (at 1:19, 20% above: kvmtest's ratio
#    is of loop iterations, and each loop's fixed cost per cycle raises
#    the small share; full_samples_cr3.sh checks against true time).
# The numbers are checked by pictures_check.py.
#
# The heatmaps are saved in lab-out/pictures/: exits-latency.png,
# irqs-subsecond.png, samples-cr3.png, with the values behind them.
set -u
. "$(dirname "$0")/hostlib.sh"
. "$(dirname "$0")/picturelib.sh"
for c in curl python3; do
	command -v $c >/dev/null || lab_skip "no $c"
done
W=$(mktemp -d /tmp/t_pictures.XXXXXX)
PICTURES_CLEANUP="rm -rf $W"

# L1 is done after about 150 s and held while the host reads it; a TCG
# hang (rare) is cut at LAB_TIMEOUT and run-l1.sh boots it once more,
# within the budget.
# The hold covers the UI's screenshots too (seconds each on a quiet
# host, minutes through a loaded L1).
export LAB_TIMEOUT=${LAB_TIMEOUT:-480} PICTURES_BUDGET=${PICTURES_BUDGET:-720}
pictures_boot phases=exits,irqs,cr3 hold=420

raw exitsr exits "$W/exitsr.json"
raw uexits exits "$W/uexits.json"
raw irqs irqs "$W/irqs.json"
raw samples cr3 "$W/samples.json"
api_get /ca/admin/status "$W/status.json"
image exits exits exits-latency "ymin=0&ymax=200000&nbuckets=50&decompose_all=true"
image irqs irqs irqs-subsecond "ymin=0&ymax=1000&nbuckets=100&decompose_all=true"
image samples cr3 samples-cr3 "ymin=0&ymax=1000&nbuckets=50&decompose_all=true"
for f in exitsr uexits irqs samples; do cp "$W/$f.json" "$PICTURES/l1-$f.json"; done
cp "$PR/stat-exits.json" "$PR/exits.out" "$PR/irqs.out" "$PR/cr3.out" "$PR/phases" "$PICTURES/"

# The web UI's screenshots of these views are taken by t_demo.sh (of
# make demo's agents, through its proxy): here, through L1's forwarded
# port, the exits view did not show within two minutes in the final
# check and the screenshots outlasted L1's hold, whose reboot rewrote the
# phases this test checks.
pictures_stop

python3 "$LABDIR/pictures_check.py" "$W" "$PR" || BAD=$((BAD + 1))
[ $BAD = 0 ] || lab_fail "checks failed"
echo "pictures 2, 3, 4 ok through the forwarded API"
