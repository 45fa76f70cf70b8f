#!/usr/bin/env bash
# Bad input against every service: each row of the table below is sent as
# a real HTTP request and must get the given status with a JSON
# {"error": ...} body; then checks that refused or failed money movements
# changed nothing (no half-applied transfer), and that the same
# idempotency key is processed once.
source "$(dirname "$0")/bank_test_lib.sh"
BANK_TRACING=0 bank_start "$BUILD" "$W" free

# status SERVICE_URL METHOD PATH [BODY] [HEADER]: prints the status; the
# body goes to $W/reply.
status() {
  local args=(-sS -o "$W/reply" -w '%{http_code}' -X "$2" "$1$3")
  [ -n "${4:-}" ] && args+=(--data-binary "$4" -H 'Content-Type: application/json')
  [ -n "${5:-}" ] && args+=(-H "$5")
  curl "${args[@]}"
}

# service | method | path | body | expected status
TABLE=$(cat <<'ROWS'
accounts|GET|/accounts/abc||400
accounts|GET|/accounts/0||400
accounts|GET|/accounts/-3||400
accounts|GET|/accounts/999999||404
accounts|PATCH|/accounts/1/balance|{"delta":-1.5}|400
accounts|PATCH|/accounts/1/balance|{"delta":"100"}|400
accounts|PATCH|/accounts/1/balance|{"delta":0}|400
accounts|PATCH|/accounts/1/balance|{"delta":99999999999999999999999}|400
accounts|PATCH|/accounts/1/balance|{"delta":-100000000000000}|400
accounts|PATCH|/accounts/1/balance|{"balance":-5}|400
accounts|PATCH|/accounts/1/balance|{"delta":5,"balance":5}|400
accounts|PATCH|/accounts/1/balance|{}|400
accounts|PATCH|/accounts/1/balance|{"delta":5,"mode":"fast"}|400
accounts|PATCH|/accounts/1/balance|{bad json|400
accounts|PATCH|/accounts/1/balance|[1,2]|400
accounts|PATCH|/accounts/999999/balance|{"delta":5}|404
accounts|PATCH|/accounts/1/balance|{"delta":-999999999999}|409
accounts|POST|/accounts|{"user_id":-1}|400
accounts|POST|/accounts|{"user_id":1,"balance":1.5}|400
accounts|POST|/accounts/1/lock|{}|400
accounts|POST|/accounts/1/lock|{"owner":"t","timeout_ms":-1}|400
accounts|POST|/accounts/999999/lock|{"owner":"t"}|404
accounts|POST|/accounts/1/unlock|{"owner":"nobody"}|409
accounts|DELETE|/accounts/1||405
accounts|GET|/no/such/route||404
transactions|POST|/transactions/transfer|{"from":1,"to":3,"amount":100}|400
transactions|POST|/transactions/transfer|{"from":1,"to":3,"amount":-100,"idempotency_key":"b1"}|400
transactions|POST|/transactions/transfer|{"from":1,"to":3,"amount":0,"idempotency_key":"b2"}|400
transactions|POST|/transactions/transfer|{"from":1,"to":3,"amount":1.5,"idempotency_key":"b3"}|400
transactions|POST|/transactions/transfer|{"from":1,"to":3,"amount":"100","idempotency_key":"b4"}|400
transactions|POST|/transactions/transfer|{"from":1,"to":3,"amount":10000000000000,"idempotency_key":"b5"}|400
transactions|POST|/transactions/transfer|{"from":1,"to":3,"amount":99999999999999999999999,"idempotency_key":"b6"}|400
transactions|POST|/transactions/transfer|{"from":1,"to":1,"amount":100,"idempotency_key":"b7"}|400
transactions|POST|/transactions/transfer|{"from":"1","to":3,"amount":100,"idempotency_key":"b8"}|400
transactions|POST|/transactions/transfer|{"from":1,"to":3,"amount":100,"idempotency_key":""}|400
transactions|POST|/transactions/transfer|not json|400
transactions|POST|/transactions/transfer|{"from":999999,"to":3,"amount":100,"idempotency_key":"b9"}|404
transactions|POST|/transactions/deposit|{"account":1,"amount":-1,"idempotency_key":"b10"}|400
transactions|GET|/transactions/abc||400
transactions|GET|/transactions/999999||404
transactions|GET|/transactions/feed?after=x||400
transactions|POST|/transactions/999999/rollback||409
notifications|POST|/notifications|{}|400
notifications|POST|/notifications|{"user_id":"x","message":"hi"}|400
notifications|POST|/notifications|{"user_id":1,"message":""}|400
notifications|POST|/notifications|{"user_id":1,"message":"hi","mode":"fast"}|400
notifications|POST|/notifications|{"user_id":1,"message":"hi","delay_ms":99999}|400
notifications|GET|/notifications/abc/deliveries||400
auth|POST|/auth/login|{"username":"alice","password":"wrong-password"}|401
auth|POST|/auth/login|{"username":"nobody","password":"whatever-pw"}|401
auth|POST|/auth/login|{"username":"alice"}|400
auth|POST|/auth/verify|{"token":"not-a-token"}|401
auth|POST|/auth/verify|{"token":"1.00000000000000000000000000000000.99999999999.00"}|401
auth|POST|/auth/users|{"username":"zed","password":"short"}|400
auth|POST|/auth/users|{"username":"alice","password":"long-enough-pw"}|409
auth|GET|/auth/sessions/abc||400
web|GET|/api/accounts||401
web|POST|/admin/api/settings|{"delay_ms":-5}|400
web|POST|/admin/api/settings|{"safe":{"9":true}}|400
web|POST|/admin/api/settings|{"barrier":"yes"}|400
web|POST|/admin/api/scenarios/9/run|{}|404
web|POST|/admin/api/scenarios/1/run|{"mode":"fast"}|400
ROWS
)

while IFS='|' read -r svc method path body want; do
  [ -z "$svc" ] && continue
  var="$(echo "$svc" | tr a-z A-Z)_URL"
  got=$(status "${!var}" "$method" "$path" "$body")
  if [ "$got" = "$want" ] && jq -e '.error | type == "string"' "$W/reply" >/dev/null 2>&1; then
    ok "$svc $method $path ${body:0:40} -> $got $(jq -c .error "$W/reply")"
  else
    fail "$svc $method $path $body: want $want with a JSON error, got $got: $(head -c 200 "$W/reply")"
  fi
done <<<"$TABLE"

bal() { curl -sS "$ACCOUNTS_URL/accounts/$1" | jq .balance; }

# Refused and failed transfers change nothing.
a1=$(bal 1) a3=$(bal 3)
status "$TRANSACTIONS_URL" POST /transactions/transfer \
  '{"from":1,"to":999999,"amount":500,"idempotency_key":"half-1"}' >/dev/null
check "unknown destination: 404, source refunded (nothing half-applied)" \
  test "$(jq -r .status "$W/reply")-$(bal 1)" = "failed-$a1"
status "$TRANSACTIONS_URL" POST /transactions/transfer \
  '{"from":4,"to":1,"amount":999999999,"idempotency_key":"half-2"}' >/dev/null
check "insufficient funds: 409, balances unchanged" \
  test "$(bal 1)-$(bal 4)" = "$a1-90000"

# The same idempotency key is processed once and answers the same.
s1=$(status "$TRANSACTIONS_URL" POST /transactions/transfer \
  '{"from":1,"to":3,"amount":700,"idempotency_key":"once-1"}')
id1=$(jq .id "$W/reply")
s2=$(status "$TRANSACTIONS_URL" POST /transactions/transfer \
  '{"from":1,"to":3,"amount":700,"idempotency_key":"once-1"}')
id2=$(jq .id "$W/reply")
replayed=$(jq .replayed "$W/reply")
check "same key twice: same answer, marked replayed" test "$s1-$s2-$id1-$replayed" = "200-200-$id2-true"
check "same key twice: debited once" test "$(bal 1)-$(bal 3)" = "$((a1 - 700))-$((a3 + 700))"
s3=$(status "$TRANSACTIONS_URL" POST /transactions/transfer \
  '{"from":1,"to":3,"amount":701}' "Idempotency-Key: once-1")
check "same key, different request: 422" test "$s3" = 422
s4=$(status "$TRANSACTIONS_URL" POST "/transactions/$id1/rollback")
s5=$(status "$TRANSACTIONS_URL" POST "/transactions/$id1/rollback")
check "rollback once (200), not twice (409); balances restored" \
  test "$s4-$s5-$(bal 1)-$(bal 3)" = "200-409-$a1-$a3"

# Tokens: a valid one verifies; a tampered one does not; logout ends it.
status "$AUTH_URL" POST /auth/login '{"username":"bob","password":"bob-password"}' >/dev/null
tok=$(jq -r .token "$W/reply")
check "a fresh token verifies" test "$(status "$AUTH_URL" POST /auth/verify "{\"token\":\"$tok\"}")" = 200
bad="${tok%?}$( [ "${tok: -1}" = 0 ] && echo 1 || echo 0)"
check "a tampered token is refused" test "$(status "$AUTH_URL" POST /auth/verify "{\"token\":\"$bad\"}")" = 401
check "web: the user's accounts with the token" \
  test "$(status "$WEB_URL" GET /api/accounts '' "Authorization: Bearer $tok")" = 200
check "web: another user's account is refused (403)" \
  test "$(status "$WEB_URL" POST /api/transfer '{"from":1,"to":3,"amount":5,"idempotency_key":"w1"}' "Authorization: Bearer $tok")" = 403
check "web: a wrong token is refused (401)" \
  test "$(status "$WEB_URL" GET /api/accounts '' "Authorization: Bearer $bad")" = 401
status "$AUTH_URL" POST /auth/logout "{\"token\":\"$tok\"}" >/dev/null
check "after logout the token is refused" test "$(status "$AUTH_URL" POST /auth/verify "{\"token\":\"$tok\"}")" = 401

# Reset puts every service back to the seed data.
status "$ACCOUNTS_URL" PATCH /accounts/1/balance '{"delta":-12345}' >/dev/null
"$CLI" --web "$WEB_URL" reset >/dev/null
check "reset: seed balances back" test "$(bal 1)-$(bal 4)" = "250000-90000"
check "reset: seed logins work" \
  test "$(status "$AUTH_URL" POST /auth/login '{"username":"carol","password":"carol-password"}')" = 200

# Every service: /health, and /metrics in the Prometheus text format.
for svc in ACCOUNTS TRANSACTIONS NOTIFICATIONS AUTH WEB; do
  url="${svc}_URL"
  check "$svc /health" test "$(status "${!url}" GET /health)" = 200
  curl -sS "${!url}/metrics" >"$W/metrics.txt"
  check "$svc /metrics has request counters" grep -q '^bank_http_requests_total{' "$W/metrics.txt"
  if command -v promtool >/dev/null 2>&1; then
    check "$svc /metrics passes promtool check metrics" \
      bash -c "promtool check metrics <'$W/metrics.txt' >/dev/null 2>&1"
  fi
done
finish
