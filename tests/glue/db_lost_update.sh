#!/usr/bin/env bash
# The lost update through a real database: two workers each move 10 into
# the same account.
#   db_lost_update.sh sqlite     SQLite file in a scratch directory
#   db_lost_update.sh pq         PostgreSQL (run under with_postgres.sh,
#                                which provides CW_PG_CONNINFO)
# Checks, each on its own trace:
#   unsafe, 2 threads (separate connections) -> race on accounts:X.balance
#   unsafe, 2 processes                      -> race (across processes)
#   safe (BEGIN IMMEDIATE / FOR UPDATE), 2 threads -> no race
#   atomic single statements (UPDATE ... SET balance = balance + 10 WHERE
#   id = ? AND balance >= 0), 2 threads and 2 processes -> no race: the
#   statement's read and write are under the row's lock
#   atomic statements mixed with an unsafe SELECT-then-UPDATE -> race
#   safe, 2 processes, ordered by the lock resource alone -> no race
#   safe, 2 processes, clocks carried through the database
#   (CAUSEWAY_DB_CLOCK_TABLE=1)                   -> no race
set -euo pipefail
source "$(dirname "$0")/glue_lib.sh"
KIND=$1
if [ "$KIND" = pq ]; then
  TARGET=${CW_PG_CONNINFO:?run me under with_postgres.sh}
else
  TARGET=$W/bank.db
fi
X=("$BIN/glue_dbxfer" "$KIND" "$TARGET")
C="$BIN/glue_check"

for acct in alice bob carol dave erin frank gina hank; do
  CAUSEWAY_TRACE_FILE=$W/init.cwt "${X[@]}" init $acct
done

# Two threads, auto-commit read-then-update: a lost update.
CAUSEWAY_TRACE_FILE=$W/unsafe.cwt "${X[@]}" unsafe alice 2
analyse "$W/unsafe.json" "$W/unsafe.cwt"
$C "$W/unsafe.json" race accounts:alice.balance

# The same from two processes: only the database connects them.
CAUSEWAY_TRACE_FILE=$W/p1.cwt "${X[@]}" unsafe bob 1 &
P1=$!
CAUSEWAY_TRACE_FILE=$W/p2.cwt "${X[@]}" unsafe bob 1
wait $P1
analyse "$W/procs.json" "$W/p1.cwt" "$W/p2.cwt"
$C "$W/procs.json" race accounts:bob.balance

# Row locks (FOR UPDATE) / the database lock (BEGIN IMMEDIATE): ordered.
CAUSEWAY_TRACE_FILE=$W/safe.cwt "${X[@]}" safe carol 2
analyse "$W/safe.json" "$W/safe.cwt"
$C "$W/safe.json" norace accounts:carol.balance

# Row-locked transfers in two processes, no clock table: the row-lock
# resource itself orders them (release -> acquire in the merged order).
CAUSEWAY_TRACE_FILE=$W/r1.cwt "${X[@]}" safe erin 1 &
P1=$!
CAUSEWAY_TRACE_FILE=$W/r2.cwt "${X[@]}" safe erin 1
wait $P1
analyse "$W/rprocs.json" "$W/r1.cwt" "$W/r2.cwt"
$C "$W/rprocs.json" norace accounts:erin.balance

# Row-locked transfers in two processes: the lock's clock travels through
# the database's causeway_clock table, so they are ordered too.
export CAUSEWAY_DB_CLOCK_TABLE=1
CAUSEWAY_TRACE_FILE=$W/s1.cwt "${X[@]}" safe dave 1 &
P1=$!
CAUSEWAY_TRACE_FILE=$W/s2.cwt "${X[@]}" safe dave 1
wait $P1
analyse "$W/sprocs.json" "$W/s1.cwt" "$W/s2.cwt"
$C "$W/sprocs.json" norace accounts:dave.balance
# One statement that reads and writes the row is atomic: no race between
# threads, nor between processes (ordered by the row-lock resource).
CAUSEWAY_TRACE_FILE=$W/atomic.cwt "${X[@]}" atomic frank 3
analyse "$W/atomic.json" "$W/atomic.cwt"
$C "$W/atomic.json" norace accounts:frank.balance
# ...because it was recorded as a locked read and write, not left out.
"$CLI" dump "$W/atomic.cwt" >"$W/atomic.txt"
for want in " read [a-z ]*accounts:frank.balance " \
  " write [a-z ]*accounts:frank.balance " \
  " lock_acquired db:[^ ]*:accounts:frank " " lock_release db:[^ ]*:accounts:frank "; do
  grep -q "$want" "$W/atomic.txt" || { echo "FAIL: no '$want' in the atomic trace"; exit 1; }
done
CAUSEWAY_TRACE_FILE=$W/a1.cwt "${X[@]}" atomic gina 2 &
P1=$!
CAUSEWAY_TRACE_FILE=$W/a2.cwt "${X[@]}" atomic gina 2
wait $P1
analyse "$W/aprocs.json" "$W/a1.cwt" "$W/a2.cwt"
$C "$W/aprocs.json" norace accounts:gina.balance

# Atomic statements in one process, an unsafe read-then-update in another:
# the unsafe SELECT reads outside the row lock, so it still races.
CAUSEWAY_TRACE_FILE=$W/m1.cwt "${X[@]}" atomic hank 2 &
P1=$!
CAUSEWAY_TRACE_FILE=$W/m2.cwt "${X[@]}" unsafe hank 2
wait $P1
analyse "$W/mixed.json" "$W/m1.cwt" "$W/m2.cwt"
$C "$W/mixed.json" race accounts:hank.balance
echo "db_lost_update $KIND: ok"
