/*
 * causeway/db.h: wrappers for SQLite (library causeway_sqlite) and libpq
 * (library causeway_pq). Link only the one you use; both need libcauseway.
 *
 * Each wrapper has the signature of the call it replaces and returns its
 * result unchanged. Around the call it records:
 *  - db_query: the statement text (parameters only when asked, see
 *    cw_db_options) and the database;
 *  - db_result: rows (returned by a SELECT, changed by other statements),
 *    duration, and the error message on failure;
 *  - transactions: BEGIN, COMMIT and ROLLBACK are ordinary db_query events;
 *  - row locks (design 4.1): SELECT ... FOR UPDATE / FOR NO KEY UPDATE
 *    (PostgreSQL) acquires the lock resource "db:<dbname>:<table>:<key>",
 *    BEGIN IMMEDIATE / EXCLUSIVE (SQLite) acquires "db:sqlite:<path>" (a
 *    database-wide lock); COMMIT or ROLLBACK releases them (and so does
 *    closing the connection). A transfer that locks its rows is therefore
 *    ordered; an auto-commit read-then-update is not and shows up as a
 *    lost-update race;
 *  - state accesses: keys a statement reads and writes, declared with
 *    cw_db_declare(), or inferred for simple single-row statements:
 *      SELECT c FROM t WHERE k = v           reads  "t:v.c"
 *      UPDATE t SET c = ... WHERE k = v      writes "t:v.c"
 *    (v a literal or parameter; other shapes infer nothing).
 *
 * Requirements: a transaction stays on one thread (actor) from BEGIN to
 * COMMIT/ROLLBACK, as it does with one connection per thread. Wrapped and
 * unwrapped calls may be mixed on a connection, but statements run
 * unwrapped are invisible (a COMMIT run unwrapped leaves its locks held
 * until the next wrapped statement finds the transaction closed).
 *
 * Thread-safety: every function is thread-safe for distinct connections.
 * One connection (and its statements) must not be used by two threads at
 * the same time through the wrappers, even where the library allows it.
 */
#ifndef CAUSEWAY_DB_H
#define CAUSEWAY_DB_H

#include <stddef.h>
#include <stdint.h>

#include "causeway.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Declarations and options (both libraries) -------------------------- */

/* Most keys or lock resources one declaration carries, and their length. */
#define CW_DB_DECL_MAX 16
#define CW_DB_KEY_MAX 127

/* What the next statement touches. Zero it, set `size`, then the lists.
 * In keys and locks, "$1".."$9" stand for the statement's parameter values
 * (libpq exec-with-params and prepared statements; text parameters only). */
typedef struct cw_db_decl {
  uint32_t size;            /* sizeof(cw_db_decl) */
  const char *const *reads; /* state keys read, e.g. "account:$1.balance" */
  size_t nreads;
  const char *const *writes; /* state keys written */
  size_t nwrites;
  /* Row-lock resources the statement acquires (held until COMMIT or
   * ROLLBACK), for locking statements the inference cannot read. Name them
   * "db:..." (as inferred ones are): only such names are shared by the
   * processes using the database; others are scoped to this process
   * (docs/detection.md, 1.1). Declared and inferred keys are always
   * recorded as shared (CW_ACCESS_SHARED). */
  const char *const *locks;
  size_t nlocks;
  /* Non-zero: do not add inferred keys and row locks to the declared
   * ones. */
  int no_infer;
} cw_db_decl;

/* Declares what the next statement run by the calling thread through any
 * wrapper reads, writes and locks. For SQLite the "next statement" is the
 * next cw_sqlite3_exec() or the next execution of a prepared statement
 * (its first cw_sqlite3_step() after prepare or reset).
 * @param decl  borrowed; keys are copied (up to CW_DB_DECL_MAX of each
 *              kind, CW_DB_KEY_MAX bytes each). NULL clears a pending
 *              declaration.
 * @return CW_OK, CW_EINVAL (bad size), CW_ETOOBIG (too many or too long
 *         keys; nothing is declared). Thread-safe (per-thread state). */
CW_API cw_status cw_db_declare(const cw_db_decl *decl);

/* Process-wide options. Fill with cw_db_options_init(), change fields,
 * then cw_db_configure(). */
typedef struct cw_db_options {
  uint32_t size;     /* sizeof(cw_db_options) */
  int infer;         /* infer keys and row locks (default 1) */
  int record_params; /* append parameter values to recorded statements
                        (default 0: they may hold personal data) */
  /* Carry clocks through the database (default 0): COMMIT also stores the
   * committer's clock for each lock resource it releases in the table
   * causeway_clock(resource, clock), created on first use, and whoever
   * acquires the resource next joins it. This orders row-locked
   * transactions of different processes. The extra statements run inside
   * the transaction (under a savepoint in PostgreSQL, so a failure never
   * aborts yours). */
  int clock_table;
} cw_db_options;

/* Fills *opts with the defaults (CAUSEWAY_DB_PARAMS=1 in the environment
 * turns record_params on, CAUSEWAY_DB_INFER=0 turns inference off,
 * CAUSEWAY_DB_CLOCK_TABLE=1 turns clock_table on). */
CW_API void cw_db_options_init(cw_db_options *opts);
/* Applies options to statements started afterwards.
 * @return CW_OK or CW_EINVAL. Thread-safe. */
CW_API cw_status cw_db_configure(const cw_db_options *opts);

/* Counters since the process started. */
typedef struct cw_db_stats {
  uint64_t statements;    /* statements recorded */
  uint64_t errors;        /* statements that failed */
  uint64_t inferred;      /* statements whose keys or locks were inferred */
  uint64_t lock_acquires; /* row-lock resources acquired */
  uint64_t untracked;     /* statements not tracked (a bounded table was
                             full); they still ran */
} cw_db_stats;

/* Copies the counters into *out. Thread-safe. */
CW_API void cw_db_stats_get(cw_db_stats *out);

/* ---- SQLite (causeway_sqlite) ------------------------------------------- */

/* Every wrapper below is also a macro of the same name that passes the
 * caller's location (reported with races on inferred keys); call
 * (cw_sqlite3_step)(stmt) or the _at form for the plain function. */

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

/* sqlite3_prepare_v2(); remembers the statement's text and shape. */
CW_API int cw_sqlite3_prepare_v2_at(sqlite3 *db, const char *sql, int nbyte,
                                    sqlite3_stmt **stmt, const char **tail,
                                    cw_loc loc);
/* sqlite3_step(). The first step of an execution records db_query (and a
 * lock request for BEGIN IMMEDIATE/EXCLUSIVE); the step that returns
 * SQLITE_DONE or an error records the state accesses and db_result. */
CW_API int cw_sqlite3_step_at(sqlite3_stmt *stmt, cw_loc loc);
/* sqlite3_reset(); ends an execution that had not finished. */
CW_API int cw_sqlite3_reset_at(sqlite3_stmt *stmt, cw_loc loc);
/* sqlite3_finalize(); ends an unfinished execution and forgets the
 * statement. Accepts NULL as sqlite3_finalize() does. */
CW_API int cw_sqlite3_finalize_at(sqlite3_stmt *stmt, cw_loc loc);
/* sqlite3_exec(), recorded statement by statement. */
CW_API int cw_sqlite3_exec_at(sqlite3 *db, const char *sql,
                              int (*callback)(void *, int, char **, char **),
                              void *arg, char **errmsg, cw_loc loc);
/* sqlite3_close(); releases the lock resources the connection holds. */
CW_API int cw_sqlite3_close_at(sqlite3 *db, cw_loc loc);

CW_API int cw_sqlite3_prepare_v2(sqlite3 *db, const char *sql, int nbyte,
                                 sqlite3_stmt **stmt, const char **tail);
CW_API int cw_sqlite3_step(sqlite3_stmt *stmt);
CW_API int cw_sqlite3_reset(sqlite3_stmt *stmt);
CW_API int cw_sqlite3_finalize(sqlite3_stmt *stmt);
CW_API int cw_sqlite3_exec(sqlite3 *db, const char *sql,
                           int (*callback)(void *, int, char **, char **),
                           void *arg, char **errmsg);
CW_API int cw_sqlite3_close(sqlite3 *db);
#define cw_sqlite3_prepare_v2(d, s, n, st, t)                                  \
  cw_sqlite3_prepare_v2_at((d), (s), (n), (st), (t), CW_LOC_HERE)
#define cw_sqlite3_step(s) cw_sqlite3_step_at((s), CW_LOC_HERE)
#define cw_sqlite3_reset(s) cw_sqlite3_reset_at((s), CW_LOC_HERE)
#define cw_sqlite3_finalize(s) cw_sqlite3_finalize_at((s), CW_LOC_HERE)
#define cw_sqlite3_exec(d, s, cb, a, e)                                        \
  cw_sqlite3_exec_at((d), (s), (cb), (a), (e), CW_LOC_HERE)
#define cw_sqlite3_close(d) cw_sqlite3_close_at((d), CW_LOC_HERE)

/* ---- PostgreSQL / libpq (causeway_pq) ------------------------------------ */

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;
typedef unsigned int Oid;

/* PQexec(). A query string with several statements is recorded statement
 * by statement; the rows of the result belong to the last one. */
CW_API PGresult *cw_PQexec_at(PGconn *conn, const char *query, cw_loc loc);
/* PQexecParams(). Text parameter values fill "$N" in declarations and
 * inferred keys. */
CW_API PGresult *cw_PQexecParams_at(PGconn *conn, const char *command,
                                    int nParams, const Oid *paramTypes,
                                    const char *const *paramValues,
                                    const int *paramLengths,
                                    const int *paramFormats, int resultFormat,
                                    cw_loc loc);
/* PQprepare(); remembers the statement's text under its name for
 * cw_PQexecPrepared() (up to 256 names per connection). */
CW_API PGresult *cw_PQprepare_at(PGconn *conn, const char *stmtName,
                                 const char *query, int nParams,
                                 const Oid *paramTypes, cw_loc loc);
/* PQexecPrepared(), recorded with the prepared statement's text. */
CW_API PGresult *
cw_PQexecPrepared_at(PGconn *conn, const char *stmtName, int nParams,
                     const char *const *paramValues, const int *paramLengths,
                     const int *paramFormats, int resultFormat, cw_loc loc);
/* PQfinish(); releases the lock resources the connection holds. */
CW_API void cw_PQfinish_at(PGconn *conn, cw_loc loc);

CW_API PGresult *cw_PQexec(PGconn *conn, const char *query);
CW_API PGresult *cw_PQexecParams(PGconn *conn, const char *command, int nParams,
                                 const Oid *paramTypes,
                                 const char *const *paramValues,
                                 const int *paramLengths,
                                 const int *paramFormats, int resultFormat);
CW_API PGresult *cw_PQprepare(PGconn *conn, const char *stmtName,
                              const char *query, int nParams,
                              const Oid *paramTypes);
CW_API PGresult *cw_PQexecPrepared(PGconn *conn, const char *stmtName,
                                   int nParams, const char *const *paramValues,
                                   const int *paramLengths,
                                   const int *paramFormats, int resultFormat);
CW_API void cw_PQfinish(PGconn *conn);
#define cw_PQexec(c, q) cw_PQexec_at((c), (q), CW_LOC_HERE)
#define cw_PQexecParams(c, q, n, t, v, l, f, r)                                \
  cw_PQexecParams_at((c), (q), (n), (t), (v), (l), (f), (r), CW_LOC_HERE)
#define cw_PQprepare(c, s, q, n, t)                                            \
  cw_PQprepare_at((c), (s), (q), (n), (t), CW_LOC_HERE)
#define cw_PQexecPrepared(c, s, n, v, l, f, r)                                 \
  cw_PQexecPrepared_at((c), (s), (n), (v), (l), (f), (r), CW_LOC_HERE)
#define cw_PQfinish(c) cw_PQfinish_at((c), CW_LOC_HERE)

#ifdef __cplusplus
}
#endif

#endif /* CAUSEWAY_DB_H */
