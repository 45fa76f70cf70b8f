/*
 * glue_app.c: a two-service program built only from the installed causeway
 * package (sdk_consumer test): the HTTP glue (civetweb server, libcurl
 * client) and the SQLite wrappers.
 *
 *   glue_app ledger PORTFILE DB   service "ledger": POST /deposit runs one
 *                                 SQLite transaction (BEGIN IMMEDIATE, read,
 *                                 update); POST /quit stops it. Writes its
 *                                 port to PORTFILE once listening.
 *   glue_app teller URL N         service "teller": N deposits, then
 *                                 /quit; prints "calls=C joined=J".
 *
 * Traces go where CAUSEWAY_TRACE_FILE / CAUSEWAY_TRACE_DIR say.
 */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <causeway.h>
#include <causeway/db.h>
#include <causeway/http.h>
#include <sqlite3.h>

static sqlite3 *db;
static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t quit_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t quit_cv = PTHREAD_COND_INITIALIZER;
static int quit;

static int deposit(struct mg_connection *conn, void *cbdata) {
  (void)cbdata;
  int ok = 0;
  sqlite3_stmt *sel = NULL, *upd = NULL;
  /* One connection, one transaction at a time. */
  cw_mutex_lock(&db_lock);
  if (cw_sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
    if (cw_sqlite3_prepare_v2(db, "SELECT balance FROM accounts WHERE id = ?",
                              -1, &sel, NULL) == SQLITE_OK &&
        cw_sqlite3_prepare_v2(db,
                              "UPDATE accounts SET balance = ? WHERE id = ?",
                              -1, &upd, NULL) == SQLITE_OK) {
      sqlite3_bind_text(sel, 1, "alice", -1, SQLITE_STATIC);
      if (cw_sqlite3_step(sel) == SQLITE_ROW) {
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0) + 10);
        sqlite3_bind_text(upd, 2, "alice", -1, SQLITE_STATIC);
        ok = cw_sqlite3_step(upd) == SQLITE_DONE;
      }
    }
    cw_sqlite3_finalize(sel);
    cw_sqlite3_finalize(upd);
    cw_sqlite3_exec(db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
  }
  cw_mutex_unlock(&db_lock);
  cw_http_respond(conn, ok ? 200 : 500, "text/plain", ok ? "ok\n" : "no\n", 3);
  return ok ? 200 : 500;
}

static int stop(struct mg_connection *conn, void *cbdata) {
  (void)cbdata;
  cw_http_respond(conn, 200, "text/plain", "bye\n", 4);
  pthread_mutex_lock(&quit_mu);
  quit = 1;
  pthread_cond_signal(&quit_cv);
  pthread_mutex_unlock(&quit_mu);
  return 200;
}

static int ledger(const char *portfile, const char *path) {
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "ledger";
  if (cw_init(&cfg) != CW_OK || sqlite3_open(path, &db) != SQLITE_OK)
    return 1;
  cw_lock_name(&db_lock, "lock:ledger-db");
  cw_sqlite3_exec(db,
                  "CREATE TABLE IF NOT EXISTS accounts(id TEXT PRIMARY KEY,"
                  " balance INTEGER);"
                  "INSERT OR IGNORE INTO accounts VALUES ('alice', 100);",
                  NULL, NULL, NULL);
  mg_init_library(0);
  const char *opts[] = {"listening_ports", "127.0.0.1:0", "num_threads", "4",
                        NULL};
  struct mg_callbacks cb;
  memset(&cb, 0, sizeof cb);
  struct mg_context *ctx = mg_start(&cb, NULL, opts);
  if (!ctx)
    return 1;
  cw_http_set_request_handler(ctx, "/deposit", deposit, NULL);
  cw_http_set_request_handler(ctx, "/quit", stop, NULL);
  struct mg_server_port port;
  if (mg_get_server_ports(ctx, 1, &port) != 1)
    return 1;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
  FILE *f = fopen(tmp, "w");
  if (!f || fprintf(f, "%d\n", port.port) < 0 || fclose(f) != 0 ||
      rename(tmp, portfile) != 0)
    return 1;
  pthread_mutex_lock(&quit_mu);
  while (!quit)
    pthread_cond_wait(&quit_cv, &quit_mu);
  pthread_mutex_unlock(&quit_mu);
  mg_stop(ctx);
  mg_exit_library();
  long balance = -1;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT balance FROM accounts WHERE id='alice'",
                         -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    balance = (long)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  cw_sqlite3_close(db);
  printf("balance=%ld\n", balance);
  return cw_shutdown() == CW_OK ? 0 : 1;
}

static int post(CURL *h, const char *url) {
  struct curl_slist *hdr = curl_slist_append(NULL, "Accept: text/plain");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
  cw_curl_opts o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.headers = hdr;
  o.method = "POST";
  CURLcode rc = cw_curl_perform(h, &o);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hdr);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  return rc == CURLE_OK && status == 200 ? 0 : -1;
}

static int teller(const char *base, int n) {
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "teller";
  if (cw_init(&cfg) != CW_OK)
    return 1;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *h = curl_easy_init();
  char url[512];
  int rc = 0;
  cw_http_trace_begin(NULL);
  snprintf(url, sizeof url, "%s/deposit", base);
  for (int i = 0; i < n && rc == 0; i++)
    rc = post(h, url);
  snprintf(url, sizeof url, "%s/quit", base);
  if (post(h, url) != 0)
    rc = -1;
  curl_easy_cleanup(h);
  curl_global_cleanup();
  cw_http_stats st;
  cw_http_stats_get(&st);
  printf("calls=%llu joined=%llu\n", (unsigned long long)st.calls,
         (unsigned long long)st.clocks_joined);
  return cw_shutdown() == CW_OK && rc == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "ledger"))
    return ledger(argv[2], argv[3]);
  if (argc == 4 && !strcmp(argv[1], "teller")) {
    long n = strtol(argv[3], NULL, 10);
    return teller(argv[2], n > 0 && n < 10000 ? (int)n : 1);
  }
  fprintf(stderr, "usage: glue_app ledger PORTFILE DB | teller URL N\n");
  return 2;
}
