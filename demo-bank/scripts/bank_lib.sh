# Shell helpers to start and stop the demo bank (sourced by scripts/demo.sh
# and the bank's tests).
#
#   bank_start BUILD_DIR WORK_DIR [free]
#       Starts causeway-server (data in WORK_DIR/collector, unless
#       BANK_TRACING=0) and the five services (SQLite files in
#       WORK_DIR/data; accounts and transactions on PostgreSQL when BANK_PG
#       is set), each logging to WORK_DIR/<name>.log. With "free", every
#       process listens on a free port; else on the defaults (collector
#       7070, web 3000, accounts 7001, transactions 7002, notifications
#       7003, auth 7004). BANK_TXN_RATE sets the transactions service's
#       rate limit (requests per second per client). Sets COLLECTOR_URL, WEB_URL, ACCOUNTS_URL,
#       TRANSACTIONS_URL, NOTIFICATIONS_URL, AUTH_URL and BANK_PIDS.
#   bank_stop   SIGTERM everything bank_start started (the collector
#               last), and wait.
# Every process runs in a session of its own (setsid), so a Ctrl-C at the
# terminal reaches only the script, whose bank_stop then stops the services
# before the collector: their last batches still arrive.

BANK_PIDS=()

_bank_wait_port() { # file, name, log
  local i
  for i in $(seq 1 300); do
    [ -s "$1" ] && return 0
    sleep 0.05
  done
  echo "bank: $2 did not start; its log:" >&2
  tail -20 "$3" >&2 || true
  return 1
}

# _bank_service NAME PORT BIN_DIR WORK_DIR ARGS... -> sets the URL variable
_bank_service() {
  local name=$1 port=$2 bin=$3 work=$4
  shift 4
  rm -f "$work/$name.port"
  setsid "$bin/bank-$name" --port "$port" --port-file "$work/$name.port" \
    --data-dir "$work/data" "$@" 2>"$work/$name.log" &
  BANK_PIDS+=($!)
  _bank_wait_port "$work/$name.port" "$name" "$work/$name.log" || return 1
  printf -v "$(echo "$name" | tr a-z A-Z)_URL" 'http://127.0.0.1:%s' \
    "$(cat "$work/$name.port")"
}

bank_start() {
  local build=$1 work=$2 free=${3:-}
  local bin=$build/demo-bank server=$build/server/collector/causeway-server
  local p_col=7070 p_web=3000 p_acc=7001 p_txn=7002 p_not=7003 p_auth=7004
  if [ "$free" = free ]; then
    p_col=0 p_web=0 p_acc=0 p_txn=0 p_not=0 p_auth=0
  fi
  mkdir -p "$work/data"
  COLLECTOR_URL=""
  if [ "${BANK_TRACING:-1}" = 1 ]; then
    # --keep-events 1: the viewer's variable audit trails and critical path
    # need every access and span (about 90 bytes an access; a demo run
    # of all six scenarios records some 60k events).
    setsid "$server" --listen "127.0.0.1:$p_col" --data-dir "$work/collector" \
      --keep-events 1 >"$work/collector.log" 2>&1 &
    BANK_PIDS+=($!)
    local i line=""
    for i in $(seq 1 300); do
      line=$(grep -m1 -o 'listening on [0-9.:]*' "$work/collector.log" 2>/dev/null || true)
      [ -n "$line" ] && break
      sleep 0.05
    done
    if [ -z "$line" ]; then
      echo "bank: the collector did not start:" >&2
      cat "$work/collector.log" >&2
      return 1
    fi
    COLLECTOR_URL="http://${line#listening on }"
    export CAUSEWAY_ENDPOINT=$COLLECTOR_URL
    unset CAUSEWAY_DISABLED
  else
    unset CAUSEWAY_ENDPOINT
    export CAUSEWAY_DISABLED=1
  fi
  local pg=()
  [ -n "${BANK_PG:-}" ] && pg=(--pg "$BANK_PG")
  _bank_service accounts "$p_acc" "$bin" "$work" "${pg[@]}" || return 1
  _bank_service notifications "$p_not" "$bin" "$work" || return 1
  _bank_service auth "$p_auth" "$bin" "$work" || return 1
  local rate=()
  [ -n "${BANK_TXN_RATE:-}" ] && rate=(--rate-limit "$BANK_TXN_RATE")
  _bank_service transactions "$p_txn" "$bin" "$work" "${pg[@]}" "${rate[@]}" \
    --accounts "$ACCOUNTS_URL" --notifications "$NOTIFICATIONS_URL" ||
    return 1
  local col=()
  [ -n "$COLLECTOR_URL" ] && col=(--collector "$COLLECTOR_URL")
  _bank_service web "$p_web" "$bin" "$work" --accounts "$ACCOUNTS_URL" \
    --transactions "$TRANSACTIONS_URL" --notifications "$NOTIFICATIONS_URL" \
    --auth "$AUTH_URL" "${col[@]}" || return 1
}

bank_stop() {
  # The services first (they send their last events), then the collector.
  local p first=${BANK_PIDS[0]:-}
  for p in "${BANK_PIDS[@]:1}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${BANK_PIDS[@]:1}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$first" ]; then
    kill -TERM "$first" 2>/dev/null || true
    wait "$first" 2>/dev/null || true
  fi
  BANK_PIDS=()
}
