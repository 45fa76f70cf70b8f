#!/usr/bin/env bash
# Potential-deadlock benchmark: `causeway check` (two passes, exact
# potential deadlocks, docs/detection.md 4.3) next to the same events
# through the race checker alone (bench_dl_race: parse, happens-before,
# races, contention, lock graph; no deadlock search), three runs each:
# wall time, user CPU time (steadier than wall time on a shared machine),
# peak RSS, and the check / race-checker ratio of wall times. The load
# average is printed before each trace: compare figures taken at a
# similar load. Traces come from bench/gen_dl_trace (seeded):
#   nested  16 threads, 64 locks, nested sections of 2..3 locks in lock
#           order, gate locks, hand-offs, 4 inverted code paths taken
#           0.2% of the time (3 of their cycles are potential deadlocks);
#   rows    16 threads, 100 000 distinct row locks (db:row:N), sections of
#           2 rows, half of them among 64 hot rows, 4 inverted paths.
# Usage: bench/bench_deadlock.sh [RUNS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
B=${BUILD_DIR:-build/bench-analysis}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DCW_BUILD_TESTS=OFF \
  -DCW_BUILD_BENCH=ON >/dev/null
cmake --build "$B" -j2 --target causeway_cli gen_dl_trace bench_dl_race \
  >/dev/null
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (GNU time)"; exit 1; }
CW="$B/server/cli/causeway"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# name events generator-options...
traces=(
  "nested 200000 -t 16 -l 64 -d 3 -I 4 -i 2 -s 1"
  "nested 2000000 -t 16 -l 64 -d 3 -I 4 -i 2 -s 1"
  "nested 10000000 -t 16 -l 64 -d 3 -I 4 -i 2 -s 1"
  "rows 2000000 -t 16 -l 100000 -H 64 -d 2 -I 4 -i 2 -p db:row: -s 2"
)
printf '%-7s %9s %8s %4s | %7s %7s %8s | %7s %7s %8s | %5s | %s\n' \
  trace events locks run "race s" "user s" "race MiB" "check s" "user s" \
  "chk MiB" "ratio" "potential deadlocks (exact)"
for t in "${traces[@]}"; do
  read -r name ev opts <<<"$t"
  # shellcheck disable=SC2086
  "$B/bench/gen_dl_trace" -n "$ev" $opts -o "$T/t.std"
  nlocks=$(grep -o 'acq([^)]*)' "$T/t.std" | sort -u | wc -l)
  echo "# $(uptime)"
  for r in $(seq 1 "$RUNS"); do
    /usr/bin/time -f '%e %U %M' -o "$T/race" "$B/bench/bench_dl_race" \
      "$T/t.std" >/dev/null
    TMPDIR="$T" /usr/bin/time -f '%e %U %M' -o "$T/check" "$CW" check \
      --fail-on none --report json --output "$T/r.json" "$T/t.std"
    read -r rs ru rkb <"$T/race"
    read -r cs cu ckb <"$T/check"
    res=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print(s["potential_deadlocks"], "(exact)" if s["exact"] else "(NOT exact)")' "$T/r.json")
    awk -v n="$name" -v ev="$ev" -v l="$nlocks" -v r="$r" -v rs="$rs" \
      -v ru="$ru" -v rkb="$rkb" -v cs="$cs" -v cu="$cu" -v ckb="$ckb" \
      -v res="$res" 'BEGIN {
        printf "%-7s %9d %8d %4d | %7.2f %7.2f %8.1f | %7.2f %7.2f %8.1f |",
          n, ev, l, r, rs, ru, rkb / 1024, cs, cu, ckb / 1024
        printf " %5.2f | %s\n", (rs > 0 ? cs / rs : 0), res }'
  done
done
