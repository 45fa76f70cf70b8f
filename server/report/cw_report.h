/*
 * cw_report: turns an engine's findings into reports: JSON (also served by
 * the collector at GET /v1/findings), sanitizer-style text, SARIF 2.1.0 and
 * JUnit XML; plus TSan-style suppression files.
 *
 * Internal API (not installed). Thread-safety: none; the engine must not be
 * fed while a cw_findings view is alive (its arrays are borrowed).
 */
#ifndef CW_REPORT_H
#define CW_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include "cw_analysis.h"
#include "cw_input.h"

/* ---- Suppressions ---- */

/* A parsed suppression file: lines "race:PATTERN" or "deadlock:PATTERN",
 * '#' comments and blank lines. PATTERN uses '*' wildcards and matches
 * anywhere in the string unless anchored with a leading '^' or trailing '$',
 * as TSan's suppressions do. */
typedef struct cw_suppressions cw_suppressions;

/* @return a new list (free with cw__supp_free), or NULL with err filled
 * ("FILE:LINE: reason"). */
cw_suppressions *cw__supp_load(const char *path, cw_input_error *err);
cw_suppressions *cw__supp_parse(const char *buf, size_t len, const char *name,
                                cw_input_error *err);
void cw__supp_free(cw_suppressions *s);
/* @return 1 when pattern matches s (TSan template rules above). */
int cw__supp_match(const char *pattern, const char *s);
/* @return 1 when a race:PATTERN matches the variable or either location. */
int cw__supp_race(const cw_suppressions *s, const cw_engine *e,
                  const cw_race_group *g);
/* @return 1 when a deadlock:PATTERN matches a lock or location of it. */
int cw__supp_deadlock(const cw_suppressions *s, const cw_engine *e,
                      const cw_deadlock *d);

/* ---- The CI gate and the report context ---- */

/* What fails the gate (`--fail-on`); a kind of finding that adds a bit here
 * also extends cw__gate_fails and the per-finding helpers below. */
enum {
  CW_FAIL_RACE = 1 << 0,       /* any race group */
  CW_FAIL_RACE_ERROR = 1 << 1, /* race groups of severity error */
  CW_FAIL_POTENTIAL = 1 << 2,  /* potential deadlocks */
  CW_FAIL_DEADLOCK = 1 << 3,   /* actual deadlocks */
  CW_FAIL_ANOMALY = 1 << 4     /* anomaly groups */
};
#define CW_FAIL_DEFAULT (CW_FAIL_RACE | CW_FAIL_DEADLOCK)

/* One input of the analysis, for locations that name no source line. */
typedef struct cw_report_input {
  const char *path; /* as given on the command line */
  int is_std;       /* STD text: an event's seq is its line in this file */
} cw_report_input;

/* What the writers need besides the findings. Owned by the caller; every
 * field may be zero (then: default gate, the working directory as source
 * root, no inputs, complete input, time unknown). */
typedef struct cw_report_ctx {
  unsigned fail_on;        /* CW_FAIL_* bits; 0 with fail_on_set = none */
  int fail_on_set;         /* 0: CW_FAIL_DEFAULT */
  const char *source_root; /* SARIF URIs are relative to it (%SRCROOT%) */
  const cw_report_input *inputs;
  size_t ninputs;
  int no_trace;           /* `run`: the command wrote no trace at all */
  int allow_incomplete;   /* truncated inputs do not fail the gate */
  double seconds;         /* analysis wall time */
  long long started_unix; /* when the analysis started (0: unknown) */
} cw_report_ctx;

/* ---- Findings view ---- */

/* The engine's findings minus suppressed ones, with a summary recomputed
 * from what is left (exact, since groups carry variables and location
 * pairs). Arrays hold borrowed pointers into the engine. */
typedef struct cw_findings {
  const cw_engine *e;
  const cw_input_stats *in; /* may be NULL */
  cw_summary sum;
  const cw_race_group **races;
  size_t nraces;
  const cw_deadlock **potential;
  size_t npotential;
  const cw_deadlock **deadlocks;
  size_t ndeadlocks;
  const cw_lock_stats *locks;
  size_t nlocks;
  const cw_anomaly *anomalies; /* in their stable order (index = position) */
  size_t nanomalies;
  uint64_t suppressed;      /* finding groups removed by suppressions */
  const cw_report_ctx *ctx; /* may be NULL; set by the caller after collect */
} cw_findings;

/* Fills f. supp and in may be NULL. @return 0, or -1 out of memory. */
int cw__findings_collect(cw_findings *f, const cw_engine *e,
                         const cw_suppressions *supp, const cw_input_stats *in);
void cw__findings_free(cw_findings *f);

/* Helpers for writers: strings of an actor and of a "file:line" location.
 * cw__loc_split @return 1 with the file part length and the line when loc
 * is "FILE:LINE" (FILE non-empty, LINE > 0), else 0. */
const char *cw__report_actor(const cw_engine *e, cw_actor_id a);
const char *cw__report_service(const cw_engine *e, cw_actor_id a);
int cw__loc_split(const char *loc, size_t *file_len, unsigned long *line);

/* ---- Gate verdicts (one rule for the exit code and every report) ---- */

/* @return the effective CW_FAIL_* bits of f (its ctx's, else the default). */
unsigned cw__gate_bits(const cw_findings *f);
/* @return 1 when this race group / cycle / anomaly group fails the gate. */
int cw__gate_race(const cw_findings *f, const cw_race_group *g);
int cw__gate_cycle(const cw_findings *f, const cw_deadlock *d);
int cw__gate_anomaly(const cw_findings *f, const cw_anomaly *a);
/* Why the input cannot count as a clean pass, or NULL when it can: no
 * trace written, no event read, or a truncated input (unless allowed).
 * The returned text is static. */
const char *cw__gate_incomplete(const cw_findings *f);
/* The exit code of the gate: 0 pass, 1 a finding fails it, 2 nothing (or
 * not all) was checked and no finding fails it. */
int cw__gate_exit(const cw_findings *f);

/* ---- Anomalies (cw_report_anomaly.c) ---- */

/* One anomaly group as JSON (docs/http-api.md, GET /v1/anomalies), with
 * its position `index` in the engine's list. @return a new reference or
 * NULL. */
json_t *cw__report_anomaly_json(const cw_engine *e, const cw_anomaly *a,
                                size_t index);
/* {"slow_db_ns":..., ...}: the thresholds in effect. New reference/NULL. */
json_t *cw__report_anomaly_thresholds(const cw_engine *e);
/* A one-line description ("slow DB call at a.c:3 (service x): 2 of 9
 * calls at or over 500 ms (...)") into buf. @return its length. */
size_t cw__report_anomaly_line(const cw_engine *e, const cw_anomaly *a,
                               char *buf, size_t cap);

/* Trace data for a terminal: control bytes (C0, DEL, C1) and invalid UTF-8
 * become a backslash, 'x' and two hex digits, a backslash two backslashes
 * (docs/cli.md). @return the escaped text, valid until 16 more calls on
 * this thread or cw__report_vis_free(); "?" out of memory. */
const char *cw__report_vis(const char *s);
void cw__report_vis_free(void);

/* ---- Writers ---- */

/* The JSON report of an engine (no suppressions):
 * {"summary":{...}, "races":[...], "potential_deadlocks":[...],
 *  "deadlocks":[...], "locks":[...]} (see docs/cli.md).
 * @return a new reference, or NULL out of memory. */
json_t *cw__report_json(const cw_engine *e, const cw_input_stats *in);
/* The same for a findings view. @return a new reference or NULL. */
json_t *cw__report_json_findings(const cw_findings *f);
/* Just the "summary" object: every CW_SUMMARY_FIELDS counter, then
 * skipped_events and suppressed. The collector's /v1/summary and stream
 * frames use it too. @return a new reference or NULL. */
json_t *cw__report_summary_json(const cw_findings *f);

/* One finding item, as in the report's arrays (and the collector's paged
 * /v1/races, /v1/potential-deadlocks, /v1/deadlocks, /v1/locks). Sets *bad
 * on a memory error. @return a new reference or NULL. */
json_t *cw__report_race_json(const cw_engine *e, const cw_race_group *g,
                             int *bad);
json_t *cw__report_deadlock_json(const cw_engine *e, const cw_deadlock *d,
                                 int *bad);
json_t *cw__report_lock_json(const cw_engine *e, const cw_lock_stats *l,
                             int *bad);

/* Writers to a stream. @return 0, or -1 on a write or memory error. */
int cw__report_write_json(FILE *out, const cw_findings *f);
int cw__report_write_text(FILE *out, const cw_findings *f);
int cw__report_write_sarif(FILE *out, const cw_findings *f);
int cw__report_write_junit(FILE *out, const cw_findings *f);

#endif /* CW_REPORT_H */
