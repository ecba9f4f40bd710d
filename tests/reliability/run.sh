#!/usr/bin/env bash
# tests/reliability/run.sh - the fault campaign: does every page converge,
# whatever fails? (docs/reliability.md, "Convergence under faults")
#
#   tests/reliability/run.sh --short     CI's run: 3 faults of each kind, about 2 minutes
#   tests/reliability/run.sh --medium    the long run's population, 20 faults of each kind, about 18 minutes
#   tests/reliability/run.sh --steady    the long run's population, no fault, 5 minutes: the catch-up's cost
#   tests/reliability/run.sh             the long run: 100 of each kind, about 90 minutes
#   tests/reliability/run.sh --doc       the long run (or --medium --doc), its figures written into docs/reliability.md
# Other options go to campaign.py: --out DIR (keep the run's records),
# --seed N, --bin PATH (default: $LIVEGATE_BIN, else build/livegate, built
# here when missing). Exit status 1 when a message was silently missed.
set -euo pipefail
cd "$(dirname "$0")/../.."

# 1 since livegate sends the render-to-subscribe catch-up ("reason":"missed",
# issue 13): a message lost between a page's render and its subscription
# fails the run like any other miss (0 reports it as a figure only).
REQUIRE_CATCHUP=1

size=long
args=()
for a in "$@"; do
	case "$a" in
		--short) size=short ;;
		--medium) size=medium ;;
		--steady) size=steady ;;
		--doc) args+=(--doc docs/reliability.md) ;;
		*) args+=("$a") ;;
	esac
done
[ "$REQUIRE_CATCHUP" = 1 ] && args+=(--require-catchup)

bin=${LIVEGATE_BIN:-build/livegate}
if [ ! -x "$bin" ]; then
	[ -d build ] || meson setup build
	ninja -C build
fi
export PYTHONDONTWRITEBYTECODE=1
# The judge first: a checker that could not tell a miss from a cover would
# make any campaign pass.
/usr/bin/python3 tests/reliability/test_checker.py
exec /usr/bin/python3 tests/reliability/campaign.py --size "$size" --bin "$bin" "${args[@]}"
