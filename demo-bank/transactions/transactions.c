/*
 * bank-transactions (port 7002): transfers orchestrated through accounts.
 *
 *   POST /transactions/transfer  {"from","to","amount","idempotency_key"}
 *                                (or an Idempotency-Key header)
 *   POST /transactions/deposit   {"account","amount","idempotency_key"}
 *   GET  /transactions/:id
 *   GET  /transactions/account/:id     history, newest first
 *   GET  /transactions/feed?after=N    the live feed
 *   POST /transactions/:id/rollback
 *   POST /admin/reset
 *
 * Every transfer is a row with a status (pending, completed, failed,
 * rolling_back, rolled_back). The idempotency key is unique: the same key
 * returns the stored result and is never processed twice. A completed
 * transfer enqueues a notification for the recipient. Requests are rate
 * limited per client (X-Client-Id, else the address): 429 + Retry-After.
 *
 * Scenario knobs in the body (see bank_knobs.h) choose the code paths:
 * "lock_accounts": true takes both account locks across requests first
 * (scenario 2: source then destination when unsafe, lower id first when
 * safe); "slow_ms" runs scenario 5's slow debit.
 */
#define _POSIX_C_SOURCE 200809L
#include <causeway.h>
#include <civetweb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "bank_db.h"
#include "bank_http.h"
#include "bank_knobs.h"
#include "bank_svc.h"
#include "xfer.h"

static bank_db *db;
static const char *notifications;
static int rate_per_s = 100;

static const char *schema_sqlite =
    "CREATE TABLE IF NOT EXISTS transactions("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, idem_key TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL, from_id INTEGER, to_id INTEGER NOT NULL,"
    " amount INTEGER NOT NULL, status TEXT NOT NULL, error TEXT,"
    " http_status INTEGER, created_ms INTEGER NOT NULL)";
static const char *schema_pg =
    "CREATE TABLE IF NOT EXISTS transactions("
    " id BIGSERIAL PRIMARY KEY, idem_key TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL, from_id BIGINT, to_id BIGINT NOT NULL,"
    " amount BIGINT NOT NULL, status TEXT NOT NULL, error TEXT,"
    " http_status INTEGER, created_ms BIGINT NOT NULL)";

#define COLS                                                                   \
  "id, idem_key, kind, from_id, to_id, amount, status, error, http_status, "   \
  "created_ms"

static bank_counter c_done = {"bank_transfers_total", "transfers finished",
                              "outcome=\"completed\"", 0, NULL};
static bank_counter c_failed = {"bank_transfers_total", "transfers finished",
                                "outcome=\"failed\"", 0, NULL};
static bank_counter c_replayed = {"bank_idempotent_replays_total",
                                  "requests answered from a stored result",
                                  NULL, 0, NULL};
static bank_counter c_limited = {"bank_rate_limited_total",
                                 "requests refused with 429", NULL, 0, NULL};

/* ---- Rate limit: GCRA per client, lock-free ------------------------------ */

#define RL_BUCKETS 1024
static _Atomic int64_t rl_tat[RL_BUCKETS]; /* theoretical arrival, us */

static int rate_limited(bank_req *r) {
  const char *id = mg_get_header(r->conn, "X-Client-Id");
  if (!id)
    id = mg_get_request_info(r->conn)->remote_addr;
  uint32_t h = 2166136261u;
  for (const char *p = id; *p; p++)
    h = (h ^ (uint8_t)*p) * 16777619u;
  _Atomic int64_t *tat = &rl_tat[h % RL_BUCKETS];
  int64_t now = bank_now_ms() * 1000, step = 1000000 / rate_per_s;
  /* A burst of one second's worth of requests, at most 20. */
  int64_t burst = step * (rate_per_s < 20 ? rate_per_s : 20);
  int64_t old = atomic_load(tat);
  for (;;) {
    int64_t base = old > now ? old : now;
    if (base - now > burst)
      return 1;
    if (atomic_compare_exchange_weak(tat, &old, base + step))
      return 0;
  }
}

static int too_many(bank_req *r) {
  bank_counter_add(&c_limited, 1);
  return bank_reply_error_hdr(r, 429, "rate limited: retry later",
                              "Retry-After", "1");
}

/* ---- Records ------------------------------------------------------------- */

static json_t *txn_json(const bank_rows *rows, int i) {
  json_t *o = json_pack(
      "{s:I,s:s,s:s,s:I,s:I,s:s}", "id", (json_int_t)bank_cell_int(rows, i, 0),
      "idempotency_key", bank_cell(rows, i, 1) ? bank_cell(rows, i, 1) : "",
      "kind", bank_cell(rows, i, 2) ? bank_cell(rows, i, 2) : "", "to",
      (json_int_t)bank_cell_int(rows, i, 4), "amount",
      (json_int_t)bank_cell_int(rows, i, 5), "status",
      bank_cell(rows, i, 6) ? bank_cell(rows, i, 6) : "");
  if (bank_cell(rows, i, 3))
    json_object_set_new(o, "from", json_integer(bank_cell_int(rows, i, 3)));
  if (bank_cell(rows, i, 7))
    json_object_set_new(o, "error", json_string(bank_cell(rows, i, 7)));
  json_object_set_new(o, "created_ms", json_integer(bank_cell_int(rows, i, 9)));
  return o;
}

static void finish(bank_conn *c, int64_t id, const char *status,
                   const xfer_result *x) {
  char ids[24], hs[24];
  bank_execf(c, NULL, NULL,
             "UPDATE transactions SET status = $1, error = $2, "
             "http_status = $3 WHERE id = $4",
             status, x->status == 200 ? NULL : x->error,
             bank_i64(hs, x->status == 200 ? 200 : x->status),
             bank_i64(ids, id));
  bank_counter_add(strcmp(status, "completed") == 0 ? &c_done : &c_failed, 1);
}

/* Replies with the stored result of an idempotency key. */
static int replay(bank_req *r, bank_conn *c, const char *key, const char *kind,
                  int64_t from, int64_t to, int64_t amount) {
  bank_rows rows;
  bank_execf(c, &rows, NULL,
             "SELECT " COLS " FROM transactions WHERE idem_key = $1", key);
  if (rows.nrows != 1) {
    bank_rows_free(&rows);
    return bank_reply_error(r, 500, "database error");
  }
  if (strcmp(bank_cell(&rows, 0, 2), kind) != 0 ||
      bank_cell_int(&rows, 0, 3) != from || bank_cell_int(&rows, 0, 4) != to ||
      bank_cell_int(&rows, 0, 5) != amount) {
    bank_rows_free(&rows);
    return bank_reply_error(r, 422,
                            "idempotency key reused for a different request");
  }
  const char *st = bank_cell(&rows, 0, 6);
  int code = (int)bank_cell_int(&rows, 0, 8);
  json_t *o = txn_json(&rows, 0);
  bank_rows_free(&rows);
  bank_counter_add(&c_replayed, 1);
  json_object_set_new(o, "replayed", json_true());
  if (strcmp(st, "pending") == 0) {
    json_object_set_new(o, "error", json_string("still in progress"));
    return bank_reply_json(r, 409, o);
  }
  return bank_reply_json(r, code > 0 ? code : 200, o);
}

/* Reads the idempotency key from the header or the body. */
static const char *idem_key(bank_req *r) {
  const char *h = mg_get_header(r->conn, "Idempotency-Key");
  if (h && *h && strlen(h) <= 64)
    return h;
  json_t *v = json_object_get(r->body, "idempotency_key");
  if (json_is_string(v) && json_string_length(v) > 0 &&
      json_string_length(v) <= 64)
    return json_string_value(v);
  return NULL;
}

/* Inserts the pending row. @return its id, 0 when the key exists, -1. */
static int64_t insert(bank_conn *c, const char *key, const char *kind,
                      int64_t from, int64_t to, int64_t amount) {
  char f[24], t[24], a[24], now[24];
  bank_rows rows;
  int rc =
      bank_execf(c, &rows, NULL,
                 "INSERT INTO transactions(idem_key, kind, from_id, "
                 "to_id, amount, status, created_ms) VALUES ($1, $2, $3, "
                 "$4, $5, 'pending', $6) RETURNING id",
                 key, kind, from ? bank_i64(f, from) : NULL, bank_i64(t, to),
                 bank_i64(a, amount), bank_i64(now, bank_now_ms()));
  int64_t id = rc == BANK_DB_CONSTRAINT     ? 0
               : rc == 0 && rows.nrows == 1 ? bank_cell_int(&rows, 0, 0)
                                            : -1;
  bank_rows_free(&rows);
  return id;
}

static void notify(int64_t user, const char *text) {
  if (!notifications || user <= 0)
    return;
  char url[512];
  bank_url(url, sizeof url, notifications, "/notifications");
  json_t *body =
      json_pack("{s:I,s:s}", "user_id", (json_int_t)user, "message", text);
  int st = bank_call("POST", url, body, NULL, 5000, NULL);
  json_decref(body);
  if (st != 201)
    bank_log("warn", "notification not enqueued",
             json_pack("{s:i}", "status", st));
}

static int done(bank_req *r, bank_conn *c, int64_t id, const xfer_result *x,
                json_t *extra) {
  finish(c, id, x->status == 200 ? "completed" : "failed", x);
  char ids[24];
  bank_rows rows;
  bank_execf(c, &rows, NULL, "SELECT " COLS " FROM transactions WHERE id = $1",
             bank_i64(ids, id));
  json_t *o = rows.nrows ? txn_json(&rows, 0) : json_object();
  bank_rows_free(&rows);
  if (extra)
    json_object_update(o, extra);
  json_decref(extra);
  json_object_set_new(o, "attempts", json_integer(x->attempts));
  json_object_set_new(o, "timeouts", json_integer(x->timeouts));
  return bank_reply_json(r, x->status == 200 ? 200 : x->status, o);
}

static int h_transfer(bank_req *r) {
  if (rate_limited(r))
    return too_many(r);
  int64_t from, to, amount, slow_ms, lock_timeout;
  const char *e;
  if ((e = bank_get_id(r->body, "from", &from)) ||
      (e = bank_get_id(r->body, "to", &to)))
    return bank_reply_error(r, 400, "from and to must be account ids (>= 1)");
  if ((e = bank_get_amount(r->body, "amount", &amount)))
    return bank_reply_error(r, 400, e);
  if (from == to)
    return bank_reply_error(r, 400, "from and to must differ");
  bank_knobs k;
  if ((e = bank_knobs_parse(r->body, &k)))
    return bank_reply_error(r, 400, e);
  if (bank_get_int_opt(r->body, "slow_ms", 0, 10000, 0, &slow_ms) ||
      bank_get_int_opt(r->body, "lock_timeout_ms", 100, 30000, 2000,
                       &lock_timeout))
    return bank_reply_error(r, 400,
                            "slow_ms must be in 0..10000, lock_timeout_ms in "
                            "100..30000");
  json_t *lk = json_object_get(r->body, "lock_accounts");
  if (lk && !json_is_boolean(lk))
    return bank_reply_error(r, 400, "lock_accounts must be true or false");
  const char *key = idem_key(r);
  if (!key)
    return bank_reply_error(r, 400,
                            "missing idempotency key (Idempotency-Key header "
                            "or idempotency_key, 1-64 bytes)");
  bank_conn *c = bank_db_conn(db);
  int64_t id = insert(c, key, "transfer", from, to, amount);
  if (id == 0)
    return replay(r, c, key, "transfer", from, to, amount);
  if (id < 0)
    return bank_reply_error(r, 500, "database error");
  xfer_result x;
  char owner[48];
  snprintf(owner, sizeof owner, "txn-%lld", (long long)id);
  int locked = json_is_true(lk);
  int64_t first = from, second = to;
  if (locked && !k.unsafe && second < first) { /* global order: lower first */
    first = to;
    second = from;
  }
  bank_knobs move = k;
  if (locked) {
    if (!k.unsafe)
      bank_knobs_window(&k); /* start together, then lock in order */
    bank_knobs after = k;
    if (!k.unsafe)
      after.barrier[0] = 0;
    if (xfer_lock_pair(first, second, owner, lock_timeout, &after, &x) != 0)
      return done(r, c, id, &x, json_pack("{s:s}", "rolled_back", "locks"));
    move = (bank_knobs){0, 0, {0}, 0}; /* the locks make it safe */
  }
  xfer_move(from, -amount, &move, locked, slow_ms, &x);
  if (x.status == 200) {
    xfer_result cr;
    bank_knobs plain = {0, 0, {0}, 0};
    xfer_move(to, amount, &plain, 1, 0, &cr);
    if (cr.status != 200) { /* compensate: give the money back */
      xfer_result back;
      xfer_move(from, amount, &plain, 1, 0, &back);
      x = cr;
    } else {
      char msg[128];
      snprintf(msg, sizeof msg, "You received %lld.%02lld from account %lld",
               (long long)(amount / 100), (long long)(amount % 100),
               (long long)from);
      notify(cr.user_id, msg);
    }
  }
  if (locked)
    xfer_unlock_pair(first, second, owner);
  return done(r, c, id, &x, NULL);
}

static int h_deposit(bank_req *r) {
  if (rate_limited(r))
    return too_many(r);
  int64_t acct, amount;
  const char *e;
  if ((e = bank_get_id(r->body, "account", &acct)))
    return bank_reply_error(r, 400, "account must be an account id (>= 1)");
  if ((e = bank_get_amount(r->body, "amount", &amount)))
    return bank_reply_error(r, 400, e);
  bank_knobs k;
  if ((e = bank_knobs_parse(r->body, &k)))
    return bank_reply_error(r, 400, e);
  const char *key = idem_key(r);
  if (!key)
    return bank_reply_error(r, 400,
                            "missing idempotency key (Idempotency-Key header "
                            "or idempotency_key, 1-64 bytes)");
  bank_conn *c = bank_db_conn(db);
  int64_t id = insert(c, key, "deposit", 0, acct, amount);
  if (id == 0)
    return replay(r, c, key, "deposit", 0, acct, amount);
  if (id < 0)
    return bank_reply_error(r, 500, "database error");
  xfer_result x;
  xfer_deposit(acct, amount, &k, &x);
  return done(r, c, id, &x, NULL);
}

static int h_get(bank_req *r) {
  int64_t id;
  if (bank_param_id(r, 0, &id))
    return r->status;
  char ids[24];
  bank_rows rows;
  bank_execf(bank_db_conn(db), &rows, NULL,
             "SELECT " COLS " FROM transactions WHERE id = $1",
             bank_i64(ids, id));
  if (rows.nrows == 0) {
    bank_rows_free(&rows);
    return bank_reply_error(r, 404, "unknown transaction");
  }
  json_t *o = txn_json(&rows, 0);
  bank_rows_free(&rows);
  return bank_reply_json(r, 200, o);
}

static int list(bank_req *r, const char *sql, const char *p) {
  bank_rows rows;
  if (bank_execf(bank_db_conn(db), &rows, NULL, sql, p) != 0) {
    bank_rows_free(&rows);
    return bank_reply_error(r, 500, "database error");
  }
  json_t *a = json_array();
  for (int i = 0; i < rows.nrows; i++)
    json_array_append_new(a, txn_json(&rows, i));
  bank_rows_free(&rows);
  return bank_reply_json(r, 200, json_pack("{s:o}", "transactions", a));
}

static int h_history(bank_req *r) {
  int64_t id;
  if (bank_param_id(r, 0, &id))
    return r->status;
  char ids[24];
  return list(r,
              "SELECT " COLS " FROM transactions WHERE from_id = $1 OR to_id "
              "= $1 ORDER BY id DESC LIMIT 100",
              bank_i64(ids, id));
}

static int h_feed(bank_req *r) {
  char after[24] = "0";
  if (bank_query_var(r, "after", after, sizeof after) == 0) {
    for (const char *p = after; *p; p++)
      if (*p < '0' || *p > '9' || p - after > 17)
        return bank_reply_error(r, 400, "after must be a transaction id");
  }
  return list(r,
              "SELECT " COLS " FROM transactions WHERE id > $1 ORDER BY id "
              "DESC LIMIT 50",
              after);
}

static int h_rollback(bank_req *r) {
  int64_t id;
  if (bank_param_id(r, 0, &id))
    return r->status;
  bank_conn *c = bank_db_conn(db);
  char ids[24];
  int64_t n = 0;
  bank_rows rows;
  /* Claim it atomically: only one rollback ever runs. */
  if (bank_execf(c, &rows, &n,
                 "UPDATE transactions SET status = 'rolling_back' WHERE id = "
                 "$1 AND status = 'completed' RETURNING kind, from_id, to_id, "
                 "amount",
                 bank_i64(ids, id)) != 0) {
    bank_rows_free(&rows);
    return bank_reply_error(r, 500, "database error");
  }
  if (rows.nrows == 0) {
    bank_rows_free(&rows);
    return bank_reply_error(r, 409,
                            "only a completed transfer can be rolled back");
  }
  int64_t from = bank_cell_int(&rows, 0, 1), to = bank_cell_int(&rows, 0, 2),
          amount = bank_cell_int(&rows, 0, 3);
  bank_rows_free(&rows);
  bank_knobs plain = {0, 0, {0}, 0};
  xfer_result x;
  xfer_move(to, -amount, &plain, 1, 0, &x);
  if (x.status == 200 && from > 0) {
    xfer_move(from, amount, &plain, 1, 0, &x);
  }
  const char *st = x.status == 200 ? "rolled_back" : "completed";
  char hs[24];
  bank_execf(c, NULL, NULL,
             "UPDATE transactions SET status = $1, http_status = $2 WHERE id "
             "= $3",
             st, bank_i64(hs, 200), ids);
  if (x.status != 200)
    return bank_reply_error(r, 409, x.error[0] ? x.error : "rollback failed");
  return bank_reply_json(
      r, 200,
      json_pack("{s:I,s:s}", "id", (json_int_t)id, "status", "rolled_back"));
}

static int h_reset(bank_req *r) {
  if (bank_execf(bank_db_conn(db), NULL, NULL, "DELETE FROM transactions") != 0)
    return bank_reply_error(r, 500, "database error");
  return bank_reply_json(r, 200, json_pack("{s:b}", "reset", 1));
}

static const bank_route routes[] = {
    {"POST", "/transactions/transfer", h_transfer},
    {"POST", "/transactions/deposit", h_deposit},
    {"GET", "/transactions/feed", h_feed},
    {"GET", "/transactions/account/:id", h_history},
    {"GET", "/transactions/:id", h_get},
    {"POST", "/transactions/:id/rollback", h_rollback},
    {"POST", "/admin/reset", h_reset},
    {NULL, NULL, NULL}};

int main(int argc, char **argv) {
  bank_opts o;
  bank_opts_parse(&o, "transactions", argc, argv);
  if (o.port < 0)
    o.port = 7002;
  if (!o.accounts)
    o.accounts = "http://127.0.0.1:7001";
  if (!o.notifications)
    o.notifications = "http://127.0.0.1:7003";
  notifications = o.notifications;
  rate_per_s = o.rate_limit > 0 ? o.rate_limit : 100;
  bank_svc_init(&o);
  bank_counter_register(&c_done);
  bank_counter_register(&c_failed);
  bank_counter_register(&c_replayed);
  bank_counter_register(&c_limited);
  xfer_init(o.accounts);
  db = bank_db_open(o.data_dir, "transactions", o.pg, schema_sqlite, schema_pg);
  int port = 0;
  struct mg_context *ctx =
      bank_http_start("transactions", o.port, o.threads, routes, NULL, &port);
  if (!ctx)
    return 1;
  bank_svc_run(&o, port);
  mg_stop(ctx);
  return bank_svc_shutdown();
}
