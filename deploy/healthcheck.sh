#!/bin/bash
# livegate container health probe: GET /healthz on the private listener.
#
# Uses bash's /dev/tcp so the runtime image needs no HTTP client. Exit 0 when
# the answer's status line is 200, 1 otherwise (refused, timeout, other code).
#
# The address comes from LIVEGATE_PRIVATE_ADDR (default 127.0.0.1:8081); a
# wildcard bind address (0.0.0.0, [::] or empty) is probed on loopback, which
# works because the probe runs in the container's own network namespace.
set -u
# A peer that closes early makes a write fail (exit 1), not kill us by SIGPIPE.
trap '' PIPE

addr=${LIVEGATE_PRIVATE_ADDR:-127.0.0.1:8081}
port=${addr##*:}
host=${addr%:*}
host=${host#[}
host=${host%]}
case "$host" in
    ""|0.0.0.0|"*") host=127.0.0.1 ;;
    ::) host=::1 ;;
esac
case "$port" in
    ""|*[!0-9]*) echo "livegate-healthcheck: bad LIVEGATE_PRIVATE_ADDR '$addr'" >&2; exit 1 ;;
esac

# Bound the whole exchange: connect, request, first line of the answer.
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3 || exit 1
IFS= read -r -t 2 status <&3 || exit 1
exec 3<&-

case "$status" in
    "HTTP/1."?" 200"*) exit 0 ;;
    *) echo "livegate-healthcheck: ${status%$'\r'}" >&2; exit 1 ;;
esac
