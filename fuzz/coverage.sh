#!/usr/bin/env bash
# fuzz/coverage.sh - line and branch coverage of livegate's parsers by the
# fuzzing corpora: every input of fuzz/corpus/<target>/ and of the corpus
# fuzz/run.sh grew in build-fuzz/corpus/<target>/ is run once through a
# build instrumented for clang's source coverage (no sanitizers), and
# llvm-cov reports per source file. The figures docs/reliability.md gives
# next to libFuzzer's cov:/ft: (which count edges, not lines). Needs
# llvm-14 (llvm-cov-14, llvm-profdata-14).
#
#   fuzz/coverage.sh
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in llvm-cov-14 llvm-profdata-14; do
	command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install llvm-14" >&2; exit 2; }
done
targets=(token client_msg ws_frames http_req ws_handshake api_json config secrets)
b=build-fuzz-cov
# meson's compiler checks run instrumented programs too: their profiles go nowhere.
export LLVM_PROFILE_FILE=/dev/null
if [ ! -f "$b/build.ninja" ]; then
	CC=clang meson setup "$b" -Dfuzz=true -Dtests=disabled -Dbrowser_tests=disabled \
		-Db_lundef=false -Dbuildtype=debug \
		-Dc_args='-fprofile-instr-generate -fcoverage-mapping' \
		-Dc_link_args='-fprofile-instr-generate' >/dev/null
fi
ninja -C "$b" fuzzers >/dev/null
rm -rf "$b/prof"
mkdir -p "$b/prof"
objects=()
for t in "${targets[@]}"; do
	mkdir -p "build-fuzz/corpus/$t"
	LLVM_PROFILE_FILE="$b/prof/$t.profraw" "$b/fuzz/fuzz_$t" -runs=0 \
		"build-fuzz/corpus/$t" "fuzz/corpus/$t" >"$b/prof/$t.log" 2>&1
	objects+=(-object "$b/fuzz/fuzz_$t")
done
llvm-profdata-14 merge -o "$b/all.profdata" "$b"/prof/*.profraw
# Per source file of livegate (the fuzz targets themselves left out): line
# and branch coverage. pubsub/redis_url.c is reached only through settings
# (its own fuzzing is the pubsub owner's).
printf '%-24s %8s %9s\n' file lines branches
llvm-cov-14 report -instr-profile="$b/all.profdata" "${objects[@]:1}" |
	awk '$1 ~ /^(auth|common|wire|supervisor|pubsub)\/.*\.c$/ { printf "%-24s %8s %9s\n", $1, $10, $13 }'
