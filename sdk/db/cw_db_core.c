/*
 * cw_db_core: the recording core of the database wrappers.
 *
 * DESIGN. A wrapped statement is one cw__db_run: cw__db_start() records
 * the query and, before the database can block, the lock requests (FOR
 * UPDATE rows, BEGIN IMMEDIATE's database lock) or, for COMMIT/ROLLBACK,
 * the releases -- before the database releases anything, so that in a
 * merged stream a release always precedes the acquisition it enables.
 * cw__db_finish() records the acquisitions, the state accesses (declared or
 * inferred) and the result.
 *
 * Lock resources are interned by name in a fixed pool, so each one has a
 * stable address for the SDK's lock annotations (release -> acquire edges
 * between threads of a process come from the SDK's per-lock clocks). The
 * pool is bounded: when it is full, a resource no connection holds is
 * forgotten (cw_lock_forget) and its slot reused. All tables here use raw
 * pthread mutexes, which the SDK does not trace.
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_db_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Options and counters ------------------------------------------------ */

static atomic_int opt_infer = 1;
static atomic_int opt_params = 0;
static atomic_int opt_loaded = 0;
static atomic_int opt_clocks = 0;

static _Atomic uint64_t n_statements, n_errors, n_inferred, n_acquires,
    n_untracked;

static void load_env_options(void);

static int env_flag(const char *name, int dflt) {
  const char *v = getenv(name);
  if (!v || !*v)
    return dflt;
  return strcmp(v, "0") != 0;
}

void cw_db_options_init(cw_db_options *opts) {
  memset(opts, 0, sizeof *opts);
  opts->size = sizeof *opts;
  opts->infer = env_flag("CAUSEWAY_DB_INFER", 1);
  opts->record_params = env_flag("CAUSEWAY_DB_PARAMS", 0);
  opts->clock_table = env_flag("CAUSEWAY_DB_CLOCK_TABLE", 0);
}

cw_status cw_db_configure(const cw_db_options *opts) {
  if (!opts || opts->size != sizeof *opts)
    return CW_EINVAL;
  atomic_store(&opt_infer, opts->infer != 0);
  atomic_store(&opt_params, opts->record_params != 0);
  atomic_store(&opt_clocks, opts->clock_table != 0);
  atomic_store(&opt_loaded, 1);
  return CW_OK;
}

static void load_env_options(void) {
  if (atomic_load(&opt_loaded))
    return;
  cw_db_options o;
  cw_db_options_init(&o);
  int expected = 0;
  if (atomic_compare_exchange_strong(&opt_loaded, &expected, 1)) {
    atomic_store(&opt_infer, o.infer);
    atomic_store(&opt_params, o.record_params);
    atomic_store(&opt_clocks, o.clock_table);
  }
}

void cw_db_stats_get(cw_db_stats *out) {
  out->statements = atomic_load(&n_statements);
  out->errors = atomic_load(&n_errors);
  out->inferred = atomic_load(&n_inferred);
  out->lock_acquires = atomic_load(&n_acquires);
  out->untracked = atomic_load(&n_untracked);
}

int cw__db_record_params(void) {
  load_env_options();
  return atomic_load(&opt_params);
}

void cw__db_count_untracked(void) {
  atomic_fetch_add(&n_untracked, 1);
}

/* ---- Pending declarations ------------------------------------------------ */

typedef struct pending {
  int set;
  int n[3];
  int no_infer;
  char key[3][CW_DB_DECL_MAX][CW_DB_KEY_MAX + 1];
} pending;

static _Thread_local pending tl_decl;

static int copy_list(const char *const *src, size_t n,
                     char dst[][CW_DB_KEY_MAX + 1]) {
  if (n > CW_DB_DECL_MAX || (n > 0 && !src))
    return -1;
  for (size_t i = 0; i < n; i++) {
    size_t len = src[i] ? strlen(src[i]) : 0;
    if (len == 0 || len > CW_DB_KEY_MAX)
      return -1;
    memcpy(dst[i], src[i], len + 1);
  }
  return 0;
}

cw_status cw_db_declare(const cw_db_decl *decl) {
  if (!decl) {
    tl_decl.set = 0;
    return CW_OK;
  }
  if (decl->size != sizeof *decl)
    return CW_EINVAL;
  pending p;
  if (copy_list(decl->reads, decl->nreads, p.key[0]) != 0 ||
      copy_list(decl->writes, decl->nwrites, p.key[1]) != 0 ||
      copy_list(decl->locks, decl->nlocks, p.key[2]) != 0)
    return CW_ETOOBIG;
  p.n[0] = (int)decl->nreads;
  p.n[1] = (int)decl->nwrites;
  p.n[2] = (int)decl->nlocks;
  p.no_infer = decl->no_infer != 0;
  p.set = 1;
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < p.n[k]; i++)
      memcpy(tl_decl.key[k][i], p.key[k][i], strlen(p.key[k][i]) + 1);
  memcpy(tl_decl.n, p.n, sizeof p.n);
  tl_decl.no_infer = p.no_infer;
  tl_decl.set = 1;
  return CW_OK;
}

/* ---- Lock resources -------------------------------------------------------
 */

#define RES_MAX 2048
#define RES_BUCKETS 2048
#define RES_NAME_MAX 128

struct cw__db_res {
  char name[RES_NAME_MAX];
  uint32_t held; /* connections holding it */
  int used;
  int next; /* chain: pool index + 1, 0 = end */
};

static pthread_mutex_t res_mu = PTHREAD_MUTEX_INITIALIZER;
/* Serialises the recording of auto-commit lock blocks (cw__db_finish). */
static pthread_mutex_t block_mu = PTHREAD_MUTEX_INITIALIZER;
static cw__db_res res_pool[RES_MAX];
static int res_head[RES_BUCKETS];
static size_t res_count, res_hand;

static size_t res_bucket(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (size_t)(h % RES_BUCKETS);
}

static void res_unlink(int idx) {
  int *p = &res_head[res_bucket(res_pool[idx].name)];
  while (*p && *p != idx + 1)
    p = &res_pool[*p - 1].next;
  if (*p)
    *p = res_pool[idx].next;
}

/* @return the interned resource, or NULL when every slot is held. */
static cw__db_res *res_intern(const char *name) {
  cw__db_res *r = NULL;
  if (pthread_mutex_lock(&res_mu) != 0)
    abort();
  size_t b = res_bucket(name);
  for (int i = res_head[b]; i; i = res_pool[i - 1].next)
    if (strcmp(res_pool[i - 1].name, name) == 0) {
      r = &res_pool[i - 1];
      goto out;
    }
  int idx = -1;
  if (res_count < RES_MAX) {
    idx = (int)res_count++;
  } else {
    for (size_t k = 0; k < RES_MAX; k++) {
      size_t i = (res_hand + k) % RES_MAX;
      if (res_pool[i].held == 0) {
        idx = (int)i;
        res_hand = i + 1;
        res_unlink(idx);
        (void)cw_lock_forget(&res_pool[i]);
        break;
      }
    }
  }
  if (idx < 0)
    goto out;
  r = &res_pool[idx];
  snprintf(r->name, sizeof r->name, "%s", name);
  r->held = 0;
  r->used = 1;
  b = res_bucket(r->name);
  r->next = res_head[b];
  res_head[b] = idx + 1;
out:
  if (r)
    r->held++; /* pinned until the caller drops it */
  if (pthread_mutex_unlock(&res_mu) != 0)
    abort();
  return r;
}

static void res_unpin(cw__db_res *r) {
  if (pthread_mutex_lock(&res_mu) != 0)
    abort();
  if (r->held > 0)
    r->held--;
  if (pthread_mutex_unlock(&res_mu) != 0)
    abort();
}

static int conn_holds(const cw__db_conn *c, const cw__db_res *r) {
  for (size_t i = 0; i < c->nheld; i++)
    if (c->held[i] == r)
      return 1;
  return 0;
}

/* ---- Keys ------------------------------------------------------------------
 */

static const char *param_text(const cw__db_run *run, int n) {
  if (!run->params || n < 1 || n > run->nparams)
    return NULL;
  if (run->param_formats && run->param_formats[n - 1] != 0)
    return NULL; /* binary */
  return run->params[n - 1];
}

/* Copies a declared key, replacing "$1".."$9" with parameter values. */
static void expand_key(const cw__db_run *run, const char *in, char *out,
                       size_t cap) {
  size_t n = 0;
  for (; *in && n + 1 < cap; in++) {
    if (in[0] == '$' && in[1] >= '1' && in[1] <= '9') {
      const char *v = param_text(run, in[1] - '0');
      if (v) {
        for (; *v && n + 1 < cap; v++)
          out[n++] = *v;
        in++;
        continue;
      }
    }
    out[n++] = *in;
  }
  out[n] = 0;
}

/* The row key of an inferred statement, or NULL. */
static const char *row_key(const cw__db_run *run) {
  if (!run->info.has_row)
    return NULL;
  if (run->info.key_param == 0)
    return run->info.key;
  return param_text(run, run->info.key_param);
}

static int infer_on(const cw__db_run *run) {
  return !run->no_infer && atomic_load(&opt_infer);
}

/* ---- Events ------------------------------------------------------------- */

static void emit_query(const cw__db_conn *c, const cw__db_run *run) {
  char detail[512];
  size_t n = run->sql_len < 255 ? run->sql_len : 255;
  memcpy(detail, run->sql, n);
  detail[n] = 0;
  if (atomic_load(&opt_params) && run->params && run->nparams > 0) {
    size_t len = strlen(detail);
    for (int i = 1; i <= run->nparams && len + 16 < sizeof detail; i++) {
      const char *v = param_text(run, i);
      int w = snprintf(detail + len, sizeof detail - len, "%s$%d=%s%.40s%s",
                       i == 1 ? " -- " : ", ", i, v ? "'" : "",
                       v ? v : "(binary)", v ? "'" : "");
      if (w < 0)
        break;
      len += (size_t)w;
      if (len >= sizeof detail)
        len = sizeof detail - 1;
    }
  }
  cw_emit_info ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = CW_EMIT_DB_QUERY;
  ev.object = c->db;
  ev.detail = detail;
  ev.loc = run->loc;
  (void)cw_emit(&ev);
}

static void want_lock(cw__db_conn *c, cw__db_run *run, const char *name) {
  if (run->nwant >= CW__DB_MAX_HELD || c->nheld + run->nwant >= CW__DB_MAX_HELD)
    return;
  cw__db_res *r = res_intern(name);
  if (!r)
    return;
  if (conn_holds(c, r)) { /* already ours in this transaction */
    res_unpin(r);
    return;
  }
  for (size_t i = 0; i < run->nwant; i++)
    if (run->want[i] == r) {
      res_unpin(r);
      return;
    }
  run->want[run->nwant++] = r;
  cw_annotate_mutex_before_lock_at(r, r->name, run->loc);
}

/* ---- Clock table ------------------------------------------------------------
 */

static int clocks_on(const cw__db_conn *c) {
  return atomic_load(&opt_clocks) && c->clock_load && c->clock_store &&
         c->clock_table >= 0;
}

/* COMMIT: stores the committer's clock (which covers the releases just
 * recorded) for every resource it gives up. */
static void store_clock(cw__db_conn *c, const cw__db_run *run) {
  if (run->ndropped == 0 || !clocks_on(c))
    return;
  char buf[CW_CLOCK_HEADER_MAX + 1];
  const char *names[CW__DB_MAX_HELD];
  cw_clock_snapshot *snap = cw_clock_snapshot_new();
  if (snap && cw_clock_current(snap) == CW_OK &&
      cw_clock_encode(snap, buf, sizeof buf, NULL) == CW_OK) {
    for (size_t i = 0; i < run->ndropped; i++)
      names[i] = run->dropped[i]->name;
    c->clock_store(c, names, run->ndropped, buf);
  }
  cw_clock_snapshot_free(snap);
}

/* After an acquisition: joins the clock the last holder stored. */
static void load_clock(cw__db_conn *c, const cw__db_res *r) {
  char buf[CW_CLOCK_HEADER_MAX + 1];
  if (!clocks_on(c) || c->clock_load(c, r->name, buf, sizeof buf) != 1)
    return;
  cw_clock_snapshot *snap = cw_clock_snapshot_new();
  if (snap && cw_clock_decode(buf, strlen(buf), snap) == CW_OK)
    (void)cw_clock_join(snap, r->name);
  cw_clock_snapshot_free(snap);
}

void cw__db_start(cw__db_conn *c, cw__db_run *run) {
  load_env_options();
  run->traced = cw_is_enabled();
  run->t0 = cw_now_ns();
  run->nwant = run->ndropped = 0;
  run->ndecl_r = run->ndecl_w = run->ndecl_l = 0;
  run->no_infer = 0;
  if (tl_decl.set) {
    for (int k = 0; k < 3; k++)
      for (int i = 0; i < tl_decl.n[k]; i++)
        expand_key(run, tl_decl.key[k][i], run->decl[k][i],
                   sizeof run->decl[k][i]);
    run->ndecl_r = tl_decl.n[0];
    run->ndecl_w = tl_decl.n[1];
    run->ndecl_l = tl_decl.n[2];
    run->no_infer = tl_decl.no_infer;
    tl_decl.set = 0;
  }
  atomic_fetch_add(&n_statements, 1);
  if (!run->traced)
    return;
  emit_query(c, run);
  int kind = run->info.kind;
  if (kind == CW_SQL_COMMIT || kind == CW_SQL_ROLLBACK) {
    /* Release before the database does. */
    for (size_t i = 0; i < c->nheld; i++) {
      cw_annotate_mutex_before_unlock_at(c->held[i], c->held[i]->name,
                                         run->loc);
      run->dropped[run->ndropped++] = c->held[i];
    }
    c->nheld = 0;
    if (kind == CW_SQL_COMMIT)
      store_clock(c, run);
    return;
  }
  char name[CW__DB_NAME_MAX + CW_SQL_NAME_MAX + CW_SQL_VALUE_MAX + 4];
  if (kind == CW_SQL_BEGIN && run->info.begin_mode != CW_SQL_DEFERRED &&
      infer_on(run) && strncmp(c->prefix, "db:sqlite:", 10) == 0)
    want_lock(c, run, c->prefix);
  const char *key = row_key(run);
  /* SELECT ... FOR UPDATE locks the row; so does every single-row UPDATE
   * (the database takes the row's write lock for the statement, or until
   * the transaction ends), which makes its reads and writes atomic. */
  if (((kind == CW_SQL_SELECT && run->info.row_lock == CW_SQL_FOR_UPDATE) ||
       kind == CW_SQL_UPDATE) &&
      key && infer_on(run)) {
    snprintf(name, sizeof name, "%s:%s:%s", c->prefix, run->info.table, key);
    want_lock(c, run, name);
  }
  for (int i = 0; i < run->ndecl_l; i++)
    want_lock(c, run, run->decl[2][i]);
}

/* Database state is shared by every process using the database. */
static void access_key(cw_access_kind kind, const char *table, const char *key,
                       const char *col, cw_loc loc) {
  char buf[CW_SQL_NAME_MAX * 2 + CW_SQL_VALUE_MAX + 4];
  snprintf(buf, sizeof buf, "%s:%s.%s", table, key, col);
  cw_access((int)kind | CW_ACCESS_SHARED, buf, loc);
}

/* Inferred accesses: a SELECT reads its columns and those of its WHERE
 * conditions; an UPDATE (under the row lock cw__db_start asked for) reads
 * the columns of its SET expressions and WHERE conditions, then writes its
 * SET columns, unless it changed no row (rows == 0). */
static void record_accesses(const cw__db_run *run, int64_t rows) {
  const char *key = row_key(run);
  const cw__sql_info *in = &run->info;
  int inferred = 0;
  if (key && infer_on(run) &&
      (in->kind == CW_SQL_SELECT || in->kind == CW_SQL_UPDATE)) {
    if (in->kind == CW_SQL_SELECT)
      for (int i = 0; i < in->ncols; i++)
        access_key(CW_ACCESS_READ, in->table, key, in->cols[i], run->loc);
    for (int i = 0; i < in->nreads; i++) {
      int dup = 0; /* a SELECT's read column also in its conditions */
      for (int k = 0; in->kind == CW_SQL_SELECT && k < in->ncols; k++)
        dup |= strcmp(in->cols[k], in->reads[i]) == 0;
      if (!dup)
        access_key(CW_ACCESS_READ, in->table, key, in->reads[i], run->loc);
    }
    if (in->kind == CW_SQL_UPDATE && rows != 0)
      for (int i = 0; i < in->ncols; i++)
        access_key(CW_ACCESS_WRITE, in->table, key, in->cols[i], run->loc);
    inferred = in->ncols > 0 || in->nreads > 0;
  }
  for (int i = 0; i < run->ndecl_r; i++)
    cw_access(CW_ACCESS_READ | CW_ACCESS_SHARED, run->decl[0][i], run->loc);
  for (int i = 0; i < run->ndecl_w; i++)
    cw_access(CW_ACCESS_WRITE | CW_ACCESS_SHARED, run->decl[1][i], run->loc);
  if (inferred)
    atomic_fetch_add(&n_inferred, 1);
}

static void release_held(cw__db_conn *c, cw_loc loc) {
  for (size_t i = 0; i < c->nheld; i++) {
    cw_annotate_mutex_before_unlock_at(c->held[i], c->held[i]->name, loc);
    res_unpin(c->held[i]);
  }
  c->nheld = 0;
}

void cw__db_finish(cw__db_conn *c, cw__db_run *run, int ok, int64_t rows,
                   const char *errmsg, int in_txn) {
  if (!ok)
    atomic_fetch_add(&n_errors, 1);
  if (!run->traced) {
    for (size_t i = 0; i < run->nwant; i++)
      res_unpin(run->want[i]);
    return;
  }
  /* An auto-commit statement that locked rows did lock, access and unlock
   * inside the database before we got here: record that block in one piece
   * per process, so that two such statements never interleave in the trace
   * (either order is a valid serialisation of the database's). */
  int block = ok && !in_txn && run->nwant > 0;
  if (block && pthread_mutex_lock(&block_mu) != 0)
    abort();
  if (ok) {
    for (size_t i = 0; i < run->nwant; i++) {
      cw_annotate_mutex_after_lock_at(run->want[i], run->want[i]->name,
                                      run->loc);
      c->held[c->nheld++] = run->want[i];
      atomic_fetch_add(&n_acquires, 1);
      if (in_txn)
        load_clock(c, run->want[i]);
    }
    record_accesses(run, rows);
  } else {
    /* A failed lock attempt holds nothing; the engine sees the actor's
     * next event and ends the wait. */
    for (size_t i = 0; i < run->nwant; i++)
      res_unpin(run->want[i]);
  }
  run->nwant = 0;
  if (run->ndropped > 0) {
    if (!ok && in_txn) {
      /* COMMIT failed and the transaction is still open (SQLITE_BUSY):
       * the locks are still ours; take them again. */
      for (size_t i = 0; i < run->ndropped; i++) {
        cw_annotate_mutex_before_lock_at(run->dropped[i], run->dropped[i]->name,
                                         run->loc);
        cw_annotate_mutex_after_lock_at(run->dropped[i], run->dropped[i]->name,
                                        run->loc);
        c->held[c->nheld++] = run->dropped[i];
      }
    } else {
      for (size_t i = 0; i < run->ndropped; i++)
        res_unpin(run->dropped[i]);
    }
    run->ndropped = 0;
  }
  cw_emit_info ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = CW_EMIT_DB_RESULT;
  ev.object = c->db;
  ev.has_aux = 1;
  ev.aux = rows;
  ev.has_duration = 1;
  ev.duration_ns = cw_now_ns() - run->t0;
  ev.error = !ok;
  ev.detail = !ok && errmsg ? errmsg : NULL;
  ev.loc = run->loc;
  (void)cw_emit(&ev);
  if (!in_txn && c->nheld > 0)
    release_held(c, run->loc); /* auto-commit ended the locks */
  if (block && pthread_mutex_unlock(&block_mu) != 0)
    abort();
}

void cw__db_release_all(cw__db_conn *c, cw_loc loc) {
  if (cw_is_enabled()) {
    release_held(c, loc);
    return;
  }
  for (size_t i = 0; i < c->nheld; i++)
    res_unpin(c->held[i]);
  c->nheld = 0;
}

void cw__db_conn_init(cw__db_conn *c, const char *db, const char *prefix) {
  memset(c, 0, sizeof *c);
  snprintf(c->db, sizeof c->db, "%s", db);
  snprintf(c->prefix, sizeof c->prefix, "%s", prefix);
}
