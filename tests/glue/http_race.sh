#!/usr/bin/env bash
# HTTP integration test: two civetweb services (api, ledger) and a client,
# three separate instrumented processes on loopback.
#  - alice: two concurrent transfers do a read-modify-write through HTTP
#    (api reads the balance from the ledger, writes balance+10 back):
#    a race naming both services.
#  - bob: the same under the api's named lock: no race.
#  - carol: two transfers one after the other, from unrelated client
#    actors; the ledger has a single worker thread, so both requests are
#    served by the same thread: still unordered, still a race.
#  - every user action's trace id (one per client request) reaches the
#    api and the ledger: trace ids flow end to end.
set -euo pipefail
source "$(dirname "$0")/glue_lib.sh"

start_service ledger ledger
start_service api api "$PORT_ledger"
client() {
  CAUSEWAY_TRACE_FILE=$W/client-$1.cwt "$BIN/glue_client" "$@"
}
client race "$PORT_api" alice
client locked "$PORT_api" bob
client sequential "$PORT_api" carol
stop_services

analyse "$W/report.json" "$W"/*.cwt
C="$BIN/glue_check $W/report.json"
$C race account:alice.balance api ledger
$C norace account:bob.balance
$C race account:carol.balance
"$BIN/glue_traces" client client,api,ledger "$W"/*.cwt
echo "http_race: ok"
