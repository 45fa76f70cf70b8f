/*
 * query: JSON views of the engine's findings for the query API
 * (docs/http-api.md). Every function reads a locked engine
 * (cw__analyzer_lock) and returns a new jansson value.
 */
#ifndef CW_QUERY_H
#define CW_QUERY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cw_analysis.h"
#include "traces.h"

/* List paging and filters, parsed from the query string. */
typedef struct cw_query {
  uint64_t offset;
  uint64_t limit;     /* default 100, at most 1000 */
  char variable[256]; /* races: exact variable ("" = any) */
  char lock[256];     /* locks: exact lock ("" = any) */
  int severity;       /* races: 0 any, CW_SEV_WARNING or CW_SEV_ERROR */
  int active_only;    /* deadlocks: only those still blocked */
  int contended_only; /* locks: only contended ones */
  char service[128];  /* traces: only those touching this service */
  int anomaly_kind;   /* anomalies: a cw_anomaly_kind, 0 = any */
  int sync;           /* analyse every acknowledged batch before answering */
} cw_query;

/* Parses a query string ("offset=0&limit=10..."); NULL ok.
 * @return 0, or -1 with a message for a bad parameter. */
int cw__query_parse(const char *qs, cw_query *q, char *msg, size_t msgsz);

/* The "summary" object, exactly the CLI report's (cw__report_summary_json).
 * input_stats: the analyzer's cw_input_stats or NULL. */
json_t *cw__query_summary(cw_engine *e, const void *input_stats);

/* {"summary":..., "races":[...], "potential_deadlocks":[...],
 *  "deadlocks":[...], "locks":[...], "input":{...}}: the CLI's JSON report
 * (server/report). input_stats: the analyzer's cw_input_stats or NULL. */
json_t *cw__query_findings(cw_engine *e, const void *input_stats);

/* Paged lists: {"total":N, "offset":O, "limit":L, "items":[...]}. */
json_t *cw__query_races(cw_engine *e, const cw_query *q);
json_t *cw__query_deadlocks(cw_engine *e, const cw_query *q, int actual);
json_t *cw__query_locks(cw_engine *e, const cw_query *q);
/* GET /v1/anomalies: anomaly groups in their stable order, filtered by
 * kind and service, with "thresholds". */
json_t *cw__query_anomalies(cw_engine *e, const cw_query *q);
/* Variables seen, in order of first access (paged; `variable` filters by
 * substring). */
json_t *cw__query_variables(cw_engine *e, const cw_query *q);
/* The audit trail of q->variable: every access with actor, location,
 * value, locks held and whether it races. NULL when the variable is
 * unknown. */
json_t *cw__query_audit(cw_engine *e, const cw_query *q);
/* The critical path over spans. */
json_t *cw__query_critical_path(cw_engine *e);
/* Services seen (actors grouped by service) and the calls between them. */
json_t *cw__query_services(cw_engine *e, const cw_traces *t);

/* Traces, newest first (paged; `service` filter). */
json_t *cw__query_traces(cw_engine *e, const cw_traces *t, const cw_query *q);
/* One trace: services, actors, events (paged), and the races, contention,
 * deadlocks and critical-path spans that involve its actors. NULL when the
 * trace is unknown. */
json_t *cw__query_trace(cw_engine *e, const cw_traces *t, const char *hex,
                        const cw_query *q);
/* One trace as Chrome Trace Event JSON (Perfetto, speedscope). */
json_t *cw__query_trace_chrome(cw_engine *e, const cw_traces *t,
                               const char *hex);

/* Shared JSON builders (query.c), used by query_traces.c. */
json_t *cw__q_str(cw_engine *e, cw_sym s);
json_t *cw__q_actor_obj(cw_engine *e, cw_actor_id a);
json_t *cw__q_race_json(cw_engine *e, const cw_race_group *g);
json_t *cw__q_deadlock_json(cw_engine *e, const cw_deadlock *d);
json_t *cw__q_lock_json(cw_engine *e, const cw_lock_stats *l);
json_t *cw__q_page(json_t *items, uint64_t total, const cw_query *q);

#endif /* CW_QUERY_H */
