#!/bin/sh
# bench_sdk.sh: the SDK benchmarks side by side in one run.
#  1. hot path: recorded state access and instrumented lock+unlock against
#     raw pthread (bench_sdk_hotpath), and the same raw program built plain
#     and with -fsanitize=thread (bench_sdk_raw.c compiled here with cc);
#  2. bounded clocks: 1,000,000 short tasks through one hot lock
#     (bench_sdk_tasks), cost and memory at 10k, 100k and 1M.
# Usage: bench/bench_sdk.sh [BUILD_DIR] [TASKS]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build}
TASKS=${2:-1000000}
CC=${CC:-cc}
cmake --build "$BUILD" --target bench_sdk_hotpath bench_sdk_tasks >/dev/null
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
$CC -O2 -std=c11 -pthread "$HERE/bench_sdk_raw.c" -o "$TMP/raw"
$CC -O2 -std=c11 -pthread -fsanitize=thread "$HERE/bench_sdk_raw.c" \
  -o "$TMP/raw_tsan"

"$BUILD/bench/bench_sdk_hotpath" 300 >"$TMP/hot.txt"
"$TMP/raw" 300 >"$TMP/raw.txt"
"$TMP/raw_tsan" 300 >"$TMP/tsan.txt"
get() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
res() {
  awk -v k="$1" '$1 == "RESULT" { for (i = 2; i <= NF; i++) {
    split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$TMP/hot.txt"
}
RAW_L=$(get raw_lock_ns "$TMP/raw.txt")
RAW_A=$(get raw_access_ns "$TMP/raw.txt")
TS_L=$(get raw_lock_ns "$TMP/tsan.txt")
TS_A=$(get raw_access_ns "$TMP/tsan.txt")
CW_L=$(res lock_ns)
CW_A=$(res access_ns)

cat "$TMP/hot.txt" | grep -v '^RESULT'
echo
echo "side by side (median ns per operation; ratio to the raw build)"
printf '  %-26s %12s %12s %12s\n' "" "raw" "causeway" "TSan (raw)"
printf '  %-26s %12s %12s %12s\n' "uncontended lock+unlock" "$RAW_L" "$CW_L" "$TS_L"
printf '  %-26s %12s %12s %12s\n' "shared state access" "$RAW_A" "$CW_A" "$TS_A"
awk -v r="$RAW_L" -v c="$CW_L" -v t="$TS_L" 'BEGIN {
  printf "  lock+unlock: causeway %.1fx raw (target <= 5x), TSan %.1fx raw\n",
         c / r, t / r }'
awk -v c="$CW_A" 'BEGIN {
  printf "  recorded access: %.1f ns (target <= 50 ns)\n", c }'
echo
"$BUILD/bench/bench_sdk_tasks" "$TASKS"
