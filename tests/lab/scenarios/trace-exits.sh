# trace-exits [N] [VCPUS] [K] - a kvmtest burst (N port writes per vCPU, an
# injection after every K-th) with every kvm tracepoint on.  Saves:
#   trace.txt          the tracefs text of the run
#   kvmtest.out        kvmtest's own counts, with the VM's debugfs and
#                      binary stats read while it was open
#   debugfs-live.txt   /sys/kernel/debug/kvm/ (all VMs) and the VM's own
#                      directory, read while kvmtest held the VM open
#   formats/           the kvm events' format files
#   trace-summary.txt  event and exit-reason counts
# These are fresh, real traces for kvmscope's replay tests;
# t_exits_exact.sh checks them against each other.
# lab-timeout: 120
. /lab/l1lib.sh
N=${1:-1000} C=${2:-1} K=${3:-64}
need_kvm
uname -r > kernel.txt

# Through tmpfs, and few processes: forks and 9p are slow under TCG.
save_formats /tmp/formats
cp -r /tmp/formats .
mark FORMATS_SAVED

trace_start
mark L2_START
kvmtest -n "$N" -c "$C" -i "$K" -H 30 > kvmtest.out 2>&1 &
kp=$!
# While the VM is held open its debugfs directory exists.
i=0
until grep -q '^holding' kvmtest.out; do
	kill -0 $kp 2>/dev/null || break
	i=$((i + 1))
	[ $i -gt 600 ] && break
	sleep 0.1
done
mark L2_DONE
dump_values /sys/kernel/debug/kvm/* /sys/kernel/debug/kvm/*-*/* |
	sed 's|^/sys/kernel/debug/kvm/||' > /tmp/debugfs-live.txt
kill $kp 2>/dev/null
wait $kp
trace_stop /tmp/trace.txt
grep -q '^holding' kvmtest.out || fail "kvmtest failed: $(tail -1 kvmtest.out)"
cp /tmp/debugfs-live.txt /tmp/trace.txt .

awk '
	/entries-in-buffer/ { head = $0 }
	/^#/ { next }
	{ lines++ }
	match($0, / kvm_[a-z0-9_]+: /) {
		ev = substr($0, RSTART + 1, RLENGTH - 3); events[ev]++
		rest = substr($0, RSTART + RLENGTH)
		if (ev == "kvm_exit") { split(rest, w, " "); exits["vcpu" w[2] " " w[4]]++ }
		if (ev == "kvm_userspace_exit") { split(rest, w, " "); uexits[w[2]]++ }
	}
	END {
		print head; print "lines " lines
		print "== events"; for (e in events) print events[e], e
		print "== kvm_exit by vcpu and reason"; for (e in exits) print exits[e], e
		print "== kvm_userspace_exit by reason"; for (e in uexits) print uexits[e], e
	}' /tmp/trace.txt > trace-summary.txt
mark SUMMARY
cat trace-summary.txt
grep -E '^(vcpu|TOTAL)' kvmtest.out
grep -E '^[0-9]+-[0-9]+/(exits|io_exits|mmio_exits|halt_exits|irq_injections) ' debugfs-live.txt
