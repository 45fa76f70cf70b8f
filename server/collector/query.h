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

/* List paging and filters, parsed from the query string. */
typedef struct cw_query {
  uint64_t offset;
  uint64_t limit;     /* default 100, at most 1000 */
  char variable[256]; /* races: exact variable ("" = any) */
  char lock[256];     /* locks: exact lock ("" = any) */
  int severity;       /* races: 0 any, CW_SEV_WARNING or CW_SEV_ERROR */
  int active_only;    /* deadlocks: only those still blocked */
  int contended_only; /* locks: only contended ones */
} cw_query;

/* Parses a query string ("offset=0&limit=10..."); NULL ok.
 * @return 0, or -1 with a message for a bad parameter. */
int cw__query_parse(const char *qs, cw_query *q, char *msg, size_t msgsz);

/* The "summary" object: events, racy_variables, racy_location_pairs,
 * race_groups, potential_deadlocks, deadlocks, contended_locks (the CLI
 * report's keys) plus invalid_events, lost_events, pending_events. */
json_t *cw__query_summary(cw_engine *e);

/* {"summary":..., "races":[...], "potential_deadlocks":[...],
 *  "deadlocks":[...], "locks":[...]} with every list complete: the CLI's
 * JSON report (server/report) when this build has it, else a local builder
 * with the same keys. input_stats: the analyzer's cw_input_stats or NULL. */
json_t *cw__query_findings(cw_engine *e, const void *input_stats);

/* Paged lists: {"total":N, "offset":O, "limit":L, "items":[...]}. */
json_t *cw__query_races(cw_engine *e, const cw_query *q);
json_t *cw__query_deadlocks(cw_engine *e, const cw_query *q, int actual);
json_t *cw__query_locks(cw_engine *e, const cw_query *q);
/* Variables seen, in order of first access (paged; `variable` filters by
 * substring). */
json_t *cw__query_variables(cw_engine *e, const cw_query *q);
/* The audit trail of q->variable: every access with actor, location,
 * value, locks held and whether it races. NULL when the variable is
 * unknown. */
json_t *cw__query_audit(cw_engine *e, const cw_query *q);
/* The critical path over spans. */
json_t *cw__query_critical_path(cw_engine *e);
/* Services seen (actors grouped by service). */
json_t *cw__query_services(cw_engine *e);

#endif /* CW_QUERY_H */
