# pictures-l1 [phases=LIST] [hold=S] [l2=DIR] - the workloads behind the
# seed's pictures 2, 3 and 4, watched by `kvmscope serve` in L1, whose API
# the host reads through the forwarded port (tests/lab/t_pictures.sh).
#
# The agent runs the BPF sources (exits, irqs, samples) on 0.0.0.0:23181
# with a fresh token (/out/token).  Before any workload the scenario
# creates the instrumentations the host will read (/out/instn: "NAME ID"),
# then runs each phase of LIST (default exits,irqs,cr3) in turn, one VM
# at a time, writing "NAME start|end EPOCH [KEY=VALUE]" lines to
# /out/phases on L1's wall clock:
#   exits  kvmscope stat (counts per second, JSON) around one exact
#          kvmtest burst: 2000 port writes, 125 MMIO writes, no cpuid, no
#          injections, one hlt;
#   irqs   kvmtest for 20 s: vector 0x20 once a second at 50 ms past the
#          wall-clock second, and vector 0x21 waking the guest 1 s after
#          each burst of 1000 port writes (work, then sleep a fixed time);
#   cr3    kvmtest on 2 vCPUs spinning 1:1 under two page directories for
#          8 s, idle 2 s, then 1:19 for 20 s;
#   qemu   (needs LAB_HOSTROOT=1 and l2=DIR, the host directory with the
#          hostguest initramfs) QEMU -enable-kvm running a 2-vCPU Linux
#          guest named l2-linux, next to a kvmtest VM, with kvmscope stat
#          around both.
# Then it writes /out/done and holds until the host creates
# lab-out/pictures-l1/stop (or hold= seconds pass, default 300).
# lab-net: yes
# lab-timeout: 600
. /lab/l1lib.sh
PHASES=exits,irqs,cr3 HOLD=300 L2=
for a in "$@"; do
	case $a in
	phases=*) PHASES=${a#phases=};;
	hold=*) HOLD=${a#hold=};;
	l2=*) L2=${a#l2=};;
	esac
done
need_kvm
has() { case ",$PHASES," in *",$1,"*) return 0;; esac; return 1; }
kvpid() { sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$1"; }
: > /out/instn
: > /out/phases

agent_start bpf_exits,bpf_irqs,bpf_samples
mark LISTENING
echo "kind=kvmscope port=$AGENT_PORT" > ready
instn exits "module=vm&stat=exits&decomposition=vleavereason,latency"
instn uexits "module=vm&stat=userspace_exits&decomposition=uexitreason"
instn irqs "module=vm&stat=irqs&decomposition=irqvector,subsecond"
instn samples "module=vm&stat=thread_samples&decomposition=vmmmuctx,subsecond"
# {"eq":["vm","l2-linux"]}
has qemu && instn l2exits "module=vm&stat=exits&decomposition=vleavereason,latency&predicate=%7B%22eq%22%3A%5B%22vm%22%2C%22l2-linux%22%5D%7D"
sleep 1.2	# the instrumentations see a whole second before any work

# stat_around FILE: starts kvmscope stat (1 s counts) and returns once it
# has printed its first interval, so what follows is counted whole.
stat_around() {
	local i=0
	$K stat -j -c 1 "$2" > "$1.json" 2> "$1.err" &
	STAT=$!
	until [ -s "$1.json" ]; do
		i=$((i + 1))
		[ $i -gt 300 ] && fail "kvmscope stat printed nothing in 30 s: $(tail -2 "$1.err")"
		kill -0 $STAT 2>/dev/null || fail "kvmscope stat exited: $(tail -2 "$1.err")"
		sleep 0.1
	done
}

if has exits; then
	phase exits start
	stat_around stat-exits 5
	kvmtest -q -n 2000 -m 125 -C 0 > exits.out 2>&1 || fail "kvmtest exits: $(tail -1 exits.out)"
	wait $STAT || fail "kvmscope stat failed: $(tail -2 stat-exits.err)"
	phase exits end pid=$(kvpid exits.out)
	grep -E '^(vcpu|TOTAL)' exits.out
fi

if has irqs; then
	phase irqs start
	kvmtest -q -n 1000 -s 1000 -V 0x21 -v 0x20 -p 1000 -P 50 -W -d 20 \
		> irqs.out 2>&1 || fail "kvmtest irqs: $(tail -1 irqs.out)"
	phase irqs end pid=$(kvpid irqs.out)
	grep -E '^(vcpu|TOTAL)' irqs.out
fi

if has cr3; then
	phase cr3 start
	kvmtest -q -c 2 -r 1:1 -R 1:19@8 -u 10000000 -d 30 > cr3.out 2>&1 ||
		fail "kvmtest cr3: $(tail -1 cr3.out)"
	phase cr3 end pid=$(kvpid cr3.out)
	grep -E '^(vcpu|TOTAL)' cr3.out
fi

if has qemu; then
	[ -n "$L2" ] || fail "phase qemu needs l2=DIR (the hostguest initramfs)"
	hostroot_chroot
	[ -r "/host$L2/initramfs.gz" ] || fail "no /host$L2/initramfs.gz"
	phase qemu start
	l2_start "$L2" l2-linux 2
	kvmtest -q -d 12 -n 1000 -s 20 -V 0x21 -v 0x20 -p 100 > qemu-kvmtest.out 2>&1 &
	kp=$!
	sleep 2
	stat_around stat-qemu 4
	wait $STAT || fail "kvmscope stat failed: $(tail -2 stat-qemu.err)"
	wait $kp
	l2_stop
	phase qemu end pid=$L2PID kvmtest=$(kvpid qemu-kvmtest.out)
fi

echo "$(date +%s)" > done
mark DONE
hold_until_stop "$HOLD"
kill $AGENT
wait $AGENT
echo "pictures ok: $PHASES"
