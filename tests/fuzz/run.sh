#!/usr/bin/env bash
# Build the libFuzzer targets with clang (in build-fuzz/ at the repo root) and run each for a
# fixed time on a copy of its seed corpus, as many at once as there are cores. Fails if any target finds a crash, a sanitizer
# report, a leak or a timeout; the input that did it is kept in build-fuzz/artifacts/TARGET/.
# Usage: tests/fuzz/run.sh [SECONDS]   (per target; default 30)
set -euo pipefail

secs=${1:-30}
case $secs in '' | *[!0-9]*)
  echo "usage: tests/fuzz/run.sh [SECONDS]" >&2
  exit 2
  ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build-fuzz
cxx=${JL_FUZZ_CXX:-clang++-14}
targets=(jupyter config state inspect probe http sshcfg sshwords agent container gpus pull mux helper slurm)

# clang with libFuzzer, and what the rest of the tree needs to configure.
if ! command -v "$cxx" >/dev/null 2>&1 || ! dpkg -s libclang-rt-14-dev >/dev/null 2>&1; then
  if [ "$cxx" != clang++-14 ]; then
    echo "fuzz: $cxx not found" >&2
    exit 1
  fi
  echo "fuzz: installing clang-14 libclang-rt-14-dev" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev >/dev/null
fi
"$root/tests/deps.sh" build

cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DJL_FUZZ=ON -DJL_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target jl_fuzz >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One target: its summary line in $work/result-T, and the excerpt of a finding in
# $work/finding-T.
run_one() {
  local t=$1 exe corpus artifacts log seeds rc runs speed cov final
  local dict=()
  exe=$build/tests/fuzz/fuzz_$t
  corpus=$work/corpus-$t
  artifacts=$build/artifacts/$t
  log=$build/artifacts/$t.log
  rm -rf "$artifacts"
  mkdir -p "$corpus" "$artifacts"
  # libFuzzer writes new inputs into its first corpus directory: a copy, never the seeds.
  cp "$here/corpus/$t/"* "$corpus/"
  seeds=$(find "$corpus" -type f | wc -l)
  [ -f "$here/dict/$t.dict" ] && dict=("-dict=$here/dict/$t.dict")
  rc=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -n 1 || true)
  final=$(find "$corpus" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    printf 'fuzz %-8s ok      %s runs, %s exec/s, %s (seeds %s, corpus now %s)\n' \
      "$t" "${runs:-?}" "${speed:-?}" "${cov:-cov: ?}" "$seeds" "$final" >"$work/result-$t"
  else
    printf 'fuzz %-8s FAILED  exit %s after %s runs; log %s\n' "$t" "$rc" "${runs:-?}" "$log" \
      >"$work/result-$t"
    { grep -E 'ERROR:|runtime error:|deadly signal|^SUMMARY|in LLVMFuzzerTestOneInput| in jl::|Test unit written|^Base64:' \
      "$log" | head -n 25 || tail -n 25 "$log"; } >"$work/finding-$t"
  fi
}

# Each target is one process on one core: as many at once as there are cores.
jobs=$(nproc)
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
wait || true

failed=()
for t in "${targets[@]}"; do
  cat "$work/result-$t" 2>/dev/null || echo "fuzz $t: no result"
  if [ -f "$work/finding-$t" ] || [ ! -f "$work/result-$t" ]; then
    cat "$work/finding-$t" >&2 2>/dev/null || true
    failed+=("$t")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${secs}s each without a finding"
