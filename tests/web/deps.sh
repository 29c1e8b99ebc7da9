#!/bin/bash
# deps.sh - installs what the browser tests need, if it is missing:
# Debian's chromium (by package name) and playwright-core from the npm
# registry (pinned by package-lock.json at the repo root, into the
# git-ignored node_modules/).  Safe to run again: it only installs what is
# absent.  Needs root for apt-get; exits non-zero if something could not be
# had, so callers can turn that into a skip.
set -u
cd "$(dirname "$0")/../.."
# Tests run two at a time (scripts/run-tests.sh): one install at a time.
exec 9> /tmp/kvmscope-webdeps.lock
flock -w 900 9 || { echo "deps.sh: another install held the lock for 15 minutes" >&2; exit 1; }

if [ ! -x /usr/bin/chromium ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps.sh: chromium is missing and we are not root" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y chromium >/tmp/kvmscope-apt.log 2>&1 ||
		{ apt-get update >>/tmp/kvmscope-apt.log 2>&1 &&
		  apt-get install -y chromium >>/tmp/kvmscope-apt.log 2>&1; } ||
		{ echo "deps.sh: apt-get install chromium failed" \
		       "(see /tmp/kvmscope-apt.log)" >&2; exit 1; }
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	if [ "$(id -u)" -eq 0 ]; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y nodejs npm >/tmp/kvmscope-apt.log 2>&1 ||
			{ echo "deps.sh: apt-get install nodejs npm failed" >&2
			  exit 1; }
	else
		echo "deps.sh: node/npm are missing and we are not root" >&2
		exit 1
	fi
fi

if [ ! -f node_modules/playwright-core/package.json ]; then
	if [ -f package-lock.json ]; then
		npm ci --no-audit --no-fund >/tmp/kvmscope-npm.log 2>&1
	else
		npm install --no-audit --no-fund playwright-core \
			>/tmp/kvmscope-npm.log 2>&1
	fi || { echo "deps.sh: npm could not install playwright-core" \
		     "(see /tmp/kvmscope-npm.log)" >&2; exit 1; }
fi
exit 0
