# scratch (to be deleted): explore the sampler with guest RIPs
# lab-timeout: 200
. /lab/l1lib.sh
need_kvm
for r in 19:1 1:1; do
	c=r$(echo $r | tr : -)
	kvmscope 14 > $c.txt 2> $c.err &
	sp=$!
	until grep -q running $c.err; do sleep 0.2; done
	kvmtest -q -c 2 -r $r -u 10000000 -d 10 > $c.out 2>&1
	wait $sp
	grep -E '^(pid|vcpu)' $c.out
	tail -1 $c.err
done
