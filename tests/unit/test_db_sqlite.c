/* Tests of the SQLite wrappers, read back from the trace they write:
 * statements and results, transactions and BEGIN IMMEDIATE's database lock
 * (acquired after BEGIN, released before COMMIT runs), inferred and
 * declared state keys, errors, parameters only when asked, the locks a
 * closing connection still held, and the clock table that carries a lock's
 * clock to the next holder. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "causeway/db.h"
#include "test_db_trace.h"

static char db_path[256], lock_name[300];
static sqlite3 *db;

static void exec_ok(const char *sql) {
  char *err = NULL;
  int rc = cw_sqlite3_exec(db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK)
    fail_msg("%s: %s", sql, err ? err : "?");
  sqlite3_free(err);
}

static int setup(void **state) {
  (void)state;
  if (trace_start("dbtest") != 0)
    return -1;
  snprintf(db_path, sizeof db_path, "/tmp/cw-dbtest-%ld.db", (long)getpid());
  unlink(db_path);
  if (sqlite3_open(db_path, &db) != SQLITE_OK)
    return -1;
  snprintf(lock_name, sizeof lock_name, "db:sqlite:%s", db_path);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  cw_sqlite3_close(db);
  unlink(db_path);
  trace_stop();
  return 0;
}

static void test_exec_statements_and_rows(void **state) {
  (void)state;
  size_t m = mark();
  exec_ok("CREATE TABLE accounts(id TEXT PRIMARY KEY, balance INTEGER);"
          "INSERT INTO accounts VALUES('alice', 100), ('bob', 50);");
  trace_reload();
  long q = find_ev(m, CW_EV_DB_QUERY, NULL, "CREATE TABLE accounts");
  assert_true(q >= 0);
  assert_string_equal(events.ev[q].object, db_path);
  q = find_ev(m, CW_EV_DB_QUERY, NULL, "INSERT INTO accounts");
  assert_true(q >= 0);
  long r = find_ev((size_t)q, CW_EV_DB_RESULT, NULL, NULL);
  assert_true(r > q);
  assert_int_equal(events.ev[r].aux, 2); /* rows inserted */
  assert_int_equal(events.ev[r].flags & CW_EVF_ERROR, 0);
  assert_true(events.ev[r].flags & CW_EVF_DURATION);

  /* A SELECT's result counts the rows returned. */
  sqlite3_stmt *st = NULL;
  m = mark();
  assert_int_equal(
      cw_sqlite3_prepare_v2(db, "SELECT id FROM accounts", -1, &st, NULL),
      SQLITE_OK);
  while (cw_sqlite3_step(st) == SQLITE_ROW)
    ;
  cw_sqlite3_finalize(st);
  trace_reload();
  r = find_ev(m, CW_EV_DB_RESULT, NULL, NULL);
  assert_true(r >= 0);
  assert_int_equal(events.ev[r].aux, 2);
}

static void test_begin_immediate_lock(void **state) {
  (void)state;
  size_t m = mark();
  exec_ok("BEGIN IMMEDIATE");
  exec_ok("UPDATE accounts SET balance = 90 WHERE id = 'alice'");
  exec_ok("COMMIT");
  trace_reload();
  long qb = find_ev(m, CW_EV_DB_QUERY, NULL, "BEGIN IMMEDIATE");
  long req = find_ev(m, CW_EV_LOCK_REQUEST, lock_name, NULL);
  long acq = find_ev(m, CW_EV_LOCK_ACQUIRED, lock_name, NULL);
  long w = find_ev(m, CW_EV_WRITE, "accounts:alice.balance", NULL);
  long qc = find_ev(m, CW_EV_DB_QUERY, NULL, "COMMIT");
  long rel = find_ev(m, CW_EV_LOCK_RELEASE, lock_name, NULL);
  long rc = qc >= 0 ? find_ev((size_t)qc, CW_EV_DB_RESULT, NULL, NULL) : -1;
  assert_true(qb >= 0 && req > qb && acq > req && w > acq);
  /* The release comes before the COMMIT's result: before SQLite unlocks. */
  assert_true(qc > w && rel > qc && rc > rel);
  /* A deferred BEGIN takes no lock. */
  m = mark();
  exec_ok("BEGIN");
  exec_ok("COMMIT");
  trace_reload();
  assert_true(find_ev(m, CW_EV_DB_QUERY, NULL, "BEGIN") >= 0);
  assert_int_equal(find_ev(m, CW_EV_LOCK_REQUEST, lock_name, NULL), -1);
}

static void test_inferred_keys(void **state) {
  (void)state;
  sqlite3_stmt *sel = NULL, *upd = NULL;
  size_t m = mark();
  assert_int_equal(
      cw_sqlite3_prepare_v2(db, "SELECT balance FROM accounts WHERE id = ?", -1,
                            &sel, NULL),
      SQLITE_OK);
  assert_int_equal(
      cw_sqlite3_prepare_v2(
          db, "UPDATE accounts SET balance = balance + 1 WHERE id = ?1", -1,
          &upd, NULL),
      SQLITE_OK);
  sqlite3_bind_text(sel, 1, "bob", -1, SQLITE_STATIC);
  assert_int_equal(cw_sqlite3_step(sel), SQLITE_ROW);
  cw_sqlite3_reset(sel); /* ends the execution early: still recorded */
  sqlite3_bind_text(sel, 1, "alice", -1, SQLITE_STATIC);
  assert_int_equal(cw_sqlite3_step(sel), SQLITE_ROW);
  assert_int_equal(cw_sqlite3_step(sel), SQLITE_DONE);
  sqlite3_bind_text(upd, 1, "alice", -1, SQLITE_STATIC);
  assert_int_equal(cw_sqlite3_step(upd), SQLITE_DONE);
  cw_sqlite3_finalize(sel);
  cw_sqlite3_finalize(upd);
  trace_reload();
  assert_true(find_ev(m, CW_EV_READ, "accounts:bob.balance", NULL) >= 0);
  long r = find_ev(m, CW_EV_READ, "accounts:alice.balance", NULL);
  assert_true(r >= 0);
  /* "balance = balance + 1" is one statement: under the row's lock it
   * reads and writes the balance (acquire, read, write, release). */
  char row[400];
  snprintf(row, sizeof row, "%s:accounts:alice", lock_name);
  long acq = find_ev(m, CW_EV_LOCK_ACQUIRED, row, NULL);
  long ur = find_ev((size_t)r + 1, CW_EV_READ, "accounts:alice.balance", NULL);
  long uw = find_ev(m, CW_EV_WRITE, "accounts:alice.balance", NULL);
  long rel = find_ev(m, CW_EV_LOCK_RELEASE, row, NULL);
  assert_true(acq > r);
  assert_true(ur > acq);
  assert_true(uw > ur);
  assert_true(rel > uw);
  assert_false(events.ev[uw].flags & CW_EVF_ATOMIC);
  assert_int_equal(find_ev(m, CW_EV_RMW, NULL, NULL), -1);
  /* The recorded text keeps the placeholder; values are not recorded. */
  long q = find_ev(m, CW_EV_DB_QUERY, NULL, "SELECT balance");
  assert_true(q >= 0);
  assert_string_equal(events.ev[q].detail,
                      "SELECT balance FROM accounts WHERE id = ?");
}

static void test_declared_keys(void **state) {
  (void)state;
  const char *reads[] = {"ledger:total"};
  const char *writes[] = {"account:alice.history"};
  cw_db_decl d;
  memset(&d, 0, sizeof d);
  d.size = sizeof d;
  d.reads = reads;
  d.nreads = 1;
  d.writes = writes;
  d.nwrites = 1;
  d.no_infer = 1;
  size_t m = mark();
  assert_int_equal(cw_db_declare(&d), CW_OK);
  exec_ok("UPDATE accounts SET balance = 7 WHERE id = 'bob'");
  /* A declaration applies to one statement only. */
  exec_ok("UPDATE accounts SET balance = 8 WHERE id = 'bob'");
  trace_reload();
  long r = find_ev(m, CW_EV_READ, "ledger:total", NULL);
  assert_true(r >= 0);
  assert_true(find_ev(m, CW_EV_WRITE, "account:alice.history", NULL) > r);
  /* no_infer hid the first UPDATE's key; the second infers it. */
  long w = find_ev(m, CW_EV_WRITE, "accounts:bob.balance", NULL);
  assert_true(w >= 0);
  assert_int_equal(
      find_ev((size_t)w + 1, CW_EV_WRITE, "accounts:bob.balance", NULL), -1);
  /* Bad declarations are refused whole. */
  d.size = 3;
  assert_int_equal(cw_db_declare(&d), CW_EINVAL);
  d.size = sizeof d;
  d.nreads = CW_DB_DECL_MAX + 1;
  assert_int_equal(cw_db_declare(&d), CW_ETOOBIG);
  assert_int_equal(cw_db_declare(NULL), CW_OK);
}

static void test_errors_recorded(void **state) {
  (void)state;
  size_t m = mark();
  char *err = NULL;
  int rc = cw_sqlite3_exec(db, "INSERT INTO accounts VALUES('alice', 1)", NULL,
                           NULL, &err);
  assert_int_equal(rc, SQLITE_CONSTRAINT);
  assert_non_null(err);
  sqlite3_free(err);
  trace_reload();
  long r = find_ev(m, CW_EV_DB_RESULT, NULL, NULL);
  assert_true(r >= 0);
  assert_true(events.ev[r].flags & CW_EVF_ERROR);
  assert_non_null(strstr(events.ev[r].detail, "UNIQUE"));
  cw_db_stats st;
  cw_db_stats_get(&st);
  assert_true(st.errors >= 1);
}

static void test_params_when_asked(void **state) {
  (void)state;
  cw_db_options o;
  cw_db_options_init(&o);
  o.record_params = 1;
  assert_int_equal(cw_db_configure(&o), CW_OK);
  sqlite3_stmt *st = NULL;
  size_t m = mark();
  assert_int_equal(
      cw_sqlite3_prepare_v2(db, "SELECT balance FROM accounts WHERE id = ?", -1,
                            &st, NULL),
      SQLITE_OK);
  sqlite3_bind_text(st, 1, "carol", -1, SQLITE_STATIC);
  while (cw_sqlite3_step(st) == SQLITE_ROW)
    ;
  cw_sqlite3_finalize(st);
  o.record_params = 0;
  assert_int_equal(cw_db_configure(&o), CW_OK);
  trace_reload();
  long q = find_ev(m, CW_EV_DB_QUERY, NULL, "SELECT balance");
  assert_true(q >= 0);
  assert_string_equal(events.ev[q].detail,
                      "SELECT balance FROM accounts WHERE id = 'carol'");
  o.size = 1;
  assert_int_equal(cw_db_configure(&o), CW_EINVAL);
}

static void test_close_releases(void **state) {
  (void)state;
  sqlite3 *other = NULL;
  assert_int_equal(sqlite3_open(db_path, &other), SQLITE_OK);
  size_t m = mark();
  assert_int_equal(cw_sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL),
                   SQLITE_OK);
  assert_int_equal(cw_sqlite3_close(other), SQLITE_OK);
  trace_reload();
  long a = find_ev(m, CW_EV_LOCK_ACQUIRED, lock_name, NULL);
  assert_true(a >= 0);
  assert_true(find_ev((size_t)a, CW_EV_LOCK_RELEASE, lock_name, NULL) > a);
}

static int read_clock(void *ud, int n, char **vals, char **cols) {
  (void)cols;
  if (n == 1 && vals[0])
    snprintf(ud, 64, "%.63s", vals[0]);
  return 0;
}

static void test_clock_table(void **state) {
  (void)state;
  cw_db_options o;
  cw_db_options_init(&o);
  o.clock_table = 1;
  assert_int_equal(cw_db_configure(&o), CW_OK);
  exec_ok("BEGIN IMMEDIATE");
  exec_ok("COMMIT");
  /* COMMIT stored the committer's clock for the database lock. */
  char clock[64] = "", sql[400];
  snprintf(sql, sizeof sql,
           "SELECT clock FROM causeway_clock WHERE resource = '%s'", lock_name);
  assert_int_equal(sqlite3_exec(db, sql, read_clock, clock, NULL), SQLITE_OK);
  assert_memory_equal(clock, "1.", 2);
  /* The next holder joins it right after acquiring. */
  size_t m = mark();
  exec_ok("BEGIN IMMEDIATE");
  exec_ok("ROLLBACK");
  trace_reload();
  long a = find_ev(m, CW_EV_LOCK_ACQUIRED, lock_name, NULL);
  long j = find_ev(m, CW_EV_MESSAGE, NULL, lock_name);
  assert_true(a >= 0 && j > a);
  o.clock_table = 0;
  assert_int_equal(cw_db_configure(&o), CW_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exec_statements_and_rows),
      cmocka_unit_test(test_begin_immediate_lock),
      cmocka_unit_test(test_inferred_keys),
      cmocka_unit_test(test_declared_keys),
      cmocka_unit_test(test_errors_recorded),
      cmocka_unit_test(test_params_when_asked),
      cmocka_unit_test(test_close_releases),
      cmocka_unit_test(test_clock_table),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
