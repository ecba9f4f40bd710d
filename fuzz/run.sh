#!/usr/bin/env bash
# fuzz/run.sh - build every libFuzzer target (clang, ASan + UBSan) in
# build-fuzz and run each for a while, two at a time (the machine has two
# cores), at the lowest priority (nice 19: benchmarks may share the
# machine). A crash, a leak or a broken invariant fails the run and leaves
# the input in build-fuzz/artifacts/.
#
#   fuzz/run.sh [-t seconds-per-target] [-j parallel] [target...]
#
# Defaults: 60 s each (the CI regression run), 2 in parallel, every target.
# Each run starts from the committed seeds (fuzz/corpus/<target>/) plus what
# earlier runs on this machine found (build-fuzz/corpus/<target>/, where
# new inputs go: the committed seeds stay as they are). At the end it
# prints, per target: executions, libFuzzer's cov: and ft: figures, the
# corpus (inputs/bytes, libFuzzer's corp:) and the outcome (the figures docs/reliability.md reports).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=60
jobs=2
while getopts "t:j:" o; do
	case "$o" in
		t) secs="$OPTARG" ;;
		j) jobs="$OPTARG" ;;
		*) echo "usage: fuzz/run.sh [-t seconds] [-j parallel] [target...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

all=(token client_msg ws_frames http_req ws_handshake api_json config secrets resp)
targets=("${@:-${all[@]}}")

# Longest input per target: what the parser can be handed at most (a
# message, a request with its body, a secrets file...), so limits are hit.
declare -A max_len=(
	[token]=16384 [client_msg]=16448 [ws_frames]=20000 [http_req]=34000
	[ws_handshake]=4096 [api_json]=8192 [config]=4096 [secrets]=8192
	[resp]=80000
)

b=build-fuzz
if [ ! -f "$b/build.ninja" ]; then
	CC=clang meson setup "$b" -Dfuzz=true -Dtests=disabled -Dbrowser_tests=disabled \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C "$b" fuzzers >/dev/null
mkdir -p "$b/logs" "$b/artifacts"

run_one() {
	local t=$1 dict=()
	mkdir -p "$b/corpus/$t"
	[ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	nice -n 19 "$b/fuzz/fuzz_$t" -max_total_time="$secs" -max_len="${max_len[$t]}" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$b/artifacts/$t-" "$b/corpus/$t" "fuzz/corpus/$t" \
		>"$b/logs/$t.log" 2>&1
}

# Two at a time; each job's exit status is read back when it ends.
declare -A pid_of status
running=0
for t in "${targets[@]}"; do
	[ -x "$b/fuzz/fuzz_$t" ] || { echo "no target $t" >&2; exit 2; }
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	run_one "$t" &
	pid_of[$t]=$!
	running=$((running + 1))
done
failed=0
for t in "${targets[@]}"; do
	if wait "${pid_of[$t]}"; then status[$t]=ok; else status[$t]=FAILED; failed=1; fi
done

printf '%-13s %13s %8s %8s %12s  %s\n' target executions cov ft corpus outcome
for t in "${targets[@]}"; do
	log="$b/logs/$t.log"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
	printf '%-13s %13s %8s %8s %12s  %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$corp" "${status[$t]}"
	if [ "${status[$t]}" != ok ]; then
		grep -E 'ERROR|invariant broken|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/    /'
		for a in "$b/artifacts/$t-"*; do
			if [ -e "$a" ]; then echo "    reproduce: $b/fuzz/fuzz_$t $a"; fi
		done
	fi
done
exit "$failed"
