/*
 * bank-web (port 3000): the bank's pages, their API, and the admin API.
 *
 * Pages (static/): login, dashboard, transfer, history, admin panel.
 *
 * User API (Authorization: Bearer <token from /api/login>):
 *   POST /api/login {"username","password"}   POST /api/logout
 *   GET  /api/accounts                        the user's accounts
 *   POST /api/transfer {"from","to","amount","idempotency_key"}
 *   GET  /api/history/:account_id             GET /api/feed?after=N
 *
 * Admin API (the panel uses it; so does bank-cli):
 *   GET/PUT /admin/api/settings     knobs: delay_ms, barrier, safe per scenario
 *   POST    /admin/api/reset        every service back to its seed data
 *   GET     /admin/api/scenarios    the six scenarios
 *   POST    /admin/api/scenarios/:n/run   {"mode":"safe"|"unsafe"}
 *   POST    /admin/api/run-all      every scenario, safe then unsafe
 *   GET     /admin/api/runs         results so far
 *   GET     /admin/api/info         where the viewer and services are
 */
#define _POSIX_C_SOURCE 200809L
#include <causeway.h>
#include <civetweb.h>
#include <stdio.h>
#include <string.h>

#include "bank_http.h"
#include "bank_knobs.h"
#include "bank_svc.h"
#include "runner.h"

#ifndef BANK_STATIC_DIR
#define BANK_STATIC_DIR "demo-bank/web/static"
#endif

static bank_opts opts;

/* Passes a service's reply (status and JSON) straight back. */
static int relay(bank_req *r, int st, json_t *reply) {
  if (st < 0) {
    json_decref(reply);
    return bank_reply_error(r, 502, "a bank service is unreachable");
  }
  return bank_reply_json(r, st, reply ? reply : json_object());
}

/* Verifies the caller's token with auth. @return the user id, or 0 after
 * replying 401. */
static int64_t user_of(bank_req *r) {
  const char *h = mg_get_header(r->conn, "Authorization");
  if (!h || strncmp(h, "Bearer ", 7) != 0 || strlen(h) > 400) {
    bank_reply_error(r, 401, "missing or malformed bearer token");
    return 0;
  }
  char hdr[512], url[512];
  snprintf(hdr, sizeof hdr, "Authorization: %s", h);
  json_t *reply = NULL;
  int st =
      bank_call("POST", bank_url(url, sizeof url, opts.auth, "/auth/verify"),
                NULL, &reply, 0, hdr);
  int64_t uid =
      st == 200 ? json_integer_value(json_object_get(reply, "user_id")) : 0;
  json_decref(reply);
  if (!uid)
    bank_reply_error(r, 401, "invalid or expired token");
  return uid;
}

/* Does account `id` belong to user `uid`? Replies 403/404 when not. */
static int owns(bank_req *r, int64_t uid, int64_t id) {
  char url[512];
  json_t *a = NULL;
  int st = bank_call(
      "GET",
      bank_url(url, sizeof url, opts.accounts, "/accounts/%lld", (long long)id),
      NULL, &a, 0, NULL);
  int64_t owner = json_integer_value(json_object_get(a, "user_id"));
  json_decref(a);
  if (st == 404) {
    bank_reply_error(r, 404, "unknown account");
    return 0;
  }
  if (st != 200) {
    bank_reply_error(r, 502, "accounts service unavailable");
    return 0;
  }
  if (owner != uid) {
    bank_reply_error(r, 403, "not your account");
    return 0;
  }
  return 1;
}

static int h_login(bank_req *r) {
  const char *u, *p;
  if (bank_get_str(r->body, "username", 64, &u) ||
      bank_get_str(r->body, "password", 128, &p))
    return bank_reply_error(r, 400, "username and password are required");
  json_t *b = json_pack("{s:s,s:s}", "username", u, "password", p),
         *reply = NULL;
  char url[512];
  int st =
      bank_call("POST", bank_url(url, sizeof url, opts.auth, "/auth/login"), b,
                &reply, 0, NULL);
  json_decref(b);
  return relay(r, st, reply);
}

static int h_logout(bank_req *r) {
  const char *h = mg_get_header(r->conn, "Authorization");
  if (!h || strlen(h) > 400)
    return bank_reply_error(r, 401, "missing or malformed bearer token");
  char hdr[512], url[512];
  snprintf(hdr, sizeof hdr, "Authorization: %s", h);
  json_t *reply = NULL;
  int st =
      bank_call("POST", bank_url(url, sizeof url, opts.auth, "/auth/logout"),
                NULL, &reply, 0, hdr);
  return relay(r, st, reply);
}

static int h_accounts(bank_req *r) {
  int64_t uid = user_of(r);
  if (!uid)
    return r->status;
  char url[512];
  json_t *reply = NULL;
  int st = bank_call("GET",
                     bank_url(url, sizeof url, opts.accounts,
                              "/accounts/user/%lld", (long long)uid),
                     NULL, &reply, 0, NULL);
  return relay(r, st, reply);
}

static int h_transfer(bank_req *r) {
  int64_t uid = user_of(r);
  if (!uid)
    return r->status;
  int64_t from, to, amount;
  const char *e;
  if (bank_get_id(r->body, "from", &from) || bank_get_id(r->body, "to", &to))
    return bank_reply_error(r, 400, "from and to must be account ids (>= 1)");
  if ((e = bank_get_amount(r->body, "amount", &amount)))
    return bank_reply_error(r, 400, e);
  const char *key;
  if (bank_get_str(r->body, "idempotency_key", 64, &key))
    return bank_reply_error(r, 400, "missing idempotency key (1-64 bytes)");
  if (!owns(r, uid, from))
    return r->status;
  json_t *b = json_pack("{s:I,s:I,s:I,s:s}", "from", (json_int_t)from, "to",
                        (json_int_t)to, "amount", (json_int_t)amount,
                        "idempotency_key", key),
         *reply = NULL;
  char url[512], client[96];
  snprintf(client, sizeof client, "X-Client-Id: web-user-%lld", (long long)uid);
  int st = bank_call(
      "POST",
      bank_url(url, sizeof url, opts.transactions, "/transactions/transfer"), b,
      &reply, 0, client);
  json_decref(b);
  return relay(r, st, reply);
}

static int h_history(bank_req *r) {
  int64_t uid = user_of(r), id;
  if (!uid)
    return r->status;
  if (bank_param_id(r, 0, &id))
    return r->status;
  if (!owns(r, uid, id))
    return r->status;
  char url[512];
  json_t *reply = NULL;
  int st = bank_call("GET",
                     bank_url(url, sizeof url, opts.transactions,
                              "/transactions/account/%lld", (long long)id),
                     NULL, &reply, 0, NULL);
  return relay(r, st, reply);
}

static int h_feed(bank_req *r) {
  char after[32] = "0", url[512];
  bank_query_var(r, "after", after, sizeof after);
  json_t *reply = NULL;
  int st = bank_call("GET",
                     bank_url(url, sizeof url, opts.transactions,
                              "/transactions/feed?after=%s", after),
                     NULL, &reply, 0, NULL);
  return relay(r, st, reply);
}

/* ---- Admin ----------------------------------------------------------------
 */

static int h_settings_get(bank_req *r) {
  return bank_reply_json(r, 200, runner_settings_json());
}

static int h_settings_put(bank_req *r) {
  const char *e = runner_settings_set(r->body);
  if (e)
    return bank_reply_error(r, 400, e);
  return bank_reply_json(r, 200, runner_settings_json());
}

static int h_reset(bank_req *r) {
  if (runner_reset() != 0)
    return bank_reply_error(r, 502, "a service did not reset");
  return bank_reply_json(r, 200, json_pack("{s:b}", "reset", 1));
}

static int h_catalog(bank_req *r) {
  return bank_reply_json(r, 200,
                         json_pack("{s:o}", "scenarios", runner_catalog()));
}

static int h_run(bank_req *r) {
  const char *p = r->params[0];
  if (!p || strlen(p) != 1 || p[0] < '1' || p[0] > '6')
    return bank_reply_error(r, 404, "scenarios are numbered 1-6");
  int mode = -1;
  json_t *m = json_object_get(r->body, "mode");
  char q[16];
  const char *ms = json_is_string(m) ? json_string_value(m)
                   : bank_query_var(r, "mode", q, sizeof q) == 0 ? q
                                                                 : NULL;
  if (m && !json_is_string(m))
    return bank_reply_error(r, 400, "mode must be \"safe\" or \"unsafe\"");
  if (ms) {
    if (strcmp(ms, "safe") == 0)
      mode = 0;
    else if (strcmp(ms, "unsafe") == 0)
      mode = 1;
    else
      return bank_reply_error(r, 400, "mode must be \"safe\" or \"unsafe\"");
  }
  return bank_reply_json(r, 200, runner_run(p[0] - '0', mode));
}

static int h_run_all(bank_req *r) {
  return bank_reply_json(r, 200, json_pack("{s:o}", "runs", runner_run_all()));
}

static int h_runs(bank_req *r) {
  return bank_reply_json(r, 200, json_pack("{s:o}", "runs", runner_history()));
}

static int h_info(bank_req *r) {
  return bank_reply_json(
      r, 200,
      json_pack("{s:s?,s:s?,s:{s:s,s:s,s:s,s:s}}", "viewer", opts.viewer,
                "collector", opts.collector, "services", "accounts",
                opts.accounts, "transactions", opts.transactions,
                "notifications", opts.notifications, "auth", opts.auth));
}

static const bank_route routes[] = {
    {"POST", "/api/login", h_login},
    {"POST", "/api/logout", h_logout},
    {"GET", "/api/accounts", h_accounts},
    {"POST", "/api/transfer", h_transfer},
    {"GET", "/api/history/:id", h_history},
    {"GET", "/api/feed", h_feed},
    {"GET", "/admin/api/settings", h_settings_get},
    {"PUT", "/admin/api/settings", h_settings_put},
    {"POST", "/admin/api/settings", h_settings_put},
    {"POST", "/admin/api/reset", h_reset},
    {"GET", "/admin/api/scenarios", h_catalog},
    {"POST", "/admin/api/scenarios/:n/run", h_run},
    {"POST", "/admin/api/run-all", h_run_all},
    {"GET", "/admin/api/runs", h_runs},
    {"GET", "/admin/api/info", h_info},
    {NULL, NULL, NULL}};

int main(int argc, char **argv) {
  bank_opts_parse(&opts, "web", argc, argv);
  if (opts.port < 0)
    opts.port = 3000;
  if (!opts.accounts)
    opts.accounts = "http://127.0.0.1:7001";
  if (!opts.transactions)
    opts.transactions = "http://127.0.0.1:7002";
  if (!opts.notifications)
    opts.notifications = "http://127.0.0.1:7003";
  if (!opts.auth)
    opts.auth = "http://127.0.0.1:7004";
  if (!opts.static_dir)
    opts.static_dir = BANK_STATIC_DIR;
  bank_svc_init(&opts);
  runner_cfg rc = {opts.accounts, opts.transactions, opts.notifications,
                   opts.auth,     opts.collector,    opts.viewer};
  runner_init(&rc);
  int port = 0;
  struct mg_context *ctx = bank_http_start("web", opts.port, opts.threads,
                                           routes, opts.static_dir, &port);
  if (!ctx)
    return 1;
  bank_svc_run(&opts, port);
  mg_stop(ctx);
  return bank_svc_shutdown();
}
