#!/bin/sh
# End-to-end tests of the causeway CLI: exit codes, options, report
# well-formedness, `run` and `dump`.
# usage: cli_e2e.sh CAUSEWAY CWT_GEN SOURCE_DIR [EXAMPLE_BALANCE]
set -u
CW=$1 GEN=$2 SRC=$3 EXAMPLE=${4:-}
abs() { case $1 in /*|'') echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
CW=$(abs "$CW") GEN=$(abs "$GEN") SRC=$(abs "$SRC") EXAMPLE=$(abs "$EXAMPLE")
DATA=$SRC/tests/data
T=$(mktemp -d "${TMPDIR:-/tmp}/cw-e2e-XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
fails=0 n=0

# expect CODE DESCRIPTION CMD...: runs CMD, checks its exit code.
expect() {
  want=$1 what=$2; shift 2
  n=$((n + 1))
  "$@" >"$T/out" 2>"$T/err"
  got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"; sed 's/^/  err: /' "$T/err"
    fails=$((fails + 1))
  fi
}
# grep_in FILE PATTERN DESCRIPTION
grep_in() {
  n=$((n + 1))
  if ! grep -q -- "$2" "$1"; then
    echo "FAIL: $3: '$2' not in $(basename "$1")"; sed 's/^/  | /' "$1" | head -20
    fails=$((fails + 1))
  fi
}

LOST=$DATA/std-lost-update/trace.std
SAFE=$DATA/std-safe-transfer/trace.std
ABBA=$DATA/std-abba/trace.std

# ---- exit codes and usage errors
expect 1 "race found" "$CW" check "$LOST"
grep_in "$T/out" "SUMMARY: causeway: 1 racy variable, 3 racy location pairs" "text summary"
grep_in "$T/out" "WARNING: causeway: data race on 'alice.balance' (write/write, error)" "text race header"
grep_in "$T/out" "locks held: none" "text locks"
expect 0 "clean" "$CW" check "$SAFE"
grep_in "$T/out" "SUMMARY: causeway: 0 racy variables" "clean summary"
n=$((n + 1)); [ -s "$T/err" ] && { echo "FAIL: progress or noise on a non-TTY stderr"; fails=$((fails + 1)); }
expect 0 "contention" "$CW" check "$DATA/std-contention/trace.std"
grep_in "$T/out" "'m': 2 acquisitions, 1 contended; wait p50 .* events" "text contention"
grep_in "$T/out" "at b.c:1: 1 contended" "text contention site"
expect 0 "potential deadlock not in default fail-on" "$CW" check "$ABBA"
expect 1 "fail-on potential-deadlock" "$CW" check --fail-on=potential-deadlock "$ABBA"
# No temporary file for pass 1's record: the second pass reads the input
# again, with the same answer.
expect 1 "second pass without a record" env TMPDIR="$T/missing" "$CW" check \
  --fail-on=potential-deadlock "$ABBA"
grep_in "$T/out" "lock-order cycle of 2 locks" "second pass without a record"
expect 0 "fail-on deadlock only ignores races" "$CW" check --fail-on deadlock "$LOST"
expect 1 "fail-on race-error sees write/write" "$CW" check --fail-on race-error "$LOST"
expect 2 "no files" "$CW" check
expect 2 "unknown option" "$CW" check --frobnicate "$LOST"
expect 2 "bad report" "$CW" check --report xml "$LOST"
grep_in "$T/err" "unknown report 'xml'" "bad report message"
expect 2 "bad input format" "$CW" check --input-format csv "$LOST"
expect 2 "missing file" "$CW" check "$T/nope.std"
grep_in "$T/err" "nope.std" "missing file named"
expect 2 "option without value" "$CW" check "$LOST" --fail-on
expect 2 "unknown command" "$CW" frob
expect 0 "help" "$CW" --help
expect 2 "forced std on JSON" "$CW" check --input-format std "$DATA/raceway-example/batch.json"
grep_in "$T/err" "batch.json:1: " "forced-format error names line"
expect 1 "-- ends options" "$CW" check -- "$LOST"

# ---- a directory stands for its trace files
mkdir "$T/traces" && cp "$DATA/std-two-files/a.std" "$DATA/std-two-files/b.std" "$T/traces/"
printf 'not a trace' > "$T/traces/notes.txt"
expect 1 "check a directory" "$CW" check "$T/traces"
grep_in "$T/out" "1 racy variable" "directory inputs analysed together"
mkdir "$T/empty"
expect 2 "check an empty directory" "$CW" check "$T/empty"
grep_in "$T/err" "no .cwt, .std, .json or .jsonl file" "empty directory named"

# ---- progress: forced on, it updates one line on stderr; off otherwise
awk 'BEGIN { for (i = 0; i < 70000; i++) print "T1|w(x)|" i % 10 }' > "$T/long.std"
expect 0 "progress forced" "$CW" check --progress "$T/long.std"
grep_in "$T/err" "causeway: reading .*long.std" "progress line"
expect 0 "no progress off a terminal" "$CW" check "$T/long.std"
n=$((n + 1)); [ -s "$T/err" ] && { echo "FAIL: progress on a non-TTY stderr"; fails=$((fails + 1)); }

# ---- report formats: JSON, SARIF and JUnit are well-formed
expect 1 "json report" "$CW" check --report json --output "$T/r.json" "$LOST"
n=$((n + 1)); [ -s "$T/out" ] && { echo "FAIL: --output also wrote stdout"; fails=$((fails + 1)); }
expect 1 "sarif report" "$CW" check --report sarif "$LOST"
cp "$T/out" "$T/r.sarif"
expect 1 "junit report" "$CW" check --report junit "$LOST"
cp "$T/out" "$T/r.xml"
expect 0 "junit clean" "$CW" check --report junit "$SAFE"
cp "$T/out" "$T/clean.xml"
if command -v python3 >/dev/null 2>&1; then
  expect 0 "report files parse" python3 - "$T" <<'PY'
import json, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
r = json.load(open(d + "/r.json"))
s = r["summary"]
for k in ("events", "racy_variables", "racy_location_pairs", "race_groups",
          "potential_deadlocks", "deadlocks", "contended_locks", "anomalies"):
    assert isinstance(s[k], int), k
assert len(r["races"]) == s["race_groups"] == 3
sa = json.load(open(d + "/r.sarif"))
assert sa["version"] == "2.1.0"
run = sa["runs"][0]
assert run["tool"]["driver"]["name"] == "causeway"
assert [x["id"] for x in run["tool"]["driver"]["rules"]] == ["race", "potential-deadlock", "deadlock", "anomaly"]
assert len(run["results"]) == 3
assert {x["level"] for x in run["results"]} == {"error", "warning"}
for x in run["results"]:
    assert x["locations"] and x["relatedLocations"]
j = ET.parse(d + "/r.xml").getroot()
suite = j.find("testsuite")
cases = suite.findall("testcase")
assert len(cases) == 3 and all(c.find("failure") is not None for c in cases)
assert suite.get("failures") == "3"
c = ET.parse(d + "/clean.xml").getroot().find("testsuite")
assert len(c.findall("testcase")) == 1 and c.find("testcase/failure") is None
PY
fi

# ---- suppressions
printf '# known\nrace:alice.balance\n' > "$T/s.supp"
expect 0 "suppressed" "$CW" check --suppressions "$T/s.supp" "$LOST"
grep_in "$T/out" "3 suppressed" "suppressed count in text"
expect 2 "missing suppression file" "$CW" check --suppressions "$T/none.supp" "$LOST"

# ---- dump
"$GEN" "$DATA/native-race/trace.cwspec" "$T/race.cwt" || fails=$((fails + 1))
expect 0 "dump" "$CW" dump "$T/race.cwt"
grep_in "$T/out" "bank#web1/t1 c=2 write account:alice.balance at bank.c:40 val=900" "dump line"
grep_in "$T/out" "# batch 0 service=bank instance=web1 pid=42" "dump batch line"
printf 'garbage' > "$T/bad.cwt"
expect 2 "dump garbage" "$CW" dump "$T/bad.cwt"
expect 2 "check garbage .cwt" "$CW" check "$T/bad.cwt"
grep_in "$T/err" "bad.cwt" "garbage file named"

# ---- run: every process writes its own trace into CAUSEWAY_TRACE_DIR
A=$DATA/native-two-processes/a.cwspec B=$DATA/native-two-processes/b.cwspec
expect 1 "run: race across two processes" "$CW" run -- sh -c \
  "'$GEN' '$A' \"\$CAUSEWAY_TRACE_DIR/ledger-10.cwt\" &&
   sh -c '\"$GEN\" \"$B\" \"\$CAUSEWAY_TRACE_DIR/audit-20.cwt\"'"
grep_in "$T/out" "3 racy location pairs" "run analysed both traces"
expect 4 "run: command failure wins" "$CW" run -- sh -c \
  "'$GEN' '$A' \"\$CAUSEWAY_TRACE_DIR/a-1.cwt\"; exit 4"
# Nothing was checked: exit 2, and every report says so (issue 14).
expect 2 "run: clean command, no traces" "$CW" run -- true
grep_in "$T/err" "no trace was written" "run warns without traces"
grep_in "$T/out" "ERROR: causeway: no trace was written" "text report says no trace"
expect 2 "run: no traces, junit" "$CW" run --report junit -- true
grep_in "$T/out" 'tests="1" failures="1"' "junit: one failing test without traces"
grep_in "$T/out" '<failure type="incomplete-input" message="no trace was written' \
  "junit: the failure says no trace was written"
expect 0 "run: fail-on none" "$CW" run --fail-on none -- sh -c \
  "'$GEN' '$DATA/native-race/trace.cwspec' \"\$CAUSEWAY_TRACE_DIR/x-1.cwt\""
expect 127 "run: missing command" "$CW" run -- "$T/no-such-command"
expect 2 "run: no command" "$CW" run --
expect 137 "run: killed command" "$CW" run -- sh -c 'kill -9 $$'
expect 0 "run: keep traces" "$CW" run --keep-traces -- sh -c \
  "'$GEN' '$DATA/native-ordered/trace.cwspec' \"\$CAUSEWAY_TRACE_DIR/k-1.cwt\""
kept=$(sed -n 's/.*traces kept in //p' "$T/err")
n=$((n + 1))
if [ -z "$kept" ] || [ ! -f "$kept/k-1.cwt" ]; then
  echo "FAIL: --keep-traces did not keep $kept/k-1.cwt"; fails=$((fails + 1))
else
  rm -rf "$kept"
fi
# A run's trace directory is removed afterwards.
expect 2 "run: dir removed" "$CW" run -- sh -c 'echo "$CAUSEWAY_TRACE_DIR" > '"$T/dir"
n=$((n + 1)); [ -d "$(cat "$T/dir")" ] && { echo "FAIL: trace dir left behind"; fails=$((fails + 1)); }

# ---- run with a program instrumented by the SDK (when it is built). The
# example writes balance.cwt in its working directory unless told a trace
# file, so it is given one inside the run's trace directory.
if [ -n "$EXAMPLE" ] && [ -x "$EXAMPLE" ]; then
  cd "$T" || exit 1
  expect 1 "run: SDK example races on alice.balance" "$CW" run -- sh -c \
    'CAUSEWAY_TRACE_FILE=$CAUSEWAY_TRACE_DIR/balance-$$.cwt exec "$0"' \
    "$EXAMPLE"
  grep_in "$T/out" "data race on 'account:alice.balance'" "SDK example race"
  n=$((n + 1))
  if grep -q "account:bob.balance" "$T/out"; then
    echo "FAIL: bob's locked balance reported"; fails=$((fails + 1))
  fi
  expect 3 "run: example then failure" "$CW" run -- sh -c \
    'CAUSEWAY_TRACE_FILE=$CAUSEWAY_TRACE_DIR/b-$$.cwt "$0"; exit 3' \
    "$EXAMPLE"
  cd - >/dev/null || exit 1
fi

echo "$((n - fails))/$n checks passed"
[ "$fails" -eq 0 ]
