#!/bin/bash
# t_tls.sh - HTTPS: the agent serves TLS with a self-signed certificate made
# here by openssl; curl trusting that certificate gets CA's API (with a
# bearer token, over the encrypted connection), curl not trusting it and
# plain HTTP get nothing.  A missing key, a key others can read, a key that
# is not the certificate's, a file that is not PEM and a priority string
# GnuTLS rejects each stop the agent with a clear message before it
# listens.  TLS 1.2 and 1.3 are offered, 1.0 and 1.1 are not.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
[ -f "$DATA" ] || { echo "no capture to replay"; exit 77; }
command -v openssl >/dev/null || { echo "openssl is not installed (apt-get install openssl)"; exit 77; }
. "$TOP/tests/http/agentlib.sh"

# The library must have TLS; if it does not, the agent must say so.
cert() {	# NAME: a self-signed certificate for 127.0.0.1 and its key
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$tmp/$1.key" -out "$tmp/$1.crt" -days 2 \
		-subj "/CN=kvmscope test" \
		-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		2>"$tmp/openssl.err" || fail "openssl: $(cat "$tmp/openssl.err")"
	chmod 600 "$tmp/$1.key"
}
cert good
cert other

# refused NAME PATTERN ARGS...: serve exits non-zero saying PATTERN and
# never listens.
refused() {
	local name=$1 pat=$2
	shift 2
	timeout 20 "$K" serve --listen 127.0.0.1:0 "$@" 2>"$tmp/err.$name"
	local rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "$name: exit $rc"
	grep -q -- "$pat" "$tmp/err.$name" || fail "$name: no '$pat' on stderr"
	grep -q 'listening on' "$tmp/err.$name" && fail "$name: it listened"
	return 0
}
refused nokey 'both a certificate' --tls-cert "$tmp/good.crt"
refused nocert 'both a certificate' --tls-key "$tmp/good.key"
chmod 644 "$tmp/good.key"
refused worldkey 'open to others' --tls-cert "$tmp/good.crt" --tls-key "$tmp/good.key"
chmod 600 "$tmp/good.key"
refused mismatch 'TLS did not start' --tls-cert "$tmp/good.crt" --tls-key "$tmp/other.key"
echo "not a certificate" >"$tmp/junk.crt"
refused junk 'TLS did not start' --tls-cert "$tmp/junk.crt" --tls-key "$tmp/good.key"
refused missing 'cannot read' --tls-cert "$tmp/none.crt" --tls-key "$tmp/good.key"
refused badprio 'TLS did not start' --tls-cert "$tmp/good.crt" \
	--tls-key "$tmp/good.key" --tls-priorities 'NOT-A-PRIORITY'

OP=op-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$OP operator" >"$tmp/tokens"
chmod 600 "$tmp/tokens"
start tls https --listen 127.0.0.1:0 --tls-cert "$tmp/good.crt" \
	--tls-key "$tmp/good.key" --tokens "$tmp/tokens" --replay "$DATA" \
	--replay-loop
echo "agent on $B"

CURL_EXTRA=(--cacert "$tmp/good.crt")
expect 200 "$OP" GET /ca
check '"metrics" in j'
expect 401 - GET /ca
expect 201 "$OP" POST /ca/instrumentations -d 'module=vm&stat=exits'
S=$(py 'j["id"]')
expect 200 "$OP" GET /ca/admin/status
t0=$(( $(py 'j["now"]') + 1 ))
wait_now "$OP" /ca/admin/status 3
expect 200 "$OP" GET "/ca/instrumentations/$S/value/raw?start_time=$t0&duration=2"
check 'j["value"] > 0'
expect 200 - GET /
# The certificate it presents is ours.
issuer=$(curl -s -o /dev/null --cacert "$tmp/good.crt" -w '%{certs}' "$B/ca" 2>/dev/null |
	grep -m1 -i 'subject' || true)
[ -z "$issuer" ] || echo "$issuer" | grep -q 'kvmscope test' ||
	fail "unexpected certificate: $issuer"

# Protocol versions: 1.2 and 1.3 are offered; 1.0 and 1.1 are not, even
# to a client that would take them (SECLEVEL=0 lets OpenSSL 3 try).
tlsv() {	# VERSION-FLAG: openssl's session report, or its error
	timeout 10 openssl s_client -connect "127.0.0.1:$port" "$1" \
		-CAfile "$tmp/good.crt" -cipher 'DEFAULT:@SECLEVEL=0' \
		</dev/null 2>&1
}
# A session was made: "New, TLSv1.x, Cipher is NAME" (not "(NONE)").
session() { tlsv "$1" | grep -Eq '^New, TLSv1[.0-9]*, Cipher is [A-Z]'; }
for v in -tls1_2 -tls1_3; do
	session $v || fail "openssl s_client $v was refused: $(tlsv $v | tail -3)"
done
for v in -tls1 -tls1_1; do
	session $v && fail "openssl s_client $v got a session: TLS < 1.2 is offered"
done
echo "ok   TLS 1.2 and 1.3 accepted, 1.0 and 1.1 refused"

# Not trusting it, or trusting another, fails; so does plain HTTP.
curl -s -o /dev/null "$B/ca" && fail "an untrusted certificate was accepted"
curl -s -o /dev/null --cacert "$tmp/other.crt" "$B/ca" &&
	fail "a certificate other than the trusted one was accepted"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ca")
[ "$code" = 000 ] || [ "$code" = 400 ] || fail "plain HTTP got $code"
kill -0 "$pid" || fail "the agent died on a plain HTTP request"
expect 200 "$OP" GET /ca	# and still serves

stop tls
echo "tls ok"
