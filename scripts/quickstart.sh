#!/usr/bin/env bash
# scripts/quickstart.sh - on a fresh Debian 12 machine: install what is
# missing, build, start a local Redis on loopback when LIVEGATE_REDIS_URL is
# unset, run livegate and the demo todo app, and print what to open.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
deps_install run

[ -d build ] || meson setup build --buildtype=release -Dtests=disabled >/dev/null
ninja -C build >/dev/null

run_dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$run_dir"; }
trap cleanup EXIT INT TERM

if [ -z "${LIVEGATE_REDIS_URL:-}" ]; then
	port=${REDIS_PORT:-6390}
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$run_dir" --logfile "$run_dir/redis.log" &
	pids+=($!)
	export LIVEGATE_REDIS_URL="redis://127.0.0.1:$port"
	for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
export LIVEGATE_SECRET=${LIVEGATE_SECRET:-$(head -c 32 /dev/urandom | base64 | tr -d '=+/')}
export LIVEGATE_API_KEY=${LIVEGATE_API_KEY:-$(head -c 24 /dev/urandom | base64 | tr -d '=+/')}
export LIVEGATE_PUBLIC_ADDR=${LIVEGATE_PUBLIC_ADDR:-127.0.0.1:8080}
export LIVEGATE_PRIVATE_ADDR=${LIVEGATE_PRIVATE_ADDR:-127.0.0.1:8081}
./build/livegate &
pids+=($!)
for _ in $(seq 50); do curl -fs "http://$LIVEGATE_PRIVATE_ADDR/readyz" >/dev/null && break; sleep 0.1; done

app_port=${APP_PORT:-3000}
if [ -f deploy/example/app.py ]; then
	LIVEGATE_PRIVATE_URL="http://$LIVEGATE_PRIVATE_ADDR" LIVEGATE_PUBLIC_URL="http://$LIVEGATE_PUBLIC_ADDR" \
	REDIS_URL="$LIVEGATE_REDIS_URL" PORT=$app_port /usr/bin/python3 deploy/example/app.py &
	pids+=($!)
fi
redis_port=${LIVEGATE_REDIS_URL##*:}; redis_port=${redis_port%%/*}
cat <<MSG

  livegate is running.
    demo app (open in two windows):  http://127.0.0.1:$app_port/
    script:                          http://$LIVEGATE_PUBLIC_ADDR/livegate.js
    WebSocket:                       ws://$LIVEGATE_PUBLIC_ADDR/ws
    private API:                     http://$LIVEGATE_PRIVATE_ADDR  (Authorization: Bearer $LIVEGATE_API_KEY)
    metrics:                         http://$LIVEGATE_PRIVATE_ADDR/metrics

  try:  redis-cli -p $redis_port PUBLISH todos '{"entity":"todos","action":"updated"}'
  Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
