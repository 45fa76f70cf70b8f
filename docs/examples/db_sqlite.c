/*
 * db_sqlite.c: SQLite through causeway's wrappers (docs/distributed.md).
 * A transfer inside BEGIN IMMEDIATE (SQLite's database-wide write lock,
 * recorded as the lock resource "db:sqlite:<path>") is ordered with every
 * other; the same read-then-update in auto-commit mode is a lost update.
 * The state keys ("accounts:alice.balance") are inferred from the
 * statements; the audit insert declares its own.
 *
 *   cc db_sqlite.c -lcauseway_sqlite -lcauseway -lsqlite3
 *   cc db_sqlite.c $(pkg-config --cflags --libs causeway-sqlite)
 * (shared libraries; for static ones use `pkg-config --static --libs`,
 * see README's install section; each line is tested by sdk_consumer)
 *   CAUSEWAY_TRACE_FILE=db.cwt ./db_sqlite /tmp/bank.db
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>

#include <causeway.h>
#include <causeway/db.h>

static int transfer(sqlite3 *db, const char *acct, long amount) {
  sqlite3_stmt *sel = NULL, *upd = NULL;
  int ok = 0;
  if (cw_sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return -1;
  if (cw_sqlite3_prepare_v2(db, "SELECT balance FROM accounts WHERE id = ?", -1,
                            &sel, NULL) == SQLITE_OK &&
      cw_sqlite3_prepare_v2(db, "UPDATE accounts SET balance = ? WHERE id = ?",
                            -1, &upd, NULL) == SQLITE_OK) {
    sqlite3_bind_text(sel, 1, acct, -1, SQLITE_STATIC);
    if (cw_sqlite3_step(sel) == SQLITE_ROW) { /* reads accounts:X.balance */
      long balance = (long)sqlite3_column_int64(sel, 0);
      sqlite3_bind_int64(upd, 1, balance + amount);
      sqlite3_bind_text(upd, 2, acct, -1, SQLITE_STATIC);
      ok = cw_sqlite3_step(upd) == SQLITE_DONE; /* writes it */
    }
  }
  cw_sqlite3_finalize(sel);
  cw_sqlite3_finalize(upd);
  /* A statement the inference cannot read declares what it touches. */
  const char *writes[] = {"audit:transfers"};
  cw_db_decl decl = {.size = sizeof decl, .writes = writes, .nwrites = 1};
  cw_db_declare(&decl);
  if (ok)
    ok = cw_sqlite3_exec(db, "INSERT INTO audit(note) VALUES ('transfer')",
                         NULL, NULL, NULL) == SQLITE_OK;
  cw_sqlite3_exec(db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
  return ok ? 0 : -1;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "bank.db";
  sqlite3 *db = NULL;
  if (cw_init(NULL) != CW_OK || sqlite3_open(path, &db) != SQLITE_OK)
    return 1;
  sqlite3_busy_timeout(db, 5000);
  cw_sqlite3_exec(db,
                  "CREATE TABLE IF NOT EXISTS accounts(id TEXT PRIMARY KEY,"
                  " balance INTEGER);"
                  "CREATE TABLE IF NOT EXISTS audit(note TEXT);"
                  "INSERT OR IGNORE INTO accounts VALUES ('alice', 100);",
                  NULL, NULL, NULL);
  int rc = transfer(db, "alice", 10);
  cw_sqlite3_close(db);
  cw_shutdown();
  printf("transfer: %s\n", rc == 0 ? "ok" : "failed");
  return rc == 0 ? 0 : 1;
}
