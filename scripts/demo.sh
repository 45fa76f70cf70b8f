#!/usr/bin/env bash
# The demo: installs missing Debian packages, builds causeway, runs the
# example bank program (an unlocked read-modify-write of alice's balance and
# a mutex-guarded one of bob's), then shows the trace file and what the
# analysis finds in it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/install-deps.sh

echo "==> building (build/demo)"
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCW_BUILD_TESTS=OFF -DCW_BUILD_BENCH=OFF >build/demo.configure.log 2>&1 ||
  { cat build/demo.configure.log; exit 1; }
cmake --build build/demo -j"$(nproc)" >build/demo.build.log 2>&1 ||
  { tail -40 build/demo.build.log; exit 1; }

OUT=${CAUSEWAY_DEMO_DIR:-$ROOT/build/demo-out}
mkdir -p "$OUT"
TRACE=$OUT/balance.cwt
rm -f "$TRACE"

echo "==> running the example program"
CAUSEWAY_SERVICE=bank CAUSEWAY_TRACE_FILE=$TRACE \
  build/demo/sdk/cw_example_balance

echo
echo "==> trace written to $TRACE ($(stat -c %s "$TRACE") bytes, LZ4 frames)"
CLI=build/demo/server/cli/causeway
if [ -x "$CLI" ]; then
  echo "==> first events (causeway dump):"
  "$CLI" dump "$TRACE" >"$OUT/balance.dump"
  head -n 25 "$OUT/balance.dump"
  echo "    ... $(grep -c . "$OUT/balance.dump") lines in all ($OUT/balance.dump)"
  echo
  echo "==> analysis (causeway check):"
  set +e
  "$CLI" check "$TRACE"
  rc=$?
  set -e
  echo
  echo "causeway check exited $rc (1 = races found, as expected: alice's"
  echo "balance is updated without a lock; bob's is guarded and stays clean)."
else
  echo "(the causeway CLI is not built yet; the raw trace decompresses with"
  echo " 'lz4 -dc $TRACE | xxd | head')"
fi
