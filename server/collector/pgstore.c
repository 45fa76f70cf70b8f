/*
 * pgstore: PostgreSQL mirror of the store, shared by several collectors.
 *
 * DESIGN. One table holds every acknowledged batch:
 *   causeway_batches(id bigserial, origin bytea, kind smallint,
 *                    stream_id bytea, batch_no bigint, nevents int,
 *                    payload bytea, unique (stream_id, batch_no))
 * plus causeway_schema(version) for migrations. An ingest request inserts
 * its batches with one multi-row INSERT ... ON CONFLICT DO NOTHING in a
 * transaction that first takes a SHARE ROW EXCLUSIVE lock on the table: two
 * collectors' inserts then commit in id order, so a reader that remembers
 * the highest id it has read never skips a row committed later with a
 * smaller id. The poller thread reads rows with a larger id (in pages of
 * 256) and hands those that another collector run inserted (origin differs
 * from this run's random origin) to the same replay path as the local log.
 */
#define _POSIX_C_SOURCE 200809L
#include "pgstore.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef CW_HAVE_LIBPQ
#include <libpq-fe.h>

struct cw_pgstore {
  char *conninfo;
  PGconn *wc; /* writer connection */
  pthread_mutex_t wmu;
  uint8_t origin[16];
  pthread_t poller;
  int poller_started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop, caught_up;
  cw_store_replay_fn fn;
  void *ud;
  int interval_ms;
};

static const char *const migrations[CW_PG_SCHEMA_VERSION] = {
    /* 1 */
    "CREATE TABLE IF NOT EXISTS causeway_batches ("
    " id bigserial PRIMARY KEY,"
    " origin bytea NOT NULL,"
    " kind smallint NOT NULL,"
    " stream_id bytea,"
    " batch_no bigint,"
    " nevents integer NOT NULL,"
    " payload bytea NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " UNIQUE (stream_id, batch_no))",
};

static int exec_ok(PGconn *c, const char *sql, char *err, size_t errsz) {
  PGresult *r = PQexec(c, sql);
  ExecStatusType st = PQresultStatus(r);
  int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
  if (!ok && err)
    snprintf(err, errsz, "postgres: %s", PQerrorMessage(c));
  PQclear(r);
  return ok ? 0 : -1;
}

static int migrate(PGconn *c, char *err, size_t errsz) {
  /* "CREATE TABLE IF NOT EXISTS" on an existing table raises a NOTICE,
   * which libpq prints to stderr at every start: this session only reports
   * warnings and errors. Serialize concurrent starts with an advisory
   * lock. */
  if (exec_ok(c, "SET client_min_messages TO warning", err, errsz) ||
      exec_ok(c, "SELECT pg_advisory_lock(7607001)", err, errsz) ||
      exec_ok(c,
              "CREATE TABLE IF NOT EXISTS causeway_schema "
              "(version integer NOT NULL)",
              err, errsz))
    return -1;
  PGresult *r = PQexec(c, "SELECT max(version) FROM causeway_schema");
  int have = 0;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
      !PQgetisnull(r, 0, 0))
    have = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  int rc = 0;
  if (have > CW_PG_SCHEMA_VERSION) {
    snprintf(err, errsz,
             "postgres: schema version %d is newer than this build (%d)", have,
             CW_PG_SCHEMA_VERSION);
    rc = -1;
  }
  for (int v = have + 1; rc == 0 && v <= CW_PG_SCHEMA_VERSION; v++) {
    char ins[96];
    snprintf(ins, sizeof ins, "INSERT INTO causeway_schema VALUES (%d)", v);
    if (exec_ok(c, "BEGIN", err, errsz) ||
        exec_ok(c, migrations[v - 1], err, errsz) ||
        exec_ok(c, ins, err, errsz) || exec_ok(c, "COMMIT", err, errsz)) {
      exec_ok(c, "ROLLBACK", NULL, 0);
      rc = -1;
    }
  }
  exec_ok(c, "SELECT pg_advisory_unlock(7607001)", NULL, 0);
  return rc;
}

static void random_origin(uint8_t o[16]) {
  FILE *f = fopen("/dev/urandom", "rb");
  if (!f || fread(o, 1, 16, f) != 16) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                 (uint64_t)(uintptr_t)o;
    for (int i = 0; i < 16; i++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      o[i] = (uint8_t)(x >> 56);
    }
  }
  if (f)
    fclose(f);
}

int cw__pg_open(const char *conninfo, cw_pgstore **out, char *err,
                size_t errsz) {
  *out = NULL;
  cw_pgstore *p = calloc(1, sizeof *p);
  if (!p || !(p->conninfo = strdup(conninfo))) {
    free(p);
    snprintf(err, errsz, "out of memory");
    return -1;
  }
  pthread_mutex_init(&p->wmu, NULL);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  random_origin(p->origin);
  p->wc = PQconnectdb(conninfo);
  if (PQstatus(p->wc) != CONNECTION_OK) {
    snprintf(err, errsz, "postgres: %s", PQerrorMessage(p->wc));
    cw__pg_close(p);
    return -1;
  }
  if (migrate(p->wc, err, errsz)) {
    cw__pg_close(p);
    return -1;
  }
  *out = p;
  return 0;
}

static int reconnect(PGconn **c, const char *conninfo) {
  if (PQstatus(*c) == CONNECTION_OK)
    return 0;
  PQreset(*c);
  return PQstatus(*c) == CONNECTION_OK ? 0 : -1;
}

int cw__pg_insert(cw_pgstore *p, const cw_store_rec *recs, size_t n) {
  if (n == 0)
    return 0;
  if (n > 4096)
    return -1;
  size_t np = n * 6;
  const char **vals = calloc(np, sizeof *vals);
  int *lens = calloc(np, sizeof *lens), *fmts = calloc(np, sizeof *fmts);
  char(*txt)[3][24] = calloc(n, sizeof *txt);
  size_t sqlcap = 160 + n * 64;
  char *sql = malloc(sqlcap);
  int rc = -1;
  if (!vals || !lens || !fmts || !txt || !sql)
    goto out;
  size_t off = (size_t)snprintf(sql, sqlcap,
                                "INSERT INTO causeway_batches (origin, kind, "
                                "stream_id, batch_no, nevents, payload) "
                                "VALUES ");
  for (size_t i = 0; i < n; i++) {
    size_t b = i * 6;
    snprintf(txt[i][0], 24, "%u", (unsigned)recs[i].type);
    snprintf(txt[i][1], 24, "%llu", (unsigned long long)recs[i].batch_no);
    snprintf(txt[i][2], 24, "%u", (unsigned)recs[i].nevents);
    vals[b] = (const char *)p->origin;
    lens[b] = 16;
    fmts[b] = 1;
    vals[b + 1] = txt[i][0];
    vals[b + 2] = (const char *)recs[i].stream_id; /* NULL: SQL NULL */
    lens[b + 2] = 16;
    fmts[b + 2] = 1;
    vals[b + 3] = recs[i].stream_id ? txt[i][1] : NULL;
    vals[b + 4] = txt[i][2];
    vals[b + 5] = recs[i].data;
    lens[b + 5] = (int)recs[i].len;
    fmts[b + 5] = 1;
    off += (size_t)snprintf(sql + off, sqlcap - off,
                            "%s($%zu,$%zu,$%zu,$%zu,$%zu,$%zu)", i ? "," : "",
                            b + 1, b + 2, b + 3, b + 4, b + 5, b + 6);
  }
  snprintf(sql + off, sqlcap - off, " ON CONFLICT DO NOTHING");
  pthread_mutex_lock(&p->wmu);
  for (int attempt = 0; attempt < 2 && rc; attempt++) {
    if (reconnect(&p->wc, p->conninfo))
      continue;
    if (exec_ok(p->wc, "BEGIN", NULL, 0))
      continue;
    if (exec_ok(p->wc,
                "LOCK TABLE causeway_batches IN SHARE ROW EXCLUSIVE MODE", NULL,
                0)) {
      exec_ok(p->wc, "ROLLBACK", NULL, 0);
      continue;
    }
    PGresult *r = PQexecParams(p->wc, sql, (int)np, NULL, vals, lens, fmts, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (ok && exec_ok(p->wc, "COMMIT", NULL, 0) == 0)
      rc = 0;
    else
      exec_ok(p->wc, "ROLLBACK", NULL, 0);
  }
  pthread_mutex_unlock(&p->wmu);
out:
  free(vals);
  free(lens);
  free(fmts);
  free(txt);
  free(sql);
  return rc;
}

static uint64_t be64(const char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | (uint8_t)p[i];
  return v;
}

/* Reads one page of rows after *last. @return rows read, or -1. */
static int poll_page(cw_pgstore *p, PGconn *c, uint64_t *last) {
  char lastbuf[24];
  snprintf(lastbuf, sizeof lastbuf, "%llu", (unsigned long long)*last);
  const char *vals[1] = {lastbuf};
  PGresult *r = PQexecParams(c,
                             "SELECT id, origin, kind, nevents, payload "
                             "FROM causeway_batches WHERE id > $1::bigint "
                             "ORDER BY id LIMIT 256",
                             1, NULL, vals, NULL, NULL, 1);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    PQclear(r);
    return -1;
  }
  int n = PQntuples(r);
  for (int i = 0; i < n; i++) {
    uint64_t id = be64(PQgetvalue(r, i, 0));
    *last = id;
    if (PQgetlength(r, i, 1) == 16 &&
        !memcmp(PQgetvalue(r, i, 1), p->origin, 16))
      continue; /* inserted by this run: analysed at ingest */
    const char *kp = PQgetvalue(r, i, 2), *ep = PQgetvalue(r, i, 3);
    cw_store_rec rec;
    memset(&rec, 0, sizeof rec);
    rec.type = (uint8_t)(((uint8_t)kp[0] << 8) | (uint8_t)kp[1]);
    rec.nevents = (uint32_t)((uint8_t)ep[0] << 24 | (uint8_t)ep[1] << 16 |
                             (uint8_t)ep[2] << 8 | (uint8_t)ep[3]);
    rec.data = PQgetvalue(r, i, 4);
    rec.len = (size_t)PQgetlength(r, i, 4);
    if (p->fn)
      p->fn(p->ud, &rec);
  }
  PQclear(r);
  return n;
}

static void *poller_main(void *arg) {
  cw_pgstore *p = arg;
  PGconn *c = PQconnectdb(p->conninfo);
  uint64_t last = 0;
  pthread_mutex_lock(&p->mu);
  while (!p->stop) {
    pthread_mutex_unlock(&p->mu);
    int n = 0;
    if (reconnect(&c, p->conninfo) == 0)
      do
        n = poll_page(p, c, &last);
      while (n == 256);
    pthread_mutex_lock(&p->mu);
    if (n >= 0 && !p->caught_up)
      p->caught_up = 1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)p->interval_ms * 1000000L;
    while (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    if (!p->stop)
      pthread_cond_timedwait(&p->cv, &p->mu, &ts);
  }
  pthread_mutex_unlock(&p->mu);
  PQfinish(c);
  return NULL;
}

int cw__pg_start_poller(cw_pgstore *p, cw_store_replay_fn fn, void *ud,
                        int interval_ms) {
  p->fn = fn;
  p->ud = ud;
  p->interval_ms = interval_ms > 0 ? interval_ms : 200;
  if (pthread_create(&p->poller, NULL, poller_main, p))
    return -1;
  p->poller_started = 1;
  return 0;
}

int cw__pg_caught_up(cw_pgstore *p) {
  pthread_mutex_lock(&p->mu);
  int c = p->caught_up;
  pthread_mutex_unlock(&p->mu);
  return c;
}

void cw__pg_close(cw_pgstore *p) {
  if (!p)
    return;
  if (p->poller_started) {
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->poller, NULL);
  }
  if (p->wc)
    PQfinish(p->wc);
  pthread_mutex_destroy(&p->wmu);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p->conninfo);
  free(p);
}

#else /* !CW_HAVE_LIBPQ */

int cw__pg_open(const char *conninfo, cw_pgstore **out, char *err,
                size_t errsz) {
  (void)conninfo;
  *out = NULL;
  snprintf(err, errsz, "this build has no PostgreSQL support (libpq)");
  return -1;
}

int cw__pg_insert(cw_pgstore *p, const cw_store_rec *recs, size_t n) {
  (void)p;
  (void)recs;
  (void)n;
  return -1;
}

int cw__pg_start_poller(cw_pgstore *p, cw_store_replay_fn fn, void *ud,
                        int interval_ms) {
  (void)p;
  (void)fn;
  (void)ud;
  (void)interval_ms;
  return -1;
}

int cw__pg_caught_up(cw_pgstore *p) {
  (void)p;
  return 1;
}

void cw__pg_close(cw_pgstore *p) {
  (void)p;
}

#endif
