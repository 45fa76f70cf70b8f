/*
 * http_service.c: a civetweb service instrumented with causeway's HTTP glue
 * (docs/distributed.md). GET /balance reads and POST /deposit updates an
 * account balance; each request runs as its own task actor whose clock
 * starts from the caller's, and every response carries the task's clock
 * back in causeway-clock.
 *
 *   cc http_service.c -lcauseway_http -lcauseway -lcivetweb -lcurl
 *   cc http_service.c $(pkg-config --cflags --libs causeway-http) -lcivetweb
 * (shared libraries; for static ones use `pkg-config --static --libs`,
 * see README's install section; each line is tested by sdk_consumer)
 *   CAUSEWAY_TRACE_FILE=svc.cwt ./http_service 8080
 */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <causeway.h>
#include <causeway/http.h>

static pthread_mutex_t account_lock = PTHREAD_MUTEX_INITIALIZER;
static long balance = 100;

static int get_balance(struct mg_connection *conn, void *cbdata) {
  (void)cbdata;
  char body[32];
  cw_mutex_lock(&account_lock);
  long v = balance;
  CW_READ_INT("account:alice.balance", v);
  cw_mutex_unlock(&account_lock);
  int n = snprintf(body, sizeof body, "%ld\n", v);
  cw_http_respond(conn, 200, "text/plain", body, (size_t)n);
  return 200;
}

static int deposit(struct mg_connection *conn, void *cbdata) {
  (void)cbdata;
  cw_mutex_lock(&account_lock);
  balance += 10;
  CW_WRITE_INT("account:alice.balance", balance);
  cw_mutex_unlock(&account_lock);
  cw_http_respond(conn, 200, "text/plain", "ok\n", 3);
  return 200;
}

int main(int argc, char **argv) {
  const char *port = argc > 1 ? argv[1] : "8080";
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL); /* every thread inherits it */

  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "bank"; /* actor names are "bank#<instance>/task-N" */
  if (cw_init(&cfg) != CW_OK)
    return 1;
  cw_lock_name(&account_lock, "lock:account:alice");

  mg_init_library(0);
  const char *opts[] = {
      "listening_ports", port, "num_threads", "8", "enable_keep_alive", "yes",
      "tcp_nodelay",     "1",  NULL};
  struct mg_callbacks cb;
  memset(&cb, 0, sizeof cb);
  struct mg_context *ctx = mg_start(&cb, NULL, opts);
  if (!ctx)
    return 1;
  /* Instead of mg_set_request_handler(): same arguments, instrumented. */
  cw_http_set_request_handler(ctx, "/balance", get_balance, NULL);
  cw_http_set_request_handler(ctx, "/deposit", deposit, NULL);

  int sig = 0;
  sigwait(&stop, &sig);
  mg_stop(ctx);
  mg_exit_library();
  return cw_shutdown() == CW_OK ? 0 : 1;
}
