#!/bin/bash
# t_exits.sh - exit counts per vCPU and reason, against awk.
#
# Replays each real capture and compares vm.exits decomposed by reason,
# by vCPU, and by reason for each vCPU (a predicate on vcpu), with counts
# awk takes straight from the kvm_exit lines of the same file.
. "$(dirname "$0")/lib.sh"

for cap in $CAPTURES; do
	f=$DATA/$cap

	kawk '
	parse($0) && EVENT == "kvm_exit" { n[exit_reason(FIELDS)]++ }
	END { for (k in n) printf "%s\t%d\n", k, n[k] }' "$f" >"$SCRATCH/want"
	replay "$f" --metric vm.exits --decompose vleavereason
	expect "$cap: exits by reason" "$SCRATCH/want"

	kawk '
	parse($0) && EVENT == "kvm_exit" { n[printed_vcpu(FIELDS)]++ }
	END { for (k in n) printf "%s\t%d\n", k, n[k] }' "$f" >"$SCRATCH/want"
	replay "$f" --metric vm.exits --decompose vcpu
	expect "$cap: exits by vcpu" "$SCRATCH/want"

	# Every vCPU separately, through the predicate.
	for v in $(cut -f1 "$SCRATCH/want"); do
		kawk '
		parse($0) && EVENT == "kvm_exit" && printed_vcpu(FIELDS) == v {
			n[exit_reason(FIELDS)]++
		}
		END { for (k in n) printf "%s\t%d\n", k, n[k] }' \
			-v v="$v" "$f" >"$SCRATCH/want.v"
		replay "$f" --metric vm.exits --decompose vleavereason \
			--predicate "{\"eq\":[\"vcpu\",\"$v\"]}"
		expect "$cap: vcpu $v exits by reason" "$SCRATCH/want.v"
	done

	# The scalar and the vm (comm) decomposition agree too.
	kawk 'parse($0) && EVENT == "kvm_exit" { n++ }
	END { printf "total\t%d\n", n }' "$f" >"$SCRATCH/want"
	replay "$f" --metric vm.exits
	expect "$cap: total exits" "$SCRATCH/want"
	kawk 'parse($0) && EVENT == "kvm_exit" { n[COMM]++ }
	END { for (k in n) printf "%s\t%d\n", k, n[k] }' "$f" >"$SCRATCH/want"
	replay "$f" --metric vm.exits --decompose vm
	expect "$cap: exits by vm" "$SCRATCH/want"
done
echo "ok: $nchecks comparisons"
