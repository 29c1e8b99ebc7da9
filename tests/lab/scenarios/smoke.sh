# smoke - kvm_amd loads in L1, /dev/kvm works, and one kvmtest burst makes
# exactly the userspace exits its parameters say.
# lab-timeout: 90
. /lab/l1lib.sh
N=1000 K=64

{
	uname -a
	grep -m1 'model name' /proc/cpuinfo
	grep -o -w -E 'svm|npt|nrip_save|vgif|lbrv|decodeassists|vmcb_clean|flushbyasid|pausefilter|avic' /proc/cpuinfo |
		sort | uniq -c | tr '\n' ' '
	echo
	for p in /sys/module/kvm_amd/parameters/*; do
		echo "kvm_amd.$(basename "$p")=$(cat "$p")"
	done
	dmesg | grep -i -E 'kvm|svm'
} > l1-env.txt 2>&1
grep -E 'kvm_amd\.(npt|nested|nrips)=|SVM' l1-env.txt
need_kvm
ls -l /dev/kvm

mark L2_START
kvmtest -n $N -i $K > kvmtest.out 2>&1 || fail "kvmtest failed: $(tail -1 kvmtest.out)"
mark L2_DONE
grep -E '^(vcpu|TOTAL)' kvmtest.out

# One burst: N port writes, N/16 MMIO writes, an injection after every K-th
# port write (each reported once by the handler), and the final hlt.
io=$N isr=$((N / K)) mmio=$((N / 16))
expect io "$(kv kvmtest.out vcpu0 io)" $io
expect isr "$(kv kvmtest.out vcpu0 isr)" $isr
expect mmio "$(kv kvmtest.out vcpu0 mmio)" $mmio
expect hlt "$(kv kvmtest.out vcpu0 hlt)" 1
expect "vector 0x20 injected" "$(kv kvmtest.out 'vcpu0 vector=0x20' injected)" $isr
expect_delivered kvmtest.out 1
irqwin=$(kv kvmtest.out vcpu0 irqwin)
expect exits "$(kv kvmtest.out vcpu0 exits)" $((io + isr + mmio + 1 + irqwin))
[ $BAD = 0 ] || fail "$BAD checks failed"
echo "smoke ok: $(kv kvmtest.out TOTAL exits) userspace exits at $(kv kvmtest.out TOTAL exits_per_s)/s"
