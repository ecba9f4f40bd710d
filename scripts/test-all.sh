#!/usr/bin/env bash
# scripts/test-all.sh - on a fresh Debian 12 machine: install what is missing,
# build, and run every test (unit, integration, deploy, browser), then the
# unit and integration suites again under AddressSanitizer + UBSan, then
# every libFuzzer target for 60 s as a regression guard, then the short
# fault campaign.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
deps_install test

# Browser tests drive Debian's chromium with playwright-core from npm.
if [ -f tests/browser/package-lock.json ]; then
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
fi
# The example Next.js app (livegate/next's browser tests run it built); npm
# ci copies clients/js into it, so it is reinstalled and rebuilt every run.
if [ -f deploy/example-next/package-lock.json ]; then
	npm ci --prefix deploy/example-next --no-audit --no-fund --loglevel=error
	(cd deploy/example-next && NEXT_TELEMETRY_DISABLED=1 npx --no-install next build >/dev/null)
fi

[ -d build ] || meson setup build -Dbrowser_tests=enabled
ninja -C build
meson test -C build --print-errorlogs --num-processes 2

[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
	-Dbrowser_tests=disabled
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	meson test -C build-asan --print-errorlogs --num-processes 2 --suite unit --suite integration --suite redis

# Every parser of outside input, fuzzed 60 s each, two at a time (about 5
# minutes with the build): a crash, a leak or a broken invariant fails CI
# and leaves its input in build-fuzz/artifacts/ (docs/reliability.md).
fuzz/run.sh -t 60

# The fault campaign, short: 3 faults of each kind against the release
# build, every message checked against every page (about 2 minutes; the
# long run is by hand: docs/reliability.md).
LIVEGATE_BIN=build/livegate tests/reliability/run.sh --short
