# picturelib.sh - the host side of the pictures-l1 scenario (sourced by
# t_pictures_l1.sh and full_pictures.sh after hostlib.sh).
# shellcheck shell=bash
#
# pictures_boot ARGS... boots L1 with scenarios/pictures-l1.sh in the
# background, waits for its /out/done (every workload finished, the agent
# still serving), and points API and API_TOKEN at the agent through the
# forwarded port.  pictures_stop tells L1 to end and checks its status.
# instn_id NAME and phase_field NAME start|end [KEY] read what the
# scenario left in /out.
PR=$LABOUT/pictures-l1
PRP=

pictures_boot() {
	local t0 log rc why
	lab_lock
	rm -f "$PR/done" "$PR/stop"
	log=$(mktemp /tmp/lab-pictures.XXXXXX)
	PLOG=$log
	trap 'rm -f "$PLOG"; [ -n "$PRP" ] && kill "$PRP" 2>/dev/null; ${PICTURES_CLEANUP:-:}' EXIT
	t0=$(date +%s)
	PT0=$t0
	bash "$LABDIR/run-l1.sh" pictures-l1 "$@" > "$log" 2>&1 &
	PRP=$!
	until [ -s "$PR/done" ]; do
		if ! kill -0 $PRP 2>/dev/null; then
			wait $PRP
			rc=$?
			PRP=
			cat "$log"
			why=$(grep -a -E 'cannot build the lab:|^SKIP:' "$log" | tail -1 | sed 's/^SKIP: //')
			[ $rc = 77 ] && lab_skip "lab scenario pictures-l1: ${why:-unavailable here}"
			lab_fail "run-l1.sh pictures-l1 ended (status $rc) before its workloads were done"
		fi
		[ $(( $(date +%s) - t0 )) -gt "${PICTURES_BUDGET:-500}" ] &&
			lab_fail "pictures-l1 not done within ${PICTURES_BUDGET:-500} s"
		sleep 0.5
	done
	API=http://$(cat "$PR/hostfwd")
	API_TOKEN=$(cat "$PR/token")
	echo "L1's workloads done after $(( $(date +%s) - t0 ))s; agent at $API"
}

pictures_stop() {
	local rc
	touch "$PR/stop"
	wait $PRP
	rc=$?
	PRP=
	cat "$PLOG"
	[ $rc = 0 ] || lab_fail "pictures-l1 ended with status $rc"
	echo "pictures-l1: L1 ran $(( $(date +%s) - PT0 ))s"
}

instn_id() { awk -v n="$1" '$1 == n { print $2 }' "$PR/instn"; }

# phase_field NAME start|end: the epoch second; with KEY, KEY's value.
phase_field() {
	awk -v n="$1" -v w="$2" -v k="${3:-}" '$1 == n && $2 == w {
		if (k == "") { print $3; exit }
		for (i = 4; i <= NF; i++)
			if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit }
	}' "$PR/phases"
}

# raw NAME PHASE FILE: per-second raw values of instrumentation NAME over
# PHASE's seconds (start..end inclusive), as a JSON array in FILE.
raw() {
	local id s e
	id=$(instn_id "$1")
	s=$(phase_field "$2" start)
	e=$(phase_field "$2" end)
	[ -n "$id" ] && [ -n "$s" ] && [ -n "$e" ] || lab_fail "no instrumentation $1 or phase $2"
	api_get "/ca/instrumentations/$id/value/raw?start_time=$s&duration=1&ndatapoints=$((e - s + 1))" "$3"
}

# image NAME PHASE PICTURE [PARAMS]: the heatmap of NAME over PHASE, saved
# as $PICTURES/PICTURE.png (and its JSON answer next to it).
image() {
	local id s e
	id=$(instn_id "$1")
	s=$(phase_field "$2" start)
	e=$(phase_field "$2" end)
	mkdir -p "$PICTURES"
	api_get "/ca/instrumentations/$id/value/heatmap/image?start_time=$s&duration=$((e - s + 1))&width=600&height=300${4:+&$4}" "$PICTURES/$3.json.tmp"
	save_picture "$3" "$PICTURES/$3.json.tmp"
	rm -f "$PICTURES/$3.json.tmp"
}
