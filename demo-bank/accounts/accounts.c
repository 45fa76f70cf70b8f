/*
 * bank-accounts (port 7001): accounts and balances in integer cents.
 *
 *   POST  /accounts                  {"user_id","name","balance"} -> 201
 *   GET   /accounts/:id
 *   GET   /accounts/user/:user_id
 *   PATCH /accounts/:id/balance      {"delta": N} or {"balance": N}
 *   POST  /accounts/:id/lock         {"owner","timeout_ms"} (held across
 *   POST  /accounts/:id/unlock       {"owner"}               requests)
 *   POST  /admin/reset               back to the seed data
 *
 * PATCH with a delta is how money moves. Its code paths are the lessons:
 *   safe (default)   BEGIN IMMEDIATE / BEGIN + SELECT ... FOR UPDATE, check
 *                    the overdraft, UPDATE, COMMIT: the row is locked from
 *                    the read to the write (scenario 1's fix);
 *   "atomic": true   one statement reads and writes the row
 *                    (UPDATE ... SET balance = balance - $1 WHERE id = $2
 *                    AND balance >= $1), scenario 3's fix;
 *   "mode":"unsafe"  SELECT, check, then UPDATE in two statements with no
 *                    lock: concurrent debits all pass the check (scenario
 *                    1's bug);
 *   "slow_ms": N     scenario 5: a query that takes N ms, run while holding
 *                    the account's mutex (unsafe) or before taking it for
 *                    a short atomic update (safe).
 * PATCH with an absolute balance is the lost update's write (scenario 3).
 */
#define _POSIX_C_SOURCE 200809L
#include <causeway.h>
#include <civetweb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bank_db.h"
#include "bank_http.h"
#include "bank_knobs.h"
#include "bank_svc.h"
#include "locks.h"

static bank_db *db;

static const char *schema_sqlite =
    "CREATE TABLE IF NOT EXISTS accounts("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL,"
    " name TEXT NOT NULL, balance INTEGER NOT NULL,"
    " version INTEGER NOT NULL DEFAULT 0)";
static const char *schema_pg =
    "CREATE TABLE IF NOT EXISTS accounts("
    " id BIGSERIAL PRIMARY KEY, user_id BIGINT NOT NULL,"
    " name TEXT NOT NULL, balance BIGINT NOT NULL,"
    " version BIGINT NOT NULL DEFAULT 0)";

/* The seed: users 1-3 (alice, bob, carol; auth has their logins). */
static const struct {
  int id, user;
  const char *name;
  long long balance;
} seed[] = {{1, 1, "alice checking", 250000},
            {2, 1, "alice savings", 1000000},
            {3, 2, "bob checking", 180000},
            {4, 3, "carol checking", 90000}};

static bank_counter c_moves = {"bank_balance_changes_total",
                               "balance changes applied", NULL, 0, NULL};
static bank_counter c_overdraft = {"bank_overdrafts_refused_total",
                                   "debits refused for lack of funds", NULL, 0,
                                   NULL};

static int seed_data(bank_conn *c) {
  int rc = bank_execf(c, NULL, NULL, "DELETE FROM accounts");
  for (size_t i = 0; rc == 0 && i < sizeof seed / sizeof seed[0]; i++) {
    char id[24], user[24], bal[24];
    rc = bank_execf(c, NULL, NULL,
                    "INSERT INTO accounts(id, user_id, name, balance) "
                    "VALUES ($1, $2, $3, $4)",
                    bank_i64(id, seed[i].id), bank_i64(user, seed[i].user),
                    seed[i].name, bank_i64(bal, seed[i].balance));
  }
  if (rc == 0 && bank_db_is_pg(db))
    rc = bank_execf(c, NULL, NULL,
                    "SELECT setval('accounts_id_seq', 100, false)");
  return rc;
}

static json_t *account_json(const bank_rows *rows, int i) {
  return json_pack("{s:I,s:I,s:s,s:I,s:I}", "id",
                   (json_int_t)bank_cell_int(rows, i, 0), "user_id",
                   (json_int_t)bank_cell_int(rows, i, 1), "name",
                   bank_cell(rows, i, 2) ? bank_cell(rows, i, 2) : "",
                   "balance", (json_int_t)bank_cell_int(rows, i, 3), "version",
                   (json_int_t)bank_cell_int(rows, i, 4));
}

static int h_create(bank_req *r) {
  int64_t user, balance;
  const char *name = "account", *e;
  if ((e = bank_get_id(r->body, "user_id", &user)))
    return bank_reply_error(r, 400, e);
  if (bank_get_int_opt(r->body, "balance", 0, BANK_BALANCE_MAX, 0, &balance))
    return bank_reply_error(r, 400,
                            "balance must be an integer in cents, >= 0");
  if (json_object_get(r->body, "name") &&
      (e = bank_get_str(r->body, "name", 64, &name)))
    return bank_reply_error(r, 400, "name must be a string of 1-64 bytes");
  char u[24], b[24];
  bank_rows rows;
  if (bank_execf(bank_db_conn(db), &rows, NULL,
                 "INSERT INTO accounts(user_id, name, balance) VALUES ($1, $2, "
                 "$3) RETURNING id, user_id, name, balance, version",
                 bank_i64(u, user), name, bank_i64(b, balance)) != 0 ||
      rows.nrows != 1) {
    bank_rows_free(&rows);
    return bank_reply_error(r, 500, "database error");
  }
  json_t *a = account_json(&rows, 0);
  bank_rows_free(&rows);
  return bank_reply_json(r, 201, a);
}

/* Runs an accounts SELECT (`where`: its condition on $1, the path's id).
 * @return 0 with rows filled, else the status of the error replied. */
static int select_accounts(bank_req *r, const char *where, bank_rows *rows) {
  int64_t id;
  if (bank_param_id(r, 0, &id))
    return r->status;
  char s[24], sql[160];
  snprintf(sql, sizeof sql,
           "SELECT id, user_id, name, balance, version FROM accounts WHERE %s",
           where);
  if (bank_execf(bank_db_conn(db), rows, NULL, sql, bank_i64(s, id)) != 0) {
    bank_rows_free(rows);
    return bank_reply_error(r, 500, "database error");
  }
  return 0;
}

static int h_get(bank_req *r) {
  bank_rows rows;
  int st = select_accounts(r, "id = $1", &rows);
  if (st)
    return st;
  if (rows.nrows == 0) {
    bank_rows_free(&rows);
    return bank_reply_error(r, 404, "unknown account");
  }
  json_t *a = account_json(&rows, 0);
  bank_rows_free(&rows);
  return bank_reply_json(r, 200, a);
}

static int h_by_user(bank_req *r) {
  bank_rows rows;
  int st = select_accounts(r, "user_id = $1 ORDER BY id", &rows);
  if (st)
    return st;
  json_t *list = json_array();
  for (int i = 0; i < rows.nrows; i++)
    json_array_append_new(list, account_json(&rows, i));
  bank_rows_free(&rows);
  return bank_reply_json(r, 200, json_pack("{s:o}", "accounts", list));
}

/* Replies with the account after a balance change. */
static int moved(bank_req *r, int64_t id, int64_t user, int64_t balance,
                 int64_t delta) {
  bank_counter_add(&c_moves, 1);
  return bank_reply_json(r, 200,
                         json_pack("{s:I,s:I,s:I,s:I}", "id", (json_int_t)id,
                                   "user_id", (json_int_t)user, "balance",
                                   (json_int_t)balance, "delta",
                                   (json_int_t)delta));
}

static int no_funds(bank_req *r) {
  bank_counter_add(&c_overdraft, 1);
  return bank_reply_error(r, 409, "insufficient funds");
}

/* Does the account exist? Reads only its id, which nothing writes. */
static int exists(bank_conn *c, const char *id) {
  bank_rows rows;
  int ok = bank_execf(c, &rows, NULL, "SELECT id FROM accounts WHERE id = $1",
                      id) == 0 &&
           rows.nrows == 1;
  bank_rows_free(&rows);
  return ok;
}

/* One statement reads and writes the row: the database applies it under
 * the row's lock, so concurrent ones never lose money or overdraw. */
static int patch_atomic(bank_req *r, bank_conn *c, const char *ids, int64_t id,
                        int64_t delta) {
  char amt[24], lim[24];
  bank_rows rows;
  int rc;
  if (delta < 0)
    rc = bank_execf(c, &rows, NULL,
                    "UPDATE accounts SET balance = balance - $1 WHERE id = $2 "
                    "AND balance >= $1 RETURNING user_id, balance",
                    bank_i64(amt, -delta), ids);
  else
    rc = bank_execf(c, &rows, NULL,
                    "UPDATE accounts SET balance = balance + $1 WHERE id = $2 "
                    "AND balance <= $3 RETURNING user_id, balance",
                    bank_i64(amt, delta), ids,
                    bank_i64(lim, BANK_BALANCE_MAX - delta));
  if (rc != 0) {
    bank_rows_free(&rows);
    return bank_reply_error(r, 500, "database error");
  }
  if (rows.nrows == 0) {
    bank_rows_free(&rows);
    if (!exists(c, ids))
      return bank_reply_error(r, 404, "unknown account");
    return delta < 0 ? no_funds(r)
                     : bank_reply_error(r, 409, "balance limit exceeded");
  }
  int64_t user = bank_cell_int(&rows, 0, 0), bal = bank_cell_int(&rows, 0, 1);
  bank_rows_free(&rows);
  return moved(r, id, user, bal, delta);
}

/* Read, check, write. `locked`: inside a write transaction whose SELECT
 * locks the row (safe); else two auto-commit statements (unsafe). */
static int patch_rcw(bank_req *r, bank_conn *c, const char *ids, int64_t id,
                     int64_t delta, const bank_knobs *k, int locked) {
  if (locked && bank_begin(c) != 0)
    return bank_reply_error(r, 503, "database busy");
  char sql[160];
  snprintf(sql, sizeof sql,
           "SELECT user_id, balance FROM accounts WHERE id = $1%s",
           locked ? bank_for_update(c) : "");
  bank_rows rows;
  int rc = bank_execf(c, &rows, NULL, sql, ids);
  int status = 0;
  int64_t user = bank_cell_int(&rows, 0, 0), bal = bank_cell_int(&rows, 0, 1);
  if (rc != 0)
    status = bank_reply_error(r, 500, "database error");
  else if (rows.nrows == 0)
    status = bank_reply_error(r, 404, "unknown account");
  else if (delta < 0 && bal + delta < 0)
    status = no_funds(r);
  else if (delta > 0 && bal > BANK_BALANCE_MAX - delta)
    status = bank_reply_error(r, 409, "balance limit exceeded");
  bank_rows_free(&rows);
  if (status) {
    if (locked)
      bank_rollback(c);
    return status;
  }
  if (!locked)
    bank_knobs_window(k); /* every debit has passed its check */
  else
    bank_sleep_ms(k->delay_ms);
  char amt[24];
  rc = bank_execf(c, NULL, NULL,
                  "UPDATE accounts SET balance = balance + $1 WHERE id = $2",
                  bank_i64(amt, delta), ids);
  if (rc == 0 && locked)
    rc = bank_commit(c);
  if (rc != 0) {
    if (locked)
      bank_rollback(c);
    return bank_reply_error(r, 500, "database error");
  }
  return moved(r, id, user, bal + delta, delta);
}

/* Scenario 5: a slow query (slow_ms inside the database). Unsafe: run it
 * while holding the account's mutex, so requests queue behind it. Safe:
 * run it first, then take the mutex only for the short atomic update. */
static int patch_slow(bank_req *r, bank_conn *c, const char *ids, int64_t id,
                      int64_t delta, int64_t slow_ms, const bank_knobs *k) {
  pthread_mutex_t *m = acct_mutex(id);
  if (!m)
    return bank_reply_error(r, 503, "too many account locks");
  char ms[24], sql[160];
  snprintf(sql, sizeof sql, "SELECT %s FROM accounts WHERE id = $1",
           bank_sleep_expr(c));
  bank_rows rows;
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_nsec += 500000000L; /* wait at most 2.5 s for the account */
  dl.tv_sec += 2 + dl.tv_nsec / 1000000000L;
  dl.tv_nsec %= 1000000000L;
  if (k->unsafe) {
    if (cw_mutex_timedlock(m, &dl) != 0)
      return bank_reply_error(r, 503, "account lock wait timed out");
    bank_execf(c, &rows, NULL, sql, ids, bank_i64(ms, slow_ms));
    bank_rows_free(&rows);
  } else {
    bank_execf(c, &rows, NULL, sql, ids, bank_i64(ms, slow_ms));
    bank_rows_free(&rows);
    if (cw_mutex_timedlock(m, &dl) != 0)
      return bank_reply_error(r, 503, "account lock wait timed out");
  }
  int st = patch_atomic(r, c, ids, id, delta);
  cw_mutex_unlock(m);
  return st;
}

static int h_patch(bank_req *r) {
  int64_t id;
  if (bank_param_id(r, 0, &id))
    return r->status;
  bank_knobs k;
  const char *e = bank_knobs_parse(r->body, &k);
  if (e)
    return bank_reply_error(r, 400, e);
  bank_conn *c = bank_db_conn(db);
  if (!c)
    return bank_reply_error(r, 503, "database unavailable");
  char ids[24];
  bank_i64(ids, id);
  json_t *abs = json_object_get(r->body, "balance");
  json_t *dv = json_object_get(r->body, "delta");
  if (abs && dv)
    return bank_reply_error(r, 400, "give either delta or balance");
  if (abs) { /* absolute write: the lost update's second half */
    int64_t bal;
    if (bank_get_int_opt(r->body, "balance", 0, BANK_BALANCE_MAX, 0, &bal))
      return bank_reply_error(r, 400,
                              "balance must be an integer in cents, >= 0");
    bank_knobs_window(&k);
    char b[24];
    int64_t n = 0;
    if (bank_execf(c, NULL, &n,
                   "UPDATE accounts SET balance = $1 WHERE id = $2",
                   bank_i64(b, bal), ids) != 0)
      return bank_reply_error(r, 500, "database error");
    if (n == 0)
      return bank_reply_error(r, 404, "unknown account");
    return moved(r, id, 0, bal, 0);
  }
  if (!dv)
    return bank_reply_error(r, 400, "delta or balance is required");
  if (!json_is_integer(dv))
    return bank_reply_error(r, 400, "delta must be an integer number of cents");
  int64_t delta = json_integer_value(dv);
  if (delta == 0 || delta > BANK_AMOUNT_MAX || delta < -BANK_AMOUNT_MAX)
    return bank_reply_error(r, 400, "delta must be non-zero and at most 1e12");
  int64_t slow_ms;
  if (bank_get_int_opt(r->body, "slow_ms", 0, 10000, 0, &slow_ms))
    return bank_reply_error(r, 400, "slow_ms must be an integer in 0..10000");
  json_t *atomic = json_object_get(r->body, "atomic");
  if (atomic && !json_is_boolean(atomic))
    return bank_reply_error(r, 400, "atomic must be true or false");
  if (slow_ms > 0)
    return patch_slow(r, c, ids, id, delta, slow_ms, &k);
  if (!k.unsafe && json_is_true(atomic)) {
    bank_knobs_window(&k);
    return patch_atomic(r, c, ids, id, delta);
  }
  if (!k.unsafe && k.barrier[0])
    bank_barrier_wait(k.barrier, k.barrier_n, 10000); /* contend together */
  return patch_rcw(r, c, ids, id, delta, &k, !k.unsafe);
}

static int h_lock(bank_req *r) {
  int64_t id, timeout, lease;
  if (bank_param_id(r, 0, &id))
    return r->status;
  const char *owner, *e;
  if ((e = bank_get_str(r->body, "owner", 63, &owner)))
    return bank_reply_error(r, 400, "owner must be a string of 1-63 bytes");
  if (bank_get_int_opt(r->body, "timeout_ms", 0, 30000, 2000, &timeout) ||
      bank_get_int_opt(r->body, "lease_ms", 100, 600000, 30000, &lease))
    return bank_reply_error(r, 400,
                            "timeout_ms must be in 0..30000, lease_ms in "
                            "100..600000");
  char ids[24];
  if (!exists(bank_db_conn(db), bank_i64(ids, id)))
    return bank_reply_error(r, 404, "unknown account");
  if (acct_lock(id, owner, timeout, lease) != 0)
    return bank_reply_json(
        r, 409,
        json_pack("{s:s,s:b}", "error", "lock wait timed out", "timeout", 1));
  return bank_reply_json(r, 200,
                         json_pack("{s:b,s:I,s:s}", "locked", 1, "id",
                                   (json_int_t)id, "owner", owner));
}

static int h_unlock(bank_req *r) {
  int64_t id;
  if (bank_param_id(r, 0, &id))
    return r->status;
  const char *owner;
  if (bank_get_str(r->body, "owner", 63, &owner))
    return bank_reply_error(r, 400, "owner must be a string of 1-63 bytes");
  if (acct_unlock(id, owner) != 0)
    return bank_reply_error(r, 409, "not the lock's owner");
  return bank_reply_json(r, 200, json_pack("{s:b}", "unlocked", 1));
}

static int h_reset(bank_req *r) {
  acct_locks_reset();
  if (seed_data(bank_db_conn(db)) != 0)
    return bank_reply_error(r, 500, "database error");
  return bank_reply_json(r, 200, json_pack("{s:b}", "reset", 1));
}

static const bank_route routes[] = {
    {"POST", "/accounts", h_create},
    {"GET", "/accounts/user/:user_id", h_by_user},
    {"GET", "/accounts/:id", h_get},
    {"PATCH", "/accounts/:id/balance", h_patch},
    {"POST", "/accounts/:id/lock", h_lock},
    {"POST", "/accounts/:id/unlock", h_unlock},
    {"POST", "/admin/reset", h_reset},
    {NULL, NULL, NULL}};

int main(int argc, char **argv) {
  bank_opts o;
  bank_opts_parse(&o, "accounts", argc, argv);
  if (o.port < 0)
    o.port = 7001;
  bank_svc_init(&o);
  bank_counter_register(&c_moves);
  bank_counter_register(&c_overdraft);
  db = bank_db_open(o.data_dir, "accounts", o.pg, schema_sqlite, schema_pg);
  bank_rows rows;
  bank_execf(bank_db_conn(db), &rows, NULL, "SELECT count(*) FROM accounts");
  if (bank_cell_int(&rows, 0, 0) == 0)
    seed_data(bank_db_conn(db));
  bank_rows_free(&rows);
  int port = 0;
  struct mg_context *ctx =
      bank_http_start("accounts", o.port, o.threads, routes, NULL, &port);
  if (!ctx)
    return 1;
  bank_svc_run(&o, port);
  mg_stop(ctx);
  return bank_svc_shutdown();
}
