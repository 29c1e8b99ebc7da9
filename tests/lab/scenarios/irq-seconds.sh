# irq-seconds - each injected interrupt is counted in its own wall-clock
# second, on its own vCPU.  `kvmscope serve` (the irqs source only) watches
# kvmtest on 2 vCPUs inject vector 0x22 into each vCPU once a second at
# 2 ms past the wall-clock second (-p 1000 -P 2 -W) for 15 s.  The agent
# reads each second a few ms after it ends, when the probe's map already
# holds the next second's first injections: those must wait for the read
# that ends their own second (source/sechold.h).  A per-second read that
# credits them to the second before shows as a second with 0 next to one
# with 2.  The vCPU of each injection is read from the injecting thread
# (no kvm_entry program), so the counts are also per vCPU.
# Results: irqs.json (per-second raw values of vm.irqs, vector 0x22, by
# vCPU and subsecond), run (start=, end=, pid= on L1's wall clock),
# kvmtest.out (with vcpu0's binary stats).  The host (tests/lab/t_irq_seconds.sh) checks them.
# Arguments: none.
# lab-timeout: 150
. /lab/l1lib.sh
need_kvm
kvpid() { sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$1"; }

agent_start bpf_irqs
mark LISTENING
# {"eq":["irqvector","22"]}
pred='%7B%22eq%22%3A%5B%22irqvector%22%2C%2222%22%5D%7D'
: > /out/instn
instn irqs "module=vm&stat=irqs&decomposition=vcpu,subsecond&predicate=$pred"
id=$(sed -n 's/^irqs //p' /out/instn)
sleep 1.2	# the instrumentation sees a whole second before the work

start=$(date +%s)
kvmtest -c 2 -n 200 -s 200 -v 0x22 -p 1000 -P 2 -W -d 15 \
	> kvmtest.out 2>&1 || fail "kvmtest: $(tail -1 kvmtest.out)"
end=$(date +%s)
echo "start=$start end=$end pid=$(kvpid kvmtest.out)" > run
grep -E '^(vcpu|TOTAL)' kvmtest.out
sleep 2.5	# two more reads: the last second's injections are counted
mark RUN_DONE
api "/ca/instrumentations/$id/value/raw?start_time=$start&duration=1&ndatapoints=$((end - start + 2))" \
	> irqs.json || fail "cannot read the instrumentation's values"
[ -s irqs.json ] || fail "empty answer for the instrumentation's values"
kill $AGENT
wait $AGENT
echo "irq-seconds: data for seconds $start..$((end + 1)) in irqs.json"
