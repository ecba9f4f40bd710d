#!/usr/bin/env bash
# scripts/quickstart.sh - on a fresh Debian 12 machine: install what is
# missing, build, start a local Redis on loopback when LIVEGATE_REDIS_URL is
# unset, run livegate and the demo todo app, and print what to open.
# If livegate exits, Redis and the demo (with its todos) stay up and
# livegate is started again; after 5 exits within 10 s of starting it is
# left stopped, with the command to start it by hand. Ctrl-C stops
# everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
deps_install run

[ -d build ] || meson setup build --buildtype=release -Dtests=disabled >/dev/null
ninja -C build >/dev/null

bin=build/livegate
run_dir=$(mktemp -d)
pids=()
essential=() # when one of these exits, everything stops
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$run_dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${LIVEGATE_REDIS_URL:-}" ]; then
	port=${REDIS_PORT:-6390}
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$run_dir" --logfile "$run_dir/redis.log" &
	pids+=($!) essential+=($!)
	export LIVEGATE_REDIS_URL="redis://127.0.0.1:$port"
	for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
export LIVEGATE_SECRET=${LIVEGATE_SECRET:-$(head -c 32 /dev/urandom | base64 | tr -d '=+/')}
export LIVEGATE_API_KEY=${LIVEGATE_API_KEY:-$(head -c 24 /dev/urandom | base64 | tr -d '=+/')}
export LIVEGATE_PUBLIC_ADDR=${LIVEGATE_PUBLIC_ADDR:-127.0.0.1:8080}
export LIVEGATE_PRIVATE_ADDR=${LIVEGATE_PRIVATE_ADDR:-127.0.0.1:8081}

# The settings, so that livegate can be started by hand with the same keys.
env | grep '^LIVEGATE_' | sed "s/'/'\\\\''/g; s/=\(.*\)/='\1'/; s/^/export /" > "$run_dir/livegate.env"
chmod 600 "$run_dir/livegate.env"
by_hand="set -a; . $run_dir/livegate.env; $PWD/$bin"

# livegate, started again when it exits; Redis and the demo do not depend on it.
supervise() {
	local lg=0 quick=0 started status
	trap 'kill "$lg" 2>/dev/null; wait "$lg" 2>/dev/null; exit 0' TERM INT
	while :; do
		started=$SECONDS
		"$bin" & lg=$!
		status=0
		wait "$lg" || status=$?
		if [ $((SECONDS - started)) -lt 10 ]; then quick=$((quick + 1)); else quick=0; fi
		if [ "$quick" -ge 5 ]; then
			echo "quickstart: livegate exited (status $status) 5 times within 10 s of starting: not starting it again." >&2
			echo "quickstart: Redis and the demo keep running. Fix what livegate said above, then start it in another shell:" >&2
			echo "    $by_hand" >&2
			return 0
		fi
		echo "quickstart: livegate exited (status $status); starting it again in 1 s (Redis and the demo keep running)" >&2
		sleep 1
	done
}
supervise &
pids+=($!)
for _ in $(seq 50); do curl -fs "http://$LIVEGATE_PRIVATE_ADDR/readyz" >/dev/null && break; sleep 0.1; done

app_port=${APP_PORT:-3000}
if [ -f deploy/example/app.py ]; then
	LIVEGATE_PRIVATE_URL="http://$LIVEGATE_PRIVATE_ADDR" LIVEGATE_PUBLIC_URL="http://$LIVEGATE_PUBLIC_ADDR" \
	REDIS_URL="$LIVEGATE_REDIS_URL" PORT=$app_port /usr/bin/python3 deploy/example/app.py &
	pids+=($!) essential+=($!)
fi
redis_port=${LIVEGATE_REDIS_URL##*:}; redis_port=${redis_port%%/*}
state="livegate is running."
curl -fs "http://$LIVEGATE_PRIVATE_ADDR/readyz" >/dev/null || state="livegate is not ready yet: see its messages above."
cat <<MSG

  $state
    demo app (open in two windows):  http://127.0.0.1:$app_port/
    script:                          http://$LIVEGATE_PUBLIC_ADDR/livegate.js
    WebSocket:                       ws://$LIVEGATE_PUBLIC_ADDR/ws
    private API:                     http://$LIVEGATE_PRIVATE_ADDR  (Authorization: Bearer $LIVEGATE_API_KEY)
    metrics:                         http://$LIVEGATE_PRIVATE_ADDR/metrics

  try:  redis-cli -p $redis_port PUBLISH todos '{"entity":"todos","action":"updated"}'
  Ctrl-C stops everything.
MSG
if [ ${#essential[@]} -eq 0 ]; then essential=("${pids[@]}"); fi
wait -n "${essential[@]}" || true
echo "quickstart: Redis or the demo exited; stopping the rest" >&2
