#!/usr/bin/env bash
# `causeway check --server URL`: the CI gate on a running collector, end to
# end with real processes. The SDK's example program streams its events to
# causeway-server over HTTP (CAUSEWAY_ENDPOINT, with an API key), then the
# CLI gates on the collector's findings.
# usage: cli_server.sh CAUSEWAY CAUSEWAY_SERVER EXAMPLE_BALANCE
set -u
CW=$1 SERVER=$2 EXAMPLE=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/cw-srv-XXXXXX")
SPID=
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT INT TERM
fails=0 n=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() { # CODE DESCRIPTION CMD...
  want=$1 what=$2; shift 2
  n=$((n + 1))
  "$@" >"$T/out" 2>"$T/err"
  got=$?
  [ "$got" -eq "$want" ] || { fail "$what: exit $got, expected $want";
                              sed 's/^/  | /' "$T/out" "$T/err" | head -20; }
}
has() { # FILE PATTERN DESCRIPTION
  n=$((n + 1))
  grep -q -- "$2" "$1" || { fail "$3: '$2' missing"; sed 's/^/  | /' "$1" | head; }
}

"$SERVER" --listen 127.0.0.1:0 --data-dir "$T/data" --api-key s3cret \
  >"$T/server.log" 2>&1 &
SPID=$!
for _ in $(seq 100); do
  grep -q '^listening on' "$T/server.log" && break
  sleep 0.1
done
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$T/server.log")
[ -n "$PORT" ] || { echo "server did not start"; cat "$T/server.log"; exit 1; }
URL=http://127.0.0.1:$PORT

# A fresh collector has nothing to report.
expect 0 "empty collector passes" "$CW" check --server "$URL" --api-key s3cret
has "$T/out" "SUMMARY: causeway: .* 0 events" "empty summary"

# The example program streams its events over HTTP.
CAUSEWAY_ENDPOINT=$URL CAUSEWAY_API_KEY=s3cret CAUSEWAY_SERVICE=bank \
  CAUSEWAY_TRACE_FILE= "$EXAMPLE" >"$T/example.out" 2>&1 ||
  fail "example program failed: $(cat "$T/example.out")"

expect 1 "race found on the collector" \
  "$CW" check --server "$URL" --api-key s3cret
has "$T/out" "data race on 'account:alice.balance'" "alice's race in text"
n=$((n + 1))
grep -q "account:bob.balance" "$T/out" && fail "bob's guarded balance reported"

expect 1 "json report" "$CW" check --server "$URL" --api-key s3cret \
  --report json --output "$T/report.json"
n=$((n + 1))
python3 - "$T/report.json" <<'PY' || fail "json report content"
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
assert s["racy_variables"] == 1, s
assert s["events"] > 0, s
assert {g["variable"] for g in r["races"]} == {"account:alice.balance"}, r["races"]
PY

# The key may also come from the environment.
CAUSEWAY_API_KEY=s3cret expect 1 "key from CAUSEWAY_API_KEY" \
  "$CW" check --server "$URL"
expect 0 "--fail-on none" "$CW" check --server "$URL" --api-key s3cret \
  --fail-on none
expect 0 "--fail-on potential-deadlock only" "$CW" check --server "$URL" \
  --api-key s3cret --fail-on potential-deadlock

# Errors are exit 2 with a clear message.
expect 2 "wrong key" "$CW" check --server "$URL" --api-key wrong
has "$T/err" "refused the API key" "401 message"
expect 2 "sarif needs files" "$CW" check --server "$URL" --api-key s3cret \
  --report sarif
expect 2 "server and files together" "$CW" check --server "$URL" x.std
expect 2 "not a URL" "$CW" check --server "localhost:1"
kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=
expect 2 "collector unreachable" "$CW" check --server "$URL" --api-key s3cret

echo "$((n - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
