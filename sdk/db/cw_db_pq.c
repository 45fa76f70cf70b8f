/*
 * cw_db_pq: libpq wrappers (library causeway_pq).
 *
 * DESIGN. Each connection's state (held lock resources, and the text of
 * statements prepared through cw_PQprepare so that cw_PQexecPrepared can
 * record and classify them) lives in a pointer-keyed map. Whether a
 * transaction is still open after a statement comes from
 * PQtransactionStatus(), so auto-commit row locks and transactions ended by
 * errors or by unwrapped statements are released correctly. A PQexec
 * string with several statements is started statement by statement before
 * the call and finished after it (libpq runs it as one unit).
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_db_int.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#undef cw_PQexec
#undef cw_PQexecParams
#undef cw_PQprepare
#undef cw_PQexecPrepared
#undef cw_PQfinish

#define MAX_PREPARED 256
#define MAX_MULTI 16

typedef struct prepared {
  char name[64];
  char *sql;
} prepared;

typedef struct pq_extra {
  size_t n;
  prepared p[MAX_PREPARED];
} pq_extra;

/* ---- Clock table (cw_db_options.clock_table) ------------------------------
 */

/* Runs a command; @return 1 on success. */
static int raw_ok(PGconn *conn, const char *sql, int n, const char *const *v,
                  PGresult **keep) {
  PGresult *r = PQexecParams(conn, sql, n, NULL, v, NULL, NULL, 0);
  ExecStatusType s = PQresultStatus(r);
  int ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
  if (keep && ok)
    *keep = r;
  else
    PQclear(r);
  return ok;
}

/* Opens a savepoint (so a failure never aborts the caller's transaction)
 * and makes sure the table exists. @return 1 when ready. */
static int pq_begin(cw__db_conn *c) {
  PGconn *conn = c->handle;
  if (PQtransactionStatus(conn) != PQTRANS_INTRANS ||
      !raw_ok(conn, "SAVEPOINT cw_clock", 0, NULL, NULL))
    return 0;
  if (c->clock_table == 1 ||
      raw_ok(conn,
             "CREATE TABLE IF NOT EXISTS " CW__DB_CLOCK_TABLE
             "(resource text PRIMARY KEY, clock text NOT NULL)",
             0, NULL, NULL)) {
    c->clock_table = 1;
    return 1;
  }
  raw_ok(conn, "ROLLBACK TO SAVEPOINT cw_clock", 0, NULL, NULL);
  raw_ok(conn, "RELEASE SAVEPOINT cw_clock", 0, NULL, NULL);
  return 0;
}

static void pq_end(cw__db_conn *c, int ok) {
  if (!ok) {
    c->clock_table = 0; /* retry the creation next time */
    raw_ok(c->handle, "ROLLBACK TO SAVEPOINT cw_clock", 0, NULL, NULL);
  }
  raw_ok(c->handle, "RELEASE SAVEPOINT cw_clock", 0, NULL, NULL);
}

static int pq_clock_load(cw__db_conn *c, const char *resource, char *buf,
                         size_t cap) {
  PGresult *r = NULL;
  const char *v[1] = {resource};
  int found = 0;
  if (!pq_begin(c))
    return 0;
  int ok = raw_ok(
      c->handle, "SELECT clock FROM " CW__DB_CLOCK_TABLE " WHERE resource = $1",
      1, v, &r);
  if (ok && PQntuples(r) == 1) {
    const char *clock = PQgetvalue(r, 0, 0);
    if (clock && strlen(clock) < cap) {
      memcpy(buf, clock, strlen(clock) + 1);
      found = 1;
    }
  }
  PQclear(r);
  pq_end(c, ok);
  return found;
}

static void pq_clock_store(cw__db_conn *c, const char *const *resources,
                           size_t n, const char *clock) {
  if (n == 0 || !pq_begin(c))
    return;
  int ok = 1;
  for (size_t i = 0; ok && i < n; i++) {
    const char *v[2] = {resources[i], clock};
    ok = raw_ok(c->handle,
                "INSERT INTO " CW__DB_CLOCK_TABLE "(resource, clock) "
                "VALUES ($1, $2) ON CONFLICT (resource) DO UPDATE "
                "SET clock = EXCLUDED.clock",
                2, v, NULL);
  }
  pq_end(c, ok);
}

static cw__db_conn *conn_of(PGconn *conn) {
  cw__db_conn *c = cw__pmap_get(cw__db_conns(), conn);
  if (c)
    return c;
  c = malloc(sizeof *c);
  if (!c)
    return NULL;
  const char *db = PQdb(conn);
  char prefix[CW__DB_NAME_MAX];
  snprintf(prefix, sizeof prefix, "db:%s", db && *db ? db : "postgres");
  cw__db_conn_init(c, db && *db ? db : "postgres", prefix);
  c->handle = conn;
  c->clock_load = pq_clock_load;
  c->clock_store = pq_clock_store;
  if (cw__pmap_put(cw__db_conns(), conn, c) != 0) {
    free(c);
    cw__db_count_untracked();
    return NULL;
  }
  return c;
}

static int in_txn(PGconn *conn) {
  PGTransactionStatusType t = PQtransactionStatus(conn);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static int result_ok(const PGresult *res) {
  ExecStatusType s = PQresultStatus(res);
  return res && (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ||
                 s == PGRES_EMPTY_QUERY || s == PGRES_SINGLE_TUPLE);
}

static int64_t result_rows(const PGresult *res) {
  if (!res)
    return 0;
  if (PQresultStatus(res) == PGRES_TUPLES_OK)
    return PQntuples(res);
  const char *t = PQcmdTuples((PGresult *)res);
  return t && *t ? strtoll(t, NULL, 10) : 0;
}

/* The error text without its trailing newline. */
static const char *result_error(PGconn *conn, const PGresult *res, char *buf,
                                size_t cap) {
  const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  snprintf(buf, cap, "%s", m && *m ? m : "error");
  size_t n = strlen(buf);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
    buf[--n] = 0;
  return buf;
}

static void setup_run(cw__db_run *run, const char *sql, size_t len, int nparams,
                      const char *const *values, const int *formats,
                      cw_loc loc) {
  run->sql = sql;
  run->sql_len = len;
  cw__sql_classify(sql, len, &run->info);
  run->params = values;
  run->nparams = values ? nparams : 0;
  run->param_formats = formats;
  run->loc = loc;
}

static void finish(PGconn *conn, cw__db_conn *c, cw__db_run *run,
                   const PGresult *res) {
  char err[256];
  int ok = result_ok(res);
  cw__db_finish(c, run, ok, result_rows(res),
                ok ? NULL : result_error(conn, res, err, sizeof err),
                in_txn(conn));
}

PGresult *cw_PQexec_at(PGconn *conn, const char *query, cw_loc loc) {
  cw__db_conn *c = conn && query ? conn_of(conn) : NULL;
  if (!c)
    return PQexec(conn, query);
  size_t len = strlen(query), off = 0;
  int n = 0, count = 0;
  while (off < len && count < MAX_MULTI) { /* size the allocation */
    cw__sql_info probe;
    size_t used = cw__sql_classify(query + off, len - off, &probe);
    if (used == 0)
      break;
    off += used;
    count++;
  }
  cw__db_run *runs = malloc((size_t)(count ? count : 1) * sizeof *runs);
  if (!runs) {
    cw__db_count_untracked();
    return PQexec(conn, query);
  }
  off = 0;
  while (off < len && n < count) {
    cw__sql_info probe;
    size_t used = cw__sql_classify(query + off, len - off, &probe);
    if (used == 0)
      break;
    /* skip blank remainders such as a trailing newline */
    size_t s = off;
    while (s < off + used && (query[s] == ' ' || query[s] == '\n' ||
                              query[s] == '\t' || query[s] == '\r'))
      s++;
    if (s < off + used && query[s] != ';') {
      setup_run(&runs[n], query + s, off + used - s, 0, NULL, NULL, loc);
      cw__db_start(c, &runs[n]);
      n++;
    }
    off += used;
  }
  PGresult *res = PQexec(conn, query);
  for (int i = 0; i < n; i++)
    finish(conn, c, &runs[i], res);
  free(runs);
  return res;
}

PGresult *cw_PQexecParams_at(PGconn *conn, const char *command, int nParams,
                             const Oid *paramTypes,
                             const char *const *paramValues,
                             const int *paramLengths, const int *paramFormats,
                             int resultFormat, cw_loc loc) {
  cw__db_conn *c = conn && command ? conn_of(conn) : NULL;
  cw__db_run *run = c ? malloc(sizeof *run) : NULL;
  if (!run)
    return PQexecParams(conn, command, nParams, paramTypes, paramValues,
                        paramLengths, paramFormats, resultFormat);
  setup_run(run, command, strlen(command), nParams, paramValues, paramFormats,
            loc);
  cw__db_start(c, run);
  PGresult *res = PQexecParams(conn, command, nParams, paramTypes, paramValues,
                               paramLengths, paramFormats, resultFormat);
  finish(conn, c, run, res);
  free(run);
  return res;
}

PGresult *cw_PQprepare_at(PGconn *conn, const char *stmtName, const char *query,
                          int nParams, const Oid *paramTypes, cw_loc loc) {
  (void)loc;
  PGresult *res = PQprepare(conn, stmtName, query, nParams, paramTypes);
  cw__db_conn *c = conn && query && result_ok(res) ? conn_of(conn) : NULL;
  if (!c)
    return res;
  if (!c->extra)
    c->extra = calloc(1, sizeof(pq_extra));
  pq_extra *x = c->extra;
  const char *name = stmtName ? stmtName : "";
  if (!x || strlen(name) >= sizeof x->p[0].name) {
    cw__db_count_untracked();
    return res;
  }
  size_t i;
  for (i = 0; i < x->n; i++)
    if (strcmp(x->p[i].name, name) == 0)
      break;
  if (i == x->n) {
    if (x->n >= MAX_PREPARED) {
      cw__db_count_untracked();
      return res;
    }
    x->n++;
  } else {
    free(x->p[i].sql);
  }
  snprintf(x->p[i].name, sizeof x->p[i].name, "%s", name);
  size_t qlen = strlen(query);
  x->p[i].sql = malloc(qlen + 1);
  if (x->p[i].sql)
    memcpy(x->p[i].sql, query, qlen + 1);
  return res;
}

PGresult *cw_PQexecPrepared_at(PGconn *conn, const char *stmtName, int nParams,
                               const char *const *paramValues,
                               const int *paramLengths, const int *paramFormats,
                               int resultFormat, cw_loc loc) {
  cw__db_conn *c = conn ? conn_of(conn) : NULL;
  cw__db_run *run = c ? malloc(sizeof *run) : NULL;
  if (!run)
    return PQexecPrepared(conn, stmtName, nParams, paramValues, paramLengths,
                          paramFormats, resultFormat);
  const pq_extra *x = c->extra;
  const char *sql = NULL;
  char fallback[96];
  const char *name = stmtName ? stmtName : "";
  for (size_t i = 0; x && i < x->n; i++)
    if (strcmp(x->p[i].name, name) == 0)
      sql = x->p[i].sql;
  if (!sql) {
    snprintf(fallback, sizeof fallback, "EXECUTE %.64s", name);
    sql = fallback;
  }
  setup_run(run, sql, strlen(sql), nParams, paramValues, paramFormats, loc);
  cw__db_start(c, run);
  PGresult *res = PQexecPrepared(conn, stmtName, nParams, paramValues,
                                 paramLengths, paramFormats, resultFormat);
  finish(conn, c, run, res);
  free(run);
  return res;
}

void cw_PQfinish_at(PGconn *conn, cw_loc loc) {
  cw__db_conn *c = conn ? cw__pmap_take(cw__db_conns(), conn) : NULL;
  if (c) {
    cw__db_release_all(c, loc);
    pq_extra *x = c->extra;
    for (size_t i = 0; x && i < x->n; i++)
      free(x->p[i].sql);
    free(x);
    free(c);
  }
  PQfinish(conn);
}

PGresult *cw_PQexec(PGconn *conn, const char *query) {
  return cw_PQexec_at(conn, query, CW_LOC_NONE);
}

PGresult *cw_PQexecParams(PGconn *conn, const char *command, int nParams,
                          const Oid *paramTypes, const char *const *paramValues,
                          const int *paramLengths, const int *paramFormats,
                          int resultFormat) {
  return cw_PQexecParams_at(conn, command, nParams, paramTypes, paramValues,
                            paramLengths, paramFormats, resultFormat,
                            CW_LOC_NONE);
}

PGresult *cw_PQprepare(PGconn *conn, const char *stmtName, const char *query,
                       int nParams, const Oid *paramTypes) {
  return cw_PQprepare_at(conn, stmtName, query, nParams, paramTypes,
                         CW_LOC_NONE);
}

PGresult *cw_PQexecPrepared(PGconn *conn, const char *stmtName, int nParams,
                            const char *const *paramValues,
                            const int *paramLengths, const int *paramFormats,
                            int resultFormat) {
  return cw_PQexecPrepared_at(conn, stmtName, nParams, paramValues,
                              paramLengths, paramFormats, resultFormat,
                              CW_LOC_NONE);
}

void cw_PQfinish(PGconn *conn) {
  cw_PQfinish_at(conn, CW_LOC_NONE);
}
