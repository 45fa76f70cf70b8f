#!/usr/bin/env bash
# The demo (README command 1): installs missing Debian packages, builds
# causeway and the demo bank, starts the collector and the five bank
# services (SQLite files, seed data), runs each of the six concurrency
# scenarios once in safe and once in unsafe mode, prints what happened and
# what causeway found, then keeps serving the bank and the viewer until
# Ctrl-C.
#
#   scripts/demo.sh          run, print, keep serving
#   scripts/demo.sh --once   run, print, stop; exit 0 only when every run
#                            was as expected (unsafe flagged, safe clean)
#
# Output: build/demo-out/ (emptied first): scenarios.json (one object per
# run), collector/ (the collector's data: `causeway-server --data-dir
# build/demo-out/collector` serves these findings again), data/ (the bank's
# SQLite files) and one log per process. The default ports are 3000 (bank),
# 7001-7004 (services) and 7070 (collector and viewer); when one is taken,
# every process takes a free port instead, and the URLs printed say which.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ONCE=0
case "${1:-}" in
--once) ONCE=1 ;;
"") ;;
*)
  echo "usage: scripts/demo.sh [--once]" >&2
  exit 2
  ;;
esac

bash scripts/install-deps.sh
mkdir -p build

echo "==> building (build/demo)"
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCW_BUILD_TESTS=OFF -DCW_BUILD_BENCH=OFF >build/demo.configure.log 2>&1 ||
  { cat build/demo.configure.log; exit 1; }
cmake --build build/demo -j"$(nproc)" >build/demo.build.log 2>&1 ||
  { tail -40 build/demo.build.log; exit 1; }
BIN=build/demo/demo-bank
if [ ! -x "$BIN/bank-web" ]; then
  echo "the demo bank was not built; see build/demo.configure.log" >&2
  exit 1
fi

OUT=$ROOT/build/demo-out
rm -rf "$OUT"
mkdir -p "$OUT"

# shellcheck source=../demo-bank/scripts/bank_lib.sh
source demo-bank/scripts/bank_lib.sh
SLEEPER=""
trap 'bank_stop; [ -z "$SLEEPER" ] || kill "$SLEEPER" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
FREE=""
for p in 7070 3000 7001 7002 7003 7004; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    FREE=free
    echo "(port $p is taken: every process takes a free port instead)"
    break
  fi
done
echo "==> starting the collector and the bank (logs in build/demo-out/)"
bank_start build/demo "$OUT" $FREE
"$BIN/bank-cli" --web "$WEB_URL" reset >/dev/null

echo "==> running the six scenarios, safe then unsafe (about a minute)"
set +e
"$BIN/bank-cli" --web "$WEB_URL" all --out "$OUT/scenarios.json"
rc=$?
set -e
echo
echo "results:   build/demo-out/scenarios.json"
echo "bank:      $WEB_URL/  (log in as alice / alice-password)"
echo "admin:     $WEB_URL/admin.html  (run scenarios, change the knobs)"
echo "viewer:    $COLLECTOR_URL/  (every finding of the runs above)"
echo "cli:       $BIN/bank-cli --web $WEB_URL run 1 unsafe"
if [ $ONCE = 1 ]; then
  exit $rc
fi
echo
echo "serving until Ctrl-C"
# `wait` returns as soon as a signal arrives (a foreground sleep would
# delay the traps until it ended).
while :; do
  sleep 3600 &
  SLEEPER=$!
  wait "$SLEEPER" || true
done
