/* Tests of the libpq wrappers against a real PostgreSQL (run under
 * tests/glue/with_postgres.sh, which provides CW_PG_CONNINFO), read back
 * from the trace they write: SELECT ... FOR UPDATE row locks acquired
 * after the statement and released before COMMIT runs, auto-commit row
 * locks, exec-with-params and prepared statements with inferred keys,
 * parameters only when asked, multi-statement strings, errors, and the
 * locks PQfinish still held. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "causeway/db.h"
#include "test_db_trace.h"

#define ROW_LOCK "db:causeway_test:accounts:alice"

static PGconn *conn;

static void exec_ok(const char *sql) {
  PGresult *r = cw_PQexec(conn, sql);
  ExecStatusType s = PQresultStatus(r);
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
    fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  PQclear(r);
}

static PGconn *connect_db(void) {
  PGconn *c = PQconnectdb(getenv("CW_PG_CONNINFO"));
  if (PQstatus(c) != CONNECTION_OK) {
    PQfinish(c);
    return NULL;
  }
  return c;
}

static int setup(void **state) {
  (void)state;
  if (trace_start("pqtest") != 0 || !(conn = connect_db()))
    return -1;
  PGresult *r = PQexec(conn, "DROP TABLE IF EXISTS accounts;"
                             "CREATE TABLE accounts(id text PRIMARY KEY,"
                             " balance bigint);"
                             "INSERT INTO accounts VALUES ('alice', 100),"
                             " ('bob', 50)");
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  return ok ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  cw_PQfinish(conn);
  trace_stop();
  return 0;
}

static void test_for_update_transaction(void **state) {
  (void)state;
  const char *p[1] = {"alice"};
  size_t m = mark();
  exec_ok("BEGIN");
  PGresult *r = cw_PQexecParams(
      conn, "SELECT balance FROM accounts WHERE id = $1 FOR UPDATE", 1, NULL, p,
      NULL, NULL, 0);
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  PQclear(r);
  exec_ok("UPDATE accounts SET balance = 90 WHERE id = 'alice'");
  exec_ok("COMMIT");
  trace_reload();
  long q = find_ev(m, CW_EV_DB_QUERY, NULL, "SELECT balance");
  long req = find_ev(m, CW_EV_LOCK_REQUEST, ROW_LOCK, NULL);
  long acq = find_ev(m, CW_EV_LOCK_ACQUIRED, ROW_LOCK, NULL);
  long rd = find_ev(m, CW_EV_READ, "accounts:alice.balance", NULL);
  long res = q >= 0 ? find_ev((size_t)q, CW_EV_DB_RESULT, NULL, NULL) : -1;
  long w = find_ev(m, CW_EV_WRITE, "accounts:alice.balance", NULL);
  long qc = find_ev(m, CW_EV_DB_QUERY, NULL, "COMMIT");
  long rel = find_ev(m, CW_EV_LOCK_RELEASE, ROW_LOCK, NULL);
  long rc = qc >= 0 ? find_ev((size_t)qc, CW_EV_DB_RESULT, NULL, NULL) : -1;
  assert_true(q >= 0 && req > q && acq > req && rd > acq && res > rd);
  assert_int_equal(events.ev[res].aux, 1);
  assert_string_equal(events.ev[q].object, "causeway_test");
  /* Parameters are not recorded unless asked. */
  assert_null(strstr(events.ev[q].detail, "alice"));
  assert_true(w > res && qc > w && rel > qc && rc > rel);
}

static void test_autocommit_row_lock(void **state) {
  (void)state;
  size_t m = mark();
  exec_ok("SELECT balance FROM accounts WHERE id = 'alice' FOR UPDATE");
  trace_reload();
  long acq = find_ev(m, CW_EV_LOCK_ACQUIRED, ROW_LOCK, NULL);
  assert_true(acq >= 0);
  /* No transaction: the statement's end released the row. */
  assert_true(find_ev((size_t)acq, CW_EV_LOCK_RELEASE, ROW_LOCK, NULL) > acq);
}

static void test_prepared_and_params(void **state) {
  (void)state;
  PGresult *r = cw_PQprepare(
      conn, "upd", "UPDATE accounts SET balance = $1 WHERE id = $2", 2, NULL);
  assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
  PQclear(r);
  cw_db_options o;
  cw_db_options_init(&o);
  o.record_params = 1;
  assert_int_equal(cw_db_configure(&o), CW_OK);
  const char *p[2] = {"77", "bob"};
  size_t m = mark();
  r = cw_PQexecPrepared(conn, "upd", 2, p, NULL, NULL, 0);
  assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
  PQclear(r);
  o.record_params = 0;
  cw_db_configure(&o);
  trace_reload();
  long q = find_ev(m, CW_EV_DB_QUERY, NULL, "UPDATE accounts SET balance");
  assert_true(q >= 0);
  assert_string_equal(events.ev[q].detail,
                      "UPDATE accounts SET balance = $1 WHERE id = $2"
                      " -- $1='77', $2='bob'");
  assert_true(find_ev(m, CW_EV_WRITE, "accounts:bob.balance", NULL) > q);
  long res = find_ev((size_t)q, CW_EV_DB_RESULT, NULL, NULL);
  assert_int_equal(events.ev[res].aux, 1);
}

static void test_declared_with_params(void **state) {
  (void)state;
  const char *writes[] = {"account:$1.history"};
  const char *locks[] = {"db:causeway_test:ledger:$1"};
  cw_db_decl d;
  memset(&d, 0, sizeof d);
  d.size = sizeof d;
  d.writes = writes;
  d.nwrites = 1;
  d.locks = locks;
  d.nlocks = 1;
  const char *p[1] = {"bob"};
  size_t m = mark();
  exec_ok("BEGIN");
  assert_int_equal(cw_db_declare(&d), CW_OK);
  PGresult *r = cw_PQexecParams(
      conn, "INSERT INTO accounts SELECT $1 || '-h', 0 WHERE false", 1, NULL, p,
      NULL, NULL, 0);
  assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
  PQclear(r);
  exec_ok("ROLLBACK");
  trace_reload();
  long a = find_ev(m, CW_EV_LOCK_ACQUIRED, "db:causeway_test:ledger:bob", NULL);
  assert_true(a >= 0);
  assert_true(find_ev(m, CW_EV_WRITE, "account:bob.history", NULL) > a);
  assert_true(find_ev((size_t)a, CW_EV_LOCK_RELEASE,
                      "db:causeway_test:ledger:bob", NULL) > a);
}

static void test_multi_statement_and_errors(void **state) {
  (void)state;
  size_t m = mark();
  exec_ok("BEGIN; SELECT balance FROM accounts WHERE id = 'alice' FOR UPDATE;"
          " COMMIT");
  PGresult *r = cw_PQexec(conn, "SELECT nope FROM accounts");
  assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
  PQclear(r);
  trace_reload();
  assert_true(find_ev(m, CW_EV_DB_QUERY, NULL, "BEGIN") >= 0);
  long s = find_ev(m, CW_EV_DB_QUERY, NULL, "SELECT balance");
  assert_true(s >= 0);
  assert_true(find_ev(m, CW_EV_DB_QUERY, NULL, "COMMIT") > s);
  long a = find_ev(m, CW_EV_LOCK_ACQUIRED, ROW_LOCK, NULL);
  assert_true(a >= 0);
  assert_true(find_ev((size_t)a, CW_EV_LOCK_RELEASE, ROW_LOCK, NULL) > a);
  long q = find_ev(m, CW_EV_DB_QUERY, NULL, "SELECT nope");
  long e = find_ev((size_t)q, CW_EV_DB_RESULT, NULL, NULL);
  assert_true(e > q);
  assert_true(events.ev[e].flags & CW_EVF_ERROR);
  assert_non_null(strstr(events.ev[e].detail, "nope"));
}

static void test_finish_releases(void **state) {
  (void)state;
  PGconn *c = connect_db();
  assert_non_null(c);
  size_t m = mark();
  PGresult *r = cw_PQexec(c, "BEGIN");
  PQclear(r);
  r = cw_PQexec(c, "SELECT balance FROM accounts WHERE id = 'alice' "
                   "FOR NO KEY UPDATE");
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  PQclear(r);
  cw_PQfinish(c);
  trace_reload();
  long a = find_ev(m, CW_EV_LOCK_ACQUIRED, ROW_LOCK, NULL);
  assert_true(a >= 0);
  assert_true(find_ev((size_t)a, CW_EV_LOCK_RELEASE, ROW_LOCK, NULL) > a);
}

int main(void) {
  if (!getenv("CW_PG_CONNINFO")) {
    printf("SKIP: CW_PG_CONNINFO is not set (run under with_postgres.sh)\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_for_update_transaction),
      cmocka_unit_test(test_autocommit_row_lock),
      cmocka_unit_test(test_prepared_and_params),
      cmocka_unit_test(test_declared_with_params),
      cmocka_unit_test(test_multi_statement_and_errors),
      cmocka_unit_test(test_finish_releases),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
