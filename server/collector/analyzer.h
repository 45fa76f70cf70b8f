/*
 * analyzer: the online analysis. One thread owns the engine and feeds it
 * stored batches from a bounded queue; query handlers lock the engine to
 * read findings.
 *
 * Ordering: native batches of one stream (one process run) are fed in
 * batch_no order; a batch that arrives early is held until its predecessor
 * arrives, or at most `hold_ms`. Across streams the engine itself holds
 * events whose clocks name events it has not seen, so findings do not depend
 * on the order in which different processes' batches arrive. Raceway bodies
 * are held for a reorder window of hold_ms after arrival and fed in the
 * order docs/detection.md 2.3 defines; a body later than that is fed anyway
 * and its events are counted in the summary's late_events.
 *
 * Thread-safety: every function is thread-safe.
 */
#ifndef CW_ANALYZER_H
#define CW_ANALYZER_H

#include <stddef.h>
#include <stdint.h>

#include "cw_analysis.h"
#include "timeline.h"
#include "traces.h"

typedef struct cw_analyzer cw_analyzer;

typedef struct cw_analyzer_opts {
  uint64_t queue_bytes; /* cap on queued + held batch bytes */
  uint32_t hold_ms;     /* longest wait for a missing predecessor, and the
                           Raceway reorder window (default 2000) */
  int keep_events;      /* engine keep_events */
  /* Anomaly thresholds as in cw_engine_config (0 = default). */
  uint64_t slow_db_ns, slow_http_ns, slow_span_ns, lock_wait_ns;
  uint32_t retry_storm;
  uint64_t retry_window_ns;
  uint64_t event_memory; /* timeline bound in bytes; 0 = no timeline */
} cw_analyzer_opts;

/* One batch handed to the analysis. */
typedef struct cw_batch_item {
  uint8_t type;  /* CW_STORE_NATIVE or CW_STORE_RACEWAY */
  uint8_t *data; /* uncompressed batch / JSON; stolen by push */
  size_t len;
  uint8_t stream_id[16]; /* native only */
  uint64_t batch_no;
  uint64_t events; /* events the batch carries (for lag metrics) */
} cw_batch_item;

typedef struct cw_analyzer_stats {
  uint64_t queued_batches;
  uint64_t queued_bytes; /* reserved + queued + held */
  uint64_t held_batches; /* waiting for a predecessor */
  uint64_t fed_batches;
  uint64_t fed_events;      /* events handed to the engine */
  uint64_t failed_batches;  /* did not decode at analysis time */
  uint64_t raceway_skipped; /* Raceway events the decoder skipped */
  double lag_seconds;       /* age of the oldest queued batch */
  uint64_t generation;      /* bumps after every fed batch */
} cw_analyzer_stats;

/* @return a running analyzer or NULL. */
cw_analyzer *cw__analyzer_new(const cw_analyzer_opts *o);
/* Feeds what is queued, stops the thread and frees everything. NULL ok. */
void cw__analyzer_free(cw_analyzer *a);

/* Reserves queue space for `bytes`, waiting up to timeout_ms.
 * @return 0, or -1 when the queue stayed full (answer 503). */
int cw__analyzer_reserve(cw_analyzer *a, uint64_t bytes, int timeout_ms);
/* Gives back a reservation that will not be pushed. */
void cw__analyzer_unreserve(cw_analyzer *a, uint64_t bytes);
/* Queues a batch against a reservation of it->len bytes. Steals it->data. */
void cw__analyzer_push(cw_analyzer *a, cw_batch_item *it);

/* Waits until every queued and held batch was fed. */
void cw__analyzer_drain(cw_analyzer *a);

/* Locks the engine for reading; unlock soon (ingest waits meanwhile). */
cw_engine *cw__analyzer_lock(cw_analyzer *a);
void cw__analyzer_unlock(cw_analyzer *a);
/* The trace index; read it only while the engine is locked. */
cw_traces *cw__analyzer_traces(cw_analyzer *a);
/* The kept events (NULL when --event-memory is 0). Thread-safe on its own
 * (timeline.h); queries borrow the engine through cw__analyzer_tl_engine. */
cw_timeline *cw__analyzer_timeline(cw_analyzer *a);
const cw_tl_engine *cw__analyzer_tl_engine(cw_analyzer *a);

/* The Raceway decoder's cw_input_stats (NULL without a decoder). Read it
 * only between cw__analyzer_lock and cw__analyzer_unlock. */
const void *cw__analyzer_input_stats(cw_analyzer *a);

void cw__analyzer_stats(cw_analyzer *a, cw_analyzer_stats *out);

/* Copies the Raceway events skipped per cw_skip_reason, summed over all
 * batches, into out. @return the number of reasons copied (0 when this
 * build has no Raceway decoder). */
size_t cw__analyzer_raceway_skips(cw_analyzer *a, uint64_t *out, size_t cap);

/* @return the stable name of a Raceway skip reason ("unknown_kind"...). */
const char *cw__raceway_skip_name(int reason);

#endif /* CW_ANALYZER_H */
