#!/bin/bash
# t_irqs.sh - interrupt vectors and their vCPUs, against awk.
#
# vm.irqs (kvm_inj_virq) by vector and by vCPU, where awk attributes each
# injection to the vCPU the same thread last printed in kvm_entry or
# kvm_exit; vm.apic_irqs (kvm_apic_accept_irq) by vector, by target APIC
# and by delivery mode.  Vectors are lowercase hex without 0x.
. "$(dirname "$0")/lib.sh"

ninj=0 napic=0
for cap in $CAPTURES; do
	f=$DATA/$cap

	if grep -q ' kvm_inj_virq: ' "$f"; then
		ninj=$((ninj + 1))
		kawk '
		function vec(f,  a) {
			if (f ~ /^irq [0-9]+/) {
				split(f, a, " ")
				return dec2hex(a[2])
			}
			split(f, a, " ")
			return hexkey(a[2])
		}
		parse($0) && EVENT == "kvm_inj_virq" { n[vec(FIELDS)]++ }
		END { for (k in n) printf "%s\t%d\n", k, n[k] }' "$f" \
			>"$SCRATCH/want"
		replay "$f" --metric vm.irqs --decompose irqvector
		expect "$cap: irqs by vector" "$SCRATCH/want"

		kawk '
		!parse($0) { next }
		(EVENT == "kvm_entry" || EVENT == "kvm_exit") &&
		    printed_vcpu(FIELDS) != "" { last[TID] = printed_vcpu(FIELDS) }
		EVENT == "kvm_inj_virq" && (TID in last) { n[last[TID]]++ }
		END { for (k in n) printf "%s\t%d\n", k, n[k] }' "$f" \
			>"$SCRATCH/want"
		replay "$f" --metric vm.irqs --decompose vcpu
		expect "$cap: irqs by vcpu" "$SCRATCH/want"
	fi

	if grep -q ' kvm_apic_accept_irq: ' "$f"; then
		napic=$((napic + 1))
		for what in vector apic mode; do
			kawk '
			parse($0) && EVENT == "kvm_apic_accept_irq" {
				split(FIELDS, a, " ")	# apicid X vec N (M|T)
				mode = a[5]
				sub(/^\(/, "", mode)
				sub(/\|.*$/, "", mode)
				if (what == "vector")
					n[dec2hex(a[4])]++
				else if (what == "apic")
					n[sprintf("%d", hexval(a[2]))]++
				else
					n[mode]++
			}
			function hexval(h,  v, i) {
				v = 0
				h = tolower(h)
				for (i = 1; i <= length(h); i++)
					v = v * 16 + index("0123456789abcdef",
							   substr(h, i, 1)) - 1
				return v
			}
			END { for (k in n) printf "%s\t%d\n", k, n[k] }' \
				-v what=$what "$f" >"$SCRATCH/want"
			case $what in
			vector) field=irqvector;;
			apic) field=vcpu;;
			mode) field=deliverymode;;
			esac
			replay "$f" --metric vm.apic_irqs --decompose $field
			expect "$cap: apic irqs by $field" "$SCRATCH/want"
		done
	fi
done
[ $ninj -ge 2 ] && [ $napic -ge 1 ] ||
	fail "expected injections in 2 captures and APIC irqs in 1"
echo "ok: $nchecks comparisons"
