#!/bin/bash
# layers.sh - the source tree's rooms include only rooms below them.
#
# src/ is layered one way (docs/DESIGN.md, "Layers"): a file in one folder
# may include headers of its own folder and of folders lower in LAYERS,
# never of one above, so that a change in a higher room cannot break a
# lower one and each room can be read without those above it.  Prints
# each include that goes up and exits 1, or says the layers hold.
set -u
cd "$(dirname "$0")/../src"
LAYERS="util bpf engine kvm replay vm source render store expo http fleet agent cli"
rank() {
	local i=0 l
	for l in $LAYERS; do
		[ "$l" = "$1" ] && { echo $i; return; }
		i=$((i + 1))
	done
	echo -1
}
bad=0
for dir in */; do
	dir=${dir%/}
	[ "$dir" = vmlinux ] && continue
	me=$(rank "$dir")
	if [ "$me" -lt 0 ]; then
		echo "layers: src/$dir is in no layer (scripts/layers.sh LAYERS)"
		bad=1
		continue
	fi
	while IFS=: read -r file line room; do
		[ "$room" = "$dir" ] || [ "$room" = vmlinux ] && continue
		up=$(rank "$room")
		if [ "$up" -lt 0 ] || [ "$up" -gt "$me" ]; then
			echo "layers: src/$file:$line includes $room/, above $dir/"
			bad=1
		fi
	done < <(grep -Hno '^#include "[a-z_]*/' "$dir"/*.[ch] 2>/dev/null |
		 sed 's|^\([^:]*\):\([0-9]*\):#include "\([a-z_]*\)/$|\1:\2:\3|')
done
[ $bad = 0 ] && echo "layers: one way ($LAYERS)"
exit $bad
