/*
 * ingest: validates ingest bodies, deduplicates native batches, stores them
 * (waiting for the group commit) and hands them to the analysis. Knows
 * nothing of HTTP: it returns the status code and message to answer with.
 *
 * Thread-safety: cw__ingest_native/raceway run on many threads at once.
 */
#ifndef CW_INGEST_H
#define CW_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "analyzer.h"
#include "dedup.h"
#include "membudget.h"
#include "metrics.h"
#include "native_feed.h"
#include "pgstore.h"
#include "store.h"

typedef struct cw_ingest {
  cw_store *store;
  cw_analyzer *an;
  cw_dedup *dedup;
  cw_metrics *m;
  uint64_t max_batch_events;
  uint64_t max_decoded; /* per request: decompressed bytes or parsed tree */
  cw_membudget *mem;    /* shared by all requests (docs/security.md) */
  int queue_timeout_ms; /* wait for analysis queue room, then 503 */
  cw_pgstore *pg;       /* NULL without --postgres */
} cw_ingest;

typedef struct cw_ingest_result {
  int status;      /* HTTP status to answer */
  int retry_after; /* seconds, with 503 */
  char msg[200];   /* why, when status != 200 */
  uint64_t batches, duplicate_batches;
  uint64_t events, accepted, duplicate_events;
  uint64_t rejected[CW_REJ_COUNT_];
  uint64_t sdk_dropped; /* GAP counts in the stored batches */
} cw_ingest_result;

/* Ingests a POST /v1/events body: concatenated LZ4 frames (lz4 != 0) or one
 * uncompressed batch. All-or-nothing: either every new batch of the body is
 * stored and acknowledged, or none is. @return r->status. */
int cw__ingest_native(cw_ingest *g, const uint8_t *body, size_t len, int lz4,
                      cw_ingest_result *r);

/* Ingests a POST /events Raceway JSON body. @return r->status. */
int cw__ingest_raceway(cw_ingest *g, const char *body, size_t len,
                       cw_ingest_result *r);

/* Store replay callback (ud: cw_ingest *): cw__ingest_feed_record, or
 * nothing with PostgreSQL (whose poller feeds the analysis instead). */
int cw__ingest_replay(void *ud, const cw_store_rec *rec);

/* Queues one stored record (from the local log or from PostgreSQL) for
 * analysis and marks a native batch seen; a batch already seen is skipped.
 * @return 0 (bad records are skipped, never fatal). */
int cw__ingest_feed_record(void *ud, const cw_store_rec *rec);

#endif /* CW_INGEST_H */
