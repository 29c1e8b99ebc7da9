#!/bin/bash
# t_heatmap_png.sh - replay --heatmap-png: a figure with axes, a legend
# and a title around CA's heatmap; --log, --ymax, --width and --height.
#
# The figure is decoded (pngpix.py, zlib only) and its axes, tick labels,
# title, legend and plot are looked for where the 'wrote' line says the
# heatmap is; test_annotate.c checks, through libpng, that the plot area is
# the bare heatmap pixel for pixel.  Each option must change the file the
# way it says, and bad values must fail with the option named, no file and
# a non-zero exit.
. "$(dirname "$0")/lib.sh"

f=$DATA/kvm-trace-qemu-l2.virtio-window2000.txt
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }

dims() {	# PNG: "W H" from its IHDR
	od -An -tu1 -j 16 -N 8 "$1" |
		awk '{ print $1*16777216 + $2*65536 + $3*256 + $4,
			     $5*16777216 + $6*65536 + $7*256 + $8 }'
}
where() {	# the 'wrote' line's "PX PY PW PH YMAX"
	sed -n 's/.*heatmap \([0-9]*\) x \([0-9]*\) at (\([0-9]*\),\([0-9]*\)), ymax \([0-9]*\)).*/\3 \4 \1 \2 \5/p' \
		"$SCRATCH/err"
}
figure() {	# NAME ARGS...: draws $SCRATCH/NAME.png, checks its pixels
	local name=$1
	shift
	replay "$f" -m vm.exits "$@" --heatmap-png "$SCRATCH/$name.png"
	set -- $(where)
	[ $# = 5 ] || fail "$name: no 'wrote' line: $(cat "$SCRATCH/err")"
	python3 "$TOP/tests/replay/pngpix.py" "$SCRATCH/$name.png" \
		"$1" "$2" "$3" "$4" || fail "$name: figure incomplete"
	nchecks=$((nchecks + 1))
}

figure lin -d latency
read -r W0 H0 < <(dims "$SCRATCH/lin.png")
read -r _ _ PW PH YMAX < <(where)
[ "$PW $PH" = "600 300" ] || fail "default heatmap is $PW x $PH"
[ "$W0" -gt 600 ] && [ "$H0" -gt 300 ] || fail "no margins: $W0 x $H0"

# --width/--height size the plot; the margins stay (while the plot is
# wider than the subtitle).
figure small -d latency --width 450 --height 150
read -r W1 H1 < <(dims "$SCRATCH/small.png")
[ "$((W0 - W1)) $((H0 - H1))" = "150 150" ] ||
	fail "--width 450 --height 150: ${W0}x$H0 -> ${W1}x$H1"

# --log: other rows, same ymax; the y label says so.
figure log -d latency --log
read -r _ _ _ _ YLOG < <(where)
[ "$YLOG" = "$YMAX" ] || fail "--log changed ymax ($YMAX -> $YLOG)"
cmp -s "$SCRATCH/lin.png" "$SCRATCH/log.png" && fail "--log changed nothing"

# --ymax: the rows stop there.
figure ymax -d latency --ymax 5000000
read -r _ _ _ _ Y5 < <(where)
[ "$Y5" = 5000000 ] || fail "--ymax 5000000 drew ymax $Y5"
cmp -s "$SCRATCH/lin.png" "$SCRATCH/ymax.png" && fail "--ymax changed nothing"

# Decomposed by a key too: the legend lists the keys.
figure keys -d vleavereason,latency --log

bad() {	# PATTERN ARGS...: must fail naming PATTERN, writing no file
	local pat=$1
	shift
	rm -f "$SCRATCH/bad.png"
	if "$KVMSCOPE" replay "$f" -m vm.exits "$@" >"$SCRATCH/out" \
		2>"$SCRATCH/err"; then
		fail "accepted: $*"
	fi
	grep -q -- "$pat" "$SCRATCH/err" ||
		fail "for '$*' expected '$pat', got: $(cat "$SCRATCH/err")"
	[ -e "$SCRATCH/bad.png" ] && fail "a PNG was written for: $*"
	nchecks=$((nchecks + 1))
}
P="--heatmap-png $SCRATCH/bad.png"
bad '--width:' -d latency $P --width 5
bad '--width:' -d latency $P --width 1001
bad '--width:' -d latency $P --width abc
bad '--height:' -d latency $P --height 0
bad '--height:' -d latency $P --height 5000
bad '--ymax:' -d latency $P --ymax nope
bad '--ymax:' -d latency $P --ymax -3
bad '--log: only applies to --heatmap-png' -d latency --log
bad '--ymax: only applies to --heatmap-png' -d latency --ymax 10
bad '--width: only applies to --heatmap-png' -d latency --width 100
bad 'needs a numeric --decompose' -d vcpu $P --log
echo "ok: $nchecks checks"
