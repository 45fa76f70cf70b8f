#!/usr/bin/env bash
# Builds (Release) and runs the HTTP glue benchmark: per-request overhead of
# the civetweb + libcurl glue next to the same requests uninstrumented (same
# run, alternating rounds), and the clock header size against the number of
# actors next to Raceway's header.
# Usage: bench/bench_http.sh [REQUESTS_PER_ROUND [ROUNDS]]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build/bench-http}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DCW_BUILD_TESTS=OFF \
  -DCW_BUILD_BENCH=ON -DCW_BUILD_SERVER=OFF >/dev/null
cmake --build "$B" -j2 --target bench_http >/dev/null
"$B/bench/bench_http" "$@"
