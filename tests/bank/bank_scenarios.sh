#!/usr/bin/env bash
# End-to-end: the collector and the five bank services as real processes on
# free ports; every scenario in unsafe and in safe mode through the admin
# CLI. Unsafe: the symptom shows and causeway reports the right kind of
# finding on the run's own names (checked in the run's result and again
# straight from the collector). Safe: no symptom, no finding on its names,
# and no clean summary key grows.
#   bank_scenarios.sh [SCENARIOS...]   (default: 1 2 3 4 5 6)
source "$(dirname "$0")/bank_test_lib.sh"
SCEN=("$@")
[ ${#SCEN[@]} -eq 0 ] && SCEN=(1 2 3 4 5 6)

bank_start "$BUILD" "$W" free

for n in "${SCEN[@]}"; do
  for mode in unsafe safe; do
    set +e
    R=$("$CLI" --web "$WEB_URL" run "$n" "$mode" --json)
    set -e
    what="scenario $n $mode"
    jcheck "$what: as expected" "$R" '.as_expected == true'
    if [ "$mode" = unsafe ]; then
      jcheck "$what: the symptom shows" "$R" '.symptom_shown == true'
    else
      jcheck "$what: no symptom" "$R" '.symptom_shown == false'
    fi
    for k in $(jq -r '.clean[]' <<<"$R"); do
      jcheck "$what: '$k' did not grow" "$R" ".after.$k == .before.$k"
    done
    if [ "$mode" = unsafe ]; then
      for k in $(jq -r '.expected[]' <<<"$R"); do
        jcheck "$what: '$k' grew" "$R" ".after.$k > .before.$k"
      done
    else
      jcheck "$what: no race or deadlock on its names" "$R" \
        '[.findings[] | select(.kind == "race" or .kind == "deadlock")] | length == 0'
    fi
    case "$n:$mode" in
    1:unsafe)
      id=$(jq -r '.findings[] | select(.kind=="race") | .variable' <<<"$R" | head -1)
      jcheck "$what: 5 transfers succeeded, balance negative" "$R" \
        '.symptom.succeeded == 5 and .symptom.final_balance < 0'
      jcheck "$what: the race is on the source account's balance" "$R" \
        "[.findings[] | select(.kind==\"race\" and (.variable | test(\"^accounts:[0-9]+\\\\.balance\$\")))] | length >= 1"
      total=$(curl -sS "$COLLECTOR_URL/v1/races?variable=$id" | jq .total)
      check "$what: the collector lists a race on $id" test "${total:-0}" -ge 1
      ;;
    1:safe)
      jcheck "$what: exactly one transfer succeeded" "$R" \
        '.symptom.succeeded == 1 and .symptom.final_balance >= 0' ;;
    3:unsafe)
      id=$(jq -r '.findings[] | select(.kind=="race") | .variable' <<<"$R" | head -1)
      jcheck "$what: money was lost" "$R" '.symptom.lost > 0'
      jcheck "$what: the race is on the account's balance" "$R" \
        '[.findings[] | select(.kind=="race" and (.variable | test("^accounts:[0-9]+\\.balance$")))] | length >= 1'
      total=$(curl -sS "$COLLECTOR_URL/v1/races?variable=$id" | jq .total)
      check "$what: the collector lists a race on $id" test "${total:-0}" -ge 1
      ;;
    3:safe) jcheck "$what: nothing lost" "$R" '.symptom.lost == 0 and .symptom.final_balance == 5000' ;;
    4:unsafe)
      jcheck "$what: sent more than once" "$R" '.symptom.times_sent >= 2'
      jcheck "$what: the race is on the notification's status" "$R" \
        '. as $r | any(.findings[]; .kind == "race" and .variable == "notifications:\($r.symptom.notification).status")'
      ;;
    4:safe) jcheck "$what: sent exactly once" "$R" '.symptom.times_sent == 1' ;;
    6:unsafe)
      jcheck "$what: sessions or audit entries lost" "$R" \
        '.symptom.sessions_kept < .symptom.logins_ok or .symptom.audit_entries < .symptom.logins_ok'
      jcheck "$what: races on the session cache and the audit log" "$R" \
        '. as $r | any(.findings[]; .variable | endswith("auth:sessions:\($r.symptom.user_id)")) and any(.findings[]; .variable | endswith("audit:\($r.symptom.user_id).log"))'
      ;;
    6:safe)
      jcheck "$what: every login kept" "$R" \
        '.symptom.sessions_kept == 4 and .symptom.audit_entries == 4' ;;
    2:unsafe)
      jcheck "$what: both transfers timed out on the locks" "$R" '.symptom.lock_timeouts == 2'
      jcheck "$what: the deadlock was reported live while blocked" "$R" '.symptom.deadlock_seen_live == true'
      jcheck "$what: a deadlock on both account locks" "$R" \
        '[.findings[] | select(.kind=="deadlock")] | length >= 1'
      ;;
    2:safe) jcheck "$what: both transfers succeeded" "$R" '.symptom.succeeded == 2' ;;
    5:unsafe)
      jcheck "$what: client timeouts and retries" "$R" '.symptom.client_timeouts > 0 and .symptom.attempts > 3'
      jcheck "$what: the account lock's wait p99 is over 1 s" "$R" \
        '[.findings[] | select(.kind=="contention" and .wait_p99_ns > 1000000000)] | length >= 1'
      for kind in slow_db lock_wait timeout retry_storm; do
        jcheck "$what: a $kind anomaly grew" "$R" \
          "any(.findings[]; .kind == \"anomaly\" and .anomaly == \"$kind\")"
      done
      ;;
    5:safe)
      jcheck "$what: no timeouts, every transfer succeeded" "$R" \
        '.symptom.client_timeouts == 0 and .symptom.succeeded == 3'
      jcheck "$what: no lock wait over 1 s" "$R" \
        '[.findings[] | select(.kind=="contention" and .wait_p99_ns > 1000000000)] | length == 0'
      jcheck "$what: the slow queries remain (slow_db anomaly)" "$R" \
        'any(.findings[]; .kind == "anomaly" and .anomaly == "slow_db")'
      jcheck "$what: no lock-wait, timeout or retry-storm anomaly" "$R" \
        '[.findings[] | select(.kind == "anomaly" and (.anomaly == "lock_wait" or .anomaly == "timeout" or .anomaly == "retry_storm"))] | length == 0'
      ;;
    esac
  done
done
finish
