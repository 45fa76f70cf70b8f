/*
 * bank-notifications (port 7003): a queue of notifications, one per
 * completed transfer, delivered by worker threads, with a per-user rate
 * limit. Delivery is simulated: each one is a row in `deliveries` (the log
 * of what was sent) and a log line.
 *
 *   POST /notifications                 {"user_id","message"} -> 201 {"id"}
 *   GET  /notifications/:id/deliveries  what was sent for it
 *   GET  /notifications/user/:user_id   what the user was sent
 *   POST /admin/reset
 *
 * Workers poll the queue. How a worker claims a pending notification is
 * scenario 4:
 *   safe    UPDATE notifications SET status = 'sent' WHERE id = $1 AND
 *           status = 'pending', then send only if it changed one row: an
 *           atomic claim, so each notification is sent once;
 *   unsafe  SELECT status, and if it is 'pending' UPDATE it to 'sent' and
 *           send: two workers both see 'pending' and both send.
 * A notification carries the knobs of the request that enqueued it.
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

static bank_db *db;
static int per_minute = 30;
static atomic_int stopping;

static const char *schema_sqlite =
    "CREATE TABLE IF NOT EXISTS notifications("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL,"
    " message TEXT NOT NULL, status TEXT NOT NULL, mode TEXT NOT NULL,"
    " barrier TEXT, barrier_n INTEGER NOT NULL DEFAULT 0,"
    " delay_ms INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS deliveries("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, notification_id INTEGER NOT NULL,"
    " user_id INTEGER NOT NULL, worker TEXT NOT NULL, outcome TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL)";

static bank_counter c_sent = {"bank_notifications_total",
                              "notification deliveries", "outcome=\"sent\"", 0,
                              NULL};
static bank_counter c_limited = {"bank_notifications_total",
                                 "notification deliveries",
                                 "outcome=\"rate_limited\"", 0, NULL};

/* ---- Per-user rate limit (in memory, guarded by a traced mutex) ---------- */

#define RL_USERS 1024
typedef struct rl_entry {
  int64_t user, window_ms;
  int count;
} rl_entry;
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
static rl_entry rl[RL_USERS];

/* @return 1 when the user may be sent one more notification this minute. */
static int rate_ok(int64_t user) {
  int64_t now = bank_now_ms();
  char key[64];
  snprintf(key, sizeof key, "notifications:ratelimit:%lld", (long long)user);
  cw_mutex_lock(&rl_lock);
  rl_entry *e = NULL, *spare = NULL;
  for (int i = 0; i < RL_USERS && !e; i++) {
    if (rl[i].user == user)
      e = &rl[i];
    else if (!spare && (rl[i].user == 0 || now - rl[i].window_ms >= 60000))
      spare = &rl[i];
  }
  if (!e && spare) {
    e = spare;
    e->user = user;
    e->window_ms = now;
    e->count = 0;
  }
  int ok = 1;
  if (e) {
    CW_READ_INT(key, e->count);
    if (now - e->window_ms >= 60000) {
      e->window_ms = now;
      e->count = 0;
    }
    ok = e->count < per_minute;
    if (ok) {
      e->count++;
      CW_WRITE_INT(key, e->count);
    }
  }
  cw_mutex_unlock(&rl_lock);
  return ok;
}

/* ---- Workers ------------------------------------------------------------- */

static void deliver(bank_conn *c, const char *id, int64_t user,
                    const char *message, const char *worker) {
  int ok = rate_ok(user);
  char u[24], now[24];
  bank_execf(c, NULL, NULL,
             "INSERT INTO deliveries(notification_id, user_id, worker, "
             "outcome, at_ms) VALUES ($1, $2, $3, $4, $5)",
             id, bank_i64(u, user), worker, ok ? "sent" : "rate_limited",
             bank_i64(now, bank_now_ms()));
  bank_counter_add(ok ? &c_sent : &c_limited, 1);
  bank_log("info", ok ? "notification sent" : "notification rate limited",
           json_pack("{s:s,s:I,s:s,s:s}", "notification", id, "user_id",
                     (json_int_t)user, "worker", worker, "message", message));
}

/* Handles one pending notification (row i of rows). */
static void handle(bank_conn *c, const bank_rows *rows, int i,
                   const char *worker) {
  const char *id = bank_cell(rows, i, 0);
  int64_t user = bank_cell_int(rows, i, 1);
  const char *message = bank_cell(rows, i, 2);
  bank_knobs k;
  memset(&k, 0, sizeof k);
  k.unsafe =
      bank_cell(rows, i, 3) && strcmp(bank_cell(rows, i, 3), "unsafe") == 0;
  snprintf(k.barrier, sizeof k.barrier, "%s",
           bank_cell(rows, i, 4) ? bank_cell(rows, i, 4) : "");
  k.barrier_n = (int)bank_cell_int(rows, i, 5);
  k.delay_ms = (int)bank_cell_int(rows, i, 6);
  if (!k.unsafe) {
    int64_t n = 0;
    bank_knobs_window(&k);
    if (bank_execf(c, NULL, &n,
                   "UPDATE notifications SET status = 'sent' WHERE id = $1 "
                   "AND status = 'pending'",
                   id) == 0 &&
        n == 1)
      deliver(c, id, user, message, worker);
    return;
  }
  bank_rows st;
  bank_execf(c, &st, NULL, "SELECT status FROM notifications WHERE id = $1",
             id);
  int pending = st.nrows == 1 && bank_cell(&st, 0, 0) &&
                strcmp(bank_cell(&st, 0, 0), "pending") == 0;
  bank_rows_free(&st);
  if (!pending)
    return;
  bank_knobs_window(&k); /* both workers have seen 'pending' */
  bank_execf(c, NULL, NULL,
             "UPDATE notifications SET status = 'sent' WHERE id = $1", id);
  deliver(c, id, user, message, worker);
}

static void *worker_main(void *arg) {
  char name[32];
  snprintf(name, sizeof name, "worker-%d", (int)(intptr_t)arg);
  cw_actor_set_name(name);
  bank_conn *c = bank_db_conn(db);
  while (!atomic_load(&stopping)) {
    bank_rows rows;
    if (!c || bank_execf(c, &rows, NULL,
                         "SELECT id, user_id, message, mode, barrier, "
                         "barrier_n, delay_ms FROM notifications WHERE status "
                         "= 'pending' ORDER BY id LIMIT 8") != 0) {
      bank_sleep_ms(200);
      c = bank_db_conn(db);
      continue;
    }
    for (int i = 0; i < rows.nrows; i++)
      handle(c, &rows, i, name);
    if (rows.nrows == 0)
      bank_sleep_ms(20);
    bank_rows_free(&rows);
  }
  return NULL;
}

/* ---- Routes -------------------------------------------------------------- */

static int h_enqueue(bank_req *r) {
  int64_t user;
  const char *msg, *e;
  if ((e = bank_get_id(r->body, "user_id", &user)))
    return bank_reply_error(r, 400, "user_id must be a user id (>= 1)");
  if ((e = bank_get_str(r->body, "message", 256, &msg)))
    return bank_reply_error(r, 400, "message must be a string of 1-256 bytes");
  bank_knobs k;
  if ((e = bank_knobs_parse(r->body, &k)))
    return bank_reply_error(r, 400, e);
  char u[24], bn[24], d[24], now[24];
  bank_rows rows;
  if (bank_execf(bank_db_conn(db), &rows, NULL,
                 "INSERT INTO notifications(user_id, message, status, mode, "
                 "barrier, barrier_n, delay_ms, created_ms) VALUES ($1, $2, "
                 "'pending', $3, $4, $5, $6, $7) RETURNING id",
                 bank_i64(u, user), msg, k.unsafe ? "unsafe" : "safe",
                 k.barrier[0] ? k.barrier : NULL, bank_i64(bn, k.barrier_n),
                 bank_i64(d, k.delay_ms), bank_i64(now, bank_now_ms())) != 0 ||
      rows.nrows != 1) {
    bank_rows_free(&rows);
    return bank_reply_error(r, 500, "database error");
  }
  int64_t id = bank_cell_int(&rows, 0, 0);
  bank_rows_free(&rows);
  return bank_reply_json(
      r, 201,
      json_pack("{s:I,s:s}", "id", (json_int_t)id, "status", "pending"));
}

static int deliveries(bank_req *r, const char *sql, int64_t id) {
  char ids[24];
  bank_rows rows;
  if (bank_execf(bank_db_conn(db), &rows, NULL, sql, bank_i64(ids, id)) != 0) {
    bank_rows_free(&rows);
    return bank_reply_error(r, 500, "database error");
  }
  json_t *a = json_array();
  int sent = 0;
  for (int i = 0; i < rows.nrows; i++) {
    const char *outcome = bank_cell(&rows, i, 3);
    sent += outcome && strcmp(outcome, "sent") == 0;
    json_array_append_new(
        a, json_pack("{s:I,s:I,s:s,s:s,s:I}", "notification",
                     (json_int_t)bank_cell_int(&rows, i, 0), "user_id",
                     (json_int_t)bank_cell_int(&rows, i, 1), "worker",
                     bank_cell(&rows, i, 2) ? bank_cell(&rows, i, 2) : "",
                     "outcome", outcome ? outcome : "", "at_ms",
                     (json_int_t)bank_cell_int(&rows, i, 4)));
  }
  bank_rows_free(&rows);
  return bank_reply_json(r, 200,
                         json_pack("{s:i,s:o}", "sent", sent, "deliveries", a));
}

static int h_deliveries(bank_req *r) {
  int64_t id;
  if (bank_param_id(r, 0, &id))
    return r->status;
  return deliveries(r,
                    "SELECT notification_id, user_id, worker, outcome, at_ms "
                    "FROM deliveries WHERE notification_id = $1 ORDER BY id",
                    id);
}

static int h_user(bank_req *r) {
  int64_t id;
  if (bank_param_id(r, 0, &id))
    return r->status;
  return deliveries(r,
                    "SELECT notification_id, user_id, worker, outcome, at_ms "
                    "FROM deliveries WHERE user_id = $1 ORDER BY id DESC "
                    "LIMIT 100",
                    id);
}

static int h_reset(bank_req *r) {
  bank_conn *c = bank_db_conn(db);
  if (bank_execf(c, NULL, NULL, "DELETE FROM notifications") != 0 ||
      bank_execf(c, NULL, NULL, "DELETE FROM deliveries") != 0)
    return bank_reply_error(r, 500, "database error");
  return bank_reply_json(r, 200, json_pack("{s:b}", "reset", 1));
}

static const bank_route routes[] = {
    {"POST", "/notifications", h_enqueue},
    {"GET", "/notifications/:id/deliveries", h_deliveries},
    {"GET", "/notifications/user/:user_id", h_user},
    {"POST", "/admin/reset", h_reset},
    {NULL, NULL, NULL}};

int main(int argc, char **argv) {
  bank_opts o;
  bank_opts_parse(&o, "notifications", argc, argv);
  if (o.port < 0)
    o.port = 7003;
  if (o.rate_limit > 0)
    per_minute = o.rate_limit;
  bank_svc_init(&o);
  bank_counter_register(&c_sent);
  bank_counter_register(&c_limited);
  cw_lock_name(&rl_lock, "notifications:ratelimit");
  /* SQLite only: the queue is this service's own. */
  db = bank_db_open(o.data_dir, "notifications", NULL, schema_sqlite, NULL);
  int port = 0;
  struct mg_context *ctx =
      bank_http_start("notifications", o.port, o.threads, routes, NULL, &port);
  if (!ctx)
    return 1;
  pthread_t workers[64];
  for (int i = 0; i < o.workers; i++)
    cw_thread_create(&workers[i], NULL, worker_main, (void *)(intptr_t)(i + 1));
  bank_svc_run(&o, port);
  atomic_store(&stopping, 1);
  for (int i = 0; i < o.workers; i++)
    cw_thread_join(workers[i], NULL);
  mg_stop(ctx);
  return bank_svc_shutdown();
}
