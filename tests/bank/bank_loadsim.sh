#!/usr/bin/env bash
# The load simulator, briefly, in safe mode against the real bank: it must
# run transfers (some rate limited and retried) and the ledger must hold:
# money conserved, no account negative.
source "$(dirname "$0")/bank_test_lib.sh"
LS=$BUILD/demo-bank/bank-loadsim
# A low rate limit (1 request/s per client, bursts of 1), so some requests
# get 429 and are retried even when a loaded machine serves few per second.
BANK_TXN_RATE=1 bank_start "$BUILD" "$W" free

set +e
"$LS" --transactions "$TRANSACTIONS_URL" --accounts "$ACCOUNTS_URL" \
  --clients 6 --seconds 3 --accounts-n 6 --no-progress >"$W/safe.txt" 2>&1
rc=$?
set -e
cat "$W/safe.txt"
check "safe load: exit 0 (ledger holds)" test $rc -eq 0
check "safe load: transfers succeeded" grep -Eq 'succeeded +[1-9][0-9]* ' "$W/safe.txt"
check "safe load: ledger ok, no negative account" \
  grep -q 'ledger          ok: total 600000 of 600000, 0 negative' "$W/safe.txt"
check "safe load: some requests rate limited (429) and retried" \
  grep -Eq 'retries +[1-9][0-9]*, rate limited \(429\) [1-9]' "$W/safe.txt"
check "safe load: percentiles reported" grep -q 'p50 .* ms, p90 .* ms, p99 .* ms' "$W/safe.txt"
finish
