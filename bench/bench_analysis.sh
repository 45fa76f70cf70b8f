#!/usr/bin/env bash
# Builds (Release) and runs the analysis engine benchmark: events/s and peak
# memory for 1 M and 10 M events, next to a generator-only baseline.
# Usage: bench/bench_analysis.sh [EVENTS...]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build/bench-analysis}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DCW_BUILD_TESTS=OFF \
  -DCW_BUILD_BENCH=ON >/dev/null
cmake --build "$B" -j2 --target bench_analysis gen_trace >/dev/null
"$B/bench/bench_analysis" "$@"
