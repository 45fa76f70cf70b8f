# Shared shell helpers for the integration scripts in tests/glue (sourced).
# Every script gets: BIN (directory of the glue programs), CLI (the
# causeway CLI), a scratch directory $W removed on exit, and services it
# started are terminated on exit.

set -euo pipefail
BIN=${GLUE_BIN:?GLUE_BIN must name the directory of the glue programs}
CLI=${GLUE_CLI:?GLUE_CLI must name the causeway CLI}
W=$(mktemp -d /tmp/cw-glue.XXXXXX)
PIDS=()

glue_cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  if [ "${GLUE_KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap glue_cleanup EXIT

# start_service NAME ROLE [ARG]: starts glue_service, traced to $W/NAME.cwt,
# and sets the variable PORT_<NAME> once it listens.
start_service() {
  local name=$1 role=$2 arg=${3:-}
  CAUSEWAY_TRACE_FILE=$W/$name.cwt CAUSEWAY_SERVICE= \
    "$BIN/glue_service" "$role" "$W/$name.port" $arg 2>"$W/$name.log" &
  PIDS+=($!)
  for _ in $(seq 1 200); do
    [ -s "$W/$name.port" ] && break
    sleep 0.05
  done
  [ -s "$W/$name.port" ] || { echo "service $name did not start"; cat "$W/$name.log"; exit 1; }
  printf -v "PORT_$name" '%s' "$(cat "$W/$name.port")"
}

# stop_services: SIGTERM every service and wait (they flush their traces).
stop_services() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  local rc=0
  for p in "${PIDS[@]}"; do wait "$p" || rc=1; done
  PIDS=()
  cat "$W"/*.log 2>/dev/null || true
  return $rc
}

# analyse OUT FILES...: runs `causeway check --report json` into OUT.
analyse() {
  local out=$1
  shift
  set +e
  "$CLI" check --report json "$@" >"$out" 2>"$out.err"
  local rc=$?
  set -e
  if [ $rc -ge 2 ]; then
    echo "causeway check failed ($rc):"; cat "$out.err"; exit 1
  fi
  "$BIN/glue_check" "$out" summary
}
