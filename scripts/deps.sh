#!/usr/bin/env bash
# scripts/deps.sh - install the Debian 12 packages livegate needs, only those
# that are missing (sourced by quickstart.sh and test-all.sh).
#   deps_install build|run|test
set -euo pipefail

deps_build=(meson ninja-build pkg-config gcc python3 libhttp-parser-dev libmicrohttpd-dev
            libhiredis-dev libjansson-dev libssl-dev uthash-dev libev-dev check)
deps_run=(redis-server redis-sentinel redis-tools curl)
deps_test=(python3-websockets python3-jwt python3-yaml libjwt-dev valgrind openssl strace
           chromium nginx prometheus systemd util-linux
           podman runc podman-compose mmdebstrap netavark aardvark-dns iptables iproute2
           clang libclang-rt-14-dev)   # the last two: libFuzzer (fuzz/run.sh)
# Wanted as commands, from Debian only when missing: a machine's own Node.js
# build (with its own npm) conflicts with Debian's npm package.
deps_test_cmds=(node:nodejs npm:npm)

deps_install() {
	local want=() missing=() p
	case "$1" in
		build) want=("${deps_build[@]}") ;;
		run)   want=("${deps_build[@]}" "${deps_run[@]}") ;;
		test)  want=("${deps_build[@]}" "${deps_run[@]}" "${deps_test[@]}") ;;
	esac
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ "$1" = test ]; then
		for p in "${deps_test_cmds[@]}"; do
			command -v "${p%%:*}" >/dev/null || missing+=("${p#*:}")
		done
	fi
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing: ${missing[*]}" >&2
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	# Waits for another apt run (a parallel build on the same machine)
	# rather than failing on its lock.
	$sudo apt-get -o DPkg::Lock::Timeout=900 update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
}
