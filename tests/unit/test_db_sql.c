/* Unit tests for cw_sql, the statement classifier behind the database
 * wrappers: transaction control, row-lock SELECTs, single-row UPDATEs, and
 * the shapes it must refuse to infer (so it never invents state keys). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cw_sql.h"

static cw__sql_info classify(const char *sql) {
  cw__sql_info info;
  size_t used = cw__sql_classify(sql, strlen(sql), &info);
  assert_true(used <= strlen(sql));
  return info;
}

static void test_transactions(void **state) {
  (void)state;
  cw__sql_info i = classify("BEGIN");
  assert_int_equal(i.kind, CW_SQL_BEGIN);
  assert_int_equal(i.begin_mode, CW_SQL_DEFERRED);
  i = classify("  begin immediate transaction;");
  assert_int_equal(i.kind, CW_SQL_BEGIN);
  assert_int_equal(i.begin_mode, CW_SQL_IMMEDIATE);
  i = classify("BEGIN EXCLUSIVE");
  assert_int_equal(i.begin_mode, CW_SQL_EXCLUSIVE);
  i = classify("START TRANSACTION ISOLATION LEVEL SERIALIZABLE");
  assert_int_equal(i.kind, CW_SQL_BEGIN);
  assert_int_equal(classify("COMMIT").kind, CW_SQL_COMMIT);
  assert_int_equal(classify("end transaction").kind, CW_SQL_COMMIT);
  assert_int_equal(classify("ROLLBACK").kind, CW_SQL_ROLLBACK);
  assert_int_equal(classify("abort").kind, CW_SQL_ROLLBACK);
  /* A savepoint rollback ends no transaction. */
  assert_int_equal(classify("ROLLBACK TO SAVEPOINT s1").kind, CW_SQL_OTHER);
  assert_int_equal(classify("rollback transaction to s1").kind, CW_SQL_OTHER);
  /* Comments before the keyword are skipped. */
  i = classify("-- move money\n/* x */ BEGIN IMMEDIATE");
  assert_int_equal(i.begin_mode, CW_SQL_IMMEDIATE);
}

static void test_select_for_update(void **state) {
  (void)state;
  cw__sql_info i =
      classify("SELECT balance FROM accounts WHERE id = $1 FOR UPDATE");
  assert_int_equal(i.kind, CW_SQL_SELECT);
  assert_int_equal(i.row_lock, CW_SQL_FOR_UPDATE);
  assert_int_equal(i.has_row, 1);
  assert_string_equal(i.table, "accounts");
  assert_int_equal(i.key_param, 1);
  assert_int_equal(i.ncols, 1);
  assert_string_equal(i.cols[0], "balance");

  i = classify("select Balance, owner from public.Accounts "
               "where accounts.id='al''ice' for no key update;");
  assert_int_equal(i.row_lock, CW_SQL_FOR_UPDATE);
  assert_string_equal(i.table, "public.accounts");
  assert_string_equal(i.key, "al'ice");
  assert_int_equal(i.key_param, 0);
  assert_int_equal(i.ncols, 2);
  assert_string_equal(i.cols[0], "balance");
  assert_string_equal(i.cols[1], "owner");

  i = classify("SELECT \"Balance\" FROM t WHERE k = 42 FOR SHARE");
  assert_int_equal(i.row_lock, CW_SQL_FOR_SHARE);
  assert_string_equal(i.cols[0], "Balance");
  assert_string_equal(i.key, "42");

  /* SQLite style parameters are numbered as SQLite does. */
  i = classify("SELECT balance FROM accounts WHERE id = ?");
  assert_int_equal(i.key_param, 1);
  i = classify("SELECT balance FROM accounts WHERE id = ?3");
  assert_int_equal(i.key_param, 3);
  /* A star names the row (for locks) but no column. */
  i = classify("SELECT * FROM accounts WHERE id = 'bob' FOR UPDATE");
  assert_int_equal(i.has_row, 1);
  assert_int_equal(i.ncols, 0);
  assert_string_equal(i.key, "bob");
}

/* Single-row statements with extra conditions: the columns they read. */
static void test_conditions_read(void **state) {
  (void)state;
  cw__sql_info i =
      classify("SELECT balance FROM accounts WHERE id = 'a' AND owner = 'b'");
  assert_int_equal(i.has_row, 1);
  assert_int_equal(i.nreads, 1);
  assert_string_equal(i.reads[0], "owner");

  i = classify("UPDATE accounts SET balance = balance - ? WHERE id = ? AND "
               "balance >= ?");
  assert_int_equal(i.has_row, 1);
  assert_int_equal(i.key_param, 2);
  assert_int_equal(i.ncols, 1);
  assert_int_equal(i.rmw[0], 1);
  assert_int_equal(i.nreads, 1);
  assert_string_equal(i.reads[0], "balance");

  i = classify("UPDATE notifications SET status='sent', sent_at = now() "
               "WHERE id=$1 AND status='pending' AND accounts.owner = $2 "
               "RETURNING id");
  assert_int_equal(i.has_row, 1);
  assert_string_equal(i.table, "notifications");
  assert_int_equal(i.key_param, 1);
  assert_int_equal(i.ncols, 2);
  assert_int_equal(i.rmw[0], 0);
  assert_int_equal(i.nreads, 2); /* not the key, not now() */
  assert_string_equal(i.reads[0], "status");
  assert_string_equal(i.reads[1], "owner");

  i = classify("UPDATE t SET a = b + c WHERE k = 1 AND d IS NOT NULL AND "
               "e = true");
  assert_int_equal(i.nreads, 4);
  assert_string_equal(i.reads[0], "b");
  assert_string_equal(i.reads[3], "e");

  assert_int_equal(classify("UPDATE t SET a = 1 WHERE k = 1 OR k = 2").has_row,
                   0);
  assert_int_equal(
      classify("UPDATE t SET a = 1 WHERE k = 1 AND b = (SELECT 1)").has_row, 0);
  assert_int_equal(classify("UPDATE t SET a = 1 WHERE k = 1 AND").has_row, 0);
}

static void test_select_refused(void **state) {
  (void)state;
  static const char *const refused[] = {
      "SELECT balance FROM accounts",
      "SELECT balance FROM accounts WHERE id = 'a' OR owner = 'b'",
      "SELECT balance FROM accounts WHERE id = 'a' AND (owner = 'b' OR 1)",
      "SELECT balance FROM accounts WHERE id = 'a' AND owner IN "
      "(SELECT x FROM y)",
      "SELECT balance FROM accounts WHERE id > 3",
      "SELECT balance FROM accounts WHERE id == 3",
      "SELECT sum(balance) FROM accounts WHERE id = 1",
      "SELECT balance AS b FROM accounts WHERE id = 1",
      ("SELECT balance FROM accounts a JOIN owners o ON a.o = o.id "
       "WHERE id = 1"),
      "SELECT balance FROM accounts WHERE id = :name",
      "SELECT balance FROM accounts WHERE id = 1 FOR UPDATE SKIP LOCKED",
      "SELECT balance FROM accounts WHERE id = 1 LIMIT 1",
      "SELECT balance FROM accounts WHERE id = (SELECT 1)",
  };
  for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
    cw__sql_info i = classify(refused[k]);
    assert_int_equal(i.kind, CW_SQL_SELECT);
    if (i.has_row)
      fail_msg("inferred a row from: %s", refused[k]);
  }
}

static void test_update(void **state) {
  (void)state;
  cw__sql_info i =
      classify("UPDATE accounts SET balance = $1 WHERE id = $2 RETURNING id");
  assert_int_equal(i.kind, CW_SQL_UPDATE);
  assert_int_equal(i.has_row, 1);
  assert_string_equal(i.table, "accounts");
  assert_int_equal(i.key_param, 2);
  assert_int_equal(i.ncols, 1);
  assert_string_equal(i.cols[0], "balance");
  assert_int_equal(i.rmw[0], 0);

  i = classify("update accounts set balance = balance - (?+1), n = ? "
               "where id = ?");
  assert_int_equal(i.ncols, 2);
  assert_int_equal(i.rmw[0], 1);
  assert_int_equal(i.rmw[1], 0);
  assert_string_equal(i.cols[1], "n");
  assert_int_equal(i.key_param, 3);

  i = classify("UPDATE accounts SET balance = 5 WHERE id = 'carol'");
  assert_string_equal(i.key, "carol");

  assert_int_equal(classify("UPDATE accounts SET balance = 5").has_row, 0);
  assert_int_equal(
      classify("UPDATE accounts SET balance = 5 WHERE id IN (1, 2)").has_row,
      0);
  assert_int_equal(classify("INSERT INTO t VALUES (1)").kind, CW_SQL_INSERT);
  assert_int_equal(classify("DELETE FROM t WHERE id = 1").kind, CW_SQL_DELETE);
  assert_int_equal(classify("DELETE FROM t WHERE id = 1").has_row, 0);
}

static void test_multi_statement(void **state) {
  (void)state;
  const char *sql = "BEGIN IMMEDIATE; UPDATE t SET v = 'a;b' WHERE id = 1;"
                    " COMMIT";
  size_t len = strlen(sql), off = 0;
  int kinds[4], n = 0;
  while (off < len && n < 4) {
    cw__sql_info i;
    size_t used = cw__sql_classify(sql + off, len - off, &i);
    assert_true(used > 0);
    kinds[n++] = i.kind;
    off += used;
  }
  assert_int_equal(n, 3);
  assert_int_equal(kinds[0], CW_SQL_BEGIN);
  assert_int_equal(kinds[1], CW_SQL_UPDATE);
  assert_int_equal(kinds[2], CW_SQL_COMMIT);
}

static void test_hostile_input(void **state) {
  (void)state;
  /* Unterminated strings, comments and dollar quotes end at the input's
   * end; overlong names and values disable inference. */
  static const char *const bad[] = {
      "SELECT 'unterminated",
      "/* never closed",
      "SELECT $tag$ no end",
      "\"",
      "UPDATE t SET v = ( WHERE id = 1",
      "SELECT ,,, FROM WHERE = FOR",
      "",
      ";;;",
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    cw__sql_info i = classify(bad[k]);
    assert_int_equal(i.has_row, 0);
  }
  char big[4096];
  memset(big, 'a', sizeof big);
  memcpy(big, "SELECT v FROM ", 14);
  big[sizeof big - 1] = 0;
  assert_int_equal(classify(big).has_row, 0);
  char longkey[600];
  int n = snprintf(longkey, sizeof longkey,
                   "SELECT v FROM t WHERE id = '%0300d'", 7);
  assert_true(n > 0);
  assert_int_equal(classify(longkey).has_row, 0);
  /* Embedded NUL bytes are just bytes: the classifier honours len. */
  const char nul[] = "BEGIN\0IMMEDIATE";
  cw__sql_info i;
  cw__sql_classify(nul, sizeof nul - 1, &i);
  assert_int_equal(i.kind, CW_SQL_BEGIN);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_transactions),
      cmocka_unit_test(test_select_for_update),
      cmocka_unit_test(test_select_refused),
      cmocka_unit_test(test_conditions_read),
      cmocka_unit_test(test_update),
      cmocka_unit_test(test_multi_statement),
      cmocka_unit_test(test_hostile_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
