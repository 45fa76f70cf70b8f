#!/bin/sh
# report_standards: the CLI's and the collector's outputs against each
# standard's own validator:
#   - SARIF 2.1.0: the OASIS JSON schema (python3-jsonschema) plus GitHub
#     code scanning's extra rules (tests/cli/sarif_check.py), on every
#     finding kind, from STD, native and Raceway inputs and from `run`;
#   - JUnit: Jenkins' junit-10.xsd (xmllint), and the report agrees with the
#     exit code (failures only when the gate fails);
#   - Prometheus: `promtool check metrics` on a live collector's /metrics,
#     fed by the SDK example with CAUSEWAY_ENDPOINT and CAUSEWAY_TRACE_FILE
#     both set (both must receive the events);
#   - the text report escapes control bytes and says when input is missing
#     or truncated.
# usage: standards.sh CAUSEWAY CWT_GEN SOURCE_DIR SERVER EXAMPLE
set -u
CW=$1 GEN=$2 SRC=$3 SERVER=$4 EXAMPLE=$5
FIX=$SRC/tests/fixtures
DATA=$SRC/tests/data
for tool in xmllint promtool python3 curl; do
  command -v $tool >/dev/null || { echo "report_standards: $tool missing (scripts/install-deps.sh)"; exit 1; }
done
python3 -c 'import jsonschema' || { echo "report_standards: python3-jsonschema missing"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/cw-std-XXXXXX")
SPID=
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT INT TERM
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

# ---- inputs: every finding kind, each input format
mkdir -p "$T/in"
for c in native-race native-truncated native-anomalies; do
  "$GEN" "$DATA/$c/trace.cwspec" "$T/in/$c.cwt" || fail "cwt_gen $c"
done
for c in native-cross-service-deadlock native-two-processes; do
  for p in a b; do
    "$GEN" "$DATA/$c/$p.cwspec" "$T/in/$c-$p.cwt" || fail "cwt_gen $c/$p"
  done
done
INPUTS="$DATA/std-lost-update/trace.std $DATA/std-abba/trace.std
$DATA/std-actual-deadlock/trace.std $DATA/std-three-cycle/trace.std
$DATA/std-safe-transfer/trace.std $DATA/std-non-utf8/trace.std
$DATA/raceway-lost-update/batch.json $DATA/raceway-two-services/a-orders.json
$T/in/native-race.cwt $T/in/native-anomalies.cwt $T/in/native-cross-service-deadlock-a.cwt
$T/in/native-two-processes-a.cwt"
# A native trace from the real SDK: FILE:LINE locations below the source tree.
CAUSEWAY_TRACE_FILE=$T/in/balance.cwt "$EXAMPLE" >/dev/null || fail "example"
INPUTS="$INPUTS $T/in/balance.cwt"

# ---- SARIF
i=0
for f in $INPUTS; do
  [ -f "$f" ] || { fail "missing input $f"; continue; }
  i=$((i + 1))
  "$CW" check --report sarif --fail-on none --source-root "$SRC" \
    --output "$T/s$i.sarif" "$f" 2>"$T/err" || { cat "$T/err"; fail "sarif of $f"; }
done
for c in native-cross-service-deadlock native-two-processes; do
  "$CW" check --report sarif --fail-on none --source-root "$SRC" \
    --output "$T/$c.sarif" "$T/in/$c-a.cwt" "$T/in/$c-b.cwt" ||
    fail "sarif of $c"
done
"$CW" check --report sarif --fail-on none --source-root "$SRC" \
  --output "$T/raceway-two.sarif" "$DATA/raceway-two-services/a-orders.json" \
  "$DATA/raceway-two-services/b-billing.json" || fail "sarif of raceway-two-services"
# `run` on the SDK example.
"$CW" run --report sarif --source-root "$SRC" --output "$T/run.sarif" -- \
  sh -c 'CAUSEWAY_TRACE_FILE=$CAUSEWAY_TRACE_DIR/balance-1.cwt exec "$0"' \
  "$EXAMPLE" >/dev/null 2>&1
[ $? -eq 1 ] || fail "run --report sarif on the example: expected exit 1"
# Without --source-root: git's top level when there is one, else the cwd.
(cd "$SRC" && "$CW" check --report sarif --output "$T/default-root.sarif" \
  "$T/in/balance.cwt") >/dev/null 2>&1
python3 "$SRC/tests/cli/sarif_check.py" "$FIX/sarif/sarif-schema-2.1.0.json" \
  "$SRC" "$T"/*.sarif || fail "SARIF schema or GitHub rules"
python3 - "$T" "$SRC" <<'EOF' || fail "SARIF content"
import json, glob, sys
t, src = sys.argv[1], sys.argv[2]
seen = set()
for p in glob.glob(t + "/*.sarif"):
    for r in json.load(open(p))["runs"][0]["results"]:
        seen.add(r["ruleId"])
        if r["ruleId"] in ("deadlock", "potential-deadlock"):
            assert r["partialFingerprints"].get("causewayDeadlock/v1"), p
            # One related location per other edge of the cycle.
            n = r["message"]["text"].count(" holds ")
            assert len(r["relatedLocations"]) == n - 1, (p, r)
# The SDK's example points into the source tree, relative to it.
doc = json.load(open(t + "/run.sarif"))
run = doc["runs"][0]
assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file:///")
uris = {l["physicalLocation"]["artifactLocation"]["uri"]
        for r in run["results"] for l in r["locations"] + r["relatedLocations"]}
assert "sdk/examples/balance.c" in uris, uris
assert {"race", "potential-deadlock", "deadlock", "anomaly"} <= seen, seen
print("sarif content: ok", sorted(seen))
EOF
# The checker itself fails on what GitHub rejects (a result without a
# physical location, a fingerprint with an absolute path).
python3 - "$T/s1.sarif" "$T/bad.sarif" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["runs"][0]["results"][0]
del r["locations"][0]["physicalLocation"]
r["partialFingerprints"] = {"x": "v|/home/u/a.c:1"}
json.dump(d, open(sys.argv[2], "w"))
EOF
if python3 "$SRC/tests/cli/sarif_check.py" "$FIX/sarif/sarif-schema-2.1.0.json" \
  "$SRC" "$T/bad.sarif" >"$T/bad.out"; then
  fail "sarif_check accepted a result without physicalLocation"
fi
grep -q "no physicalLocation" "$T/bad.out" || fail "sarif_check: missing-location message"
grep -q "absolute path" "$T/bad.out" || fail "sarif_check: absolute-fingerprint message"

# ---- JUnit: valid, and its failures agree with the exit code
j=0
junit() { # EXPECTED_EXIT ARGS...
  want=$1
  shift
  j=$((j + 1))
  "$CW" "$@" >"$T/j$j.xml" 2>"$T/err"
  got=$?
  [ "$got" -eq "$want" ] || { cat "$T/err"; fail "junit $*: exit $got, expected $want"; }
  xmllint --noout --schema "$FIX/junit/junit-10.xsd" "$T/j$j.xml" 2>"$T/xerr" ||
    { cat "$T/xerr"; fail "junit $*: not valid against junit-10.xsd"; }
  failures=$(sed -n 's/.*<testsuite [^>]*failures="\([0-9]*\)".*/\1/p' "$T/j$j.xml")
  if [ "$got" -eq 0 ] && [ "$failures" != 0 ]; then
    fail "junit $*: exit 0 but $failures failures"
  fi
  if [ "$got" -ne 0 ] && [ "$failures" = 0 ]; then
    fail "junit $*: exit $got but no failure"
  fi
  for a in time timestamp hostname; do
    grep -q "<testsuite [^>]*$a=\"[^\"]" "$T/j$j.xml" || fail "junit $*: no $a"
  done
}
junit 1 check --report junit "$DATA/std-lost-update/trace.std"
junit 0 check --report junit --fail-on none "$DATA/std-lost-update/trace.std"
junit 0 check --report junit "$DATA/std-abba/trace.std"
junit 1 check --report junit --fail-on potential-deadlock "$DATA/std-abba/trace.std"
junit 1 check --report junit "$DATA/std-actual-deadlock/trace.std"
junit 0 check --report junit "$DATA/std-safe-transfer/trace.std"
junit 1 check --report junit "$DATA/std-non-utf8/trace.std"
junit 1 check --report junit "$T/in/native-truncated.cwt"
junit 2 check --report junit --fail-on none "$T/in/native-truncated.cwt"
junit 2 run --report junit -- true
junit 0 check --report junit "$T/in/native-anomalies.cwt"
junit 1 check --report junit --fail-on anomaly "$T/in/native-anomalies.cwt"
grep -q '<skipped type="potential-deadlock"' "$T/j3.xml" ||
  fail "junit: an ungated potential deadlock is not <skipped>"
grep -q 'message="no trace was written' "$T/j10.xml" ||
  fail "junit: no-trace failure message"

# ---- text: escapes, empty and truncated inputs
printf 'A|w(k\033[31mred)|a.c:1\nB|w(k\033[31mred)|a.c:2\n' >"$T/esc.std"
"$CW" check "$T/esc.std" >"$T/esc.out" 2>&1
grep -q "$(printf '\033')" "$T/esc.out" && fail "text report prints a raw ESC"
grep -q 'k\\x1B\[31mred' "$T/esc.out" || fail "text report: escaped name missing"
: >"$T/empty.std"
"$CW" check --input-format std "$T/empty.std" >"$T/empty.out" 2>&1
[ $? -eq 2 ] || fail "empty trace: exit code is not 2"
grep -q "ERROR: causeway: no events were read" "$T/empty.out" || fail "empty trace: text"
# A truncated input with no failing finding is not a pass (exit 2); a
# finding that fails the gate still gives 1.
"$CW" check --fail-on none "$T/in/native-truncated.cwt" >"$T/trunc.out" 2>&1
[ $? -eq 2 ] || fail "truncated trace: exit code is not 2"
grep -q "ERROR: causeway: an input is truncated" "$T/trunc.out" || fail "truncated: text"
"$CW" check --fail-on none --allow-incomplete "$T/in/native-truncated.cwt" >"$T/trunc2.out" 2>&1
[ $? -eq 0 ] || fail "truncated trace with --allow-incomplete: exit is not 0"
grep -q "WARNING: causeway: an input is truncated" "$T/trunc2.out" || fail "truncated: warning"

# ---- Prometheus, and CAUSEWAY_ENDPOINT with CAUSEWAY_TRACE_FILE
"$SERVER" --listen 127.0.0.1:0 --data-dir "$T/data" --viewer-dir '' >"$T/server.out" 2>&1 &
SPID=$!
n=0
until grep -q "listening on" "$T/server.out" 2>/dev/null; do
  n=$((n + 1))
  [ $n -lt 100 ] || { cat "$T/server.out"; fail "collector did not start"; exit 1; }
  sleep 0.1
done
URL=http://$(sed -n 's/^listening on //p' "$T/server.out")
CAUSEWAY_ENDPOINT=$URL CAUSEWAY_TRACE_FILE=$T/tee.cwt "$EXAMPLE" >/dev/null ||
  fail "example with endpoint and trace file"
n=0
until curl -fs "$URL/v1/summary" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["summary"]["events"] > 0 else 1)' 2>/dev/null; do
  n=$((n + 1))
  [ $n -lt 100 ] || { fail "the collector got no events with a trace file set"; break; }
  sleep 0.1
done
"$CW" check "$T/tee.cwt" >"$T/tee.out" 2>&1
[ $? -eq 1 ] || fail "the trace file written next to the endpoint has no race"
grep -q "data race on 'account:alice.balance'" "$T/tee.out" || fail "tee: race missing"
curl -fs "$URL/metrics" >"$T/metrics.txt" || fail "GET /metrics"
promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 ||
  { cat "$T/promtool.out"; fail "promtool check metrics"; }
for m in causeway_analysed_events_total causeway_store_commits_total; do
  grep -qx "# TYPE $m counter" "$T/metrics.txt" || fail "$m is not a counter"
done

if [ $fails -ne 0 ]; then
  echo "report_standards: $fails failure(s)"
  exit 1
fi
echo "report_standards: ok"
