/*
 * bank_db: SQLite or PostgreSQL through causeway's DB glue (see bank_db.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "bank_db.h"

#include <causeway/db.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bank_svc.h"

struct bank_db {
  char path[4096]; /* SQLite file */
  const char *pg;  /* conninfo, or NULL */
  pthread_key_t key;
};

struct bank_conn {
  bank_db *db;
  sqlite3 *lite;
  PGconn *pq;
};

static void sql_sleep(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  bank_sleep_ms((long)sqlite3_value_int64(argv[0]));
  sqlite3_result_int(ctx, 0);
}

static void conn_close(void *p) {
  bank_conn *c = p;
  if (!c)
    return;
  if (c->lite)
    cw_sqlite3_close(c->lite);
  if (c->pq)
    cw_PQfinish(c->pq);
  free(c);
}

static bank_conn *conn_open(bank_db *db) {
  bank_conn *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->db = db;
  if (db->pg) {
    c->pq = PQconnectdb(db->pg);
    if (PQstatus(c->pq) != CONNECTION_OK) {
      bank_log("error", "cannot connect to PostgreSQL",
               json_pack("{s:s}", "error", PQerrorMessage(c->pq)));
      PQfinish(c->pq);
      free(c);
      return NULL;
    }
    PGresult *r = PQexec(c->pq, "SET client_min_messages = warning");
    PQclear(r);
    return c;
  }
  if (sqlite3_open_v2(db->path, &c->lite,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    bank_log("error", "cannot open SQLite database",
             json_pack("{s:s,s:s}", "path", db->path, "error",
                       c->lite ? sqlite3_errmsg(c->lite) : "out of memory"));
    sqlite3_close(c->lite);
    free(c);
    return NULL;
  }
  sqlite3_busy_timeout(c->lite, 30000);
  sqlite3_exec(c->lite, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
               NULL, NULL, NULL);
  sqlite3_create_function(c->lite, "bank_sleep", 1, SQLITE_UTF8, NULL,
                          sql_sleep, NULL, NULL);
  return c;
}

bank_db *bank_db_open(const char *dir, const char *name, const char *pg,
                      const char *schema_sqlite, const char *schema_pg) {
  bank_db *db = calloc(1, sizeof *db);
  if (!db)
    exit(1);
  db->pg = pg;
  if (!pg) {
    mkdir(dir, 0755);
    snprintf(db->path, sizeof db->path, "%s/%s.db", dir, name);
  }
  pthread_key_create(&db->key, conn_close);
  bank_conn *c = bank_db_conn(db);
  if (!c)
    exit(1);
  const char *schema = pg ? schema_pg : schema_sqlite;
  int rc;
  if (pg) {
    PGresult *r = cw_PQexec(c->pq, schema);
    rc = PQresultStatus(r) == PGRES_COMMAND_OK ||
                 PQresultStatus(r) == PGRES_TUPLES_OK
             ? 0
             : -1;
    if (rc)
      bank_log("error", "schema failed",
               json_pack("{s:s}", "error", PQresultErrorMessage(r)));
    PQclear(r);
  } else {
    char *err = NULL;
    rc = cw_sqlite3_exec(c->lite, schema, NULL, NULL, &err) == SQLITE_OK ? 0
                                                                         : -1;
    if (rc)
      bank_log("error", "schema failed",
               json_pack("{s:s}", "error", err ? err : "?"));
    sqlite3_free(err);
  }
  if (rc)
    exit(1);
  return db;
}

bank_conn *bank_db_conn(bank_db *db) {
  bank_conn *c = pthread_getspecific(db->key);
  if (c)
    return c;
  c = conn_open(db);
  if (c)
    pthread_setspecific(db->key, c);
  return c;
}

int bank_db_is_pg(const bank_db *db) {
  return db->pg != NULL;
}

static int all_digits(const char *s) {
  if (*s == '-')
    s++;
  if (!*s || strlen(s) > 18)
    return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return 0;
  return 1;
}

static int rows_add(bank_rows *out, int ncols, char **row) {
  char **nc = realloc(out->cells, sizeof(char *) * (size_t)ncols *
                                      (size_t)(out->nrows + 1));
  if (!nc)
    return -1;
  out->cells = nc;
  memcpy(nc + (size_t)out->nrows * (size_t)ncols, row,
         sizeof(char *) * (size_t)ncols);
  out->nrows++;
  out->ncols = ncols;
  return 0;
}

static char *dup_or_null(const char *s) {
  return s ? strdup(s) : NULL;
}

static int exec_sqlite(bank_conn *c, const char *sql, int np,
                       const char *const *params, bank_rows *out,
                       int64_t *changes) {
  sqlite3_stmt *st = NULL;
  if (cw_sqlite3_prepare_v2(c->lite, sql, -1, &st, NULL) != SQLITE_OK) {
    bank_log(
        "error", "prepare failed",
        json_pack("{s:s,s:s}", "sql", sql, "error", sqlite3_errmsg(c->lite)));
    return BANK_DB_ERROR;
  }
  for (int i = 0; i < np; i++) {
    char name[16];
    snprintf(name, sizeof name, "$%d", i + 1);
    int idx = sqlite3_bind_parameter_index(st, name);
    if (idx <= 0)
      continue;
    if (!params[i])
      sqlite3_bind_null(st, idx);
    else if (all_digits(params[i]))
      sqlite3_bind_int64(st, idx, strtoll(params[i], NULL, 10));
    else
      sqlite3_bind_text(st, idx, params[i], -1, SQLITE_TRANSIENT);
  }
  int rc;
  while ((rc = cw_sqlite3_step(st)) == SQLITE_ROW) {
    if (!out)
      continue;
    int n = sqlite3_column_count(st);
    char *row[32];
    if (n > 32)
      n = 32;
    for (int k = 0; k < n; k++)
      row[k] = dup_or_null((const char *)sqlite3_column_text(st, k));
    if (rows_add(out, n, row) != 0)
      for (int k = 0; k < n; k++)
        free(row[k]);
  }
  int result = BANK_DB_OK;
  if (rc != SQLITE_DONE) {
    int ext = sqlite3_extended_errcode(c->lite);
    result =
        (ext & 0xff) == SQLITE_CONSTRAINT ? BANK_DB_CONSTRAINT : BANK_DB_ERROR;
    if (result == BANK_DB_ERROR)
      bank_log(
          "error", "statement failed",
          json_pack("{s:s,s:s}", "sql", sql, "error", sqlite3_errmsg(c->lite)));
  }
  if (changes)
    *changes = sqlite3_changes64(c->lite);
  cw_sqlite3_finalize(st);
  return result;
}

static int exec_pg(bank_conn *c, const char *sql, int np,
                   const char *const *params, bank_rows *out,
                   int64_t *changes) {
  PGresult *r = cw_PQexecParams(c->pq, sql, np, NULL, params, NULL, NULL, 0);
  ExecStatusType s = PQresultStatus(r);
  int result = BANK_DB_OK;
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    result = state && strncmp(state, "23", 2) == 0 ? BANK_DB_CONSTRAINT
                                                   : BANK_DB_ERROR;
    if (result == BANK_DB_ERROR)
      bank_log(
          "error", "statement failed",
          json_pack("{s:s,s:s}", "sql", sql, "error", PQresultErrorMessage(r)));
  } else {
    if (out && s == PGRES_TUPLES_OK) {
      int n = PQnfields(r);
      if (n > 32)
        n = 32;
      for (int i = 0; i < PQntuples(r); i++) {
        char *row[32];
        for (int k = 0; k < n; k++)
          row[k] = PQgetisnull(r, i, k) ? NULL : strdup(PQgetvalue(r, i, k));
        if (rows_add(out, n, row) != 0)
          for (int k = 0; k < n; k++)
            free(row[k]);
      }
    }
    if (changes) {
      const char *t = PQcmdTuples(r);
      *changes = t && *t ? strtoll(t, NULL, 10) : 0;
    }
  }
  PQclear(r);
  return result;
}

int bank_exec(bank_conn *c, const char *sql, int nparams,
              const char *const *params, bank_rows *out, int64_t *changes) {
  if (out)
    memset(out, 0, sizeof *out);
  if (changes)
    *changes = 0;
  if (!c)
    return BANK_DB_ERROR;
  return c->pq ? exec_pg(c, sql, nparams, params, out, changes)
               : exec_sqlite(c, sql, nparams, params, out, changes);
}

const char *bank_cell(const bank_rows *rows, int row, int col) {
  if (!rows || row < 0 || row >= rows->nrows || col < 0 || col >= rows->ncols)
    return NULL;
  return rows->cells[(size_t)row * (size_t)rows->ncols + (size_t)col];
}

int64_t bank_cell_int(const bank_rows *rows, int row, int col) {
  const char *s = bank_cell(rows, row, col);
  return s ? strtoll(s, NULL, 10) : 0;
}

void bank_rows_free(bank_rows *rows) {
  if (!rows || !rows->cells)
    return;
  for (size_t i = 0; i < (size_t)rows->nrows * (size_t)rows->ncols; i++)
    free(rows->cells[i]);
  free(rows->cells);
  memset(rows, 0, sizeof *rows);
}

int bank_begin(bank_conn *c) {
  return bank_exec(c, c && c->pq ? "BEGIN" : "BEGIN IMMEDIATE", 0, NULL, NULL,
                   NULL);
}

int bank_commit(bank_conn *c) {
  return bank_exec(c, "COMMIT", 0, NULL, NULL, NULL);
}

int bank_rollback(bank_conn *c) {
  return bank_exec(c, "ROLLBACK", 0, NULL, NULL, NULL);
}

const char *bank_for_update(const bank_conn *c) {
  return c && c->pq ? " FOR UPDATE" : "";
}

const char *bank_sleep_expr(const bank_conn *c) {
  return c && c->pq ? "pg_sleep($2::float8 / 1000)" : "bank_sleep($2)";
}

const char *bank_i64(char *buf, int64_t v) {
  snprintf(buf, 24, "%lld", (long long)v);
  return buf;
}
