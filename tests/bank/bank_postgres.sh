#!/usr/bin/env bash
# The PostgreSQL variant (run by tests/glue/with_postgres.sh, which starts a
# throwaway server and sets CW_PG_CONNINFO): accounts and transactions
# store in PostgreSQL, the safe debit uses SELECT ... FOR UPDATE; scenarios
# 1 and 3 in both modes must behave and be reported as with SQLite.
set -euo pipefail
export BANK_PG=${CW_PG_CONNINFO:?run me through tests/glue/with_postgres.sh}
bash "$(dirname "$0")/bank_scenarios.sh" 1 3
# The accounts and transfers really are in PostgreSQL.
n=$(psql "$BANK_PG" -Atc "SELECT count(*) FROM accounts")
t=$(psql "$BANK_PG" -Atc "SELECT count(*) FROM transactions WHERE kind = 'deposit'")
echo "PostgreSQL holds $n accounts and $t deposits"
[ "$n" -ge 10 ] && [ "$t" -ge 10 ]
