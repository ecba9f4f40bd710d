#!/usr/bin/env bash
# tests/bench/slow_consumers.sh - the fast clients' latency beside 0, 1,500
# and 3,000 clients that never read (issue 10, finding 1): the integration
# test's scenario (tests/integration/test_slow_consumers.py: 10 fast
# clients, 5,000 messages of 1 KiB over 10 s, one worker) run with each
# count; prints its figure lines. Figures, not pass/fail: docs/benchmarks.md.
#   tests/bench/slow_consumers.sh [build/livegate]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/livegate}
ulimit -n 20000
for n in 0 1500 3000; do
	LIVEGATE_BENCH_NON_READERS=$n LIVEGATE_BIN=$bin /usr/bin/python3 \
		tests/integration/test_slow_consumers.py NonReadersTest 2>&1 | grep '^figure:' || true
done
