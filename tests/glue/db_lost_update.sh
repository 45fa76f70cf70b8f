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

for acct in alice bob carol dave erin; do
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
echo "db_lost_update $KIND: ok"
