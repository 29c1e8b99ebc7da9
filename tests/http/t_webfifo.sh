#!/bin/bash
# t_webfifo.sh - an odd file in the web root cannot hang the API.
#
# The web root holds, beside index.html, a FIFO with no writer (opening it
# for reading would block forever) and a FIFO named like the index's
# script.  GET of each must be answered 404 at once, and while such a
# request is in flight the API must keep answering: no file I/O happens
# under the API's lock, and nothing but a regular file is opened.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/http/agentlib.sh"

mkdir "$tmp/web"
echo '<!DOCTYPE html><title>ui</title>' >"$tmp/web/index.html"
mkfifo "$tmp/web/stuck.js" "$tmp/web/app.css"
start fifo http --listen 127.0.0.1:0 --web-root "$tmp/web" --sources none \
	--no-state
echo "agent on $B"

# Both at once: the FIFO's GET, and the API behind it.
curl -s -o "$tmp/fifo.body" -w '%{http_code}' --max-time 10 "$B/stuck.js" \
	>"$tmp/fifo.code" &
cpid=$!
sleep 0.5
code=$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 5 "$B/ca")
[ "$code" = 200 ] || fail "GET /ca while a FIFO was asked for: status $code"
wait "$cpid"
[ "$(cat "$tmp/fifo.code")" = 404 ] ||
	fail "GET /stuck.js (a FIFO): status $(cat "$tmp/fifo.code"), wanted 404"
expect 404 - GET /app.css
expect 200 - GET /
grep -q '<title>ui</title>' "$tmp/body" || fail "GET / did not serve index.html"
expect 200 - GET /ca
stop fifo
echo "web root fifo ok"
