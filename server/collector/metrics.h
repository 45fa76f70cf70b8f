/*
 * metrics: the collector's counters and their Prometheus text rendering.
 *
 * Thread-safety: counters are atomics, bumped from any thread.
 */
#ifndef CW_METRICS_H
#define CW_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "sbuf.h"

/* Why a whole request (batch) was refused. Never renumber. */
typedef enum cw_refusal {
  CW_REFUSE_MALFORMED = 0, /* 400 */
  CW_REFUSE_TOO_LARGE,     /* 413 body or batch too large */
  CW_REFUSE_ENCODING,      /* 415 unsupported Content-Encoding */
  CW_REFUSE_UNAUTHORIZED,  /* 401 */
  CW_REFUSE_RATE_LIMITED,  /* 429 */
  CW_REFUSE_OVERLOADED,    /* 503 analysis queue full / in flight */
  CW_REFUSE_STORE_ERROR,   /* 500 the store could not write */
  CW_REFUSE_TIMEOUT,       /* 408 body later than --body-timeout-ms */
  CW_REFUSE_COUNT_
} cw_refusal;

const char *cw__refusal_name(cw_refusal r);

#define CW_METRICS_REJECT_REASONS 2 /* cw_reject_reason count */

typedef struct cw_metrics {
  atomic_uint_fast64_t events_native, events_raceway; /* accepted */
  atomic_uint_fast64_t rejected_events[CW_METRICS_REJECT_REASONS];
  atomic_uint_fast64_t refused_events; /* events inside refused bodies,
                                          when countable */
  atomic_uint_fast64_t sdk_dropped;    /* GAP counts reported by SDKs */
  atomic_uint_fast64_t batches_stored, batches_duplicate;
  atomic_uint_fast64_t refusals[CW_REFUSE_COUNT_];
  atomic_uint_fast64_t requests;
  atomic_uint_fast64_t ingest_bytes;
} cw_metrics;

/* Values read at scrape time from the other modules. */
typedef struct cw_metrics_gauges {
  uint64_t queue_batches, queue_bytes, held_batches;
  double lag_seconds;
  uint64_t fed_events, failed_batches;
  uint64_t store_bytes, store_segments, store_records, store_events;
  uint64_t store_commits, store_repaired_bytes;
  uint64_t races, racy_variables, racy_location_pairs, potential_deadlocks;
  uint64_t exact, analysis_cut; /* summary.exact; sum of its cut counts */
  uint64_t deadlocks, contended_locks, invalid_events, pending_events;
  uint64_t anomalies;
  uint64_t lost_events;
  const uint64_t *raceway_skips; /* per cw_skip_reason */
  const char *const *raceway_skip_names;
  uint64_t nraceway_skips;
  uint64_t sse_clients;
  int ready;
} cw_metrics_gauges;

/* Appends the Prometheus text exposition (format 0.0.4). */
void cw__metrics_render(const cw_metrics *m, const cw_metrics_gauges *g,
                        cw_sbuf *out);

#endif /* CW_METRICS_H */
