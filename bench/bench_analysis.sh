#!/usr/bin/env bash
# Builds (Release) and runs the analysis engine benchmark: events/s and peak
# memory for 1 M and 10 M events, next to a generator-only baseline. Then,
# when the CLI is built, the same traces end to end as STD files through
# `causeway check` (parse + analyse), next to `wc -l` reading the file.
# Last, bench_analysis_scale: one variable accessed from N distinct
# locations, N = 17.5 K .. 140 K, next to N distinct variables.
# Usage: bench/bench_analysis.sh [EVENTS...]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build/bench-analysis}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DCW_BUILD_TESTS=OFF \
  -DCW_BUILD_BENCH=ON >/dev/null
cmake --build "$B" -j2 --target bench_analysis bench_analysis_scale \
  gen_trace >/dev/null
"$B/bench/bench_analysis" "$@"
echo
"$B/bench/bench_analysis_scale"

cmake --build "$B" -j2 --target causeway_cli >/dev/null 2>&1 || true
CW="$B/server/cli/causeway"
[ -x "$CW" ] || { echo "(CLI not built: STD end-to-end skipped)"; exit 0; }
[ -x /usr/bin/time ] || { echo "(/usr/bin/time missing: STD end-to-end skipped)"; exit 0; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
echo
echo "STD end to end (causeway check FILE.std), same generator:"
printf '%11s %12s %12s %12s %10s\n' events "wc -l s" "check s" "events/s" "peak MiB"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)
for ev in "${sizes[@]}"; do
  {
    "$B/bench/gen_trace" -n "$ev" -o "$T/t.std"
    /usr/bin/time -f '%e' -o "$T/wc" wc -l "$T/t.std" >/dev/null
    /usr/bin/time -f '%e %M' -o "$T/time" "$CW" check --fail-on none \
      "$T/t.std" >/dev/null 2>&1 || true
    read -r w < "$T/wc"
    read -r secs kb < "$T/time"
    awk -v n="$ev" -v w="$w" -v s="$secs" -v kb="$kb" \
      'BEGIN { printf "%11d %12.2f %12.2f %12.0f %10.1f\n", n, w, s, n / s, kb / 1024 }'
  }
done
