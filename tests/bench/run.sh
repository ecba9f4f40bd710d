#!/usr/bin/env bash
# The livegate benchmark (issue 5): livegate against Nchan, a Node.js ws+ioredis
# server and a bare send() floor, same load generator, same machine, same run.
#
#   tests/bench/run.sh            full run (~15 min), writes docs/benchmarks.md + docs/benchmarks.png
#   tests/bench/run.sh --quick    smoke run with a few hundred clients (< 1 min), writes to a temp dir
#   options: --out FILE.md  --livegate BIN  --rounds N  --no-livegate
#            --only one-channel,cpu-pair,two-cores,storm,workers,multi-channel,idle,tokens,
#                   sse-idle,sse-pair  (a subset)
#            --servers livegate-w1,livegate-sse-w1,floor,...  (only these servers, where a scenario has them)
#            --sizes "1000 18000"  (one-channel, cpu-pair and sse-* sizes)
#            --splice  (write only the sections of --out that this run's scenarios own, between
#                       their markers, and keep the rest of the file: e.g. --only sse-idle,sse-pair)
#
# Needs (Debian 12): gcc libssl-dev redis-server nginx libnginx-mod-nchan nodejs npm wrk
# gnuplot-nox curl, and `npm ci --prefix tests/bench/node`. Run as root to let it raise
# net.core.somaxconn and net.ipv4.tcp_max_syn_backlog for the duration of the run (they
# are restored at exit). Everything listens on 127.0.0.1 and stops by itself.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ARGV="tests/bench/run.sh${*:+ $*}"   # as the report quotes it
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
QUICK=0
ROUNDS=""
OUT=""
LIVEGATE_BIN=""
WITH_LIVEGATE=1
ONLY=""
SERVERS=""
SIZES_ARG=""
SPLICE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --out) OUT=$2; shift ;;
        --livegate) LIVEGATE_BIN=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        --no-livegate) WITH_LIVEGATE=0 ;;
        --only) ONLY=$2; shift ;;
        --servers) SERVERS=$2; shift ;;
        --sizes) SIZES_ARG=$2; shift ;;
        --splice) SPLICE=1 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

WORK=$(mktemp -d /tmp/livegate-bench.XXXXXX)
BIN=$WORK/bin
mkdir -p "$BIN"
RESULTS=$WORK/results.jsonl
COMMANDS=$WORK/commands.txt
: > "$RESULTS"
: > "$COMMANDS"
if [ -z "$OUT" ]; then
    if [ $QUICK = 1 ]; then OUT=$WORK/benchmarks.md; else OUT=$ROOT/docs/benchmarks.md; fi
fi

# ---- scale of the run ------------------------------------------------------------------
if [ $QUICK = 1 ]; then
    SIZES="200"; BIG2=400; BIG4=800; MULTI=200; RATE=500; RATE_S=2
    STORM=200; IDLE_N=200; IDLE_S=2; WRK_S=2; ROUNDS=${ROUNDS:-1}; SETTLE=0.3; SSE_IDLE_S=2
    msgs_for() { echo 5; }
else
    SIZES="1000 5000 18000"; BIG2=36000; BIG4=72000; MULTI=10000; RATE=5000; RATE_S=10
    STORM=18000; IDLE_N=18000; IDLE_S=60; WRK_S=10; ROUNDS=${ROUNDS:-3}; SETTLE=1
    # Idle streams beside idle WebSockets: long enough for both keep-alives
    # (a stream's ": ping" every 25 s, a WebSocket ping after 30 s silent).
    SSE_IDLE_S=35
    # Enough deliveries per run for the CPU figure to be well above sampling noise.
    msgs_for() { if [ "$1" -le 1000 ]; then echo 40; elif [ "$1" -le 5000 ]; then echo 20; else echo 10; fi; }
fi
[ -n "$SIZES_ARG" ] && SIZES=$SIZES_ARG
TOP=${SIZES##* }   # the largest one-channel size, used for the two-core comparison

SECRET="bench-secret-0123456789abcdef0123456789abcdef"
API_KEY="bench-api-key-0123456789"

# ---- process bookkeeping: we stop only what we started ------------------------------------
PIDS=()
SYSCTL_RESTORE=()
cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    for kv in "${SYSCTL_RESTORE[@]}"; do sysctl -q -w "$kv" >/dev/null 2>&1; done
    if [ "${KEEP_WORK:-0}" != 1 ] && [ $QUICK = 0 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_listen() { # port, seconds
    local i
    for ((i = 0; i < $2 * 20; i++)); do
        ss -Hltn "sport = :$1" 2>/dev/null | grep -q LISTEN && return 0
        sleep 0.05
    done
    return 1
}

stop_pid() { # pid: TERM, then KILL after 10 s
    local p=$1 i
    kill "$p" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

# ---- prerequisites --------------------------------------------------------------------------
need() { command -v "$1" >/dev/null || die "$1 is missing ($2)"; }
need gcc "apt-get install -y gcc libssl-dev"
need redis-server "apt-get install -y redis-server"
need nginx "apt-get install -y nginx libnginx-mod-nchan"
need node "apt-get install -y nodejs npm"
need wrk "apt-get install -y wrk"
need gnuplot "apt-get install -y gnuplot-nox"
need curl "apt-get install -y curl"
need taskset "util-linux"
NCHAN_SO=/usr/lib/nginx/modules/ngx_nchan_module.so
[ -f "$NCHAN_SO" ] || die "Nchan is missing (apt-get install -y libnginx-mod-nchan)"
if [ ! -d "$HERE/node/node_modules/ws" ] || [ ! -d "$HERE/node/node_modules/ioredis" ]; then
    log "installing the Node reference server's packages (npm ci)"
    npm ci --prefix "$HERE/node" --no-audit --no-fund >/dev/null
fi

# Loopback connect storms overflow the default accept backlog (4096); raise the
# limits for this run only, as root, and put them back at exit.
if [ "$(id -u)" = 0 ]; then
    for kv in net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535; do
        k=${kv%%=*}
        SYSCTL_RESTORE+=("$k=$(sysctl -n "$k")")
        sysctl -q -w "$kv" >/dev/null
    done
else
    log "not root: somaxconn stays at $(sysctl -n net.core.somaxconn); connect storms may see SYN retries"
fi

# ---- build ----------------------------------------------------------------------------------
log "building loadgen and floor in $BIN"
CFLAGS="-O2 -Wall -Wextra"
LG_SRC=("$HERE"/lg_child.c "$HERE"/lg_ws.c "$HERE"/lg_sse.c "$HERE"/lg_http.c "$HERE"/lg_sys.c)
gcc $CFLAGS -o "$BIN/loadgen" "$HERE"/loadgen.c "${LG_SRC[@]}" -lcrypto
# The clients' codecs are checked before they produce any figure.
gcc $CFLAGS -o "$BIN/lg_codec_test" "$HERE"/lg_codec_test.c "${LG_SRC[@]}" -lcrypto
"$BIN/lg_codec_test" >/dev/null || die "the load generator's codec checks failed"
gcc $CFLAGS -o "$BIN/floor" "$HERE/floor.c" -lcrypto

if [ $WITH_LIVEGATE = 1 ] && [ -z "$LIVEGATE_BIN" ]; then
    # A release build of its own, so the figures do not depend on how the
    # developer's build dir is configured; reused between runs.
    BB=${BENCH_BUILD_DIR:-/tmp/livegate-bench-build}
    log "building livegate (release) in $BB"
    if { [ -f "$BB/build.ninja" ] || meson setup "$BB" "$ROOT" --buildtype=release -Dtests=disabled >"$WORK/meson.log" 2>&1; } &&
        ninja -C "$BB" >>"$WORK/meson.log" 2>&1; then
        LIVEGATE_BIN=$BB/livegate
    else
        log "livegate did not build (see $WORK/meson.log): running the peers only"
        WITH_LIVEGATE=0
    fi
fi
[ $WITH_LIVEGATE = 0 ] || [ -x "$LIVEGATE_BIN" ] || die "no livegate binary at $LIVEGATE_BIN"

# ---- Redis ----------------------------------------------------------------------------------
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --logfile "$WORK/redis.log" &
PIDS+=($!)
wait_listen "$REDIS_PORT" 10 || die "redis did not start"

# ---- servers: each start_* sets SPID (process tree root), SPORT and LG_ARGS ------------------
# The Redis channel of the fan-out (floor and livegate; the cpu-pair scenario
# gives each of its two servers its own, of the same length as "bench").
CH=bench

# CPU placement: PIN=1 puts the server on CPU 0 and the load generator on CPU 1.
server_cmd_prefix() { if [ "$PIN" = 1 ]; then echo "taskset -c 0"; fi; }

start_floor() {
    SPORT=$(free_port)
    $(server_cmd_prefix) "$BIN/floor" "$SPORT" "$REDIS_PORT" "$CH" 2>>"$WORK/floor.log" &
    SPID=$!
    LG_ARGS=(--proto generic --path /ws --pub redis --pub-port "$REDIS_PORT" --channel "$CH")
}

start_node() {
    SPORT=$(free_port)
    $(server_cmd_prefix) node "$HERE/node/server.js" "$SPORT" "$REDIS_PORT" bench 2>>"$WORK/node.log" &
    SPID=$!
    LG_ARGS=(--proto generic --path /ws --pub redis --pub-port "$REDIS_PORT" --channel bench)
}

start_nchan() { # workers
    local w=$1 dir
    SPORT=$(free_port)
    dir=$WORK/nginx-$SPORT
    mkdir -p "$dir"
    local reuse=""
    [ "$w" -gt 1 ] && reuse=" reuseport"
    # Memory store, one channel; subscribers over WebSocket, publishing by HTTP
    # POST (the setup of issue 5's baseline). 19,500 connections per worker is
    # what a 20,000 file limit allows.
    cat > "$dir/nginx.conf" <<EOF
load_module $NCHAN_SO;
worker_processes $w;
worker_rlimit_nofile 20000;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log error;
events { worker_connections 19500; multi_accept on; use epoll; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  nchan_shared_memory_size 256M;
  server {
    listen 127.0.0.1:$SPORT backlog=65535$reuse;
    location = /ws  { nchan_subscriber websocket; nchan_channel_id bench; }
    location = /pub { nchan_publisher; nchan_channel_id bench; nchan_message_buffer_length 5; }
  }
}
EOF
    $(server_cmd_prefix) nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
    SPID=$!
    LG_ARGS=(--proto generic --path /ws --pub http --pub-port "$SPORT" --pub-path /pub)
}

start_livegate() { # workers [sse]: sse makes the load generator's clients event streams
    local w=$1 proto=livegate path=/ws
    if [ "${2:-}" = sse ]; then proto=sse; path=/sse; fi
    SPORT=$(free_port)
    LG_PRIV=$(free_port)
    LIVEGATE_SECRET=$SECRET LIVEGATE_API_KEY=$API_KEY \
    LIVEGATE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT \
    LIVEGATE_PUBLIC_ADDR=127.0.0.1:$SPORT LIVEGATE_PRIVATE_ADDR=127.0.0.1:$LG_PRIV \
    LIVEGATE_WORKERS=$w LIVEGATE_MAX_CONNECTIONS=19000 LIVEGATE_DRAIN_MS=200 \
    LIVEGATE_LOG_LEVEL=error \
        $(server_cmd_prefix) "$LIVEGATE_BIN" 2>>"$WORK/livegate.log" &
    SPID=$!
    LG_ARGS=(--proto "$proto" --path "$path" --secret "$SECRET" --channels "$CH"
             --pub redis --pub-port "$REDIS_PORT" --channel "$CH")
}

start_server() { # name -> starts it and waits until it serves
    case "$1" in
        floor) start_floor ;;
        node) start_node ;;
        nchan-w*) start_nchan "${1#nchan-w}" ;;
        livegate-sse-w*) start_livegate "${1#livegate-sse-w}" sse ;;
        livegate-w*) start_livegate "${1#livegate-w}" ;;
        *) die "unknown server $1" ;;
    esac
    PIDS+=("$SPID")
    wait_listen "$SPORT" 20 || die "$1 did not start listening on $SPORT"
    if [[ $1 == livegate-* ]]; then
        local i
        for ((i = 0; i < 100; i++)); do
            curl -fs "http://127.0.0.1:$LG_PRIV/readyz" >/dev/null 2>&1 && break
            sleep 0.1
        done
        curl -fs "http://127.0.0.1:$LG_PRIV/readyz" >/dev/null || die "$1 not ready"
    fi
    sleep 0.3 # let worker processes settle before the memory baseline
}

stop_server() { stop_pid "$SPID"; }

# A few of livegate's counters (GET /metrics), as JSON members ",\"name\":value".
lg_counters() {
    curl -fs --max-time 5 "http://127.0.0.1:$LG_PRIV/metrics" 2>/dev/null | awk '
        /^livegate_(invalidations_coalesced_total|slow_clients_closed_total|over_capacity_total|frames_delivered_total|redis_messages_total) / {
            printf ",\"%s\":%s", $1, $2 }'
}

# run_load SCENARIO SERVER PIN [loadgen options...]: one server, one measurement
run_load() {
    local scen=$1 srv=$2 pin=$3
    shift 3
    PIN=$pin
    start_server "$srv"
    local pre=()
    [ "$pin" = 1 ] && pre=(taskset -c 1)
    local cmd=("${pre[@]}" "$BIN/loadgen" --port "$SPORT" "${LG_ARGS[@]}" --server-pid "$SPID"
               --scenario "$scen" --server-name "$srv" --settle "$SETTLE" "$@")
    echo "${cmd[*]}" | sed "s#$BIN/##; s#$SECRET#\$SECRET#" >> "$COMMANDS"
    local line extra=""
    if line=$("${cmd[@]}" 2>>"$WORK/loadgen.log"); then
        # livegate's own counters explain deliveries it merged or refused.
        [[ $srv == livegate-* ]] && extra=$(lg_counters)
        # Tag the line with the placement so the report can group by it, and
        # with the machine's load (it is shared) as the measurement ended.
        echo "${line%\}}$extra,\"pinned\":$pin,\"round\":$ROUND,\"load1\":$(load1)}" >> "$RESULTS"
        log "$scen $srv: $(echo "$line" | $PY -c 'import json,sys; d=json.load(sys.stdin); print("ready %d/%d last %.1f ms cpu %.2f us/dlv mem %.2f KiB/conn server cpu %.2f%%" % (d["ready"], d["clients"], d["last_p50_ms"], d["cpu_us_per_delivery"], d["mem_kib_per_conn"], d["cpu_pct"]))')"
    else
        log "$scen $srv: loadgen failed (see $WORK/loadgen.log)"
    fi
    stop_server
}

# run_ring SCENARIO SIZE MESSAGES SERVER...: the servers alive at once, all on
# CPU 0, each with its own clients, channel and load generator on CPU 1,
# publishing in turns around a ring (one message to the first, until all its
# clients have it, then one to the next: loadgen --baton-in/out). The
# machine's speed drifts within a minute by more than the 10 % the CPU target
# leaves; taking turns message by message puts the same drift on all of them.
# Which one goes first rotates with the round. The load generators connect one
# after the other: three connect storms at once on a loaded machine starve the
# clients past livegate's 5 s handshake deadline, and only the turns are measured.
run_ring() {
    local scen=$1 n=$2 msgs=$3
    shift 3
    local names=($(rotate $((ROUND - 1)) "$@")) k=$# d i
    d=$(mktemp -d "$WORK/ring.XXXX")
    for ((i = 0; i < k; i++)); do mkfifo "$d/$i"; done
    local spids=() lgpids=()
    PIN=1
    for ((i = 0; i < k; i++)); do
        CH=pair$i   # as long as "bench"
        start_server "${names[$i]}"
        spids+=("$SPID")
        local cmd=(taskset -c 1 "$BIN/loadgen" --port "$SPORT" "${LG_ARGS[@]}" --server-pid "$SPID"
                   --scenario "$scen" --server-name "${names[$i]}" --settle "$SETTLE"
                   --clients "$n" --messages "$msgs" --gap 0.2 --src-base $((2 + 18 * i))
                   --baton-in "$d/$i" --baton-out "$d/$(((i + 1) % k))" --ready-file "$d/ready$i")
        echo "${cmd[*]} &" | sed "s#$BIN/##; s#$SECRET#\$SECRET#; s#$d/#\$RING/#g" >> "$COMMANDS"
        "${cmd[@]}" > "$d/out$i" 2>>"$WORK/loadgen.log" &
        lgpids+=($!)
        local t
        for ((t = 0; t < 3000; t++)); do
            [ -e "$d/ready$i" ] || ! kill -0 "${lgpids[$i]}" 2>/dev/null && break
            sleep 0.1
        done
    done
    CH=bench
    echo "$scen: all $k connected, one after the other; the first turn goes to ${names[0]}" >> "$COMMANDS"
    printf B > "$d/0"
    local ok=1 line
    for ((i = 0; i < k; i++)); do wait "${lgpids[$i]}" || ok=0; done
    for ((i = 0; i < k; i++)); do
        line=$(cat "$d/out$i")
        if [ $ok = 1 ] && [ -n "$line" ]; then
            echo "${line%\}},\"pinned\":1,\"round\":$ROUND,\"turn\":$i,\"load1\":$(load1)}" >> "$RESULTS"
            log "$scen ${names[$i]}: $(echo "$line" | $PY -c 'import json,sys; d=json.load(sys.stdin); print("ready %d/%d cpu %.2f us/dlv" % (d["ready"], d["clients"], d["cpu_us_per_delivery"]))')"
        fi
    done
    [ $ok = 1 ] || log "$scen $n: a load generator failed (see $WORK/loadgen.log)"
    for ((i = 0; i < k; i++)); do stop_pid "${spids[$i]}"; done
    rm -rf "$d"
}

load1() { cut -d' ' -f1 /proc/loadavg; }

rotate() { # print the list rotated by $1 so no server always runs first
    local n=$1; shift
    local a=("$@") i
    for ((i = 0; i < ${#a[@]}; i++)); do echo "${a[$(((i + n) % ${#a[@]}))]}"; done
}

PEERS=(floor nchan-w1 node)
[ $WITH_LIVEGATE = 1 ] && PEERS=(floor livegate-w1 nchan-w1 node)

want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
# keep NAME...: the names --servers allows (all without it)
keep() {
    local s
    for s in "$@"; do
        if [ -z "$SERVERS" ] || [[ ",$SERVERS," == *",$s,"* ]]; then echo "$s"; fi
    done
}

# ---- scenarios -------------------------------------------------------------------------------
START=$(date -u +%s)
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    # 1. One channel, server on CPU 0, load generator on CPU 1; peers interleaved.
    for n in $SIZES; do
        want one-channel || break
        for srv in $(keep $(rotate $((ROUND + n)) "${PEERS[@]}")); do
            run_load one-channel "$srv" 1 --clients "$n" --messages "$(msgs_for "$n")" --gap 0.2
        done
    done
    # 1b. The CPU target's measurement: livegate and the floor side by side.
    if [ $WITH_LIVEGATE = 1 ] && want cpu-pair; then
        # Twice the messages of table 1: the ratio is what this is for.
        for n in $SIZES; do run_ring cpu-pair "$n" "$(( $(msgs_for "$n") * 2 ))" floor livegate-w1; done
    fi
    # 1c. The event stream (issue 15) beside the WebSocket: memory per idle
    # connection of each, one fresh livegate per measurement (as *idle*) ...
    if [ $WITH_LIVEGATE = 1 ] && want sse-idle; then
        for n in $SIZES; do
            for srv in $(keep $(rotate $((ROUND + n)) livegate-w1 livegate-sse-w1)); do
                run_load sse-idle "$srv" 1 --mode idle --clients "$n" --duration "$SSE_IDLE_S"
            done
        done
    fi
    # ... and CPU per delivery of streams, WebSockets and the floor taking turns (as cpu-pair).
    if [ $WITH_LIVEGATE = 1 ] && want sse-pair; then
        for n in $SIZES; do
            run_ring sse-pair "$n" "$(( $(msgs_for "$n") * 2 ))" floor livegate-w1 livegate-sse-w1
        done
    fi
    # 2. The largest size with both cores in use: multi-worker servers against Nchan.
    TWO=(nchan-w1 nchan-w2)
    [ $WITH_LIVEGATE = 1 ] && TWO=(livegate-w2 nchan-w1 nchan-w2)
    want two-cores || continue
    for srv in $(keep $(rotate "$ROUND" "${TWO[@]}")); do
        run_load two-cores "$srv" 0 --clients "$TOP" --messages "$(msgs_for "$TOP")" --gap 0.2
    done
done
ROUND=1
# 3. Connect storm: every client opens at once.
want storm && for srv in $(keep "${PEERS[@]}"); do
    run_load storm "$srv" 1 --mode storm --clients "$STORM" --inflight 0 --procs 2 --settle 0.2
done
if [ $WITH_LIVEGATE = 1 ]; then
    # 4. Two and four workers, one Redis: one publish reaches every connection.
    want workers && run_load workers-2 livegate-w2 0 --clients "$BIG2" --messages 5 --gap 0.3 --procs 2 \
        --connect-timeout 180
    want workers && run_load workers-4 livegate-w4 0 --clients "$BIG4" --messages 5 --gap 0.5 --procs 4 \
        --connect-timeout 240
    # 5. Own channel per client plus one shared channel, paced publishes.
    want multi-channel && run_load multi-channel livegate-w1 1 --mode rate --clients "$MULTI" --channels 'own:%u,shared' \
        --rate "$RATE" --shared-rate 1 --duration "$RATE_S" --own-fmt 'own:%u' --shared-channel shared
fi
# 6. Idle connections (the server's pings included), server CPU over the period.
IDLE_PEERS=(nchan-w1 node)
[ $WITH_LIVEGATE = 1 ] && IDLE_PEERS=(livegate-w1 nchan-w1 node)
want idle && for srv in $(keep "${IDLE_PEERS[@]}"); do
    run_load idle "$srv" 1 --mode idle --clients "$IDLE_N" --duration "$IDLE_S"
done
# 7. The private API minting tokens, wrk with keep-alive.
if [ $WITH_LIVEGATE = 1 ] && want tokens; then
    PIN=0
    start_server livegate-w2
    WCMD=(wrk -t2 -c64 -d"${WRK_S}s" --latency -s "$HERE/mint.lua" "http://127.0.0.1:$LG_PRIV/v1/tokens")
    echo "LIVEGATE_API_KEY=\$API_KEY ${WCMD[*]}" | sed "s#$HERE/##" >> "$COMMANDS"
    if LIVEGATE_API_KEY=$API_KEY "${WCMD[@]}" > "$WORK/wrk.txt" 2>&1; then
        $PY "$HERE/wrk2json.py" "$WORK/wrk.txt" >> "$RESULTS"
        log "tokens: $(grep -E 'Requests/sec|Non-2xx' "$WORK/wrk.txt" | tr -s ' ' | tr '\n' ' ')"
    else
        log "wrk failed: $(tail -3 "$WORK/wrk.txt")"
    fi
    stop_server
fi
ELAPSED=$(($(date -u +%s) - START))

# ---- report ----------------------------------------------------------------------------------
log "writing $OUT"
mkdir -p "$(dirname "$OUT")"
$PY "$HERE/report.py" --results "$RESULTS" --commands "$COMMANDS" --out "$OUT" \
    --quick "$QUICK" --elapsed "$ELAPSED" --rounds "$ROUNDS" --splice "$SPLICE" \
    --livegate "${LIVEGATE_BIN:-}" --root "$ROOT" --argv "$ARGV"
log "done in ${ELAPSED}s: $OUT"
