/*
 * cw_db_int.h: the recording core shared by the SQLite and libpq wrappers
 * (not API): per-connection transaction state, lock resources, pending
 * declarations, options and counters, and a small pointer-keyed map.
 */
#ifndef CW_DB_INT_H
#define CW_DB_INT_H

#include <stddef.h>
#include <stdint.h>

#include "causeway.h"
#include "causeway/db.h"
#include "cw_sql.h"

/* ---- Pointer map (connections, statements) ------------------------------ */

/* A bounded map from an address to an owned value. Thread-safe: every call
 * takes the map's internal (untraced) mutex. */
typedef struct cw__pmap cw__pmap;

/* The process-wide maps. */
CW__DB_INTERNAL cw__pmap *cw__db_conns(void);
CW__DB_INTERNAL cw__pmap *cw__db_stmts(void);

/* @return the value stored for key, or NULL. */
CW__DB_INTERNAL void *cw__pmap_get(cw__pmap *m, const void *key);
/* Stores value for key (which must be absent). @return 0, or -1 when the
 * map is full (the caller then frees value). */
CW__DB_INTERNAL int cw__pmap_put(cw__pmap *m, const void *key, void *value);
/* Removes key. @return its value (the caller frees it), or NULL. */
CW__DB_INTERNAL void *cw__pmap_take(cw__pmap *m, const void *key);

/* ---- Connections and lock resources ---------------------------------------
 */

#define CW__DB_MAX_HELD 64
#define CW__DB_NAME_MAX 160

typedef struct cw__db_res cw__db_res; /* an interned lock resource */

typedef struct cw__db_conn cw__db_conn;

/* Clock table hooks (see cw_db_options.clock_table): load the clock stored
 * for a lock resource into buf (@return 1 when found), or store one clock
 * for n resources inside the current transaction. */
typedef int (*cw__db_clock_load_fn)(cw__db_conn *c, const char *resource,
                                    char *buf, size_t cap);
typedef void (*cw__db_clock_store_fn)(cw__db_conn *c,
                                      const char *const *resources, size_t n,
                                      const char *clock);

struct cw__db_conn {
  char db[CW__DB_NAME_MAX];     /* event object: "causeway_test", a path */
  char prefix[CW__DB_NAME_MAX]; /* lock prefix: "db:<name>" */
  cw__db_res *held[CW__DB_MAX_HELD];
  size_t nheld;
  void *extra;  /* wrapper-specific (prepared statement names for libpq) */
  void *handle; /* the sqlite3 * or PGconn * */
  cw__db_clock_load_fn clock_load;
  cw__db_clock_store_fn clock_store;
  int clock_table; /* 0 unknown, 1 created, -1 unusable */
};

/* One execution of one statement. Fill the inputs, then call start and
 * finish around the real call. */
typedef struct cw__db_run {
  /* inputs */
  const char *sql; /* the statement text as recorded */
  size_t sql_len;
  cw__sql_info info;         /* its shape (key literal filled when known) */
  const char *const *params; /* text parameter values, or NULL */
  int nparams;
  const int *param_formats; /* NULL: all text */
  cw_loc loc;
  /* state */
  int traced;
  uint64_t t0;
  int ndecl_r, ndecl_w, ndecl_l;
  int no_infer;
  char decl[3][CW_DB_DECL_MAX][CW_DB_KEY_MAX + 1];
  cw__db_res *want[CW__DB_MAX_HELD]; /* lock resources being requested */
  size_t nwant;
  cw__db_res *dropped[CW__DB_MAX_HELD]; /* released by COMMIT/ROLLBACK */
  size_t ndropped;
} cw__db_run;

/* Takes the calling thread's pending declaration into run (clearing it),
 * records db_query, lock requests, and (COMMIT/ROLLBACK) releases. */
CW__DB_INTERNAL void cw__db_start(cw__db_conn *c, cw__db_run *run);

/* Records the outcome: on success the lock acquisitions and state
 * accesses; always db_result (rows, duration, error). in_txn says whether
 * the connection is inside a transaction after the statement: when it is
 * not, every resource still held is released. */
CW__DB_INTERNAL void cw__db_finish(cw__db_conn *c, cw__db_run *run, int ok,
                                   int64_t rows, const char *errmsg,
                                   int in_txn);

/* Releases every resource the connection holds (connection close). */
CW__DB_INTERNAL void cw__db_release_all(cw__db_conn *c, cw_loc loc);

/* Fills the name fields of a new connection state. */
CW__DB_INTERNAL void cw__db_conn_init(cw__db_conn *c, const char *db,
                                      const char *prefix);

/* Counters. */
CW__DB_INTERNAL void cw__db_count_untracked(void);

/* @return 1 when statements are recorded with their parameter values. */
CW__DB_INTERNAL int cw__db_record_params(void);

/* The name of the clock table. */
#define CW__DB_CLOCK_TABLE "causeway_clock"

#endif /* CW_DB_INT_H */
