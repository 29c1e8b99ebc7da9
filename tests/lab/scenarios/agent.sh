# agent [hold=SECONDS] - something listening on L1's port 23181, which
# run-l1.sh forwards from 127.0.0.1:<port> on the host (see hostfwd in the
# results): `kvmscope serve` when the initramfs has kvmscope, else busybox
# httpd serving a token file.  A kvmtest VM runs meanwhile.  Writes
# /out/ready ("kind=... port=23181") once listening, then waits until the
# host creates lab-out/agent/stop (or hold= seconds, default 120, pass).
# lab-net: yes
# lab-timeout: 400
. /lab/l1lib.sh
HOLD=120
for a in "$@"; do case $a in hold=*) HOLD=${a#hold=};; esac; done
PORT=23181
ip -4 addr show eth0 | grep -q 10.0.2.15 || fail "eth0 is not configured (lab.net=1?)"
need_kvm

kvmtest -q -d "$HOLD" -n 2000 -s 20 -V 0x21 -v 0x20 -p 1000 > kvmtest.out 2>&1 &
kp=$!
K=/usr/local/bin/kvmscope
if [ -x $K ] && $K serve --help > /dev/null 2>&1; then
	kind=kvmscope
	# Beyond loopback the agent needs a token file (docs/security.md);
	# the host reads the token from the results.
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > token
	(umask 077; echo "$(cat token) operator" > /tmp/kvmscope.tokens)
	$K serve --listen 0.0.0.0:$PORT --tokens /tmp/kvmscope.tokens \
		> serve.log 2>&1 &
else
	kind=httpd
	mkdir -p /tmp/www
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > /tmp/www/token
	cp /tmp/www/token token
	httpd -f -p $PORT -h /tmp/www > serve.log 2>&1 &
fi
sp=$!
i=0
until netstat -ltn 2>/dev/null | grep -q ":$PORT "; do
	i=$((i + 1))
	[ $i -gt 300 ] && fail "$kind did not listen on $PORT: $(tail -2 serve.log)"
	kill -0 $sp 2>/dev/null || fail "$kind exited: $(tail -2 serve.log)"
	sleep 0.1
done
echo "kind=$kind port=$PORT" > ready
mark LISTENING
echo "$kind listening on :$PORT; the host reaches it at $(cat hostfwd 2>/dev/null)"
i=0
while [ ! -e stop ] && [ $i -lt $((HOLD * 5)) ]; do
	sleep 0.2
	i=$((i + 1))
done
mark STOP
kill $sp $kp 2>/dev/null
wait
echo "agent ok: $kind served for $((i / 5)) s"
