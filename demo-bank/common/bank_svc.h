/*
 * bank_svc: what every demo-bank process shares outside HTTP: command-line
 * options, causeway start-up, structured logs (one JSON object per line on
 * stderr), Prometheus counters, and the wait for SIGINT/SIGTERM.
 *
 * Thread-safety: bank_log and the counters are thread-safe; bank_svc_init
 * and bank_svc_run are called once from main.
 */
#ifndef BANK_SVC_H
#define BANK_SVC_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Options every service understands (each uses the ones it needs). */
typedef struct bank_opts {
  const char *service;
  int port;              /* --port (0: a free port; -1: the default) */
  const char *port_file; /* --port-file: written once listening */
  const char *data_dir;  /* --data-dir (SQLite files), default "bank-data" */
  const char *pg;       /* --pg CONNINFO, or BANK_PG (accounts, transactions) */
  const char *accounts; /* --accounts URL */
  const char *transactions;
  const char *notifications;
  const char *auth;
  const char *collector;  /* --collector URL (findings for the runner) */
  const char *viewer;     /* --viewer URL shown in links (default collector) */
  const char *static_dir; /* --static DIR (web pages) */
  int threads;            /* --threads (civetweb workers), default 48 */
  int workers;            /* --workers (notification workers), default 2 */
  int rate_limit;         /* --rate-limit: transactions per client per second,
                             notifications per user per minute (0: default) */
} bank_opts;

/* Parses argv into *o (defaults first). Prints usage and exits 2 on a bad
 * option. */
void bank_opts_parse(bank_opts *o, const char *service, int argc, char **argv);

/* Starts causeway for the service (CAUSEWAY_* environment applies) and
 * blocks SIGINT/SIGTERM in every thread started afterwards. */
void bank_svc_init(const bank_opts *o);

/* Writes the port file (if asked), logs "listening", waits for SIGINT or
 * SIGTERM, and returns (the caller stops its server, then
 * bank_svc_shutdown). */
void bank_svc_run(const bank_opts *o, int port);
/* Flushes and stops causeway. @return 0. */
int bank_svc_shutdown(void);

/* Logs {"ts","level","service","msg", ...fields} (fields stolen, may be
 * NULL). */
void bank_log(const char *level, const char *msg, json_t *fields);

/* ---- Counters (Prometheus) --------------------------------------------- */

typedef struct bank_counter {
  const char *name; /* full metric name, e.g. "bank_transfers_total" */
  const char *help;
  const char *labels; /* e.g. "outcome=\"ok\"", or NULL */
  _Atomic uint64_t value;
  struct bank_counter *next;
} bank_counter;

/* Registers a counter (static storage) once; thread-safe. */
void bank_counter_register(bank_counter *c);
static inline void bank_counter_add(bank_counter *c, uint64_t n) {
  atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}
/* Counts a request by method and status (done by bank_http). */
void bank_count_request(int status);
/* Appends the Prometheus text of every counter to a new string. */
char *bank_metrics_text(void);

/* Sleeps ms milliseconds (capped at 60 s). */
void bank_sleep_ms(long ms);
/* Monotonic milliseconds. */
int64_t bank_now_ms(void);

#endif /* BANK_SVC_H */
