#!/usr/bin/env bash
# The README's instrumentation example, compiled as a user would (-std=c11,
# -Werror) against the built SDK, run, and checked with the CLI: clean as
# written, and a write/write race on alice's balance once the two lock calls
# are removed, exactly as the README says; and two processes of it (two
# services) share no state, so `causeway run` finds no race between them.
# usage: readme_example.sh SOURCE_DIR LIBCAUSEWAY_SO CAUSEWAY_CLI CC [SANITIZE]
set -euo pipefail
SRC=$1 LIB=$2 CLI=$3 CC=${4:-cc} SAN=${5:-}
SANFLAGS=()
[ -n "$SAN" ] && SANFLAGS=(-fsanitize="$SAN")
T=$(mktemp -d "${TMPDIR:-/tmp}/cw-readme-XXXXXX")
trap 'rm -rf "$T"' EXIT
awk '/^```c$/{f=1;next} /^```$/{f=0} f' "$SRC/README.md" >"$T/example.c"
grep -q cw_init "$T/example.c" || { echo "no C example in README.md"; exit 1; }
grep -v -e 'cw_mutex_' -e 'pthread_mutex_t lock' "$T/example.c" >"$T/unlocked.c"
for v in example unlocked; do
  "$CC" -std=c11 -Wall -Wextra -Werror "${SANFLAGS[@]}" -I"$SRC/include" "$T/$v.c" \
    -o "$T/$v" "$LIB" -lpthread -Wl,-rpath,"$(dirname "$LIB")"
  # The unlocked variant races on purpose: under a TSan build, TSan sees the
  # same race causeway reports; let it run to the end.
  env=()
  [ "$v" = unlocked ] && env=(TSAN_OPTIONS="report_bugs=0")
  (cd "$T" && rm -f bank.cwt && env "${env[@]}" "./$v" && mv bank.cwt "$v.cwt")
done
set +e
"$CLI" check "$T/example.cwt" >"$T/example.txt"; rc1=$?
"$CLI" check --report json "$T/unlocked.cwt" >"$T/unlocked.json"; rc2=$?
set -e
[ $rc1 -eq 0 ] || { echo "locked example: exit $rc1"; cat "$T/example.txt"; exit 1; }
[ $rc2 -eq 1 ] || { echo "unlocked example: exit $rc2"; exit 1; }
python3 - "$T/unlocked.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
g = [x for x in r["races"] if x["variable"] == "account:alice.balance"]
assert g and any(x["severity"] == "error" for x in g), r["races"]
PY
# Two processes of the (locked) example, services bank-a and bank-b, under
# `causeway run`: each has its own account:alice.balance and its own lock,
# processes share no memory, so there is no race between them (keys and
# locks are process-local unless declared shared, docs/detection.md).
printf '#!/bin/sh\nset -e\nCAUSEWAY_SERVICE=bank-a ./example\nCAUSEWAY_SERVICE=bank-b ./example\n' >"$T/two.sh"
chmod +x "$T/two.sh"
set +e
(cd "$T" && "$CLI" run --report json -- ./two.sh >"$T/two.json" 2>"$T/two.err"); rc3=$?
set -e
[ $rc3 -eq 0 ] || { echo "two processes: exit $rc3"; cat "$T/two.json" "$T/two.err"; exit 1; }
python3 - "$T/two.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["summary"]["events"] > 0 and r["races"] == [], r
# Both processes were analysed (one lock each; both wrote alice's balance).
assert len(r["locks"]) == 2, r["locks"]
PY
echo "3 passed, 0 failed"
