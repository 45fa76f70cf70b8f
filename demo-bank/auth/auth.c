/*
 * bank-auth (port 7004): logins, signed session tokens, an audit log.
 *
 *   POST /auth/users              {"username","password"} -> 201 {"id"}
 *   POST /auth/login              {"username","password"} -> {"token",...}
 *   POST /auth/verify             {"token"} or Authorization: Bearer
 *   POST /auth/logout             {"token"}
 *   GET  /auth/sessions/:user_id  {"sessions": N}
 *   GET  /auth/audit/:user_id     the user's audit log
 *   POST /admin/reset
 *
 * Passwords are stored as libsodium crypto_pwhash_str() hashes (Argon2id,
 * interactive limits). A token is "<user>.<session>.<expiry>.<mac>" where
 * mac is crypto_auth (HMAC-SHA-512-256) of the rest under a key from
 * BANK_AUTH_KEY (64 hex digits) or a random one per start. A token is
 * valid while its MAC verifies, it has not expired, and its session is in
 * the user's session cache (logout removes it).
 *
 * Scenario 6 is how a login updates the session cache (in memory) and the
 * audit log (a row per user):
 *   safe    under the user's mutex ("auth:user:<id>"): read, append, write;
 *   unsafe  check-then-set without it: concurrent logins each read the old
 *           cache and log and write back their own copy, losing the others.
 */
#define _POSIX_C_SOURCE 200809L
#include <causeway.h>
#include <civetweb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bank_db.h"
#include "bank_http.h"
#include "bank_knobs.h"
#include "bank_svc.h"
#include "sessions.h"

static bank_db *db;
static unsigned char key[crypto_auth_KEYBYTES];

static const char *schema_sqlite =
    "CREATE TABLE IF NOT EXISTS users("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL UNIQUE,"
    " pwhash TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit("
    " user_id INTEGER PRIMARY KEY, log TEXT NOT NULL,"
    " entries INTEGER NOT NULL)";

static const struct {
  const char *user, *password;
} seed[] = {{"alice", "alice-password"},
            {"bob", "bob-password"},
            {"carol", "carol-password"}};

static bank_counter c_ok = {"bank_logins_total", "login attempts",
                            "outcome=\"ok\"", 0, NULL};
static bank_counter c_bad = {"bank_logins_total", "login attempts",
                             "outcome=\"refused\"", 0, NULL};

static int64_t create_user(bank_conn *c, const char *user, const char *pw,
                           int *dup) {
  char hash[crypto_pwhash_STRBYTES];
  *dup = 0;
  if (crypto_pwhash_str(hash, pw, strlen(pw),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return -1;
  bank_rows rows;
  int rc = bank_execf(c, &rows, NULL,
                      "INSERT INTO users(username, pwhash) VALUES ($1, $2) "
                      "RETURNING id",
                      user, hash);
  int64_t id = rc == 0 && rows.nrows == 1 ? bank_cell_int(&rows, 0, 0) : -1;
  bank_rows_free(&rows);
  if (rc == BANK_DB_CONSTRAINT) {
    *dup = 1;
    return -1;
  }
  if (id > 0) {
    char ids[24];
    bank_execf(c, NULL, NULL,
               "INSERT INTO audit(user_id, log, entries) VALUES ($1, '[]', 0)",
               bank_i64(ids, id));
    sessions_add_user(id);
  }
  return id;
}

static int seed_data(bank_conn *c) {
  sessions_reset();
  if (bank_execf(c, NULL, NULL, "DELETE FROM users") != 0 ||
      bank_execf(c, NULL, NULL, "DELETE FROM audit") != 0 ||
      bank_execf(c, NULL, NULL, "DELETE FROM sqlite_sequence") != 0)
    return -1;
  for (size_t i = 0; i < sizeof seed / sizeof seed[0]; i++) {
    int dup;
    if (create_user(c, seed[i].user, seed[i].password, &dup) < 0)
      return -1;
  }
  return 0;
}

/* ---- Tokens -------------------------------------------------------------- */

static void make_token(char *out, size_t cap, int64_t user, const char *sid) {
  char payload[128];
  snprintf(payload, sizeof payload, "%lld.%s.%lld", (long long)user, sid,
           (long long)time(NULL) + 3600);
  unsigned char mac[crypto_auth_BYTES];
  crypto_auth(mac, (const unsigned char *)payload, strlen(payload), key);
  char hex[crypto_auth_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  snprintf(out, cap, "%s.%s", payload, hex);
}

/* @return the user id of a valid token (its session in *sid), or 0. */
static int64_t check_token(const char *tok, char sid[SESSION_ID_LEN + 1]) {
  const char *dot = tok ? strrchr(tok, '.') : NULL;
  if (!dot || strlen(tok) > 200)
    return 0;
  unsigned char mac[crypto_auth_BYTES];
  size_t n = 0;
  if (sodium_hex2bin(mac, sizeof mac, dot + 1, strlen(dot + 1), NULL, &n,
                     NULL) != 0 ||
      n != sizeof mac)
    return 0;
  if (crypto_auth_verify(mac, (const unsigned char *)tok, (size_t)(dot - tok),
                         key) != 0)
    return 0;
  long long user = 0, exp = 0;
  char s[SESSION_ID_LEN + 1];
  if (sscanf(tok, "%lld.%32[0-9a-f].%lld", &user, s, &exp) != 3 ||
      exp < (long long)time(NULL) || user <= 0)
    return 0;
  memcpy(sid, s, sizeof s);
  return user;
}

static const char *bearer(bank_req *r) {
  const char *h = mg_get_header(r->conn, "Authorization");
  if (h && strncmp(h, "Bearer ", 7) == 0)
    return h + 7;
  json_t *t = json_object_get(r->body, "token");
  return json_is_string(t) ? json_string_value(t) : NULL;
}

/* ---- Audit log ------------------------------------------------------------
 */

/* The user's audit log (a JSON array, new reference). */
static json_t *audit_read(bank_conn *c, const char *uid) {
  bank_rows rows;
  bank_execf(c, &rows, NULL, "SELECT log FROM audit WHERE user_id = $1", uid);
  json_t *log = rows.nrows ? json_loads(bank_cell(&rows, 0, 0), 0, NULL) : NULL;
  bank_rows_free(&rows);
  if (!json_is_array(log)) {
    json_decref(log);
    log = json_array();
  }
  return log;
}

static void audit_append(json_t *log, const char *event, const char *sid) {
  json_array_append_new(log,
                        json_pack("{s:s,s:s,s:I}", "event", event, "session",
                                  sid, "at_ms", (json_int_t)bank_now_ms()));
  while (json_array_size(log) > 50)
    json_array_remove(log, 0);
}

/* Writes the log back (steals it). */
static void audit_write(bank_conn *c, const char *uid, json_t *log) {
  char *text = json_dumps(log, JSON_COMPACT);
  json_decref(log);
  bank_execf(c, NULL, NULL, "UPDATE audit SET log = $1 WHERE user_id = $2",
             text ? text : "[]", uid);
  free(text);
}

/* Records a login in the session cache and the audit log: read both,
 * append, write both back. Safe callers hold the user's mutex; unsafe ones
 * do not, and wait at the knob barrier between the reads and the writes.
 * @return 0, or -1 when the user is unknown to the cache. */
static int record_login(bank_conn *c, int64_t user, const char *uid,
                        const char *sid, const bank_knobs *k) {
  session_list l;
  if (sessions_read(user, &l) != 0)
    return -1;
  json_t *log = audit_read(c, uid);
  session_list_add(&l, sid);
  audit_append(log, "login", sid);
  if (k)
    bank_knobs_window(k); /* every login has read the old state */
  sessions_write(user, &l);
  audit_write(c, uid, log);
  return 0;
}

/* ---- Routes -------------------------------------------------------------- */

static int h_create(bank_req *r) {
  const char *user, *pw;
  if (bank_get_str(r->body, "username", 64, &user))
    return bank_reply_error(r, 400, "username must be a string of 1-64 bytes");
  if (bank_get_str(r->body, "password", 128, &pw) || strlen(pw) < 8)
    return bank_reply_error(r, 400, "password must be 8-128 bytes");
  int dup = 0;
  int64_t id = create_user(bank_db_conn(db), user, pw, &dup);
  if (dup)
    return bank_reply_error(r, 409, "username taken");
  if (id < 0)
    return bank_reply_error(r, 500, "could not create the user");
  return bank_reply_json(
      r, 201, json_pack("{s:I,s:s}", "id", (json_int_t)id, "username", user));
}

static int h_login(bank_req *r) {
  const char *user, *pw, *e;
  if (bank_get_str(r->body, "username", 64, &user) ||
      bank_get_str(r->body, "password", 128, &pw))
    return bank_reply_error(r, 400, "username and password are required");
  bank_knobs k;
  if ((e = bank_knobs_parse(r->body, &k)))
    return bank_reply_error(r, 400, e);
  bank_conn *c = bank_db_conn(db);
  bank_rows rows;
  bank_execf(c, &rows, NULL, "SELECT id, pwhash FROM users WHERE username = $1",
             user);
  int64_t id = rows.nrows ? bank_cell_int(&rows, 0, 0) : 0;
  int ok = id > 0 && crypto_pwhash_str_verify(bank_cell(&rows, 0, 1), pw,
                                              strlen(pw)) == 0;
  bank_rows_free(&rows);
  if (!ok) {
    bank_counter_add(&c_bad, 1);
    return bank_reply_error(r, 401, "wrong username or password");
  }
  char sid[SESSION_ID_LEN + 1], uid[24];
  unsigned char raw[SESSION_ID_LEN / 2];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2hex(sid, sizeof sid, raw, sizeof raw);
  bank_i64(uid, id);
  int rc;
  if (k.unsafe) { /* check-then-set, no serialisation */
    rc = record_login(c, id, uid, sid, &k);
  } else {
    bank_knobs_window(&k); /* the logins arrive together */
    pthread_mutex_t *m = sessions_user_mutex(id);
    if (!m)
      return bank_reply_error(r, 503, "session cache full");
    cw_mutex_lock(m);
    rc = record_login(c, id, uid, sid, NULL);
    cw_mutex_unlock(m);
  }
  if (rc != 0)
    return bank_reply_error(r, 503, "session cache full");
  bank_counter_add(&c_ok, 1);
  char tok[256];
  make_token(tok, sizeof tok, id, sid);
  return bank_reply_json(r, 200,
                         json_pack("{s:s,s:I,s:s}", "token", tok, "user_id",
                                   (json_int_t)id, "session", sid));
}

static int h_verify(bank_req *r) {
  char sid[SESSION_ID_LEN + 1];
  int64_t user = check_token(bearer(r), sid);
  if (!user || !sessions_has(user, sid))
    return bank_reply_error(r, 401, "invalid or expired token");
  return bank_reply_json(
      r, 200,
      json_pack("{s:I,s:s}", "user_id", (json_int_t)user, "session", sid));
}

static int h_logout(bank_req *r) {
  char sid[SESSION_ID_LEN + 1], uid[24];
  int64_t user = check_token(bearer(r), sid);
  if (!user || !sessions_remove(user, sid))
    return bank_reply_error(r, 401, "invalid or expired token");
  pthread_mutex_t *m = sessions_user_mutex(user);
  bank_conn *c = bank_db_conn(db);
  cw_mutex_lock(m);
  json_t *log = audit_read(c, bank_i64(uid, user));
  audit_append(log, "logout", sid);
  audit_write(c, uid, log);
  cw_mutex_unlock(m);
  return bank_reply_json(r, 200, json_pack("{s:b}", "logged_out", 1));
}

static int h_sessions(bank_req *r) {
  int64_t id;
  if (bank_param_id(r, 0, &id))
    return r->status;
  int n = sessions_count(id);
  if (n < 0)
    return bank_reply_error(r, 404, "unknown user");
  return bank_reply_json(
      r, 200, json_pack("{s:I,s:i}", "user_id", (json_int_t)id, "sessions", n));
}

static int h_audit(bank_req *r) {
  int64_t id;
  if (bank_param_id(r, 0, &id))
    return r->status;
  char ids[24];
  bank_rows rows;
  bank_execf(bank_db_conn(db), &rows, NULL,
             "SELECT log FROM audit WHERE user_id = $1", bank_i64(ids, id));
  if (rows.nrows == 0) {
    bank_rows_free(&rows);
    return bank_reply_error(r, 404, "unknown user");
  }
  json_t *log = json_loads(bank_cell(&rows, 0, 0), 0, NULL);
  bank_rows_free(&rows);
  return bank_reply_json(r, 200,
                         json_pack("{s:I,s:o}", "user_id", (json_int_t)id,
                                   "entries", log ? log : json_array()));
}

static int h_reset(bank_req *r) {
  if (seed_data(bank_db_conn(db)) != 0)
    return bank_reply_error(r, 500, "database error");
  return bank_reply_json(r, 200, json_pack("{s:b}", "reset", 1));
}

static const bank_route routes[] = {{"POST", "/auth/users", h_create},
                                    {"POST", "/auth/login", h_login},
                                    {"POST", "/auth/verify", h_verify},
                                    {"POST", "/auth/logout", h_logout},
                                    {"GET", "/auth/sessions/:id", h_sessions},
                                    {"GET", "/auth/audit/:id", h_audit},
                                    {"POST", "/admin/reset", h_reset},
                                    {NULL, NULL, NULL}};

int main(int argc, char **argv) {
  bank_opts o;
  bank_opts_parse(&o, "auth", argc, argv);
  if (o.port < 0)
    o.port = 7004;
  if (sodium_init() < 0)
    return 1;
  const char *hex = getenv("BANK_AUTH_KEY");
  size_t n = 0;
  if (!hex ||
      sodium_hex2bin(key, sizeof key, hex, strlen(hex), NULL, &n, NULL) != 0 ||
      n != sizeof key)
    crypto_auth_keygen(key);
  bank_svc_init(&o);
  bank_counter_register(&c_ok);
  bank_counter_register(&c_bad);
  db = bank_db_open(o.data_dir, "auth", NULL, schema_sqlite, NULL);
  bank_conn *c = bank_db_conn(db);
  bank_rows rows;
  bank_execf(c, &rows, NULL, "SELECT id FROM users ORDER BY id");
  if (rows.nrows == 0)
    seed_data(c);
  for (int i = 0; i < rows.nrows; i++)
    sessions_add_user(bank_cell_int(&rows, i, 0));
  bank_rows_free(&rows);
  int port = 0;
  struct mg_context *ctx =
      bank_http_start("auth", o.port, o.threads, routes, NULL, &port);
  if (!ctx)
    return 1;
  bank_svc_run(&o, port);
  mg_stop(ctx);
  return bank_svc_shutdown();
}
