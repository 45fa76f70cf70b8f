#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster:
#   with_postgres.sh CMD [ARGS...]
# Starts a fresh cluster on 127.0.0.1 at a free port (initdb, pg_ctl),
# creates database causeway_test, exports
#   CW_PG_CONNINFO="host=127.0.0.1 port=P dbname=causeway_test user=postgres"
# runs the command, and always stops and deletes the cluster (trap EXIT).
# Exits 77 (CTest's SKIP_RETURN_CODE) only when the PostgreSQL server
# binaries are not installed. As root, the server runs as user postgres,
# because initdb refuses to run as root.
set -euo pipefail

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
  echo "SKIP: PostgreSQL server binaries not found (apt-get install postgresql)"
  exit 77
fi

AS=()
if [ "$(id -u)" -eq 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "SKIP: running as root but there is no postgres user"
    exit 77
  fi
  AS=(runuser -u postgres --)
fi

D=$(mktemp -d /tmp/cw-pg.XXXXXX)
[ ${#AS[@]} -gt 0 ] && chown postgres:postgres "$D"
STARTED=0
cleanup() {
  if [ $STARTED = 1 ]; then
    "${AS[@]}" "$PGBIN/pg_ctl" -D "$D/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$D"
}
trap cleanup EXIT

"${AS[@]}" "$PGBIN/initdb" -D "$D/data" -U postgres -A trust --no-sync \
  -E UTF8 --locale=C.UTF-8 >"$D/initdb.log" 2>&1 ||
  { cat "$D/initdb.log"; exit 1; }

# Pick a free port: let the kernel choose one, then let pg_ctl confirm it
# (retry when another process took it in between).
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo 55432
}
for attempt in 1 2 3 4 5; do
  PORT=$(free_port)
  if "${AS[@]}" "$PGBIN/pg_ctl" -D "$D/data" -l "$D/log" -w -t 30 \
      -o "-p $PORT -k $D -c listen_addresses=127.0.0.1 -c fsync=off" \
      start >/dev/null 2>&1; then
    STARTED=1
    break
  fi
done
if [ $STARTED = 0 ]; then
  echo "could not start PostgreSQL:"; cat "$D/log" 2>/dev/null || true
  exit 1
fi
"${AS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres causeway_test

export CW_PG_CONNINFO="host=127.0.0.1 port=$PORT dbname=causeway_test user=postgres"
set +e
"$@"
rc=$?
set -e
exit $rc
