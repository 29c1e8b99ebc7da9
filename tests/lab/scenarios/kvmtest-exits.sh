# kvmtest-exits - kvmtest's modes, each checked against its parameters:
# exact counts for bursts (1 and 2 vCPUs, count-driven injection at chosen
# vectors), plausible counts for time-driven injection (a tick at a fixed
# phase, and a wake-up vector after work and sleep), and the two-cr3 mode.
# Each case's output is saved as <case>.out.
# lab-timeout: 120
. /lab/l1lib.sh
need_kvm

run() {	# case args...
	local c=$1
	shift
	mark "CASE_START $c"
	if ! kvmtest -q "$@" > "$c.out" 2>&1; then
		echo "BAD  $c: kvmtest $* failed: $(tail -1 "$c.out")"
		BAD=$((BAD + 1))
	fi
	grep -E '^(vcpu|TOTAL)' "$c.out" | sed "s/^/$c: /"
}

# burst: exact counts from the parameters alone.
burst() {	# case N M C VCPUS K VEC
	local c=$1 n=$2 m=$3 k=$4 vc=$5 every=$6 vec=$7 i=0 isr
	run "$c" -n "$n" -m "$m" -C "$k" -c "$vc" -i "$every" -v "$vec"
	isr=0
	[ "$every" -gt 0 ] && isr=$((n / every))
	while [ $i -lt "$vc" ]; do
		expect "$c vcpu$i io" "$(kv "$c.out" vcpu$i io)" "$n"
		expect "$c vcpu$i mmio" "$(kv "$c.out" vcpu$i mmio)" "$m"
		expect "$c vcpu$i isr" "$(kv "$c.out" vcpu$i isr)" "$isr"
		expect "$c vcpu$i hlt" "$(kv "$c.out" vcpu$i hlt)" 1
		[ "$isr" -gt 0 ] && expect "$c vcpu$i vector $vec" \
			"$(kv "$c.out" "vcpu$i vector=$vec" delivered)" "$isr"
		i=$((i + 1))
	done
	expect_delivered "$c.out" "$vc"
}

burst default 1000 62 62 1 0 0x20
burst io-only 1000 0 0 1 10 0x20
burst mmio-heavy 300 300 5 1 7 0x81
burst two-vcpus 500 200 7 2 50 0x40

# tick: 0x20 every 500 ms at phase 250 ms, bursts back to back, 3 s.
run tick -d 3 -n 2000 -v 0x20 -p 500 -P 250
expect_range "tick vector 0x20" "$(kv tick.out 'vcpu0 vector=0x20' delivered)" 5 7
expect_range "tick bursts" "$(kv tick.out vcpu0 bursts)" 1 100000
expect_delivered tick.out 1

# work/sleep: bursts of 1000 port writes, 50 ms asleep, woken by 0x21;
# 0x20 ticks once a second meanwhile.  The last burst may end unwoken.
run worksleep -d 3 -n 1000 -s 50 -V 0x21 -v 0x20 -p 1000
b=$(kv worksleep.out vcpu0 bursts)
expect_range "worksleep bursts" "$b" 2 60
expect_range "worksleep vector 0x21" "$(kv worksleep.out 'vcpu0 vector=0x21' delivered)" $((b - 1)) "$b"
expect_range "worksleep vector 0x20" "$(kv worksleep.out 'vcpu0 vector=0x20' delivered)" 2 4
expect_delivered worksleep.out 1

# cr3: 3:1 under two page directories; one port-0x12 exit per cycle.
run cr3 -r 3:1 -u 200000 -d 2
grep '^kvmtest mode=cr3' cr3.out
expect_range "cr3 cycles" "$(kv cr3.out vcpu0 cycles)" 1 100000000
expect "cr3 io" "$(kv cr3.out vcpu0 io)" 0

[ $BAD = 0 ] || fail "$BAD checks failed"
echo "kvmtest-exits ok"
