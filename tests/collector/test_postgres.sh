#!/usr/bin/env bash
# PostgreSQL store test of causeway-server: starts a throwaway PostgreSQL
# cluster (shared/setup.md), then two collectors sharing it. Native batches
# go to one, a Raceway lost update to the other; both must see every event
# and the race. A third collector with an empty data dir rebuilds the same
# findings from the database alone. Exits 77 (skipped) only when the
# PostgreSQL server binaries or root rights are missing.
# Usage: test_postgres.sh CAUSEWAY_SERVER CW_SEND LOST_UPDATE_JSON
set -euo pipefail
SERVER=$1 SEND=$2 LOST=$3
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ] || [ "$(id -u)" != 0 ] ||
   ! command -v runuser >/dev/null || ! id postgres >/dev/null 2>&1; then
  echo "SKIP: PostgreSQL server binaries (or root for runuser) not available"
  exit 77
fi
free_port() { # below the ephemeral range, so no outgoing socket holds it
  for p in $(seq $((20000 + RANDOM % 12000)) 32700); do
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo $p; return; fi
  done
}
D=$(mktemp -d); chown postgres:postgres "$D"
W=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$D/data" -m immediate -w stop \
    >/dev/null 2>&1 || true
  rm -rf "$D" "$W"
}
trap cleanup EXIT
runuser -u postgres -- "$PGBIN/initdb" -D "$D/data" -U postgres -A trust \
  --no-sync -E UTF8 --locale=C.UTF-8 >"$W/initdb.log" 2>&1
started=0
for attempt in 1 2 3 4 5; do # another test may take the port meanwhile
  PORT=$(free_port)
  if runuser -u postgres -- "$PGBIN/pg_ctl" -D "$D/data" -l "$D/log" -w \
    -t 30 -o "-p $PORT -k $D -c listen_addresses=127.0.0.1 -c fsync=off" \
    start >/dev/null; then
    started=1
    break
  fi
done
[ $started = 1 ] || { cat "$D/log"; echo "FAIL: PostgreSQL did not start"; exit 1; }
runuser -u postgres -- "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres \
  causeway_test
CONN="host=127.0.0.1 port=$PORT dbname=causeway_test user=postgres"

start() { # name -> sets URL_<name>
  local name=$1 dir=$W/$1
  mkdir -p "$dir"
  "$SERVER" --listen 127.0.0.1:0 --data-dir "$dir/data" --postgres "$CONN" \
    >"$dir/out" 2>"$dir/err" &
  PIDS+=($!)
  for _ in $(seq 200); do
    grep -q '^listening on' "$dir/out" 2>/dev/null && break
    sleep 0.05
  done
  local port
  port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$dir/out")
  [ -n "$port" ] || { cat "$dir/err"; echo "FAIL: $name did not start"; exit 1; }
  eval "URL_$name=http://127.0.0.1:$port"
}
summary() { curl -sS "$1/v1/summary"; }
events_of() { summary "$1" | sed -n 's/.*"events":\([0-9]*\).*/\1/p'; }
wait_events() { # url want
  for _ in $(seq 400); do
    [ "$(events_of "$1")" = "$2" ] && return 0
    sleep 0.05
  done
  echo "FAIL: $1 has $(events_of "$1") events, want $2"; exit 1
}

start a
start b
"$SEND" "$URL_a" 1 20 500 >/dev/null
"$SEND" "$URL_b" 2 10 500 >/dev/null
# A retried batch sent to the other collector is not stored twice.
"$SEND" "$URL_b" 1 1 500 5 >/dev/null
curl -sS -H 'Content-Type: application/json' --data-binary @"$LOST" \
  "$URL_b/events" | grep -q '"success":true'
WANT=$((30 * 500 + 4))
# Batch 5 of stream 1 went to both a (first) and b (retry). b may have
# analysed its own copy before it saw a's row; either way each collector
# counts it once.
wait_events "$URL_a" $WANT
wait_events "$URL_b" $WANT
sa=$(summary "$URL_a"); sb=$(summary "$URL_b")
[ "$sa" = "$sb" ] || { echo "FAIL: summaries differ: $sa / $sb"; exit 1; }
# The Raceway lost update went to b only; a sees its race through the DB.
curl -sS "$URL_a/v1/races?variable=bob.balance&severity=error" |
  grep -q '"total":1' || { echo "FAIL: a does not see the lost update"; exit 1; }
ver=$(runuser -u postgres -- "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres \
  -d causeway_test -tAc 'SELECT max(version) FROM causeway_schema')
[ "$ver" = 1 ] || { echo "FAIL: schema version '$ver'"; exit 1; }
rows=$(runuser -u postgres -- "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" \
  -U postgres -d causeway_test -tAc 'SELECT count(*) FROM causeway_batches')
[ "$rows" = 31 ] || { echo "FAIL: $rows rows, want 31"; exit 1; }
# A new collector with an empty data dir rebuilds everything from the DB.
start c
wait_events "$URL_c" $WANT
sc=$(summary "$URL_c")
[ "$sc" = "$sa" ] || { echo "FAIL: rebuilt summary differs: $sc"; exit 1; }
# Starting on an existing schema is quiet (no NOTICE from CREATE ... IF NOT
# EXISTS); b and c started after a had created it.
for n in a b c; do
  if grep -q NOTICE "$W/$n/err"; then
    cat "$W/$n/err"; echo "FAIL: collector $n printed a PostgreSQL NOTICE"; exit 1
  fi
done
echo "PASS: two collectors share every event through PostgreSQL"
