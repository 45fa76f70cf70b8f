/*
 * glue_dbxfer: the lost-update scenario through a real database, for the
 * integration scripts. Each worker (a raw pthread with its own connection,
 * so only the database orders the workers) moves 10 into account ACCT:
 *
 *   unsafe: SELECT balance ...; UPDATE accounts SET balance = <read+10>
 *           (auto-commit: a read-then-update, the classic lost update)
 *   safe:   the same inside BEGIN IMMEDIATE ... COMMIT (SQLite) or
 *           BEGIN; SELECT ... FOR UPDATE; ...; COMMIT (PostgreSQL)
 *   atomic: auto-commit single statements that read and write the row:
 *           UPDATE ... SET balance = balance + 10 WHERE id = ? AND
 *           balance >= 0, then a guarded claim that reads in its WHERE and
 *           writes blindly, UPDATE ... SET balance = 7 WHERE id = ? AND
 *           balance = 7 (matches no row here: a read without a write)
 *
 *   glue_dbxfer sqlite PATH init|unsafe|safe|atomic ACCT [WORKERS]
 *   glue_dbxfer pq CONNINFO init|unsafe|safe|atomic ACCT [WORKERS]
 *
 * Statements go through every wrapper kind: SQLite prepare/step/finalize
 * and exec; libpq exec, exec-with-params and prepared statements. State
 * keys are inferred from the statements ("accounts:ACCT.balance").
 */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causeway.h"
#include "causeway/db.h"

static const char *target, *acct;
static int safe, atomic_mode;

static const char *const atomic_sql[2] = {
    "UPDATE accounts SET balance = balance + 10 WHERE id = ? AND balance >= 0",
    "UPDATE accounts SET balance = 7 WHERE id = ? AND balance = 7"};
static const char *const atomic_pq[2] = {
    "UPDATE accounts SET balance = balance + 10 WHERE id = $1 AND "
    "balance >= 0",
    "UPDATE accounts SET balance = 7 WHERE id = $1 AND balance = 7"};
static pthread_barrier_t start;

/* ---- SQLite -------------------------------------------------------------- */

static int sq_exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  int rc = cw_sqlite3_exec(db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK)
    fprintf(stderr, "sqlite: %s: %s\n", sql, err ? err : "?");
  sqlite3_free(err);
  return rc == SQLITE_OK ? 0 : -1;
}

static int sq_atomic(sqlite3 *db) {
  for (int k = 0; k < 2; k++) {
    sqlite3_stmt *st = NULL;
    if (cw_sqlite3_prepare_v2(db, atomic_sql[k], -1, &st, NULL) != SQLITE_OK)
      return -1;
    sqlite3_bind_text(st, 1, acct, -1, SQLITE_STATIC);
    int rc = cw_sqlite3_step(st);
    cw_sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
      return -1;
  }
  return 0;
}

static int sq_transfer(sqlite3 *db) {
  sqlite3_stmt *sel = NULL, *upd = NULL;
  int ok = 0;
  if (atomic_mode)
    return sq_atomic(db);
  if (safe && sq_exec(db, "BEGIN IMMEDIATE") != 0)
    return -1;
  if (cw_sqlite3_prepare_v2(db, "SELECT balance FROM accounts WHERE id = ?", -1,
                            &sel, NULL) != SQLITE_OK ||
      cw_sqlite3_prepare_v2(db, "UPDATE accounts SET balance = ? WHERE id = ?",
                            -1, &upd, NULL) != SQLITE_OK)
    goto out;
  sqlite3_bind_text(sel, 1, acct, -1, SQLITE_STATIC);
  if (cw_sqlite3_step(sel) != SQLITE_ROW)
    goto out;
  long balance = (long)sqlite3_column_int64(sel, 0);
  cw_sqlite3_reset(sel);
  sqlite3_bind_int64(upd, 1, balance + 10);
  sqlite3_bind_text(upd, 2, acct, -1, SQLITE_STATIC);
  ok = cw_sqlite3_step(upd) == SQLITE_DONE;
out:
  cw_sqlite3_finalize(sel);
  cw_sqlite3_finalize(upd);
  if (safe)
    ok &= sq_exec(db, ok ? "COMMIT" : "ROLLBACK") == 0;
  return ok ? 0 : -1;
}

static sqlite3 *sq_open(void) {
  sqlite3 *db = NULL;
  if (sqlite3_open(target, &db) != SQLITE_OK) {
    fprintf(stderr, "sqlite: cannot open %s\n", target);
    sqlite3_close(db);
    return NULL;
  }
  sqlite3_busy_timeout(db, 10000);
  return db;
}

static int sq_init(void) {
  sqlite3 *db = sq_open();
  if (!db)
    return -1;
  char sql[256];
  snprintf(sql, sizeof sql,
           "PRAGMA journal_mode=WAL;"
           "CREATE TABLE IF NOT EXISTS accounts(id TEXT PRIMARY KEY,"
           " balance INTEGER NOT NULL);"
           "INSERT OR IGNORE INTO accounts VALUES('%s', 100);",
           acct);
  int rc = sq_exec(db, sql);
  cw_sqlite3_close(db);
  return rc;
}

/* ---- PostgreSQL ------------------------------------------------------------
 */

static int pq_ok(PGresult *r, const char *what) {
  ExecStatusType s = PQresultStatus(r);
  int ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
  if (!ok)
    fprintf(stderr, "pq: %s: %s", what, PQresultErrorMessage(r));
  return ok;
}

static int pq_transfer(PGconn *c) {
  const char *p1[1] = {acct};
  char bal[32];
  int ok = 0;
  PGresult *r;
  if (atomic_mode) {
    for (int k = 0; k < 2; k++) {
      r = cw_PQexecParams(c, atomic_pq[k], 1, NULL, p1, NULL, NULL, 0);
      ok = pq_ok(r, "atomic update");
      PQclear(r);
      if (!ok)
        return -1;
    }
    return 0;
  }
  if (safe) {
    r = cw_PQexec(c, "BEGIN");
    ok = pq_ok(r, "begin");
    PQclear(r);
    if (!ok)
      return -1;
  }
  r = cw_PQexecParams(c,
                      safe ? "SELECT balance FROM accounts WHERE id = $1 "
                             "FOR UPDATE"
                           : "SELECT balance FROM accounts WHERE id = $1",
                      1, NULL, p1, NULL, NULL, 0);
  ok = pq_ok(r, "select") && PQntuples(r) == 1;
  long balance = ok ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : 0;
  PQclear(r);
  if (ok) {
    snprintf(bal, sizeof bal, "%ld", balance + 10);
    const char *p2[2] = {bal, acct};
    r = cw_PQexecPrepared(c, "upd", 2, p2, NULL, NULL, 0);
    ok = pq_ok(r, "update");
    PQclear(r);
  }
  if (safe) {
    r = cw_PQexec(c, ok ? "COMMIT" : "ROLLBACK");
    ok &= pq_ok(r, "commit");
    PQclear(r);
  }
  return ok ? 0 : -1;
}

static PGconn *pq_open(void) {
  PGconn *c = PQconnectdb(target);
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "pq: %s", PQerrorMessage(c));
    PQfinish(c);
    return NULL;
  }
  PGresult *r = cw_PQprepare(
      c, "upd", "UPDATE accounts SET balance = $1 WHERE id = $2", 2, NULL);
  int ok = pq_ok(r, "prepare");
  PQclear(r);
  if (!ok) {
    cw_PQfinish(c);
    return NULL;
  }
  return c;
}

static int pq_init(void) {
  PGconn *c = PQconnectdb(target);
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "pq: %s", PQerrorMessage(c));
    PQfinish(c);
    return -1;
  }
  const char *p1[1] = {acct};
  PGresult *r = cw_PQexec(c, "CREATE TABLE IF NOT EXISTS accounts("
                             "id text PRIMARY KEY, balance bigint NOT NULL)");
  int ok = pq_ok(r, "create");
  PQclear(r);
  r = cw_PQexecParams(c,
                      "INSERT INTO accounts VALUES ($1, 100) "
                      "ON CONFLICT (id) DO NOTHING",
                      1, NULL, p1, NULL, NULL, 0);
  ok &= pq_ok(r, "insert");
  PQclear(r);
  cw_PQfinish(c);
  return ok ? 0 : -1;
}

/* ---- Workers ------------------------------------------------------------- */

static int use_pq;

static void *worker(void *arg) {
  int *rc = arg;
  *rc = -1;
  if (use_pq) {
    PGconn *c = pq_open();
    pthread_barrier_wait(&start);
    if (c) {
      *rc = pq_transfer(c);
      cw_PQfinish(c);
    }
  } else {
    sqlite3 *db = sq_open();
    pthread_barrier_wait(&start);
    if (db) {
      *rc = sq_transfer(db);
      cw_sqlite3_close(db);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr,
            "usage: %s sqlite|pq TARGET init|unsafe|safe|atomic ACCT [N]\n",
            argv[0]);
    return 2;
  }
  use_pq = strcmp(argv[1], "pq") == 0;
  target = argv[2];
  acct = argv[4];
  int n = argc > 5 ? (int)strtol(argv[5], NULL, 10) : 2;
  if (n < 1 || n > 8)
    n = 2;
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = use_pq ? "xfer-pq" : "xfer-sqlite";
  if (cw_init(&cfg) != CW_OK)
    return 1;
  int rc = 0;
  if (strcmp(argv[3], "init") == 0) {
    rc = use_pq ? pq_init() : sq_init();
  } else {
    safe = strcmp(argv[3], "safe") == 0;
    atomic_mode = strcmp(argv[3], "atomic") == 0;
    pthread_t t[8];
    int res[8];
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (int i = 0; i < n; i++)
      pthread_create(&t[i], NULL, worker, &res[i]);
    for (int i = 0; i < n; i++) {
      pthread_join(t[i], NULL);
      rc |= res[i];
    }
    pthread_barrier_destroy(&start);
  }
  cw_db_stats st;
  cw_db_stats_get(&st);
  fprintf(stderr,
          "glue_dbxfer %s %s: rc=%d statements=%llu errors=%llu "
          "inferred=%llu lock_acquires=%llu\n",
          argv[1], argv[3], rc, (unsigned long long)st.statements,
          (unsigned long long)st.errors, (unsigned long long)st.inferred,
          (unsigned long long)st.lock_acquires);
  cw_shutdown();
  return rc == 0 ? 0 : 1;
}
