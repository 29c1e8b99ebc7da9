# scratch (to be deleted): second attribution of early-in-second irqs
# lab-net: yes
# lab-timeout: 200
. /lab/l1lib.sh
need_kvm
agent_start bpf_irqs
instn irqs "module=vm&stat=irqs&decomposition=irqvector,subsecond"
for ph in 50 500 10; do
	phase p$ph start
	kvmtest -q -n 1000 -v 0x20 -p 1000 -P $ph -W -d 15 -s 1000 -V 0x21 > p$ph.out 2>&1
	phase p$ph end
	sleep 2
done
sleep 2
s=$(awk 'NR==1{print $3}' /out/phases)
api "/ca/instrumentations/1/value/raw?start_time=$s&duration=1&ndatapoints=60" > raw.json
grep -E "^vcpu0 vector" p*.out
