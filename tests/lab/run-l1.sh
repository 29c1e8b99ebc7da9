#!/bin/bash
# run-l1.sh - boots the lab's L1 guest with one scenario and collects its results.
#
#   tests/lab/run-l1.sh SCENARIO [ARG...]     run tests/lab/scenarios/SCENARIO.sh
#   tests/lab/run-l1.sh shell                 interactive L1 shell (Ctrl-a x quits)
#
# L1 is a Debian kernel under `qemu-system-x86_64 -accel tcg,thread=multi
# -cpu EPYC -smp 2 -m 4G`: TCG emulates AMD SVM with nested paging, so
# kvm_amd loads in L1 and its guests are real KVM guests.  The scenario runs
# inside L1 as root (see init.sh).  Its results land in lab-out/SCENARIO/
# (shared into L1 as /out over 9p): scenario.log, console.log, status,
# lab-run.txt (timings) and whatever the scenario writes.  The exit status
# is the scenario's (0 pass, 77 skip); 77 also when the lab cannot be built
# here.  ARGs reach the scenario as its arguments (words, no quoting).
#
# TCG rarely hangs (see tests/lab/README.md), so a run that does not finish
# - timeout, or QEMU gone without a status - is retried once; the stuck
# attempt's files are kept in lab-out/SCENARIO.hung.  A scenario that fails
# is not retried.  Only one L1 runs at a time on the machine (flock on
# LAB_LOCK, /tmp/kvmscope-lab.lock; LAB_LOCK_HELD=1 says the caller has it).
#
# Environment:
#   LAB_TIMEOUT  seconds per attempt (default: the scenario's "# lab-timeout:"
#                line, else 300)
#   LAB_NET      1: virtio-net on QEMU user networking (restrict=on), with
#                127.0.0.1:LAB_PORT forwarded to L1's port 23181 (default:
#                the scenario's "# lab-net:" line)
#   LAB_PORT     host port for that forward (default: a free one; written
#                to lab-out/SCENARIO/hostfwd)
#   LAB_KVMSCOPE kvmscope binary to put in L1 at /usr/local/bin/kvmscope,
#                with its shared libraries (default .output/kvmscope if
#                built; "none" for none)
#   LAB_KVMOPTS  kvm_amd options, comma-separated (e.g. npt=0)
#   LAB_CPU, LAB_SMP, LAB_MEM   QEMU -cpu/-smp/-m (EPYC, 2, 4G)
#   LAB_TCG_THREAD  multi (default) or single
#   LAB_HOSTROOT 1: also share the host's / read-only at /host
#   LAB_APPEND   more words for L1's kernel command line
#   LAB_RETRIES  retries of a run that did not finish (1)
#   LAB_STALL    seconds without a line from L1's user space on the
#                console (kernel messages aside) that mean L1 hung (120:
#                L1 prints T_ALIVE every 30 s; 180 at least before init
#                prints); QEMU is then stopped
#   LAB_VERBOSE  1: follow the console while it runs
set -uo pipefail
LAB=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$LAB/../.." && pwd)
OUT=${LAB_OUT:-$TOP/lab-out}
LOCK=${LAB_LOCK:-/tmp/kvmscope-lab.lock}
GUEST_PORT=23181

die() { echo "run-l1: $*" >&2; exit 2; }

usage() {
	sed -n '2,/^set -uo/p' "$0" | sed -n 's/^# \{0,1\}//p' >&2
	echo "scenarios: $(cd "$LAB/scenarios" && ls ./*.sh | sed 's|^\./||; s/\.sh$//' | tr '\n' ' ')" >&2
	exit 2
}

S=${1:-}
[ -n "$S" ] || usage
shift
case $S in -h|--help) usage;; esac
SFILE=$LAB/scenarios/$S.sh
[ "$S" = shell ] || [ -f "$SFILE" ] || { echo "run-l1: no scenario '$S'" >&2; usage; }

directive() { [ -f "$SFILE" ] && sed -n "s/^# lab-$1: *//p" "$SFILE" | head -1; }
TIMEOUT=${LAB_TIMEOUT:-$(directive timeout)}
TIMEOUT=${TIMEOUT:-300}
NET=${LAB_NET:-$(directive net)}
[ "$NET" = yes ] && NET=1
RETRIES=${LAB_RETRIES:-1}
STALL=${LAB_STALL:-120}
RES=$OUT/$S
RUN=$OUT/.run

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

build() {
	local rc
	LAB_QUIET=1 LAB_OUT=$OUT bash "$LAB/build.sh"
	rc=$?
	if [ $rc = 77 ]; then
		echo "run-l1: lab unavailable here (see above)"
		exit 77
	fi
	[ $rc = 0 ] || die "tests/lab/build.sh failed (rc $rc)"
}

# kvmscope, its ldd closure and the web UI, as an uncompressed cpio
# appended to the base initramfs: the kernel unpacks concatenated
# archives in order, so every boot gets the binary as built now without
# rebuilding the base.
kvmscope_overlay() {
	local bin=${LAB_KVMSCOPE:-$TOP/.output/kvmscope} dir=$RUN/overlay lib
	rm -rf "$dir" "$RUN/overlay.cpio"
	[ "$bin" = none ] && return 0
	if [ ! -x "$bin" ]; then
		[ -n "${LAB_KVMSCOPE:-}" ] && die "LAB_KVMSCOPE: $bin is not an executable"
		return 0
	fi
	mkdir -p "$dir/usr/local/bin"
	cp "$bin" "$dir/usr/local/bin/kvmscope"
	# The web UI, where the agent looks for it when installed.
	if [ -f "$TOP/web/index.html" ]; then
		mkdir -p "$dir/usr/share/kvmscope"
		cp -r "$TOP/web" "$dir/usr/share/kvmscope/web"
	fi
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
		mkdir -p "$dir$(dirname "$lib")"
		cp -L "$lib" "$dir$lib"
	done
	(cd "$dir" && find . | cpio -o -H newc --quiet) > "$RUN/overlay.cpio"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

qemu_args() {
	local append="console=ttyS0 quiet loglevel=4 panic=-1 mitigations=off"
	[ "$S" = shell ] || append="$append lab.scenario=$S lab.timeout=$TIMEOUT"
	[ -n "${LAB_KVMOPTS:-}" ] && append="$append lab.kvmopts=$LAB_KVMOPTS"
	[ "$NET" = 1 ] && append="$append lab.net=1"
	[ "${LAB_HOSTROOT:-0}" = 1 ] && append="$append lab.hostroot=1"
	[ -n "${LAB_APPEND:-}" ] && append="$append $LAB_APPEND"
	Q=(qemu-system-x86_64 -accel "tcg,thread=${LAB_TCG_THREAD:-multi}" -cpu "${LAB_CPU:-EPYC}"
	   -smp "${LAB_SMP:-2}" -m "${LAB_MEM:-4G}" -no-reboot -nodefaults
	   -kernel "$OUT/kernel/vmlinuz" -initrd "$RUN/initrd" -append "$append"
	   -virtfs "local,path=$LAB,mount_tag=lab,security_model=none,readonly=on,multidevs=remap,id=lab"
	   -virtfs "local,path=$RES,mount_tag=out,security_model=none,multidevs=remap,id=out")
	if [ "${LAB_HOSTROOT:-0}" = 1 ]; then
		Q+=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap,id=hostroot")
	fi
	if [ "$NET" = 1 ]; then
		# restrict=on: L1 reaches nothing outside; the forward still works.
		Q+=(-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-:$GUEST_PORT"
		    -device virtio-net-pci,netdev=n0)
	fi
}

# Waits while QEMU (PID, its `timeout` wrapper) runs, and stops it once
# L1's user space has printed nothing for STALL seconds: L1's init prints
# T_ALIVE every 30 s whatever the scenario does, so silence means a TCG
# hang, which would otherwise hold the lab until the scenario's timeout
# (up to 40 minutes).  Once init has printed, kernel messages ("[
# 12.345678] ...") do not count: a hung L1 can go on printing RCU stall
# warnings for as long as it is left (seen: a probe-cost run held to its
# 900 s timeout).  Sets WATCHED
# to PID.
watch_console() {
	local size=-1 cur last limit
	WATCHED=$1
	last=$(date +%s)
	while kill -0 "$1" 2>/dev/null; do
		sleep 2
		cur=$(grep -avc '^\[ *[0-9]*\.[0-9]*\]' "$RES/console.log" 2>/dev/null)
		# Until init's first line, the kernel's boot messages count.
		[ "${cur:-0}" = 0 ] &&
			cur=boot$(stat -c %s "$RES/console.log" 2>/dev/null)
		# A boot's quiet stretches (an initramfs unpacked under TCG on
		# a busy host) get at least 180 s.
		limit=$STALL
		case $cur in boot*) [ "$limit" -ge 180 ] || limit=180;; esac
		if [ "$cur" != "$size" ]; then
			size=$cur
			last=$(date +%s)
		elif [ $(($(date +%s) - last)) -ge "$limit" ]; then
			echo "run-l1: $S: L1's user space silent on the console for ${limit}s (T_ALIVE comes every 30 s): hung, stopping QEMU"
			kill -TERM "$1" 2>/dev/null
			return
		fi
	done
}

# One boot.  Sets QRC (QEMU's status, 124 on timeout).
boot() {
	local tailpid=""
	if [ "$S" = shell ]; then
		"${Q[@]}" -nographic -serial mon:stdio
		QRC=$?
		return
	fi
	: > "$RES/console.log"
	if [ "${LAB_VERBOSE:-0}" = 1 ]; then
		tail -n +1 -f "$RES/console.log" &
		tailpid=$!
	fi
	timeout -k 10 "$TIMEOUT" "${Q[@]}" -display none -monitor none \
		-serial "file:$RES/console.log" < /dev/null > "$RES/qemu.log" 2>&1 &
	watch_console $!
	wait "$WATCHED"
	QRC=$?
	[ -n "$tailpid" ] && kill "$tailpid" 2>/dev/null
}

fresh_results() {	# attempt
	if [ -d "$RES" ] && [ "$1" -gt 1 ]; then
		rm -rf "$RES.hung"
		mv "$RES" "$RES.hung"
	fi
	rm -rf "$RES"
	mkdir -p "$RES"
	printf '%s\n' "$@" | tail -n +2 > "$RES/args"
	[ "$NET" = 1 ] && echo "127.0.0.1:$PORT" > "$RES/hostfwd"
	return 0
}

main() {
	local t0 attempt=0 rc="" wall net

	build
	mkdir -p "$RUN"
	if [ "${LAB_LOCK_HELD:-0}" != 1 ]; then	# else the caller holds it
		exec 9> "$LOCK"
		flock -w 1800 9 || die "another L1 holds $LOCK for too long"
	fi
	kvmscope_overlay
	cat "$OUT/build/initramfs.gz" > "$RUN/initrd"
	if [ -f "$RUN/overlay.cpio" ]; then
		# The kernel reads a following archive only at a 4-byte boundary
		# (zero bytes between archives are skipped).
		truncate -s %4 "$RUN/initrd"
		cat "$RUN/overlay.cpio" >> "$RUN/initrd"
	fi
	PORT=${LAB_PORT:-$(free_port)}
	while :; do
		attempt=$((attempt + 1))
		fresh_results "$attempt" "$@"
		qemu_args
		net=""
		[ "$NET" = 1 ] && net=", 127.0.0.1:$PORT -> L1:$GUEST_PORT"
		echo "run-l1: $S attempt $attempt: timeout ${TIMEOUT}s$net"
		t0=$(now)
		boot
		wall=$(since "$t0")
		[ "$S" = shell ] && exit $QRC
		rc=$(cat "$RES/status" 2>/dev/null)
		{
			echo "scenario=$S attempt=$attempt wall_s=$wall qemu_rc=$QRC status=${rc:-none}"
			grep -a -o '^T_[A-Z0-9_]* [0-9.]*' "$RES/console.log"
		} > "$RES/lab-run.txt"
		if grep -a -q 'Initramfs unpacking failed' "$RES/console.log"; then
			grep -a 'Initramfs unpacking failed' "$RES/console.log" | head -1
			die "L1's initramfs did not unpack whole ($RUN/initrd)"
		fi
		[ -n "$rc" ] && break
		echo "run-l1: $S did not finish (qemu rc $QRC after ${wall}s); console tail:"
		tail -n 15 "$RES/console.log" | sed 's/^/  | /'
		tail -n 5 "$RES/qemu.log" | sed 's/^/  qemu| /'
		[ "$attempt" -gt "$RETRIES" ] && { echo "run-l1: $S: giving up"; exit 1; }
	done
	cat "$RES/scenario.log" 2>/dev/null
	echo "run-l1: $S status $rc, ${wall}s wall, attempt $attempt; results in $RES"
	exit "$rc"
}

main "$@"
