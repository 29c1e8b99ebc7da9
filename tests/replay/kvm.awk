# kvm.awk - an independent reading of ftrace text lines, for the tests.
#
# Written from the format's description, not from src/replay/: regular
# expressions where the C reader scans by hand, awk's own arithmetic for
# timestamps and buckets.  parse() sets COMM, TID, TGID, TS (ns), EVENT and
# FIELDS from $0 and returns 1 for an event line.  The log-linear bucket
# functions re-derive src/bpf/loglin.h's scheme: values below 16 exact,
# then 16 linear sub-buckets per power of two.

function parse(line,    s, l, m, rest, ts, a, n, frac) {
	if (line ~ /^[ \t]*#/ || line ~ /^[ \t]*$/)
		return 0
	if (!match(line, /-[0-9]+ +(\([ 0-9-]+\) +)?\[[0-9]+\] /))
		return 0
	s = RSTART
	l = RLENGTH
	COMM = substr(line, 1, s - 1)
	sub(/^[ \t]+/, "", COMM)
	m = substr(line, s + 1, l - 1)
	TID = m
	sub(/[^0-9].*$/, "", TID)
	TGID = ""
	if (m ~ /\( *[0-9]+\)/) {
		TGID = m
		sub(/^[^(]*\( */, "", TGID)
		sub(/\).*$/, "", TGID)
	}
	rest = substr(line, s + l)
	sub(/^ +/, "", rest)
	if (rest !~ /^[0-9]+(\.[0-9]+)?:/)
		sub(/^[^ ]+ +/, "", rest)	# the flags column
	if (!match(rest, /^[0-9]+(\.[0-9]+)?:/))
		return 0
	ts = substr(rest, 1, RLENGTH - 1)
	rest = substr(rest, RLENGTH + 1)
	n = split(ts, a, ".")
	frac = n > 1 ? substr(a[2] "000000000", 1, 9) : "0"
	TS = a[1] * 1000000000 + frac
	sub(/^ +/, "", rest)
	if (!match(rest, /^[A-Za-z0-9_]+:/))
		return 0
	EVENT = substr(rest, 1, RLENGTH - 1)
	FIELDS = substr(rest, RLENGTH + 1)
	sub(/^ +/, "", FIELDS)
	sub(/[ \r]+$/, "", FIELDS)
	return 1
}

# The vcpu an event prints ("vcpu 3" at the start of its fields), or "".
function printed_vcpu(f) {
	if (f !~ /^vcpu [0-9]+/)
		return ""
	sub(/^vcpu /, "", f)
	sub(/[^0-9].*$/, "", f)
	return f
}

# The exit reason of a kvm_exit, named as kvmscope names it: VMX names
# (no lower-case letters) lowercased.
function exit_reason(f) {
	sub(/^(vcpu [0-9]+ )?reason /, "", f)
	sub(/ rip 0x.*$/, "", f)
	if (f !~ /[a-z]/)
		f = tolower(f)
	return f
}

# "0x00fb" or "fb" -> "fb"; digits only, lowercase, no leading zeros.
function hexkey(h) {
	h = tolower(h)
	sub(/^0x/, "", h)
	sub(/^0+/, "", h)
	return h == "" ? "0" : h
}

function dec2hex(d,    h, digit) {
	h = ""
	d = d + 0
	do {
		digit = d % 16
		h = substr("0123456789abcdef", digit + 1, 1) h
		d = int(d / 16)
	} while (d > 0)
	return h
}

function ll_index(v,    e, p) {
	if (v < 16)
		return v
	e = 0
	p = 1
	while (p * 2 <= v) {
		p *= 2
		e++
	}
	return (e - 3) * 16 + int(v / (p / 16)) % 16
}

function ll_lo(i,    e) {
	if (i < 16)
		return i
	e = int(i / 16) + 3
	return (16 + i % 16) * 2 ^ (e - 4)
}

function ll_hi(i) {
	return ll_lo(i + 1) - 1
}
