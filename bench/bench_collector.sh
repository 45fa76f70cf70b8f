#!/usr/bin/env bash
# Builds and runs the collector ingest benchmark (Release build).
# Usage: bench/bench_collector.sh [bench_collector args...]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build/bench-collector}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DCW_BUILD_TESTS=OFF >/dev/null
cmake --build "$B" -j2 --target bench_collector >/dev/null
"$B/bench/bench_collector" "$@"
