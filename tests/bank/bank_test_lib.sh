# Shared by the bank's end-to-end tests (sourced): starts the collector and
# the five services on free ports in a scratch directory, stops them on
# exit, and offers small assertion helpers.
#   BANK_BUILD  the build directory (with demo-bank/ and server/)
set -euo pipefail
BUILD=${BANK_BUILD:?BANK_BUILD must name the build directory}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLI=$BUILD/demo-bank/bank-cli
W=$(mktemp -d /tmp/cw-bank.XXXXXX)
# shellcheck source=../../demo-bank/scripts/bank_lib.sh
source "$SRC/demo-bank/scripts/bank_lib.sh"
FAILS=0

bank_test_cleanup() {
  bank_stop
  if [ $FAILS -ne 0 ] || [ "${BANK_KEEP:-0}" = 1 ]; then
    for f in "$W"/*.log; do echo "--- $f"; tail -15 "$f"; done
  fi
  [ "${BANK_KEEP:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"
}
trap bank_test_cleanup EXIT

ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}
# jcheck DESCRIPTION JSON JQ_EXPR: passes when the expression is true
jcheck() {
  if [ "$(jq -r "$3" <<<"$2" 2>/dev/null)" = true ]; then ok "$1"; else
    fail "$1"
    echo "     expression: $3"
    jq -c . <<<"$2" | cut -c1-1500
  fi
}
finish() {
  if [ $FAILS -ne 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
  echo "all checks passed"
}
