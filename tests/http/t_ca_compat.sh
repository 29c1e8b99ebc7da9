#!/bin/bash
# t_ca_compat.sh - Cloud Analytics' own HTTP tests against kvmscope.
#
# Every request/assertion pair of CA's tst/http/badconfig.js,
# tst/http/tst.version.js, tst/caconfig/tst.basic.js and tst.clone.js, and
# tst/caagg/http_values.js (its test metric mapped to vm.exits), and every
# parameter rule of CA's ca-svc-config.js, caaggsvc.js and ca-agg.js, each
# written as our own case (tests/http/ca_compat.py), run over real HTTP
# against a real agent replaying a real capture in a loop.  Prints the
# count of cases passed;
# fails below 95% or on any failure not listed as a known gap.  Deliberate
# deviations are asserted as ours (docs/ca-compat.md).  The agent must
# then stop cleanly, without sanitizer reports.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
[ -f "$DATA" ] || { echo "no capture to replay"; exit 77; }
. "$TOP/tests/http/agentlib.sh"

start live http --listen 127.0.0.1:0 --no-state --replay "$DATA" --replay-loop
python3 "$TOP/tests/http/ca_compat.py" "$B" || fail "CA's cases"
stop live
echo "ca compat ok"
