#!/usr/bin/env bash
# A distributed deadlock, detected live by the collector.
# Services A and B each hold their named lock ("lock:A", "lock:B") while
# calling the other's /inner, which waits for that other lock. With wait
# edges on (CAUSEWAY_HTTP_WAITS), each request task holds its call's
# "http-call:<span>" resource and each slow caller requests it, so the
# wait-for graph closes:
#   A/outer -> http-call -> B/inner -> lock:B -> B/outer -> http-call ->
#   A/inner -> lock:A -> A/outer
# While the requests are blocked (the outer calls time out after 3 s and
# unwedge everything), the script asks the collector (GET /v1/findings)
# and expects an active actual deadlock naming both locks and both
# services. Afterwards it checks that the collector grouped each user
# action (trace id) across the client and both services.
set -euo pipefail
source "$(dirname "$0")/glue_lib.sh"
SERVER=${GLUE_SERVER:?GLUE_SERVER must name causeway-server}

"$SERVER" --listen 127.0.0.1:0 --data-dir "$W/data" >"$W/server.out" \
  2>"$W/server.log" &
COLLECTOR=$!
trap 'glue_cleanup; kill -TERM $COLLECTOR 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q '^listening on' "$W/server.out" 2>/dev/null && break
  sleep 0.05
done
ADDR=$(sed -n 's/^listening on //p' "$W/server.out")
[ -n "$ADDR" ] || { echo "collector did not start"; cat "$W/server.log"; exit 1; }
# GLUE_HTTP_WAITS: the wait threshold in ms (200 by default; the
# glue_http_deadlock_100 test uses 100, below the SDK's 200 ms flush
# interval, so a caller's wait often reaches the collector before the
# callee's batch with the lock it waits for: the cycle must be found in
# either order).
export CAUSEWAY_ENDPOINT=http://$ADDR CAUSEWAY_HTTP_WAITS=${GLUE_HTTP_WAITS:-200}
export GLUE_CALL_TIMEOUT_MS=3000

start_service A peer A
start_service B peer B
"$BIN/glue_client" deadlock "$PORT_A" "$PORT_B" 2>"$W/client.log" &
CLIENT=$!

found=0
for _ in $(seq 1 25); do
  sleep 0.1
  if "$BIN/glue_client" fetch "http://$ADDR/v1/findings" "$W/live.json" &&
     "$BIN/glue_check" "$W/live.json" deadlock lock:A lock:B A B \
       >"$W/check.out"; then
    found=1
    break
  fi
done
cat "$W/check.out" 2>/dev/null || true
wait $CLIENT || { echo "client failed:"; cat "$W/client.log"; exit 1; }
cat "$W/client.log"
[ $found = 1 ] || { echo "no live deadlock reported"; cat "$W/live.json"; exit 1; }
stop_services # they flush to the collector first
# The checks below are not traced.
unset CAUSEWAY_ENDPOINT CAUSEWAY_HTTP_WAITS
# Each client request is one user action: the collector groups its events
# across the client and both services under one trace id.
"$BIN/glue_client" fetch "http://$ADDR/v1/traces" "$W/traces.json"
"$BIN/glue_check" "$W/traces.json" traces 2 client,A,B
# The Chrome Trace Event export of each trace is valid (processes, threads
# under their own service, nesting, paired flow arrows for the HTTP calls).
for id in $(python3 -c 'import json,sys; print(" ".join(t["trace_id"] for t in json.load(open(sys.argv[1]))["items"]))' "$W/traces.json"); do
  "$BIN/glue_client" fetch "http://$ADDR/v1/traces/$id/chrome" "$W/chrome-$id.json"
  python3 "$(dirname "$0")/../collector/chrome_trace_check.py" "$W/chrome-$id.json" 2
done
# Each actor counts under its own service, and the calls between the
# services are listed (the client called A and B; A and B called each other).
"$BIN/glue_client" fetch "http://$ADDR/v1/services" "$W/services.json"
"$BIN/glue_check" "$W/services.json" calls 'A>B,B>A'
# /v1/summary and /v1/findings have exactly the CLI report's summary keys.
"$BIN/glue_client" fetch "http://$ADDR/v1/summary" "$W/summary.json"
"$BIN/glue_client" fetch "http://$ADDR/v1/findings" "$W/findings.json"
printf 'T1|w(x)|a.c:1\n' >"$W/one.std"
"$CLI" check --report json --fail-on none "$W/one.std" >"$W/cli.json"
keys() { python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))["summary"]))' "$1"; }
[ "$(keys "$W/summary.json")" = "$(keys "$W/cli.json")" ] ||
  { echo "summary keys differ: $(keys "$W/summary.json") vs $(keys "$W/cli.json")"; exit 1; }
[ "$(keys "$W/findings.json")" = "$(keys "$W/cli.json")" ] ||
  { echo "findings keys differ"; exit 1; }
kill -TERM $COLLECTOR
wait $COLLECTOR
# The cycle was reported while it lasted (active), not after the fact.
grep -q '"active": *true' "$W/live.json" || { echo "deadlock not active"; exit 1; }
echo "http_deadlock: ok"
