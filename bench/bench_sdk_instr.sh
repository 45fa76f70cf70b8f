#!/bin/sh
# bench_sdk_instr.sh: instructions per event, counted by valgrind's
# callgrind (repeatable where timings are not: a shared or loaded machine).
# bench_sdk_cpu runs twice, with N and 3N iterations of (lock, write,
# unlock) on one recording thread; the difference divided by the extra
# events is the marginal cost, free of start-up. Threads are counted
# apart: the recording thread (producer), the drain (encoding, LZ4, sink),
# and the whole process. The raw loop (the same file built with
# -DBENCH_RAW) is the baseline. TSan does not run under valgrind; see
# bench_sdk.sh for its timings. Valgrind runs the program about 50 times
# slower, so the time deltas and the sequence deltas (both follow the
# clock: docs/event-format.md) are several bytes each and vary more than
# in a real run: the drain's count here (LZ4 above all) is higher than
# what a real run executes; compare it only with itself.
# Usage: bench/bench_sdk_instr.sh [BUILD_DIR] [N]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build}
N=${2:-20000}
CC=${CC:-cc}
command -v valgrind >/dev/null 2>&1 || {
  echo "valgrind not found" >&2
  exit 1
}
cmake --build "$BUILD" --target bench_sdk_cpu >/dev/null
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
$CC -O2 -g -std=c11 -pthread -DBENCH_RAW "$HERE/bench_sdk_cpu.c" \
  -o "$TMP/cpu_raw"

# count NAME PROGRAM ARGS...: callgrind with one output file per thread;
# prints "total producer drain" instruction counts. Thread 1 is main,
# 2 the drain (started by cw_init), 3 the recording thread; the raw build
# has no drain (thread 2 records).
count() {
  name=$1
  shift
  valgrind --tool=callgrind --separate-threads=yes \
    --callgrind-out-file="$TMP/$name.cg" "$@" >/dev/null 2>&1
  for f in "$TMP/$name".cg-*; do
    printf '%s %s\n' "${f##*-}" \
      "$(awk '/^(summary|totals):/ { print $2; exit }' "$f")"
  done | awk -v raw="$name" '
    { n[$1 + 0] = $2; t += $2 }
    END {
      if (raw ~ /^raw/) print t, n[2], 0
      else print t, n[3], n[2]
    }'
}

N3=$((N * 3))
set -- $(count cw1 "$BUILD/bench/bench_sdk_cpu" cw 1 "$N")
CW1_T=$1 CW1_P=$2 CW1_D=$3
set -- $(count cw3 "$BUILD/bench/bench_sdk_cpu" cw 1 "$N3")
CW3_T=$1 CW3_P=$2 CW3_D=$3
set -- $(count raw1 "$TMP/cpu_raw" raw 1 "$N")
R1_T=$1 R1_P=$2
set -- $(count raw3 "$TMP/cpu_raw" raw 1 "$N3")
R3_T=$1 R3_P=$2

awk -v n="$N" -v ct1="$CW1_T" -v ct3="$CW3_T" -v cp1="$CW1_P" \
  -v cp3="$CW3_P" -v cd1="$CW1_D" -v cd3="$CW3_D" -v rt1="$R1_T" \
  -v rt3="$R3_T" -v rp1="$R1_P" -v rp3="$R3_P" 'BEGIN {
  ev = 2 * n * 3 # the extra events between the two runs
  printf "instructions per event (callgrind, marginal over %d events; 3 events per iteration)\n", ev
  printf "  %-34s %10s %10s\n", "", "raw", "causeway"
  printf "  %-34s %10.1f %10.1f\n", "recording thread", (rp3 - rp1) / ev, (cp3 - cp1) / ev
  printf "  %-34s %10s %10.1f\n", "drain thread (encode, LZ4, sink)", "-", (cd3 - cd1) / ev
  printf "  %-34s %10.1f %10.1f\n", "whole process", (rt3 - rt1) / ev, (ct3 - ct1) / ev
}'
