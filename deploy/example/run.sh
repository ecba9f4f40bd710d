#!/bin/sh
# Starts Redis, livegate and the demo on loopback and prints the URL to open.
# Ctrl-C stops all three. Run from anywhere after building livegate
# (meson setup build && ninja -C build).
#
# Ports (override by environment): DEMO_PORT 3000, LIVEGATE_PORT 8080 (public),
# LIVEGATE_PRIVATE_PORT 8081, REDIS_PORT 6380 (its own Redis, not persisted).
# LIVEGATE_BIN picks another binary.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${LIVEGATE_BIN:-$root/build/livegate}
demo_port=${DEMO_PORT:-3000}
public_port=${LIVEGATE_PORT:-8080}
private_port=${LIVEGATE_PRIVATE_PORT:-8081}
redis_port=${REDIS_PORT:-6380}

[ -x "$bin" ] || { echo "no livegate binary at $bin: run meson setup build && ninja -C build" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server not found: apt-get install redis-server" >&2; exit 1; }

# Fresh random keys for this run; nothing is written to disk.
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
api_key=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
pids=""
cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # url what
  i=0
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || { echo "$2 did not come up ($1)" >&2; exit 1; }
    sleep 0.1
  done
}

redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --loglevel warning &
pids="$pids $!"
i=0
until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 100 ] || { echo "redis did not start on port $redis_port" >&2; exit 1; }
  sleep 0.1
done

LIVEGATE_SECRET=$secret LIVEGATE_API_KEY=$api_key \
LIVEGATE_REDIS_URL=redis://127.0.0.1:$redis_port \
LIVEGATE_PUBLIC_ADDR=127.0.0.1:$public_port LIVEGATE_PRIVATE_ADDR=127.0.0.1:$private_port \
LIVEGATE_ALLOWED_ORIGINS=http://127.0.0.1:$demo_port,http://localhost:$demo_port \
  "$bin" &
pids="$pids $!"
wait_http "http://127.0.0.1:$private_port/readyz" livegate

PORT=$demo_port LIVEGATE_API_KEY=$api_key DEMO_QUIET=1 \
LIVEGATE_PRIVATE_URL=http://127.0.0.1:$private_port \
LIVEGATE_PUBLIC_URL=http://127.0.0.1:$public_port \
REDIS_URL=redis://127.0.0.1:$redis_port \
  /usr/bin/python3 "$root/deploy/example/app.py" >/dev/null &
pids="$pids $!"
wait_http "http://127.0.0.1:$demo_port/healthz" "the demo"

cat <<EOF

  Open http://127.0.0.1:$demo_port/ in two windows and add a todo in one.
  Or from a shell:  redis-cli -p $redis_port PUBLISH todos x
  Ctrl-C stops Redis, livegate and the demo.

EOF
wait
