# live-probes [SCENARIO...] - several scenarios in one boot of L1, each
# in a folder of its own: /out/<scenario>/ holds what a boot of that
# scenario alone leaves in lab-out/<scenario>/ (scenario.log, status,
# args, and its files), so the host-side tests read it unchanged
# (hostlib.sh: LAB_DONE=1).  Default: the live-probe set that
# t_kernel612.sh checks under another kernel - bpf-exits (exits exact,
# count-only and timed), irq-seconds (one 0x22 per vCPU per second),
# check (`kvmscope check` against KVM) and samples-cr3 (samples by cr3,
# with the L1's kvm_amd, nested paging by default).  One boot instead of
# four saves three boots, and the host's preparation of each.
# Each runs with its default arguments, as a separate sh, so one that
# fails does not stop the next; /out/uname is L1's `uname -r`.  The exit
# status is 1 if any failed, else 77 if any skipped (its reason last),
# else 0.
# lab-timeout: 480
. /lab/l1lib.sh
need_kvm
uname -r > /out/uname
echo "kernel $(cat /out/uname)"
rc=0 why=""
for s in ${*:-bpf-exits irq-seconds check samples-cr3}; do
	[ -f "/lab/scenarios/$s.sh" ] || fail "no scenario $s"
	rm -rf "/out/$s"
	mkdir -p "/out/$s"
	: > "/out/$s/args"
	S_=$(echo "$s" | tr a-z- A-Z_)
	mark "${S_}_START"
	(cd "/out/$s" && { sh "/lab/scenarios/$s.sh" 2>&1; echo $? > /tmp/sub.rc; } |
		tee scenario.log)
	r=$(cat /tmp/sub.rc)
	echo "$r" > "/out/$s/status"
	mark "${S_}_DONE"
	echo "$s: status $r"
	case $r in
	0) ;;
	77) [ $rc = 0 ] && rc=77
	    why="$s: $(tail -1 "/out/$s/scenario.log" | sed 's/^SKIP: //')";;
	*) rc=1; echo "BAD  $s ended with status $r";;
	esac
done
[ $rc = 77 ] && skip "$why"
[ $rc = 0 ] || fail "a scenario failed (see BAD above)"
echo "live-probes ok"
