#!/bin/bash
# t_config.sh - the configuration file of `kvmscope serve`.
#
# A file setting every key is applied (address, tokens, TLS, state, web
# root, limits: each one observed through the running agent), the command
# line wins over it, and --check-config agrees with a real start.  Then a
# battery of bad files: each must stop the agent with an error naming
# FILE:LINE and the key (or the file it names), before anything starts:
# no "listening" line, nothing on the configured port, no state file.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
[ -f "$DATA" ] || { echo "no capture to replay"; exit 77; }
[ -f "$TOP/web/index.html" ] || { echo "no web/index.html"; exit 77; }
command -v openssl >/dev/null || { echo "openssl is not installed (apt-get install openssl)"; exit 77; }
. "$TOP/tests/http/agentlib.sh"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
P=$(free_port)
OP=op-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
OP2=op2-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$OP operator" >"$tmp/tokens"
echo "$OP2 operator" >"$tmp/tokens2"
chmod 600 "$tmp/tokens" "$tmp/tokens2"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 -subj /CN=t \
	-addext "subjectAltName=IP:127.0.0.1" 2>/dev/null || fail "openssl"
chmod 600 "$tmp/key.pem"
mkdir "$tmp/state"

# ---- a file with every key, applied ------------------------------------------
C=$tmp/kvmscope.conf
cat >"$C" <<EOF
# every key
listen = 127.0.0.1:$P
tokens = $tmp/tokens
tls-cert = $tmp/cert.pem
tls-key = $tmp/key.pem
state = $tmp/state/state.db
web-root = $TOP/web
max-instrumentations = 2
tenant-instrumentations = 5
max-connections = 8
connection-timeout = 5
max-body = 2048
EOF
"$K" serve --config "$C" --check-config >"$tmp/check.out" 2>&1 ||
	fail "--check-config refused a good file: $(cat "$tmp/check.out")"
grep -q 'configuration is valid' "$tmp/check.out" || fail "--check-config said nothing"
[ -e "$tmp/state/state.db" ] && fail "--check-config created the state file"

"$K" serve --config "$C" --replay "$DATA" 2>"$tmp/err.conf" &
pid=$!
agents+=("$pid")
for _ in $(seq 1 300); do
	grep -q "listening on https://127.0.0.1:$P/" "$tmp/err.conf" && break
	kill -0 "$pid" 2>/dev/null || fail "the agent exited at start"
	sleep 0.1
done
grep -q "listening on https://127.0.0.1:$P/" "$tmp/err.conf" ||
	fail "not listening where the file says"
B=https://127.0.0.1:$P
CURL_EXTRA=(--cacert "$tmp/cert.pem")
expect 401 - GET /ca					# tokens
expect 200 "$OP" GET /ca
expect 201 "$OP" POST /ca/instrumentations -d 'module=vm&stat=exits'
expect 201 "$OP" POST /ca/instrumentations -d 'module=vm&stat=exits&persist-data=true'
expect 409 "$OP" POST /ca/instrumentations -d 'module=vm&stat=exits'	# max 2
big=$(head -c 3000 /dev/zero | tr '\0' a)
expect 413 "$OP" POST /ca/instrumentations -d "module=vm&stat=exits&x=$big"
expect 200 - GET /					# web root
cmp -s "$tmp/body" "$TOP/web/index.html" || fail "GET / is not web-root's index.html"
stop conf
[ -s "$tmp/state/state.db" ] || fail "no state saved at the configured path"

# Beyond loopback only with tokens (and a warning without TLS).
"$K" serve --config "$C" --listen "0.0.0.0:$P" --check-config \
	>"$tmp/check.out" 2>&1 || fail "0.0.0.0 with tokens refused: $(cat "$tmp/check.out")"
"$K" serve --config "$C" --listen "0.0.0.0:$P" --tls-cert "$tmp/none" \
	--check-config >/dev/null 2>&1 && fail "a missing --tls-cert passed"
printf 'listen = 0.0.0.0:%s\ntokens = %s\n' "$P" "$tmp/tokens" >"$tmp/plain.conf"
"$K" serve --config "$tmp/plain.conf" --check-config >"$tmp/check.out" 2>&1 ||
	fail "tokens without TLS refused: $(cat "$tmp/check.out")"
grep -q 'clear text' "$tmp/check.out" || fail "no warning about tokens in clear text"

# ---- the command line wins ------------------------------------------------------
timeout 20 "$K" serve --config "$C" --listen 127.0.0.1:0 --tls-cert "" \
	2>"$tmp/err.cli" && fail "an empty --tls-cert was taken"
grep -q -- '--tls-cert needs a value' "$tmp/err.cli" || fail "empty --tls-cert: no message"
"$K" serve --config "$C" --listen 127.0.0.1:0 --tokens "$tmp/tokens2" \
	--no-state --replay "$DATA" 2>"$tmp/err.cli" &
pid=$!
agents+=("$pid")
port=
for _ in $(seq 1 300); do
	port=$(sed -n 's|^kvmscope: listening on https://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$tmp/err.cli")
	[ -n "$port" ] && break
	kill -0 "$pid" 2>/dev/null || fail "the agent exited at start"
	sleep 0.1
done
[ -n "$port" ] && [ "$port" != "$P" ] || fail "--listen did not win over the file"
B=https://127.0.0.1:$port
expect 401 "$OP" GET /ca		# the file's tokens are replaced ...
expect 200 "$OP2" GET /ca		# ... by the command line's
stop cli

# ---- bad files ------------------------------------------------------------------
n=0
# bad EXPECTED-PATTERN [serve args...] <<< config text: the agent refuses.
bad() {
	local pat=$1 rc
	shift
	n=$((n + 1))
	cat >"$tmp/bad.conf"
	rm -f "$tmp/state/bad.db"
	timeout 20 "$K" serve --config "$tmp/bad.conf" --replay "$DATA" "$@" \
		>"$tmp/out.bad" 2>"$tmp/err.bad"
	rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] ||
		fail "bad config $n ($pat): exit $rc: $(cat "$tmp/err.bad")"
	grep -q -- "$pat" "$tmp/err.bad" ||
		fail "bad config $n: wanted '$pat', got: $(cat "$tmp/err.bad")"
	grep -q 'listening on' "$tmp/err.bad" && fail "bad config $n listened"
	curl -s -o /dev/null "http://127.0.0.1:$P/" && fail "bad config $n: something on :$P"
	[ -e "$tmp/state/bad.db" ] && fail "bad config $n created its state file"
	# --check-config says the same.
	timeout 20 "$K" serve --config "$tmp/bad.conf" --check-config "$@" \
		>/dev/null 2>"$tmp/err.check" && fail "--check-config passed bad config $n"
	grep -q -- "$pat" "$tmp/err.check" || fail "--check-config: bad config $n: $(cat "$tmp/err.check")"
	return 0
}
S="state = $tmp/state/bad.db"
L="listen = 127.0.0.1:$P"
bad "bad.conf:3: unknown key \"frobnicate\"" <<EOF
$L
$S
frobnicate = 1
EOF
bad "bad.conf:2: key \"max-connections\" must be a whole number" <<EOF
$S
max-connections = many
EOF
bad "bad.conf:3: key \"listen\" is set twice (first on line 1)" <<EOF
$L
$S
listen = 127.0.0.1:1
EOF
bad "bad.conf:2: key \"tokens\": \"tokens\" must be an absolute path" <<EOF
$S
tokens = tokens
EOF
bad "bad.conf:2: key \"max-body\": the value must be one word" <<EOF
$S
max-body = 4096 # bytes
EOF
bad 'bad.conf:2: key "peers": peer "b": the URL must be http:// or https://' <<EOF
$S
peers = a=http://10.0.0.1:23181/,b=javascript:alert(1)
EOF
bad 'bad.conf:2: key "peers": peer "noequals" must be LABEL=URL' <<EOF
$S
peers = noequals
EOF
bad "bad.conf:1: sections are not used" <<EOF
[serve]
$S
EOF
bad "bad.conf:2: key \"listen\" needs a value" <<EOF
$S
listen =
EOF
bad "bad.conf:2: expected KEY = VALUE" <<EOF
$S
listen 127.0.0.1:1
EOF
bad "bad.conf:2: key \"listen\": the port in \"127.0.0.1:99999\" must be 0 to 65535" <<EOF
$S
listen = 127.0.0.1:99999
EOF
bad "bad.conf:2: key \"listen\": 0.0.0.0 is not a loopback address" <<EOF
$S
listen = 0.0.0.0:$P
EOF
chmod 640 "$tmp/tokens"
bad "bad.conf:3: key \"tokens\": .*tokens is open to its group or others (mode 0640)" <<EOF
$L
$S
tokens = $tmp/tokens
EOF
chmod 600 "$tmp/tokens"
printf '%s operator\n%s tenant\n' "$OP" "x$OP" >"$tmp/badtokens"
chmod 600 "$tmp/badtokens"
bad "key \"tokens\": $tmp/badtokens:2: a tenant line is" <<EOF
$L
$S
tokens = $tmp/badtokens
EOF
grep -q "$OP" "$tmp/err.bad" && fail "the token file's error quotes a token"
bad "bad.conf:3: key \"tokens\": cannot read $tmp/none" <<EOF
$L
$S
tokens = $tmp/none
EOF
bad "bad.conf:3: key \"tls-cert\": TLS needs both" <<EOF
$L
$S
tls-cert = $tmp/cert.pem
EOF
bad "bad.conf:3: key \"web-root\"" <<EOF
$L
$S
web-root = $tmp/cert.pem
EOF
bad "bad.conf:2: key \"state\"" <<EOF
$L
state = $tmp/nodir/state.db
EOF
# The command line is checked too, and a file it names.
bad "cannot read $tmp/none" --tokens "$tmp/none" <<EOF
$L
$S
EOF
timeout 20 "$K" serve --config "$tmp/missing.conf" 2>"$tmp/err.bad" &&
	fail "a missing --config was ignored"
grep -q "cannot read $tmp/missing.conf" "$tmp/err.bad" || fail "missing --config: $(cat "$tmp/err.bad")"
timeout 20 "$K" serve --config "$tmp" 2>"$tmp/err.bad" && fail "a directory was read as config"
grep -q "not a regular file" "$tmp/err.bad" || fail "directory --config: $(cat "$tmp/err.bad")"

echo "config ok: $n bad files refused before starting"
