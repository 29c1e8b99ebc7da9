# l1lib.sh - helpers for lab scenarios, sourced inside L1 (busybox sh).
# shellcheck shell=sh
#
# Scenarios run as root in /out (lab-out/<scenario> on the host) and report
# by exit status: 0 pass, 77 skip, anything else fail; the last line they
# print says why.  These helpers keep that uniform and do the chores every
# scenario repeats: timing marks, reading kvmtest's key=value lines,
# comparing counts, and driving the kvm tracepoints through tracefs.
T=/sys/kernel/tracing
BAD=0

ut() { cut -d' ' -f1 /proc/uptime; }
mark() { echo "T_$1 $(ut)"; }
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

need_kvm() {
	grep -q '^kvm_amd ' /proc/modules || fail "kvm_amd is not loaded (see console.log)"
	[ -c /dev/kvm ] || fail "/dev/kvm is missing"
}

# kv FILE PREFIX KEY: KEY's value on the first line of FILE that starts
# with PREFIX followed by a space ("vcpu0", "TOTAL", "vcpu1 vector=0x20").
kv() {
	awk -v p="$2 " -v k="$3=" 'index($0, p) == 1 {
		for (i = 1; i <= NF; i++)
			if (index($i, k) == 1) { print substr($i, length(k) + 1); exit }
	}' "$1"
}

# expect NAME GOT WANT: one checked line; failures are counted in BAD.
expect() {
	if [ "$2" = "$3" ]; then
		echo "ok   $1 = $2"
	else
		echo "BAD  $1 = '$2', want '$3'"
		BAD=$((BAD + 1))
	fi
}

# expect_range NAME GOT LO HI: LO <= GOT <= HI.
expect_range() {
	if [ -n "$2" ] && [ "$2" -ge "$3" ] 2>/dev/null && [ "$2" -le "$4" ]; then
		echo "ok   $1 = $2 (in $3..$4)"
	else
		echo "BAD  $1 = '$2', want $3..$4"
		BAD=$((BAD + 1))
	fi
}

# Every vector's injections must all have been delivered to the guest's
# handler, and no injection may have been dropped.
expect_delivered() {	# FILE VCPUS
	local i=0 v
	while [ $i -lt "$2" ]; do
		expect "vcpu$i overflow" "$(kv "$1" vcpu$i overflow)" 0
		for v in $(grep "^vcpu$i vector=" "$1" | sed 's/.*vector=\([^ ]*\).*/\1/'); do
			expect "vcpu$i vector $v delivered" \
				"$(kv "$1" "vcpu$i vector=$v" delivered)" \
				"$(kv "$1" "vcpu$i vector=$v" injected)"
		done
		i=$((i + 1))
	done
}

# trace_start: empties the buffer and enables every kvm event.
trace_start() {
	echo 0 > $T/tracing_on
	echo > $T/trace
	echo "${TRACE_KB:-32768}" > $T/buffer_size_kb
	echo 1 > $T/events/kvm/enable
	echo 1 > $T/tracing_on
}

# trace_stop FILE: stops tracing and saves the buffer's text.
trace_stop() {
	echo 0 > $T/tracing_on
	cat $T/trace > "$1"
	echo 0 > $T/events/kvm/enable
}

# dump_values FILE...: "PATH VALUE" for each file's first line, read by one
# process (a fork per file costs tens of milliseconds under TCG).
dump_values() {
	head -n 1 "$@" 2>/dev/null | awk '
		/^==> .* <==$/ { f = substr($0, 5, length($0) - 8); next }
		f != "" && NF { print f, $0; f = "" }'
}

# save_formats DIR: every kvm event's format file as DIR/<event>.format,
# byte for byte (head separates files with one blank line, dropped here).
save_formats() {
	mkdir -p "$1"
	head -n 10000 $T/events/kvm/*/format | awk -v d="$1" '
		/^==> .* <==$/ {
			if (out != "") close(out)
			n = split($2, p, "/"); out = d "/" p[n - 1] ".format"
			blank = 0; next
		}
		!NF { blank++; next }
		{ while (blank > 0) { print "" > out; blank-- } print > out }'
}

# ---- kvmscope serve in L1, reached from the host ----------------------
# agent_start [SOURCES]: `kvmscope serve` on 0.0.0.0:23181 (run-l1.sh
# forwards a host port to it) with a fresh operator token: listening on
# anything but loopback needs one.  The token goes to /out/token for the
# host; AGENT is the agent's pid; AGENT_PEERS, if set, is its --peers
# (the demo links the host's own agent).  Fails if it does not listen in
# 30 s.
AGENT_PORT=23181
agent_start() {
	local i=0
	K=/usr/local/bin/kvmscope
	[ -x $K ] || skip "no kvmscope in L1: build .output/kvmscope (make), or set LAB_KVMSCOPE"
	TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	(umask 077 && echo "$TOKEN operator" > /tmp/tokens)
	echo "$TOKEN" > /out/token
	$K serve --listen 0.0.0.0:$AGENT_PORT --tokens /tmp/tokens --no-state \
		${1:+--sources "$1"} ${AGENT_PEERS:+--peers "$AGENT_PEERS"} \
		> serve.log 2>&1 &
	AGENT=$!
	until netstat -ltn 2>/dev/null | grep -q ":$AGENT_PORT "; do
		i=$((i + 1))
		[ $i -gt 300 ] && fail "kvmscope serve did not listen: $(tail -2 serve.log)"
		kill -0 $AGENT 2>/dev/null || fail "kvmscope serve exited: $(tail -3 serve.log)"
		sleep 0.1
	done
}

# api PATH [POST-DATA]: the agent's answer (GET, or POST with the form).
api() {
	if [ -n "${2:-}" ]; then
		wget -q -O - --header "Authorization: Bearer $TOKEN" \
			--post-data "$2" "http://127.0.0.1:$AGENT_PORT$1"
	else
		wget -q -O - --header "Authorization: Bearer $TOKEN" \
			"http://127.0.0.1:$AGENT_PORT$1"
	fi
}

# instn NAME FORM: creates an instrumentation and records "NAME ID" in
# /out/instn for the host.
instn() {
	local id
	id=$(api /ca/instrumentations "$2" | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p')
	[ -n "$id" ] || fail "cannot create instrumentation $1 ($2)"
	echo "$1 $id" >> /out/instn
}

# phase NAME start|end [KEY=VALUE...]: "NAME start|end EPOCH-SECONDS ..."
# in /out/phases, on L1's wall clock, which the agent stamps with.
phase() {
	local n=$1 w=$2
	shift 2
	echo "$n $w $(date +%s) $*" >> /out/phases
	mark "PHASE_$(echo "$n" | tr a-z- A-Z_)_$(echo "$w" | tr a-z A-Z)"
}

# hold_until_stop SECONDS: waits for the host's /out/stop, at most SECONDS.
hold_until_stop() {
	local i=0
	while [ ! -e /out/stop ] && [ $i -lt $(($1 * 5)) ]; do
		sleep 0.2
		i=$((i + 1))
	done
	[ -e /out/stop ] && echo "stopped by the host after $((i / 5)) s"
}

# ---- QEMU -enable-kvm in L1 (an L2 Linux guest) -----------------------
# hostroot_chroot: the host's / as a chroot for the host's own QEMU
# (host_chroot_tools, below); CH is the command prefix.
hostroot_chroot() {
	host_chroot_tools qemu-system-x86_64
}

# l2_start DIR NAME VCPUS [APPEND]: boots the hostguest initramfs in DIR
# (a host path; the lab's kernel is DIR/../kernel) under QEMU -enable-kvm
# as VM NAME, in "busy" mode unless APPEND says otherwise, and waits until
# its userland runs (at most L2_WAIT seconds, default 180).  L2PID is
# QEMU's pid, L2LOG its console (in L1).
l2_start() {
	local i=0
	L2LOG=$H/tmp/l2-$2.log
	$CH qemu-system-x86_64 -enable-kvm -cpu host -m 256 -smp "$3" \
		-nodefaults -display none -no-reboot \
		-name "guest=$2,debug-threads=on" \
		-kernel "$1/../kernel/vmlinuz" -initrd "$1/initramfs.gz" \
		-append "console=ttyS0 quiet loglevel=0 panic=-1 ${4:-ks.mode=busy}" \
		-serial "file:/tmp/l2-$2.log" > "/tmp/l2-$2.qemu" 2>&1 &
	L2PID=$!
	mark "L2_START $2"
	until grep -q KS_ "$L2LOG" 2>/dev/null; do
		i=$((i + 1))
		kill -0 $L2PID 2>/dev/null || fail "QEMU L2 exited: $(tail -3 "/tmp/l2-$2.qemu")"
		[ $i -gt $((${L2_WAIT:-180} * 10)) ] &&
			fail "the L2 guest did not come up in ${L2_WAIT:-180} s"
		sleep 0.1
	done
	mark "L2_UP $2"
}

l2_stop() {
	kill "$L2PID" 2>/dev/null
	wait "$L2PID" 2>/dev/null
	L2PID=
}

# ---- peers run from the host's root (perf, bpftrace) --------------------
# host_chroot_tools TOOL...: the host's / (LAB_HOSTROOT=1, read-only at
# /host) as a chroot with this kernel's pseudo filesystems (/dev for
# /dev/kvm, tracefs, debugfs, bpffs) and tmpfs where tools write; /lab at
# /mnt.  Mounts once per scenario.  Skips when a TOOL is missing there,
# fails when it does not run.  CH is the command prefix.
host_chroot_tools() {
	local t d
	H=/host
	[ -d $H/usr/bin ] || skip "no host root at $H: run with LAB_HOSTROOT=1"
	for t in "$@"; do
		[ -x $H/usr/bin/$t ] || skip "no $t in the host root (scripts/deps.sh installs it)"
	done
	if [ -z "${CH:-}" ]; then
		for d in proc sys sys/kernel/tracing sys/kernel/debug sys/fs/bpf dev; do
			mount --bind /$d $H/$d 2>/dev/null
		done
		for d in tmp run root; do
			mount -t tmpfs $d $H/$d
		done
		mount --bind /lab $H/mnt
	fi
	CH="chroot $H /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root"
	for t in "$@"; do
		$CH $t --version > /dev/null 2>&1 || fail "$t does not run in the host chroot"
	done
}

# wait_for FILE PATTERN PID WHAT: until FILE matches, or PID dies.
wait_for() {
	local i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || fail "$4 exited: $(tail -3 "$1")"
		i=$((i + 1))
		[ $i -gt 3000 ] && fail "$4 did not start in 300 s"
		sleep 0.1
	done
}

# wait_sigint PID WHAT: until PID catches SIGINT.  A background job of a
# script starts with SIGINT ignored, and a tool still loading (perf and
# bpftrace read themselves over 9p) would lose the SIGINT that stops it.
wait_sigint() {
	local i=0 cgt
	while :; do
		cgt=$(awk '$1 == "SigCgt:" { print $2 }' /proc/$1/status 2>/dev/null)
		[ -n "$cgt" ] || fail "$2 exited"
		[ $((0x$cgt & 2)) != 0 ] && return 0
		i=$((i + 1))
		[ $i -gt 3000 ] && fail "$2 did not take SIGINT in 300 s"
		sleep 0.1
	done
}

# halt_tool PID: SIGINT, and SIGKILL if it has not ended 5 minutes later
# (bpftrace prints its maps and detaches slowly on a loaded host; HALT_WAIT
# tenths of a second, 3000 unless set); HALT_KILLED=1 says it was killed.
halt_tool() {
	local i=0
	HALT_KILLED=0
	kill -INT "$1" 2>/dev/null
	while kill -0 "$1" 2>/dev/null && [ $i -lt "${HALT_WAIT:-3000}" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$1" 2>/dev/null; then
		echo "BAD  pid $1 ignored SIGINT"
		kill -KILL "$1"
		HALT_KILLED=1
	fi
	wait "$1"
}
