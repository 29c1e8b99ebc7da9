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
