/*
 * cw_sql: a small, conservative classifier for SQL statements, used by the
 * database wrappers to see transactions, row locks and (for simple
 * statements) which state keys a statement reads and writes.
 *
 * Internal (not API).
 *
 * DESIGN. The classifier tokenizes one statement (comments, quoted
 * identifiers, string literals, numbers and parameters are understood) and
 * matches a handful of fixed shapes:
 *
 *   BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE] [TRANSACTION|WORK] [...]
 *   START TRANSACTION [...]
 *   COMMIT | END | ROLLBACK | ABORT  [TRANSACTION|WORK]
 *   SELECT c1[, c2...] FROM t WHERE k = v [AND cond...]
 *          [FOR UPDATE|FOR NO KEY UPDATE|FOR SHARE|FOR KEY SHARE] [;]
 *   UPDATE t SET c1 = expr[, c2 = expr...] WHERE k = v [AND cond...]
 *          [RETURNING ...] [;]
 *
 * where each cond is a simple comparison of the row's columns, literals and
 * parameters (no OR, no subquery): the columns it names, and those named in
 * an UPDATE's SET expressions, are the statement's reads (`reads`), e.g.
 * "UPDATE accounts SET balance = balance - ? WHERE id = ? AND balance >= ?"
 * reads and writes balance of one row.
 *
 * where v is a string or integer literal or a parameter ($N or ?). Any other
 * shape is classified by its first keyword only, with `inferred` = 0: the
 * wrappers then record the statement but no state keys, because guessing
 * would produce false races. Explicit declarations always work instead.
 *
 * Thread-safety: pure functions, no state.
 */
#ifndef CW_SQL_H
#define CW_SQL_H

/* The database core lives in libcauseway; libcauseway_sqlite.so and
 * libcauseway_pq.so call it, so its internal entry points are exported
 * from the shared SDK (as cw__ symbols: internal, no stability promise). */
#ifndef CW__DB_INTERNAL
#if defined(__GNUC__) || defined(__clang__)
#define CW__DB_INTERNAL __attribute__((visibility("default")))
#else
#define CW__DB_INTERNAL
#endif
#endif

#include <stddef.h>

enum {
  CW_SQL_OTHER = 0,
  CW_SQL_SELECT,
  CW_SQL_UPDATE,
  CW_SQL_INSERT,
  CW_SQL_DELETE,
  CW_SQL_BEGIN,
  CW_SQL_COMMIT,
  CW_SQL_ROLLBACK
};

/* BEGIN modes (SQLite). */
enum { CW_SQL_DEFERRED = 0, CW_SQL_IMMEDIATE = 1, CW_SQL_EXCLUSIVE = 2 };

/* Row-lock strength of a SELECT. */
enum { CW_SQL_NOLOCK = 0, CW_SQL_FOR_UPDATE = 1, CW_SQL_FOR_SHARE = 2 };

#define CW_SQL_MAX_COLS 8
#define CW_SQL_NAME_MAX 64
#define CW_SQL_VALUE_MAX 128

typedef struct cw__sql_info {
  int kind;       /* CW_SQL_* */
  int begin_mode; /* CW_SQL_DEFERRED... for kind == CW_SQL_BEGIN */
  int row_lock;   /* CW_SQL_NOLOCK... for SELECT */
  /* 1 when table and key below are valid (a single-row statement). */
  int has_row;
  char table[CW_SQL_NAME_MAX];
  /* The key value: a literal's text, or empty with key_param > 0. */
  char key[CW_SQL_VALUE_MAX];
  int key_param; /* 1-based parameter index, 0 for a literal */
  /* Columns read (SELECT) or assigned (UPDATE); valid when has_row and
   * ncols > 0. rmw[i] is 1 when UPDATE assigns cols[i] from itself. */
  int ncols;
  char cols[CW_SQL_MAX_COLS][CW_SQL_NAME_MAX];
  int rmw[CW_SQL_MAX_COLS];
  /* Other columns of the row the statement reads: in the extra WHERE
   * conditions and (UPDATE) in the SET expressions; the key column is not
   * one of them. Valid when has_row. */
  int nreads;
  char reads[CW_SQL_MAX_COLS][CW_SQL_NAME_MAX];
} cw__sql_info;

/* Classifies the first statement of sql[0..len). Never fails: unknown text
 * gives kind CW_SQL_OTHER.
 * @return the number of bytes consumed, through the terminating ';' when
 * there is one (so exec-style strings can be walked statement by
 * statement). */
CW__DB_INTERNAL size_t cw__sql_classify(const char *sql, size_t len,
                                        cw__sql_info *out);

#endif /* CW_SQL_H */
