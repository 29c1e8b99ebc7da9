#!/bin/bash
# t_modules.sh - the web UI's DOM-free modules (units, share-link state,
# heatmap rows, spec matching) under node's own test runner; no browser.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
if ! command -v node >/dev/null; then
	echo "node is not installed (apt-get install nodejs)"
	exit 77
fi
exec node --test tests/web/modules.test.mjs
