/*
 * db_pq.c: PostgreSQL (libpq) through causeway's wrappers
 * (docs/distributed.md). SELECT ... FOR UPDATE acquires the row-lock
 * resource "db:<dbname>:accounts:<id>", which COMMIT releases, so two such
 * transfers are ordered; without FOR UPDATE the read-then-update is a
 * lost-update race. Keys are inferred from the statements; parameters are
 * not recorded unless CAUSEWAY_DB_PARAMS=1.
 *
 *   cc db_pq.c $(pkg-config --cflags libpq) -lcauseway_pq -lcauseway -lpq
 *   cc db_pq.c $(pkg-config --cflags --libs causeway-pq)
 * (shared libraries; for static ones use `pkg-config --static --libs`,
 * see README's install section; each line is tested by sdk_consumer)
 *   CAUSEWAY_TRACE_FILE=pq.cwt ./db_pq "host=127.0.0.1 dbname=bank"
 */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include <causeway.h>
#include <causeway/db.h>

static int ok(PGresult *r) {
  ExecStatusType s = PQresultStatus(r);
  int good = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
  if (!good)
    fprintf(stderr, "%s", PQresultErrorMessage(r));
  PQclear(r);
  return good;
}

static int transfer(PGconn *c, const char *acct, long amount) {
  const char *p1[1] = {acct};
  char value[32];
  if (!ok(cw_PQexec(c, "BEGIN")))
    return -1;
  PGresult *r = cw_PQexecParams(
      c, "SELECT balance FROM accounts WHERE id = $1 FOR UPDATE", 1, NULL, p1,
      NULL, NULL, 0);
  int good = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
  if (good)
    snprintf(value, sizeof value, "%ld",
             strtol(PQgetvalue(r, 0, 0), NULL, 10) + amount);
  PQclear(r);
  if (good) {
    const char *p2[2] = {value, acct};
    good = ok(cw_PQexecPrepared(c, "set_balance", 2, p2, NULL, NULL, 0));
  }
  good &= ok(cw_PQexec(c, good ? "COMMIT" : "ROLLBACK"));
  return good ? 0 : -1;
}

int main(int argc, char **argv) {
  PGconn *c = PQconnectdb(argc > 1 ? argv[1] : "dbname=bank");
  if (cw_init(NULL) != CW_OK || PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "%s", PQerrorMessage(c));
    PQfinish(c);
    return 1;
  }
  int rc = -1;
  if (ok(cw_PQexec(c, "CREATE TABLE IF NOT EXISTS accounts("
                      "id text PRIMARY KEY, balance bigint);"
                      "INSERT INTO accounts VALUES ('alice', 100)"
                      " ON CONFLICT DO NOTHING")) &&
      ok(cw_PQprepare(c, "set_balance",
                      "UPDATE accounts SET balance = $1 WHERE id = $2", 2,
                      NULL)))
    rc = transfer(c, "alice", 10);
  cw_PQfinish(c);
  cw_shutdown();
  printf("transfer: %s\n", rc == 0 ? "ok" : "failed");
  return rc == 0 ? 0 : 1;
}
