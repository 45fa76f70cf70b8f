/*
 * cw_db_sqlite: SQLite wrappers (library causeway_sqlite).
 *
 * DESIGN. SQLite has no user-data slot on statements, so the wrapper keeps
 * each prepared statement's shape in a pointer-keyed map and each
 * connection's transaction state in another. An execution spans the first
 * step after prepare/reset to the step that returns SQLITE_DONE or an
 * error (or to reset/finalize). cw_sqlite3_exec() is re-implemented on top
 * of prepare/step (as sqlite3_exec() itself is), so each statement of a
 * script is recorded at the moment it runs: a COMMIT's releases precede the
 * COMMIT, a BEGIN IMMEDIATE's acquisition follows it.
 *
 * Keys of statements with "?" parameters are inferred from
 * sqlite3_expanded_sql(), which shows the bound values as literals; the
 * recorded statement text keeps the placeholders.
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_db_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#undef cw_sqlite3_prepare_v2
#undef cw_sqlite3_step
#undef cw_sqlite3_reset
#undef cw_sqlite3_finalize
#undef cw_sqlite3_exec
#undef cw_sqlite3_close

typedef struct sq_stmt {
  sqlite3 *db;
  cw__sql_info info;
  int64_t rows;
  cw__db_run *run; /* non-NULL while an execution is in progress */
} sq_stmt;

/* ---- Clock table (cw_db_options.clock_table) ------------------------------
 */

static int sq_ensure_table(cw__db_conn *c) {
  if (c->clock_table == 0)
    c->clock_table =
        sqlite3_exec(c->handle,
                     "CREATE TABLE IF NOT EXISTS " CW__DB_CLOCK_TABLE
                     "(resource TEXT PRIMARY KEY, clock TEXT NOT NULL)",
                     NULL, NULL, NULL) == SQLITE_OK
            ? 1
            : 0;
  return c->clock_table == 1;
}

static sqlite3_stmt *sq_prepare(cw__db_conn *c, const char *sql) {
  sqlite3_stmt *st = NULL;
  if (!sq_ensure_table(c))
    return NULL;
  if (sqlite3_prepare_v2(c->handle, sql, -1, &st, NULL) != SQLITE_OK) {
    c->clock_table = 0; /* e.g. the table's creation was rolled back */
    sqlite3_finalize(st);
    return NULL;
  }
  return st;
}

static int sq_clock_load(cw__db_conn *c, const char *resource, char *buf,
                         size_t cap) {
  sqlite3_stmt *st = sq_prepare(c, "SELECT clock FROM " CW__DB_CLOCK_TABLE
                                   " WHERE resource = ?1");
  int found = 0;
  if (!st)
    return 0;
  sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char *v = sqlite3_column_text(st, 0);
    if (v && strlen((const char *)v) < cap) {
      memcpy(buf, v, strlen((const char *)v) + 1);
      found = 1;
    }
  }
  sqlite3_finalize(st);
  return found;
}

static void sq_clock_store(cw__db_conn *c, const char *const *resources,
                           size_t n, const char *clock) {
  sqlite3_stmt *st = sq_prepare(c, "INSERT OR REPLACE INTO " CW__DB_CLOCK_TABLE
                                   "(resource, clock) VALUES (?1, ?2)");
  if (!st)
    return;
  for (size_t i = 0; i < n; i++) {
    sqlite3_bind_text(st, 1, resources[i], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, clock, -1, SQLITE_STATIC);
    (void)sqlite3_step(st);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
}

static cw__db_conn *conn_of(sqlite3 *db) {
  cw__db_conn *c = cw__pmap_get(cw__db_conns(), db);
  if (c)
    return c;
  c = malloc(sizeof *c);
  if (!c)
    return NULL;
  const char *path = sqlite3_db_filename(db, "main");
  char prefix[CW__DB_NAME_MAX];
  if (!path || !*path)
    path = ":memory:";
  size_t n = strlen(path);
  /* Lock names keep the tail of long paths (the SDK keeps 127 bytes). */
  const char *tail = n > 100 ? path + n - 100 : path;
  snprintf(prefix, sizeof prefix, "db:sqlite:%s", tail);
  cw__db_conn_init(c, path, prefix);
  c->handle = db;
  c->clock_load = sq_clock_load;
  c->clock_store = sq_clock_store;
  if (cw__pmap_put(cw__db_conns(), db, c) != 0) {
    free(c);
    cw__db_count_untracked();
    return NULL;
  }
  return c;
}

static sq_stmt *track(sqlite3_stmt *stmt) {
  sq_stmt *s = cw__pmap_get(cw__db_stmts(), stmt);
  if (s)
    return s;
  s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->db = sqlite3_db_handle(stmt);
  const char *sql = sqlite3_sql(stmt);
  cw__sql_classify(sql ? sql : "", sql ? strlen(sql) : 0, &s->info);
  if (cw__pmap_put(cw__db_stmts(), stmt, s) != 0) {
    free(s);
    cw__db_count_untracked();
    return NULL;
  }
  return s;
}

static int is_dml(int kind) {
  return kind == CW_SQL_UPDATE || kind == CW_SQL_INSERT ||
         kind == CW_SQL_DELETE;
}

static void begin_run(sqlite3_stmt *stmt, sq_stmt *s, cw_loc loc) {
  cw__db_conn *c = conn_of(s->db);
  if (!c)
    return;
  cw__db_run *run = malloc(sizeof *run);
  if (!run) {
    cw__db_count_untracked();
    return;
  }
  const char *sql = sqlite3_sql(stmt);
  char *shown = NULL;
  if (cw__db_record_params() && sqlite3_bind_parameter_count(stmt) > 0)
    shown = sqlite3_expanded_sql(stmt); /* values inline, as asked */
  run->sql = shown ? shown : sql ? sql : "";
  run->sql_len = strlen(run->sql);
  run->info = s->info;
  run->params = NULL;
  run->nparams = 0;
  run->param_formats = NULL;
  run->loc = loc;
  if (s->info.has_row && s->info.key_param > 0) {
    /* Read the bound key from the expanded text. */
    char *x = sqlite3_expanded_sql(stmt);
    cw__sql_info xi;
    if (x) {
      cw__sql_classify(x, strlen(x), &xi);
      sqlite3_free(x);
    }
    if (x && xi.has_row && xi.key_param == 0) {
      memcpy(run->info.key, xi.key, sizeof xi.key);
      run->info.key_param = 0;
    } else {
      run->info.has_row = 0;
    }
  }
  s->rows = 0;
  s->run = run;
  cw__db_start(c, run);
  run->sql = NULL; /* recorded; the text is not needed any more */
  sqlite3_free(shown);
}

static void end_run(sq_stmt *s, int ok, const char *err) {
  cw__db_run *run = s->run;
  cw__db_conn *c = cw__pmap_get(cw__db_conns(), s->db);
  s->run = NULL;
  if (!c) {
    free(run);
    return;
  }
  int64_t rows =
      is_dml(run->info.kind) && ok ? sqlite3_changes(s->db) : s->rows;
  cw__db_finish(c, run, ok, rows, err, !sqlite3_get_autocommit(s->db));
  free(run);
}

int cw_sqlite3_prepare_v2_at(sqlite3 *db, const char *sql, int nbyte,
                             sqlite3_stmt **stmt, const char **tail,
                             cw_loc loc) {
  (void)loc;
  int rc = sqlite3_prepare_v2(db, sql, nbyte, stmt, tail);
  if (rc == SQLITE_OK && stmt && *stmt) {
    /* A statement finalized without the wrapper may have left its state
     * under this address. */
    sq_stmt *stale = cw__pmap_take(cw__db_stmts(), *stmt);
    if (stale) {
      free(stale->run);
      free(stale);
    }
    (void)track(*stmt);
  }
  return rc;
}

int cw_sqlite3_step_at(sqlite3_stmt *stmt, cw_loc loc) {
  sq_stmt *s = stmt ? track(stmt) : NULL;
  if (s && !s->run)
    begin_run(stmt, s, loc);
  int rc = sqlite3_step(stmt);
  if (s && s->run) {
    if (rc == SQLITE_ROW)
      s->rows++;
    else
      end_run(s, rc == SQLITE_DONE,
              rc == SQLITE_DONE ? NULL : sqlite3_errmsg(s->db));
  }
  return rc;
}

int cw_sqlite3_reset_at(sqlite3_stmt *stmt, cw_loc loc) {
  (void)loc;
  sq_stmt *s = stmt ? cw__pmap_get(cw__db_stmts(), stmt) : NULL;
  if (s && s->run)
    end_run(s, 1, NULL); /* stopped early after rows: it succeeded */
  return sqlite3_reset(stmt);
}

int cw_sqlite3_finalize_at(sqlite3_stmt *stmt, cw_loc loc) {
  (void)loc;
  sq_stmt *s = stmt ? cw__pmap_take(cw__db_stmts(), stmt) : NULL;
  if (s) {
    if (s->run)
      end_run(s, 1, NULL);
    free(s);
  }
  return sqlite3_finalize(stmt);
}

int cw_sqlite3_exec_at(sqlite3 *db, const char *sql,
                       int (*callback)(void *, int, char **, char **),
                       void *arg, char **errmsg, cw_loc loc) {
  int rc = SQLITE_OK;
  const char *rest = sql;
  if (errmsg)
    *errmsg = NULL;
  while (rc == SQLITE_OK && rest && *rest) {
    sqlite3_stmt *stmt = NULL;
    const char *tail = NULL;
    rc = sqlite3_prepare_v2(db, rest, -1, &stmt, &tail);
    if (rc != SQLITE_OK)
      break;
    rest = tail;
    if (!stmt) /* blank or comment */
      continue;
    int ncol = 0;
    char **cols = NULL;
    for (;;) {
      int src = cw_sqlite3_step_at(stmt, loc);
      if (src == SQLITE_ROW && callback) {
        if (!cols) {
          ncol = sqlite3_column_count(stmt);
          cols =
              sqlite3_malloc64((sqlite3_uint64)(2 * ncol + 1) * sizeof *cols);
          if (!cols) {
            rc = SQLITE_NOMEM;
            break;
          }
          for (int i = 0; i < ncol; i++)
            cols[i] = (char *)sqlite3_column_name(stmt, i);
        }
        for (int i = 0; i < ncol; i++)
          cols[ncol + i] = (char *)sqlite3_column_text(stmt, i);
        if (callback(arg, ncol, cols + ncol, cols) != 0) {
          rc = SQLITE_ABORT;
          break;
        }
        continue;
      }
      if (src != SQLITE_ROW && src != SQLITE_DONE)
        rc = src;
      if (src != SQLITE_ROW)
        break;
    }
    sqlite3_free(cols);
    if (rc != SQLITE_OK && rc != SQLITE_ABORT && errmsg)
      *errmsg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    if (rc == SQLITE_ABORT && errmsg)
      *errmsg = sqlite3_mprintf("query aborted");
    (void)cw_sqlite3_finalize_at(stmt, loc);
  }
  if (rc != SQLITE_OK && errmsg && !*errmsg)
    *errmsg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
  return rc;
}

int cw_sqlite3_close_at(sqlite3 *db, cw_loc loc) {
  cw__db_conn *c = db ? cw__pmap_get(cw__db_conns(), db) : NULL;
  int rc = sqlite3_close(db);
  if (rc == SQLITE_OK && c) {
    cw__db_release_all(c, loc);
    free(cw__pmap_take(cw__db_conns(), db));
  }
  return rc;
}

int cw_sqlite3_prepare_v2(sqlite3 *db, const char *sql, int nbyte,
                          sqlite3_stmt **stmt, const char **tail) {
  return cw_sqlite3_prepare_v2_at(db, sql, nbyte, stmt, tail, CW_LOC_NONE);
}

int cw_sqlite3_step(sqlite3_stmt *stmt) {
  return cw_sqlite3_step_at(stmt, CW_LOC_NONE);
}

int cw_sqlite3_reset(sqlite3_stmt *stmt) {
  return cw_sqlite3_reset_at(stmt, CW_LOC_NONE);
}

int cw_sqlite3_finalize(sqlite3_stmt *stmt) {
  return cw_sqlite3_finalize_at(stmt, CW_LOC_NONE);
}

int cw_sqlite3_exec(sqlite3 *db, const char *sql,
                    int (*callback)(void *, int, char **, char **), void *arg,
                    char **errmsg) {
  return cw_sqlite3_exec_at(db, sql, callback, arg, errmsg, CW_LOC_NONE);
}

int cw_sqlite3_close(sqlite3 *db) {
  return cw_sqlite3_close_at(db, CW_LOC_NONE);
}
