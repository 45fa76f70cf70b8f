#!/bin/sh
# bench_sdk.sh: the SDK benchmarks, next to raw pthread and ThreadSanitizer
# in the same run, RUNS times (median and [min-max] of the runs):
#  1. per operation on the recording thread (bench_sdk_hotpath): an
#     uncontended lock+unlock and a recorded state access, beside the same
#     loops built plain and with -fsanitize=thread (bench_sdk_raw.c);
#  2. the whole process's CPU time per event, every thread counted
#     (bench_sdk_cpu: producers + drain + sink, until cw_flush returns:
#     every event encoded, compressed and written), for 1, 2 and 8
#     recording threads; beside the same loop built raw and with TSan, and
#     with the whole process pinned to one core (the drain then shares the
#     producers' core, as in a busy service); the drain's share (everything
#     but the recording threads' own CPU) in its own column;
#  3. bounded clocks over many short tasks (bench_sdk_tasks), once.
# Instruction counts (repeatable on a noisy machine): bench_sdk_instr.sh.
# Usage: bench/bench_sdk.sh [BUILD_DIR] [TASKS] [RUNS]
#   ITERS (environment): iterations per bench_sdk_cpu run, split over the
#   threads [200000; 3 events each]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build}
TASKS=${2:-1000000}
RUNS=${3:-3}
ITERS=${ITERS:-200000}
CC=${CC:-cc}
cmake --build "$BUILD" --target bench_sdk_hotpath bench_sdk_cpu \
  bench_sdk_tasks >/dev/null
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# The same flags as the project's release build.
FLAGS="-O2 -g -std=c11 -pthread"
$CC $FLAGS "$HERE/bench_sdk_raw.c" -o "$TMP/raw"
$CC $FLAGS -fsanitize=thread "$HERE/bench_sdk_raw.c" -o "$TMP/raw_tsan"
$CC $FLAGS -DBENCH_RAW "$HERE/bench_sdk_cpu.c" -o "$TMP/cpu_raw"
$CC $FLAGS -DBENCH_RAW -fsanitize=thread "$HERE/bench_sdk_cpu.c" \
  -o "$TMP/cpu_tsan"
PIN=""
command -v taskset >/dev/null 2>&1 && PIN="taskset -c 0"

# key=value from a RESULT line
res() { awk -v k="$1" '$1 == "RESULT" { for (i = 2; i <= NF; i++) {
  split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$2"; }
get() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
# median [min-max] of the numbers on stdin
stat() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
  m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  printf "%.1f [%.1f-%.1f]", m, v[1], v[NR] }'; }
med() { sort -g | awk '{ v[NR] = $1 } END {
  print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
LOADS=""
run=1
while [ "$run" -le "$RUNS" ]; do
  LOADS="$LOADS $(cut -d' ' -f1 /proc/loadavg)"
  "$BUILD/bench/bench_sdk_hotpath" 300 >"$TMP/hot.$run"
  "$TMP/raw" 300 >"$TMP/raw.$run"
  "$TMP/raw_tsan" 300 >"$TMP/tsan.$run"
  for t in 1 2 8; do
    it=$((ITERS / t))
    "$BUILD/bench/bench_sdk_cpu" cw "$t" "$it" >"$TMP/cw.$t.$run"
    $PIN "$BUILD/bench/bench_sdk_cpu" cw "$t" "$it" >"$TMP/pin.$t.$run"
    "$TMP/cpu_raw" raw "$t" "$it" >"$TMP/craw.$t.$run"
    "$TMP/cpu_tsan" raw "$t" "$it" >"$TMP/ctsan.$t.$run"
  done
  run=$((run + 1))
done
all() { # all KEY FILEPREFIX: the RESULT value of every run
  for f in "$TMP/$2".*; do res "$1" "$f"; done
}
allget() { for f in "$TMP/$2".*; do get "$1" "$f"; done; }

echo "causeway SDK benchmark, $RUNS runs (median [min-max] of the runs)"
echo "load average (1, 5, 15 min) before: $LOAD0; at the start of each run:$LOADS; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "clock source: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)"
echo
cat "$TMP/hot.1" | grep -v '^RESULT'
echo
echo "per operation on the recording thread (wall ns, median of 300 batches)"
printf '  %-24s %20s %20s %20s\n' "" "raw" "causeway" "TSan"
printf '  %-24s %20s %20s %20s\n' "lock+unlock" \
  "$(allget raw_lock_ns raw | stat)" "$(all lock_ns hot | stat)" \
  "$(allget raw_lock_ns tsan | stat)"
printf '  %-24s %20s %20s %20s\n' "state access" \
  "$(allget raw_access_ns raw | stat)" "$(all access_ns hot | stat)" \
  "$(allget raw_access_ns tsan | stat)"
printf '  %-24s %20s %20s\n' "  (thread CPU)" "" "$(all access_cpu_ns hot | stat)"
printf '  %-24s %20s\n' "raw, 1-thread process" "$(all raw_lock_st_ns hot | stat)"
CW_L=$(all lock_ns hot | med)
CW_A=$(all access_ns hot | med)
TS_L=$(allget raw_lock_ns tsan | med)
RAW_L=$(allget raw_lock_ns raw | med)
awk -v c="$CW_L" -v t="$TS_L" -v r="$RAW_L" -v a="$CW_A" 'BEGIN {
  printf "  lock+unlock: causeway %.1f ns = %.2fx TSan (target <= 0.4x and <= 40 ns), %.1fx raw\n", c, c / t, c / r
  printf "  recorded access: %.1f ns (target <= 25 ns)\n", a }'
echo
echo "whole process CPU per event (ns; every thread: producers, drain, sink)"
printf '  %-8s %18s %18s %18s %18s %18s %9s\n' threads raw causeway \
  "(drain, sink)" "causeway 1 core" TSan dropped
for t in 1 2 8; do
  printf '  %-8s %18s %18s %18s %18s %18s %9s\n' "$t" \
    "$(all cpu_ns_per_event "craw.$t" | stat)" \
    "$(all cpu_ns_per_event "cw.$t" | stat)" \
    "$(all other_ns_per_event "cw.$t" | stat)" \
    "$(all cpu_ns_per_event "pin.$t" | stat)" \
    "$(all cpu_ns_per_event "ctsan.$t" | stat)" \
    "$( (all dropped "cw.$t"; all dropped "pin.$t") | sort -g | tail -1)"
done
echo "  (target: causeway <= 60 ns; drain and sink < 30 ns)"
echo "  with the recording threads' exit and cw_shutdown() in the span (freeing"
echo "  rings sized for the whole run: munmap time that follows the ring's size,"
echo "  not the number of events; the SDK's default ring is 256 KiB a thread):"
for t in 1 2 8; do
  printf '  %-8s %18s %18s\n' "$t" "" \
    "$(all cpu_ns_per_event_shutdown "cw.$t" | stat)"
done
printf '  voluntary context switches per run (causeway, 1 thread): %s; system time (ms): %s\n' \
  "$(all vcsw cw.1 | stat)" "$(all sys_ms cw.1 | stat)"
echo
"$BUILD/bench/bench_sdk_tasks" "$TASKS"
