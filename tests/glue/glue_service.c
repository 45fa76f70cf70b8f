/*
 * glue_service: one instrumented civetweb service for the HTTP integration
 * tests (one server per process, as civetweb's mg_stop is slow).
 *
 *   glue_service ledger PORTFILE
 *     GET  /balance?acct=A          reads  account:A.balance
 *     PUT  /balance?acct=A&value=V  writes account:A.balance
 *     The store itself is a thread-safe table behind an untraced lock (like
 *     a database's internal latch): it protects memory, not the logic.
 *   glue_service api PORTFILE LEDGER_PORT
 *     POST /transfer?acct=A&amount=N[&lock=1]
 *     reads the balance from the ledger (and records that it read it),
 *     then writes balance+N back: a read-modify-write through HTTP. With
 *     lock=1 it holds the named lock "lock:account:A" around it.
 *   glue_service peer PORTFILE NAME   (distributed deadlock)
 *     POST /outer?peer=P  takes "lock:NAME", calls P's /inner, unlocks
 *     POST /inner         takes "lock:NAME" (blocking), unlocks
 *
 * The service name is the role (ledger, api) or NAME for peers, unless
 * CAUSEWAY_SERVICE says otherwise; CAUSEWAY_TRACE_FILE names the trace.
 * It runs until SIGTERM, then stops civetweb and flushes the trace.
 */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "causeway.h"
#include "causeway/http.h"
#include "glue_util.h"

#define MAX_ACCTS 8

/* ---- ledger ------------------------------------------------------------- */

static pthread_mutex_t store_mu = PTHREAD_MUTEX_INITIALIZER; /* untraced */
static struct {
  char name[32];
  long balance;
} store[MAX_ACCTS];

static long *slot(const char *name) {
  for (int i = 0; i < MAX_ACCTS; i++) {
    if (store[i].name[0] == 0) {
      snprintf(store[i].name, sizeof store[i].name, "%s", name);
      store[i].balance = 100;
    }
    if (strcmp(store[i].name, name) == 0)
      return &store[i].balance;
  }
  return NULL;
}

static int ledger_balance(struct mg_connection *conn, void *cbdata) {
  (void)cbdata;
  char acct[32], value[32], key[64], out[32];
  const struct mg_request_info *ri = mg_get_request_info(conn);
  if (glue_query_var(conn, "acct", acct, sizeof acct) != 0) {
    cw_http_respond(conn, 400, NULL, "acct?", 5);
    return 400;
  }
  snprintf(key, sizeof key, "account:%s.balance", acct);
  pthread_mutex_lock(&store_mu);
  long *b = slot(acct);
  long v = b ? *b : 0;
  int put = strcmp(ri->request_method, "PUT") == 0;
  if (put && b && glue_query_var(conn, "value", value, sizeof value) == 0)
    *b = v = strtol(value, NULL, 10);
  pthread_mutex_unlock(&store_mu);
  /* The ledger's balance is state the api reads and writes through HTTP:
   * shared by the two processes, so both record it as shared. */
  if (put)
    CW_WRITE_SHARED_INT(key, v);
  else
    CW_READ_SHARED_INT(key, v);
  int n = snprintf(out, sizeof out, "%ld", v);
  cw_http_respond(conn, 200, "text/plain", out, (size_t)n);
  return 200;
}

/* ---- api ----------------------------------------------------------------- */

static int ledger_port;
static pthread_mutex_t acct_locks[MAX_ACCTS];
static char acct_lock_names[MAX_ACCTS][32];
static pthread_mutex_t names_mu = PTHREAD_MUTEX_INITIALIZER; /* untraced */

static pthread_mutex_t *acct_lock(const char *acct) {
  pthread_mutex_t *m = NULL;
  pthread_mutex_lock(&names_mu);
  for (int i = 0; i < MAX_ACCTS && !m; i++) {
    if (acct_lock_names[i][0] == 0) {
      char name[64];
      snprintf(acct_lock_names[i], sizeof acct_lock_names[i], "%s", acct);
      snprintf(name, sizeof name, "lock:account:%s", acct);
      cw_lock_name(&acct_locks[i], name);
    }
    if (strcmp(acct_lock_names[i], acct) == 0)
      m = &acct_locks[i];
  }
  pthread_mutex_unlock(&names_mu);
  return m;
}

static int api_transfer(struct mg_connection *conn, void *cbdata) {
  (void)cbdata;
  char acct[32], amount[32], lock[8], url[256], body[64], key[64];
  if (glue_query_var(conn, "acct", acct, sizeof acct) != 0 ||
      glue_query_var(conn, "amount", amount, sizeof amount) != 0) {
    cw_http_respond(conn, 400, NULL, "acct/amount?", 12);
    return 400;
  }
  int locked = glue_query_var(conn, "lock", lock, sizeof lock) == 0 &&
               strcmp(lock, "1") == 0;
  pthread_mutex_t *m = locked ? acct_lock(acct) : NULL;
  if (m)
    cw_mutex_lock(m);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/balance?acct=%s", ledger_port,
           acct);
  int st = glue_http("GET", url, body, sizeof body, 10000);
  long v = strtol(body, NULL, 10);
  snprintf(key, sizeof key, "account:%s.balance", acct);
  if (st == 200)
    CW_READ_SHARED_INT(key, v); /* the api acts on the value it read */
  if (st == 200) {
    snprintf(url, sizeof url, "http://127.0.0.1:%d/balance?acct=%s&value=%ld",
             ledger_port, acct, v + strtol(amount, NULL, 10));
    st = glue_http("PUT", url, body, sizeof body, 10000);
  }
  if (m)
    cw_mutex_unlock(m);
  int status = st == 200 ? 200 : 502;
  cw_http_respond(conn, status, "text/plain", body, strlen(body));
  return status;
}

/* ---- peer (distributed deadlock) ---------------------------------------- */

static pthread_mutex_t peer_lock = PTHREAD_MUTEX_INITIALIZER;
static long call_timeout_ms;

static int peer_outer(struct mg_connection *conn, void *cbdata) {
  (void)cbdata;
  char peer[16], url[128], body[64];
  if (glue_query_var(conn, "peer", peer, sizeof peer) != 0) {
    cw_http_respond(conn, 400, NULL, "peer?", 5);
    return 400;
  }
  cw_mutex_lock(&peer_lock);
  /* Hold the lock a moment so that both services' /outer overlap. */
  struct timespec hold = {0, 600 * 1000000L};
  nanosleep(&hold, NULL);
  snprintf(url, sizeof url, "http://127.0.0.1:%s/inner", peer);
  /* The peer's /inner blocks on its lock, which the peer's own /outer
   * holds while it calls us: a distributed deadlock. Our call times out,
   * which releases our lock and lets everything drain. */
  int st = glue_http("POST", url, body, sizeof body, call_timeout_ms);
  cw_mutex_unlock(&peer_lock);
  const char *msg = st == 200 ? "ok" : "timeout";
  int status = st == 200 ? 200 : 504;
  cw_http_respond(conn, status, "text/plain", msg, strlen(msg));
  return status;
}

static int peer_inner(struct mg_connection *conn, void *cbdata) {
  (void)cbdata;
  cw_mutex_lock(&peer_lock);
  cw_mutex_unlock(&peer_lock);
  cw_http_respond(conn, 200, "text/plain", "ok", 2);
  return 200;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s ledger|api|peer PORTFILE [ARG]\n", argv[0]);
    return 2;
  }
  glue_block_signals();
  const char *role = argv[1];
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = strcmp(role, "peer") == 0 && argc > 3 ? argv[3] : role;
  cfg.flush_interval_ms = 50;
  if (cw_init(&cfg) != CW_OK) {
    fprintf(stderr, "cw_init failed\n");
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  mg_init_library(0);
  int threads = 4;
  if (strcmp(role, "ledger") == 0)
    threads = 1; /* one worker: consecutive requests share its thread */
  int port = 0;
  struct mg_context *ctx = glue_start_server(threads, &port);
  if (!ctx) {
    fprintf(stderr, "cannot start civetweb\n");
    return 1;
  }
  if (strcmp(role, "ledger") == 0) {
    cw_http_set_request_handler(ctx, "/balance", ledger_balance, NULL);
  } else if (strcmp(role, "api") == 0 && argc > 3) {
    ledger_port = (int)strtol(argv[3], NULL, 10);
    for (int i = 0; i < MAX_ACCTS; i++)
      pthread_mutex_init(&acct_locks[i], NULL);
    cw_http_set_request_handler(ctx, "/transfer", api_transfer, NULL);
  } else if (strcmp(role, "peer") == 0 && argc > 3) {
    char name[64];
    snprintf(name, sizeof name, "lock:%s", argv[3]);
    cw_lock_name(&peer_lock, name);
    call_timeout_ms = glue_env_long("GLUE_CALL_TIMEOUT_MS", 3000);
    cw_http_set_request_handler(ctx, "/outer", peer_outer, NULL);
    cw_http_set_request_handler(ctx, "/inner", peer_inner, NULL);
  } else {
    fprintf(stderr, "bad role or missing argument\n");
    mg_stop(ctx);
    return 2;
  }
  /* Publish the port only once the handlers are in place. */
  if (glue_write_port(argv[2], port) != 0) {
    mg_stop(ctx);
    return 1;
  }
  glue_wait_signal();
  mg_stop(ctx);
  mg_exit_library();
  cw_http_stats st;
  cw_http_stats_get(&st);
  fprintf(stderr,
          "%s: requests=%llu responses=%llu calls=%llu joined=%llu "
          "missing=%llu malformed=%llu\n",
          cfg.service, (unsigned long long)st.requests,
          (unsigned long long)st.responses, (unsigned long long)st.calls,
          (unsigned long long)st.clocks_joined,
          (unsigned long long)st.clock_missing,
          (unsigned long long)st.clock_malformed);
  curl_global_cleanup();
  return cw_shutdown() == CW_OK ? 0 : 1;
}
