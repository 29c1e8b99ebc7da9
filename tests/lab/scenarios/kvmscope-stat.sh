# kvmscope-stat - `kvmscope stat 1 3 --json`, then `stat -L 1 2 --json`,
# inside L1 while kvmtest keeps a VM busy for 20 s (bursts with sleeps, a
# tick vector and a wake-up vector), so the BPF probes see real kvm_amd
# activity.  Skips when the initramfs has
# no kvmscope (build it with make) or the binary has no stat command yet.
# lab-timeout: 150
. /lab/l1lib.sh
K=/usr/local/bin/kvmscope
[ -x $K ] || skip "no kvmscope in L1: build .output/kvmscope (make), or set LAB_KVMSCOPE"
$K stat --help > stat-help.txt 2>&1 || skip "this kvmscope has no 'stat' command yet"
need_kvm
[ -f /sys/kernel/btf/vmlinux ] && echo "BTF: /sys/kernel/btf/vmlinux present"

kvmtest -q -d 20 -n 2000 -s 10 -V 0x21 -v 0x20 -p 1000 -H 2 > kvmtest.out 2>&1 &
kp=$!
sleep 1
mark STAT_START
$K stat -w 1 3 --json > stat.json 2> stat.err
rc=$?
mark STAT_DONE
# -L: exits timed, and the table of exits by reason (perf kvm stat's).
$K stat -w -L 1 2 --json > statL.json 2> statL.err
rcL=$?
mark STATL_DONE
wait $kp
grep -E '^(vcpu|TOTAL)' kvmtest.out
cat stat.err
head -c 4000 stat.json
echo
[ $rc = 0 ] || fail "kvmscope stat exited $rc: $(tail -1 stat.err)"
cat statL.err
head -c 3000 statL.json
echo
[ $rcL = 0 ] || fail "kvmscope stat -L exited $rcL: $(tail -1 statL.err)"
[ -s stat.json ] || fail "kvmscope stat printed nothing"
grep -q '{' stat.json || fail "kvmscope stat --json printed no JSON object"
echo "kvmscope-stat ok: $(wc -l < stat.json) lines of JSON"
