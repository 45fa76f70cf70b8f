/*
 * runner: runs the six scenarios against the services and judges each run
 * by its symptom and by what causeway found for it.
 *
 * A run: (1) every service flushes its events (POST /admin/flush) and the
 * runner reads the collector's GET /v1/findings?sync=1 summary ("before");
 * (2) it creates fresh accounts or users, so the findings are the run's
 * own; (3) it sends the scenario's concurrent requests from traced threads
 * (cw_thread_create + cw_curl_perform, so its later reads happen after
 * them); (4) it measures the symptom; (5) flushes again and reads "after".
 * The run is as expected when the symptom shows (unsafe) or does not
 * (safe), every `expected` summary key grew (unsafe) and no `clean` key
 * grew.
 *
 * Runs are serialised (one at a time), so before/after belong to one run.
 * Thread-safety: all functions are thread-safe.
 */
#ifndef WEB_RUNNER_H
#define WEB_RUNNER_H

#include <jansson.h>

/* Where the services and the collector are. */
typedef struct runner_cfg {
  const char *accounts, *transactions, *notifications, *auth;
  const char *collector; /* may be NULL: no findings, only symptoms */
  const char *viewer;    /* base URL for finding links */
} runner_cfg;

/* The knobs of the admin panel. */
typedef struct runner_settings {
  int delay_ms; /* debug delay inside race windows */
  int barrier;  /* 1: release the scenario's requests together */
  int safe[7];  /* default mode per scenario (1-6) */
} runner_settings;

void runner_init(const runner_cfg *cfg);

/* Copies the settings out / replaces them from a JSON object (partial
 * updates). @return NULL or a static error message. */
void runner_settings_get(runner_settings *out);
json_t *runner_settings_json(void);
const char *runner_settings_set(json_t *patch);

/* Runs scenario n (1-6); mode -1 takes the settings' default, 0 safe,
 * 1 unsafe. @return the run's result object (new reference); NULL for a bad
 * scenario number. */
json_t *runner_run(int n, int mode);

/* Runs every scenario in safe then unsafe mode. @return an array. */
json_t *runner_run_all(void);

/* The results of past runs, newest last (new reference). */
json_t *runner_history(void);

/* Resets every service to its seed data. @return 0 or -1. */
int runner_reset(void);

/* Scenario descriptions, for the panel: [{"n","name","unsafe","safe"}]. */
json_t *runner_catalog(void);

#endif /* WEB_RUNNER_H */
