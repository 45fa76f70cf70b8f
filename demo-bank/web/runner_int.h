/*
 * runner_int: what the runner (runner.c) and the scenarios (scenarios.c)
 * share. Internal to bank-web.
 */
#ifndef WEB_RUNNER_INT_H
#define WEB_RUNNER_INT_H

#include <jansson.h>
#include <stdint.h>

#include "runner.h"

/* One run in progress. */
typedef struct run_ctx {
  int n, unsafe, id;
  runner_settings st;
  const runner_cfg *cfg;
  char tag[48];     /* unique per run: "r<id>-<mode>" */
  json_t *symptom;  /* the scenario's measured facts */
  int shown;        /* the bug's symptom showed */
  json_t *expected; /* summary keys that must grow (unsafe) */
  json_t *clean;    /* summary keys that must not grow */
  /* What belongs to this run, to pick its findings out of the lists:
   * substrings of race variables, of lock names (deadlocks, contention),
   * and the locks whose contention to report. */
  json_t *races, *locks, *contended;
  json_t *live; /* scenario 2: active deadlocks seen while blocked */
  /* Anomaly kinds (slow_db, lock_wait, timeout, retry_storm...) of which
   * some group must grow during the run, and kinds none of whose groups
   * may grow. Groups are per call site and outlive runs, so a run is
   * judged by the groups whose count grew. */
  json_t *anom_expect, *anom_clean;
  char text[200]; /* the symptom in words, for the table */
} run_ctx;

/* The scenario table (scenarios.c). */
typedef struct scenario {
  const char *name, *bug, *fix;
  int (*run)(run_ctx *c);
} scenario;
extern const scenario scenarios[7]; /* 1-6 */

/* Adds the knobs of this run to a request body: mode, delay, and the
 * barrier "<tag>-<point>" for `n` requests when the barrier is on and
 * n >= 2. */
void run_knobs(const run_ctx *c, json_t *body, const char *point, int n);

/* Calls a service: METHOD base+path with body (borrowed). @return status;
 * *out gets the reply (may be NULL). */
int run_call(const char *method, const char *base, const char *path,
             json_t *body, json_t **out);
/* Creates an account with a balance. @return its id, or 0. */
int64_t run_new_account(const run_ctx *c, int64_t user, int64_t balance);
/* Reads an account's balance (after the run). */
int64_t run_balance(const run_ctx *c, int64_t id);

/* Runs fn(c, i, arg) for i in 0..n-1 on n traced threads, then (when not
 * NULL) during(c, during_arg) on the calling thread while they run, then
 * joins them. */
void run_parallel(run_ctx *c, int n, void (*fn)(run_ctx *c, int i, void *arg),
                  void *arg, void (*during)(run_ctx *c, void *arg),
                  void *during_arg);

/* Makes every service send what it recorded, so the collector has it. */
void run_flush_all(const runner_cfg *cfg);
/* GET collector path (after a flush); the reply or NULL (new ref). */
json_t *run_collector(const runner_cfg *cfg, const char *path);

/* Adds a key to a JSON array of strings. */
void run_add(json_t *arr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* WEB_RUNNER_INT_H */
