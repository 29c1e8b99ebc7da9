#!/bin/bash
# t_nulpath.sh - an encoded NUL byte (%00) in a path is refused with 400.
#
# libmicrohttpd decodes the path into a C string, so /ca/instrumentations/
# 1%00x would reach the router as /ca/instrumentations/1 and be served as
# instrumentation 1.  The agent must answer 400 naming the path instead,
# for every method and wherever the %00 sits, and keep serving.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/http/agentlib.sh"

start nul http --listen 127.0.0.1:0 --sources none --no-state
echo "agent on $B"
expect 201 - POST /ca/instrumentations -d 'module=vm&stat=exits'
check 'j["id"] == "1"'
expect 200 - GET /ca/instrumentations/1
for p in /ca/instrumentations/1%00x /ca/instrumentations/1%00 \
	 /ca%00/instrumentations/1 /index.html%00.png; do
	expect 400 - GET "$p"
	check 'b"path" in body'
done
expect 400 - DELETE /ca/instrumentations/1%00x
expect 400 - PUT '/ca/instrumentations/1%00x?retention-time=60'
# A NUL in the query is a parameter's business, not the path's: it must
# still not serve instrumentation 1 under another name.
expect 200 - GET /ca/instrumentations/1	# still there, unchanged
check 'j["retention-time"] != 60'
stop nul
echo "nul path ok"
