/*
 * bank_db: one small database interface for the demo-bank services, over
 * SQLite (a file in the data directory, the default) or PostgreSQL (a
 * connection string), both through causeway's DB glue (causeway/db.h), so
 * statements, transactions and row locks are traced as a user's would be.
 *
 * Statements use PostgreSQL's "$1".."$9" placeholders on both backends and
 * take every parameter as text (an all-digit text is bound as an integer
 * on SQLite). Parameterised queries only: no value is ever pasted into SQL.
 *
 * Each thread gets its own connection (opened on first use), as a
 * connection per worker thread is the usual setup: one connection is never
 * shared between threads.
 */
#ifndef BANK_DB_H
#define BANK_DB_H

#include <stdint.h>

typedef struct bank_db bank_db;
typedef struct bank_conn bank_conn;

/* Result rows: text cells, NULL for SQL NULL. */
typedef struct bank_rows {
  int nrows, ncols;
  char **cells; /* nrows * ncols */
} bank_rows;

enum {
  BANK_DB_OK = 0,
  BANK_DB_ERROR = -1,
  BANK_DB_CONSTRAINT = -2, /* unique or check constraint violated */
};

/* Opens a database: PostgreSQL when pg is non-NULL, else the SQLite file
 * <dir>/<name>.db (created). `schema` runs once per open (CREATE ... IF NOT
 * EXISTS). Exits the process (logged) when the database cannot be opened.
 * @return a new handle, valid until the process ends. */
bank_db *bank_db_open(const char *dir, const char *name, const char *pg,
                      const char *schema_sqlite, const char *schema_pg);

/* @return the calling thread's connection (opened on first use), or NULL
 * when it cannot be opened (logged). */
bank_conn *bank_db_conn(bank_db *db);

/* @return 1 for PostgreSQL. */
int bank_db_is_pg(const bank_db *db);

/* Runs one statement. @param out  may be NULL; else receives the rows
 * (free with bank_rows_free). @param changes  may be NULL; rows changed.
 * @return BANK_DB_OK, BANK_DB_CONSTRAINT or BANK_DB_ERROR (logged). */
int bank_exec(bank_conn *c, const char *sql, int nparams,
              const char *const *params, bank_rows *out, int64_t *changes);
/* bank_exec with the text parameters given inline (any may be NULL):
 * bank_execf(c, &rows, NULL, "SELECT ... WHERE id = $1", id). */
#define bank_execf(c, out, changes, sql, ...)                                  \
  bank_exec((c), (sql),                                                        \
            (int)(sizeof((const char *[]){NULL, __VA_ARGS__}) /                \
                  sizeof(const char *)) -                                      \
                1,                                                             \
            ((const char *const[]){NULL, __VA_ARGS__}) + 1, (out), (changes))

/* Cell (row, col), or NULL. */
const char *bank_cell(const bank_rows *rows, int row, int col);
/* Cell as int64 (0 when NULL or absent). */
int64_t bank_cell_int(const bank_rows *rows, int row, int col);
void bank_rows_free(bank_rows *rows);

/* Begins a write transaction: BEGIN IMMEDIATE on SQLite (the database
 * lock), BEGIN on PostgreSQL (row locks come from SELECT ... FOR UPDATE).
 * @return BANK_DB_OK or BANK_DB_ERROR. */
int bank_begin(bank_conn *c);
int bank_commit(bank_conn *c);
int bank_rollback(bank_conn *c);

/* " FOR UPDATE" on PostgreSQL, "" on SQLite. */
const char *bank_for_update(const bank_conn *c);
/* A select-list item that sleeps $2 milliseconds inside the database
 * (scenario 5's slow query): "bank_sleep($2)" (a function the SQLite
 * connection defines) or "pg_sleep($2::float8 / 1000)". */
const char *bank_sleep_expr(const bank_conn *c);

/* Formats an int64 as text into buf (for parameters). @return buf. */
const char *bank_i64(char *buf, int64_t v);

#endif /* BANK_DB_H */
